package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.near;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import locallearn.backend.PoolGeom;
import org.junit.jupiter.api.Test;

/**
 * The vector paths of the elementwise, batch-norm, pool and std families against the plain loops
 * they replace (kept as the oracles), on odd shapes that reach every vector loop's tail: sizes
 * 1, 3, 7, 15, 16, 17, 129 and VGG's 32x32. Where a fast path does the plain loop's float
 * arithmetic element by element the test asks for the same bits; where it adds a double sum in
 * another order (sixteen partials, see Lanes) it allows 2 float ulps (rtol 2.4e-7) on results
 * rounded from those sums: the sums themselves differ by double rounding, about 1e-16 relative,
 * so the float results differ at most by one rounding step, and by more only through the
 * float arithmetic that follows (x - mean, then * invStd).
 */
class FastPathsMatchPlainTest {
    private final Random rnd = new Random(7);

    /** Values from a small set, so that ties (and +0 against -0) are common, with a NaN now and then when asked. */
    private float[] coarse(int n, boolean nan) {
        float[] v = {-1f, -0.5f, -0f, 0f, 0.5f, 1f};
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = nan && rnd.nextInt(50) == 0 ? Float.NaN : v[rnd.nextInt(v.length)];
        return a;
    }

    private float[] rand(int n, float offset) {
        float[] a = Check.rand(rnd, n);
        for (int i = 0; i < n; i++) a[i] += offset;
        return a;
    }

    private static void same(String what, float[] expected, float[] got) {
        for (int i = 0; i < expected.length; i++)
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(got[i]))
                throw new AssertionError(what + ": first difference at [" + i + "]: expected " + expected[i] + " got " + got[i]);
    }

    @Test void fastPathsAreOnHere() {
        assertTrue(Lanes.FAST, "this machine has 256-bit vectors, so the tests below compare the fast paths");
    }

    @Test void lanesSumsAreTheSumsUpToDoubleRounding() {
        for (int n : new int[] {0, 1, 3, 15, 16, 17, 31, 129, 4096}) {
            float[] x = rand(n + 5, 3f);
            double s = 0, ss = 0;
            for (int i = 5; i < n + 5; i++) s += x[i];
            double mean = n > 0 ? s / n : 0;
            for (int i = 5; i < n + 5; i++) ss += (x[i] - mean) * (x[i] - mean);
            // below 16 elements the partials are empty and the tail is the sequential sum: the same bits
            if (n < 16) assertTrue(Lanes.sum(x, 5, n) == s, "sum of " + n);
            near("sum of " + n, new double[] {s}, new float[] {(float) Lanes.sum(x, 5, n)}, 0, 1e-7);
            near("squared deviations of " + n, new double[] {ss}, new float[] {(float) Lanes.squaredDeviations(x, 5, n, mean)}, 1e-12, 1e-7);
        }
    }

    @Test void leakyReluMatchesPlainBitForBit() {
        for (int n : new int[] {1, 7, 16, 17, 129}) {
            float[] x = coarse(n, true), dy = rand(n, 0), y = new float[n], dx = new float[n];
            float[] ey = new float[n], edx = new float[n];
            for (float slope : new float[] {0f, 0.01f}) {
                for (int i = 0; i < n; i++) {
                    ey[i] = x[i] > 0 ? x[i] : slope * x[i];
                    edx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
                }
                Elementwise.leakyReluForward(x, y, slope, 0, n);
                Elementwise.leakyReluBackward(x, dy, dx, slope, 0, n);
                same("leakyReluForward n=" + n, ey, y);
                same("leakyReluBackward n=" + n, edx, dx);
            }
        }
    }

    @Test void elementDropoutMatchesThePerUnitLoop() {
        // ranges of units start at multiples of 4 (the split), or anywhere when a range is the whole tensor
        for (int n : new int[] {1, 3, 7, 129, 600001}) {
            float[] x = rand(n, 0), y = new float[n], e = new float[n];
            for (float p : new float[] {0f, 0.25f, 1f}) {
                float scale = p < 1 ? 1f / (1f - p) : 0f;
                for (int i = 0; i < n; i++) e[i] = locallearn.backend.Philox.uniform(3, 9, i) < p ? 0f : x[i] * scale;
                Elementwise.dropout(x, y, n, p, 3, 9, 1);
                same("dropout n=" + n + " p=" + p, e, y);
            }
        }
    }

    @Test void biasBackwardOfRowsMatchesPlain() {
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {5, 129}, {128, 1024}, {300, 2051}}) {
            int nb = s[0], nc = s[1];
            float[] dy = rand(nb * nc, 0), db = new float[nc], e = new float[nc];
            for (int c = 0; c < nc; c++) {
                double sum = 0;
                for (int b = 0; b < nb; b++) sum += dy[b * nc + c];
                e[c] = (float) (0.5f + sum);
            }
            java.util.Arrays.fill(db, 0.5f);
            Elementwise.biasBackward(dy, db, true, nb, nc, 1);
            same("biasBackward (" + nb + ", " + nc + ")", e, db);
        }
    }

    @Test void batchNormMatchesPlain() {
        // the last two split over two threads (ranges of channels that start past 0)
        int[][] shapes = {{2, 3, 1}, {3, 129, 1}, {128, 17, 1}, {2, 3, 7}, {3, 2, 15}, {2, 3, 16}, {3, 5, 17}, {2, 3, 129}, {4, 3, 1024},
                {512, 1027, 1}, {2, 9, 32771}};
        for (int[] s : shapes) {
            int nb = s[0], nc = s[1], inner = s[2], n = nb * nc * inner;
            // an offset of 3 against a spread of 1: the mean matters for the variance's accuracy
            float[] x = rand(n, 3f), dy = rand(n, 0), gamma = rand(nc, 1f), beta = rand(nc, 0);
            float[][] fast = batchNorm(true, x, dy, gamma, beta, nb, nc, inner), plain = batchNorm(false, x, dy, gamma, beta, nb, nc, inner);
            String[] names = {"y", "saveMean", "saveInvStd", "runningMean", "runningVar", "dx", "dgamma", "dbeta", "eval y"};
            String what = "batchNorm (" + nb + ", " + nc + ", " + inner + ") ";
            for (int k = 0; k < names.length; k++) {
                // fc tensors (inner = 1) and maps below 16 keep the plain order: the same bits
                if (inner < Lanes.WIDTH || k == 8) same(what + names[k], plain[k], fast[k]);
                else near(what + names[k], plain[k], fast[k], 1e-6, 2.4e-7 * 4);
            }
        }
    }

    /** y, saveMean, saveInvStd, runningMean, runningVar, dx, dgamma, dbeta, eval y: by the fast paths or the plain loops. */
    private static float[][] batchNorm(boolean fast, float[] x, float[] dy, float[] gamma, float[] beta, int nb, int nc, int inner) {
        int n = x.length;
        float[] y = new float[n], sm = new float[nc], si = new float[nc], rm = new float[nc], rv = new float[nc], dx = new float[n];
        float[] dg = new float[nc], db = new float[nc], ey = new float[n];
        java.util.Arrays.fill(rv, 1f);
        java.util.Arrays.fill(dg, 0.25f);
        if (fast) BatchNorm.forwardTrain(Elements.of(x), gamma, beta, rm, rv, 0.1f, 1e-5f, Elements.of(y), sm, si, nb, nc, inner);
        else BatchNorm.forwardTrainPlain(Elements.of(x), gamma, beta, rm, rv, 0.1f, 1e-5f, Elements.of(y), sm, si, nb, nc, inner);
        // backward from the plain forward's statistics, so it is compared on equal inputs
        float[] psm = sm.clone(), psi = si.clone();
        if (fast) {
            float[][] p = batchNorm(false, x, dy, gamma, beta, nb, nc, inner);
            psm = p[1];
            psi = p[2];
            BatchNorm.backward(Elements.of(x), Elements.of(dy), gamma, psm, psi, Elements.of(dx), dg, db, true, nb, nc, inner);
        } else {
            BatchNorm.backwardPlain(Elements.of(x), Elements.of(dy), gamma, psm, psi, Elements.of(dx), dg, db, true, nb, nc, inner);
        }
        if (fast) {
            BatchNorm.forwardEval(Elements.of(x), gamma, beta, psm, psi, 1e-5f, Elements.of(ey), nb, nc, inner);
        } else {
            // the eval oracle: the plain loop's formula
            for (int k = 0; k < n; k++) {
                int c = k / inner % nc;
                float a = gamma[c] * (float) (1.0 / Math.sqrt((double) psi[c] + 1e-5f));
                ey[k] = (x[k] - psm[c]) * a + beta[c];
            }
        }
        return new float[][] {y, sm, si, rm, rv, dx, dg, db, ey};
    }

    @Test void multiplyMatchesPlainBitForBit() {
        for (int n : new int[] {1, 3, 7, 15, 16, 17, 129}) {
            float[] a = coarse(n, true), b = rand(n, 0), out0 = rand(n, 0);
            for (boolean acc : new boolean[] {false, true}) {
                float[] e = out0.clone(), got = out0.clone();
                for (int i = 0; i < n; i++) e[i] = acc ? e[i] + a[i] * b[i] : a[i] * b[i];
                Elementwise.multiply(a, b, got, acc, 0, n);
                same("multiply n=" + n + (acc ? " accumulate" : ""), e, got);
                // a range that starts past 0, as a second thread's part does
                float[] part = out0.clone();
                Elementwise.multiply(a, b, part, acc, n / 2, n);
                for (int i = 0; i < n / 2; i++) e[i] = out0[i];
                same("multiply n=" + n + " from " + n / 2, e, part);
            }
        }
    }

    /** The shapes of batchNormMatchesPlain: fc tensors, maps of 2..15, 16, 17 and more, a split over two threads. */
    private static final int[][] CHANNEL_SHAPES = {{2, 3, 1}, {3, 129, 1}, {128, 17, 1}, {2, 3, 7}, {3, 2, 15}, {2, 3, 16}, {3, 5, 17},
            {2, 3, 129}, {4, 3, 1024}, {512, 1027, 1}, {2, 9, 32771}};

    @Test void channelSumIsBatchNormBackwardsSumsBitForBit() {
        // what SlicedStep relies on: sum(dy) and sum(dy * xhat) as batch norm's backward takes them (here with
        // mean 0 and invStd 1, so its xhat is x), by the fast paths of both and by the plain loops of both
        for (int[] s : CHANNEL_SHAPES) {
            int nb = s[0], nc = s[1], inner = s[2], n = nb * nc * inner;
            float[] x = rand(n, 3f), dy = rand(n, 0), ones = new float[nc], zeros = new float[nc], out0 = rand(nc, 0);
            java.util.Arrays.fill(ones, 1f);
            String what = "channelSum (" + nb + ", " + nc + ", " + inner + ")";
            for (boolean acc : new boolean[] {false, true})
                for (boolean fast : new boolean[] {true, false}) {
                    float[] dg = out0.clone(), db = out0.clone(), sum = out0.clone(), dot = out0.clone(), dx = new float[n];
                    if (fast) {
                        BatchNorm.backward(Elements.of(x), Elements.of(dy), ones, zeros, ones, Elements.of(dx), dg, db, acc, nb, nc, inner);
                        BatchNorm.channelSum(Elements.of(dy), null, sum, acc, nb, nc, inner);
                        BatchNorm.channelSum(Elements.of(dy), Elements.of(x), dot, acc, nb, nc, inner);
                    } else {
                        BatchNorm.backwardPlain(Elements.of(x), Elements.of(dy), ones, zeros, ones, Elements.of(dx), dg, db, acc, nb, nc, inner);
                        BatchNorm.channelSumPlain(Elements.of(dy), null, sum, acc, nb, nc, inner);
                        BatchNorm.channelSumPlain(Elements.of(dy), Elements.of(x), dot, acc, nb, nc, inner);
                    }
                    String how = (fast ? " fast" : " plain") + (acc ? " accumulate" : "");
                    same(what + how + ": sum against dbeta", db, sum);
                    same(what + how + ": weighted sum against dgamma", dg, dot);
                }
        }
    }

    @Test void channelSumMatchesPlain() {
        for (int[] s : CHANNEL_SHAPES) {
            int nb = s[0], nc = s[1], inner = s[2], n = nb * nc * inner;
            float[] x = rand(n, 0), w = rand(n, 3f);
            for (float[] weight : new float[][] {null, w}) {
                float[] fast = new float[nc], plain = new float[nc];
                BatchNorm.channelSum(Elements.of(x), weight == null ? null : Elements.of(weight), fast, false, nb, nc, inner);
                BatchNorm.channelSumPlain(Elements.of(x), weight == null ? null : Elements.of(weight), plain, false, nb, nc, inner);
                String what = "channelSum (" + nb + ", " + nc + ", " + inner + ")" + (weight == null ? "" : " weighted");
                // fc tensors and maps below 16 keep the plain order; else the double sums differ by double rounding only,
                // so the float results by at most a rounding step (1e-6 absolute for sums that cancel to near 0)
                if (inner < Lanes.WIDTH) same(what, plain, fast);
                else near(what, plain, fast, 1e-6, 2.4e-7 * 2);
            }
        }
    }

    @Test void batchNormInPlaceMatchesOutOfPlace() {
        int nb = 3, nc = 5, inner = 33, n = nb * nc * inner;
        float[] x = rand(n, 1f), dy = rand(n, 0), gamma = rand(nc, 1f), beta = rand(nc, 0);
        float[] y = new float[n], sm = new float[nc], si = new float[nc], rm = new float[nc], rv = new float[nc];
        BatchNorm.forwardTrain(Elements.of(x), gamma, beta, rm, rv, 0.1f, 1e-5f, Elements.of(y), sm, si, nb, nc, inner);
        float[] xi = x.clone();
        BatchNorm.forwardTrain(Elements.of(xi), gamma, beta, new float[nc], new float[nc], 0.1f, 1e-5f, Elements.of(xi), new float[nc], new float[nc], nb, nc, inner);
        assertArrayEquals(y, xi, "forward in place");
        float[] dx = new float[n];
        BatchNorm.backward(Elements.of(x), Elements.of(dy), gamma, sm, si, Elements.of(dx), new float[nc], new float[nc], false, nb, nc, inner);
        float[] xb = x.clone();
        BatchNorm.backward(Elements.of(xb), Elements.of(dy), gamma, sm, si, Elements.of(xb), new float[nc], new float[nc], false, nb, nc, inner);
        assertArrayEquals(dx, xb, "backward in place");
    }

    @Test void featureMapStdMatchesPlain() {
        for (int[] s : new int[][] {{3, 2}, {2, 7}, {3, 16}, {2, 17}, {5, 129}, {3, 1024}}) {
            int maps = s[0], inner = s[1];
            float[] x = rand(maps * inner, 2f), dy = rand(maps, 0), y = new float[maps], ey = new float[maps];
            x[0] = x[1]; // a few equal values; map 0 of the first shape is constant (std 0, gradient 0)
            FeatureStd.forward(x, y, maps, inner);
            FeatureStd.forwardPlain(x, ey, maps, inner);
            String what = "featureMapStd (" + maps + ", " + inner + ")";
            if (inner < Lanes.WIDTH) same(what, ey, y);
            else near(what, ey, y, 0, 2.4e-7 * 2);
            // backward from the same y: only the mean is a reordered sum, so dx differs by rounding of (x - mean)
            float[] dx = new float[maps * inner], edx = new float[maps * inner];
            FeatureStd.backward(x, ey, dy, dx, maps, inner);
            for (int m = 0; m < maps; m++) {
                if (ey[m] == 0f) continue;
                double sum = 0;
                for (int i = 0; i < inner; i++) sum += x[m * inner + i];
                float mean = (float) (sum / inner), k = dy[m] / ((inner - 1) * ey[m]);
                for (int i = 0; i < inner; i++) edx[m * inner + i] = k * (x[m * inner + i] - mean);
            }
            near(what + " backward", edx, dx, 1e-6, 1e-5);
        }
    }

    @Test void poolsMatchPlainBitForBit() {
        int[][] windows = {{2, 2, 2, 2}, {3, 3, 2, 2}, {2, 2, 1, 1}, {8, 4, 8, 4}, {1, 1, 1, 1}};
        for (int[] k : windows)
            for (int h : new int[] {1, 3, 7, 8, 32, 33})
                for (int w : new int[] {2, 7, 16, 17, 32, 35}) {
                    if (h < k[0] || w < k[1]) continue;
                    PoolGeom g = new PoolGeom(2, 3, h, w, k[0], k[1], k[2], k[3], 0, 0);
                    String what = "pool " + g;
                    int in = 2 * 3 * h * w, out = 2 * 3 * g.outH() * g.outW();
                    float[] x = coarse(in, true), dy = coarse(out, false);
                    float[] y = new float[out], ey = new float[out], dx = rand(in, 0), edx = new float[in];
                    Pool.maxForward(x, y, g);
                    Pool.maxForwardPlain(x, ey, g);
                    same("max " + what, ey, y);
                    Pool.maxBackward(x, dy, dx, g);
                    Pool.maxBackwardPlain(x, dy, edx, g);
                    same("max backward " + what, edx, dx);
                    Pool.avgForward(x, y, g);
                    Pool.avgForwardPlain(x, ey, g);
                    same("avg " + what, ey, y);
                    dx = rand(in, 0);
                    Pool.avgBackward(dy, dx, g);
                    Pool.avgBackwardPlain(dy, edx, g);
                    same("avg backward " + what, edx, dx);
                }
    }
}
