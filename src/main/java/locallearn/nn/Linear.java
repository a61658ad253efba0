package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/** y = x w^T + b with w (out, in); PyTorch's init, uniform +-1/sqrt(in) for w and b. */
public final class Linear extends Layer {
    final Var weight, bias;

    public Linear(Init init, int in, int out, boolean bias) {
        float bound = (float) (1 / Math.sqrt(in));
        weight = param("weight", new Var(init.uniform(bound, out, in), true));
        this.bias = bias ? param("bias", new Var(init.uniform(bound, out), true)) : null;
    }

    public Var weight() { return weight; }

    public Var bias() { return bias; }

    /** Sets the weight to zero: the output layer and decoder_y of the local modes start there (reference). */
    public Linear zeroWeight(Init init) {
        init.backend().fill(weight.data(), 0f);
        return this;
    }

    @Override public Var forward(Tape tape, Var x) { return Ops.linear(tape, Ops.flatten(tape, x), weight, bias); }
}
