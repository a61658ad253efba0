package locallearn.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Family "batchnorm": batch normalisation over x (B, C, inner) with statistics per channel c
 * taken over the B * inner values of that channel (Ioffe and Szegedy 2015, as torch.nn.BatchNorm).
 *
 * <p>Threads take whole channels (Parallel.range over C), so every statistic is summed by one
 * thread in one order. The plain loops' cost was their double sums waiting on each add and three
 * passes over each channel. The fast paths: for conv maps (inner >= 16) each plane's statistics
 * in sixteen partials ({@link Lanes}), merged over the planes in order (forwardTrainPlanes), and
 * float vectors for the normalising passes, which do the plain loop's arithmetic element by
 * element; for fc tensors (inner = 1, a channel is a column) each row is added to per-channel
 * sums four channels a vector, which keeps the plain order and its exact results. Maps of 2..15
 * elements run the plain loops, which stay as the oracle ({@code -Dlocallearn.plainOps=true}).
 */
final class BatchNorm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private BatchNorm() {}

    private static int grain(int nb, int inner) { return Math.max(1, CpuBackend.GRAIN / (nb * inner)); }

    // x, y (B, C, inner); gamma, beta, runningMean, runningVar, saveMean, saveInvStd (C)
    static void forwardTrain(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum, float eps,
                             float[] y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        if (Lanes.FAST && inner >= Lanes.WIDTH) forwardTrainPlanes(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, nb, nc, inner);
        else if (Lanes.FAST && inner == 1) forwardTrainRows(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, nb, nc);
        else forwardTrainPlain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, nb, nc, inner);
    }

    /** The straightforward version, kept as the oracle: per channel a sum, a sum of squared deviations, the normalisation. */
    static void forwardTrainPlain(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum, float eps,
                                  float[] y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
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
                statistics(c, mean, ss, n, momentum, eps, runningMean, runningVar, saveMean, saveInvStd);
                float m = saveMean[c], a = gamma[c] * saveInvStd[c], sh = beta[c];
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) y[o + i] = (x[o + i] - m) * a + sh;
            }
        });
    }

    /** The channel's saved mean and 1/sqrt(var + eps) from its mean and sum of squared deviations, and the running statistics. */
    private static void statistics(int c, double mean, double ss, long n, float momentum, float eps, float[] runningMean, float[] runningVar,
                                   float[] saveMean, float[] saveInvStd) {
        double var = ss / n; // biased: what normalises
        float m = (float) mean;
        saveMean[c] = m;
        saveInvStd[c] = (float) (1.0 / Math.sqrt(var + eps));
        // the running variance is unbiased, as PyTorch's
        runningMean[c] = (1 - momentum) * runningMean[c] + momentum * m;
        runningVar[c] = (1 - momentum) * runningVar[c] + momentum * (float) (ss / (n - 1));
    }

    /**
     * Conv maps: each plane's mean and sum of squared deviations by two passes while it sits in L1
     * (sixteen partials each), merged over the planes in order by Chan, Golub and LeVeque's update
     * (mean += d k / n, M2 += M2_b + d^2 n_a k / n for a plane of k values with mean m_b,
     * d = m_b - mean): one read of the channel from memory, as sound as the two-pass variance.
     * Images are the outer loop: a thread's channels are one contiguous run of each image, which
     * the prefetcher follows, where a channel's own planes lie a page or more apart.
     */
    private static void forwardTrainPlanes(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum,
                                           float eps, float[] y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            int w = c1 - c0;
            double[] mean = new double[w], ss = new double[w];
            for (int b = 0; b < nb; b++) {
                double na = (double) b * inner, total = na + inner;
                for (int j = 0; j < w; j++) {
                    int o = (b * nc + c0 + j) * inner;
                    double mb = Lanes.sum(x, o, inner) / inner, m2 = Lanes.squaredDeviations(x, o, inner, mb), d = mb - mean[j];
                    mean[j] += d * inner / total;
                    ss[j] += m2 + d * d * na * inner / total;
                }
            }
            float[] m = new float[w], a = new float[w];
            for (int j = 0; j < w; j++) {
                int c = c0 + j;
                statistics(c, mean[j], ss[j], n, momentum, eps, runningMean, runningVar, saveMean, saveInvStd);
                m[j] = saveMean[c];
                a[j] = gamma[c] * saveInvStd[c];
            }
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < w; j++) normalise(x, y, (b * nc + c0 + j) * inner, inner, m[j], a[j], beta[c0 + j]);
        });
    }

    /** fc tensors (B, C): rows added to per-channel sums, so each channel keeps the plain loop's order. */
    private static void forwardTrainRows(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum,
                                         float eps, float[] y, float[] saveMean, float[] saveInvStd, int nb, int nc) {
        Parallel.range(nc, grain(nb, 1), 1, (c0, c1) -> {
            int w = c1 - c0;
            double[] s = new double[w], ss = new double[w];
            for (int b = 0; b < nb; b++) Lanes.addRow(x, b * nc + c0, s, w);
            for (int j = 0; j < w; j++) s[j] /= nb;
            for (int b = 0; b < nb; b++) Lanes.addSquaredDeviationsRow(x, b * nc + c0, s, ss, w);
            float[] m = new float[w], a = new float[w], sh = new float[w];
            for (int j = 0; j < w; j++) {
                int c = c0 + j;
                statistics(c, s[j], ss[j], nb, momentum, eps, runningMean, runningVar, saveMean, saveInvStd);
                m[j] = saveMean[c];
                a[j] = gamma[c] * saveInvStd[c];
                sh[j] = beta[c];
            }
            for (int b = 0; b < nb; b++) normaliseRow(x, y, b * nc + c0, w, m, a, sh);
        });
    }

    static void forwardEval(float[] x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float eps, float[] y,
                            int nb, int nc, int inner) {
        if (Lanes.FAST && inner == 1) {
            // one affine map per column: the rows as vectors
            float[] m = new float[nc], a = new float[nc], sh = new float[nc];
            for (int c = 0; c < nc; c++) {
                m[c] = runningMean[c];
                a[c] = gamma[c] * evalInvStd(runningVar[c], eps);
                sh[c] = beta[c];
            }
            Parallel.range(nb, Math.max(1, CpuBackend.GRAIN / nc), 1, (b0, b1) -> {
                for (int b = b0; b < b1; b++) normaliseRow(x, y, b * nc, nc, m, a, sh);
            });
            return;
        }
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                float m = runningMean[c], a = gamma[c] * evalInvStd(runningVar[c], eps), sh = beta[c];
                for (int b = 0; b < nb; b++) {
                    int o = (b * nc + c) * inner;
                    if (Lanes.FAST) {
                        normalise(x, y, o, inner, m, a, sh);
                    } else {
                        for (int i = 0; i < inner; i++) y[o + i] = (x[o + i] - m) * a + sh;
                    }
                }
            }
        });
    }

    private static float evalInvStd(float runningVar, float eps) { return (float) (1.0 / Math.sqrt((double) runningVar + eps)); }

    /** y = (x - m) * a + sh over [o, o + n), float arithmetic as the plain loop (no fused multiply-add). */
    private static void normalise(float[] x, float[] y, int o, int n, float m, float a, float sh) {
        int i = 0;
        for (int end = S.loopBound(n); i < end; i += S.length())
            FloatVector.fromArray(S, x, o + i).sub(m).mul(a).add(sh).intoArray(y, o + i);
        for (; i < n; i++) y[o + i] = (x[o + i] - m) * a + sh;
    }

    /** y[o + j] = (x[o + j] - m[j]) * a[j] + sh[j] for j < n: one row of a (B, C) tensor. */
    private static void normaliseRow(float[] x, float[] y, int o, int n, float[] m, float[] a, float[] sh) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length())
            FloatVector.fromArray(S, x, o + j).sub(FloatVector.fromArray(S, m, j)).mul(FloatVector.fromArray(S, a, j))
                    .add(FloatVector.fromArray(S, sh, j)).intoArray(y, o + j);
        for (; j < n; j++) y[o + j] = (x[o + j] - m[j]) * a[j] + sh[j];
    }

    /**
     * With xhat = (x - mean) invStd and N = B * inner: dbeta = sum dy, dgamma = sum dy xhat,
     * dx = gamma invStd / N (N dy - dbeta - xhat dgamma), the batch statistics differentiated too.
     */
    static void backward(float[] x, float[] dy, float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx,
                         float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        if (Lanes.FAST && inner >= Lanes.WIDTH) backwardPlanes(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate, nb, nc, inner);
        else if (Lanes.FAST && inner == 1) backwardRows(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate, nb, nc);
        else backwardPlain(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate, nb, nc, inner);
    }

    /** The straightforward version, kept as the oracle. */
    static void backwardPlain(float[] x, float[] dy, float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx,
                              float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
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

    /**
     * out[c] (+)= sum over the channel's B * inner values of x, times w when w is not null: batch
     * norm backward's sums (dbeta = sum dy, dgamma = sum dy xhat) in its three orders, so a sum
     * taken here is the same bits as backward's: sixteen partials per plane added over the planes
     * in order for conv maps, rows added to per-channel sums for fc tensors, the plain (b, i) order
     * otherwise. Rounded to float, then added to out when accumulating, as backward does.
     */
    static void channelSum(float[] x, float[] w, float[] out, boolean accumulate, int nb, int nc, int inner) {
        if (Lanes.FAST && inner >= Lanes.WIDTH) channelSumPlanes(x, w, out, accumulate, nb, nc, inner);
        else if (Lanes.FAST && inner == 1) channelSumRows(x, w, out, accumulate, nb, nc);
        else channelSumPlain(x, w, out, accumulate, nb, nc, inner);
    }

    /** The straightforward version, kept as the oracle: backwardPlain's sums. */
    static void channelSumPlain(float[] x, float[] w, float[] out, boolean accumulate, int nb, int nc, int inner) {
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) s += w == null ? x[o + i] : x[o + i] * (double) w[o + i];
                store(out, c, s, accumulate);
            }
        });
    }

    private static void channelSumPlanes(float[] x, float[] w, float[] out, boolean accumulate, int nb, int nc, int inner) {
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            double[] s = new double[c1 - c0];
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < s.length; j++) {
                    int o = (b * nc + c0 + j) * inner;
                    s[j] += w == null ? Lanes.sum(x, o, inner) : Lanes.dot(x, w, o, inner);
                }
            for (int j = 0; j < s.length; j++) store(out, c0 + j, s[j], accumulate);
        });
    }

    private static void channelSumRows(float[] x, float[] w, float[] out, boolean accumulate, int nb, int nc) {
        Parallel.range(nc, grain(nb, 1), 1, (c0, c1) -> {
            double[] s = new double[c1 - c0];
            for (int b = 0; b < nb; b++) {
                if (w == null) Lanes.addRow(x, b * nc + c0, s, s.length);
                else Lanes.addProductRow(x, w, b * nc + c0, s, s.length);
            }
            for (int j = 0; j < s.length; j++) store(out, c0 + j, s[j], accumulate);
        });
    }

    private static void store(float[] out, int c, double s, boolean accumulate) {
        float f = (float) s;
        out[c] = accumulate ? out[c] + f : f;
    }

    /** Conv maps: each plane's two sums in sixteen partials, added over the planes in order; images the outer loop, as forward. */
    private static void backwardPlanes(float[] x, float[] dy, float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx,
                                       float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            int w = c1 - c0;
            double[] sums = new double[2 * w];
            double[] one = new double[2];
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < w; j++) {
                    int c = c0 + j;
                    one[0] = sums[2 * j];
                    one[1] = sums[2 * j + 1];
                    Lanes.gradientSums(dy, x, (b * nc + c) * inner, inner, saveMean[c], saveInvStd[c], one);
                    sums[2 * j] = one[0];
                    sums[2 * j + 1] = one[1];
                }
            float[] k = new float[w], fdy = new float[w], fdyx = new float[w];
            for (int j = 0; j < w; j++) {
                int c = c0 + j;
                k[j] = gamma[c] * saveInvStd[c] / n;
                fdy[j] = (float) sums[2 * j];
                fdyx[j] = (float) sums[2 * j + 1];
                dgamma[c] = accumulate ? dgamma[c] + fdyx[j] : fdyx[j];
                dbeta[c] = accumulate ? dbeta[c] + fdy[j] : fdy[j];
            }
            for (int b = 0; b < nb; b++)
                for (int j = 0; j < w; j++) {
                    int c = c0 + j;
                    inputGradient(x, dy, dx, (b * nc + c) * inner, inner, saveMean[c], saveInvStd[c], k[j], n, fdy[j], fdyx[j]);
                }
        });
    }

    /** dx = k (N dy - fdy - xhat fdyx) over [o, o + len), the plain loop's float arithmetic; x is read before dx is written (dx may be x). */
    private static void inputGradient(float[] x, float[] dy, float[] dx, int o, int len, float m, float is, float k, long n, float fdy, float fdyx) {
        float nf = n;
        int i = 0;
        for (int end = S.loopBound(len); i < end; i += S.length()) {
            FloatVector xhat = FloatVector.fromArray(S, x, o + i).sub(m).mul(is);
            FloatVector.fromArray(S, dy, o + i).mul(nf).sub(fdy).sub(xhat.mul(fdyx)).mul(k).intoArray(dx, o + i);
        }
        for (; i < len; i++) {
            float xhat = (x[o + i] - m) * is;
            dx[o + i] = k * (n * dy[o + i] - fdy - xhat * fdyx);
        }
    }

    private static void backwardRows(float[] x, float[] dy, float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx,
                                     float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc) {
        Parallel.range(nc, grain(nb, 1), 1, (c0, c1) -> {
            int w = c1 - c0;
            float[] m = java.util.Arrays.copyOfRange(saveMean, c0, c1), is = java.util.Arrays.copyOfRange(saveInvStd, c0, c1);
            double[] sdy = new double[w], sdyx = new double[w];
            for (int b = 0; b < nb; b++) Lanes.addGradientRow(dy, x, b * nc + c0, m, is, sdy, sdyx, w);
            float[] k = new float[w], fdy = new float[w], fdyx = new float[w];
            for (int j = 0; j < w; j++) {
                int c = c0 + j;
                k[j] = gamma[c] * is[j] / nb;
                fdy[j] = (float) sdy[j];
                fdyx[j] = (float) sdyx[j];
                dgamma[c] = accumulate ? dgamma[c] + fdyx[j] : fdyx[j];
                dbeta[c] = accumulate ? dbeta[c] + fdy[j] : fdy[j];
            }
            float nf = nb;
            for (int b = 0; b < nb; b++) {
                int o = b * nc + c0, j = 0;
                for (int end = S.loopBound(w); j < end; j += S.length()) {
                    FloatVector xhat = FloatVector.fromArray(S, x, o + j).sub(FloatVector.fromArray(S, m, j)).mul(FloatVector.fromArray(S, is, j));
                    FloatVector.fromArray(S, dy, o + j).mul(nf).sub(FloatVector.fromArray(S, fdy, j)).sub(xhat.mul(FloatVector.fromArray(S, fdyx, j)))
                            .mul(FloatVector.fromArray(S, k, j)).intoArray(dx, o + j);
                }
                for (; j < w; j++) {
                    float xhat = (x[o + j] - m[j]) * is[j];
                    dx[o + j] = k[j] * (nb * dy[o + j] - fdy[j] - xhat * fdyx[j]);
                }
            }
        });
    }
}
