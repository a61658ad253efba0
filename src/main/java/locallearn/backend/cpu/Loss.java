package locallearn.backend.cpu;

/** Family "loss": softmax cross-entropy, binary cross-entropy with logits, mean squared error. */
final class Loss {
    private Loss() {}

    // logits, probs (B, K); labels (B) as float class indices; loss (1)
    static void crossEntropyForward(float[] x, float[] labels, float[] loss, float[] probs, int nb, int k) {
        double total = 0;
        for (int b = 0; b < nb; b++) {
            int label = CpuBackend.label("crossEntropyForward", labels[b], b, k), o = b * k;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) max = Math.max(max, x[o + j]);
            double s = 0;
            for (int j = 0; j < k; j++) s += Math.exp(x[o + j] - max);
            for (int j = 0; j < k; j++) probs[o + j] = (float) (Math.exp(x[o + j] - max) / s);
            // -log softmax = log sum exp(x - max) - (x_label - max), stable for any logits
            total += Math.log(s) - (x[o + label] - max);
        }
        loss[0] = (float) (total / nb);
    }

    static void crossEntropyBackward(float[] probs, float[] labels, float dloss, float[] dx, int nb, int k) {
        float a = dloss / nb;
        for (int b = 0; b < nb; b++) {
            int label = CpuBackend.label("crossEntropyBackward", labels[b], b, k), o = b * k;
            for (int j = 0; j < k; j++) dx[o + j] = a * (probs[o + j] - (j == label ? 1f : 0f));
        }
    }

    /** mean of max(x, 0) - x t + log(1 + exp(-|x|)), the stable form of BCE on sigmoid(x). */
    static float bceForward(float[] x, float[] t, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = x[i];
            s += Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v)));
        }
        return (float) (s / n);
    }

    static void bceBackward(float[] x, float[] t, float dloss, float[] dx, int n) {
        float a = dloss / n;
        for (int i = 0; i < n; i++) {
            float sig = (float) (1.0 / (1.0 + Math.exp(-x[i])));
            dx[i] = a * (sig - t[i]);
        }
    }

    static float mseForward(float[] a, float[] b, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double d = (double) a[i] - b[i];
            s += d * d;
        }
        return (float) (s / n);
    }

    static void mseBackward(float[] a, float[] b, float dloss, float[] da, int n) {
        float c = 2f * dloss / n;
        for (int i = 0; i < n; i++) da[i] = c * (a[i] - b[i]);
    }
}
