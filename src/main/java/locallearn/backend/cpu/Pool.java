package locallearn.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import locallearn.backend.PoolGeom;

/**
 * Family "pool": max and average pooling over (B, C, H, W), floor mode. Max pooling ignores the
 * padding (PyTorch pads with -inf); average pooling counts it in the divisor kh*kw
 * (count_include_pad). Windows are clipped to the input, never to the padded border: with
 * padding at most half the kernel and floor mode, every window lies inside the padded input.
 *
 * <p>Threads take whole planes (b, c). Without padding every window lies inside the input, and
 * the fast paths drop the per-window clipping and the serial zeroing of dx (each plane is
 * cleared by the thread that fills it, while it is in cache); they visit windows and their
 * elements in the plain loops' order, so results are the same bits. The plain loops, general
 * in the padding, stay as the oracle ({@code -Dlocallearn.plainOps=true}) and run padded pools.
 * VGG's 2x2 stride-2 max pool runs as vectors: a pair of input rows is split into the four
 * window corners (even and odd lanes of each row) and the first maximum found lane by lane in
 * the window order; the backward routes dy through the same masks and interleaves the corners
 * back, writing every covered dx once.
 */
final class Pool {
    private Pool() {}

    /** Index into the image plane of the first maximum of window (oy, ox), -1 if the window holds only padding. */
    private static int argmax(float[] x, int plane, PoolGeom g, int oy, int ox) {
        int y0 = oy * g.sh() - g.ph(), x0 = ox * g.sw() - g.pw();
        int best = -1;
        float bv = Float.NEGATIVE_INFINITY;
        for (int i = Math.max(0, y0); i < Math.min(g.inH(), y0 + g.kh()); i++)
            for (int j = Math.max(0, x0); j < Math.min(g.inW(), x0 + g.kw()); j++) {
                float v = x[plane + i * g.inW() + j];
                if (best < 0 || v > bv || Float.isNaN(v) && !Float.isNaN(bv)) {
                    best = i * g.inW() + j;
                    bv = v;
                }
            }
        return best;
    }

    static void maxForwardPlain(float[] x, float[] y, PoolGeom g) { overPlanes(g, (pl0, pl1) -> maxForwardPlain(x, y, g, pl0, pl1)); }

    static void maxBackwardPlain(float[] x, float[] dy, float[] dx, PoolGeom g) { overPlanes(g, (pl0, pl1) -> maxBackwardPlain(x, dy, dx, g, pl0, pl1)); }

    static void avgForwardPlain(float[] x, float[] y, PoolGeom g) { overPlanes(g, (pl0, pl1) -> avgForwardPlain(x, y, g, pl0, pl1)); }

    static void avgBackwardPlain(float[] dy, float[] dx, PoolGeom g) { overPlanes(g, (pl0, pl1) -> avgBackwardPlain(dy, dx, g, pl0, pl1)); }

    /** The plain loops, kept as the oracle, over planes [pl0, pl1); a window never leaves its plane, so each plane is cleared on its own. */
    private static void maxForwardPlain(float[] x, float[] y, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), hw = g.inH() * g.inW();
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int a = argmax(x, pl * hw, g, oy, ox);
                    y[(pl * oh + oy) * ow + ox] = a < 0 ? Float.NEGATIVE_INFINITY : x[pl * hw + a];
                }
    }

    private static void maxBackwardPlain(float[] x, float[] dy, float[] dx, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), hw = g.inH() * g.inW();
        java.util.Arrays.fill(dx, pl0 * hw, pl1 * hw, 0f);
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int a = argmax(x, pl * hw, g, oy, ox);
                    if (a >= 0) dx[pl * hw + a] += dy[(pl * oh + oy) * ow + ox];
                }
    }

    private static void avgForwardPlain(float[] x, float[] y, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), hw = g.inH() * g.inW();
        float inv = 1f / (g.kh() * g.kw());
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int y0 = oy * g.sh() - g.ph(), x0 = ox * g.sw() - g.pw();
                    float s = 0;
                    for (int i = Math.max(0, y0); i < Math.min(g.inH(), y0 + g.kh()); i++)
                        for (int j = Math.max(0, x0); j < Math.min(g.inW(), x0 + g.kw()); j++) s += x[pl * hw + i * g.inW() + j];
                    y[(pl * oh + oy) * ow + ox] = s * inv;
                }
    }

    private static void avgBackwardPlain(float[] dy, float[] dx, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), hw = g.inH() * g.inW();
        float inv = 1f / (g.kh() * g.kw());
        java.util.Arrays.fill(dx, pl0 * hw, pl1 * hw, 0f);
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int y0 = oy * g.sh() - g.ph(), x0 = ox * g.sw() - g.pw();
                    float d = dy[(pl * oh + oy) * ow + ox] * inv;
                    for (int i = Math.max(0, y0); i < Math.min(g.inH(), y0 + g.kh()); i++)
                        for (int j = Math.max(0, x0); j < Math.min(g.inW(), x0 + g.kw()); j++) dx[pl * hw + i * g.inW() + j] += d;
                }
    }

    private static boolean inside(PoolGeom g) { return Lanes.FAST && g.ph() == 0 && g.pw() == 0; }

    /** Planes of one range of a parallel split: a GRAIN of input elements. */
    static int grain(PoolGeom g) { return Math.max(1, CpuBackend.GRAIN / (g.inH() * g.inW())); }

    /** Runs body over the planes (b, c) in parallel ranges. */
    private static void overPlanes(PoolGeom g, Parallel.Range body) { Parallel.range(g.batch() * g.channels(), grain(g), 1, body); }

    /** Whether v takes over as the window's maximum from bv: larger, or the first NaN (as argmax). */
    private static boolean beats(float v, float bv) { return v > bv | v != v & bv == bv; } // no short cut: one select, not three branches

    /** The index of the first maximum of the kh x kw window whose top-left element is x[base] (window inside the plane). */
    private static int argmaxInside(float[] x, int base, int inW, int kh, int kw) {
        if (kh == 2 && kw == 2) {
            // the VGG pool, unrolled: elements in the order (0,0), (0,1), (1,0), (1,1)
            int best = base;
            float bv = x[base], v1 = x[base + 1], v2 = x[base + inW], v3 = x[base + inW + 1];
            boolean t1 = beats(v1, bv);
            best = t1 ? base + 1 : best;
            bv = t1 ? v1 : bv;
            boolean t2 = beats(v2, bv);
            best = t2 ? base + inW : best;
            bv = t2 ? v2 : bv;
            return beats(v3, bv) ? base + inW + 1 : best;
        }
        int best = base;
        for (int i = 0; i < kh; i++)
            for (int j = 0, r = base + i * inW; j < kw; j++)
                if (beats(x[r + j], x[best])) best = r + j;
        return best;
    }

    static void maxForward(float[] x, float[] y, PoolGeom g) { overPlanes(g, (pl0, pl1) -> maxForward(x, y, g, pl0, pl1)); }

    /** Planes [pl0, pl1) of the op, by its fastest path for g. */
    static void maxForward(float[] x, float[] y, PoolGeom g, int pl0, int pl1) {
        if (!inside(g)) {
            maxForwardPlain(x, y, g, pl0, pl1);
            return;
        }
        if (twoByTwo(g)) {
            maxForward2x2(x, y, g, pl0, pl1);
            return;
        }
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW;
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++) {
                int row = pl * hw + oy * g.sh() * inW, out = (pl * oh + oy) * ow;
                for (int ox = 0; ox < ow; ox++) y[out + ox] = x[argmaxInside(x, row + ox * g.sw(), inW, g.kh(), g.kw())];
            }
    }

    static void maxBackward(float[] x, float[] dy, float[] dx, PoolGeom g) { overPlanes(g, (pl0, pl1) -> maxBackward(x, dy, dx, g, pl0, pl1)); }

    /** Planes [pl0, pl1) of the op, by its fastest path for g. */
    static void maxBackward(float[] x, float[] dy, float[] dx, PoolGeom g, int pl0, int pl1) {
        if (!inside(g)) {
            maxBackwardPlain(x, dy, dx, g, pl0, pl1);
            return;
        }
        if (twoByTwo(g)) {
            maxBackward2x2(x, dy, dx, g, pl0, pl1);
            return;
        }
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW;
        java.util.Arrays.fill(dx, pl0 * hw, pl1 * hw, 0f);
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++) {
                int row = pl * hw + oy * g.sh() * inW, out = (pl * oh + oy) * ow;
                for (int ox = 0; ox < ow; ox++) dx[argmaxInside(x, row + ox * g.sw(), inW, g.kh(), g.kw())] += dy[out + ox];
            }
    }

    static void avgForward(float[] x, float[] y, PoolGeom g) { overPlanes(g, (pl0, pl1) -> avgForward(x, y, g, pl0, pl1)); }

    /** Planes [pl0, pl1) of the op, by its fastest path for g. */
    static void avgForward(float[] x, float[] y, PoolGeom g, int pl0, int pl1) {
        if (!inside(g)) {
            avgForwardPlain(x, y, g, pl0, pl1);
            return;
        }
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW, kh = g.kh(), kw = g.kw();
        float inv = 1f / (kh * kw);
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++) {
                int row = pl * hw + oy * g.sh() * inW, out = (pl * oh + oy) * ow;
                for (int ox = 0; ox < ow; ox++) {
                    int base = row + ox * g.sw();
                    float s = 0;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0, r = base + i * inW; j < kw; j++) s += x[r + j];
                    y[out + ox] = s * inv;
                }
            }
    }

    static void avgBackward(float[] dy, float[] dx, PoolGeom g) { overPlanes(g, (pl0, pl1) -> avgBackward(dy, dx, g, pl0, pl1)); }

    /** Planes [pl0, pl1) of the op, by its fastest path for g. */
    static void avgBackward(float[] dy, float[] dx, PoolGeom g, int pl0, int pl1) {
        if (!inside(g)) {
            avgBackwardPlain(dy, dx, g, pl0, pl1);
            return;
        }
        if (g.sh() == g.kh() && g.sw() == g.kw()) {
            avgBackwardTiled(dy, dx, g, pl0, pl1);
            return;
        }
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW, kh = g.kh(), kw = g.kw();
        float inv = 1f / (kh * kw);
        java.util.Arrays.fill(dx, pl0 * hw, pl1 * hw, 0f);
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++) {
                int row = pl * hw + oy * g.sh() * inW, out = (pl * oh + oy) * ow;
                for (int ox = 0; ox < ow; ox++) {
                    int base = row + ox * g.sw();
                    float d = dy[out + ox] * inv;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0, r = base + i * inW; j < kw; j++) dx[r + j] += d;
                }
            }
    }

    /**
     * Windows that tile the plane (stride = kernel, the decoder's pools): every covered dx is
     * 0 + dy * inv of its one window, written once row by row, without the zeroing pass and the
     * read-modify-write of the general loop.
     */
    private static void avgBackwardTiled(float[] dy, float[] dx, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW, kh = g.kh(), kw = g.kw();
        float inv = 1f / (kh * kw);
        boolean covered = oh * kh == g.inH() && ow * kw == inW;
        for (int pl = pl0; pl < pl1; pl++) {
            if (!covered) java.util.Arrays.fill(dx, pl * hw, (pl + 1) * hw, 0f);
            for (int oy = 0; oy < oh; oy++) {
                int out = (pl * oh + oy) * ow;
                for (int i = 0; i < kh; i++) {
                    int r = pl * hw + (oy * kh + i) * inW;
                    for (int ox = 0; ox < ow; ox++) {
                        float d = 0f + dy[out + ox] * inv; // as += into a cleared dx: -0 becomes +0
                        for (int j = 0, o = r + ox * kw; j < kw; j++) dx[o + j] = d;
                    }
                }
            }
        }
    }

    // ---- 2x2 stride 2 max pool as vectors ------------------------------------------------------

    private static final VectorSpecies<Float> V = FloatVector.SPECIES_256;
    private static final int L = V.length();
    /** Even and odd lanes of two consecutive vectors (a row's window corners), and their inverse (zip). */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(V, i -> 2 * i), ODD = VectorShuffle.fromOp(V, i -> 2 * i + 1),
            ZIP_LO = VectorShuffle.fromOp(V, i -> (i & 1) == 0 ? i / 2 : L + i / 2),
            ZIP_HI = VectorShuffle.fromOp(V, i -> (i & 1) == 0 ? L / 2 + i / 2 : L + L / 2 + i / 2);

    private static boolean twoByTwo(PoolGeom g) { return g.kh() == 2 && g.kw() == 2 && g.sh() == 2 && g.sw() == 2; }

    /** Lane by lane, {@link #beats}. */
    private static VectorMask<Float> beats(FloatVector v, FloatVector bv) {
        return v.compare(VectorOperators.GT, bv).or(v.test(VectorOperators.IS_NAN).andNot(bv.test(VectorOperators.IS_NAN)));
    }

    private static void maxForward2x2(float[] x, float[] y, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW;
        for (int pl = pl0; pl < pl1; pl++)
            for (int oy = 0; oy < oh; oy++) {
                int row = pl * hw + 2 * oy * inW, out = (pl * oh + oy) * ow, ox = 0;
                for (int end = V.loopBound(ow); ox < end; ox += L) {
                    int i0 = row + 2 * ox, i1 = i0 + inW;
                    FloatVector a = FloatVector.fromArray(V, x, i0), b = FloatVector.fromArray(V, x, i0 + L);
                    FloatVector c = FloatVector.fromArray(V, x, i1), d = FloatVector.fromArray(V, x, i1 + L);
                    FloatVector bv = a.rearrange(EVEN, b), v1 = a.rearrange(ODD, b), v2 = c.rearrange(EVEN, d), v3 = c.rearrange(ODD, d);
                    bv = bv.blend(v1, beats(v1, bv));
                    bv = bv.blend(v2, beats(v2, bv));
                    bv.blend(v3, beats(v3, bv)).intoArray(y, out + ox);
                }
                for (; ox < ow; ox++) y[out + ox] = x[argmaxInside(x, row + 2 * ox, inW, 2, 2)];
            }
    }

    private static void maxBackward2x2(float[] x, float[] dy, float[] dx, PoolGeom g, int pl0, int pl1) {
        int oh = g.outH(), ow = g.outW(), inW = g.inW(), hw = g.inH() * inW;
        // odd sizes leave a last row or column outside every window: clear the plane first
        boolean covered = 2 * oh == g.inH() && 2 * ow == inW;
        FloatVector zero = FloatVector.zero(V);
        for (int pl = pl0; pl < pl1; pl++) {
            if (!covered) java.util.Arrays.fill(dx, pl * hw, (pl + 1) * hw, 0f);
            for (int oy = 0; oy < oh; oy++) {
                int row = pl * hw + 2 * oy * inW, out = (pl * oh + oy) * ow, ox = 0;
                for (int end = V.loopBound(ow); ox < end; ox += L) {
                    int i0 = row + 2 * ox, i1 = i0 + inW;
                    FloatVector a = FloatVector.fromArray(V, x, i0), b = FloatVector.fromArray(V, x, i0 + L);
                    FloatVector c = FloatVector.fromArray(V, x, i1), d = FloatVector.fromArray(V, x, i1 + L);
                    FloatVector bv = a.rearrange(EVEN, b), v1 = a.rearrange(ODD, b), v2 = c.rearrange(EVEN, d), v3 = c.rearrange(ODD, d);
                    VectorMask<Float> m1 = beats(v1, bv);
                    bv = bv.blend(v1, m1);
                    VectorMask<Float> m2 = beats(v2, bv);
                    bv = bv.blend(v2, m2);
                    VectorMask<Float> m3 = beats(v3, bv);
                    // 0 + dy, as the plain loop's += into a cleared dx (turns -0 into +0)
                    FloatVector gr = FloatVector.fromArray(V, dy, out + ox).add(0f);
                    FloatVector d0 = zero.blend(gr, m1.or(m2).or(m3).not()), d1 = zero.blend(gr, m1.andNot(m2).andNot(m3));
                    FloatVector d2 = zero.blend(gr, m2.andNot(m3)), d3 = zero.blend(gr, m3);
                    d0.rearrange(ZIP_LO, d1).intoArray(dx, i0);
                    d0.rearrange(ZIP_HI, d1).intoArray(dx, i0 + L);
                    d2.rearrange(ZIP_LO, d3).intoArray(dx, i1);
                    d2.rearrange(ZIP_HI, d3).intoArray(dx, i1 + L);
                }
                for (; ox < ow; ox++) {
                    int base = row + 2 * ox;
                    dx[base] = dx[base + 1] = dx[base + inW] = dx[base + inW + 1] = 0f;
                    dx[argmaxInside(x, base, inW, 2, 2)] += dy[out + ox];
                }
            }
        }
    }
}
