package locallearn.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.data.Sampler;
import locallearn.local.LocalBlock;
import locallearn.local.Targets;
import locallearn.config.TrainingMode;
import locallearn.config.ModelInput;
import locallearn.models.Models;
import locallearn.models.Net;
import locallearn.models.ResidualUnit;
import locallearn.nn.Init;
import locallearn.optim.Optimizer;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;

/**
 * Trains a {@link Net} on a dataset, epoch by epoch: the schedule, the listeners, checkpoints
 * and divergence. How a step runs is the training mode's (DESIGN.md, "The local training step"):
 *
 * <ul>
 *   <li>Local: for each block, inside its own scope, forward, the block's local loss and backward
 *       of that loss only (LocalBlock.localStep: on the tape, or for sliced conv blocks SlicedStep),
 *       the block's optimizer step, then dropout without recording; the dropped output is all that
 *       leaves the scope. A residual unit's blocks share the unit's scope, which holds its input
 *       until the last block has added the shortcut. The output layer is one more such step with
 *       the global optimizer.</li>
 *   <li>Greedy: the same step for one block at a time; the blocks before it run frozen in eval
 *       mode, the stages after it wait, and the output layer trains with the last block.</li>
 *   <li>Global and global+local: one tape over the whole network instead.</li>
 * </ul>
 * The batches come from {@link Batches}, the walk over the stages from {@link Stages}, the
 * epoch's sums from {@link EpochSums}.
 */
public final class Trainer implements AutoCloseable {
    private final Backend be;
    private final TrainConfig config;
    private final Dataset train, test;
    private final DatasetSpec spec;
    private final Net net;
    private final Stages stages;
    private final Sampler sampler;
    private final Batches batches;
    private final EpochSums sums;
    private int epoch;   // epochs completed
    private long step;   // training steps completed
    private PipelinePlan pipeline; // null: the blocks run in sequence
    private int[] stageFirstBlock; // the pipeline's split, once known
    private double[] blockTimes;   // a balanced pipeline's measured block times, until it is split
    private int timedSteps;        // the steps blockTimes sums
    /** Steps a balanced pipeline times in sequence, after one that warms up, before it splits. */
    static final int BALANCE_STEPS = 3;

    /** A batch on the device: normalised images (B, C, H, W) and its targets; owned by the scope open when made. */
    record Batch(Tensor images, Targets targets) {
        /** The same batch, its tensors moved out of {@code s} (to travel between pipeline stages until {@link #close}). */
        Batch keptFrom(Scope s) {
            for (Tensor t : tensors()) if (t != null) s.keep(t);
            return this;
        }

        void close() {
            for (Tensor t : tensors()) if (t != null) t.close();
        }

        /** Brings the targets onto the calling thread's device (a later pipeline stage's; only the first reads the images). */
        void targetsHere(Backend be) {
            for (Tensor t : new Tensor[] {targets.labels(), targets.onehot(), targets.similarity()}) if (t != null) be.moveHere(t);
        }

        private Tensor[] tensors() { return new Tensor[] {images, targets.labels(), targets.onehot(), targets.similarity()}; }
    }

    /** Trains on a loaded dataset: its train and test sets and its facts. */
    public Trainer(Backend backend, TrainConfig config, Datasets.Split data) { this(backend, config, data.train(), data.test(), data.spec()); }

    public Trainer(Backend backend, TrainConfig config, Dataset train, Dataset test, DatasetSpec spec) {
        if (train.channels() != spec.channels() || train.height() != spec.storedHeight() || train.width() != spec.storedWidth() || train.classes() != spec.classes())
            throw new IllegalArgumentException("trainer: dataset " + train.name() + " is " + train.channels() + "x" + train.height() + "x"
                    + train.width() + " with " + train.classes() + " classes, its spec " + spec.name() + " says " + spec.channels() + "x"
                    + spec.height() + "x" + spec.width() + " with " + spec.classes());
        if (backend.precision() != config.precision())
            throw new IllegalArgumentException("trainer: the run is " + config.precision().flag() + ", the backend computes in " + backend.precision().flag()
                    + " (open it with Backends.create(device, cpuConv, precision, notice))");
        this.be = backend;
        this.config = config;
        this.train = train;
        this.test = test;
        this.spec = spec;
        Init init = new Init(backend, config.seed());
        ModelInput in = new ModelInput(spec.channels(), spec.height(), spec.width(), spec.classes());
        this.net = Models.build(config.model(), in, init,
                params -> Optimizer.create(config.optimizer(), backend, params, config.momentum(), config.weightDecay()));
        this.stages = new Stages(net);
        this.sampler = new Sampler(train.labels(), config.seed(), config.batchSize(), config.classesPerBatch(), config.classesPerBatchUntilEpoch());
        this.batches = new Batches(backend, spec, config);
        this.sums = new EpochSums(backend, net.blocks().size());
    }

    Net net() { return net; }

    /** The network's hidden blocks, in order: the layers of the metrics ("layers.0", "features.3"). */
    public List<String> blockNames() { return net.blockNames(); }

    public TrainConfig config() { return config; }

    public Backend backend() { return be; }

    public String datasetName() { return spec.name(); }

    /** The facts of the dataset it trains on. */
    public DatasetSpec dataset() { return spec; }

    /** Epochs completed. */
    public int epoch() { return epoch; }

    /** Training steps completed. */
    public long step() { return step; }

    void restore(int epoch, long step) {
        this.epoch = epoch;
        this.step = step;
    }

    /** Epochs of the whole run: config.epochs(), or that many per block when greedy. */
    public int totalEpochs() { return greedy() ? config.epochs() * net.blocks().size() : config.epochs(); }

    private boolean greedy() { return config.mode() instanceof TrainingMode.Greedy; }

    /**
     * Greedy layer-wise training: the block that trains in epoch {@code e} (0-based); blocks
     * before it are frozen, blocks after it wait. In the other modes every block trains: -1.
     */
    public int greedyBlock(int e) { return greedy() ? e / config.epochs() : -1; }

    /**
     * Trains the blocks as a pipeline from now on: each stage of {@code plan} on a thread and
     * device lane of its own, on a different batch at a time (DESIGN.md, "Layer-parallel
     * training"). The results are those of the run in sequence, bit for bit. Only the local mode
     * can: the global modes have one backward through every block, greedy trains one block at a
     * time. Balanced plans are split by the block times of the first epoch's steps 2 to 4, which run in
     * sequence (the first warms up).
     */
    public Trainer pipelined(PipelinePlan plan) {
        if (!(config.mode() instanceof TrainingMode.Local))
            throw new IllegalArgumentException("--pipeline needs local training: --backprop and --no-detach have one backward through every block,"
                    + " --greedy trains one block at a time");
        int blocks = net.blocks().size();
        if (plan.stages() > blocks)
            throw new IllegalArgumentException("--pipeline " + plan.stages() + ": the model has " + blocks + (blocks == 1 ? " block" : " blocks")
                    + ", and a stage needs one");
        this.stageFirstBlock = plan.explicit() ? plan.split(unitStarts(), null) : null;
        be.openLane(0, plan.stages()).close(); // a backend without lanes says so now, not in the first epoch
        this.pipeline = plan;
        return this;
    }

    /** The first block of each stage of the walk that has blocks (a residual unit's blocks stay together), then the block count. */
    private int[] unitStarts() {
        List<Integer> starts = new ArrayList<>();
        int k = 0;
        for (Net.Stage st : net.stages()) {
            if (!st.blocks().isEmpty()) starts.add(k);
            k += st.blocks().size();
        }
        starts.add(k);
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Trains every epoch of the run (or what is left of it after a resume), writing a checkpoint into {@code outDir} after each when it is not null. */
    public List<EpochMetrics> fit(Path outDir, TrainListener... listeners) { return fit(totalEpochs(), List.of(listeners), outDir); }

    /**
     * Trains until {@code untilEpoch} epochs are complete (the learning-rate schedule always
     * follows {@code config.epochs()}, so stopping at 2 of 4 and resuming equals 4 straight),
     * evaluating on the test set after each epoch. With {@code outDir} a checkpoint is written
     * after each epoch.
     */
    public List<EpochMetrics> fit(int untilEpoch, List<TrainListener> listeners, Path outDir) {
        List<EpochMetrics> all = new ArrayList<>();
        while (epoch < Math.min(untilEpoch, totalEpochs())) {
            EpochMetrics m = trainEpoch(listeners);
            all.add(m);
            for (TrainListener l : listeners) l.onEpoch(m);
            if (outDir != null) {
                Path file = Checkpoints.save(outDir, this);
                for (TrainListener l : listeners) l.onCheckpoint(m.epoch(), file);
            }
        }
        return all;
    }

    /** One epoch of training and the evaluation after it. */
    public EpochMetrics trainEpoch(List<TrainListener> listeners) {
        int e = epoch + 1;  // epochs count from 1, as the reference and the sampler
        float lr = config.schedule().at(epoch % config.epochs()); // greedy: each block's epochs follow the schedule
        int only = greedyBlock(epoch);
        sums.reset();
        be.synchronize();
        be.resetPeakMemory();
        int[] order = sampler.epochOrder(e);
        int bs = config.batchSize(), steps = (order.length + bs - 1) / bs;
        long t0 = System.nanoTime();
        // a pipeline to be balanced first runs steps in sequence: one to warm up, then BALANCE_STEPS timing its blocks
        int sequential = pipeline == null ? steps : needsBalance() ? Math.min(1 + BALANCE_STEPS, steps) : 0;
        for (int b = 0; b < sequential; b++) {
            int from = b * bs, to = Math.min(order.length, from + bs);
            try (Scope s = Scope.open()) {
                Batch batch = batches.of(train, order, from, to, true, step);
                if (pipeline != null && (b > 0 || sequential == 1)) balance(batch, lr);
                else trainStep(batch, lr, only);
            }
            step++;
            double secs = (System.nanoTime() - t0) * 1e-9;
            for (TrainListener l : listeners) l.onStep(e, b + 1, steps, to, secs);
        }
        if (needsBalance() && blockTimes != null) split(); // an epoch shorter than the measurement
        EpochMetrics.PipelineStats stats = null;
        if (sequential < steps) {
            int first = sequential;
            long base = step; // the field moves on as steps finish, while stage 0 already makes later batches
            stats = pipelinedSteps(t -> batches.of(train, order, (first + t) * bs, Math.min(order.length, (first + t + 1) * bs), true, base + t),
                    steps - first, lr, t -> {
                        int b = first + t;
                        double secs = (System.nanoTime() - t0) * 1e-9;
                        for (TrainListener l : listeners) l.onStep(e, b + 1, steps, Math.min(order.length, (b + 1) * bs), secs);
                    });
        }
        be.synchronize();
        double secs = (System.nanoTime() - t0) * 1e-9;
        long peak = be.memory().peak();
        double tl = sums.meanLoss(sums.outputLoss, steps), terr = sums.error(sums.outputCorrect, order.length);
        List<String> names = net.blockNames();
        double[] ll = new double[sums.blocks()], le = new double[sums.blocks()];
        boolean localError = config.model().hasPredHead() && !config.model().loss().bio();
        for (int i = 0; i < ll.length; i++) {
            ll[i] = sums.meanLoss(sums.blockLoss(i), steps);
            le[i] = localError ? sums.error(sums.blockCorrect(i), order.length) : Double.NaN;
            if (only >= 0 && only != i) {
                ll[i] = le[i] = Double.NaN; // frozen or waiting: no local loss this epoch
                continue;
            }
            if (Double.isNaN(ll[i]) && config.mode().hasLocalLosses())
                throw new IllegalStateException("training diverged: local loss of layer " + names.get(i) + " is NaN in epoch " + e
                        + "; try a smaller --lr");
        }
        if (only >= 0 && only < ll.length - 1) tl = terr = Double.NaN; // greedy: the output layer trains with the last block
        else if (Double.isNaN(tl)) throw new IllegalStateException("training diverged: output loss (" + net.outputPrefix() + ") is NaN in epoch " + e + "; try a smaller --lr");
        double[] ev = evaluate(test);
        epoch++;
        return new EpochMetrics(e, lr, tl, terr, ev[0], ev[1], names, ll, le, order.length / secs, peak, secs, stats);
    }

    /** Uploads examples order[from..to) of {@code d} (order null: in order), augments them when asked, normalises them on the device. */
    Batch batch(Dataset d, int[] order, int from, int to, boolean augment, long step) {
        return batches.of(d, order, from, to, augment, step);
    }

    /** One training step on a batch with learning rate {@code lr} (greedy: of the block the current epoch trains); its tensors go back to the pool before it returns. */
    void trainStep(Batch batch, float lr) { trainStep(batch, lr, greedyBlock(epoch)); }

    /** The step, with {@code only} the block that trains when greedy (-1: all blocks). */
    void trainStep(Batch batch, float lr, int only) {
        switch (config.mode()) {
            case TrainingMode.Local l -> localStep(batch, lr, -1, step, null);
            case TrainingMode.Greedy g -> localStep(batch, lr, only, step, null);
            case TrainingMode.Global g -> globalStep(batch, lr, false);
            case TrainingMode.GlobalAndLocal g -> globalStep(batch, lr, true);
        }
    }

    /**
     * The local step; with {@code only} >= 0 (greedy) just block {@code only} trains: the blocks
     * before it run frozen in eval mode (running statistics, no dropout) and the stages after it
     * wait, except after the last block, when the output layer trains too. A residual unit's
     * blocks step one after the other; its last block's tape carries the shortcut. With
     * {@code blockTimes} each block's time (its stage's, the layers after it and, for the last,
     * the output layer's) is added there.
     */
    private void localStep(Batch batch, float lr, int only, long step, double[] blockTimes) {
        int blocks = sums.blocks();
        boolean outputTrains = only < 0 || only == blocks - 1;
        int until = outputTrains ? stages.size() : stages.stageOfBlock(only + 1);
        Stages.StageStep run = localStage(batch, lr, only, step);
        Var x = stages.walk(Var.constant(batch.images()), 0, until, true, blockTimes == null ? run : (stage, k, in) -> {
            long t0 = System.nanoTime();
            Var out = run.run(stage, k, in);
            be.synchronize();
            blockTimes[Math.max(0, k >= 0 ? k : stages.blocksBefore(stages.indexOf(stage)) - 1)] += (System.nanoTime() - t0) * 1e-9;
            return out;
        });
        if (!outputTrains) return;
        long t0 = System.nanoTime();
        outputStep(x, batch, lr, step);
        if (blockTimes != null) {
            be.synchronize();
            blockTimes[blocks - 1] += (System.nanoTime() - t0) * 1e-9;
        }
    }

    /**
     * What a stage of step {@code step} does: its blocks' local steps (a residual unit's one after
     * the other), or a plain layer's forward; greedy: blocks before {@code only} run frozen.
     */
    private Stages.StageStep localStage(Batch batch, float lr, int only, long step) {
        return (stage, k, in) -> switch (stage.layer()) {
            case ResidualUnit u -> u.walk(in, (b, i, bx, unitIn) -> localBlockStep(batch, lr, step, b, k + i, bx, unitIn == null ? null : u, unitIn));
            case LocalBlock b when k < only -> b.forward(Tape.noGrad(be), in); // frozen
            case LocalBlock b -> localBlockStep(batch, lr, step, b, k, in, null, null);
            default -> stage.layer().forward(new Tape(be, false, true, config.seed(), step), in);
        };
    }

    /**
     * Block k's local step on its detached input, its update, then its dropout without recording.
     * The last block of a residual unit adds the shortcut of {@code unitInput}, recorded on the
     * same tape, so the block's loss trains the shortcut, which steps with it.
     */
    private Var localBlockStep(Batch batch, float lr, long step, LocalBlock blk, int k, Var in, ResidualUnit unit, Var unitInput) {
        Tape t = new Tape(be, true, true, config.seed(), step);
        long stream = Batches.stream(step, Batches.SLOT_LAYER + k);
        Var shortcut = unit == null ? null : unit.shortcut(t, unitInput);
        Var h = blk.localStep(t, blk.preActivation(t, in, stream), shortcut, batch.targets(), sums.blockLoss(k), sums.blockCorrect(k));
        blk.optimizer().step(lr);
        if (unit != null && unit.optimizer() != null) unit.optimizer().step(lr);
        return blk.dropout(t.withoutGrad(), h, stream);
    }

    /** The output layer's step on the last stage's output x. */
    private void outputStep(Var x, Batch batch, float lr, long step) {
        try (Scope s = Scope.open()) {
            Tape t = new Tape(be, true, true, config.seed(), step);
            Var ce = outputLoss(t, x, batch.targets());
            float w = config.model().outputWeight();
            t.backward(w == 1f ? ce : Ops.weightedSum(t, w, ce, 0f, null));
            net.globalOptimizer().step(lr);
        }
    }

    /**
     * A local step on {@code batch} that times each block; after BALANCE_STEPS of them (or at the
     * end of an epoch too short for that many) the balanced pipeline is split by their sums.
     */
    void balance(Batch batch, float lr) {
        if (blockTimes == null) blockTimes = new double[sums.blocks()];
        localStep(batch, lr, -1, step, blockTimes);
        if (++timedSteps >= BALANCE_STEPS) split();
    }

    private void split() {
        stageFirstBlock = pipeline.split(unitStarts(), blockTimes);
        blockTimes = null;
    }

    /** Is this a pipeline whose split is still to be measured (by {@link #balance})? */
    boolean needsBalance() { return pipeline != null && stageFirstBlock == null; }

    /** Is this a pipeline ready to run steps (pipelinedSteps)? */
    boolean pipelinesSteps() { return pipeline != null && stageFirstBlock != null; }

    /**
     * The next {@code count} steps through the pipeline (Pipeline), step t on {@code batchOf(t)}
     * (made on stage 0, owned by the scope open on the call): stage s walks the stages of its
     * blocks and the layers after them, the last one also the output layer's step;
     * {@code finished} hears of step t as it leaves the last stage.
     */
    EpochMetrics.PipelineStats pipelinedSteps(java.util.function.IntFunction<Batch> batchOf, int count, float lr, java.util.function.IntConsumer finished) {
        int nStages = stageFirstBlock.length - 1;
        int[] from = new int[nStages + 1];
        for (int s = 0; s < nStages; s++) from[s] = s == 0 ? 0 : stages.stageOfBlock(stageFirstBlock[s]);
        from[nStages] = stages.size();
        long base = step;
        be.synchronize(); // a stage on another GPU copies its state in on its own stream, after what this thread queued
        double[][] times = Pipeline.run(be, nStages, pipeline.depth(), count, batchOf,
                (s, t, input, batch) -> {
                    Var in = Var.constant(input != null ? input : batch.images());
                    Var x = stages.walk(in, from[s], from[s + 1], true, localStage(batch, lr, -1, base + t));
                    if (s + 1 < nStages) return x.data();
                    outputStep(x, batch, lr, base + t);
                    return null;
                },
                t -> {
                    step = base + t + 1;
                    finished.accept(t);
                },
                s -> stageState(s, from).forEach(be::moveHere));
        be.synchronize();
        for (int s = 0; s < nStages; s++) stageState(s, from).forEach(be::moveHere); // back home, for evaluation and checkpoints
        long[] peak = new long[nStages];
        List<String> devices = new ArrayList<>();
        for (int s = 0; s < nStages; s++) {
            peak[s] = be.laneMemory(s).peak();
            devices.add(be.laneDevice(s, nStages));
        }
        return new EpochMetrics.PipelineStats(stageFirstBlock.clone(), devices, times[0], times[1], peak);
    }

    /**
     * What pipeline stage {@code s} (walk stages [from[s], from[s + 1])) keeps from step to step:
     * its layers' parameters and buffers, their optimizers' state and its blocks' epoch sums; the
     * last stage also the output layer's. On several GPUs it lives on the stage's device while the
     * pipeline runs.
     */
    private List<Tensor> stageState(int s, int[] from) {
        List<Tensor> out = new ArrayList<>();
        int k = stages.blocksBefore(from[s]);
        for (int i = from[s]; i < from[s + 1]; i++) {
            Net.Stage st = net.stages().get(i);
            for (Var v : st.layer().state("").values()) out.add(v.data());
            for (LocalBlock b : st.blocks()) {
                if (b.optimizer() != null) out.addAll(b.optimizer().state().values());
                out.add(sums.blockLoss(k));
                out.add(sums.blockCorrect(k++));
            }
            if (st.layer() instanceof ResidualUnit u && u.optimizer() != null) out.addAll(u.optimizer().state().values());
        }
        if (from[s + 1] == stages.size()) {
            for (Var v : net.output().state("").values()) out.add(v.data());
            out.addAll(net.globalOptimizer().state().values());
            out.add(sums.outputLoss);
            out.add(sums.outputCorrect);
        }
        return out;
    }

    private void globalStep(Batch batch, float lr, boolean withLocal) {
        try (Scope s = Scope.open()) {
            Tape t = new Tape(be, true, true, config.seed(), step);
            Var[] local = {null};
            List<Optimizer> optimizers = new ArrayList<>(net.localOptimizers().values());
            optimizers.add(net.globalOptimizer());
            Stages.StageStep forward = (stage, k, in) -> {
                stepWhenBackwardPasses(t, optimizers, stage.layer().parameters(), lr);
                return switch (stage.layer()) {
                    case ResidualUnit u -> u.walk(in, (b, i, bx, unitIn) -> globalBlock(t, batch, b, k + i, bx, unitIn == null ? null : u.shortcut(t, unitIn),
                            withLocal, local));
                    case LocalBlock b -> globalBlock(t, batch, b, k, in, null, withLocal, local);
                    default -> stage.layer().forward(t, in);
                };
            };
            Var x = stages.walk(Var.constant(batch.images()), stages.size(), false, forward);
            stepWhenBackwardPasses(t, optimizers, net.output().parameters(), lr);
            Var ce = outputLoss(t, x, batch.targets());
            t.backward(Ops.weightedSum(t, config.model().outputWeight(), ce, 1f, local[0]));
            for (Optimizer o : optimizers) o.step(lr); // counts the step: every layer was updated in the backward
        }
    }

    /**
     * Steps {@code params} (a layer's, about to be recorded on {@code t}) as soon as their
     * gradients are final in the backward, so a global step holds one layer's parameter
     * gradients at a time, as a local step does. The update is the one the step's end would make.
     */
    private static void stepWhenBackwardPasses(Tape t, List<Optimizer> optimizers, List<Var> params, float lr) {
        t.whenBackwardPasses(() -> {
            for (Optimizer o : optimizers) o.stepEarly(lr, params);
        });
    }

    /** Block k on the global tape (the shortcut added when not null), its local loss summed into {@code local[0]} when {@code withLocal}, then its dropout. */
    private Var globalBlock(Tape t, Batch batch, LocalBlock blk, int k, Var in, Var shortcut, boolean withLocal, Var[] local) {
        long stream = Batches.stream(step, Batches.SLOT_LAYER + k);
        Var x = blk.preActivation(t, in, stream);
        Var h = blk.forward(t, x, shortcut);
        if (withLocal) {
            Var l = blk.localLoss(t, x, h, batch.targets(), sums.blockLoss(k), sums.blockCorrect(k));
            local[0] = local[0] == null ? l : Ops.weightedSum(t, 1f, local[0], 1f, l);
        }
        return blk.dropout(t, h, stream);
    }

    /** The output layer's cross-entropy, with the epoch's train loss and correct count summed on the device. */
    private Var outputLoss(Tape t, Var x, Targets targets) {
        Var logits = net.output().forward(t, x);
        Var ce = Ops.crossEntropy(t, logits, targets.labels());
        be.sum(ce.data(), sums.outputLoss, true);
        be.countCorrect(logits.data(), targets.labels(), sums.outputCorrect, true);
        return ce;
    }

    /** {loss, error} of the network in eval mode (running statistics, no dropout, no augmentation). */
    public double[] evaluate(Dataset d) { return Stages.evaluate(net, be, batches, d, Math.max(config.batchSize(), 256)); }

    @Override public void close() {
        net.close();
        batches.close();
        sums.close();
    }
}
