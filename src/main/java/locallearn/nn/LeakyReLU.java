package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/** LeakyReLU with a negative slope (0.01, the paper's choice for sim and predsim); slope 0 is ReLU. */
public final class LeakyReLU extends Layer {
    final float slope;

    public LeakyReLU(float slope) { this.slope = slope; }

    public static LeakyReLU relu() { return new LeakyReLU(0f); }

    /** Not in place: a standalone layer cannot know whether its input is read again. */
    @Override public Var forward(Tape tape, Var x) { return Ops.leakyRelu(tape, x, slope, false); }
}
