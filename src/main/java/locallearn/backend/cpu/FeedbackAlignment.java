package locallearn.backend.cpu;

/**
 * Family "fa": the backward of the backprop-free pred loss through a feedback-alignment layer,
 * the twin of kernels/fa.cu. logits z and targets t (B, K), x (B, D), the fixed feedback matrix
 * fb (K, D); e (B, K) = dloss (sigmoid(z) - t) / (B K) is the logits' gradient, and
 * dx = e fb, dw (+)= e^T x, db (+)= the column sums of e.
 *
 * <p>The fast path is the composition the op replaces, without its tensor: e in a scratch array
 * with {@link Loss#bceBackward}'s arithmetic, then the two products on {@link Gemm} and the bias
 * sum of {@link Elementwise#biasBackward}, with the arguments the layer's backward passed them.
 * So it gives the unfused path's bits (a fused loop would lose the packed GEMM). The plain loops
 * below stay as the oracle ({@code -Dlocallearn.plainOps=true}), with their sums in double.
 */
final class FeedbackAlignment {
    private FeedbackAlignment() {}

    static void faBceBackward(float[] z, float[] t, float dloss, float[] x, float[] fb, float[] dx, float[] dw, float[] db, boolean accumulate,
                              int nb, int k, int d) {
        if (Lanes.FAST) faBceBackwardFast(z, t, dloss, x, fb, dx, dw, db, accumulate, nb, k, d);
        else faBceBackwardPlain(z, t, dloss, x, fb, dx, dw, db, accumulate, nb, k, d);
    }

    static void faBceBackwardFast(float[] z, float[] t, float dloss, float[] x, float[] fb, float[] dx, float[] dw, float[] db, boolean accumulate,
                                  int nb, int k, int d) {
        float[] e = new float[nb * k]; // (B, K): 64 KB for a batch of 128 and the paper's 128 projections
        Loss.bceBackward(z, t, dloss, e, nb * k);
        if (dw != null) Gemm.gemm(true, false, k, d, nb, 1f, e, 0, x, 0, accumulate ? 1f : 0f, dw, 0);
        if (db != null) Elementwise.biasBackward(e, db, accumulate, nb, k, 1);
        if (dx != null) Gemm.gemm(false, false, nb, d, k, 1f, e, 0, fb, 0, 0f, dx, 0);
    }

    /** The oracle: e from its definition, then each output element as one double sum. */
    static void faBceBackwardPlain(float[] z, float[] t, float dloss, float[] x, float[] fb, float[] dx, float[] dw, float[] db, boolean accumulate,
                                   int nb, int k, int d) {
        float f = dloss / (nb * k);
        float[] e = new float[nb * k];
        for (int i = 0; i < nb * k; i++) e[i] = f * ((float) (1.0 / (1.0 + Math.exp(-z[i]))) - t[i]);
        if (dx != null)
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < d; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) e[b * k + p] * fb[p * d + j];
                    dx[b * d + j] = (float) s;
                }
        if (dw != null)
            for (int p = 0; p < k; p++)
                for (int j = 0; j < d; j++) {
                    double s = 0;
                    for (int b = 0; b < nb; b++) s += (double) e[b * k + p] * x[b * d + j];
                    dw[p * d + j] = accumulate ? (float) (dw[p * d + j] + s) : (float) s;
                }
        if (db != null)
            for (int p = 0; p < k; p++) {
                double s = 0;
                for (int b = 0; b < nb; b++) s += e[b * k + p];
                db[p] = accumulate ? (float) (db[p] + s) : (float) s;
            }
    }
}
