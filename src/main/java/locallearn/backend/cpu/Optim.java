package locallearn.backend.cpu;

/** Family "optim": fused parameter updates, the arithmetic of torch.optim.Adam and SGD in float, on elements [from, to). */
final class Optim {
    private Optim() {}

    static void adam(float[] p, float[] grad, float[] m, float[] v, float[] vmax, float lr, float beta1, float beta2, float eps,
                     float weightDecay, int step, int from, int to) {
        // as torch: step_size = lr / (1 - b1^t), denom = sqrt(v) / sqrt(1 - b2^t) + eps
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float stepSize = (float) (lr / bc1), bc2Sqrt = (float) Math.sqrt(bc2);
        for (int i = from; i < to; i++) {
            float g = grad[i] + weightDecay * p[i];
            float mi = beta1 * m[i] + (1 - beta1) * g;
            float vi = beta2 * v[i] + (1 - beta2) * g * g;
            m[i] = mi;
            v[i] = vi;
            if (vmax != null) {
                vi = Math.max(vmax[i], vi);
                vmax[i] = vi;
            }
            p[i] -= stepSize * mi / ((float) Math.sqrt(vi) / bc2Sqrt + eps);
        }
    }

    static void sgd(float[] p, float[] grad, float[] buf, float lr, float momentum, float weightDecay, boolean firstStep, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = grad[i] + weightDecay * p[i];
            if (buf != null) {
                g = firstStep ? g : momentum * buf[i] + g;
                buf[i] = g;
            }
            p[i] -= lr * g;
        }
    }
}
