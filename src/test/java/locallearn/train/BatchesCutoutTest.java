package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.config.ModelConfig;
import locallearn.data.Dataset;
import locallearn.data.Datasets;
import locallearn.tensor.Scope;
import org.junit.jupiter.api.Test;

/** A run's n_holes reaches the batches: each hole is one more Backend.cutout hole per training image. */
class BatchesCutoutTest {
    private static float[] trainingBatch(Backend be, Dataset d, TrainConfig c) {
        try (Batches b = new Batches(be, Datasets.spec("fashion-mnist"), c); Scope s = Scope.open()) {
            return be.read(b.of(d, null, 0, 16, true, 3).images());
        }
    }

    private static int zeros(float[] x) {
        int n = 0;
        for (float v : x) n += v == 0f ? 1 : 0;
        return n;
    }

    @Test void severalHolesCutWhatBackendCutoutCutsAfterTheSameCrop() {
        Dataset d = Datasets.load("fashion-mnist", TestCheckpoints.SAMPLE, new Datasets.LoadOptions(16, 1, false)).train();
        TrainConfig none = TrainConfig.of(ModelConfig.mlp(1, 8), 1), one = none.withCutout(6), three = none.withCutout(6, 3);
        try (Backend be = Backends.cpu()) {
            float[] plain = trainingBatch(be, d, none), cut1 = trainingBatch(be, d, one), cut3 = trainingBatch(be, d, three);
            // the same pipeline with the holes cut by hand from the same Philox stream (Batches.SLOT_CUTOUT of step 3)
            try (Scope s = Scope.open()) {
                var x = be.allocate(16, 1, 28, 28);
                be.write(x, plain);
                be.cutout(x, 6, 3, three.seed(), Batches.stream(3, Batches.SLOT_CUTOUT));
                assertArrayEquals(be.read(x), cut3);
            }
            assertEquals(3, three.cutoutHoles());
            assertTrue(zeros(cut3) > zeros(cut1) && zeros(cut1) > zeros(plain), zeros(plain) + " " + zeros(cut1) + " " + zeros(cut3));
        }
    }
}
