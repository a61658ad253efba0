package locallearn.local;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.config.LossConfig;
import locallearn.nn.Layer;
import locallearn.nn.LinearFA;
import locallearn.nn.Pool2d;
import locallearn.tensor.Tensor;

/**
 * The local heads of a block and the loss they make from its output h (paper-summary.md,
 * "Losses"): the sim head (linear_loss or conv_loss, then the similarity matrix against the
 * labels'), the pred head (average pool to at most dimInDecoder inputs, then decoder_y), or
 * both, weighted by beta; the backprop-free variants compare with a fixed random projection of
 * the targets (proj_y) instead. An unsupervised loss may be mixed in by alpha: sim compares the
 * same similarity matrix of h with the block input's, recon decodes the input back from h
 * (decoder_x, then the block's nonlinearity). The layers are the block's children (so their
 * state_dict names are the reference's); both ways of running a local step, the tape's and
 * SlicedStep, read them here.
 */
final class LocalHeads {
    final LossConfig loss;
    final boolean hasPred, hasSim; // hasSim: h's similarity matrix is made, for the sim loss or the unsupervised sim
    final boolean fc;         // the block is fully connected: its input's similarity is of the flattened input
    final Layer simHead;      // linear_loss / conv_loss, null without sim or in the backprop-free variant
    final Pool2d avgPool;     // before decoder_y (and before the backprop-free sim), conv blocks only
    final Layer decoder;      // decoder_y: Linear to classes, or LinearFA to the target projection
    final Var projY;          // proj_y.weight (P, K): fixed random target projection of the backprop-free variants, a buffer
    final Tensor projSign;    // (P, K): 1 where proj_y > 0, so onehot · projSign^T = (proj_y(onehot) > 0)
    final Layer decoderX;     // decoder_x of recon: Linear or ConvTranspose2d from h back to the input; null otherwise
    final boolean decodes;    // recon runs: decoder_x exists and the block is not its network's first
    final float slope;        // the block's nonlinearity, which recon applies to decoder_x's output

    LocalHeads(LossConfig loss, boolean fc, boolean hasPred, boolean hasSim, Layer simHead, Pool2d avgPool, Layer decoder, Var projY,
               Tensor projSign, Layer decoderX, boolean decodes, float slope) {
        this.loss = loss;
        this.fc = fc;
        this.hasPred = hasPred;
        this.hasSim = hasSim;
        this.decoderX = decoderX;
        this.decodes = decodes;
        this.slope = slope;
        this.simHead = simHead;
        this.avgPool = avgPool;
        this.decoder = decoder;
        this.projY = projY;
        this.projSign = projSign;
    }

    /**
     * The local loss on h, the block's output for its input x (pred, sim or their weighted sum,
     * mixed with the unsupervised loss by alpha). When {@code lossSum} and {@code correct} are
     * not null the loss is added to lossSum[0] and the pred head's correct predictions to
     * correct[0], on the device.
     */
    Var localLoss(Tape tape, Var x, Var h, Targets targets, Tensor lossSum, Tensor correct) {
        // recon first, so its backward runs last, after the heads have freed theirs
        Var recon = decodes ? Ops.mse(tape, Ops.leakyRelu(tape, decoderX.forward(tape, h), slope, true), x.data()) : null;
        // pooled first, so the sim head's backward (run first) frees conv_loss's output and
        // gradient before the pool's backward makes h's gradient
        Var pooled = avgPool != null ? avgPool.forward(tape, h) : h;
        Var rows = null;
        if (hasSim) rows = similarityInput(tape, simHead != null ? simHead.forward(tape, h) : pooled);
        return headsLoss(tape, x.data(), rows, hasPred ? pooled : null, recon, targets, lossSum, correct);
    }

    /**
     * The losses of the heads: the similarity matrix of {@code rows} (B, D) when not null (for
     * sim, and unsupervised sim against x's), pred on {@code predIn} (h or its pooling) when not
     * null, their weighted sum, mixed by alpha with the unsupervised loss ({@code recon}'s, or
     * none in a first block); lossSum and correct as in localLoss.
     */
    Var headsLoss(Tape tape, Tensor x, Var rows, Var predIn, Var recon, Targets targets, Tensor lossSum, Tensor correct) {
        Backend be = tape.backend();
        Var pred = null, sim = null, unsup = recon;
        Tensor proj = null;
        if (loss.bio()) {
            // proj_y(onehot) (B, P): a fixed random projection of the one-hot targets replaces them
            proj = be.allocate(targets.onehot().dim(0), loss.targetProjSize());
            be.gemm(false, true, proj.dim(0), proj.dim(1), targets.onehot().dim(1), 1f, targets.onehot(), projY.data(), 0f, proj);
        }
        if (rows != null) {
            Var rh = Ops.similarity(tape, rows);
            if (loss.hasSim()) sim = Ops.mse(tape, rh, loss.bio() ? Targets.similarityOf(be, proj) : targets.similarity());
            if (loss.unsup() == LossConfig.Unsup.SIM) unsup = Ops.mse(tape, rh, inputSimilarity(be, x));
        }
        if (predIn != null) {
            if (loss.bio()) {
                Tensor sign = be.allocate(proj.shape());
                be.gemm(false, true, sign.dim(0), sign.dim(1), targets.onehot().dim(1), 1f, targets.onehot(), projSign, 0f, sign);
                pred = ((LinearFA) decoder).bceWithLogits(tape, predIn, sign);
            } else {
                Var logits = decoder.forward(tape, predIn);
                pred = Ops.crossEntropy(tape, logits, targets.labels());
                if (correct != null) be.countCorrect(logits.data(), targets.labels(), correct, true);
            }
        }
        Var total;
        if (pred != null && sim != null) total = Ops.weightedSum(tape, loss.predWeight(), pred, loss.simWeight(), sim);
        else total = pred != null ? pred : sim;
        if (loss.mixesUnsup()) total = Ops.weightedSum(tape, 1 - loss.alpha(), total, loss.alpha(), unsup);
        if (lossSum != null) be.sum(total.data(), lossSum, true);
        return total;
    }

    /** (B, D) rows for the similarity matrix: conv maps become their std (c > 3, h > 1) or are flattened. */
    Var similarityInput(Tape tape, Var x) {
        Tensor d = x.data();
        if (d.rank() == 4 && loss.similarityStd() && d.dim(1) > 3 && d.dim(2) > 1) return Ops.featureMapStd(tape, x);
        return Ops.flatten(tape, x);
    }

    /** The similarity matrix of the block's input x, which unsupervised sim compares h's with: of its rows' std or flattened, as h's. */
    Tensor inputSimilarity(Backend be, Tensor x) {
        Tape t = Tape.noGrad(be);
        Var rows = fc ? Ops.flatten(t, Var.constant(x)) : similarityInput(t, Var.constant(x));
        return Targets.similarityOf(be, rows.data());
    }

    void close() {
        if (projSign != null) projSign.close();
    }
}
