package locallearn.optim;

/**
 * Step decay: the learning rate is multiplied by {@code factor} at each milestone, given as a
 * percentage of the run's epochs, rounded down (50,75,89,94 of 400 epochs = 200, 300, 356, 376,
 * close to the paper's 200, 300, 350, 375); milestones that round to epoch 0 are skipped.
 */
public record LrSchedule(float lr, int[] milestonePercents, float factor, int epochs) {
    public LrSchedule {
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        for (int p : milestonePercents)
            if (p <= 0 || p >= 100) throw new IllegalArgumentException("lr decay milestone must be a percentage in 1..99, got " + p);
        milestonePercents = milestonePercents.clone();
    }

    /** Learning rate of epoch {@code epoch} (0-based). */
    public float at(int epoch) {
        float r = lr;
        for (int p : milestonePercents) {
            long m = (long) epochs * p / 100;  // a milestone at epoch 0 (short runs) would only shrink the start lr
            if (m > 0 && epoch >= m) r *= factor;
        }
        return r;
    }
}
