package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;
import locallearn.backend.ConvAlgorithm;
import locallearn.backend.ConvGeom;
import locallearn.config.Precision;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The CPU twin of TF32: the rounding itself, and that gemm and the three convolutions in TF32 are
 * exactly the float32 ops of TF32-rounded inputs (the rounding sits where the data is packed, so
 * nothing else in the sums moves), whichever algorithm the convolution takes.
 */
class Tf32Test {
    static float bits(int b) { return Float.intBitsToFloat(b); }

    @Test void roundsToTheNearestTf32NumberWithTiesAwayFromZero() {
        // 1 + m 2^-23: TF32 keeps m's top 10 bits; half a TF32 ulp is 2^-11 = 0x1000 in the low bits
        assertEquals(1f + 0x1p-10f, Tf32.round(1f + 0x1p-11f), 0f);                  // a tie goes away from zero
        assertEquals(1f, Tf32.round(1f + 0x1p-11f - 0x1p-23f), 0f);                     // just below half: down
        assertEquals(1f + 0x1p-10f, Tf32.round(1f + 0x1p-11f + 0x1p-23f), 0f);
        assertEquals(-(1f + 0x1p-9f), Tf32.round(-(1f + 3 * 0x1p-11f)), 0f);          // tie between 1+2^-10 and 1+2^-9, negative
        assertEquals(2f, Tf32.round(2f - 0x1p-23f), 0f);                                // the carry steps the exponent
        assertEquals(bits(0x2000), Tf32.round(bits(0x1000)), 0f);                       // subnormals round the same way
        assertEquals(0f, Tf32.round(Float.MIN_VALUE), 0f);
        assertEquals(Float.POSITIVE_INFINITY, Tf32.round(Float.MAX_VALUE), 0f);         // above the largest TF32 number
        assertEquals(Float.NEGATIVE_INFINITY, Tf32.round(Float.NEGATIVE_INFINITY), 0f);
        assertTrue(Float.isNaN(Tf32.round(bits(0x7f800001))), "a NaN whose payload sits in the cleared bits stays NaN");
        assertEquals(0.5f, Tf32.round(0.5f), 0f);
    }

    @Test void roundingKeepsElevenSignificantBitsWithinHalfAnUlp() {
        Random r = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(40) - 20));
            float t = Tf32.round(x);
            assertEquals(0, Float.floatToRawIntBits(t) & 0x1fff, "13 low bits cleared: " + x);
            assertTrue(Math.abs((double) t - x) <= 0x1p-11 * Math.abs(x), x + " -> " + t);
            assertEquals(t, Tf32.round(t), 0f); // idempotent
        }
    }

    private static float[] rounded(float[] a) {
        float[] r = a.clone();
        Tf32.round(r, 0, r.length);
        return r;
    }

    /** What {@code op} computes on a backend from inputs given as arrays, read back. */
    private static float[] run(CpuBackend be, Function<CpuBackend, Tensor> op) {
        try (Scope _ = Scope.open()) {
            return be.read(op.apply(be));
        }
    }

    private static Tensor t(CpuBackend be, float[] v, int... dims) { return Check.t(be, v, dims); }

    @Test void tf32GemmIsTheFloat32GemmOfRoundedInputsBitForBit() {
        CpuBackend fp32 = new CpuBackend(ConvAlgorithm.AUTO, Precision.FP32), tf32 = new CpuBackend(ConvAlgorithm.AUTO, Precision.TF32);
        Random r = new Random(1);
        // above Gemm's SMALL (4096 multiply-adds), where both take the packed path; odd sizes leave partial tiles
        for (int[] s : new int[][] {{37, 29, 53}, {7, 300, 129}, {130, 1, 257}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = rand(r, m * k), b = rand(r, k * n), c = rand(r, m * n);
            for (int tr = 0; tr < 4; tr++) {
                boolean ta = (tr & 1) != 0, tb = (tr & 2) != 0;
                float[] want = run(fp32, be -> {
                    Tensor tc = t(be, c, m, n);
                    be.gemm(ta, tb, m, n, k, 1.5f, t(be, rounded(a), m * k), t(be, rounded(b), k * n), 0.5f, tc);
                    return tc;
                });
                float[] got = run(tf32, be -> {
                    Tensor tc = t(be, c, m, n);
                    be.gemm(ta, tb, m, n, k, 1.5f, t(be, a, m * k), t(be, b, k * n), 0.5f, tc);
                    return tc;
                });
                assertArrayEquals(want, got, "m=" + m + " n=" + n + " k=" + k + " tA=" + ta + " tB=" + tb);
            }
        }
    }

    @Test void tf32ConvolutionsAreTheFloat32OnesOfRoundedInputsBitForBit() {
        ConvGeom[] geoms = {
            new ConvGeom(3, 5, 9, 7, 6, 3, 3, 1, 1),    // Winograd where asked, implicit GEMM otherwise
            new ConvGeom(2, 16, 12, 12, 24, 3, 3, 1, 1),
            new ConvGeom(2, 3, 11, 10, 4, 5, 3, 2, 2),  // strided: backward-data through col2im
            new ConvGeom(4, 6, 8, 8, 3, 1, 1, 1, 0),
            new ConvGeom(3, 7, 9, 9, 1, 3, 3, 2, 1),    // one output channel: the filter gradient's window sum
        };
        Random r = new Random(2);
        for (ConvAlgorithm alg : new ConvAlgorithm[] {ConvAlgorithm.DIRECT, ConvAlgorithm.WINOGRAD}) {
            CpuBackend fp32 = new CpuBackend(alg, Precision.FP32), tf32 = new CpuBackend(alg, Precision.TF32);
            for (ConvGeom g : geoms) {
                int[] xd = {g.batch(), g.inC(), g.inH(), g.inW()}, wd = {g.outC(), g.inC(), g.kh(), g.kw()},
                        yd = {g.batch(), g.outC(), g.outH(), g.outW()};
                float[] x = rand(r, xd[0] * xd[1] * xd[2] * xd[3]), w = rand(r, wd[0] * wd[1] * wd[2] * wd[3]),
                        dy = rand(r, yd[0] * yd[1] * yd[2] * yd[3]), bias = rand(r, g.outC());
                String what = alg + " " + g;
                // bias is added to the sums, not multiplied: it is not rounded
                assertArrayEquals(run(fp32, be -> forward(be, rounded(x), rounded(w), bias, g)), run(tf32, be -> forward(be, x, w, bias, g)),
                        "forward " + what);
                assertArrayEquals(run(fp32, be -> backwardData(be, rounded(dy), rounded(w), g)), run(tf32, be -> backwardData(be, dy, w, g)),
                        "backward data " + what);
                assertArrayEquals(run(fp32, be -> backwardFilter(be, rounded(x), rounded(dy), g)), run(tf32, be -> backwardFilter(be, x, dy, g)),
                        "backward filter " + what);
            }
        }
    }

    private static Tensor forward(CpuBackend be, float[] x, float[] w, float[] bias, ConvGeom g) {
        Tensor y = be.allocate(g.batch(), g.outC(), g.outH(), g.outW());
        be.conv2dForward(t(be, x, g.batch(), g.inC(), g.inH(), g.inW()), t(be, w, g.outC(), g.inC(), g.kh(), g.kw()), t(be, bias, g.outC()), y, g);
        return y;
    }

    private static Tensor backwardData(CpuBackend be, float[] dy, float[] w, ConvGeom g) {
        Tensor dx = be.allocate(g.batch(), g.inC(), g.inH(), g.inW());
        be.conv2dBackwardData(t(be, dy, g.batch(), g.outC(), g.outH(), g.outW()), t(be, w, g.outC(), g.inC(), g.kh(), g.kw()), dx, g);
        return dx;
    }

    private static Tensor backwardFilter(CpuBackend be, float[] x, float[] dy, ConvGeom g) {
        Tensor dw = be.allocate(g.outC(), g.inC(), g.kh(), g.kw());
        be.conv2dBackwardFilter(t(be, x, g.batch(), g.inC(), g.inH(), g.inW()), t(be, dy, g.batch(), g.outC(), g.outH(), g.outW()), dw, null, g, false);
        return dw;
    }

    /**
     * TF32 moves each input by at most 2^-11 of itself, so each product by at most
     * (1 + 2^-11)^2 - 1 < 2^-10 of |a||b|, and a sum of k products by 2^-10 sum |a||b|, plus the
     * float32 sums' own k 2^-24 sum |a||b| on either side. The bound is checked per element with
     * sum |a||b| taken in double; that TF32 moved the result at all is checked too.
     */
    @Test void tf32MovesAGemmWithinTheFormatsBound() {
        int m = 33, n = 65, k = 300;
        Random r = new Random(4);
        float[] a = rand(r, m * k), b = rand(r, k * n);
        float[] fp32 = run(new CpuBackend(ConvAlgorithm.AUTO, Precision.FP32), be -> product(be, a, b, m, n, k));
        float[] tf32 = run(new CpuBackend(ConvAlgorithm.AUTO, Precision.TF32), be -> product(be, a, b, m, n, k));
        int moved = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double mag = 0;
                for (int p = 0; p < k; p++) mag += Math.abs((double) a[i * k + p] * b[p * n + j]);
                double diff = Math.abs((double) tf32[i * n + j] - fp32[i * n + j]);
                assertTrue(diff <= (0x1p-10 + 2 * k * 0x1p-24) * mag, "c[" + i + "," + j + "]: tf32 " + tf32[i * n + j] + " fp32 " + fp32[i * n + j]);
                if (diff > 0) moved++;
            }
        assertTrue(moved > m * n / 2, "TF32 changed only " + moved + " of " + m * n + " outputs");
    }

    private static Tensor product(CpuBackend be, float[] a, float[] b, int m, int n, int k) {
        Tensor c = be.allocate(m, n);
        be.gemm(false, false, m, n, k, 1f, t(be, a, m, k), t(be, b, k, n), 0f, c);
        return c;
    }

    @Test void describeSaysTf32() {
        assertTrue(new CpuBackend(ConvAlgorithm.AUTO, Precision.TF32).describe().endsWith("tf32 (gemm and conv inputs rounded to 10 mantissa bits)"));
        assertEquals(Precision.FP32, new CpuBackend().precision());
    }
}
