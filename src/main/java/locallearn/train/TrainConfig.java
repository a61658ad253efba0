package locallearn.train;

import locallearn.models.ModelConfig;
import locallearn.optim.Optimizer;

/**
 * Everything a training run needs besides its data and device, validated once here (no global
 * arguments anywhere below).
 *
 * @param milestonePercents lr decay points as percentages of {@code epochs}
 * @param cutout            side of the cutout hole in pixels, 0 = no cutout
 * @param classesPerBatch   K of the classes-per-batch sampler, 0 = plain shuffling
 * @param greedy            greedy layer-wise training: the hidden blocks train one after the
 *                          other, {@code epochs} epochs each, earlier blocks frozen (local losses only)
 */
public record TrainConfig(ModelConfig model, int epochs, int batchSize, float lr, int[] milestonePercents, float lrDecayFactor,
                          Optimizer.Kind optimizer, float momentum, float weightDecay, long seed, int cutout,
                          int classesPerBatch, int classesPerBatchUntilEpoch, boolean greedy) {

    public TrainConfig {
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (batchSize < 2) throw new IllegalArgumentException("batch-size must be >= 2 (batch norm needs two examples), got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (!(lrDecayFactor > 0)) throw new IllegalArgumentException("lr-decay-fact must be > 0, got " + lrDecayFactor);
        if (momentum < 0 || weightDecay < 0) throw new IllegalArgumentException("momentum and weight-decay must be >= 0");
        if (cutout < 0) throw new IllegalArgumentException("cutout length must be >= 0, got " + cutout);
        if (classesPerBatch < 0 || classesPerBatchUntilEpoch < 0) throw new IllegalArgumentException("classes-per-batch values must be >= 0");
        if (greedy && model.loss().training() != locallearn.local.LossConfig.Training.LOCAL)
            throw new IllegalArgumentException("greedy layer-wise training needs local losses: not with --backprop or --no-detach");
        milestonePercents = milestonePercents.clone();
        new locallearn.optim.LrSchedule(lr, milestonePercents, lrDecayFactor, epochs); // validates the milestones
    }

    /** The paper's recipe: batch 128, Adam with lr 5e-4, times 0.25 at 50, 75, 89 and 94% of the epochs, seed 1. */
    public static TrainConfig of(ModelConfig model, int epochs) {
        return new TrainConfig(model, epochs, 128, 5e-4f, new int[] {50, 75, 89, 94}, 0.25f, Optimizer.Kind.ADAM, 0.9f, 0f, 1, 0, 0, 0, false);
    }

    /** The same run with another batch size (small machines, tests). */
    public TrainConfig withBatchSize(int b) {
        return new TrainConfig(model, epochs, b, lr, milestonePercents, lrDecayFactor, optimizer, momentum, weightDecay, seed, cutout,
                classesPerBatch, classesPerBatchUntilEpoch, greedy);
    }

    public locallearn.optim.LrSchedule schedule() {
        return new locallearn.optim.LrSchedule(lr, milestonePercents, lrDecayFactor, epochs);
    }

    @Override public int[] milestonePercents() { return milestonePercents.clone(); }
}
