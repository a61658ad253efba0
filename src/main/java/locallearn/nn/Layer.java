package locallearn.nn;

import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/** A module with one input and one output. */
public abstract class Layer extends Module {
    public abstract Var forward(Tape tape, Var x);
}
