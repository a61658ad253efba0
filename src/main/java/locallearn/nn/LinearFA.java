package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.tensor.Tensor;

/**
 * A linear layer trained by feedback alignment (Lillicrap et al. 2016): the forward is
 * x w^T + b, the error sent back to x is dy·B with a fixed random B of w's shape, drawn like w
 * (uniform +-1/sqrt(in)) and never trained. The backprop-free pred loss uses it as decoder_y.
 */
public final class LinearFA extends Layer {
    final Var weight, bias, weightFa;

    public LinearFA(Init init, int in, int out, boolean bias) {
        float bound = (float) (1 / Math.sqrt(in));
        weight = param("weight", new Var(init.uniform(bound, out, in), true));
        this.bias = bias ? param("bias", new Var(init.uniform(bound, out), true)) : null;
        weightFa = buffer("weight_fa", Var.constant(init.uniform(bound, out, in)));
    }

    public Var weight() { return weight; }

    public Var feedback() { return weightFa; }

    @Override public Var forward(Tape tape, Var x) {
        return Ops.linearFA(tape, Ops.flatten(tape, x), weight, bias, weightFa.data());
    }

    /**
     * The mean binary cross-entropy with logits of this layer's output against {@code targets}
     * (B, out), as forward then Ops.bceWithLogits, with the backward fused into one op: the
     * backprop-free pred loss.
     */
    public Var bceWithLogits(Tape tape, Var x, Tensor targets) {
        return Ops.linearFABce(tape, Ops.flatten(tape, x), weight, bias, weightFa.data(), targets);
    }
}
