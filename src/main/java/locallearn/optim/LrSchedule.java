package locallearn.optim;

/**
 * Step decay: the learning rate is multiplied by {@code factor} once for each milestone epoch at
 * or before the current one (the reference's {@code lr * fact ** bisect_right(milestones, epoch)}
 * with 0-based epochs); {@link LrMilestones#epochsOf} gives the milestones of a run.
 */
public record LrSchedule(float lr, int[] milestoneEpochs, float factor) {
    public LrSchedule {
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        milestoneEpochs = milestoneEpochs.clone();
    }

    /** Learning rate of epoch {@code epoch} (0-based). */
    public float at(int epoch) {
        float r = lr;
        for (int m : milestoneEpochs)
            if (epoch >= m) r *= factor;
        return r;
    }

    @Override public int[] milestoneEpochs() { return milestoneEpochs.clone(); }
}
