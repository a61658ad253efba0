package locallearn.backend.cpu;

import locallearn.backend.ConvGeom;

/**
 * Family "conv": 2-d convolution by im2col + GEMM, one image at a time. For image b the column
 * matrix col (C*kh*kw, oH*oW) holds in row (c*kh + i)*kw + j and column oy*oW + ox the input
 * pixel x[b, c, oy*stride - pad + i, ox*stride - pad + j] (0 in the padding), so
 * y_b (K, oH*oW) = w (K, C*kh*kw) col.
 */
final class Conv {
    private Conv() {}

    static void im2col(float[] x, int xo, ConvGeom g, float[] col) {
        int oh = g.outH(), ow = g.outW(), h = g.inH(), w = g.inW(), s = g.stride(), pad = g.pad();
        int r = 0;
        for (int c = 0; c < g.inC(); c++)
            for (int i = 0; i < g.kh(); i++)
                for (int j = 0; j < g.kw(); j++, r++) {
                    int ro = r * oh * ow;
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

    /** The adjoint of im2col: adds every column entry back into the pixel it was read from. */
    static void col2im(float[] col, ConvGeom g, float[] x, int xo) {
        int oh = g.outH(), ow = g.outW(), h = g.inH(), w = g.inW(), s = g.stride(), pad = g.pad();
        int r = 0;
        for (int c = 0; c < g.inC(); c++)
            for (int i = 0; i < g.kh(); i++)
                for (int j = 0; j < g.kw(); j++, r++) {
                    int ro = r * oh * ow;
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

    // x (B, C, H, W), w (K, C, kh, kw), bias (K) or null, y (B, K, oH, oW); one work item per image
    static void forward(float[] x, float[] w, float[] bias, float[] y, ConvGeom g) {
        int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC(), img = g.inC() * g.inH() * g.inW();
        Parallel.items(g.batch(), () -> new float[ckk * p], (b, col) -> {
            im2col(x, b * img, g, col);
            int yo = b * k * p;
            // y_b (K, P) = w (K, C*kh*kw) col (C*kh*kw, P)
            Gemm.gemm(false, false, k, p, ckk, 1f, w, 0, col, 0, 0f, y, yo);
            if (bias != null)
                for (int o = 0; o < k; o++) {
                    float v = bias[o];
                    for (int q = 0, off = yo + o * p; q < p; q++) y[off + q] += v;
                }
        });
    }

    // dy (B, K, oH, oW), w (K, C, kh, kw), dx (B, C, H, W) overwritten; one work item per image
    static void backwardData(float[] dy, float[] w, float[] dx, ConvGeom g) {
        int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC(), img = g.inC() * g.inH() * g.inW();
        Parallel.items(g.batch(), () -> new float[ckk * p], (b, col) -> {
            // dcol (C*kh*kw, P) = w^T (C*kh*kw, K) dy_b (K, P)
            Gemm.gemm(true, false, ckk, p, k, 1f, w, 0, dy, b * k * p, 0f, col, 0);
            java.util.Arrays.fill(dx, b * img, (b + 1) * img, 0f);
            col2im(col, g, dx, b * img);
        });
    }

    /** Fixed groups of images for the weight gradient: at least 4 (so up to 4 threads the sum order is the same), at most one per image. */
    static int filterGroups(ConvGeom g) { return Math.min(g.batch(), Math.max(4, Parallel.threads())); }

    /**
     * x (B, C, H, W), dy (B, K, oH, oW), dw (K, C, kh, kw) and dbias (K) (+)=. The batch is cut
     * into a fixed number of contiguous groups; each group sums its images into a private dw in
     * image order, and the groups are added in group order afterwards. The sum order therefore
     * depends only on the batch size and the group count, never on which thread ran a group.
     */
    static void backwardFilter(float[] x, float[] dy, float[] dw, float[] dbias, ConvGeom g, boolean accumulate) {
        int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC(), img = g.inC() * g.inH() * g.inW();
        int groups = filterGroups(g);
        float[][] partial = new float[groups][];
        Parallel.items(groups, () -> new float[ckk * p], (t, col) -> {
            float[] acc = new float[k * ckk];
            for (int b = Parallel.start(g.batch(), groups, t); b < Parallel.start(g.batch(), groups, t + 1); b++) {
                im2col(x, b * img, g, col);
                // acc (K, C*kh*kw) += dy_b (K, P) col^T (P, C*kh*kw)
                Gemm.gemm(false, true, k, ckk, p, 1f, dy, b * k * p, col, 0, 1f, acc, 0);
            }
            partial[t] = acc;
        });
        Parallel.range(k * ckk, CpuBackend.GRAIN, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                float s = accumulate ? dw[i] : 0f;
                for (float[] acc : partial) s += acc[i];
                dw[i] = s;
            }
        });
        if (dbias != null)
            for (int o = 0; o < k; o++) {
                double s = 0;
                for (int b = 0; b < g.batch(); b++)
                    for (int q = 0, off = (b * k + o) * p; q < p; q++) s += dy[off + q];
                dbias[o] = accumulate ? (float) (dbias[o] + s) : (float) s;
            }
    }
}
