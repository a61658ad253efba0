package locallearn.backend.cpu;

/**
 * Family "featstd": the unbiased standard deviation of each feature map (torch.std over H*W),
 * which the paper's conv sim loss takes before the similarity matrix.
 */
final class FeatureStd {
    private FeatureStd() {}

    // x (maps, inner), y (maps)
    static void forward(float[] x, float[] y, int maps, int inner) {
        Parallel.range(maps, Math.max(1, CpuBackend.GRAIN / inner), 1, (m0, m1) -> {
            for (int m = m0; m < m1; m++) {
                int o = m * inner;
                double s = 0;
                for (int i = 0; i < inner; i++) s += x[o + i];
                double mean = s / inner, ss = 0;
                for (int i = 0; i < inner; i++) {
                    double d = x[o + i] - mean;
                    ss += d * d;
                }
                y[m] = (float) Math.sqrt(ss / (inner - 1));
            }
        });
    }

    /** dx = dy (x - mean) / ((inner - 1) y), 0 where y = 0 (a constant map has no direction to move). */
    static void backward(float[] x, float[] y, float[] dy, float[] dx, int maps, int inner) {
        Parallel.range(maps, Math.max(1, CpuBackend.GRAIN / inner), 1, (m0, m1) -> {
            for (int m = m0; m < m1; m++) {
                int o = m * inner;
                if (y[m] == 0f) {
                    java.util.Arrays.fill(dx, o, o + inner, 0f);
                    continue;
                }
                double s = 0;
                for (int i = 0; i < inner; i++) s += x[o + i];
                float mean = (float) (s / inner), k = dy[m] / ((inner - 1) * y[m]);
                for (int i = 0; i < inner; i++) dx[o + i] = k * (x[o + i] - mean);
            }
        });
    }
}
