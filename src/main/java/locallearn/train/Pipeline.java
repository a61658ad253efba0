package locallearn.train;

import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import locallearn.backend.Backend;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;

/**
 * Runs steps of local training with the network split into stages, each on a thread and device
 * lane of its own (Backend.openLane), while the caller's thread reports finished steps. Stage 0
 * makes step t's batch and trains the first blocks on it; each later stage takes the output and
 * the batch from a bounded queue, trains its blocks, and hands its output on, so stage s works
 * on step t while stage s - 1 already works on step t + 1. Every stage meets the steps in order
 * and its blocks are only its own, so the run is the run in sequence, bit for bit, whatever the
 * timing (DESIGN.md, "Layer-parallel training"). A hand-off carries the producer's mark
 * (Backend.handOff), which the consumer awaits before its first op: on CUDA the stages' streams
 * are ordered by it. A stage on a device of its own (several GPUs) then moves what it took in,
 * the activation and the batch's targets, onto its device (Backend.moveHere).
 *
 * <p>A failure anywhere (an exception in a stage, out of memory, a listener that throws) stops
 * every stage: the others are interrupted at their next wait on a queue, all are joined, what
 * was in flight is released, and the first failure is thrown to the caller.
 */
final class Pipeline {
    private Pipeline() {}

    /**
     * Stage {@code stage}'s share of step {@code step}: trains its blocks on {@code input} (null
     * for stage 0, which reads the batch's images) and returns its output, owned by the scope
     * open on the call, or null from the last stage.
     */
    interface StageWork {
        Tensor run(int stage, int step, Tensor input, Trainer.Batch batch);
    }

    /** What one queue carries: step t's output of the stage before, the batch, and the mark after the stage's last write. */
    private record Item(int step, Tensor x, Trainer.Batch batch, Backend.HandOff ready) {}

    private static final int FAILED = -1;

    /**
     * Runs steps [0, steps) through {@code stages} stages with queues of {@code depth} between
     * them; {@code source} makes step t's batch on stage 0 (owned by the scope open on the call),
     * {@code finished} runs on the caller's thread as each step leaves the last stage, in order;
     * {@code enter} runs on each stage's thread once its lane is open, before its first step.
     * Returns each stage's busy and idle seconds.
     */
    static double[][] run(Backend be, int stages, int depth, int steps, IntFunction<Trainer.Batch> source, StageWork work, IntConsumer finished,
                          IntConsumer enter) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        BlockingQueue<Integer> done = new LinkedBlockingQueue<>();
        @SuppressWarnings("unchecked")
        BlockingQueue<Item>[] queues = new BlockingQueue[stages - 1];
        for (int s = 0; s + 1 < stages; s++) queues[s] = new ArrayBlockingQueue<>(depth);
        Set<Trainer.Batch> live = ConcurrentHashMap.newKeySet(); // made and not yet released by the last stage
        double[] busy = new double[stages], idle = new double[stages];
        Thread[] threads = new Thread[stages];
        for (int s = 0; s < stages; s++) {
            int stage = s;
            threads[s] = Thread.ofPlatform().name("locallearn-stage-" + s).unstarted(() -> {
                try {
                    runStage(be, stage, stages, steps, queues, live, source, work, done, busy, idle, enter);
                } catch (InterruptedException e) {
                    // stopped because another stage or the caller failed
                } catch (Throwable e) {
                    if (failure.compareAndSet(null, e)) {
                        for (Thread t : threads) if (t != Thread.currentThread()) t.interrupt();
                        done.add(FAILED);
                    }
                }
            });
        }
        for (Thread t : threads) t.start();
        try {
            for (int n = 0; n < steps; n++) {
                int t = done.take();
                if (t == FAILED) break;
                finished.accept(t);
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
        } finally {
            if (failure.get() != null) for (Thread t : threads) t.interrupt();
            joinAll(threads);
            for (BlockingQueue<Item> q : queues) for (Item it : q) if (it.x() != null) it.x().close();
            for (Trainer.Batch b : live) b.close();
        }
        Throwable f = failure.get();
        if (f instanceof RuntimeException r) throw r;
        if (f instanceof Error err) throw err;
        if (f != null) throw new IllegalStateException("pipeline: " + f, f);
        return new double[][] {busy, idle};
    }

    private static void runStage(Backend be, int s, int stages, int steps, BlockingQueue<Item>[] queues, Set<Trainer.Batch> live,
                                 IntFunction<Trainer.Batch> source, StageWork work, BlockingQueue<Integer> done, double[] busy, double[] idle,
                                 IntConsumer enter) throws InterruptedException {
        long busyNs = 0, idleNs = 0;
        try (Backend.Lane lane = be.openLane(s, stages)) {
            enter.accept(s);
            for (int t = 0; t < steps; t++) {
                long t0 = System.nanoTime();
                Item in = s == 0 ? null : queues[s - 1].take();
                long t1 = System.nanoTime();
                if (in != null) {
                    in.ready().await();
                    if (in.x() != null) be.moveHere(in.x());
                    in.batch().targetsHere(be);
                }
                Trainer.Batch batch;
                Tensor out;
                try (Scope scope = Scope.open()) {
                    if (s == 0) {
                        batch = source.apply(t).keptFrom(scope);
                        live.add(batch);
                    } else {
                        batch = in.batch();
                    }
                    Tensor o = work.run(s, t, in == null ? null : in.x(), batch);
                    out = o == null ? null : scope.keep(o);
                } finally {
                    if (in != null && in.x() != null) in.x().close();
                }
                long t2 = System.nanoTime();
                if (s + 1 < stages) {
                    try {
                        queues[s].put(new Item(t, out, batch, be.handOff()));
                    } catch (InterruptedException e) {
                        if (out != null) out.close(); // stopped while waiting for room: the hand-off goes nowhere
                        throw e;
                    }
                } else {
                    live.remove(batch);
                    batch.close();
                    done.add(t);
                }
                busyNs += t2 - t1;
                idleNs += (t1 - t0) + (System.nanoTime() - t2);
            }
        } finally {
            busy[s] = busyNs * 1e-9;
            idle[s] = idleNs * 1e-9;
        }
    }

    private static void joinAll(Thread[] threads) {
        boolean interrupted = false;
        for (Thread t : threads) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
