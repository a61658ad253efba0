package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * bfloat16 on the CPU: the rounding (to nearest, ties to even, as the GPU's cvt.rn.bf16.f32),
 * the vector conversions against the scalar ones, ops on bf16 tensors against the float ops on
 * the rounded values (the twin's promise: the same values in, one rounding out), the dtype rules
 * the boundary enforces, and the bytes the allocator counts.
 */
class Bf16Test {
    final CpuBackend be = new CpuBackend();
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    /**
     * The nearest bf16 by exact arithmetic: f lies between its truncation and the next bf16 away
     * from zero (2^128 past the largest finite one, which rounds to infinity), and double holds
     * both distances exactly.
     */
    private static short nearest(float f) {
        short down = (short) (Float.floatToRawIntBits(f) >>> 16), up = (short) (down + 1);
        double lo = DType.widen(down), hi = Float.isInfinite(DType.widen(up)) ? Math.copySign(0x1.0p128, f) : DType.widen(up);
        int c = Double.compare(Math.abs(f - lo), Math.abs(hi - f));
        return c < 0 || c == 0 && (down & 1) == 0 ? down : up;
    }

    @Test void roundsToNearestTiesToEven() {
        assertEquals((short) 0x3f80, DType.round(1f));
        assertEquals(1f, DType.roundTrip(1f + 0x1.0p-8f), "halfway between 1 and 1 + 2^-7: the even one");
        assertEquals(1f + 0x1.0p-6f, DType.roundTrip(1f + 3 * 0x1.0p-8f), "halfway, odd below: up");
        assertEquals(1f + 0x1.0p-7f, DType.roundTrip(1f + 0x1.0p-8f + 0x1.0p-23f), "just past halfway: up");
        assertEquals(Float.POSITIVE_INFINITY, DType.roundTrip(Float.MAX_VALUE), "past the largest bf16 plus half an ulp");
        assertEquals(Float.NEGATIVE_INFINITY, DType.roundTrip(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(DType.roundTrip(Float.NaN)));
        assertTrue(Float.isNaN(DType.roundTrip(Float.intBitsToFloat(0x7f800001))), "a NaN whose payload would round to infinity stays NaN");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(DType.roundTrip(-0f)));
        Random r = new Random(1);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(f) || Float.isInfinite(f)) continue;
            assertEquals(nearest(f), DType.round(f), () -> "round(" + f + ")");
        }
    }

    /** Every bf16 pattern widens and rounds back to itself; the vector loops agree with the scalar ones on odd lengths. */
    @Test void vectorConversionsMatchScalar() {
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] wide = new float[all.length];
        Bf16.widen(all, wide, all.length);
        short[] back = new short[all.length];
        Bf16.round(wide, back, all.length);
        for (int i = 0; i < all.length; i++) {
            assertEquals(Float.floatToRawIntBits(DType.widen(all[i])), Float.floatToRawIntBits(wide[i]), "widen " + i);
            if (!Float.isNaN(wide[i])) assertEquals(all[i], back[i], "round trip " + i);
            else assertTrue(Float.isNaN(DType.widen(back[i])));
        }
        Random r = new Random(2);
        for (int n : new int[] {1, 3, 7, 17, 129, 1 << 19 | 5}) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) f[i] = i % 97 == 0 ? Float.intBitsToFloat(r.nextInt()) : (float) r.nextGaussian() * 100;
            short[] h = new short[n];
            Bf16.round(f, h, n);
            for (int i = 0; i < n; i++) assertEquals(DType.round(f[i]), h[i], "n=" + n + " i=" + i + " f=" + f[i]);
        }
    }

    private Tensor bf16(Random r, int... dims) {
        float[] v = new float[new Shape(dims).numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Check.bf16(be, v, dims);
    }

    /**
     * An op on bf16 tensors is the float op on their values, its outputs rounded once: bit for
     * bit. Twice, so the second round runs on float arrays the first left behind (an op that did
     * not overwrite all of an output it declares overwritten would show their stale values).
     */
    @Test void opsOnBf16AreTheFloatOpsRoundedOnce() {
        for (int round = 0; round < 2; round++) opsOnBf16(new Random(3 + round));
    }

    private void opsOnBf16(Random r) {
        ConvGeom g = new ConvGeom(3, 5, 7, 9, 6, 3, 3, 1, 1);
        Tensor x = bf16(r, 3, 5, 7, 9), w = bf16(r, 6, 5, 3, 3), bias = be.allocate(6);
        be.write(bias, new float[] {0.5f, -1f, 2f, 0.25f, 0f, 3f});
        Tensor y = be.allocate(new Shape(3, 6, 7, 9), DType.BF16), yf = be.allocate(3, 6, 7, 9);
        be.conv2dForward(x, w, bias, y, g);
        be.conv2dForward(Check.wide(be, x), Check.wide(be, w), bias, yf, g);
        assertArrayEquals(Check.rounded(be.read(yf)), be.read(y), "conv2dForward");

        // in place (y == x) on bf16: one array for both arguments
        float[] before = be.read(y);
        be.leakyReluForward(y, y, 0.1f);
        float[] after = be.read(y);
        for (int i = 0; i < before.length; i++) assertEquals(DType.roundTrip(before[i] > 0 ? before[i] : 0.1f * before[i]), after[i], "leaky relu " + i);

        // a float32 weight gradient from bf16 operands: no rounding of the result
        Tensor dw = be.allocate(6, 5, 3, 3), dwf = be.allocate(6, 5, 3, 3);
        be.conv2dBackwardFilter(x, y, dw, null, g, false);
        be.conv2dBackwardFilter(Check.wide(be, x), Check.wide(be, y), dwf, null, g, false);
        assertArrayEquals(be.read(dwf), be.read(dw), "conv2dBackwardFilter into float32");

        // batch norm with float32 statistics on a bf16 map
        Tensor gamma = be.allocate(6), beta = be.allocate(6), rm = be.zeros(6), rv = be.zeros(6), mean = be.allocate(6), inv = be.allocate(6);
        be.fill(gamma, 1.5f);
        be.fill(beta, -0.5f);
        Tensor bnY = be.allocate(y.shape(), DType.BF16), bnYf = be.allocate(y.shape());
        be.batchNormForwardTrain(y, gamma, beta, rm, rv, 0.1f, 1e-5f, bnY, mean, inv);
        be.batchNormForwardTrain(Check.wide(be, y), gamma, beta, be.zeros(6), be.zeros(6), 0.1f, 1e-5f, bnYf, be.allocate(6), be.allocate(6));
        assertArrayEquals(Check.rounded(be.read(bnYf)), be.read(bnY), "batchNormForwardTrain");

        // a pool, and a copy into part of a bf16 buffer through a prefix view
        PoolGeom pg = PoolGeom.square(3, 6, 7, 9, 2, 2);
        Tensor p = be.allocate(new Shape(3, 6, pg.outH(), pg.outW()), DType.BF16), pf = be.allocate(3, 6, pg.outH(), pg.outW());
        be.maxPoolForward(bnY, p, pg);
        be.maxPoolForward(Check.wide(be, bnY), pf, pg);
        assertArrayEquals(be.read(pf), be.read(p), "max pool picks bf16 values: no rounding");
        Tensor buffer = be.allocate(new Shape(1000), DType.BF16);
        be.fill(buffer, 7f);
        Tensor head = buffer.prefix(5, 4);
        be.copyRange(p, 3, head, 2, 11);
        float[] got = be.read(buffer), src = be.read(p);
        for (int i = 0; i < 1000; i++) assertEquals(i >= 2 && i < 13 ? src[i + 1] : 7f, got[i], "copyRange into a prefix, element " + i);
    }

    /**
     * A product of bf16 operands widens B as Gemm packs it, without a float copy: the bits of the
     * product of the widened values, into a bf16 C (rounded once) or a float32 one. Both
     * transposes; edge panels, two KC-blocks, a tiny product (the plain loop, staged as before).
     */
    @Test void gemmOnBf16IsTheFloatProductOfTheWidenedValues() {
        Random r = new Random(5);
        for (int[] s : new int[][] {{3, 2, 4}, {7, 33, 257}, {32, 70, 300}, {13, 65, 129}})
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                Tensor a = ta ? bf16(r, k, m) : bf16(r, m, k), b = tb ? bf16(r, n, k) : bf16(r, k, n);
                Tensor c = be.allocate(new Shape(m, n), DType.BF16), c32 = be.allocate(m, n), want = be.allocate(m, n);
                be.gemm(ta, tb, m, n, k, 0.5f, a, b, 0f, c);
                be.gemm(ta, tb, m, n, k, 0.5f, a, b, 0f, c32);
                be.gemm(ta, tb, m, n, k, 0.5f, Check.wide(be, a), Check.wide(be, b), 0f, want);
                String what = m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb;
                assertArrayEquals(Check.rounded(be.read(want)), be.read(c), "bf16 C " + what);
                assertArrayEquals(be.read(want), be.read(c32), "float32 C " + what);
            }
    }

    @Test void copyConvertsBothWays() {
        float[] v = {1f + 0x1.0p-8f, 3.14159f, -1e-30f, 65504f, 1e38f};
        Tensor f = be.allocate(v.length), h = be.allocate(new Shape(v.length), DType.BF16), back = be.allocate(v.length);
        be.write(f, v);
        be.copy(f, h);
        be.copy(h, back);
        assertArrayEquals(Check.rounded(v), be.read(back));
        assertArrayEquals(Check.rounded(v), be.read(h));
        // ranges at offsets, past a vector's length, each way
        Random r = new Random(5);
        float[] big = new float[300];
        for (int i = 0; i < big.length; i++) big[i] = (float) r.nextGaussian();
        Tensor f2 = be.allocate(300), h2 = be.allocate(new Shape(300), DType.BF16), f3 = be.zeros(300);
        be.write(f2, big);
        be.fill(h2, 0f);
        be.copyRange(f2, 7, h2, 3, 201);
        be.copyRange(h2, 3, f3, 11, 201);
        float[] got = be.read(f3);
        for (int i = 0; i < 300; i++) assertEquals(i >= 11 && i < 212 ? DType.roundTrip(big[i - 4]) : 0f, got[i], "element " + i);
    }

    @Test void allocatorCountsTwoBytesAnElement() {
        be.resetPeakMemory();
        long before = be.memory().current();
        try (Tensor t = be.allocate(new Shape(3, 5, 7), DType.BF16)) {
            assertEquals(2L * 105, be.memory().current() - before);
            assertEquals(DType.BF16, t.view(105).dtype());
        }
        // a block pooled as bf16 serves a float tensor of its bytes (and back)
        try (Tensor t = be.allocate(new Shape(100), DType.BF16)) { be.fill(t, 2f); }
        try (Tensor t = be.allocate(50)) {
            be.fill(t, 3f);
            assertEquals(3f, be.read(t)[49]);
        }
    }

    @Test void theBoundaryKeepsParametersAndStatisticsFloat32() {
        Random r = new Random(4);
        Tensor a = bf16(r, 4, 3), b = be.allocate(3, 2), c = be.allocate(4, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.gemm(false, false, 4, 2, 3, 1f, a, b, 0f, c));
        assertEquals("gemm: a is BF16 and b is F32; a product takes operands of one dtype", e.getMessage());
        Tensor p = be.allocate(8), g = bf16(r, 8), m = be.zeros(8), v = be.zeros(8);
        e = assertThrows(IllegalArgumentException.class, () -> be.adamStep(p, g, m, v, null, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1));
        assertEquals("adamStep: grad (8,) is BF16, must be F32", e.getMessage());
        Tensor x = bf16(r, 2, 8), s = be.allocate(new Shape(2, 2), DType.BF16), xc = be.allocateLike(x), norm = be.allocate(2);
        e = assertThrows(IllegalArgumentException.class, () -> be.similarityForward(x, s, xc, norm));
        assertEquals("similarityForward: s (2, 2) is BF16, must be F32", e.getMessage());
    }
}
