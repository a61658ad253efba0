package locallearn.local;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.config.LossConfig;
import locallearn.nn.Layer;
import locallearn.nn.Pool2d;
import locallearn.tensor.Tensor;

/**
 * The local heads of a block and the loss they make from its output h (paper-summary.md,
 * "Losses"): the sim head (linear_loss or conv_loss, then the similarity matrix against the
 * labels'), the pred head (average pool to at most dimInDecoder inputs, then decoder_y), or
 * both, weighted by beta; the backprop-free variants compare with a fixed random projection of
 * the targets (proj_y) instead. The layers are the block's children (so their state_dict names
 * are the reference's); both ways of running a local step, the tape's and SlicedStep, read them
 * here.
 */
final class LocalHeads {
    final LossConfig loss;
    final boolean hasPred, hasSim;
    final Layer simHead;      // linear_loss / conv_loss, null without sim or in the backprop-free variant
    final Pool2d avgPool;     // before decoder_y (and before the backprop-free sim), conv blocks only
    final Layer decoder;      // decoder_y: Linear to classes, or LinearFA to the target projection
    final Var projY;          // proj_y.weight (P, K): fixed random target projection of the backprop-free variants, a buffer
    final Tensor projSign;    // (P, K): 1 where proj_y > 0, so onehot · projSign^T = (proj_y(onehot) > 0)

    LocalHeads(LossConfig loss, boolean hasPred, boolean hasSim, Layer simHead, Pool2d avgPool, Layer decoder, Var projY, Tensor projSign) {
        this.loss = loss;
        this.hasPred = hasPred;
        this.hasSim = hasSim;
        this.simHead = simHead;
        this.avgPool = avgPool;
        this.decoder = decoder;
        this.projY = projY;
        this.projSign = projSign;
    }

    /**
     * The local loss on h (pred, sim or their weighted sum). When {@code lossSum} and
     * {@code correct} are not null the loss is added to lossSum[0] and the pred head's correct
     * predictions to correct[0], on the device.
     */
    Var localLoss(Tape tape, Var h, Targets targets, Tensor lossSum, Tensor correct) {
        // pooled first, so the sim head's backward (run first) frees conv_loss's output and
        // gradient before the pool's backward makes h's gradient
        Var pooled = avgPool != null ? avgPool.forward(tape, h) : h;
        Var rows = null;
        if (hasSim) rows = similarityInput(tape, simHead != null ? simHead.forward(tape, h) : pooled);
        return headsLoss(tape, rows, hasPred ? pooled : null, targets, lossSum, correct);
    }

    /**
     * The losses of the heads: sim on {@code rows} (B, D) when not null, pred on {@code predIn}
     * (h or its pooling) when not null, and their weighted sum; lossSum and correct as in localLoss.
     */
    Var headsLoss(Tape tape, Var rows, Var predIn, Targets targets, Tensor lossSum, Tensor correct) {
        Backend be = tape.backend();
        Var pred = null, sim = null;
        Tensor proj = null;
        if (loss.bio()) {
            // proj_y(onehot) (B, P): a fixed random projection of the one-hot targets replaces them
            proj = be.allocate(targets.onehot().dim(0), loss.targetProjSize());
            be.gemm(false, true, proj.dim(0), proj.dim(1), targets.onehot().dim(1), 1f, targets.onehot(), projY.data(), 0f, proj);
        }
        if (rows != null) {
            Tensor target = loss.bio() ? Targets.similarityOf(be, proj) : targets.similarity();
            sim = Ops.mse(tape, Ops.similarity(tape, rows), target);
        }
        if (predIn != null) {
            Var logits = decoder.forward(tape, predIn);
            if (loss.bio()) {
                Tensor sign = be.allocate(proj.shape());
                be.gemm(false, true, sign.dim(0), sign.dim(1), targets.onehot().dim(1), 1f, targets.onehot(), projSign, 0f, sign);
                pred = Ops.bceWithLogits(tape, logits, sign);
            } else {
                pred = Ops.crossEntropy(tape, logits, targets.labels());
                if (correct != null) be.countCorrect(logits.data(), targets.labels(), correct, true);
            }
        }
        Var total;
        if (pred != null && sim != null) total = Ops.weightedSum(tape, loss.predWeight(), pred, loss.simWeight(), sim);
        else total = pred != null ? pred : sim;
        if (lossSum != null) be.sum(total.data(), lossSum, true);
        return total;
    }

    /** (B, D) rows for the similarity matrix: conv maps become their std (c > 3, h > 1) or are flattened. */
    Var similarityInput(Tape tape, Var x) {
        Tensor d = x.data();
        if (d.rank() == 4 && loss.similarityStd() && d.dim(1) > 3 && d.dim(2) > 1) return Ops.featureMapStd(tape, x);
        return Ops.flatten(tape, x);
    }

    void close() {
        if (projSign != null) projSign.close();
    }
}
