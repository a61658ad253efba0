package locallearn.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;

/**
 * The worker pools of the CPU backend, sized by the property {@code locallearn.threads} (read
 * once, when the first op runs; default all cores), and a static partition over them. Work is
 * always split into a fixed number of parts that depends only on the sizes and that thread
 * count, never on timing nor on which pool runs the parts, and every output element (or partial
 * sum) is written by exactly one part: that is what keeps multi-threaded results bit-identical
 * run to run, and a pipeline stage's (which runs on a share of the cores, see {@link #share})
 * identical to the same op run alone. A call from inside a part (on a worker, or on the caller,
 * which runs part 0) runs its parts in order on that thread, so nested parallel ops (a GEMM
 * inside a parallel convolution) do not oversubscribe the cores.
 */
final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("locallearn.threads", Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    private Parallel() {}

    static int threads() { return THREADS; }

    /** Set on a caller while it runs a part of its own split, so that calls inside that part run serially, as on a worker. */
    private static final ThreadLocal<boolean[]> IN_PART = ThreadLocal.withInitial(() -> new boolean[1]);

    /** The pool that runs this thread's parts when it is a pipeline stage's: its share of the cores; null (the default) means POOL. */
    private static final ThreadLocal<Share> SHARE = new ThreadLocal<>();

    /** A pipeline stage's share of the cores: its own pool, or none when the share is one core (the stage's thread runs every part). */
    record Share(ForkJoinPool pool) {}

    /**
     * Makes {@code threads} cores the calling thread's own until the returned handle is closed:
     * its ops run their parts on a pool of that many workers (on the thread itself when 1),
     * split exactly as they would be on the whole machine.
     */
    static Runnable share(int threads) {
        if (SHARE.get() != null) throw new IllegalStateException("parallel: this thread already has a share of the cores");
        ForkJoinPool pool = threads > 1 ? new ForkJoinPool(threads) : null;
        SHARE.set(new Share(pool));
        return () -> {
            SHARE.remove();
            if (pool != null) pool.shutdown();
        };
    }

    /** True when a parallel split would only add overhead: one thread, or already running a part (on a worker or the caller). */
    static boolean serial() { return POOL == null || ForkJoinTask.inForkJoinPool() || IN_PART.get()[0]; }

    /** The pool this thread's parts go to, or null when the thread runs them all itself. */
    private static ForkJoinPool pool() {
        Share s = SHARE.get();
        return s != null ? s.pool() : POOL;
    }

    /**
     * Runs part(0) .. part(parts - 1), in parallel when possible, and returns when all are done.
     * The caller runs part 0 itself while the workers take the rest: it is already on a core,
     * where a parked worker has to be woken first, which on a busy machine is the longest wait of
     * a small op.
     */
    static void run(int parts, IntConsumer part) {
        if (parts <= 1 || serial()) {
            for (int i = 0; i < parts; i++) part.accept(i);
            return;
        }
        ForkJoinPool pool = pool();
        boolean[] inPart = IN_PART.get();
        if (pool == null) {
            // a stage's one core: the parts run here in order, each marked as a part, as it would be on a worker
            inPart[0] = true;
            try {
                for (int i = 0; i < parts; i++) part.accept(i);
            } finally {
                inPart[0] = false;
            }
            return;
        }
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[parts];
        for (int i = 1; i < parts; i++) {
            int p = i;
            tasks[i] = pool.submit(() -> part.accept(p));
        }
        inPart[0] = true;
        try {
            part.accept(0);
        } finally {
            inPart[0] = false;
            for (int i = 1; i < parts; i++) tasks[i].join();
        }
    }

    /** A body for one work item, with the scratch of the worker that claimed it. */
    interface Item<T> { void run(int index, T scratch); }

    /**
     * Runs items 0 .. n-1, each exactly once, claimed one at a time by up to threads() workers
     * (each with its own scratch from {@code scratch}): a worker that the OS delays does not hold
     * up the others. Which worker runs an item changes from run to run, so each item must write
     * its own outputs only; then the results do not depend on timing.
     */
    static <T> void items(int n, java.util.function.Supplier<T> scratch, Item<T> body) {
        int workers = Math.min(n, serial() ? 1 : THREADS);
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        run(workers, w -> {
            T s = scratch.get();
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) body.run(i, s);
        });
    }

    /** A body over a contiguous index range [from, to). */
    interface Range { void run(int from, int to); }

    /**
     * Runs body over [0, n) split into contiguous ranges of at least {@code grain} indices (all
     * range starts multiples of {@code align}), in parallel when there is enough work. For ops
     * whose every index is independent, so the split cannot change a result.
     */
    static void range(int n, int grain, int align, Range body) {
        int parts = parts(n, grain);
        if (parts <= 1) {
            if (n > 0) body.run(0, n);
            return;
        }
        run(parts, t -> {
            int from = start(n, parts, t) / align * align, to = t == parts - 1 ? n : start(n, parts, t + 1) / align * align;
            if (from < to) body.run(from, to);
        });
    }

    /** Splits [0, n) into {@code parts} contiguous ranges; range i is [start(n, parts, i), start(n, parts, i + 1)). */
    static int start(int n, int parts, int i) { return (int) ((long) n * i / parts); }

    /** Parts for n units of work when each part should hold at least {@code minPerPart} of them. */
    static int parts(long n, long minPerPart) {
        if (serial()) return 1;
        return (int) Math.max(1, Math.min(THREADS, n / Math.max(1, minPerPart)));
    }
}
