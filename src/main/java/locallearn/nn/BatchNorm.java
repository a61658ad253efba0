package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/**
 * BatchNorm1d and BatchNorm2d in one (x is (B, C) or (B, C, H, W)): weight 1, bias 0,
 * momentum 0.1, eps 1e-5, running statistics updated in training and used in eval, as PyTorch.
 */
public final class BatchNorm extends Layer {
    static final float MOMENTUM = 0.1f, EPS = 1e-5f;
    final Var weight, bias, runningMean, runningVar;

    public BatchNorm(Init init, int channels) {
        weight = param("weight", new Var(init.constant(1f, channels), true));
        bias = param("bias", new Var(init.constant(0f, channels), true));
        runningMean = buffer("running_mean", Var.constant(init.constant(0f, channels)));
        runningVar = buffer("running_var", Var.constant(init.constant(1f, channels)));
    }

    @Override public Var forward(Tape tape, Var x) {
        return Ops.batchNorm(tape, x, weight, bias, runningMean.data(), runningVar.data(), MOMENTUM, EPS);
    }

    /** The forward with x released at once and rebuilt by {@code recomputeInput} for backward (see Ops). */
    public Var forward(Tape tape, Var x, java.util.function.Supplier<locallearn.tensor.Tensor> recomputeInput) {
        return Ops.batchNorm(tape, x, weight, bias, runningMean.data(), runningVar.data(), MOMENTUM, EPS, recomputeInput);
    }

    /** The forward with x released at once and rebuilt {@code chunk} examples at a time for backward (see Ops.batchNormChunked). */
    public Var forward(Tape tape, Var x, Ops.Rows recompute, int chunk) {
        return Ops.batchNormChunked(tape, x, weight, bias, runningMean.data(), runningVar.data(), MOMENTUM, EPS, recompute, chunk);
    }
}
