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
            for (int i = 0; i < warmup; i++) step(t, data, i);
            be.synchronize();
            // no synchronisation between timed steps: the host queues step i+1 while the GPU runs step i
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step(t, data, warmup + i);
            be.synchronize();
            double secs = (System.nanoTime() - t0) * 1e-9;
            StepMemory mem = measuredStep(t, data);
            return new Result(steps * (double) bs / secs, mem.stateBytes() + mem.peakActivationBytes(), mem.stateBytes(),
                    mem.peakActivationBytes(), steps);
        }
    }

    /** What one step holds: {@code stateBytes} allocated before it, {@code peakActivationBytes} the most it adds. */
    public record StepMemory(long stateBytes, long peakActivationBytes) {}

    /**
     * One more training step on the first batch of {@code data}, synchronised, with its memory
     * measured (the accounting is exact, so one step gives the figures of every step). Greedy
     * layer-wise training steps differ by the block that trains: one step of each, the largest.
     */
    public static StepMemory measuredStep(Trainer t, Dataset data) {
        if (!t.config().greedy()) return measuredOneStep(t, data);
        int epoch = t.epoch();
        long step = t.step();
        StepMemory most = null;
        for (int b = 0; b < t.net().blocks().size(); b++) {
            t.restore(b * t.config().epochs(), step);
            StepMemory m = measuredOneStep(t, data);
            if (most == null || m.peakActivationBytes() > most.peakActivationBytes()) most = m;
        }
        t.restore(epoch, step);
        return most;
    }

    private static StepMemory measuredOneStep(Trainer t, Dataset data) {
        Backend be = t.backend();
        try (Scope s = Scope.open()) {
            Trainer.Batch b = t.batch(data, null, 0, t.config().batchSize(), false, 0);
            be.synchronize();
            long state = be.memory().current();
            be.resetPeakMemory();
            t.trainStep(b, t.config().lr());
            be.synchronize();
            return new StepMemory(state, be.memory().peak() - state);
        }
    }

    /** Training step number {@code index} of a run on the first batch of {@code data}; greedy runs cycle through their blocks, one block's step each. */
    public static void step(Trainer t, Dataset data, long index) {
        if (t.config().greedy()) t.restore((int) (index % t.net().blocks().size()) * t.config().epochs(), t.step());
        try (Scope s = Scope.open()) {
            t.trainStep(t.batch(data, null, 0, t.config().batchSize(), false, index), t.config().lr());
        }
    }

    /** Parses "CxHxW" (e.g. 3x32x32). */
    public static int[] parseInput(String input) {
        String[] parts = input.split("x");
        int[] chw = new int[3];
        try {
            if (parts.length != 3) throw new NumberFormatException();
            for (int i = 0; i < 3; i++) chw[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("input '" + input + "' is not CxHxW (e.g. 3x32x32)");
        }
        return chw;
    }

    /**
     * The configuration a benchmark measures, as torch_ref.py builds it: Adam at 5e-4, 1024-wide fc
     * blocks (3 for mlp, 1 after the convs), no dropout, batch norm, the paper's nonlinearity
     * (leaky ReLU for sim and predsim, ReLU otherwise). {@code mode} is global, pred, sim,
     * predsim, a backprop-free pred-bpf, sim-bpf, predsim-bpf, or any local mode trained greedily
     * layer-wise with "-greedy" appended (predsim-greedy).
     */
    public static TrainConfig config(String model, int[] chw, int classes, int batch, String mode) {
        return config(model, chw, classes, batch, mode, null, 1024, locallearn.local.LossConfig.AUTO_MEMORY_CHUNKS);
    }

    /**
     * As above with {@code numLayers} fc blocks (null: 3 for mlp, 1 after the convs) of
     * {@code numHidden} units, and the local step's memory strategy (LossConfig.memoryChunks).
     */
    public static TrainConfig config(String model, int[] chw, int classes, int batch, String mode, Integer numLayers, int numHidden,
                                     int memoryChunks) {
        String modes = "global, pred, sim, predsim, pred-bpf, sim-bpf, predsim-bpf, or a local mode + -greedy";
        boolean greedy = mode.endsWith("-greedy");
        String local = greedy ? mode.substring(0, mode.length() - 7) : mode;
        boolean bio = local.endsWith("-bpf");
        String base = bio ? local.substring(0, local.length() - 4) : local;
        if (greedy && base.equals("global")) throw new IllegalArgumentException("unknown mode '" + mode + "' (" + modes + ")");
        locallearn.local.LossConfig.Training training = base.equals("global")
                ? locallearn.local.LossConfig.Training.GLOBAL : locallearn.local.LossConfig.Training.LOCAL;
        locallearn.local.LossConfig.Kind kind = switch (base) {
            case "pred" -> locallearn.local.LossConfig.Kind.PRED;
            case "sim" -> locallearn.local.LossConfig.Kind.SIM;
            case "predsim" -> locallearn.local.LossConfig.Kind.PREDSIM;
            case "global" -> {
                if (bio) throw new IllegalArgumentException("unknown mode '" + mode + "' (" + modes + ")");
                yield locallearn.local.LossConfig.Kind.PREDSIM;
            }
            default -> throw new IllegalArgumentException("unknown mode '" + mode + "' (" + modes + ")");
        };
        var loss = locallearn.local.LossConfig.of(kind, training, bio).withMemoryChunks(memoryChunks);
        float slope = training == locallearn.local.LossConfig.Training.LOCAL && kind != locallearn.local.LossConfig.Kind.PRED ? 0.01f : 0f;
        var mc = new locallearn.models.ModelConfig(model, chw[0], chw[1], chw[2], classes,
                numLayers != null ? numLayers : model.equals("mlp") ? 3 : 1, numHidden, 1f, 0f, true, slope, loss);
        return new TrainConfig(mc, 1, batch, 5e-4f, new int[0], 0.25f, locallearn.optim.Optimizer.Kind.ADAM, 0.9f, 0f, 1, 0, 0, 0, greedy);
    }
}
