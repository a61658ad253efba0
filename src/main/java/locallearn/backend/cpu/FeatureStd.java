package locallearn.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Family "featstd": the unbiased standard deviation of each feature map (torch.std over H*W),
 * which the paper's conv sim loss takes before the similarity matrix. Threads take whole maps.
 * Maps of 16 elements and more take their double sums in {@link Lanes}' sixteen partials (the
 * plain loops wait on each add) and the backward's scaling as float vectors; the plain loops stay
 * as the oracle and for smaller maps.
 */
final class FeatureStd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private FeatureStd() {}

    private static boolean fast(int inner) { return Lanes.FAST && inner >= Lanes.WIDTH; }

    // x (maps, inner), y (maps)
    static void forward(float[] x, float[] y, int maps, int inner) {
        if (!fast(inner)) {
            forwardPlain(x, y, maps, inner);
            return;
        }
        Parallel.range(maps, Math.max(1, CpuBackend.GRAIN / inner), 1, (m0, m1) -> {
            for (int m = m0; m < m1; m++) {
                int o = m * inner;
                double mean = Lanes.sum(x, o, inner) / inner;
                y[m] = (float) Math.sqrt(Lanes.squaredDeviations(x, o, inner, mean) / (inner - 1));
            }
        });
    }

    /** The straightforward version, kept as the oracle: a sum, then the squared deviations from the mean. */
    static void forwardPlain(float[] x, float[] y, int maps, int inner) {
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
        boolean fast = fast(inner);
        Parallel.range(maps, Math.max(1, CpuBackend.GRAIN / inner), 1, (m0, m1) -> {
            for (int m = m0; m < m1; m++) {
                int o = m * inner;
                if (y[m] == 0f) {
                    java.util.Arrays.fill(dx, o, o + inner, 0f);
                    continue;
                }
                double s = 0;
                if (fast) s = Lanes.sum(x, o, inner);
                else for (int i = 0; i < inner; i++) s += x[o + i];
                float mean = (float) (s / inner), k = dy[m] / ((inner - 1) * y[m]);
                int i = 0;
                if (fast) {
                    for (int end = S.loopBound(inner); i < end; i += S.length())
                        FloatVector.fromArray(S, x, o + i).sub(mean).mul(k).intoArray(dx, o + i);
                }
                for (; i < inner; i++) dx[o + i] = k * (x[o + i] - mean);
            }
        });
    }
}
