package locallearn.optim;

import java.util.Arrays;

/**
 * When the learning rate decays, as a user gives it: in epochs (the reference's
 * {@code --lr-decay-milestones 200 300 350 375}) or in percent of the run's epochs (ours,
 * {@code --lr-decay-percent 50,75,89,94}, which follows a run of any length). Either way the
 * values are strictly increasing; {@link #epochsOf} turns them into the epochs of one run.
 *
 * @param percent true: {@code values} are percentages in 1..99; false: epochs >= 1
 */
public record LrMilestones(boolean percent, int[] values) {
    public LrMilestones {
        values = values.clone();
        for (int i = 0; i < values.length; i++) {
            int v = values[i];
            if (percent && (v <= 0 || v >= 100)) throw new IllegalArgumentException("lr decay milestone must be a percentage in 1..99, got " + v);
            if (!percent && v < 1) throw new IllegalArgumentException("lr decay milestone must be an epoch >= 1, got " + v);
            if (i > 0 && v <= values[i - 1])
                throw new IllegalArgumentException("lr decay milestones must increase, got " + text(percent, values));
        }
    }

    /** Milestones at these epochs (0-based: the decayed rate holds from that epoch on, as the reference's bisect_right). */
    public static LrMilestones epochs(int... epochs) { return new LrMilestones(false, epochs); }

    /** Milestones at these percentages of the run's epochs. */
    public static LrMilestones percent(int... percents) { return new LrMilestones(true, percents); }

    /**
     * The milestones of a run of {@code runEpochs} epochs, in epochs. A percentage p becomes
     * floor(runEpochs * p / 100) (50,75,89,94 of 400 epochs: 200, 300, 356, 376, close to the
     * paper's 200, 300, 350, 375); those that round to epoch 0 are dropped (they would only shrink
     * the starting rate of a short run), and several may round to one epoch, each decaying once.
     * Epochs must lie before the last epoch: a decay at or after it would never happen.
     */
    public int[] epochsOf(int runEpochs) {
        if (percent) return Arrays.stream(values).map(p -> (int) ((long) runEpochs * p / 100)).filter(m -> m > 0).toArray();
        for (int m : values)
            if (m >= runEpochs)
                throw new IllegalArgumentException("lr decay milestone " + m + " is not before the run's last epoch (epochs " + runEpochs
                        + "); milestones are epochs, percentages go to --lr-decay-percent");
        return values.clone();
    }

    @Override public int[] values() { return values.clone(); }

    @Override public boolean equals(Object o) { return o instanceof LrMilestones m && m.percent == percent && Arrays.equals(m.values, values); }

    @Override public int hashCode() { return Arrays.hashCode(values) * 2 + (percent ? 1 : 0); }

    /** "epochs 200 300 350 375" or "50 75 89 94 percent of the epochs". */
    @Override public String toString() { return text(percent, values); }

    private static String text(boolean percent, int[] values) {
        String v = String.join(" ", Arrays.stream(values).mapToObj(String::valueOf).toList());
        return percent ? v + " percent of the epochs" : "epochs " + v;
    }
}
