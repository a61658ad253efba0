package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import locallearn.backend.ConvGeom;
import org.junit.jupiter.api.Test;

/**
 * The direct weight gradient's two splits (Conv.backwardFilterGemm): one GEMM over the whole
 * batch up to ONE_GEMM_PIXELS pixels, fixed groups of images above, against the sum in double
 * over the column matrix (Conv.im2col, the plain oracle). Tolerance: a float sum of n products
 * is off by at most about n eps sum |dy||x| (eps = 2^-24), taken twice as margin; a wrong image,
 * pixel or tap is off by about the size of a product, far above it.
 */
class FilterGradientSplitTest {
    // batch, in channels, height, width, out channels, kernel, stride, pad: one GEMM (<= 1024 pixels) and groups (more)
    private static final int[][] SHAPES = {
        {8, 5, 4, 4, 6, 3, 1, 1}, {3, 4, 7, 9, 5, 3, 1, 0}, {16, 3, 8, 8, 4, 3, 1, 1}, {1, 2, 9, 11, 3, 3, 2, 1},
        {17, 3, 8, 8, 4, 3, 1, 1}, {5, 4, 15, 13, 6, 3, 1, 1}, {12, 3, 20, 20, 2, 3, 2, 1}, {4, 3, 20, 20, 5, 3, 1, 1}, {6, 2, 12, 12, 7, 1, 1, 0},
    };

    @Test void bothSplitsMatchTheColumnMatrixSumAndAccumulate() {
        Random rnd = new Random(11);
        boolean oneGemm = false, groups = false;
        for (int[] s : SHAPES) {
            ConvGeom g = new ConvGeom(s[0], s[1], s[2], s[3], s[4], s[5], s[5], s[6], s[7]);
            boolean small = (long) g.batch() * g.outH() * g.outW() <= Conv.ONE_GEMM_PIXELS;
            oneGemm |= small;
            groups |= !small;
            int k = g.outC(), ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW();
            float[] x = rand(rnd, g.batch() * g.inC() * g.inH() * g.inW()), dy = rand(rnd, g.batch() * k * p);
            double[] want = new double[k * ckk], mag = new double[k * ckk];
            float[] col = new float[ckk * p];
            for (int b = 0; b < g.batch(); b++) {
                Conv.im2col(x, b * g.inC() * g.inH() * g.inW(), g, col);
                for (int o = 0; o < k; o++)
                    for (int r = 0; r < ckk; r++)
                        for (int q = 0; q < p; q++) {
                            double t = (double) dy[(b * k + o) * p + q] * col[r * p + q];
                            want[o * ckk + r] += t;
                            mag[o * ckk + r] += Math.abs(t);
                        }
            }
            double tol = 2.0 * g.batch() * p * Math.ulp(1f) / 2;
            for (boolean acc : new boolean[] {false, true}) {
                float[] start = acc ? rand(rnd, k * ckk) : new float[k * ckk], got = start.clone();
                if (!acc) java.util.Arrays.fill(got, Float.NaN); // overwritten, never read
                Conv.backwardFilterGemm(x, dy, got, null, g, acc, false);
                for (int i = 0; i < got.length; i++) {
                    double w = want[i] + (acc ? start[i] : 0);
                    assertEquals(w, got[i], tol * (mag[i] + Math.abs(start[i])) + 1e-30, "element " + i + " of " + g + " accumulate=" + acc);
                }
                // the same bits run to run
                float[] again = start.clone();
                Conv.backwardFilterGemm(x, dy, again, null, g, acc, false);
                assertArrayEquals(got, again, g.toString());
            }
        }
        assertTrue(oneGemm && groups, "the shapes take both splits");
    }
}
