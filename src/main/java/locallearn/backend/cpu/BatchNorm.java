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
 *
 * <p>The activations (x, y, dy, dx, channelSum's x and weight) are {@link Elements}: every loop
 * loads the run it visits, a plane or a run of planes of one image, or a row's channels, and
 * stores what it wrote. A float32 run is the tensor's own array; a bf16 one a tile of at most
 * about {@link Bf16#CHUNK} elements (one plane when a plane is longer), so bf16 arguments are
 * widened and rounded in L1 as each pass reads and writes them, with the float arithmetic and
 * summation order unchanged. The statistics and parameters are float32 arrays.
 */
final class BatchNorm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private BatchNorm() {}

    private static int grain(int nb, int inner) { return Math.max(1, CpuBackend.GRAIN / (nb * inner)); }

    // x, y (B, C, inner); gamma, beta, runningMean, runningVar, saveMean, saveInvStd (C)
    static void forwardTrain(Elements x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum, float eps,
                             Elements y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        if (Lanes.FAST && inner >= Lanes.WIDTH) forwardTrainPlanes(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, nb, nc, inner);
        else if (Lanes.FAST && inner == 1) forwardTrainRows(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, nb, nc);
        else forwardTrainPlain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd, nb, nc, inner);
    }

    /** The straightforward version, kept as the oracle: per channel a sum, a sum of squared deviations, the normalisation. */
    static void forwardTrainPlain(Elements x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum, float eps,
                                  Elements y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            Elements.Tile xt = x.tile(inner), yt = y.tile(inner);
            float[] xs = xt.a, ys = yt.a;
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = xt.load((b * nc + c) * inner, inner); i < inner; i++) s += xs[o + i];
                double mean = s / n;
                double ss = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = xt.load((b * nc + c) * inner, inner); i < inner; i++) {
                        double d = xs[o + i] - mean;
                        ss += d * d;
                    }
                statistics(c, mean, ss, n, momentum, eps, runningMean, runningVar, saveMean, saveInvStd);
                float m = saveMean[c], a = gamma[c] * saveInvStd[c], sh = beta[c];
                for (int b = 0; b < nb; b++) {
                    int e = (b * nc + c) * inner, o = xt.load(e, inner);
                    yt.open(e, inner);
                    for (int i = 0; i < inner; i++) ys[o + i] = (xs[o + i] - m) * a + sh;
                    yt.store();
                }
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
    private static void forwardTrainPlanes(Elements x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum,
                                           float eps, Elements y, float[] saveMean, float[] saveInvStd, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            int w = c1 - c0, run = x.runUnits(w, inner);
            Elements.Tile xt = x.tile(run * inner), yt = y.tile(run * inner);
            double[] mean = new double[w], ss = new double[w];
            for (int b = 0; b < nb; b++) {
                double na = (double) b * inner, total = na + inner;
                for (int j0 = 0; j0 < w; j0 += run) {
                    int planes = Math.min(run, w - j0), o = xt.load((b * nc + c0 + j0) * inner, planes * inner);
                    for (int j = j0; j < j0 + planes; j++, o += inner) {
                        double mb = Lanes.sum(xt.a, o, inner) / inner, m2 = Lanes.squaredDeviations(xt.a, o, inner, mb), d = mb - mean[j];
                        mean[j] += d * inner / total;
                        ss[j] += m2 + d * d * na * inner / total;
                    }
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
                for (int j0 = 0; j0 < w; j0 += run) {
                    int planes = Math.min(run, w - j0), e = (b * nc + c0 + j0) * inner, o = xt.load(e, planes * inner);
                    yt.open(e, planes * inner);
                    for (int j = j0; j < j0 + planes; j++, o += inner) normalise(xt.a, yt.a, o, inner, m[j], a[j], beta[c0 + j]);
                    yt.store();
                }
        });
    }

    /** fc tensors (B, C): rows added to per-channel sums, so each channel keeps the plain loop's order. */
    private static void forwardTrainRows(Elements x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float momentum,
                                         float eps, Elements y, float[] saveMean, float[] saveInvStd, int nb, int nc) {
        Parallel.range(nc, grain(nb, 1), 1, (c0, c1) -> {
            int w = c1 - c0;
            Elements.Tile xt = x.tile(w), yt = y.tile(w);
            double[] s = new double[w], ss = new double[w];
            for (int b = 0; b < nb; b++) Lanes.addRow(xt.a, xt.load(b * nc + c0, w), s, w);
            for (int j = 0; j < w; j++) s[j] /= nb;
            for (int b = 0; b < nb; b++) Lanes.addSquaredDeviationsRow(xt.a, xt.load(b * nc + c0, w), s, ss, w);
            float[] m = new float[w], a = new float[w], sh = new float[w];
            for (int j = 0; j < w; j++) {
                int c = c0 + j;
                statistics(c, s[j], ss[j], nb, momentum, eps, runningMean, runningVar, saveMean, saveInvStd);
                m[j] = saveMean[c];
                a[j] = gamma[c] * saveInvStd[c];
                sh[j] = beta[c];
            }
            for (int b = 0; b < nb; b++) {
                int o = xt.load(b * nc + c0, w);
                yt.open(b * nc + c0, w);
                normaliseRow(xt.a, yt.a, o, w, m, a, sh);
                yt.store();
            }
        });
    }

    static void forwardEval(Elements x, float[] gamma, float[] beta, float[] runningMean, float[] runningVar, float eps, Elements y,
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
                Elements.Tile xt = x.tile(nc), yt = y.tile(nc);
                for (int b = b0; b < b1; b++) {
                    int o = xt.load(b * nc, nc);
                    yt.open(b * nc, nc);
                    normaliseRow(xt.a, yt.a, o, nc, m, a, sh);
                    yt.store();
                }
            });
            return;
        }
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            Elements.Tile xt = x.tile(inner), yt = y.tile(inner);
            float[] xs = xt.a, ys = yt.a;
            for (int c = c0; c < c1; c++) {
                float m = runningMean[c], a = gamma[c] * evalInvStd(runningVar[c], eps), sh = beta[c];
                for (int b = 0; b < nb; b++) {
                    int e = (b * nc + c) * inner, o = xt.load(e, inner);
                    yt.open(e, inner);
                    if (Lanes.FAST) {
                        normalise(xs, ys, o, inner, m, a, sh);
                    } else {
                        for (int i = 0; i < inner; i++) ys[o + i] = (xs[o + i] - m) * a + sh;
                    }
                    yt.store();
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
    static void backward(Elements x, Elements dy, float[] gamma, float[] saveMean, float[] saveInvStd, Elements dx,
                         float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        if (Lanes.FAST && inner >= Lanes.WIDTH) backwardPlanes(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate, nb, nc, inner);
        else if (Lanes.FAST && inner == 1) backwardRows(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate, nb, nc);
        else backwardPlain(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate, nb, nc, inner);
    }

    /** The straightforward version, kept as the oracle. */
    static void backwardPlain(Elements x, Elements dy, float[] gamma, float[] saveMean, float[] saveInvStd, Elements dx,
                              float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            Elements.Tile xt = x.tile(inner), dyt = dy.tile(inner), dxt = dx.tile(inner);
            float[] xs = xt.a, dys = dyt.a, dxs = dxt.a;
            for (int c = c0; c < c1; c++) {
                float m = saveMean[c], is = saveInvStd[c];
                double sdy = 0, sdyx = 0;
                for (int b = 0; b < nb; b++) {
                    int e = (b * nc + c) * inner, o = xt.load(e, inner);
                    dyt.load(e, inner);
                    for (int i = 0; i < inner; i++) {
                        sdy += dys[o + i];
                        sdyx += dys[o + i] * (double) ((xs[o + i] - m) * is);
                    }
                }
                float k = gamma[c] * is / n, fdy = (float) sdy, fdyx = (float) sdyx;
                for (int b = 0; b < nb; b++) {
                    int e = (b * nc + c) * inner, o = xt.load(e, inner);
                    dyt.load(e, inner);
                    dxt.open(e, inner);
                    for (int i = 0; i < inner; i++) {
                        float xhat = (xs[o + i] - m) * is;
                        dxs[o + i] = k * (n * dys[o + i] - fdy - xhat * fdyx);
                    }
                    dxt.store();
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
    static void channelSum(Elements x, Elements w, float[] out, boolean accumulate, int nb, int nc, int inner) {
        if (Lanes.FAST && inner >= Lanes.WIDTH) channelSumPlanes(x, w, out, accumulate, nb, nc, inner);
        else if (Lanes.FAST && inner == 1) channelSumRows(x, w, out, accumulate, nb, nc);
        else channelSumPlain(x, w, out, accumulate, nb, nc, inner);
    }

    /** The straightforward version, kept as the oracle: backwardPlain's sums. */
    static void channelSumPlain(Elements x, Elements w, float[] out, boolean accumulate, int nb, int nc, int inner) {
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            Elements.Tile xt = x.tile(inner), wt = w == null ? null : w.tile(inner);
            float[] xs = xt.a, ws = wt == null ? null : wt.a;
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++) {
                    int e = (b * nc + c) * inner, o = xt.load(e, inner);
                    if (wt != null) wt.load(e, inner);
                    for (int i = 0; i < inner; i++) s += ws == null ? xs[o + i] : xs[o + i] * (double) ws[o + i];
                }
                store(out, c, s, accumulate);
            }
        });
    }

    private static void channelSumPlanes(Elements x, Elements w, float[] out, boolean accumulate, int nb, int nc, int inner) {
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            int run = x.runUnits(c1 - c0, inner);
            Elements.Tile xt = x.tile(run * inner), wt = w == null ? null : w.tile(run * inner);
            double[] s = new double[c1 - c0];
            for (int b = 0; b < nb; b++)
                for (int j0 = 0; j0 < s.length; j0 += run) {
                    int planes = Math.min(run, s.length - j0), e = (b * nc + c0 + j0) * inner, o = xt.load(e, planes * inner);
                    if (wt != null) wt.load(e, planes * inner);
                    for (int j = j0; j < j0 + planes; j++, o += inner) s[j] += wt == null ? Lanes.sum(xt.a, o, inner) : Lanes.dot(xt.a, wt.a, o, inner);
                }
            for (int j = 0; j < s.length; j++) store(out, c0 + j, s[j], accumulate);
        });
    }

    private static void channelSumRows(Elements x, Elements w, float[] out, boolean accumulate, int nb, int nc) {
        Parallel.range(nc, grain(nb, 1), 1, (c0, c1) -> {
            double[] s = new double[c1 - c0];
            Elements.Tile xt = x.tile(s.length), wt = w == null ? null : w.tile(s.length);
            for (int b = 0; b < nb; b++) {
                int o = xt.load(b * nc + c0, s.length);
                if (wt == null) {
                    Lanes.addRow(xt.a, o, s, s.length);
                } else {
                    wt.load(b * nc + c0, s.length);
                    Lanes.addProductRow(xt.a, wt.a, o, s, s.length);
                }
            }
            for (int j = 0; j < s.length; j++) store(out, c0 + j, s[j], accumulate);
        });
    }

    private static void store(float[] out, int c, double s, boolean accumulate) {
        float f = (float) s;
        out[c] = accumulate ? out[c] + f : f;
    }

    /** Conv maps: each plane's two sums in sixteen partials, added over the planes in order; images the outer loop, as forward. */
    private static void backwardPlanes(Elements x, Elements dy, float[] gamma, float[] saveMean, float[] saveInvStd, Elements dx,
                                       float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc, int inner) {
        long n = (long) nb * inner;
        Parallel.range(nc, grain(nb, inner), 1, (c0, c1) -> {
            int w = c1 - c0, run = x.runUnits(w, inner);
            Elements.Tile xt = x.tile(run * inner), dyt = dy.tile(run * inner), dxt = dx.tile(run * inner);
            double[] sums = new double[2 * w];
            double[] one = new double[2];
            for (int b = 0; b < nb; b++)
                for (int j0 = 0; j0 < w; j0 += run) {
                    int planes = Math.min(run, w - j0), e = (b * nc + c0 + j0) * inner, o = xt.load(e, planes * inner);
                    dyt.load(e, planes * inner);
                    for (int j = j0; j < j0 + planes; j++, o += inner) {
                        int c = c0 + j;
                        one[0] = sums[2 * j];
                        one[1] = sums[2 * j + 1];
                        Lanes.gradientSums(dyt.a, xt.a, o, inner, saveMean[c], saveInvStd[c], one);
                        sums[2 * j] = one[0];
                        sums[2 * j + 1] = one[1];
                    }
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
                for (int j0 = 0; j0 < w; j0 += run) {
                    int planes = Math.min(run, w - j0), e = (b * nc + c0 + j0) * inner, o = xt.load(e, planes * inner);
                    dyt.load(e, planes * inner);
                    dxt.open(e, planes * inner);
                    for (int j = j0; j < j0 + planes; j++, o += inner) {
                        int c = c0 + j;
                        inputGradient(xt.a, dyt.a, dxt.a, o, inner, saveMean[c], saveInvStd[c], k[j], n, fdy[j], fdyx[j]);
                    }
                    dxt.store();
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

    private static void backwardRows(Elements x, Elements dy, float[] gamma, float[] saveMean, float[] saveInvStd, Elements dx,
                                     float[] dgamma, float[] dbeta, boolean accumulate, int nb, int nc) {
        Parallel.range(nc, grain(nb, 1), 1, (c0, c1) -> {
            int w = c1 - c0;
            Elements.Tile xt = x.tile(w), dyt = dy.tile(w), dxt = dx.tile(w);
            float[] xs = xt.a, dys = dyt.a, dxs = dxt.a;
            float[] m = java.util.Arrays.copyOfRange(saveMean, c0, c1), is = java.util.Arrays.copyOfRange(saveInvStd, c0, c1);
            double[] sdy = new double[w], sdyx = new double[w];
            for (int b = 0; b < nb; b++) {
                int o = xt.load(b * nc + c0, w);
                dyt.load(b * nc + c0, w);
                Lanes.addGradientRow(dys, xs, o, m, is, sdy, sdyx, w);
            }
            float[] k = new float[w], fdy = new float[w], fdyx = new float[w];
            for (int j = 0; j < w; j++) {
                int c = c0 + j;
                k[j] = gamma[c] * is[j] / nb;
                fdy[j] = (float) sdy[j];
                fdyx[j] = (float) sdyx[j];
                dgamma[c] = accumulate ? dgamma[c] + fdyx[j] : fdyx[j];
                dbeta[c] = accumulate ? dbeta[c] + fdy[j] : fdy[j];
            }
            for (int b = 0; b < nb; b++) {
                int o = xt.load(b * nc + c0, w);
                dyt.load(b * nc + c0, w);
                dxt.open(b * nc + c0, w);
                inputGradientRow(xs, dys, dxs, o, w, m, is, k, nb, fdy, fdyx);
                dxt.store();
            }
        });
    }

    /** inputGradient for one row of a (B, C) tensor, channel j's constants at [j]; x is read before dx is written (dx may be x). */
    private static void inputGradientRow(float[] x, float[] dy, float[] dx, int o, int n, float[] m, float[] is, float[] k, int nb,
                                         float[] fdy, float[] fdyx) {
        float nf = nb;
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += S.length()) {
            FloatVector xhat = FloatVector.fromArray(S, x, o + j).sub(FloatVector.fromArray(S, m, j)).mul(FloatVector.fromArray(S, is, j));
            FloatVector.fromArray(S, dy, o + j).mul(nf).sub(FloatVector.fromArray(S, fdy, j)).sub(xhat.mul(FloatVector.fromArray(S, fdyx, j)))
                    .mul(FloatVector.fromArray(S, k, j)).intoArray(dx, o + j);
        }
        for (; j < n; j++) {
            float xhat = (x[o + j] - m[j]) * is[j];
            dx[o + j] = k[j] * (nb * dy[o + j] - fdy[j] - xhat * fdyx[j]);
        }
    }
}
