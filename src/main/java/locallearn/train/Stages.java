package locallearn.train;

import java.util.List;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
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
    /** What one stage does on a walk; {@code block} is its index among the hidden blocks, -1 for a plain layer (a pool). */
    interface StageStep {
        Var run(Net.Stage stage, int block, Var x);
    }

    private final List<Net.Stage> stages;

    Stages(Net net) { this.stages = net.stages(); }

    /**
     * Runs stages [0, until) on {@code x}. Scoped: each stage in its own scope, the last
     * output kept in the caller's; otherwise everything stays in the caller's scope.
     */
    Var walk(Var x, int until, boolean scoped, StageStep step) {
        Tensor owned = null; // the previous stage's output, released once the next stage has read it
        int block = 0;
        for (int i = 0; i < until; i++) {
            Net.Stage stage = stages.get(i);
            int k = stage.block() != null ? block++ : -1;
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

    /** The index of the stage of hidden block {@code k}, or size() past the last block. */
    int stageOfBlock(int k) {
        int block = 0;
        for (int i = 0; i < stages.size(); i++)
            if (stages.get(i).block() != null && block++ == k) return i;
        return stages.size();
    }

    /** Logits of normalised images in eval mode (running statistics, no dropout), stage by stage; owned by the caller's scope. */
    static Var logits(Net net, Backend be, Var images) {
        Tape t = Tape.noGrad(be);
        Var x = new Stages(net).walk(images, net.stages().size(), true, (stage, k, in) -> stage.layer().forward(t, in));
        return net.output().forward(t, x);
    }
}
