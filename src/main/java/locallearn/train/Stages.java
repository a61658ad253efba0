package locallearn.train;

import java.util.List;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.data.Dataset;
import locallearn.models.Net;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;

/**
 * The one walk over a network's stages, for every way a step or a prediction runs: each stage
 * turns the previous stage's output into its own. What a stage does (a local step, a frozen
 * forward, a forward on the global tape) is the caller's {@link StageStep}; how long its tensors
 * live is the walk's. A scoped walk runs each stage in a scope of its own and keeps only its
 * output, released once the next stage has read it: a stage is then a function of its input
 * alone, which is what lets a pipeline later run stages on workers of their own. A walk on one
 * tape (global backprop) keeps everything for the backward.
 */
final class Stages {
    /** What one stage does on a walk; {@code block} is the index of its (first) hidden block, -1 for a plain layer (a pool). */
    interface StageStep {
        Var run(Net.Stage stage, int block, Var x);
    }

    private final List<Net.Stage> stages;

    Stages(Net net) { this.stages = net.stages(); }

    /**
     * Runs stages [0, until) on {@code x}. Scoped: each stage in its own scope, the last
     * output kept in the caller's; otherwise everything stays in the caller's scope.
     */
    Var walk(Var x, int until, boolean scoped, StageStep step) { return walk(x, 0, until, scoped, step); }

    /** Runs stages [from, until) on {@code x}, the output of stage from - 1 (a pipeline stage's share of the walk), as walk. */
    Var walk(Var x, int from, int until, boolean scoped, StageStep step) {
        Tensor owned = null; // the previous stage's output, released once the next stage has read it
        int block = blocksBefore(from);
        for (int i = from; i < until; i++) {
            Net.Stage stage = stages.get(i);
            int n = stage.blocks().size(), k = n > 0 ? block : -1;
            block += n;
            if (!scoped) {
                x = step.run(stage, k, x);
                continue;
            }
            Tensor next;
            try (Scope s = Scope.open()) {
                next = step.run(stage, k, x).data();
                s.keep(next);
            }
            if (owned != null) owned.close();
            owned = next;
            x = Var.constant(next);
        }
        return x;
    }

    /** Every stage. */
    int size() { return stages.size(); }

    /** The index of {@code stage} in the walk. */
    int indexOf(Net.Stage stage) { return stages.indexOf(stage); }

    /** The hidden blocks among stages [0, stage). */
    int blocksBefore(int stage) {
        int n = 0;
        for (int i = 0; i < stage; i++) n += stages.get(i).blocks().size();
        return n;
    }

    /** The index of the stage that holds hidden block {@code k}, or size() past the last block. */
    int stageOfBlock(int k) {
        int block = 0;
        for (int i = 0; i < stages.size(); i++) {
            block += stages.get(i).blocks().size();
            if (block > k) return i;
        }
        return stages.size();
    }

    /** Logits (N, K) of normalised images in eval mode (running statistics, no dropout), stage by stage; owned by the caller's scope. */
    static Tensor logits(Net net, Backend be, Tensor images) {
        Tape t = Tape.noGrad(be);
        Var x = new Stages(net).walk(Var.constant(images), net.stages().size(), true, (stage, k, in) -> stage.layer().forward(t, in));
        return net.output().forward(t, x).data();
    }

    /**
     * {mean cross-entropy, error} of the network in eval mode on {@code d}, {@code batchSize}
     * images at a time: the loss is summed on the device batch by batch (each batch's mean times
     * its size), so training's evaluation and a Classifier's give the same bits.
     */
    static double[] evaluate(Net net, Backend be, Batches batches, Dataset d, int batchSize) {
        Tensor lossSum = be.zeros(1), correct = be.zeros(1);
        try {
            Tape t = Tape.noGrad(be);
            for (int from = 0; from < d.size(); from += batchSize) {
                try (Scope s = Scope.open()) {
                    Trainer.Batch b = batches.of(d, null, from, Math.min(d.size(), from + batchSize), false, 0);
                    Tensor logits = logits(net, be, b.images());
                    Var ce = Ops.crossEntropy(t, Var.constant(logits), b.targets().labels());
                    be.axpy(logits.dim(0), ce.data(), lossSum);
                    be.countCorrect(logits, b.targets().labels(), correct, true);
                }
            }
            return new double[] {be.read(lossSum)[0] / d.size(), 1 - be.read(correct)[0] / d.size()};
        } finally {
            lossSum.close();
            correct.close();
        }
    }
}
