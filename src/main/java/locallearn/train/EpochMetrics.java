package locallearn.train;

import java.util.List;

/**
 * What one epoch did. Errors are fractions in [0, 1]; per-layer lists follow the hidden blocks
 * in order (their names in {@code layers}); a layer's local error is NaN when it has no pred head.
 */
public record EpochMetrics(int epoch, float lr, double trainLoss, double trainError, double testLoss, double testError,
                           List<String> layers, double[] layerLoss, double[] layerError, double imagesPerSecond,
                           long peakBytes, double seconds) {}
