package locallearn.tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A lifetime for tensors: every tensor allocated while a scope is open belongs to the innermost
 * one and is released when it closes, unless it was {@link #keep kept}. Local training opens one
 * scope per block, so a block's activations go back to the pool as soon as its update is done;
 * the garbage collector could never free device memory that promptly.
 *
 * <p>The open scopes form a stack per thread (like a no-grad region): allocation sites need not
 * pass a scope around, and a scope must be closed by the thread that opened it, innermost first
 * (try-with-resources does exactly that).
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Thread thread = Thread.currentThread();
    private final List<Tensor> owned = new ArrayList<>();
    private boolean closed;

    private Scope(Scope parent) { this.parent = parent; }

    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    static void adopt(Tensor t) {
        Scope s = CURRENT.get();
        if (s != null) {
            t.scope = s;
            s.owned.add(t);
        }
    }

    /** Moves {@code t} out of this scope, to the enclosing scope, or to the caller when there is none. */
    public Tensor keep(Tensor t) {
        if (t.scope != this) throw new IllegalArgumentException("scope: " + t + " does not belong to this scope");
        t.scope = parent;
        if (parent != null) parent.owned.add(t);
        return t;
    }

    /** Number of live tensors this scope owns (tests and leak checks). */
    public int size() {
        int n = 0;
        for (Tensor t : owned) if (t.scope == this && !t.isReleased()) n++;
        return n;
    }

    @Override public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) throw new IllegalStateException("scope: closed by another thread than the one that opened it");
        if (CURRENT.get() != this) throw new IllegalStateException("scope: closed while an inner scope is still open");
        closed = true;
        for (int i = owned.size() - 1; i >= 0; i--) {
            Tensor t = owned.get(i);
            if (t.scope == this) t.close();
        }
        owned.clear();
        CURRENT.set(parent);
    }
}
