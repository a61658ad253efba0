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
 */
public record TrainConfig(ModelConfig model, int epochs, int batchSize, float lr, int[] milestonePercents, float lrDecayFactor,
                          Optimizer.Kind optimizer, float momentum, float weightDecay, long seed, int cutout,
                          int classesPerBatch, int classesPerBatchUntilEpoch) {

    public TrainConfig {
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (batchSize < 2) throw new IllegalArgumentException("batch-size must be >= 2 (batch norm needs two examples), got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (!(lrDecayFactor > 0)) throw new IllegalArgumentException("lr-decay-fact must be > 0, got " + lrDecayFactor);
        if (momentum < 0 || weightDecay < 0) throw new IllegalArgumentException("momentum and weight-decay must be >= 0");
        if (cutout < 0) throw new IllegalArgumentException("cutout length must be >= 0, got " + cutout);
        if (classesPerBatch < 0 || classesPerBatchUntilEpoch < 0) throw new IllegalArgumentException("classes-per-batch values must be >= 0");
        milestonePercents = milestonePercents.clone();
        new locallearn.optim.LrSchedule(lr, milestonePercents, lrDecayFactor, epochs); // validates the milestones
    }

    public locallearn.optim.LrSchedule schedule() {
        return new locallearn.optim.LrSchedule(lr, milestonePercents, lrDecayFactor, epochs);
    }

    @Override public int[] milestonePercents() { return milestonePercents.clone(); }
}
