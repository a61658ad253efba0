package locallearn.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import locallearn.backend.ConvGeom;

/**
 * Family "conv": 2-d convolution as GEMM. For image b the column matrix col (C*kh*kw, oH*oW)
 * holds in row (c*kh + i)*kw + j and column oy*oW + ox the input pixel
 * x[b, c, oy*stride - pad + i, ox*stride - pad + j] (0 in the padding), so
 * y_b (K, oH*oW) = w (K, C*kh*kw) col and dw += dy_b col^T. Forward and the weight gradient never
 * write col: {@link Patches} packs it a GEMM panel at a time straight from x (implicit GEMM), and
 * so does backward-data on stride 1, as a forward convolution of dy. Strided backward-data's GEMM
 * produces col (w^T dy_b), which col2im adds back into dx. {@link #im2col} is the plain form of
 * the matrix, the oracle of the implicit one.
 *
 * <p>{@code tf32}: the GEMMs round x, w and dy to TF32 as they pack them (see Gemm), so each pass
 * is the float32 convolution of the rounded inputs, as a tensor-core convolution computes it.
 */
final class Conv {
    private Conv() {}

    static void im2col(float[] x, int xo, ConvGeom g, float[] col) { im2col(x, xo, g, col, 0, g.outH() * g.outW()); }

    /** im2col into columns [c0, c0 + oH*oW) of a column matrix whose rows are {@code ld} long (several images side by side). */
    static void im2col(float[] x, int xo, ConvGeom g, float[] col, int c0, int ld) {
        int oh = g.outH(), ow = g.outW(), h = g.inH(), w = g.inW(), s = g.stride(), pad = g.pad();
        int r = 0;
        for (int c = 0; c < g.inC(); c++)
            for (int i = 0; i < g.kh(); i++)
                for (int j = 0; j < g.kw(); j++, r++) {
                    int ro = c0 + r * ld;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * s - pad + i;
                        int co = ro + oy * ow;
                        if (iy < 0 || iy >= h) {
                            java.util.Arrays.fill(col, co, co + ow, 0f);
                            continue;
                        }
                        int xrow = xo + (c * h + iy) * w;
                        if (s == 1) {
                            // stride 1: the valid columns are one contiguous run of the input row
                            int lo = Math.max(0, pad - j), hi = Math.min(ow, w + pad - j);
                            if (lo >= hi) {
                                java.util.Arrays.fill(col, co, co + ow, 0f);
                                continue;
                            }
                            java.util.Arrays.fill(col, co, co + lo, 0f);
                            System.arraycopy(x, xrow + lo - pad + j, col, co + lo, hi - lo);
                            java.util.Arrays.fill(col, co + hi, co + ow, 0f);
                            continue;
                        }
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * s - pad + j;
                            col[co + ox] = ix >= 0 && ix < w ? x[xrow + ix] : 0f;
                        }
                    }
                }
    }

    /** The adjoint of im2col (with the same column offset and row length): adds every column entry back into the pixel it was read from. */
    static void col2im(float[] col, int c0, int ld, ConvGeom g, float[] x, int xo) {
        int oh = g.outH(), ow = g.outW(), h = g.inH(), w = g.inW(), s = g.stride(), pad = g.pad();
        int r = 0;
        for (int c = 0; c < g.inC(); c++)
            for (int i = 0; i < g.kh(); i++)
                for (int j = 0; j < g.kw(); j++, r++) {
                    int ro = c0 + r * ld;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * s - pad + i;
                        if (iy < 0 || iy >= h) continue;
                        int co = ro + oy * ow, xrow = xo + (c * h + iy) * w;
                        if (s == 1) {
                            int lo = Math.max(0, pad - j), hi = Math.min(ow, w + pad - j), shift = xrow - pad + j;
                            for (int ox = lo; ox < hi; ox++) x[shift + ox] += col[co + ox];
                            continue;
                        }
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * s - pad + j;
                            if (ix >= 0 && ix < w) x[xrow + ix] += col[co + ox];
                        }
                    }
                }
    }

    /**
     * Images per GEMM on small maps: enough that each product has at least MIN_COLUMNS columns
     * (forward, strided backward-data) or sums as many pixels (the weight gradient). One 4x4 image
     * is 16 columns, half a register tile's panel, and a product that short runs mostly on edge
     * tiles and C's loads and stores. Measured on 512 -> 512 channels at 4x4, batch 32, 2 cores,
     * when each GEMM still packed the weight: forward 55 -> 120-140 GFLOP/s, backward-data 25 -> 45.
     */
    static int imagesPerGemm(ConvGeom g) {
        int p = g.outH() * g.outW();
        return Math.max(1, Math.min(g.batch(), (MIN_COLUMNS + p - 1) / p));
    }

    private static final int MIN_COLUMNS = 512;

    // x (B, C, H, W), w (K, C, kh, kw), bias (K) or null, y (B, K, oH, oW); one work item per group of images
    static void forward(float[] x, float[] w, float[] bias, float[] y, ConvGeom g, boolean tf32) {
        int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC();
        int per = imagesPerGemm(g), groups = (g.batch() + per - 1) / per;
        Gemm.PackedA pw = Gemm.pack(false, k, ckk, 1f, w, 0, tf32);   // once for all groups
        Parallel.items(groups, () -> per > 1 ? new float[k * per * p] : null, (gi, out) -> {
            int b0 = gi * per, n = Math.min(per, g.batch() - b0), cols = n * p;
            if (per == 1) {
                // y_b (K, P) = w (K, C*kh*kw) col_b (C*kh*kw, P), straight into y
                Gemm.gemm(pw, p, Patches.columns(x, g, b0), 0f, y, b0 * k * p);
            } else {
                // (K, n*P) for the group, then each image's (K, P) block to its place in y
                Gemm.gemm(pw, cols, Patches.columns(x, g, b0), 0f, out, 0);
                for (int j = 0; j < n; j++)
                    for (int o = 0; o < k; o++) System.arraycopy(out, o * cols + j * p, y, ((b0 + j) * k + o) * p, p);
            }
            if (bias != null)
                for (int j = 0; j < n; j++)
                    for (int o = 0; o < k; o++) {
                        float v = bias[o];
                        for (int q = 0, off = ((b0 + j) * k + o) * p; q < p; q++) y[off + q] += v;
                    }
        });
    }

    /**
     * dy (B, K, oH, oW), w (K, C, kh, kw), dx (B, C, H, W) overwritten. On stride 1 (square
     * kernel, pad <= kh - 1) dx is itself a convolution, of dy with the flipped, transposed filter
     * w~[c, k, i, j] = w[k, c, kh-1-i, kw-1-j] and padding kh-1-pad, so it runs as forward's
     * implicit GEMM. Otherwise w^T dy_b gives the column matrix and col2im adds it into dx, one
     * work item per group of images.
     */
    static void backwardData(float[] dy, float[] w, float[] dx, ConvGeom g, boolean tf32) {
        if (g.stride() == 1 && g.kh() == g.kw() && g.pad() <= g.kh() - 1) {
            forward(dy, flippedTransposed(w, g), null, dx, transposed(g), tf32);
            return;
        }
        int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC(), img = g.inC() * g.inH() * g.inW();
        int per = imagesPerGemm(g), groups = (g.batch() + per - 1) / per;
        Parallel.items(groups, () -> new float[][] {new float[ckk * per * p], per > 1 ? new float[k * per * p] : null}, (gi, buf) -> {
            int b0 = gi * per, n = Math.min(per, g.batch() - b0), cols = n * p;
            float[] col = buf[0];
            if (per == 1) {
                // dcol (C*kh*kw, P) = w^T (C*kh*kw, K) dy_b (K, P)
                Gemm.gemm(true, false, ckk, p, k, 1f, w, 0, dy, b0 * k * p, 0f, col, 0, tf32);
            } else {
                // the group's dy side by side (K, n*P), one GEMM for all of it
                float[] dyg = buf[1];
                sideBySide(dy, b0, n, k, p, dyg);
                Gemm.gemm(true, false, ckk, cols, k, 1f, w, 0, dyg, 0, 0f, col, 0, tf32);
            }
            for (int j = 0; j < n; j++) {
                java.util.Arrays.fill(dx, (b0 + j) * img, (b0 + j + 1) * img, 0f);
                col2im(col, j * p, cols, g, dx, (b0 + j) * img);
            }
        });
    }

    /** The geometry of stride 1 backward-data as a forward convolution: dy (B, K, oH, oW) in, dx (B, C, H, W) out. */
    static ConvGeom transposed(ConvGeom g) {
        return new ConvGeom(g.batch(), g.outC(), g.outH(), g.outW(), g.inC(), g.kh(), g.kw(), 1, g.kh() - 1 - g.pad());
    }

    /** w~ (C, K, kh, kw) with w~[c, k, i, j] = w[k, c, kh-1-i, kw-1-j]. */
    static float[] flippedTransposed(float[] w, ConvGeom g) {
        int c = g.inC(), k = g.outC(), kh = g.kh(), kw = g.kw();
        float[] t = new float[w.length];
        // split over the input channels: each writes its own (K, kh, kw) block of w~
        Parallel.range(c, Math.max(1, CpuBackend.GRAIN / (k * kh * kw)), 1, (c0, c1) -> {
            for (int ci = c0; ci < c1; ci++)
                for (int o = 0; o < k; o++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) t[((ci * k + o) * kh + i) * kw + j] = w[((o * c + ci) * kh + kh - 1 - i) * kw + kw - 1 - j];
        });
        return t;
    }

    /** Pixels (batch x output map) up to which the weight gradient is one GEMM over the whole batch (see backwardFilterGemm). */
    static final int ONE_GEMM_PIXELS = 1024;

    /** Fixed groups of images for the weight gradient: at least 4 (so up to 4 threads the sum order is the same), at most one per image. */
    static int filterGroups(ConvGeom g) { return Math.min(g.batch(), Math.max(4, Parallel.threads())); }

    /**
     * x (B, C, H, W), dy (B, K, oH, oW), dw (K, C, kh, kw) and dbias (K) (+)=. On small maps
     * and batches one GEMM sums it all (backwardFilterGemm); otherwise the batch is cut
     * into a fixed number of contiguous groups; each group sums its images into a private dw in
     * image order (on small maps several images a GEMM, as forward), and the groups are added in
     * group order afterwards. The sum order therefore depends only on the batch size and the group
     * count, never on which thread ran a group.
     */
    static void backwardFilter(float[] x, float[] dy, float[] dw, float[] dbias, ConvGeom g, boolean accumulate, boolean tf32) {
        if (g.outC() == 1) {
            oneChannelFilter(x, dy, dw, g, accumulate, tf32);
            if (dbias != null) biasGradient(dy, dbias, g, accumulate);
            return;
        }
        backwardFilterGemm(x, dy, dw, dbias, g, accumulate, tf32);
    }

    /**
     * The weight gradient by implicit GEMM for any K (the oracle of oneChannelFilter). When the
     * whole batch sums at most {@link #ONE_GEMM_PIXELS} pixels it is one GEMM over all images
     * (dy side by side), split by Gemm over tiles of dw, each element summed by one thread in
     * image order; else filterGroups' groups, each into a private dw. Groups of few pixels pay
     * for a write of the whole dw each (and the sum of the partials) for a product too short to
     * hide it. Measured on 2 shared AVX-512 cores, groups / one GEMM, median of 9 alternating
     * pairs: 512->512 at 4x4, batch 8 (SlicedStep's slices) 45 / 20 ms, at 8x8 batch 8 43 / 30,
     * 512->1024 at 4x4 batch 8 79 / 22, 512->512 at 4x4 batch 32 65 / 49; at 16x16 batch 8
     * (2048 pixels, 256->512) the two are even (76 / 80), and the dy copy would grow with the batch.
     */
    static void backwardFilterGemm(float[] x, float[] dy, float[] dw, float[] dbias, ConvGeom g, boolean accumulate, boolean tf32) {
        int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC();
        if ((long) g.batch() * p <= ONE_GEMM_PIXELS) {
            int rows = g.batch() * p;
            float[] dyg = dy;
            if (g.batch() > 1) sideBySide(dy, 0, g.batch(), k, p, dyg = new float[k * rows]);
            // dw (K, C*kh*kw) (+)= dy (K, B*P) col^T (B*P, C*kh*kw)
            Gemm.gemm(false, k, ckk, rows, 1f, dyg, 0, Patches.columnsTransposed(x, g, 0), accumulate ? 1f : 0f, dw, 0, tf32);
            if (dbias != null) biasGradient(dy, dbias, g, accumulate);
            return;
        }
        int groups = filterGroups(g), per = imagesPerGemm(g);
        float[][] partial = new float[groups][];
        Parallel.items(groups, () -> per > 1 ? new float[k * per * p] : null, (t, dyg) -> {
            float[] acc = new float[k * ckk];
            int end = Parallel.start(g.batch(), groups, t + 1);
            for (int b0 = Parallel.start(g.batch(), groups, t); b0 < end; b0 += per) {
                int n = Math.min(per, end - b0), rows = n * p;
                if (per == 1) {
                    // acc (K, C*kh*kw) += dy_b (K, P) col_b^T (P, C*kh*kw)
                    Gemm.gemm(false, k, ckk, p, 1f, dy, b0 * k * p, Patches.columnsTransposed(x, g, b0), 1f, acc, 0, tf32);
                } else {
                    // small maps: n images' dy side by side (K, n*P) against their stacked col^T (n*P, C*kh*kw)
                    sideBySide(dy, b0, n, k, p, dyg);
                    Gemm.gemm(false, k, ckk, rows, 1f, dyg, 0, Patches.columnsTransposed(x, g, b0), 1f, acc, 0, tf32);
                }
            }
            partial[t] = acc;
        });
        addInOrder(partial, dw, accumulate);
        if (dbias != null) biasGradient(dy, dbias, g, accumulate);
    }

    /** dst[i] (+)= partial[0][i] + partial[1][i] + ..., in that order whichever thread takes i. */
    static void addInOrder(float[][] partial, float[] dst, boolean accumulate) {
        Parallel.range(partial[0].length, CpuBackend.GRAIN, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                float s = accumulate ? dst[i] : 0f;
                for (float[] p : partial) s += p[i];
                dst[i] = s;
            }
        });
    }

    /** (K, n*P) from n images' (K, P) blocks of a (B, K, P) tensor starting at image b0: the images side by side. */
    private static void sideBySide(float[] src, int b0, int n, int k, int p, float[] dst) {
        for (int j = 0; j < n; j++)
            for (int o = 0; o < k; o++) System.arraycopy(src, ((b0 + j) * k + o) * p, dst, o * n * p + j * p, p);
    }

    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;

    /**
     * The weight gradient of a one-output-channel convolution (SlicedStep's batch-norm sums) as a
     * direct window sum, x (B, C, H, W), dy (B, 1, oH, oW), dw (1, C, kh, kw) (+)=:
     * dw[0, c, i, j] = sum_b sum_(oy, ox) dy[b, 0, oy, ox] x[b, c, oy*s - pad + i, ox*s - pad + j].
     * With one output row im2col writes kh*kw copies of x for a GEMM of one row; the window sum
     * reads each plane kh*kw times from L1 instead. One work item per range of channels; each
     * tap sums, for b and oy in order, the row's dot product in 8 fixed lanes (the 256-bit species
     * whatever the machine's width, so the order is the same everywhere) plus a scalar tail, and
     * adds the lanes in order at the end. Measured on SlicedStep's shapes at batch 32 (2 shared
     * AVX-512 cores): 2.2x (512x8x8) to 4.3x (256x32x32) faster than im2col + GEMM, 2.8-3.2x with
     * 256-bit vectors. {@code tf32}: dy is rounded once, and each plane of x into a buffer before
     * its taps read it, so the sums themselves are those of float32.
     */
    static void oneChannelFilter(float[] x, float[] dy, float[] dw, ConvGeom g, boolean accumulate, boolean tf32) {
        int c = g.inC(), h = g.inH(), w = g.inW(), oh = g.outH(), ow = g.outW(), kh = g.kh(), kw = g.kw(), s = g.stride(), pad = g.pad();
        int taps = kh * kw, lanes = S8.length();
        long perChannel = (long) g.batch() * oh * ow * taps;
        float[] dys = tf32 ? java.util.Arrays.copyOf(dy, g.batch() * oh * ow) : dy;
        if (tf32) Tf32.round(dys, 0, dys.length);
        Parallel.range(c, (int) Math.max(1, (1L << 16) / Math.max(1, perChannel)), 1, (from, to) -> {
            float[] acc = new float[taps * lanes], tail = new float[taps], plane = tf32 ? new float[h * w] : null;
            for (int ch = from; ch < to; ch++) {
                java.util.Arrays.fill(acc, 0f);
                java.util.Arrays.fill(tail, 0f);
                for (int b = 0; b < g.batch(); b++) {
                    int xp = (b * c + ch) * h * w, dp = b * oh * ow;
                    float[] xs = x;
                    if (tf32) {
                        for (int i = 0; i < h * w; i++) plane[i] = Tf32.round(x[xp + i]);
                        xs = plane;
                        xp = 0;
                    }
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int tap = i * kw + j, ao = tap * lanes;
                            // the ox whose input column lies inside the row
                            int lo = Math.max(0, Math.ceilDiv(pad - j, s)), hi = Math.min(ow, Math.floorDiv(w - 1 + pad - j, s) + 1);
                            for (int oy = 0; oy < oh; oy++) {
                                int iy = oy * s - pad + i;
                                if (iy < 0 || iy >= h || lo >= hi) continue;
                                int dr = dp + oy * ow, xr = xp + iy * w - pad + j;
                                int ox = lo;
                                if (s == 1 && hi - lo >= lanes) {
                                    var v = FloatVector.zero(S8);
                                    for (; ox <= hi - lanes; ox += lanes)
                                        v = FloatVector.fromArray(S8, dys, dr + ox).fma(FloatVector.fromArray(S8, xs, xr + ox), v);
                                    FloatVector.fromArray(S8, acc, ao).add(v).intoArray(acc, ao);
                                }
                                float t = 0f;
                                for (; ox < hi; ox++) t += dys[dr + ox] * xs[xr + ox * s];
                                tail[tap] += t;
                            }
                        }
                }
                for (int tap = 0; tap < taps; tap++) {
                    float v = 0f;
                    for (int l = 0; l < lanes; l++) v += acc[tap * lanes + l];
                    v += tail[tap];
                    int o = ch * taps + tap;
                    dw[o] = accumulate ? dw[o] + v : v;
                }
            }
        });
    }

    /**
     * dbias[k] (+)= sum of dy (B, K, oH, oW) over images and pixels, in double in the order
     * (b, pixel). Four channels share a loop, so four chains of dependent adds run side by side
     * where one waited on each add's latency, and the channels are split over the threads; each
     * channel's sum is the same sequence of adds either way, so the bits do not change.
     */
    static void biasGradient(float[] dy, float[] dbias, ConvGeom g, boolean accumulate) {
        int k = g.outC(), p = g.outH() * g.outW(), nb = g.batch();
        int grain = (int) Math.max(4, CpuBackend.GRAIN / Math.max(1L, (long) nb * p));
        Parallel.range(k, grain, 4, (from, to) -> {
            int o = from;
            for (; o + 4 <= to; o += 4) {
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int b = 0; b < nb; b++)
                    for (int q = 0, off = (b * k + o) * p; q < p; q++) {
                        s0 += dy[off + q];
                        s1 += dy[off + p + q];
                        s2 += dy[off + 2 * p + q];
                        s3 += dy[off + 3 * p + q];
                    }
                addOrSet(dbias, o, s0, accumulate);
                addOrSet(dbias, o + 1, s1, accumulate);
                addOrSet(dbias, o + 2, s2, accumulate);
                addOrSet(dbias, o + 3, s3, accumulate);
            }
            for (; o < to; o++) {
                double s = 0;
                for (int b = 0; b < nb; b++)
                    for (int q = 0, off = (b * k + o) * p; q < p; q++) s += dy[off + q];
                addOrSet(dbias, o, s, accumulate);
            }
        });
    }

    private static void addOrSet(float[] dbias, int o, double s, boolean accumulate) {
        dbias[o] = accumulate ? (float) (dbias[o] + s) : (float) s;
    }
}
