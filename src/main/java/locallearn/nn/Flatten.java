package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/** (B, ...) to (B, rest), sharing memory. */
public final class Flatten extends Layer {
    @Override public Var forward(Tape tape, Var x) { return Ops.flatten(tape, x); }
}
