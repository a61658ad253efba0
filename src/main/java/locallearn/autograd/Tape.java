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
 * After an entry's closure ran, nothing else will read its output, the output's gradient or the
 * scratch tensors it saved (every consumer of the output came later on the tape and ran
 * earlier; ops only save their own inputs and outputs), so they go back to the pool at once, and
 * the output even before the entry's own backward when that backward does not read it:
 * this is what keeps the backward peak low. A tensor still wanted after backward (a block's h,
 * which dropout reads after the local update) is marked with {@link #retain}.
 *
 * <p>A tape also carries what a step's random layers need (training flag, seed, step index).
 * A tape made with {@code grad = false} records nothing (a no-grad region: eval, or the dropout
 * after a block's local update).
 */
public final class Tape {
    private record Entry(Var out, Runnable backward, boolean readsOutput, Tensor[] scratch) {}
    private record Mark(int position, Runnable action) {}

    final Backend backend;
    private final boolean grad;
    private final boolean training;
    private final long seed, step;
    private final List<Entry> entries = new ArrayList<>();
    private final List<Tensor> retained = new ArrayList<>();
    private final List<Mark> marks = new ArrayList<>();

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

    /** True when ops record their backward. */
    public boolean recording() { return grad; }

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

    /** Appends an op whose backward does not read its own output: the output is released before that backward runs. */
    void record(Var out, Runnable backward, Tensor... scratch) { entries.add(new Entry(out, backward, false, scratch)); }

    /** Appends an op whose backward reads its own output (leaky ReLU, similarity, feature-map std). */
    void recordReadingOutput(Var out, Runnable backward, Tensor... scratch) { entries.add(new Entry(out, backward, true, scratch)); }

    /** Keeps {@code v}'s tensor alive through backward (by identity: in-place ops share it). */
    public void retain(Var v) { retained.add(v.data()); }

    private boolean isRetained(Tensor t) {
        for (Tensor r : retained) if (r == t) return true;
        return false;
    }

    /**
     * Runs {@code action} during {@link #backward} once the backward of every op recorded from now
     * on has run. A global step marks each layer's start with its update: the layer's parameters
     * are read only by its own ops, so their gradients are final there, and each layer's
     * gradients go back to the pool before the next layer's arrive, instead of all being held
     * until the end of backward.
     */
    public void whenBackwardPasses(Runnable action) { if (grad) marks.add(new Mark(entries.size(), action)); }

    /** Number of recorded ops (tests). */
    public int size() { return entries.size(); }

    /** Backpropagates from the scalar {@code loss} (gradient 1) through every recorded op. */
    public void backward(Var loss) {
        if (loss.data().numel() != 1) throw new IllegalArgumentException("backward: loss must be a scalar, got " + loss.data().shape());
        if (!loss.requiresGrad) return;
        Tensor seedGrad = backend.allocate(1);
        backend.fill(seedGrad, 1f);
        if (loss.grad == null) loss.grad = seedGrad; else { backend.axpy(1f, seedGrad, loss.grad); seedGrad.close(); }
        int mark = runMarks(marks.size() - 1, entries.size());
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            boolean release = !isRetained(e.out.data());
            // every reader of this output came later on the tape and has run: free it as early as the op allows
            if (release && !e.readsOutput) e.out.data().close();
            if (e.out.grad != null) e.backward.run();
            e.out.clearGrad();
            if (release) e.out.data().close();
            for (Tensor t : e.scratch) if (t != null) t.close();
            mark = runMarks(mark, i);
        }
        entries.clear();
        retained.clear();
        marks.clear();
    }

    /** Runs marks {@code last}, {@code last - 1} ... while their position is at least {@code passed} (the ops from there on have run backward); the next one's index. */
    private int runMarks(int last, int passed) {
        for (; last >= 0 && marks.get(last).position >= passed; last--) marks.get(last).action.run();
        return last;
    }

    /** Adds {@code g} into v's gradient (Var.addGrad): ops whose backend call overwrites its output use this. */
    void accumulate(Var v, Tensor g) { v.addGrad(backend, g); }
}
