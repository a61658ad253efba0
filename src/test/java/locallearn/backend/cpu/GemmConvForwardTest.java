package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.*;

import java.util.Random;
import locallearn.backend.ConvGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * GEMM and convolution forward against the definitions, summed in double. Tolerance: a float
 * dot product of length k with terms of order 1 has rounding error of order sqrt(k) eps_float
 * (random walk), about 1e-5 for k ~ 1000; atol 1e-4 + rtol 1e-4 leaves margin for blocked
 * summation orders while any indexing error gives errors of order 1.
 */
class GemmConvForwardTest {
    final CpuBackend be = new CpuBackend();
    final Random rnd = new Random(7);
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    static double[] gemmRef(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob, float beta,
                            float[] c, int oc) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double) (ta ? a[oa + p * m + i] : a[oa + i * k + p]) * (tb ? b[ob + j * k + p] : b[ob + p * n + j]);
                out[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * (double) c[oc + i * n + j]);
            }
        return out;
    }

    @Test void gemmAllTransposesOddSizesAlphaBeta() {
        int[][] sizes = {{1, 1, 1}, {3, 7, 5}, {7, 3, 129}, {129, 31, 17}, {64, 65, 66}, {1, 200, 3}, {200, 1, 9}, {33, 47, 0}};
        for (int[] s : sizes)
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                float[] a = rand(rnd, m * k), b = rand(rnd, k * n), c = rand(rnd, m * n);
                for (float beta : new float[] {0f, 1f, -0.5f}) {
                    Tensor ct = t(be, c, m, n);
                    be.gemm(ta, tb, m, n, k, 1.5f, t(be, a, m * k), t(be, b, k * n), beta, ct);
                    near("gemm ta=" + ta + " tb=" + tb + " " + m + "x" + n + "x" + k + " beta=" + beta,
                            gemmRef(ta, tb, m, n, k, 1.5f, a, 0, b, 0, beta, c, 0), be.read(ct), 1e-4, 1e-4);
                }
            }
    }

    /** The packed kernel directly (the public op sends tiny products to the plain loop), on sizes that leave partial tiles. */
    @Test void packedGemmMatchesDefinitionOnEdgeTiles() {
        // the last two are split over the threads, by rows and by columns
        int[][] sizes = {{1, 1, 1}, {5, 31, 3}, {7, 33, 257}, {13, 65, 300}, {130, 3, 513}, {6, 32, 256}, {121, 97, 1}, {301, 37, 300}, {9, 2400, 101}};
        for (int[] s : sizes)
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                float[] a = rand(rnd, m * k), b = rand(rnd, k * n), c = rand(rnd, m * n), got = c.clone();
                Gemm.gemmFast(ta, tb, m, n, k, -0.75f, a, 0, b, 0, 0.5f, got, 0);
                near("gemmFast ta=" + ta + " tb=" + tb + " " + m + "x" + n + "x" + k,
                        gemmRef(ta, tb, m, n, k, -0.75f, a, 0, b, 0, 0.5f, c, 0), got, 1e-4, 1e-4);
            }
    }

    /** A packed once and used for several products gives the bits of packing it in each product (k over two KC-blocks, m a partial sliver). */
    @Test void prepackedAMatchesPackingInEachProduct() {
        for (int[] s : new int[][] {{1, 1, 1}, {7, 33, 257}, {13, 65, 600}, {130, 3, 513}}) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean ta : new boolean[] {false, true}) {
                float[] a = rand(rnd, m * k), b = rand(rnd, k * n), c = rand(rnd, m * n), want = c.clone(), got = c.clone();
                Gemm.gemmFast(ta, false, m, n, k, 0.5f, a, 0, b, 0, 0.25f, want, 0);
                Gemm.gemm(Gemm.pack(ta, m, k, 0.5f, a, 0), n, Gemm.dense(k, n, b, 0), 0.25f, got, 0);
                org.junit.jupiter.api.Assertions.assertArrayEquals(want, got, 0f, "packed A " + m + "x" + n + "x" + k + " transA=" + ta);
            }
        }
    }

    /**
     * With beta 0 the packed path adds the first KC-block's sums to zeros instead of clearing C and
     * adding to it: every element is written (NaN in C does not survive), and the bits are those of
     * adding to a cleared C (beta 1 over +0), edge tiles and later KC-blocks included.
     */
    @Test void packedGemmWithZeroBetaStoresWhatAddingToZeroGives() {
        int[][] sizes = {{1, 1, 1}, {5, 31, 3}, {7, 33, 257}, {130, 3, 513}, {6, 32, 256}, {301, 37, 300}, {9, 2400, 101}};
        for (int[] s : sizes)
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                float[] a = rand(rnd, m * k), b = rand(rnd, k * n), got = new float[m * n], want = new float[m * n];
                java.util.Arrays.fill(got, Float.NaN);
                Gemm.gemmFast(ta, tb, m, n, k, -0.75f, a, 0, b, 0, 0f, got, 0);
                Gemm.gemmFast(ta, tb, m, n, k, -0.75f, a, 0, b, 0, 1f, want, 0);
                org.junit.jupiter.api.Assertions.assertArrayEquals(want, got, 0f, "beta 0, ta=" + ta + " tb=" + tb + " " + m + "x" + n + "x" + k);
            }
    }

    /** The bias gradient is each channel's double sum in the order (image, pixel), bit for bit: odd channel counts, split over the threads, accumulating. */
    @Test void biasGradientIsEachChannelsOrderedDoubleSum() {
        // the last geometry has 2 * 257 * 1024 elements: enough for two parts, not a multiple of 4 channels
        for (ConvGeom g : new ConvGeom[] {new ConvGeom(1, 1, 1, 1, 1, 1, 1, 1, 0), new ConvGeom(3, 2, 5, 3, 7, 1, 1, 1, 0),
                new ConvGeom(2, 3, 4, 4, 129, 1, 1, 1, 0), new ConvGeom(2, 1, 32, 32, 257, 1, 1, 1, 0)})
            for (boolean accumulate : new boolean[] {false, true}) {
                int k = g.outC(), p = g.outH() * g.outW();
                float[] dy = rand(rnd, g.batch() * k * p), got = rand(rnd, k), want = got.clone();
                for (int o = 0; o < k; o++) {
                    double s = 0;
                    for (int b = 0; b < g.batch(); b++)
                        for (int q = 0; q < p; q++) s += dy[(b * k + o) * p + q];
                    want[o] = accumulate ? (float) (want[o] + s) : (float) s;
                }
                Conv.biasGradient(dy, got, g, accumulate);
                org.junit.jupiter.api.Assertions.assertArrayEquals(want, got, 0f, "bias gradient " + g + " accumulate=" + accumulate);
            }
    }

    @Test void gemmZeroBetaIgnoresNaNInC() {
        float[] a = rand(rnd, 6), b = rand(rnd, 6);
        Tensor c = be.allocate(2, 2);
        be.fill(c, Float.NaN);
        be.gemm(false, false, 2, 2, 3, 1f, t(be, a, 2, 3), t(be, b, 3, 2), 0f, c);
        near("gemm beta=0 over NaN", gemmRef(false, false, 2, 2, 3, 1f, a, 0, b, 0, 0f, null, 0), be.read(c), 1e-6, 1e-6);
    }

    @Test void stridedBatchedGemm() {
        int batch = 3, m = 5, n = 4, k = 6;
        long sa = m * k + 2, sb = 0, sc = m * n + 1; // padded A, B shared by every product
        float[] a = rand(rnd, (int) (batch * sa)), b = rand(rnd, k * n), c = rand(rnd, (int) (batch * sc));
        Tensor ct = t(be, c, c.length);
        be.gemm(true, false, m, n, k, 1f, t(be, a, a.length), t(be, b, b.length), 1f, ct, batch, sa, sb, sc);
        float[] got = be.read(ct);
        for (int i = 0; i < batch; i++) {
            float[] slice = java.util.Arrays.copyOfRange(got, (int) (i * sc), (int) (i * sc) + m * n);
            near("batched gemm " + i, gemmRef(true, false, m, n, k, 1f, a, (int) (i * sa), b, 0, 1f, c, (int) (i * sc)), slice, 1e-5, 1e-5);
            if (i < batch - 1) near("gap after product " + i, new float[] {c[(int) (i * sc) + m * n]}, new float[] {got[(int) (i * sc) + m * n]}, 0, 0);
        }
    }

    /** Direct convolution from PyTorch's definition: y[b,k,oy,ox] = bias[k] + sum_c,i,j w[k,c,i,j] x[b,c,oy*s-p+i,ox*s-p+j]. */
    static double[] convRef(float[] x, float[] w, float[] bias, ConvGeom g) {
        int oh = g.outH(), ow = g.outW();
        double[] y = new double[g.batch() * g.outC() * oh * ow];
        for (int b = 0; b < g.batch(); b++)
            for (int k = 0; k < g.outC(); k++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double s = bias == null ? 0 : bias[k];
                        for (int c = 0; c < g.inC(); c++)
                            for (int i = 0; i < g.kh(); i++)
                                for (int j = 0; j < g.kw(); j++) {
                                    int iy = oy * g.stride() - g.pad() + i, ix = ox * g.stride() - g.pad() + j;
                                    if (iy < 0 || iy >= g.inH() || ix < 0 || ix >= g.inW()) continue;
                                    s += (double) w[((k * g.inC() + c) * g.kh() + i) * g.kw() + j]
                                            * x[((b * g.inC() + c) * g.inH() + iy) * g.inW() + ix];
                                }
                        y[((b * g.outC() + k) * oh + oy) * ow + ox] = s;
                    }
        return y;
    }

    @Test void conv2dForwardMatchesDirectConvolution() {
        ConvGeom[] gs = {new ConvGeom(1, 1, 1, 1, 1, 1, 1, 1, 0), new ConvGeom(3, 3, 7, 7, 5, 3, 3, 1, 1), new ConvGeom(2, 5, 9, 6, 7, 3, 3, 2, 1),
                new ConvGeom(1, 3, 8, 8, 4, 5, 5, 1, 2), new ConvGeom(2, 16, 13, 11, 33, 3, 3, 1, 1), new ConvGeom(1, 2, 5, 5, 3, 2, 4, 3, 0),
                GROUPS_OF_TWO, ONE_GROUP};
        for (ConvGeom g : gs)
            for (boolean withBias : new boolean[] {true, false}) {
                float[] x = rand(rnd, g.batch() * g.inC() * g.inH() * g.inW()), w = rand(rnd, g.outC() * g.inC() * g.kh() * g.kw());
                float[] bias = withBias ? rand(rnd, g.outC()) : null;
                Tensor y = be.allocate(g.batch(), g.outC(), g.outH(), g.outW());
                be.fill(y, Float.NaN);
                be.conv2dForward(t(be, x, g.batch(), g.inC(), g.inH(), g.inW()), t(be, w, g.outC(), g.inC(), g.kh(), g.kw()),
                        withBias ? t(be, bias, g.outC()) : null, y, g);
                near("conv2dForward " + g + " bias=" + withBias, convRef(x, w, bias, g), be.read(y), 1e-4, 1e-4);
            }
    }

    /** 16x16 maps: 256 columns an image, so forward and backward-data multiply 2 images per GEMM: groups of 2, 2 and 1. */
    private static final ConvGeom GROUPS_OF_TWO = new ConvGeom(5, 3, 16, 16, 4, 3, 3, 1, 1);
    /** 4x4 maps: all 7 images in one GEMM. */
    private static final ConvGeom ONE_GROUP = new ConvGeom(7, 4, 4, 4, 6, 3, 3, 1, 1);

    /** backward-data is the adjoint of forward: sum(conv(x) dy) = sum(x convT(dy)), with one image per GEMM and grouped. */
    @Test void conv2dBackwardDataIsTheAdjointOfForward() {
        for (ConvGeom g : new ConvGeom[] {new ConvGeom(3, 3, 7, 7, 5, 3, 3, 1, 1), new ConvGeom(2, 5, 9, 6, 7, 3, 3, 2, 1), GROUPS_OF_TWO, ONE_GROUP,
                new ConvGeom(2, 8, 32, 32, 4, 3, 3, 1, 1), new ConvGeom(5, 3, 8, 8, 4, 3, 3, 2, 1), new ConvGeom(2, 3, 9, 9, 5, 5, 5, 1, 1)}) {
            float[] x = rand(rnd, g.batch() * g.inC() * g.inH() * g.inW()), w = rand(rnd, g.outC() * g.inC() * g.kh() * g.kw());
            float[] dy = rand(rnd, g.batch() * g.outC() * g.outH() * g.outW());
            double[] y = convRef(x, w, null, g);
            Tensor dx = be.allocate(g.batch(), g.inC(), g.inH(), g.inW());
            be.fill(dx, Float.NaN);
            be.conv2dBackwardData(t(be, dy, g.batch(), g.outC(), g.outH(), g.outW()), t(be, w, g.outC(), g.inC(), g.kh(), g.kw()), dx, g);
            float[] dxs = be.read(dx);
            double lhs = 0, rhs = 0, scale = 0;
            for (int i = 0; i < y.length; i++) {
                lhs += (double) y[i] * dy[i];
                scale += Math.abs((double) y[i] * dy[i]);
            }
            for (int i = 0; i < x.length; i++) rhs += (double) x[i] * dxs[i];
            // float32 dx against double sums: 1e-5 of the sum of absolute terms
            org.junit.jupiter.api.Assertions.assertEquals(lhs, rhs, 1e-5 * scale, "conv2dBackwardData " + g);
        }
    }
}
