package locallearn.backend.cpu;

import locallearn.backend.Philox;

/** Family "elementwise": the ops that need more than one line in CpuBackend. */
final class Elementwise {
    private Elementwise() {}

    /**
     * y = x * keep / (1 - p) for x, y of n elements; unit u = i / inner is dropped when
     * Philox.uniform(seed, stream, u) < p. The scale is the float 1 / (1 - p), multiplied (a GPU
     * kernel that does the same matches bit for bit); p = 1 drops everything (y = 0).
     */
    static void dropout(float[] x, float[] y, int n, float p, long seed, long stream, int inner) {
        float scale = p < 1 ? 1f / (1f - p) : 0f;
        // ranges of units start at multiples of 4: one Philox block serves four units
        Parallel.range(n / inner, Math.max(4, CpuBackend.GRAIN / inner), 4, (from, to) -> dropout(x, y, p, seed, stream, inner, scale, from, to));
    }

    private static void dropout(float[] x, float[] y, float p, long seed, long stream, int inner, float scale, int from, int to) {
        int[] block = null;
        for (int u = from; u < to; u++) {
            if (block == null || (u & 3) == 0) block = Philox.block(seed, stream, u >>> 2);
            float r = (block[u & 3] >>> 8) * 0x1.0p-24f;
            int o = u * inner;
            if (r < p) {
                java.util.Arrays.fill(y, o, o + inner, 0f);
            } else {
                for (int i = 0; i < inner; i++) y[o + i] = x[o + i] * scale;
            }
        }
    }
}
