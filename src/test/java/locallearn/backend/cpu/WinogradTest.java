package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;
import locallearn.backend.ConvGeom;
import org.junit.jupiter.api.Test;

/**
 * Winograd F(2x2,3x3) and F(4x4,3x3) against plain double loops, for the three passes.
 *
 * <p>Tolerance, from the error bound in Winograd's class comment: an output whose direct dot
 * product has magnitude S = sum |w||x| is off by at most about (n + 4t) eps beta^2 S, where n is
 * the GEMM's sum length (C forward, K backward-data, the tile count backward-filter), t the tile
 * side and beta^2 the 2-d growth of the transforms (64/9 for F(2x2), 256 for F(4x4)). That
 * bound counts the transform-domain magnitudes as beta^2 S, which holds on average for random
 * data; at the map edges the padding zeros shrink S and not the tile's other inputs (a corner
 * output has 4 of 9 terms), so S is taken as the largest over the output's plane (see planeMax),
 * and a factor 4 is left as margin. Any wrong index or matrix entry gives errors of order
 * S / sqrt(n), far above this.
 */
class WinogradTest {
    static final double EPS = Math.ulp(1f) / 2;

    static double beta2(Winograd.Tile f) { return f == Winograd.F2 ? 64.0 / 9 : 256.0; }

    static double tol(Winograd.Tile f, int n) { return 4 * (n + 4 * f.t()) * EPS * beta2(f); }

    /** A reference output and the magnitude sum |w||x| of its dot product, both in double. */
    record Ref(double[] v, double[] mag) {}

    static Ref forwardRef(float[] x, float[] w, float[] bias, ConvGeom g) {
        int oh = g.outH(), ow = g.outW(), c = g.inC(), k = g.outC(), h = g.inH(), wd = g.inW();
        double[] y = new double[g.batch() * k * oh * ow], mag = new double[y.length];
        for (int b = 0; b < g.batch(); b++)
            for (int o = 0; o < k; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double s = bias == null ? 0 : bias[o], a = bias == null ? 0 : Math.abs(bias[o]);
                        for (int i = 0; i < c; i++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = oy - g.pad() + ky, ix = ox - g.pad() + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    double p = (double) w[((o * c + i) * 3 + ky) * 3 + kx] * x[((b * c + i) * h + iy) * wd + ix];
                                    s += p;
                                    a += Math.abs(p);
                                }
                        int idx = ((b * k + o) * oh + oy) * ow + ox;
                        y[idx] = s;
                        mag[idx] = a;
                    }
        return new Ref(y, planeMax(mag, oh * ow));
    }

    static Ref backwardDataRef(float[] dy, float[] w, ConvGeom g) {
        int oh = g.outH(), ow = g.outW(), c = g.inC(), k = g.outC(), h = g.inH(), wd = g.inW();
        double[] dx = new double[g.batch() * c * h * wd], mag = new double[dx.length];
        for (int b = 0; b < g.batch(); b++)
            for (int o = 0; o < k; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double d = dy[((b * k + o) * oh + oy) * ow + ox];
                        for (int i = 0; i < c; i++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = oy - g.pad() + ky, ix = ox - g.pad() + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    double p = d * w[((o * c + i) * 3 + ky) * 3 + kx];
                                    int idx = ((b * c + i) * h + iy) * wd + ix;
                                    dx[idx] += p;
                                    mag[idx] += Math.abs(p);
                                }
                    }
        return new Ref(dx, planeMax(mag, h * wd));
    }

    static Ref backwardFilterRef(float[] x, float[] dy, ConvGeom g) {
        int oh = g.outH(), ow = g.outW(), c = g.inC(), k = g.outC(), h = g.inH(), wd = g.inW();
        double[] dw = new double[k * c * 9], mag = new double[dw.length];
        for (int b = 0; b < g.batch(); b++)
            for (int o = 0; o < k; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double d = dy[((b * k + o) * oh + oy) * ow + ox];
                        for (int i = 0; i < c; i++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = oy - g.pad() + ky, ix = ox - g.pad() + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    double p = d * x[((b * c + i) * h + iy) * wd + ix];
                                    int idx = ((o * c + i) * 3 + ky) * 3 + kx;
                                    dw[idx] += p;
                                    mag[idx] += Math.abs(p);
                                }
                    }
        return new Ref(dw, planeMax(mag, 9));
    }

    /**
     * Each magnitude replaced by the largest in its run of {@code n} (an image plane; the 9 taps
     * of one filter): the transforms mix all inputs of a tile, so an output's rounding follows its
     * neighbours' magnitudes too, and where padding makes a dot product empty (S = 0) the result
     * is a cancellation residue of other terms, not an exact 0.
     */
    static double[] planeMax(double[] mag, int n) {
        double[] out = new double[mag.length];
        for (int p = 0; p < mag.length; p += n) {
            double mx = 0;
            for (int i = p; i < p + n; i++) mx = Math.max(mx, mag[i]);
            java.util.Arrays.fill(out, p, p + n, mx);
        }
        return out;
    }

    /** The largest |got - ref| / (tol * mag + 1e-30), so that <= 1 passes; with the first failing index in the message. */
    static String check(Ref r, float[] got, double tol, double[] offset) {
        for (int i = 0; i < got.length; i++) {
            double e = r.v[i] + (offset == null ? 0 : offset[i]);
            double lim = tol * (r.mag[i] + (offset == null ? 0 : Math.abs(offset[i]))) + 1e-30;
            if (!(Math.abs(got[i] - e) <= lim)) return String.format("[%d] expected %.7g got %.7g (limit %.3g)", i, e, got[i], lim);
        }
        return null;
    }

    static void assertNear(String what, Ref r, float[] got, double tol) { assertNear(what, r, got, tol, null); }

    static void assertNear(String what, Ref r, float[] got, double tol, double[] offset) {
        String bad = check(r, got, tol, offset);
        if (bad != null) fail(what + ": " + bad);
    }

    static final int[] SIDES = {1, 2, 3, 5, 7, 8, 13};
    static final int[][] CHANNELS = {{1, 1}, {3, 7}, {7, 3}, {1, 129}, {129, 3}};

    /** Every size combination once per tile; the sides go round so each appears as H and as W with every channel pair. */
    @Test void forwardMatchesDirectSumOnOddShapes() {
        Random rnd = new Random(1);
        for (Winograd.Tile f : new Winograd.Tile[] {Winograd.F2, Winograd.F4})
            for (int pad = 0; pad <= 2; pad++)
                for (int[] ck : CHANNELS)
                    for (int si = 0; si < SIDES.length; si++) {
                        int h = SIDES[si], w = SIDES[(si + 3) % SIDES.length], batch = si % 2 == 0 ? 1 : 3;
                        if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
                        ConvGeom g = new ConvGeom(batch, ck[0], h, w, ck[1], 3, 3, 1, pad);
                        float[] x = rand(rnd, batch * ck[0] * h * w), wt = rand(rnd, ck[1] * ck[0] * 9);
                        float[] bias = si % 3 == 0 ? null : rand(rnd, ck[1]);
                        float[] y = new float[batch * ck[1] * g.outH() * g.outW()];
                        java.util.Arrays.fill(y, Float.NaN);
                        Winograd.forward(x, wt, bias, y, g, f, false);
                        assertNear(f.name() + " forward " + g + (bias == null ? "" : " +bias"), forwardRef(x, wt, bias, g), y, tol(f, ck[0]));
                    }
    }

    @Test void backwardDataMatchesDirectSumOnOddShapes() {
        Random rnd = new Random(2);
        for (Winograd.Tile f : new Winograd.Tile[] {Winograd.F2, Winograd.F4})
            for (int pad = 0; pad <= 2; pad++)
                for (int[] ck : CHANNELS)
                    for (int si = 0; si < SIDES.length; si++) {
                        int h = SIDES[si], w = SIDES[(si + 2) % SIDES.length], batch = si % 2 == 0 ? 3 : 1;
                        if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
                        ConvGeom g = new ConvGeom(batch, ck[0], h, w, ck[1], 3, 3, 1, pad);
                        float[] dy = rand(rnd, batch * ck[1] * g.outH() * g.outW()), wt = rand(rnd, ck[1] * ck[0] * 9);
                        float[] dx = new float[batch * ck[0] * h * w];
                        java.util.Arrays.fill(dx, Float.NaN);
                        Winograd.backwardData(dy, wt, dx, g, f, false);
                        assertNear(f.name() + " backwardData " + g, backwardDataRef(dy, wt, g), dx, tol(f, ck[1]));
                    }
    }

    @Test void backwardFilterMatchesDirectSumOnOddShapesAndAccumulates() {
        Random rnd = new Random(3);
        for (Winograd.Tile f : new Winograd.Tile[] {Winograd.F2, Winograd.F4})
            for (int pad = 0; pad <= 2; pad++)
                for (int[] ck : CHANNELS)
                    for (int si = 0; si < SIDES.length; si++) {
                        int h = SIDES[si], w = SIDES[(si + 5) % SIDES.length], batch = si % 2 == 0 ? 1 : 3;
                        if (h + 2 * pad < 3 || w + 2 * pad < 3) continue;
                        ConvGeom g = new ConvGeom(batch, ck[0], h, w, ck[1], 3, 3, 1, pad);
                        float[] x = rand(rnd, batch * ck[0] * h * w), dy = rand(rnd, batch * ck[1] * g.outH() * g.outW());
                        boolean acc = si % 2 == 1;
                        float[] dw = acc ? rand(rnd, ck[1] * ck[0] * 9) : new float[ck[1] * ck[0] * 9];
                        double[] before = new double[dw.length];
                        for (int i = 0; i < dw.length; i++) before[i] = acc ? dw[i] : 0;
                        if (!acc) java.util.Arrays.fill(dw, Float.NaN);
                        float[] db = new float[ck[1]];
                        Winograd.backwardFilter(x, dy, dw, db, g, acc, f, false);
                        int m = f.m(), tiles = batch * ((g.outH() + m - 1) / m) * ((g.outW() + m - 1) / m);
                        assertNear(f.name() + " backwardFilter " + g + " accumulate=" + acc, backwardFilterRef(x, dy, g), dw, tol(f, tiles), before);
                    }
    }

    /**
     * Enough channels that the tiles take two groups of {@code tilesPerGroup}, so the weight
     * gradient's second group adds into S (beta = 1) before the one output transform.
     */
    @Test void backwardFilterOverSeveralTileGroupsMatchesDirectSum() {
        Random rnd = new Random(8);
        ConvGeom g = new ConvGeom(5, 150, 23, 21, 170, 3, 3, 1, 1);
        int tiles = 5 * 12 * 11;
        assertTrue(Winograd.tilesPerGroup(Winograd.F2, 150, 170, tiles) < tiles, "one group only: the test would not reach beta = 1");
        float[] x = rand(rnd, 5 * 150 * 23 * 21), dy = rand(rnd, 5 * 170 * 23 * 21), dw = new float[170 * 150 * 9];
        java.util.Arrays.fill(dw, Float.NaN);
        Winograd.backwardFilter(x, dy, dw, null, g, false, Winograd.F2, false);
        assertNear("F2 backwardFilter over two tile groups " + g, backwardFilterRef(x, dy, g), dw, tol(Winograd.F2, tiles));
    }

    /**
     * The filter transform writes U_xi straight into the GEMM's packed layout: the same data, bit
     * for bit, as Gemm.pack of U_xi computed plainly (the same products and sums, in the same
     * order), including shapes whose rows cross the pack's column blocks (KC = 256) and the
     * padding rows of the last sliver.
     */
    @Test void filterTransformIsThePackOfThePlainTransform() {
        Random rnd = new Random(10);
        for (Winograd.Tile f : new Winograd.Tile[] {Winograd.F2, Winograd.F4})
            for (int[] kc : new int[][] {{1, 1}, {3, 5}, {7, 300}, {300, 7}, {13, 521}})
                for (boolean flip : new boolean[] {false, true}) {
                    int k = kc[0], c = kc[1], rows = flip ? c : k, cols = flip ? k : c, tt = f.t() * f.t();
                    float[] w = rand(rnd, k * c * 9);
                    float[][] gg = Winograd.outerG(f);
                    Gemm.PackedA[] got = Winograd.filterTransform(w, k, c, f, flip, false);
                    for (int xi = 0; xi < tt; xi++) {
                        float[] u = new float[rows * cols];
                        for (int r = 0; r < rows; r++)
                            for (int q = 0; q < cols; q++) {
                                int src = flip ? (q * c + r) * 9 : (r * c + q) * 9;
                                float v = gg[xi][0] * w[src + (flip ? 8 : 0)];
                                for (int p = 1; p < 9; p++) if (gg[xi][p] != 0f) v += gg[xi][p] * w[src + (flip ? 8 - p : p)];
                                u[r * cols + q] = v;
                            }
                        float[] want = Gemm.pack(false, rows, cols, 1f, u, 0).data();
                        assertEquals(want.length, got[xi].data().length);
                        for (int i = 0; i < want.length; i++)
                            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[xi].data()[i]),
                                    f.name() + " " + k + "x" + c + (flip ? " flipped" : "") + " U_" + xi + " differs at " + i);
                    }
                }
    }

    /** Each entry of B^T, G and A^T changed by 1/2 in turn: the forward or filter comparison must notice every one. */
    @Test void aWrongMatrixEntryIsCaught() {
        Random rnd = new Random(4);
        // 10x11 maps: a second row and column of F(4x4) tiles whose last outputs are valid and read non-padding inputs
        ConvGeom g = new ConvGeom(2, 3, 10, 11, 2, 3, 3, 1, 1);
        float[] x = rand(rnd, 2 * 3 * 110), w = rand(rnd, 2 * 3 * 9), dy = rand(rnd, 2 * 2 * 110);
        Ref fr = forwardRef(x, w, null, g), br = backwardFilterRef(x, dy, g);
        for (Winograd.Tile f : new Winograd.Tile[] {Winograd.F2, Winograd.F4}) {
            int t = f.t();
            for (int which = 0; which < 3; which++) {
                int rows = which == 1 ? t : which == 0 ? t : f.m(), cols = which == 1 ? 3 : t;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++) {
                        float[][] bt = copy(f.bt()), at = copy(f.at());
                        double[][] gm = new double[t][];
                        for (int r = 0; r < t; r++) gm[r] = f.g()[r].clone();
                        if (which == 0) bt[i][j] += 0.5f;
                        else if (which == 1) gm[i][j] += 0.5;
                        else at[i][j] += 0.5f;
                        Winograd.Tile bad = new Winograd.Tile("broken", f.m(), bt, gm, at);
                        float[] y = new float[2 * 2 * 110], dw = new float[2 * 3 * 9];
                        Winograd.forward(x, w, null, y, g, bad, false);
                        Winograd.backwardFilter(x, dy, dw, null, g, false, bad, false);
                        String where = f.name() + " " + new String[] {"B^T", "G", "A^T"}[which] + "[" + i + "][" + j + "] + 1/2";
                        assertTrue(check(fr, y, tol(f, 3), null) != null || check(br, dw, tol(f, 2 * ((10 + f.m() - 1) / f.m()) * ((11 + f.m() - 1) / f.m())), null) != null, where + " went unnoticed");
                    }
            }
            // and the true matrices pass the same comparisons
            float[] y = new float[2 * 2 * 110], dw = new float[2 * 3 * 9];
            Winograd.forward(x, w, null, y, g, f, false);
            Winograd.backwardFilter(x, dy, dw, null, g, false, f, false);
            assertNear(f.name() + " forward", fr, y, tol(f, 3));
            assertNear(f.name() + " backwardFilter", br, dw, tol(f, 2 * ((10 + f.m() - 1) / f.m()) * ((11 + f.m() - 1) / f.m())));
        }
    }

    static float[][] copy(float[][] a) {
        float[][] c = new float[a.length][];
        for (int i = 0; i < a.length; i++) c[i] = a[i].clone();
        return c;
    }

    /** F(2x2)'s written-out transforms do the generic transforms' sums in the same order, so they agree to the bit (the generic path runs for any other Tile object). */
    @Test void writtenOutF2MatchesTheGenericTransformsBitForBit() {
        Random rnd = new Random(6);
        Winograd.Tile generic = new Winograd.Tile("F2 generic", 2, Winograd.F2.bt(), Winograd.F2.g(), Winograd.F2.at());
        for (ConvGeom g : new ConvGeom[] {new ConvGeom(3, 5, 9, 7, 6, 3, 3, 1, 1), new ConvGeom(2, 4, 13, 8, 3, 3, 3, 1, 0), new ConvGeom(1, 2, 1, 5, 3, 3, 3, 1, 2),
                // rows of 35 and 20 tiles: the vector loops of the strip transforms and their tails, at every width
                new ConvGeom(2, 3, 6, 69, 4, 3, 3, 1, 1), new ConvGeom(1, 2, 5, 40, 3, 3, 3, 1, 0)}) {
            float[] x = rand(rnd, g.batch() * g.inC() * g.inH() * g.inW()), w = rand(rnd, g.outC() * g.inC() * 9);
            float[] dy = rand(rnd, g.batch() * g.outC() * g.outH() * g.outW()), bias = rand(rnd, g.outC());
            float[][] got = new float[2][], want = new float[2][];
            for (int v = 0; v < 2; v++) {
                Winograd.Tile f = v == 0 ? Winograd.F2 : generic;
                float[] y = new float[dy.length], dx = new float[x.length], dw = new float[w.length];
                Winograd.forward(x, w, bias, y, g, f, false);
                Winograd.backwardData(dy, w, dx, g, f, false);
                Winograd.backwardFilter(x, dy, dw, null, g, false, f, false);
                float[] all = new float[y.length + dx.length + dw.length];
                System.arraycopy(y, 0, all, 0, y.length);
                System.arraycopy(dx, 0, all, y.length, dx.length);
                System.arraycopy(dw, 0, all, y.length + dx.length, dw.length);
                if (v == 0) got[0] = all;
                else want[0] = all;
            }
            for (int i = 0; i < got[0].length; i++)
                assertEquals(Float.floatToRawIntBits(want[0][i]), Float.floatToRawIntBits(got[0][i]), g + " differs at " + i + " (y, then dx, then dw)");
        }
    }

    /** The ops run once on the caller's pool and once inside a one-thread pool, where every parallel split runs serially. */
    @Test void resultsDoNotDependOnTheThreadCount() throws Exception {
        Random rnd = new Random(5);
        // F(2x2): two groups of tiles (the weight gradient's second adds into S), F(4x4): one
        ConvGeom g = new ConvGeom(6, 240, 19, 17, 24, 3, 3, 1, 1);
        float[] x = rand(rnd, 6 * 240 * 19 * 17), w = rand(rnd, 24 * 240 * 9), dy = rand(rnd, 6 * 24 * 19 * 17), bias = rand(rnd, 24);
        assertTrue(Winograd.tilesPerGroup(Winograd.F2, 240, 24, 6 * 10 * 9) < 6 * 10 * 9);
        for (Winograd.Tile f : new Winograd.Tile[] {Winograd.F2, Winograd.F4}) {
            Supplier<float[][]> run = () -> {
                float[] y = new float[dy.length], dx = new float[x.length], dw = rand(new Random(9), w.length), db = new float[24];
                Winograd.forward(x, w, bias, y, g, f, false);
                Winograd.backwardData(dy, w, dx, g, f, false);
                Winograd.backwardFilter(x, dy, dw, db, g, true, f, false);
                return new float[][] {y, dx, dw, db};
            };
            float[][] many = run.get();
            ForkJoinPool one = new ForkJoinPool(1);
            float[][] single;
            try {
                single = one.submit(run::get).get();
            } finally {
                one.shutdown();
            }
            String[] names = {"forward", "backwardData", "backwardFilter dw", "backwardFilter dbias"};
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < many[i].length; j++)
                    assertEquals(Float.floatToRawIntBits(many[i][j]), Float.floatToRawIntBits(single[i][j]),
                            f.name() + " " + names[i] + " differs at " + j + " between " + Parallel.threads() + " threads and 1");
        }
    }
}
