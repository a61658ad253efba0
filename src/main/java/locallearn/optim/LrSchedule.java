package locallearn.optim;

/**
 * Step decay: the learning rate is multiplied by {@code factor} at each milestone, given as a
 * percentage of the run's epochs (50,75,89,94 of 400 epochs = 200, 300, 356, 376, close to the
 * paper's 200, 300, 350, 375).
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
        for (int p : milestonePercents) if (epoch >= (long) epochs * p / 100) r *= factor;
        return r;
    }
}
