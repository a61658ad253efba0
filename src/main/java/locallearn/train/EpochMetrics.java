package locallearn.train;

import java.util.List;

/**
 * What one epoch did. Errors are fractions in [0, 1]; per-layer lists follow the hidden blocks
 * in order (their names in {@code layers}); a layer's local error is NaN when it has no pred head.
 * {@code pipeline}: each pipeline stage's blocks, busy and idle time and memory, or null when the
 * blocks ran in sequence.
 */
public record EpochMetrics(int epoch, float lr, double trainLoss, double trainError, double testLoss, double testError,
                           List<String> layers, double[] layerLoss, double[] layerError, double imagesPerSecond,
                           long peakBytes, double seconds, PipelineStats pipeline) {

    /** An epoch whose blocks ran in sequence. */
    public EpochMetrics(int epoch, float lr, double trainLoss, double trainError, double testLoss, double testError, List<String> layers,
                        double[] layerLoss, double[] layerError, double imagesPerSecond, long peakBytes, double seconds) {
        this(epoch, lr, trainLoss, trainError, testLoss, testError, layers, layerLoss, layerError, imagesPerSecond, peakBytes, seconds, null);
    }

    /**
     * The pipeline stages of an epoch: stage s trained blocks [firstBlock[s], firstBlock[s + 1])
     * (the last one also the output layer) on devices.get(s) ("cpu", "cuda:1"), was busy
     * busySeconds[s] and waited idleSeconds[s] for its input or for room in the next stage's
     * queue, and held at most peakBytes[s] (its activations in flight to the next stage included).
     */
    public record PipelineStats(int[] firstBlock, List<String> devices, double[] busySeconds, double[] idleSeconds, long[] peakBytes) {
        public int stages() { return busySeconds.length; }

        /** Each stage's blocks as "0-2", or "3" for one block: how the epoch line, metrics.jsonl and bench name them. */
        public List<String> blockRanges() {
            List<String> r = new java.util.ArrayList<>();
            for (int s = 0; s < stages(); s++) {
                int a = firstBlock[s], b = firstBlock[s + 1] - 1;
                r.add(a == b ? String.valueOf(a) : a + "-" + b);
            }
            return r;
        }
    }
}
