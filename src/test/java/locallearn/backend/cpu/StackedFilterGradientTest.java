package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Arrays;
import java.util.Random;
import locallearn.backend.ConvGeom;
import org.junit.jupiter.api.Test;

/**
 * SlicedStep takes the encoder's two filter gradients over one x, x*da and x*xhat, as one filter
 * gradient of the output gradient [da; xhat] stacked per image (2K channels). Each output
 * channel of a filter gradient is summed on its own, in an order that depends on the images and
 * on the group sizes only: so the stacked result is bit for bit the two separate ones, for the
 * implicit GEMM always, and for Winograd when its tile groups come out the same for 2K channels
 * as for K (they are sized by the channel count, see Winograd.tilesPerGroup).
 */
class StackedFilterGradientTest {
    interface FilterGradient { void run(float[] x, float[] dy, float[] dw, float[] db, ConvGeom g, boolean accumulate); }

    private static final FilterGradient DIRECT = (x, dy, dw, db, g, acc) -> Conv.backwardFilter(x, dy, dw, db, g, acc, false);
    private static final FilterGradient WINOGRAD = (x, dy, dw, db, g, acc) -> Winograd.backwardFilter(x, dy, dw, db, g, acc, Winograd.F2, false);

    // batch, in channels, height, width, out channels K, kernel, stride, pad: odd sizes, edge tiles, a strided one
    private static final int[][] SHAPES = {
        {3, 5, 7, 9, 6, 3, 1, 1}, {2, 3, 11, 6, 4, 3, 1, 0}, {1, 7, 5, 5, 2, 3, 1, 1}, {5, 2, 4, 3, 3, 3, 1, 2}, {3, 4, 9, 10, 5, 3, 2, 1},
    };

    @Test void directIsBitIdentical() {
        for (int[] s : SHAPES) assertStackedEqualsSeparate(DIRECT, geom(s));
    }

    @Test void winogradIsBitIdenticalWhenItsTileGroupsAgree() {
        for (int[] s : SHAPES) {
            ConvGeom g = geom(s);
            if (g.stride() == 1) assertStackedEqualsSeparate(WINOGRAD, g);
        }
    }

    /**
     * With many channels the stacked call's tile groups are smaller (the groups' transforms share
     * a fixed scratch), so its tile sums are split differently: not the same bits, but Winograd's
     * bound against the exact sum, the one WinogradTest checks, still holds.
     */
    @Test void winogradWithOtherTileGroupsKeepsItsErrorBound() {
        ConvGeom g = new ConvGeom(2, 8, 32, 32, 600, 3, 3, 1, 1), two = stacked(g);
        int tiles = g.batch() * 16 * 16;
        assertNotEquals(Winograd.tilesPerGroup(Winograd.F2, 8, 600, tiles), Winograd.tilesPerGroup(Winograd.F2, 8, 1200, tiles));
        Random rnd = new Random(7);
        float[] x = rand(rnd, g.batch() * g.inC() * g.inH() * g.inW());
        float[] dy = rand(rnd, g.batch() * 2 * g.outC() * g.outH() * g.outW());
        float[] dw = new float[2 * g.outC() * g.inC() * 9];
        WINOGRAD.run(x, dy, dw, null, two, false);
        WinogradTest.assertNear("stacked " + two, WinogradTest.backwardFilterRef(x, dy, two), dw, WinogradTest.tol(Winograd.F2, tiles));
    }

    private static void assertStackedEqualsSeparate(FilterGradient f, ConvGeom g) {
        Random rnd = new Random(g.hashCode());
        int k = g.outC(), n = g.batch(), plane = g.outH() * g.outW(), wk = k * g.inC() * g.kh() * g.kw();
        float[] x = rand(rnd, n * g.inC() * g.inH() * g.inW()), da = rand(rnd, n * k * plane), xhat = rand(rnd, n * k * plane);
        float[] both = new float[2 * da.length];
        for (int b = 0; b < n; b++) {
            System.arraycopy(da, b * k * plane, both, 2 * b * k * plane, k * plane);
            System.arraycopy(xhat, b * k * plane, both, (2 * b + 1) * k * plane, k * plane);
        }
        for (boolean acc : new boolean[] {false, true}) {
            // accumulating: into earlier sums, as SlicedStep's slices after the first do
            float[] dwDa = acc ? rand(rnd, wk) : new float[wk], dwXhat = acc ? rand(rnd, wk) : new float[wk];
            float[] dbDa = acc ? rand(rnd, k) : new float[k], dbXhat = acc ? rand(rnd, k) : new float[k];
            float[] dw2 = concat(dwDa, dwXhat), db2 = concat(dbDa, dbXhat);
            f.run(x, da, dwDa, dbDa, g, acc);
            f.run(x, xhat, dwXhat, dbXhat, g, acc);
            f.run(x, both, dw2, db2, stacked(g), acc);
            String what = g + " accumulate=" + acc;
            assertArrayEquals(concat(dwDa, dwXhat), dw2, "weight gradient " + what);
            assertArrayEquals(concat(dbDa, dbXhat), db2, "bias gradient " + what);
        }
    }

    private static ConvGeom geom(int[] s) { return new ConvGeom(s[0], s[1], s[2], s[3], s[4], s[5], s[5], s[6], s[7]); }

    private static ConvGeom stacked(ConvGeom g) {
        return new ConvGeom(g.batch(), g.inC(), g.inH(), g.inW(), 2 * g.outC(), g.kh(), g.kw(), g.stride(), g.pad());
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
