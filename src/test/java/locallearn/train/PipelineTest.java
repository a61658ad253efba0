package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.TrainingMode;
import locallearn.local.Targets;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline's machinery: steps meet every stage in order, a failure in any stage or in the
 * caller's listener stops every stage without a deadlock, a lost batch or a leaked tensor, and
 * the first failure reaches the caller as it was thrown; the balanced split; and a Trainer
 * whose listener throws mid-epoch leaves the last checkpoint as it was.
 */
class PipelineTest {
    private final Backend be = new CpuBackend();

    private Trainer.Batch batch(int t) {
        Tensor images = be.allocate(2, 3);
        be.write(images, new float[] {t, t, t, t, t, t});
        return new Trainer.Batch(images, Targets.of(be, new int[] {0, 1}, 2, true));
    }

    private static boolean stageThreadsAlive() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("locallearn-stage-") && t.isAlive());
    }

    /** Each stage adds its index + 1 to its input; the last records what reached it. */
    private Pipeline.StageWork adder(List<String> seen, int failStage, int failStep, RuntimeException failure) {
        return (s, t, in, b) -> {
            if (s == failStage && t == failStep) throw failure;
            float v = be.read(in != null ? in : b.images())[0] + s + 1;
            Tensor out = be.allocate(2, 3);
            be.fill(out, v);
            if (s == 2) {
                seen.add(t + ":" + v);
                return null;
            }
            return out;
        };
    }

    @Test void everyStepPassesEveryStageInOrder() {
        List<String> seen = new CopyOnWriteArrayList<>();
        List<Integer> finished = new ArrayList<>();
        long live = be.memory().current();
        double[][] times = Pipeline.run(be, 3, 1, 20, this::batch, adder(seen, -1, -1, null), finished::add, s -> {});
        List<String> want = new ArrayList<>();
        List<Integer> steps = new ArrayList<>();
        for (int t = 0; t < 20; t++) {
            want.add(t + ":" + (t + 6f));
            steps.add(t);
        }
        assertEquals(want, seen);
        assertEquals(steps, finished);
        assertEquals(3, times[0].length);
        assertEquals(live, be.memory().current(), "every batch and hand-off released");
        assertFalse(stageThreadsAlive());
    }

    @Test void aFailingStageStopsEveryStageAndReachesTheCaller() {
        for (int stage = 0; stage < 3; stage++) {
            for (int depth = 1; depth <= 2; depth++) {
                int s = stage, d = depth;
                RuntimeException boom = new IllegalStateException("boom in stage " + stage);
                long live = be.memory().current();
                List<String> seen = new CopyOnWriteArrayList<>();
                RuntimeException e = assertThrows(RuntimeException.class,
                        () -> Pipeline.run(be, 3, d, 50, this::batch, adder(seen, s, 7, boom), t -> {}, st -> {}));
                assertSame(boom, e);
                assertFalse(stageThreadsAlive(), "stage threads stopped");
                assertEquals(live, be.memory().current(), "nothing in flight left allocated");
                assertTrue(seen.size() <= 7, "no step after the failed one finished: " + seen);
            }
        }
    }

    @Test void outOfMemoryKeepsItsType() {
        OutOfMemoryError oom = new OutOfMemoryError("a 1.0 MiB tensor did not fit");
        Pipeline.StageWork work = (s, t, in, b) -> {
            if (s == 1 && t == 3) throw oom;
            Tensor out = be.allocate(1);
            return s == 1 ? null : out;
        };
        assertSame(oom, assertThrows(OutOfMemoryError.class, () -> Pipeline.run(be, 2, 1, 10, this::batch, work, t -> {}, s -> {})));
        assertFalse(stageThreadsAlive());
    }

    @Test void aListenerThatThrowsStopsThePipeline() {
        RuntimeException boom = new IllegalStateException("listener");
        long live = be.memory().current();
        List<String> seen = new CopyOnWriteArrayList<>();
        RuntimeException e = assertThrows(RuntimeException.class, () -> Pipeline.run(be, 3, 1, 50, this::batch, adder(seen, -1, -1, null), t -> {
            if (t == 4) throw boom;
        }, s -> {}));
        assertSame(boom, e);
        assertFalse(stageThreadsAlive());
        assertEquals(live, be.memory().current());
    }

    @Test void balancedSplitMinimisesTheSlowestStage() {
        double[] costs = {4, 1, 1, 1, 1, 4};
        assertArrayEquals(new int[] {0, 1, 5, 6}, PipelinePlan.balanced(3).split(6, costs));
        assertArrayEquals(new int[] {0, 3, 6}, PipelinePlan.balanced(2).split(6, costs));
        assertArrayEquals(new int[] {0, 3, 4, 6}, PipelinePlan.parse("0-2,3,4-5").split(6, costs));
        assertEquals(List.of("0-2", "3", "4-5"), new EpochMetrics.PipelineStats(new int[] {0, 3, 4, 6}, List.of("cpu", "cpu", "cpu"), new double[3], new double[3], new long[3]).blockRanges());
        assertThrows(IllegalArgumentException.class, () -> PipelinePlan.parse("0-2,4-5"));
        assertThrows(IllegalArgumentException.class, () -> PipelinePlan.parse("0-2,x"));
        assertThrows(IllegalArgumentException.class, () -> PipelinePlan.parse("0-2").split(6, costs));
        // groups (residual units) 0 | 1-2 | 3-4 | 5 of those costs: 4 | 2 | 2 | 4
        int[] units = {0, 1, 3, 5, 6};
        assertArrayEquals(new int[] {0, 1, 5, 6}, PipelinePlan.balanced(3).split(units, costs));
        assertArrayEquals(new int[] {0, 3, 6}, PipelinePlan.balanced(2).split(units, costs));
        // a cut may not fall inside a group: blocks 1-3 cost 1 3 3 1 balance at block 2, but as 0 | 1-2 | 3 at block 1 or 3
        double[] middle = {1, 3, 3, 1};
        assertArrayEquals(new int[] {0, 2, 4}, PipelinePlan.balanced(2).split(4, middle));
        assertArrayEquals(new int[] {0, 1, 4}, PipelinePlan.balanced(2).split(new int[] {0, 1, 3, 4}, middle));
        assertThrows(IllegalArgumentException.class, () -> PipelinePlan.parse("0-1,2-5").split(units, costs));
        assertThrows(IllegalArgumentException.class, () -> PipelinePlan.balanced(5).split(units, costs));
    }

    @Test void aListenerFailingMidEpochLeavesTheLastCheckpointIntact(@TempDir Path dir) throws Exception {
        TrainConfig c = TrainerTest.config(TrainingMode.local(), 2).withModel(locallearn.config.ModelConfig.mlp(3, 64).withSlope(0.01f));
        try (var b = new CpuBackend(); Trainer t = new Trainer(b, c, TrainerTest.DATA.train(), TrainerTest.DATA.test(), TrainerTest.SPEC)) {
            t.pipelined(PipelinePlan.balanced(2));
            t.fit(1, List.of(), dir);
            byte[] saved = Files.readAllBytes(dir.resolve("checkpoint.safetensors"));
            RuntimeException boom = new IllegalStateException("listener");
            TrainListener failing = new TrainListener() {
                @Override public void onStep(int epoch, int batch, int batches, long images, double seconds) {
                    if (batch == 10) throw boom;
                }
            };
            assertSame(boom, assertThrows(IllegalStateException.class, () -> t.fit(2, List.of(failing), dir)));
            assertArrayEquals(saved, Files.readAllBytes(dir.resolve("checkpoint.safetensors")));
            assertFalse(stageThreadsAlive());
        }
    }
}
