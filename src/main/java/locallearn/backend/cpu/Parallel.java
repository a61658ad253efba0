package locallearn.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The worker pool of the CPU backend, sized by the property {@code locallearn.threads} (read
 * once, when the first op runs; default all cores), and a static partition over it. Work is
 * always split into a fixed number of parts that depends only on the sizes and that thread
 * count, never on timing nor on which thread runs a part, and every output element (or partial
 * sum) is written by exactly one part: that is what keeps multi-threaded results bit-identical
 * run to run, and a pipeline stage's identical to the same op run alone. A call from inside a
 * part (on a worker, or on the caller) runs its parts in order on that thread, so nested
 * parallel ops (a GEMM inside a parallel convolution) do not oversubscribe the cores.
 */
final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("locallearn.threads", Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    private Parallel() {}

    static int threads() { return THREADS; }

    /** Set on a caller while it runs a part of its own split, so that calls inside that part run serially, as on a worker. */
    private static final ThreadLocal<boolean[]> IN_PART = ThreadLocal.withInitial(() -> new boolean[1]);

    /** True when a parallel split would only add overhead: one thread, or already running a part (on a worker or the caller). */
    static boolean serial() { return POOL == null || ForkJoinTask.inForkJoinPool() || IN_PART.get()[0]; }

    /**
     * Runs part(0) .. part(parts - 1), in parallel when possible, and returns when all are done.
     * The parts are claimed in order by whoever comes first: the caller, which is already on a
     * core, and helpers on the pool, which a parked worker must first be woken for. The caller
     * waits only for parts a helper has claimed, never for a helper to be scheduled: on a busy
     * machine, or with pipeline stages whose threads all share the pool, it runs itself what no
     * idle worker took, and a stage that waits for its input lends its core to the others' parts.
     */
    static void run(int parts, IntConsumer part) {
        if (parts <= 1 || serial()) {
            for (int i = 0; i < parts; i++) part.accept(i);
            return;
        }
        Claims claims = new Claims(parts, part);
        ForkJoinTask<?>[] helpers = new ForkJoinTask<?>[Math.min(parts - 1, THREADS)];
        for (int i = 0; i < helpers.length; i++) helpers[i] = POOL.submit(claims::help);
        boolean[] inPart = IN_PART.get();
        inPart[0] = true;
        try {
            claims.help();
        } finally {
            inPart[0] = false;
        }
        for (ForkJoinTask<?> h : helpers) h.cancel(false); // one not yet started finds nothing left: it need not run
        claims.awaitAll();
    }

    /** The parts of one run, claimed one at a time by the caller and its helpers; the caller is woken when the last is done. */
    private static final class Claims {
        private final int parts;
        private final IntConsumer part;
        private final Thread caller = Thread.currentThread();
        private final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Claims(int parts, IntConsumer part) {
            this.parts = parts;
            this.part = part;
        }

        void help() {
            for (int i = next.getAndIncrement(); i < parts; i = next.getAndIncrement()) {
                try {
                    part.accept(i);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (done.incrementAndGet() == parts) LockSupport.unpark(caller);
                }
            }
        }

        /** Returns once every part is done (an interrupt is kept for later), throwing the first part's failure. */
        void awaitAll() {
            boolean interrupted = false;
            while (done.get() < parts) {
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
            if (interrupted) Thread.currentThread().interrupt();
            Throwable f = failure.get();
            if (f instanceof RuntimeException r) throw r;
            if (f instanceof Error e) throw e;
            if (f != null) throw new IllegalStateException(f);
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
        AtomicInteger next = new AtomicInteger();
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
