package locallearn.backend.cpu;

/**
 * Family "similarity": the similarity matrix of the paper's sim loss (Nøkland and Eidnes 2019,
 * section 2.2, as the reference's similarity_matrix): each row of x (B, D) is centred by its mean
 * and divided by (1e-8 + its L2 norm); S = clamp(xn xn^T, -1, 1). Threads take whole rows for
 * the per-row work and tiles of the Gram products (Gemm); the sums stay the plain sequential ones,
 * since the rows are short for the paper's models (the std of each map, or 1024 fc features).
 */
final class Similarity {
    static final float EPS = 1e-8f;

    private Similarity() {}

    // x, xc (B, D); s (B, B); norm (B)
    static void forward(float[] x, float[] s, float[] xc, float[] norm, int nb, int d) {
        float[] xn = new float[nb * d];
        Parallel.range(nb, rowGrain(d), 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int o = b * d;
                double sum = 0;
                for (int i = 0; i < d; i++) sum += x[o + i];
                float mean = (float) (sum / d);
                double sq = 0;
                for (int i = 0; i < d; i++) {
                    float c = x[o + i] - mean;
                    xc[o + i] = c;
                    sq += (double) c * c;
                }
                float nrm = (float) Math.sqrt(sq), div = EPS + nrm;
                norm[b] = nrm;
                for (int i = 0; i < d; i++) xn[o + i] = xc[o + i] / div;
            }
        });
        Gemm.gemm(false, true, nb, nb, d, 1f, xn, 0, xn, 0, 0f, s, 0);
        for (int i = 0; i < nb * nb; i++) s[i] = Math.min(1f, Math.max(-1f, s[i]));
    }

    /**
     * Back through the clamp (passes where -1 <= s <= 1, as torch.clamp), the Gram product
     * (dxn = (g + g^T) xn), the division by e + |xc| (dxc = dxn / (e + n) - xc (dxn . xc) / (n (e + n)^2),
     * the second term 0 when n = 0, as torch's norm backward) and the centring (dx = dxc - mean(dxc)).
     */
    static void backward(float[] xc, float[] norm, float[] s, float[] ds, float[] dx, int nb, int d) {
        float[] g = new float[nb * nb];
        for (int i = 0; i < nb; i++)
            for (int j = 0; j < nb; j++) {
                float a = pass(s[i * nb + j]) ? ds[i * nb + j] : 0f, b = pass(s[j * nb + i]) ? ds[j * nb + i] : 0f;
                g[i * nb + j] = a + b;
            }
        float[] xn = new float[nb * d];
        Parallel.range(nb, rowGrain(d), 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++)
                for (int i = 0; i < d; i++) xn[b * d + i] = xc[b * d + i] / (EPS + norm[b]);
        });
        float[] dxn = new float[nb * d];
        Gemm.gemm(false, false, nb, d, nb, 1f, g, 0, xn, 0, 0f, dxn, 0);
        Parallel.range(nb, rowGrain(d), 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int o = b * d;
                float n = norm[b], e = EPS + n;
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double) dxn[o + i] * xc[o + i];
                float k = n > 0 ? (float) (dot / ((double) e * e * n)) : 0f;
                double sum = 0;
                for (int i = 0; i < d; i++) {
                    float v = dxn[o + i] / e - xc[o + i] * k;
                    dx[o + i] = v;
                    sum += v;
                }
                float mean = (float) (sum / d);
                for (int i = 0; i < d; i++) dx[o + i] -= mean;
            }
        });
    }

    /** Rows per part: each row is normalised (or its gradient finished) by one thread, so the split cannot change a result. */
    private static int rowGrain(int d) { return Math.max(1, CpuBackend.GRAIN / Math.max(1, d)); }

    private static boolean pass(float s) { return s >= -1f && s <= 1f; }
}
