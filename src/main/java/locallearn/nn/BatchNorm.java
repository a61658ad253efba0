package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/**
 * BatchNorm1d and BatchNorm2d in one (x is (B, C) or (B, C, H, W)): weight 1, bias 0,
 * momentum 0.1 (PyTorch's meaning: running = (1 - momentum) running + momentum batch) unless
 * given, eps 1e-5, running statistics updated in training and used in eval, as PyTorch.
 */
public final class BatchNorm extends Layer {
    static final float MOMENTUM = 0.1f;
    /** Added to the variance before its square root (PyTorch's default; the ONNX export writes it too). */
    public static final float EPS = 1e-5f;
    final Var weight, bias, runningMean, runningVar;
    private final float momentum;

    public BatchNorm(Init init, int channels) { this(init, channels, MOMENTUM); }

    public BatchNorm(Init init, int channels, float momentum) {
        this.momentum = momentum;
        weight = param("weight", new Var(init.constant(1f, channels), true));
        bias = param("bias", new Var(init.constant(0f, channels), true));
        runningMean = buffer("running_mean", Var.constant(init.constant(0f, channels)));
        runningVar = buffer("running_var", Var.constant(init.constant(1f, channels)));
    }

    /** gamma */
    public Var weight() { return weight; }

    /** beta */
    public Var bias() { return bias; }

    @Override public Var forward(Tape tape, Var x) {
        return Ops.batchNorm(tape, x, weight, bias, runningMean.data(), runningVar.data(), momentum, EPS);
    }

    /** The forward with x released at once and rebuilt by {@code recomputeInput} for backward (see Ops). */
    public Var forward(Tape tape, Var x, java.util.function.Supplier<Tensor> recomputeInput) {
        return Ops.batchNorm(tape, x, weight, bias, runningMean.data(), runningVar.data(), momentum, EPS, recomputeInput);
    }

    /** Eval-mode normalisation of x over itself (running statistics), recording nothing. */
    public void forwardEvalInPlace(Backend be, Tensor x) {
        be.batchNormForwardEval(x, weight.data(), bias.data(), runningMean.data(), runningVar.data(), EPS, x);
    }

    /**
     * Training-mode normalisation of x over itself, recording nothing: the running statistics
     * are updated and the batch mean and 1/sqrt(var + eps) per channel written for a
     * hand-written backward.
     */
    public void forwardTrainInPlace(Backend be, Tensor x, Tensor mean, Tensor invStd) {
        be.batchNormForwardTrain(x, weight.data(), bias.data(), runningMean.data(), runningVar.data(), momentum, EPS, x, mean, invStd);
    }
}
