package locallearn.backend.cpu;

/**
 * Family "batchnorm": batch normalisation over x (B, C, inner) with statistics per channel c
 * taken over the B * inner values of that channel (Ioffe and Szegedy 2015, as torch.nn.BatchNorm).
 */
final class BatchNorm {
    private BatchNorm() {}

    // x, y (B, C, inner); gamma, beta, runningMean, runningVar, saveMean, saveInvStd (C)
    static void forwardTrain(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum, float eps,
                             float[] y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, Math.max(1, CpuBackend.GRAIN / (nb * inner)), 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) s += x[o + i];
                double mean = s / n;
                double ss = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) {
                        double d = x[o + i] - mean;
                        ss += d * d;
                    }
                double var = ss / n; // biased: what normalises
                float invStd = (float) (1.0 / Math.sqrt(var + eps));
                float m = (float) mean, a = gamma[c] * invStd, sh = beta[c];
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) y[o + i] = (x[o + i] - m) * a + sh;
                saveMean[c] = m;
                saveInvStd[c] = invStd;
                // the running variance is unbiased, as PyTorch's
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * m;
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * (float) (ss / (n - 1));
            }
        });
    }

    static void forwardEval(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float eps, float[] y,
                            int nb, int nc, int inner) {
        Parallel.range(nc, Math.max(1, CpuBackend.GRAIN / (nb * inner)), 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                float invStd = (float) (1.0 / Math.sqrt((double) runningVar[c] + eps));
                float m = runningMean[c], a = gamma[c] * invStd, sh = beta[c];
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) y[o + i] = (x[o + i] - m) * a + sh;
            }
        });
    }

    /**
     * With xhat = (x - mean) invStd and N = B * inner: dbeta = sum dy, dgamma = sum dy xhat,
     * dx = gamma invStd / N (N dy - dbeta - xhat dgamma), the batch statistics differentiated too.
     */
    static void backward(float[] x, float[] dy, float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx,
                         float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, Math.max(1, CpuBackend.GRAIN / (nb * inner)), 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                float m = saveMean[c], is = saveInvStd[c];
                double sdy = 0, sdyx = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) {
                        sdy += dy[o + i];
                        sdyx += dy[o + i] * (double) ((x[o + i] - m) * is);
                    }
                float k = gamma[c] * is / n, fdy = (float) sdy, fdyx = (float) sdyx;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) {
                        float xhat = (x[o + i] - m) * is;
                        dx[o + i] = k * (n * dy[o + i] - fdy - xhat * fdyx);
                    }
                dgamma[c] = accumulate ? dgamma[c] + fdyx : fdyx;
                dbeta[c] = accumulate ? dbeta[c] + fdy : fdy;
            }
        });
    }
}
