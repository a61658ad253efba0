package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import locallearn.backend.Philox;
import locallearn.backend.PoolGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every op's forward (and the ops without a backward) against a plain reference written here
 * from the op's definition in Backend, in double. Sizes include 1, odd sizes and one size above
 * twice the parallel grain (600001 elements against CpuBackend.GRAIN = 262144), so the split over
 * threads is exercised too.
 *
 * <p>Tolerances: elementwise ops do the reference's single float operation, so they must agree
 * to 1 ulp-ish (atol 1e-6, rtol 1e-6); reductions in float over n terms of order 1 are within
 * about n eps_float of the double sum, so those use atol 1e-5 + rtol 1e-5 at the sizes here.
 */
class ForwardReferenceTest {
    static final int[] SIZES = {1, 3, 7, 129, 600001};

    final CpuBackend be = new CpuBackend();
    final Random rnd = new Random(3);
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    @Test void fillCopyAxpyScale() {
        for (int n : SIZES) {
            float[] x = rand(rnd, n), y = rand(rnd, n);
            Tensor xt = t(be, x, n), yt = t(be, y, n);
            be.axpy(-0.5f, xt, yt);
            float[] e = new float[n];
            for (int i = 0; i < n; i++) e[i] = y[i] + -0.5f * x[i];
            near("axpy n=" + n, e, be.read(yt), 0, 0);
            be.scale(yt, 3f);
            for (int i = 0; i < n; i++) e[i] *= 3f;
            near("scale n=" + n, e, be.read(yt), 0, 0);
            be.copy(xt, yt);
            assertArrayEquals(x, be.read(yt), "copy n=" + n);
            be.fill(yt, 2.5f);
            for (float v : be.read(yt)) assertEquals(2.5f, v, "fill n=" + n);
        }
    }

    @Test void sumAccumulatesInDouble() {
        for (int n : SIZES) {
            float[] x = rand(rnd, n);
            double s = 0;
            for (float v : x) s += v;
            Tensor out = t(be, new float[] {10f}, 1);
            be.sum(t(be, x, n), out, false);
            near("sum n=" + n, new double[] {s}, be.read(out), 1e-6, 1e-6);
            be.sum(t(be, x, n), out, true);
            near("sum accumulate n=" + n, new double[] {2 * s}, be.read(out), 1e-6, 1e-6);
        }
    }

    @Test void countCorrectTakesFirstMaximum() {
        // rows: argmax 2 (label 2, hit), tie between 0 and 1 -> first max 0 (label 1, miss), argmax 0 (label 0, hit)
        float[] logits = {0f, 1f, 3f, 5f, 5f, 1f, 9f, -1f, 2f};
        Tensor out = t(be, new float[] {1f}, 1);
        be.countCorrect(t(be, logits, 3, 3), t(be, new float[] {2, 1, 0}, 3), out, false);
        assertEquals(2f, be.read(out)[0]);
        be.countCorrect(t(be, logits, 3, 3), t(be, new float[] {2, 0, 0}, 3), out, true);
        assertEquals(5f, be.read(out)[0]);
    }

    @Test void leakyReluInPlaceAndNot() {
        for (int n : SIZES) {
            float[] x = rand(rnd, n), e = new float[n];
            for (int i = 0; i < n; i++) e[i] = x[i] > 0 ? x[i] : 0.1f * x[i];
            Tensor xt = t(be, x, n), y = be.allocate(n);
            be.leakyReluForward(xt, y, 0.1f);
            near("leakyRelu n=" + n, e, be.read(y), 0, 0);
            be.leakyReluForward(xt, xt, 0.1f);
            near("leakyRelu in place n=" + n, e, be.read(xt), 0, 0);
        }
    }

    @Test void biasAddAndChannelAffine() {
        int[][] shapes = {{1, 1, 1}, {3, 7, 5}, {2, 129, 1}, {4, 3, 600001 / 12}, {600, 1001, 1}};
        for (int[] s : shapes) {
            int n = s[0] * s[1] * s[2];
            float[] y = rand(rnd, n), bias = rand(rnd, s[1]), scale = rand(rnd, s[1]), e = new float[n], e2 = new float[n];
            for (int i = 0; i < n; i++) {
                int c = i / s[2] % s[1];
                e[i] = y[i] + bias[c];
                e2[i] = e[i] * scale[c] + bias[c];
            }
            Tensor yt = t(be, y, s);
            be.biasAdd(yt, t(be, bias, s[1]));
            near("biasAdd " + yt.shape(), e, be.read(yt), 0, 0);
            be.channelAffine(yt, t(be, scale, s[1]), t(be, bias, s[1]));
            near("channelAffine " + yt.shape(), e2, be.read(yt), 0, 0);
        }
    }

    @Test void batchNormTrainAndEval() {
        int[][] shapes = {{2, 1, 1}, {3, 7, 5}, {16, 5, 1000}, {16, 5, 7001}, {600, 1001, 1}};
        float momentum = 0.1f, eps = 1e-5f;
        for (int[] s : shapes) {
            int nb = s[0], nc = s[1], inner = s[2], n = nb * nc * inner, cnt = nb * inner;
            float[] x = rand(rnd, n), gamma = rand(rnd, nc), beta = rand(rnd, nc), rm = rand(rnd, nc), rv = new float[nc];
            for (int c = 0; c < nc; c++) rv[c] = 0.5f + rnd.nextFloat();
            double[] ey = new double[n], emean = new double[nc], einv = new double[nc], erm = new double[nc], erv = new double[nc];
            for (int c = 0; c < nc; c++) {
                double sum = 0, sq = 0;
                for (int b = 0; b < nb; b++) for (int i = 0; i < inner; i++) sum += x[(b * nc + c) * inner + i];
                double mean = sum / cnt;
                for (int b = 0; b < nb; b++) for (int i = 0; i < inner; i++) sq += Math.pow(x[(b * nc + c) * inner + i] - mean, 2);
                emean[c] = mean;
                einv[c] = 1 / Math.sqrt(sq / cnt + eps);
                erm[c] = 0.9 * rm[c] + 0.1 * mean;
                erv[c] = 0.9 * rv[c] + 0.1 * sq / (cnt - 1);
                for (int b = 0; b < nb; b++)
                    for (int i = 0; i < inner; i++) {
                        int k = (b * nc + c) * inner + i;
                        ey[k] = (x[k] - mean) * einv[c] * gamma[c] + beta[c];
                    }
            }
            Tensor rmt = t(be, rm, nc), rvt = t(be, rv, nc), y = be.allocate(s), sm = be.allocate(nc), si = be.allocate(nc);
            Tensor xt = t(be, x, s), gt = t(be, gamma, nc), bt = t(be, beta, nc);
            be.batchNormForwardTrain(xt, gt, bt, rmt, rvt, momentum, eps, y, sm, si);
            String what = "batchNormForwardTrain " + xt.shape();
            // normalised values are of order 1 / sqrt(var): rtol 1e-4 covers float rounding of (x - mean) * invStd
            near(what + " y", ey, be.read(y), 1e-5, 1e-4);
            near(what + " saveMean", emean, be.read(sm), 1e-6, 1e-5);
            near(what + " saveInvStd", einv, be.read(si), 1e-6, 1e-5);
            near(what + " runningMean", erm, be.read(rmt), 1e-6, 1e-5);
            near(what + " runningVar", erv, be.read(rvt), 1e-6, 1e-5);
            // eval with the updated running statistics
            double[] ee = new double[n];
            for (int k = 0; k < n; k++) {
                int c = k / inner % nc;
                ee[k] = (x[k] - erm[c]) / Math.sqrt(erv[c] + eps) * gamma[c] + beta[c];
            }
            be.batchNormForwardEval(xt, gt, bt, rmt, rvt, eps, y);
            near("batchNormForwardEval " + xt.shape(), ee, be.read(y), 1e-5, 1e-4);
            Tensor xy = t(be, x, s);
            be.batchNormForwardEval(xy, gt, bt, rmt, rvt, eps, xy);
            near("batchNormForwardEval in place " + xt.shape(), ee, be.read(xy), 1e-5, 1e-4);
            // in place (y = x), as the sliced local step runs it: the same normalised values
            be.batchNormForwardTrain(xt, gt, bt, t(be, rm, nc), t(be, rv, nc), momentum, eps, xt, sm, si);
            near(what + " in place", ey, be.read(xt), 1e-5, 1e-4);
        }
    }

    @Test void dropoutMaskIsPhiloxOfTheUnit() {
        for (int inner : new int[] {1, 7}) {
            int n = 7 * 100003;
            float p = 0.25f;
            float[] x = rand(rnd, n), e = new float[n];
            int dropped = 0;
            for (int i = 0; i < n; i++) {
                boolean drop = Philox.uniform(5, 9, i / inner) < p;
                e[i] = drop ? 0f : x[i] * (1f / (1f - p));
                if (drop) dropped++;
            }
            Tensor y = be.allocate(n);
            be.dropoutForward(t(be, x, n), y, p, 5, 9, inner);
            near("dropoutForward inner=" + inner, e, be.read(y), 0, 0);
            // a fair mask: 70021 draws at p = 0.25 have standard deviation 0.0016 of the fraction; 0.01 is 6 sigma
            assertEquals(p, dropped / (double) n, 0.01 * (inner == 1 ? 1 : 2.7), "dropped fraction inner=" + inner);
        }
        Tensor all = be.allocate(5);
        be.dropoutForward(t(be, new float[] {1, 2, 3, 4, 5}, 5), all, 1f, 1, 1, 1);
        assertArrayEquals(new float[5], be.read(all), "p = 1 drops everything");
    }

    static double[] poolRef(float[] x, PoolGeom g, boolean max) {
        int oh = g.outH(), ow = g.outW();
        double[] y = new double[g.batch() * g.channels() * oh * ow];
        for (int pl = 0; pl < g.batch() * g.channels(); pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double m = Double.NEGATIVE_INFINITY, s = 0;
                    for (int i = 0; i < g.kh(); i++)
                        for (int j = 0; j < g.kw(); j++) {
                            int iy = oy * g.sh() - g.ph() + i, ix = ox * g.sw() - g.pw() + j;
                            if (iy < 0 || iy >= g.inH() || ix < 0 || ix >= g.inW()) continue; // padding: -inf for max, 0 for the sum
                            double v = x[(pl * g.inH() + iy) * g.inW() + ix];
                            m = Math.max(m, v);
                            s += v;
                        }
                    y[(pl * oh + oy) * ow + ox] = max ? m : s / (g.kh() * g.kw());
                }
        return y;
    }

    @Test void maxAndAvgPoolForward() {
        PoolGeom[] gs = {PoolGeom.square(1, 1, 1, 1, 1, 1), PoolGeom.square(2, 3, 7, 7, 2, 2), PoolGeom.square(3, 5, 9, 7, 3, 2),
                new PoolGeom(2, 3, 8, 5, 3, 3, 1, 2, 1, 1), new PoolGeom(8, 16, 32, 32, 2, 2, 2, 2, 0, 0), new PoolGeom(2, 129, 5, 5, 5, 5, 1, 1, 2, 2)};
        for (PoolGeom g : gs) {
            float[] x = rand(rnd, g.batch() * g.channels() * g.inH() * g.inW());
            Tensor xt = t(be, x, g.batch(), g.channels(), g.inH(), g.inW()), y = be.allocate(g.batch(), g.channels(), g.outH(), g.outW());
            be.maxPoolForward(xt, y, g);
            near("maxPoolForward " + g, poolRef(x, g, true), be.read(y), 0, 0);
            be.avgPoolForward(xt, y, g);
            near("avgPoolForward " + g, poolRef(x, g, false), be.read(y), 1e-6, 1e-5);
        }
    }

    @Test void maxPoolBackwardRoutesToFirstMaximum() {
        // one 2x2 window holding 3, 7, 7, 1: the gradient goes to the first 7 (row-major order) only
        PoolGeom g = PoolGeom.square(1, 1, 2, 2, 2, 2);
        Tensor dx = be.allocate(1, 1, 2, 2);
        be.maxPoolBackward(t(be, new float[] {3, 7, 7, 1}, 1, 1, 2, 2), t(be, new float[] {5}, 1, 1, 1, 1), dx, g);
        assertArrayEquals(new float[] {0, 5, 0, 0}, be.read(dx));
    }

    @Test void crossEntropyForwardIsMeanNegativeLogSoftmax() {
        for (int[] bk : new int[][] {{1, 1}, {3, 7}, {129, 10}, {5, 1000}}) {
            int b = bk[0], k = bk[1];
            float[] x = rand(rnd, b * k), labels = new float[b];
            for (int i = 0; i < b; i++) { labels[i] = rnd.nextInt(k); x[i * k] += 30f; } // large logits must not overflow
            double loss = 0;
            double[] probs = new double[b * k];
            for (int i = 0; i < b; i++) {
                double s = 0;
                for (int j = 0; j < k; j++) s += Math.exp(x[i * k + j]);
                for (int j = 0; j < k; j++) probs[i * k + j] = Math.exp(x[i * k + j]) / s;
                loss -= Math.log(probs[i * k + (int) labels[i]]);
            }
            Tensor l = be.allocate(1), p = be.allocate(b, k);
            be.crossEntropyForward(t(be, x, b, k), t(be, labels, b), l, p);
            near("crossEntropyForward loss " + b + "x" + k, new double[] {loss / b}, be.read(l), 1e-5, 1e-5);
            near("crossEntropyForward probs " + b + "x" + k, probs, be.read(p), 1e-7, 1e-5);
        }
    }

    @Test void bceAndMseForward() {
        for (int n : SIZES) {
            float[] x = rand(rnd, n), tg = new float[n], b = rand(rnd, n);
            for (int i = 0; i < n; i++) { x[i] *= 20; tg[i] = rnd.nextFloat(); }
            double bce = 0, mse = 0;
            for (int i = 0; i < n; i++) {
                double sig = 1 / (1 + Math.exp(-x[i]));
                // -(t log sig + (1 - t) log(1 - sig)), written with log1p so large |x| stay exact in double
                bce += -(tg[i] * -Math.log1p(Math.exp(-x[i])) + (1 - tg[i]) * -Math.log1p(Math.exp(x[i])));
                mse += Math.pow((double) x[i] - b[i], 2);
                assertTrue(sig >= 0);
            }
            Tensor l = be.allocate(1);
            be.bceWithLogitsForward(t(be, x, n), t(be, tg, n), l);
            near("bceWithLogitsForward n=" + n, new double[] {bce / n}, be.read(l), 1e-6, 1e-5);
            be.mseForward(t(be, x, n), t(be, b, n), l);
            near("mseForward n=" + n, new double[] {mse / n}, be.read(l), 1e-6, 1e-5);
        }
    }

    @Test void similarityForwardMatchesDefinition() {
        for (int[] bd : new int[][] {{1, 1}, {3, 7}, {7, 129}, {64, 1000}}) {
            int b = bd[0], d = bd[1];
            float[] x = rand(rnd, b * d);
            double[][] xn = new double[b][d];
            double[] norm = new double[b], xc = new double[b * d];
            for (int i = 0; i < b; i++) {
                double mean = 0, sq = 0;
                for (int j = 0; j < d; j++) mean += x[i * d + j];
                mean /= d;
                for (int j = 0; j < d; j++) { xc[i * d + j] = x[i * d + j] - mean; sq += xc[i * d + j] * xc[i * d + j]; }
                norm[i] = Math.sqrt(sq);
                for (int j = 0; j < d; j++) xn[i][j] = xc[i * d + j] / (1e-8 + norm[i]);
            }
            double[] s = new double[b * b];
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) {
                    double v = 0;
                    for (int k = 0; k < d; k++) v += xn[i][k] * xn[j][k];
                    s[i * b + j] = Math.max(-1, Math.min(1, v));
                }
            Tensor st = be.allocate(b, b), xct = be.allocate(b, d), nt = be.allocate(b);
            be.similarityForward(t(be, x, b, d), st, xct, nt);
            near("similarityForward s " + b + "x" + d, s, be.read(st), 1e-5, 1e-5);
            near("similarityForward xc " + b + "x" + d, xc, be.read(xct), 1e-6, 1e-5);
            near("similarityForward norm " + b + "x" + d, norm, be.read(nt), 1e-6, 1e-5);
        }
    }

    /**
     * Rows [1,2,3], [3,2,1], [1,1,1], [0,1,5] centre to [-1,0,1], [1,0,-1], [0,0,0], [-2,-1,3]
     * with norms sqrt 2, sqrt 2, 0, sqrt 14. Row 2 normalises to 0 (0 / 1e-8), rows 0 and 1 are
     * opposite (cosine -1), rows 0 and 3 have cosine (2 + 0 + 3) / sqrt(2 * 14) = 5 / (2 sqrt 7).
     */
    @Test void similarityHandComputed() {
        float c = (float) (5 / (2 * Math.sqrt(7))); // 0.94491118
        float[] expected = {
                1, -1, 0, c,
                -1, 1, 0, -c,
                0, 0, 0, 0,
                c, -c, 0, 1};
        Tensor s = be.allocate(4, 4), norm = be.allocate(4);
        be.similarityForward(t(be, new float[] {1, 2, 3, 3, 2, 1, 1, 1, 1, 0, 1, 5}, 4, 3), s, be.allocate(4, 3), norm);
        // the diagonal is |xc|^2 / (1e-8 + |xc|)^2 = 1 - 1.4e-8: 1 in float within 1 ulp
        near("similarity hand case", expected, be.read(s), 1e-6, 1e-6);
        near("similarity norms", new float[] {(float) Math.sqrt(2), (float) Math.sqrt(2), 0, (float) Math.sqrt(14)}, be.read(norm), 1e-6, 1e-6);
    }

    /**
     * Two images of three 2x2 maps. Unbiased stds: [1,2,3,4] -> sqrt(5/3) = 1.2909944,
     * [0,0,0,2] -> 1, [1,1,1,1] -> 0; [2,2,2,2] -> 0, [1,3,1,3] -> sqrt(4/3) = 1.1547005,
     * [0,4,0,0] -> 2. The similarity of the rows s0 = (1.2909944, 1, 0) and s1 = (0, 1.1547005, 2):
     * centred (0.5273296, 0.2363352, -0.7636648) and (-1.0515668, 0.1031337, 0.9484332), norms
     * 0.9576611 and 1.4198432, cosine (-0.5545200 + 0.0243742 - 0.7242735) / (0.9576611 * 1.4198432)
     * = -0.9225615.
     */
    @Test void featureMapStdAndSimilarityOfStdHandComputed() {
        float[] x = {1, 2, 3, 4, 0, 0, 0, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 3, 1, 3, 0, 4, 0, 0};
        Tensor std = be.allocate(2, 3);
        be.featureMapStdForward(t(be, x, 2, 3, 2, 2), std);
        near("featureMapStd hand case", new float[] {1.2909944f, 1f, 0f, 0f, 1.1547005f, 2f}, be.read(std), 1e-6, 1e-6);
        Tensor s = be.allocate(2, 2);
        be.similarityForward(std, s, be.allocate(2, 3), be.allocate(2));
        near("similarity of feature-map stds", new float[] {1f, -0.9225615f, -0.9225615f, 1f}, be.read(s), 2e-6, 2e-6);
    }

    @Test void featureMapStdForwardMatchesDefinition() {
        for (int[] s : new int[][] {{1, 1, 2}, {3, 7, 5}, {2, 129, 9}, {8, 64, 256}}) {
            int maps = s[0] * s[1], inner = s[2];
            float[] x = rand(rnd, maps * inner);
            double[] e = new double[maps];
            for (int m = 0; m < maps; m++) {
                double mean = 0, sq = 0;
                for (int i = 0; i < inner; i++) mean += x[m * inner + i];
                mean /= inner;
                for (int i = 0; i < inner; i++) sq += Math.pow(x[m * inner + i] - mean, 2);
                e[m] = Math.sqrt(sq / (inner - 1));
            }
            Tensor y = be.allocate(s[0], s[1]);
            be.featureMapStdForward(t(be, x, s), y);
            near("featureMapStdForward " + java.util.Arrays.toString(s), e, be.read(y), 1e-6, 1e-5);
        }
    }

    /** Three Adam (and AMSGrad) steps against torch.optim.Adam's formulas evaluated in double. */
    @Test void adamAndAmsgradSteps() {
        for (boolean ams : new boolean[] {false, true}) {
            int n = 600001;
            float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 1e-4f;
            float[] p = rand(rnd, n);
            double[] ep = new double[n], em = new double[n], ev = new double[n], evm = new double[n];
            for (int i = 0; i < n; i++) ep[i] = p[i];
            Tensor pt = t(be, p, n), m = be.zeros(n), v = be.zeros(n), vmax = ams ? be.zeros(n) : null;
            for (int step = 1; step <= 3; step++) {
                float[] g = rand(rnd, n);
                for (int i = 0; i < n; i++) {
                    double gi = g[i] + wd * ep[i];
                    em[i] = b1 * em[i] + (1 - b1) * gi;
                    ev[i] = b2 * ev[i] + (1 - b2) * gi * gi;
                    evm[i] = Math.max(evm[i], ev[i]);
                    double vv = ams ? evm[i] : ev[i];
                    ep[i] -= lr / (1 - Math.pow(b1, step)) * em[i] / (Math.sqrt(vv) / Math.sqrt(1 - Math.pow(b2, step)) + eps);
                }
                be.adamStep(pt, t(be, g, n), m, v, vmax, lr, b1, b2, eps, wd, step);
            }
            // each step moves p by about lr = 1e-2; float rounding of that is ~1e-9, and of p itself ~6e-8
            near("adamStep amsgrad=" + ams, ep, be.read(pt), 1e-6, 1e-6);
        }
    }

    @Test void sgdMomentumSteps() {
        int n = 129;
        float lr = 0.1f, mom = 0.9f, wd = 5e-4f;
        float[] p = rand(rnd, n);
        double[] ep = new double[n], buf = new double[n];
        for (int i = 0; i < n; i++) ep[i] = p[i];
        Tensor pt = t(be, p, n), bt = be.allocate(n), plain = t(be, p, n);
        double[] eplain = ep.clone();
        for (int step = 0; step < 3; step++) {
            float[] g = rand(rnd, n);
            for (int i = 0; i < n; i++) {
                double gi = g[i] + wd * ep[i];
                buf[i] = step == 0 ? gi : mom * buf[i] + gi;
                ep[i] -= lr * buf[i];
                eplain[i] -= lr * (g[i] + wd * eplain[i]);
            }
            be.sgdStep(pt, t(be, g, n), bt, lr, mom, wd, step == 0);
            be.sgdStep(plain, t(be, g, n), null, lr, 0f, wd, step == 0);
        }
        near("sgdStep momentum", ep, be.read(pt), 1e-6, 1e-6);
        near("sgdStep without momentum", eplain, be.read(plain), 1e-6, 1e-6);
    }

    @Test void randomCropFlipFollowsItsDefinition() {
        int b = 9, c = 3, h = 7, w = 5, pad = 2;
        float[] x = rand(rnd, b * c * h * w), e = new float[x.length];
        boolean sawFlip = false, sawShift = false;
        for (int i = 0; i < b; i++) {
            int dy = (int) Math.floor(Philox.uniform(4, 2, 3 * i) * (2 * pad + 1)) - pad;
            int dx = (int) Math.floor(Philox.uniform(4, 2, 3 * i + 1) * (2 * pad + 1)) - pad;
            boolean flip = Philox.uniform(4, 2, 3 * i + 2) < 0.5f;
            sawFlip |= flip;
            sawShift |= dy != 0 || dx != 0;
            for (int ch = 0; ch < c; ch++)
                for (int r = 0; r < h; r++)
                    for (int q = 0; q < w; q++) {
                        int sr = r + dy, sq = (flip ? w - 1 - q : q) + dx;
                        e[((i * c + ch) * h + r) * w + q] = sr >= 0 && sr < h && sq >= 0 && sq < w ? x[((i * c + ch) * h + sr) * w + sq] : 0f;
                    }
        }
        assertTrue(sawFlip && sawShift, "the seed should exercise flips and shifts");
        Tensor y = be.allocate(b, c, h, w);
        be.randomCropFlip(t(be, x, b, c, h, w), y, pad, true, 4, 2);
        near("randomCropFlip", e, be.read(y), 0, 0);
    }

    @Test void cutoutZeroesOneClippedSquarePerImage() { cutoutZeroesClippedSquares(4, 1); }

    @Test void cutoutZeroesSeveralClippedPossiblyOverlappingSquaresPerImage() { cutoutZeroesClippedSquares(3, 4); }

    /** The expected mask written out from Backend.cutout's contract: hole k of image i centred by uniforms 2(i*holes+k), +1. */
    private void cutoutZeroesClippedSquares(int len, int holes) {
        int b = 7, c = 2, h = 6, w = 9;
        float[] x = new float[b * c * h * w];
        java.util.Arrays.fill(x, 1f);
        float[] e = x.clone();
        for (int i = 0; i < b; i++)
            for (int k = 0; k < holes; k++) {
                int u = 2 * (i * holes + k);
                int cy = (int) (Philox.uniform(8, 1, u) * h), cx = (int) (Philox.uniform(8, 1, u + 1) * w);
                for (int ch = 0; ch < c; ch++)
                    for (int r = cy - len / 2; r < cy + len / 2; r++)
                        for (int q = cx - len / 2; q < cx + len / 2; q++)
                            if (r >= 0 && r < h && q >= 0 && q < w) e[((i * c + ch) * h + r) * w + q] = 0f;
            }
        Tensor xt = t(be, x, b, c, h, w);
        be.cutout(xt, len, holes, 8, 1);
        float[] got = be.read(xt);
        near("cutout", e, got, 0, 0);
        int zeros = 0;
        for (float v : got) zeros += v == 0f ? 1 : 0;
        // several holes cut more than one: 4 holes of 2x2 (length 3 cuts rows cy-1..cy) in 7 images of 6x9
        if (holes > 1) assertTrue(zeros > b * c * 4, "4 holes should cut more than one hole's pixels, cut " + zeros);
    }
}
