package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * Parallel.run: each part runs exactly once, a part's failure reaches the caller, and the caller
 * never waits for a pool worker that has no core: with every worker busy it runs all parts
 * itself (what lets pipeline stages share the cores without waiting on each other's work).
 */
class ParallelTest {
    @Test void everyPartRunsOnceWhoeverClaimsIt() {
        for (int parts : new int[] {1, 2, 3, 7, 64}) {
            AtomicIntegerArray runs = new AtomicIntegerArray(parts);
            for (int rep = 0; rep < 200; rep++) Parallel.run(parts, runs::incrementAndGet);
            for (int i = 0; i < parts; i++) assertEquals(200, runs.get(i), "part " + i + " of " + parts);
        }
    }

    @Test void aFailingPartReachesTheCallerAfterTheOthersFinish() {
        AtomicIntegerArray runs = new AtomicIntegerArray(8);
        IllegalStateException boom = new IllegalStateException("part 5");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.run(8, i -> {
            runs.incrementAndGet(i);
            if (i == 5) throw boom;
        }));
        assertSame(boom, e);
        for (int i = 0; i < 8; i++) assertEquals(1, runs.get(i), "part " + i);
    }

    @Test void theCallerRunsThePartsNoWorkerIsFreeFor() throws Exception {
        assumeTrue(Parallel.threads() > 1, "one thread: no pool, nothing to wait for");
        int workers = Parallel.threads();
        // a run of workers + 1 parts that block: its caller and every pool worker hold one each
        CountDownLatch started = new CountDownLatch(workers + 1), release = new CountDownLatch(1);
        Thread holder = new Thread(() -> Parallel.run(workers + 1, i -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        holder.start();
        try {
            assertTrue(started.await(10, java.util.concurrent.TimeUnit.SECONDS), "every worker holds a part");
            AtomicIntegerArray runs = new AtomicIntegerArray(4);
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> Parallel.run(4, runs::incrementAndGet));
            for (int i = 0; i < 4; i++) assertEquals(1, runs.get(i), "part " + i);
        } finally {
            release.countDown();
            holder.join();
        }
    }
}
