package locallearn.train;

import locallearn.config.OptimizerKind;
import locallearn.config.Precision;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.optim.LrMilestones;
import locallearn.optim.LrSchedule;

/**
 * Everything a training run needs besides its data and device, validated once here (no global
 * arguments anywhere below). Start from {@link #of} (the paper's recipe) and change what differs:
 * {@code TrainConfig.of(model, 100).withBatchSize(64).withLr(1e-3f)}.
 *
 * @param epochs            epochs of the run; greedy training runs that many per block
 * @param lrDecayMilestones when the lr is multiplied by {@code lrDecayFactor}: epochs, or percentages of {@code epochs}
 * @param cutout            side of the cutout holes in pixels, 0 = no cutout
 * @param cutoutHoles       holes per image (the reference's n_holes), >= 1
 * @param classesPerBatch   K of the classes-per-batch sampler, 0 = plain shuffling
 * @param precision         the arithmetic of GEMM and convolution (FP32 by default)
 */
public record TrainConfig(ModelConfig model, int epochs, int batchSize, float lr, LrMilestones lrDecayMilestones, float lrDecayFactor,
                          OptimizerKind optimizer, float momentum, float weightDecay, long seed, int cutout, int cutoutHoles,
                          int classesPerBatch, int classesPerBatchUntilEpoch, Precision precision) {

    public TrainConfig {
        if (model == null) throw new IllegalArgumentException("train: a model is needed");
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (batchSize < 2) throw new IllegalArgumentException("batch-size must be >= 2 (batch norm needs two examples), got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (!(lrDecayFactor > 0)) throw new IllegalArgumentException("lr-decay-fact must be > 0, got " + lrDecayFactor);
        if (optimizer == null) throw new IllegalArgumentException("optim must be adam, amsgrad or sgd");
        if (momentum < 0 || weightDecay < 0) throw new IllegalArgumentException("momentum and weight-decay must be >= 0");
        if (cutout < 0) throw new IllegalArgumentException("cutout length must be >= 0, got " + cutout);
        if (cutoutHoles < 1) throw new IllegalArgumentException("cutout holes (n-holes) must be >= 1, got " + cutoutHoles);
        if (classesPerBatch < 0 || classesPerBatchUntilEpoch < 0) throw new IllegalArgumentException("classes-per-batch values must be >= 0");
        if (precision == null) throw new IllegalArgumentException("precision must be fp32, tf32 or bf16");
        if (lrDecayMilestones == null) throw new IllegalArgumentException("lr decay milestones are needed (none: LrMilestones.percent())");
        lrDecayMilestones.epochsOf(epochs); // milestones given in epochs must lie inside the run
    }

    /** The paper's recipe: batch 128, Adam with lr 5e-4, times 0.25 at 50, 75, 89 and 94% of the epochs, seed 1, fp32. */
    public static TrainConfig of(ModelConfig model, int epochs) {
        return new TrainConfig(model, epochs, 128, 5e-4f, LrMilestones.percent(50, 75, 89, 94), 0.25f, OptimizerKind.ADAM, 0.9f, 0f, 1, 0, 1, 0, 0, Precision.FP32);
    }

    public TrainConfig withModel(ModelConfig m) {
        return new TrainConfig(m, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    public TrainConfig withEpochs(int e) {
        return new TrainConfig(model, e, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    public TrainConfig withBatchSize(int b) {
        return new TrainConfig(model, epochs, b, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    public TrainConfig withLr(float l) {
        return new TrainConfig(model, epochs, batchSize, l, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    /** The lr times {@code factor} at each of {@code percents} of the epochs (none: a constant lr). */
    public TrainConfig withLrDecay(float factor, int... percents) { return withLrDecay(factor, LrMilestones.percent(percents)); }

    /** The lr times {@code factor} at each milestone (epochs or percentages). */
    public TrainConfig withLrDecay(float factor, LrMilestones milestones) {
        return new TrainConfig(model, epochs, batchSize, lr, milestones, factor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    public TrainConfig withOptimizer(OptimizerKind o) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, o, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    /** SGD's momentum. */
    public TrainConfig withMomentum(float m) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, m, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    public TrainConfig withWeightDecay(float w) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, w, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, s, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    /** One square hole of {@code length} pixels cut out of each training image (0: none). */
    public TrainConfig withCutout(int length) { return withCutout(length, 1); }

    /** {@code holes} square holes of {@code length} pixels cut out of each training image, centres drawn independently (they may overlap). */
    public TrainConfig withCutout(int length, int holes) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, length, holes,
                classesPerBatch, classesPerBatchUntilEpoch, precision);
    }

    /** Batches of {@code k} classes each, until {@code untilEpoch} (0: every epoch). */
    public TrainConfig withClassesPerBatch(int k, int untilEpoch) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                k, untilEpoch, precision);
    }

    /** GEMM and convolution in {@code p}: the backend must be opened with the same precision (Backends.create). */
    public TrainConfig withPrecision(Precision p) {
        return new TrainConfig(model, epochs, batchSize, lr, lrDecayMilestones, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout, cutoutHoles,
                classesPerBatch, classesPerBatchUntilEpoch, p);
    }

    /** The training mode (the model's: it decides the heads the blocks have too). */
    public TrainingMode mode() { return model.mode(); }

    /** The learning rate of each epoch. */
    LrSchedule schedule() { return new LrSchedule(lr, lrDecayEpochs(), lrDecayFactor); }

    /** The lr decay milestones of this run in epochs (0-based: the decayed lr holds from that epoch on). */
    public int[] lrDecayEpochs() { return lrDecayMilestones.epochsOf(epochs); }
}
