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
import locallearn.data.Sampler;
import locallearn.local.LocalBlock;
import locallearn.local.LossConfig;
import locallearn.local.Targets;
import locallearn.models.Models;
import locallearn.models.Net;
import locallearn.nn.Init;
import locallearn.optim.Optimizer;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;

/**
 * Trains a {@link Net} on a dataset, epoch by epoch, locally or with global backprop.
 *
 * <p>The local step (DESIGN.md, "The local training step"): for each block, inside its own
 * scope, forward, the block's local loss and backward of that loss only (LocalBlock.localStep:
 * on the tape, or for sliced conv blocks SlicedStep), the block's optimizer step, then dropout
 * without recording; the dropped output is kept out of the scope and everything else the block
 * made goes back to the pool. The output layer is one more such step with the global optimizer.
 * Greedy layer-wise training runs the same step for one block at a time. Global backprop and
 * global+local record one tape over the whole network instead.
 *
 * <p>Randomness is a pure function of (seed, step): augmentation and dropout use Philox stream
 * {@code 64 * step + slot}, the epoch order comes from the sampler, so resuming needs only the
 * step counter. Metrics are summed on the device and read once per epoch.
 */
public final class Trainer implements AutoCloseable {
    private static final int SLOT_CROP = 0, SLOT_CUTOUT = 1, SLOT_LAYER = 2;

    private final Backend be;
    private final TrainConfig config;
    private final Dataset train, test;
    private final DatasetSpec spec;
    private final Net net;
    private final Sampler sampler;
    private final Tensor normScale, normShift;
    private final Tensor trainLoss, trainCorrect;
    private final Tensor[] layerLoss, layerCorrect;
    private int epoch;   // epochs completed
    private long step;   // training steps completed

    /** A batch on the device: normalised images (B, C, H, W) and its targets; owned by the scope open when made. */
    public record Batch(Tensor images, Targets targets) {
        public int size() { return images.dim(0); }
    }

    public Trainer(Backend backend, TrainConfig config, Dataset train, Dataset test, DatasetSpec spec) {
        var m = config.model();
        if (train.channels() != m.channels() || train.height() != m.height() || train.width() != m.width() || train.classes() != m.classes())
            throw new IllegalArgumentException("trainer: dataset " + train.name() + " is " + train.channels() + "x" + train.height() + "x"
                    + train.width() + " with " + train.classes() + " classes, model expects " + m.channels() + "x" + m.height() + "x"
                    + m.width() + " with " + m.classes());
        this.be = backend;
        this.config = config;
        this.train = train;
        this.test = test;
        this.spec = spec;
        Init init = new Init(backend, config.seed());
        this.net = Models.build(m, init, params -> Optimizer.create(config.optimizer(), backend, params, config.momentum(), config.weightDecay()));
        this.sampler = new Sampler(train.labels(), config.seed(), config.batchSize(), config.classesPerBatch(), config.classesPerBatchUntilEpoch());
        float[] mean = spec.mean(), std = spec.std(), scale = new float[mean.length], shift = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            scale[c] = 1f / std[c];
            shift[c] = -mean[c] / std[c];
        }
        normScale = backend.allocate(scale.length);
        normShift = backend.allocate(shift.length);
        backend.write(normScale, scale);
        backend.write(normShift, shift);
        trainLoss = backend.zeros(1);
        trainCorrect = backend.zeros(1);
        int nb = net.blocks().size();
        layerLoss = new Tensor[nb];
        layerCorrect = new Tensor[nb];
        for (int i = 0; i < nb; i++) {
            layerLoss[i] = backend.zeros(1);
            layerCorrect[i] = backend.zeros(1);
        }
    }

    public Net net() { return net; }

    public TrainConfig config() { return config; }

    public Backend backend() { return be; }

    public String datasetName() { return spec.name(); }

    /** Epochs completed. */
    public int epoch() { return epoch; }

    /** Training steps completed. */
    public long step() { return step; }

    void restore(int epoch, long step) {
        this.epoch = epoch;
        this.step = step;
    }

    /** Epochs of the whole run: config.epochs(), or that many per block when greedy. */
    public int totalEpochs() { return config.greedy() ? config.epochs() * net.blocks().size() : config.epochs(); }

    /**
     * Greedy layer-wise training: the block that trains in epoch {@code e} (0-based); blocks
     * before it are frozen, blocks after it wait. Without greedy, every block trains: -1.
     */
    public int greedyBlock(int e) { return config.greedy() ? e / config.epochs() : -1; }

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
        be.fill(trainLoss, 0f);
        be.fill(trainCorrect, 0f);
        for (int i = 0; i < layerLoss.length; i++) {
            be.fill(layerLoss[i], 0f);
            be.fill(layerCorrect[i], 0f);
        }
        be.synchronize();
        be.resetPeakMemory();
        int[] order = sampler.epochOrder(e);
        int bs = config.batchSize(), batches = (order.length + bs - 1) / bs;
        long t0 = System.nanoTime();
        for (int b = 0; b < batches; b++) {
            int from = b * bs, to = Math.min(order.length, from + bs);
            try (Scope s = Scope.open()) {
                Batch batch = batch(train, order, from, to, true, step);
                trainStep(batch, lr);
            }
            step++;
            double secs = (System.nanoTime() - t0) * 1e-9;
            for (TrainListener l : listeners) l.onStep(e, b + 1, batches, to, secs);
        }
        be.synchronize();
        double secs = (System.nanoTime() - t0) * 1e-9;
        long peak = be.memory().peak();
        double tl = be.read(trainLoss)[0] / batches, terr = 1 - be.read(trainCorrect)[0] / order.length;
        List<String> names = net.blockNames();
        double[] ll = new double[layerLoss.length], le = new double[layerLoss.length];
        int only = greedyBlock(epoch);
        for (int i = 0; i < ll.length; i++) {
            ll[i] = be.read(layerLoss[i])[0] / batches;
            LocalBlock blk = net.blocks().get(i);
            le[i] = hasLocalError(blk) ? 1 - be.read(layerCorrect[i])[0] / order.length : Double.NaN;
            if (only >= 0 && only != i) {
                ll[i] = le[i] = Double.NaN; // frozen or waiting: no local loss this epoch
                continue;
            }
            if (Double.isNaN(ll[i]) && config.model().loss().local())
                throw new IllegalStateException("training diverged: local loss of layer " + names.get(i) + " is NaN in epoch " + e
                        + "; try a smaller --lr");
        }
        if (only >= 0 && only < layerLoss.length - 1) tl = terr = Double.NaN; // greedy: the output layer trains with the last block
        else if (Double.isNaN(tl)) throw new IllegalStateException("training diverged: output loss (" + net.outputPrefix() + ") is NaN in epoch " + e + "; try a smaller --lr");
        double[] ev = evaluate(test);
        epoch++;
        return new EpochMetrics(e, lr, tl, terr, ev[0], ev[1], names, ll, le, order.length / secs, peak, secs);
    }

    private boolean hasLocalError(LocalBlock b) {
        LossConfig l = config.model().loss();
        return l.hasPred() && !l.bio();
    }

    /** Uploads examples order[from..to) of {@code d}, augments them when asked, normalises them on the device. */
    public Batch batch(Dataset d, int[] order, int from, int to, boolean augment, long step) {
        int n = to - from, size = d.imageSize();
        float[] host = new float[n * size];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int idx = order == null ? from + i : order[from + i];
            System.arraycopy(d.images(), idx * size, host, i * size, size);
            labels[i] = d.labels()[idx];
        }
        Tensor x = be.allocate(n, d.channels(), d.height(), d.width());
        be.write(x, host);
        if (augment && (spec.cropPad() > 0 || spec.flip())) {
            Tensor y = be.allocate(x.shape());
            be.randomCropFlip(x, y, spec.cropPad(), spec.flip(), config.seed(), stream(step, SLOT_CROP));
            x.close();
            x = y;
        }
        be.channelAffine(x, normScale, normShift);
        if (augment && config.cutout() > 0) be.cutout(x, config.cutout(), config.seed(), stream(step, SLOT_CUTOUT));
        LossConfig l = config.model().loss();
        return new Batch(x, Targets.of(be, labels, d.classes(), l.hasSim() && !l.bio()));
    }

    private static long stream(long step, int slot) { return step * 64 + slot; }

    /** One training step on a batch with learning rate {@code lr}; tensors it makes go back to the pool before it returns. */
    public void trainStep(Batch batch, float lr) {
        LossConfig loss = config.model().loss();
        if (loss.training() == LossConfig.Training.LOCAL) localStep(batch, lr, greedyBlock(epoch));
        else globalStep(batch, lr, loss.training() == LossConfig.Training.GLOBAL_AND_LOCAL);
    }

    /**
     * The local step; with {@code only} >= 0 (greedy) just block {@code only} trains: the blocks
     * before it run frozen in eval mode (running statistics, no dropout) and the stages after it
     * wait, except for the last block, after which the output layer trains too.
     */
    private void localStep(Batch batch, float lr, int only) {
        Var x = Var.constant(batch.images());
        Tensor owned = null; // the previous stage's output, released once the next stage has read it
        int k = 0, blocks = layerLoss.length;
        for (Net.Stage stage : net.stages()) {
            LocalBlock blk = stage.block();
            if (only >= 0 && only < blocks - 1 && k > only) break; // greedy: the stages after the training block wait
            boolean frozen = only >= 0 && k < only;
            Tensor next;
            try (Scope s = Scope.open()) {
                Tape t = frozen ? Tape.noGrad(be) : new Tape(be, blk != null, true, config.seed(), step);
                if (blk == null || frozen) {
                    next = stage.layer().forward(t, x).data();
                } else {
                    Var h = blk.localStep(t, x, batch.targets(), layerLoss[k], layerCorrect[k]);
                    blk.optimizer().step(lr);
                    next = blk.dropout(t.withoutGrad(), h, stream(step, SLOT_LAYER + k)).data();
                }
                s.keep(next);
            }
            if (blk != null) k++;
            if (owned != null) owned.close();
            owned = next;
            x = Var.constant(next);
        }
        if (only < 0 || only == blocks - 1) {
            try (Scope s = Scope.open()) {
                Tape t = new Tape(be, true, true, config.seed(), step);
                Var ce = outputLoss(t, x, batch.targets());
                float w = config.model().loss().outputWeight();
                t.backward(w == 1f ? ce : Ops.weightedSum(t, w, ce, 0f, null));
                net.globalOptimizer().step(lr);
            }
        }
        if (owned != null) owned.close();
    }

    private void globalStep(Batch batch, float lr, boolean withLocal) {
        try (Scope s = Scope.open()) {
            Tape t = new Tape(be, true, true, config.seed(), step);
            Var x = Var.constant(batch.images()), local = null;
            int k = 0;
            for (Net.Stage stage : net.stages()) {
                LocalBlock blk = stage.block();
                if (blk == null) {
                    x = stage.layer().forward(t, x);
                    continue;
                }
                Var h = blk.forward(t, x);
                if (withLocal) {
                    Var l = blk.localLoss(t, h, batch.targets(), layerLoss[k], layerCorrect[k]);
                    local = local == null ? l : Ops.weightedSum(t, 1f, local, 1f, l);
                }
                x = blk.dropout(t, h, stream(step, SLOT_LAYER + k));
                k++;
            }
            Var ce = outputLoss(t, x, batch.targets());
            t.backward(Ops.weightedSum(t, config.model().loss().outputWeight(), ce, 1f, local));
            for (LocalBlock b : net.blocks()) if (b.optimizer() != null) b.optimizer().step(lr);
            net.globalOptimizer().step(lr);
        }
    }

    /** The output layer's cross-entropy, with the epoch's train loss and correct count summed on the device. */
    private Var outputLoss(Tape t, Var x, Targets targets) {
        Var logits = net.output().forward(t, x);
        Var ce = Ops.crossEntropy(t, logits, targets.labels());
        be.sum(ce.data(), trainLoss, true);
        be.countCorrect(logits.data(), targets.labels(), trainCorrect, true);
        return ce;
    }

    /** {loss, error} of the network in eval mode (running statistics, no dropout, no augmentation). */
    public double[] evaluate(Dataset d) {
        Tensor lossSum = be.zeros(1), correct = be.zeros(1);
        int bs = Math.max(config.batchSize(), 256), batches = 0;
        Tape t = Tape.noGrad(be);
        for (int from = 0; from < d.size(); from += bs, batches++) {
            try (Scope s = Scope.open()) {
                Batch b = batch(d, null, from, Math.min(d.size(), from + bs), false, 0);
                Var x = Var.constant(b.images());
                Tensor owned = null;
                for (Net.Stage stage : net.stages()) {
                    Tensor next;
                    try (Scope inner = Scope.open()) {
                        next = stage.layer().forward(t, x).data();
                        inner.keep(next);
                    }
                    if (owned != null) owned.close();
                    owned = next;
                    x = Var.constant(next);
                }
                Var logits = net.output().forward(t, x);
                Var ce = Ops.crossEntropy(t, logits, b.targets().labels());
                be.axpy(logits.data().dim(0), ce.data(), lossSum);
                be.countCorrect(logits.data(), b.targets().labels(), correct, true);
            }
        }
        double loss = be.read(lossSum)[0] / d.size(), err = 1 - be.read(correct)[0] / d.size();
        lossSum.close();
        correct.close();
        return new double[] {loss, err};
    }

    @Override public void close() {
        net.close();
        normScale.close();
        normShift.close();
        trainLoss.close();
        trainCorrect.close();
        for (Tensor t : layerLoss) t.close();
        for (Tensor t : layerCorrect) t.close();
    }
}
