package locallearn.local;

import locallearn.config.TrainingMode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import locallearn.backend.cpu.CpuBackend;
import locallearn.data.Dataset;
import locallearn.train.Bench;
import locallearn.train.TrainConfig;
import locallearn.train.Trainer;
import org.junit.jupiter.api.Test;

/**
 * The local step's two memory strategies compute the same training: the held step on the tape
 * (memoryChunks 0) and the sliced step (7 slices of a batch of 32: six of 5 and a partial one of
 * 2). After three steps of a small VGG the networks agree on the test loss within float
 * rounding: the sliced step sums slice by slice and weighs three filter gradients instead of
 * forming batch norm's dz (measured difference about 1e-6).
 */
class MemoryChunksTest {
    /** {test loss, test error, peak activation bytes of a fourth step}. */
    private static double[] lossAfterThreeSteps(int memoryChunks) {
        TrainConfig config = Bench.config("vgg6b", "predsim", 32, null, 64, memoryChunks);
        Dataset data = Bench.synthetic(32, 3, 32, 32, 10, 1);
        try (CpuBackend be = new CpuBackend();
             Trainer t = new Trainer(be, config, data, data, Bench.syntheticSpec(3, 32, 32, 10))) {
            for (int step = 0; step < 3; step++) Bench.step(t, data, step);
            double[] eval = t.evaluate(data);
            return new double[] {eval[0], eval[1], Bench.measuredStep(t, data).peakActivationBytes()};
        }
    }

    @Test void slicedAndHeldStepsTrainTheSameNetwork() {
        double[] held = lossAfterThreeSteps(0), sliced = lossAfterThreeSteps(7);
        assertEquals(held[0], sliced[0], 1e-4 * Math.max(1, Math.abs(held[0])), "test loss");
        assertEquals(held[1], sliced[1], 1e-9, "test error");
        // and the sliced step really took the other path: it keeps less
        assertTrue(sliced[2] < held[2], "sliced peak " + sliced[2] + " vs held " + held[2]);
    }

    @Test void autoSlicesHoldAtLeastEightImages() {
        TrainingMode auto = TrainingMode.local(), sixteen = auto.withMemoryChunks(16);
        org.junit.jupiter.api.Assertions.assertEquals(8, auto.sliceImages(TrainingMode.CPU_MEMORY_CHUNKS, 128), "batch 128: 16 slices of 8");
        org.junit.jupiter.api.Assertions.assertEquals(8, auto.sliceImages(TrainingMode.CPU_MEMORY_CHUNKS, 32), "batch 32: 4 slices of 8");
        org.junit.jupiter.api.Assertions.assertEquals(16, auto.sliceImages(TrainingMode.CPU_MEMORY_CHUNKS, 256), "batch 256: 16 slices of 16");
        org.junit.jupiter.api.Assertions.assertEquals(5, auto.sliceImages(TrainingMode.CPU_MEMORY_CHUNKS, 5), "a batch below 8: one slice");
        org.junit.jupiter.api.Assertions.assertEquals(2, sixteen.sliceImages(16, 32), "an explicit count is taken as it is");
    }
}
