package locallearn.train;

import locallearn.backend.Backend;
import locallearn.backend.Philox;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.tensor.Scope;

/**
 * Times training steps of a model on synthetic data and measures its memory, with the meaning
 * of {@code shared/bench/torch_ref.py}: state = bytes allocated between steps (parameters,
 * optimizer state, the batch on the device), peak = the most allocated during a step,
 * activation = peak - state. The allocator's accounting is exact, so the memory figures are
 * deterministic; only the speed depends on the machine.
 */
public final class Bench {
    private Bench() {}

    public record Result(double imagesPerSecond, long peakBytes, long stateBytes, long peakActivationBytes, int steps) {}

    /** A dataset of {@code n} random images in [0, 1) and labels cycling through the classes. */
    public static Dataset synthetic(int n, int c, int h, int w, int classes, long seed) {
        float[] img = new float[n * c * h * w];
        Philox.uniforms(seed, 77, img, 0, img.length);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = i % classes;
        return new Dataset("synthetic", c, h, w, classes, img, labels);
    }

    public static DatasetSpec syntheticSpec(int c, int h, int w, int classes) {
        float[] mean = new float[c], std = new float[c];
        java.util.Arrays.fill(mean, 0.5f);
        java.util.Arrays.fill(std, 0.29f);
        return new DatasetSpec("synthetic", c, h, w, classes, mean, std, 0, false);
    }

    /** {@code warmup} untimed steps, then {@code steps} timed ones; memory is measured on the last. */
    public static Result run(Backend be, TrainConfig config, int warmup, int steps) {
        var m = config.model();
        int bs = config.batchSize();
        Dataset data = synthetic(bs, m.channels(), m.height(), m.width(), m.classes(), config.seed());
        try (Trainer t = new Trainer(be, config, data, data, syntheticSpec(m.channels(), m.height(), m.width(), m.classes()))) {
            long state = 0, peak = 0;
            for (int i = 0; i < warmup; i++) step(t, data, bs, config.lr());
            be.synchronize();
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                try (Scope s = Scope.open()) {
                    Trainer.Batch b = t.batch(data, null, 0, bs, false, i);
                    be.synchronize();
                    state = be.memory().current();
                    be.resetPeakMemory();
                    t.trainStep(b, config.lr());
                    be.synchronize();
                    peak = be.memory().peak();
                }
            }
            double secs = (System.nanoTime() - t0) * 1e-9;
            return new Result(steps * (double) bs / secs, peak, state, peak - state, steps);
        }
    }

    private static void step(Trainer t, Dataset data, int bs, float lr) {
        try (Scope s = Scope.open()) {
            t.trainStep(t.batch(data, null, 0, bs, false, 0), lr);
        }
    }
}
