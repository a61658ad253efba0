package locallearn.train;

import java.nio.file.Path;

/** Events of a run; the CLI's progress bar and metrics file are listeners, an embedding program may add its own. */
public interface TrainListener {
    /** After each training step: batch {@code batch} (from 1) of {@code batches} in {@code epoch} (from 1). */
    default void onStep(int epoch, int batch, int batches, long images, double seconds) {}

    default void onEpoch(EpochMetrics m) {}

    default void onCheckpoint(int epoch, Path file) {}

    /** A listener that hears only each epoch's metrics: {@code TrainListener.eachEpoch(m -> ...)}. */
    static TrainListener eachEpoch(java.util.function.Consumer<EpochMetrics> onEpoch) {
        return new TrainListener() {
            @Override public void onEpoch(EpochMetrics m) { onEpoch.accept(m); }
        };
    }
}
