package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

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
}
