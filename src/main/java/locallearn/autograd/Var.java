package locallearn.autograd;

import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/**
 * A node of the graph: a tensor and, once backward has reached it, its gradient. Parameters are
 * Vars that live across steps ({@code requiresGrad} true, no producer); activations are Vars
 * made by {@link Ops} while a {@link Tape} records. The gradient is allocated on first use, in
 * the scope that is open during backward, so a block's gradients go back to the pool with it.
 */
public final class Var {
    private Tensor data;
    Tensor grad;
    final boolean requiresGrad;

    public Var(Tensor data, boolean requiresGrad) {
        this.data = data;
        this.requiresGrad = requiresGrad;
    }

    /** A constant: a batch, a target, a detached activation. */
    public static Var constant(Tensor data) { return new Var(data, false); }

    public Tensor data() { return data; }

    /** Replaces the tensor of a parameter (checkpoint loading keeps the Var, swaps the values). */
    public void setData(Tensor t) {
        if (!t.shape().equals(data.shape()))
            throw new IllegalArgumentException("var: new data " + t.shape() + " does not match " + data.shape());
        data = t;
    }

    /** The gradient accumulated so far, or null when backward has not reached this Var. */
    public Tensor grad() { return grad; }

    public boolean requiresGrad() { return requiresGrad; }

    /**
     * Adds {@code g} into the gradient: g becomes it when there is none yet (no copy), otherwise
     * grad += g and g is released. How every gradient arrives, from the tape or a hand-written backward.
     */
    public void addGrad(Backend backend, Tensor g) {
        if (grad == null) {
            grad = g;
        } else {
            backend.axpy(1f, g, grad);
            g.close();
        }
    }

    /** Drops (and releases) the gradient: an optimizer calls this after its step. */
    public void clearGrad() {
        if (grad != null) grad.close();
        grad = null;
    }

    /** The same values, cut from the graph: gradients stop here (the local-learning detach). */
    public Var detach() { return constant(data); }

    @Override public String toString() { return "Var" + data.shape() + (requiresGrad ? " (grad)" : ""); }
}
