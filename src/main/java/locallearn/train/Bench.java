package locallearn.train;

import locallearn.backend.Backend;
import locallearn.backend.Philox;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
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

    /** The figures of a run; {@code pipeline}: the stages of a pipelined run (their split, busy and idle time over the timed steps), else null. */
    public record Result(double imagesPerSecond, long peakBytes, long stateBytes, long peakActivationBytes, int steps,
                         EpochMetrics.PipelineStats pipeline) {}

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

    /** {@code warmup} untimed steps, then {@code steps} timed ones, on synthetic images of {@code input}; memory is measured on the last. */
    public static Result run(Backend be, TrainConfig config, ModelInput input, int warmup, int steps) { return run(be, config, input, warmup, steps, null); }

    /**
     * The same with the blocks as a pipeline of {@code plan} when it is not null: the timed steps
     * run through it (a balanced plan times its blocks in a few more untimed steps first); the memory
     * figures stay those of one step in sequence, the per-stage peaks are in the result's stats.
     */
    public static Result run(Backend be, TrainConfig config, ModelInput input, int warmup, int steps, PipelinePlan plan) {
        int bs = config.batchSize();
        Dataset data = synthetic(bs, input.channels(), input.height(), input.width(), input.classes(), config.seed());
        try (Trainer t = new Trainer(be, config, data, data, syntheticSpec(input.channels(), input.height(), input.width(), input.classes()))) {
            if (plan != null) t.pipelined(plan);
            for (int i = 0; i < warmup; i++) step(t, data, i);
            long next = balance(t, data, warmup);
            be.synchronize();
            be.resetPeakMemory();
            // no synchronisation between timed steps: the host queues step i+1 while the GPU runs step i
            long t0 = System.nanoTime();
            EpochMetrics.PipelineStats stats = steps(t, data, next, steps);
            be.synchronize();
            double secs = (System.nanoTime() - t0) * 1e-9;
            StepMemory mem = measuredStep(t, data);
            return new Result(steps * (double) bs / secs, mem.stateBytes() + mem.peakActivationBytes(), mem.stateBytes(),
                    mem.peakActivationBytes(), steps, stats);
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
        if (!(t.config().mode() instanceof TrainingMode.Greedy)) return measuredOneStep(t, data, -1);
        StepMemory most = null;
        for (int b = 0; b < t.net().blocks().size(); b++) {
            StepMemory m = measuredOneStep(t, data, b);
            if (most == null || m.peakActivationBytes() > most.peakActivationBytes()) most = m;
        }
        return most;
    }

    private static StepMemory measuredOneStep(Trainer t, Dataset data, int block) {
        Backend be = t.backend();
        try (Scope s = Scope.open()) {
            Trainer.Batch b = t.batch(data, null, 0, t.config().batchSize(), false, 0);
            be.synchronize();
            long state = be.memory().current();
            be.resetPeakMemory();
            t.trainStep(b, t.config().lr(), block);
            be.synchronize();
            return new StepMemory(state, be.memory().peak() - state);
        }
    }

    /**
     * A pipelined trainer whose split is still to be measured: steps from number {@code index} on,
     * in sequence, timing its blocks until it splits; returns the next step's number ({@code index}
     * itself when nothing was to be done).
     */
    public static long balance(Trainer t, Dataset data, long index) {
        while (t.needsBalance()) {
            try (Scope s = Scope.open()) {
                t.balance(t.batch(data, null, 0, t.config().batchSize(), false, index++), t.config().lr());
            }
        }
        return index;
    }

    /**
     * Steps {@code first} .. {@code first + count - 1} on the first batch of {@code data}: through
     * the trainer's pipeline (see {@link #balance}) when it has one, returning its stages'
     * figures; else one after the other, returning null.
     */
    public static EpochMetrics.PipelineStats steps(Trainer t, Dataset data, long first, int count) {
        if (!t.pipelinesSteps()) {
            for (int i = 0; i < count; i++) step(t, data, first + i);
            return null;
        }
        int bs = t.config().batchSize();
        return t.pipelinedSteps(i -> t.batch(data, null, 0, bs, false, first + i), count, t.config().lr(), i -> {});
    }

    /** Training step number {@code index} of a run on the first batch of {@code data}; greedy runs cycle through their blocks, one block's step each. */
    public static void step(Trainer t, Dataset data, long index) {
        int block = t.config().mode() instanceof TrainingMode.Greedy ? (int) (index % t.net().blocks().size()) : -1;
        try (Scope s = Scope.open()) {
            t.trainStep(t.batch(data, null, 0, t.config().batchSize(), false, index), t.config().lr(), block);
        }
    }

    /** Parses "CxHxW" (e.g. 3x32x32): synthetic images of that shape, of {@code classes} classes. */
    public static ModelInput parseInput(String input, int classes) {
        String[] parts = input.split("x");
        int[] chw = new int[3];
        try {
            if (parts.length != 3) throw new NumberFormatException();
            for (int i = 0; i < 3; i++) chw[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("input '" + input + "' is not CxHxW (e.g. 3x32x32)");
        }
        return new ModelInput(chw[0], chw[1], chw[2], classes);
    }

    /**
     * The configuration a benchmark measures, as torch_ref.py builds it: Adam at 5e-4, 1024-wide fc
     * blocks (3 for mlp, 1 after the convs), no dropout, batch norm, the paper's nonlinearity
     * (leaky ReLU for sim and predsim, ReLU otherwise). {@code method} is as ModelConfig.method
     * names it: global, pred, sim, predsim, pred-bpf, ..., predsim-greedy, global+predsim.
     */
    public static TrainConfig config(String model, String method, int batch) {
        return config(model, method, batch, null, 1024, TrainingMode.AUTO_MEMORY_CHUNKS);
    }

    /**
     * As above with {@code numLayers} fc blocks (null: 3 for mlp, 1 after the convs) of
     * {@code numHidden} units, and the conv blocks' memory strategy (TrainingMode.memoryChunks).
     */
    public static TrainConfig config(String model, String method, int batch, Integer numLayers, int numHidden, int memoryChunks) {
        ModelConfig m = ModelConfig.named(model).withMethod(method);
        m = m.withNumLayers(numLayers != null ? numLayers : model.equals("mlp") ? 3 : 1).withNumHidden(numHidden)
                .withMode(m.mode().withMemoryChunks(memoryChunks));
        return TrainConfig.of(m, 1).withBatchSize(batch).withLrDecay(0.25f);
    }
}
