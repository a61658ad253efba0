package locallearn.autograd;

import java.util.ArrayList;
import java.util.List;
import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/**
 * Reverse-mode autodiff in the style of micrograd, with the graph kept as a tape: every op of
 * {@link Ops} appends, as it runs, one entry holding its output and a closure that pushes the
 * output's gradient to its inputs. The tape is in execution order, which is a topological order
 * of the graph, so {@link #backward} just runs the closures from the last entry to the first.
 * After an entry's closure ran, nothing else will read its output's gradient or the scratch
 * tensors it saved (every consumer of the output came later on the tape and ran earlier), so
 * they go back to the pool at once: this is what keeps the backward peak low.
 *
 * <p>A tape also carries what a step's random layers need (training flag, seed, step index).
 * A tape made with {@code grad = false} records nothing (a no-grad region: eval, or the dropout
 * after a block's local update).
 */
public final class Tape {
    private record Entry(Var out, Runnable backward, Tensor[] scratch) {}

    final Backend backend;
    private final boolean grad;
    private final boolean training;
    private final long seed, step;
    private final List<Entry> entries = new ArrayList<>();

    public Tape(Backend backend, boolean grad, boolean training, long seed, long step) {
        this.backend = backend;
        this.grad = grad;
        this.training = training;
        this.seed = seed;
        this.step = step;
    }

    /** A tape that records nothing, for evaluation. */
    public static Tape noGrad(Backend backend) { return new Tape(backend, false, false, 0, 0); }

    /** A training-mode tape that records nothing (dropout and batch statistics on, no backward). */
    public static Tape noGradTraining(Backend backend, long seed, long step) { return new Tape(backend, false, true, seed, step); }

    public Backend backend() { return backend; }

    public boolean training() { return training; }

    public long seed() { return seed; }

    public long step() { return step; }

    /** The same step without recording (dropout after a local update, metrics). */
    public Tape withoutGrad() { return new Tape(backend, false, training, seed, step); }

    /** True when an op with these inputs must record its backward. */
    boolean needs(Var... inputs) {
        if (!grad) return false;
        for (Var v : inputs) if (v != null && (v.requiresGrad)) return true;
        return false;
    }

    /** Appends an op: its output, the closure computing its inputs' gradients, scratch to free after it. */
    void record(Var out, Runnable backward, Tensor... scratch) { entries.add(new Entry(out, backward, scratch)); }

    /** Number of recorded ops (tests). */
    public int size() { return entries.size(); }

    /** Backpropagates from the scalar {@code loss} (gradient 1) through every recorded op. */
    public void backward(Var loss) {
        if (loss.data().numel() != 1) throw new IllegalArgumentException("backward: loss must be a scalar, got " + loss.data().shape());
        if (!loss.requiresGrad) return;
        Tensor seedGrad = backend.allocate(1);
        backend.fill(seedGrad, 1f);
        if (loss.grad == null) loss.grad = seedGrad; else { backend.axpy(1f, seedGrad, loss.grad); seedGrad.close(); }
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            if (e.out.grad != null) e.backward.run();
            e.out.clearGrad();
            for (Tensor t : e.scratch) if (t != null) t.close();
        }
        entries.clear();
    }

    /**
     * Adds {@code g} into v's gradient: becomes the gradient when there is none yet (no copy),
     * otherwise y += g and g is released. Ops whose backend call overwrites its output use this.
     */
    void accumulate(Var v, Tensor g) {
        if (v.grad == null) {
            v.grad = g;
        } else {
            backend.axpy(1f, g, v.grad);
            g.close();
        }
    }
}
