package locallearn.backend.cpu;

import locallearn.backend.ConvGeom;

/**
 * Image patches packed straight into GEMM panels (implicit GEMM): the convolution's column
 * matrix, and its transpose, exist only a panel at a time inside {@link Gemm}'s packing buffer,
 * never as a (C*kh*kw, oH*oW) array. The values are exactly those {@link Conv#im2col} writes:
 * row (c*kh + i)*kw + j, column (b, oy, ox) is x[b, c, oy*stride - pad + i, ox*stride - pad + j],
 * 0 in the padding.
 */
final class Patches {
    private Patches() {}

    /**
     * The column matrix of images b0, b0+1, .. side by side, (C*kh*kw, n*oH*oW): column q is
     * pixel q mod (oH*oW) of image b0 + q / (oH*oW). One panel row is NR consecutive columns,
     * which on stride 1 are runs of one input row, so most of a row is one array copy.
     */
    static Gemm.PanelSource columns(float[] x, ConvGeom g, int b0) {
        return (pc, kc, j0, cols, bp) -> packColumns(x, g, b0, pc, kc, j0, cols, bp);
    }

    /**
     * The transposed column matrix of images b0, b0+1, .. stacked, (n*oH*oW, C*kh*kw): row q is
     * pixel q mod (oH*oW) of image b0 + q / (oH*oW). The B of the weight gradient dy col^T.
     */
    static Gemm.PanelSource columnsTransposed(float[] x, ConvGeom g, int b0) {
        return (pc, kc, j0, cols, bp) -> packColumnsTransposed(x, g, b0, pc, kc, j0, cols, bp);
    }

    private static void packColumns(float[] x, ConvGeom g, int b0, int pc, int kc, int j0, int cols, float[] bp) {
        final int nr = Gemm.NR;
        int ow = g.outW(), p = g.outH() * ow, h = g.inH(), w = g.inW(), s = g.stride(), pad = g.pad(), kk = g.kh() * g.kw();
        int img = g.inC() * h * w;
        for (int jr = 0; jr < cols; jr += nr) {
            int base = jr * kc, width = Math.min(nr, cols - jr);
            // the panel's columns in runs of one output row of one image: [t, t + len) is (b, oy, ox0 ..)
            for (int t = 0; t < nr; ) {
                if (t >= width) {
                    for (int q = 0; q < kc; q++) java.util.Arrays.fill(bp, base + q * nr + t, base + q * nr + nr, 0f);
                    break;
                }
                int col = j0 + jr + t, b = b0 + col / p, pix = col % p, oy = pix / ow, ox0 = pix % ow;
                int len = Math.min(width - t, ow - ox0);
                int xb = b * img;
                for (int q = 0; q < kc; q++) {
                    int r = pc + q, c = r / kk, i = (r % kk) / g.kw(), j = r % g.kw();
                    int dst = base + q * nr + t, iy = oy * s - pad + i;
                    if (iy < 0 || iy >= h) {
                        java.util.Arrays.fill(bp, dst, dst + len, 0f);
                        continue;
                    }
                    int row = xb + (c * h + iy) * w;
                    if (s == 1) {
                        // ox in [ox0, ox0 + len) reads ix = ox - pad + j: valid where 0 <= ix < w
                        int lo = Math.max(ox0, pad - j), hi = Math.min(ox0 + len, w + pad - j);
                        if (lo >= hi) {
                            java.util.Arrays.fill(bp, dst, dst + len, 0f);
                            continue;
                        }
                        java.util.Arrays.fill(bp, dst, dst + lo - ox0, 0f);
                        System.arraycopy(x, row + lo - pad + j, bp, dst + lo - ox0, hi - lo);
                        java.util.Arrays.fill(bp, dst + hi - ox0, dst + len, 0f);
                    } else {
                        for (int u = 0; u < len; u++) {
                            int ix = (ox0 + u) * s - pad + j;
                            bp[dst + u] = ix >= 0 && ix < w ? x[row + ix] : 0f;
                        }
                    }
                }
                t += len;
            }
        }
    }

    private static void packColumnsTransposed(float[] x, ConvGeom g, int b0, int pc, int kc, int j0, int cols, float[] bp) {
        final int nr = Gemm.NR;
        int ow = g.outW(), p = g.outH() * ow, h = g.inH(), w = g.inW(), s = g.stride(), pad = g.pad(), kk = g.kh() * g.kw();
        int img = g.inC() * h * w;
        for (int jr = 0; jr < cols; jr += nr) {
            int base = jr * kc, width = Math.min(nr, cols - jr);
            for (int t = 0; t < nr; t++) {
                if (t >= width) {
                    for (int q = 0; q < kc; q++) bp[base + q * nr + t] = 0f;
                    continue;
                }
                // panel column t is row r = (c, i, j) of the column matrix; its kc rows are pixels pc ..,
                // taken a run of one output row of one image at a time: [q, q + len) is (b, oy, ox0 ..)
                int r = j0 + jr + t, c = r / kk, i = (r % kk) / g.kw(), j = r % g.kw();
                for (int q = 0; q < kc; ) {
                    int row = pc + q, pix = row % p, oy = pix / ow, ox0 = pix % ow, len = Math.min(kc - q, ow - ox0);
                    int xc = (b0 + row / p) * img + c * h * w;
                    int dst = base + q * nr + t, iy = oy * s - pad + i;
                    int lo = ox0 + len, hi = lo;   // the valid ox of the run: [lo, hi)
                    if (iy >= 0 && iy < h) {
                        // ix = ox*s - pad + j in [0, w)
                        lo = Math.max(ox0, (pad - j + s - 1) / s);
                        hi = Math.min(ox0 + len, (w - 1 + pad - j) / s + 1);
                        if (w - 1 + pad - j < 0) hi = lo;
                    }
                    int u = 0;
                    for (; u < len && ox0 + u < lo; u++) bp[dst + u * nr] = 0f;
                    int src = xc + iy * w + (ox0 + u) * s - pad + j;
                    for (; u < len && ox0 + u < hi; u++, src += s) bp[dst + u * nr] = x[src];
                    for (; u < len; u++) bp[dst + u * nr] = 0f;
                    q += len;
                }
            }
        }
    }
}
