package locallearn.backend.cpu;

import locallearn.backend.ConvGeom;

/**
 * Family "conv", Winograd's minimal filtering for 3x3, stride-1 convolutions (Lavin and Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016). F(m x m, 3 x 3) computes an m x m
 * tile of outputs from a t x t tile of inputs, t = m + 2, as
 *
 * <pre>
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) is the elementwise product of t x t tiles
 * </pre>
 *
 * Summed over input channels, the elementwise product becomes t*t independent GEMMs: with
 * U_xi (K, C) = (G w[k, c] G^T)_xi and V_xi (C, tiles) = (B^T d_c B)_xi, M_xi (K, tiles) = U_xi
 * V_xi, and each output tile is A^T M A. The matrices:
 *
 * <pre>
 * F(2x2, 3x3), t = 4:
 *   B^T = [ 1  0 -1  0 ]    G = [  1    0    0  ]    A^T = [ 1  1  1  0 ]
 *         [ 0  1  1  0 ]        [ 1/2  1/2  1/2 ]          [ 0  1 -1 -1 ]
 *         [ 0 -1  1  0 ]        [ 1/2 -1/2  1/2 ]
 *         [ 0  1  0 -1 ]        [  0    0    1  ]
 *
 * F(4x4, 3x3), t = 6 (points 0, 1, -1, 2, -2, infinity):
 *   B^T = [ 4  0 -5  0  1  0 ]    G = [  1/4     0     0  ]    A^T = [ 1  1  1  1  1  0 ]
 *         [ 0 -4 -4  1  1  0 ]        [ -1/6  -1/6  -1/6 ]          [ 0  1 -1  2 -2  0 ]
 *         [ 0  4 -4 -1  1  0 ]        [ -1/6   1/6  -1/6 ]          [ 0  1  1  4  4  0 ]
 *         [ 0 -2 -1  2  1  0 ]        [ 1/24  1/12   1/6 ]          [ 0  1 -1  8 -8  1 ]
 *         [ 0  2 -1 -2  1  0 ]        [ 1/24 -1/12   1/6 ]
 *         [ 0  4  0 -5  0  1 ]        [   0     0     1  ]
 * </pre>
 *
 * <b>Saving.</b> The GEMMs do t^2 multiply-adds per tile and channel pair where the direct
 * convolution does 9 m^2: 2.25x fewer for F(2x2), 4x fewer for F(4x4). The transforms cost
 * O(t^3) adds per tile and channel, small against the O(t^2 K) of the GEMMs when K and C are in
 * the hundreds, and are done row-wise (a vertical pass over whole rows of a tile strip, then a
 * horizontal pass per tile) so the first pass vectorises.
 *
 * <p><b>The three passes.</b> Forward is the formula above. Backward-data of a stride-1
 * convolution is a forward convolution of dy with the filter flipped in space and transposed in
 * channels, w'[c, k, i, j] = w[k, c, 2-i, 2-j], with pad 2 - pad. Backward-filter is F(3x3,
 * m x m) with the same matrices in other roles (the trilinear form sum e_i g_j d_(i+j) read for
 * g): dw[k, c] = G^T [ sum_tiles (A e_k A^T) (.) (B^T d_c B) ] G, where e_k is the m x m tile of
 * dy and d_c the t x t tile of x; the sum over tiles is t^2 GEMMs S_xi (K, C) += E_xi (K, tiles)
 * V_xi (C, tiles)^T.
 *
 * <p><b>Tiles and scratch.</b> Output tiles are numbered image by image, row by row; tiles at the
 * right and bottom edges that hang over the map read zeros beyond the input and write only their
 * valid outputs. Tiles are processed in groups of {@link #tilesPerGroup} consecutive tiles
 * (which may span images), so the transform buffers V (t^2 C n) and M (t^2 K n) together hold
 * at most about {@link #SCRATCH_FLOATS} floats (8 MB) per worker, or 96 tiles' worth when the
 * channels are so many that 96 tiles exceed it. Each call also holds the transformed filter U
 * (t^2 K C floats: 16 MB for 512 x 512 channels with F(2x2)). Backward-filter also holds one S
 * (t^2 K C) per worker and one partial dw (9 K C) per filter group (4 groups), like
 * Conv.backwardFilter.
 *
 * <p><b>Threads and determinism.</b> Forward and backward-data: one work item per group of
 * tiles ({@code Parallel.items}); every output pixel belongs to one tile, so it is written by
 * one item, and the grouping depends only on the geometry, so results are bit-identical run to
 * run and for any thread count. Backward-filter: the tiles are cut into FILTER_GROUPS fixed
 * contiguous ranges, each summed in tile order into a private partial dw, and the partials are
 * added in group order.
 *
 * <p><b>Error.</b> Besides the rounding of the direct sum, each output is a signed combination
 * of products that cancel exactly in real arithmetic. Counting magnitudes through the three
 * stages, the rounding error of one output is at most about (n + 4t) eps beta^2 sum|w||x| for a
 * dot product of n = 9C terms, eps = 2^-24, where beta = max_i sum_xi |A^T_(i,xi)| |G_xi|_1
 * |B^T_xi|_1 / 3 is the 1-d growth factor: 8/3 for F(2x2) (beta^2 ~ 7), 16 for F(4x4) (beta^2 =
 * 256). So F(2x2) is as accurate as the direct sum to within a factor of about 7, F(4x4) loses
 * about 8 more bits (the known fp32 limit of F(4x4); Barabasz et al. 2020 measure the same).
 */
final class Winograd {
    private Winograd() {}

    /** One F(m x m, 3 x 3) algorithm: its tile sizes and matrices, dense and as nonzero lists. */
    record Tile(String name, int m, int t, float[][] bt, double[][] g, float[][] at, Sparse btS, Sparse aS, Sparse atS) {
        Tile(String name, int m, float[][] bt, double[][] g, float[][] at) {
            this(name, m, m + 2, bt, g, at, Sparse.of(bt), Sparse.of(transpose(at)), Sparse.of(at));
        }
    }

    static final Tile F2 = new Tile("F(2x2,3x3)", 2,
            new float[][] {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
            new double[][] {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
            new float[][] {{1, 1, 1, 0}, {0, 1, -1, -1}});

    static final Tile F4 = new Tile("F(4x4,3x3)", 4,
            new float[][] {{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0},
                    {0, 4, 0, -5, 0, 1}},
            new double[][] {{1 / 4.0, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0}, {-1 / 6.0, 1 / 6.0, -1 / 6.0}, {1 / 24.0, 1 / 12.0, 1 / 6.0},
                    {1 / 24.0, -1 / 12.0, 1 / 6.0}, {0, 0, 1}},
            new float[][] {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}});

    /** The rows of a small matrix as lists of (column, coefficient) over its nonzeros. */
    record Sparse(int rows, int cols, int[][] idx, float[][] coef) {
        static Sparse of(float[][] a) {
            int[][] idx = new int[a.length][];
            float[][] coef = new float[a.length][];
            for (int r = 0; r < a.length; r++) {
                int n = 0;
                for (float v : a[r]) if (v != 0) n++;
                idx[r] = new int[n];
                coef[r] = new float[n];
                for (int c = 0, j = 0; c < a[r].length; c++)
                    if (a[r][c] != 0) {
                        idx[r][j] = c;
                        coef[r][j++] = a[r][c];
                    }
            }
            return new Sparse(a.length, a[0].length, idx, coef);
        }
    }

    static float[][] transpose(float[][] a) {
        float[][] t = new float[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[0].length; j++) t[j][i] = a[i][j];
        return t;
    }

    /** The geometries Winograd can do: 3x3 kernel, stride 1, pad at most 2 (backward-data of pad p runs forward with pad 2 - p). */
    static boolean supports(ConvGeom g) { return g.kh() == 3 && g.kw() == 3 && g.stride() == 1 && g.pad() <= 2; }

    /** Floats of V and M (or V and E) together per worker: 8 MB. */
    static final int SCRATCH_FLOATS = 1 << 21;
    /** Tiles per group at least: below about two GEMM register tiles wide the products run at a fraction of their speed. */
    static final int MIN_TILES = 96;
    /** Fixed groups of tiles whose filter-gradient partial sums are added in order (as Conv.filterGroups, but never thread-dependent). */
    static final int FILTER_GROUPS = 4;

    /** Tiles per group: as many as fit SCRATCH_FLOATS (at least MIN_TILES), at most all of them. Depends on the geometry only. */
    static int tilesPerGroup(Tile f, int inC, int outC, int total) {
        int fit = SCRATCH_FLOATS / (f.t * f.t * (inC + outC));
        return Math.min(total, Math.max(MIN_TILES, fit));
    }

    // ---- filter transform -------------------------------------------------------------------

    /** gg[xi][p] = G[r][i] G[q][j] for xi = r*t + q, p = i*3 + j, in double then rounded once: U_xi = sum_p gg[xi][p] w_p. */
    static float[][] outerG(Tile f) {
        int t = f.t;
        float[][] gg = new float[t * t][9];
        for (int r = 0; r < t; r++)
            for (int q = 0; q < t; q++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) gg[r * t + q][i * 3 + j] = (float) (f.g[r][i] * f.g[q][j]);
        return gg;
    }

    /** Filters per chunk of the filter transforms: the chunk's 9 planes and t*t planes stay in L1/L2. */
    private static final int FILTER_CHUNK = 512;

    /**
     * U (t*t, K, C): U[xi][k][c] = (G w[k, c] G^T)_xi. With {@code flip} the filter of
     * backward-data, output channel c and input channel k with w[k, c, 2-i, 2-j]: U is then
     * (t*t, C, K). Chunks of filters are transposed to (9, chunk) so the sums run along
     * contiguous rows.
     */
    static float[] filterTransform(float[] w, int k, int c, Tile f, boolean flip) {
        int tt = f.t * f.t, kc = k * c;
        float[][] gg = outerG(f);
        float[] u = new float[tt * kc];
        int chunks = (kc + FILTER_CHUNK - 1) / FILTER_CHUNK;
        Parallel.range(chunks, Math.max(1, 64 / tt), 1, (from, to) -> {
            float[] wt = new float[9 * FILTER_CHUNK];
            for (int ch = from; ch < to; ch++) {
                int e0 = ch * FILTER_CHUNK, len = Math.min(FILTER_CHUNK, kc - e0);
                // wt (9, len): column e - e0 is the filter that lands at U index e
                for (int e = e0; e < e0 + len; e++) {
                    int src = flip ? ((e % k) * c + e / k) * 9 : e * 9;
                    for (int p = 0; p < 9; p++) wt[p * FILTER_CHUNK + e - e0] = w[src + (flip ? 8 - p : p)];
                }
                for (int xi = 0; xi < tt; xi++) {
                    int uo = xi * kc + e0;
                    float[] cf = gg[xi];
                    for (int x = 0; x < len; x++) u[uo + x] = cf[0] * wt[x];
                    for (int p = 1; p < 9; p++) {
                        float cp = cf[p];
                        if (cp == 0f) continue;
                        int wo = p * FILTER_CHUNK;
                        for (int x = 0; x < len; x++) u[uo + x] += cp * wt[wo + x];
                    }
                }
            }
        });
        return u;
    }

    /** The filter gradient's output transform: p[e*9 + i*3 + j] = (G^T S_e G)_(i, j) = sum_xi gg[xi][i*3 + j] S[xi][e] for S (t*t, K*C). */
    static void filterOutput(float[] acc, int kc, Tile f, float[] p) {
        int tt = f.t * f.t;
        float[][] gg = outerG(f);
        int chunks = (kc + FILTER_CHUNK - 1) / FILTER_CHUNK;
        Parallel.range(chunks, Math.max(1, 64 / tt), 1, (from, to) -> {
            float[] out = new float[9 * FILTER_CHUNK];
            for (int ch = from; ch < to; ch++) {
                int e0 = ch * FILTER_CHUNK, len = Math.min(FILTER_CHUNK, kc - e0);
                for (int q = 0; q < 9; q++) {
                    int oo = q * FILTER_CHUNK;
                    for (int x = 0; x < len; x++) out[oo + x] = gg[0][q] * acc[e0 + x];
                    for (int xi = 1; xi < tt; xi++) {
                        float cq = gg[xi][q];
                        if (cq == 0f) continue;
                        int ao = xi * kc + e0;
                        for (int x = 0; x < len; x++) out[oo + x] += cq * acc[ao + x];
                    }
                }
                for (int x = 0; x < len; x++)
                    for (int q = 0; q < 9; q++) p[(e0 + x) * 9 + q] = out[q * FILTER_CHUNK + x];
            }
        });
    }

    // ---- tile transforms (hot path) ---------------------------------------------------------

    /** Per-worker scratch: the transform buffers and row strips for one group of tiles. */
    static final class Scratch {
        final float[] a, b, acc;
        final float[] strip, rows;

        Scratch(int aLen, int bLen, int stripLen, int accLen) {
            a = new float[aLen];
            b = new float[bLen];
            acc = new float[accLen];
            strip = new float[stripLen];
            rows = new float[stripLen];
        }
    }

    /**
     * The transformed tiles of one strip, tiles tx0..tx1-1 of tile row ty of image b, into
     * columns q.. of dst (t*t, chans, n): dst[(xi * chans + ch) * n + q + tx - tx0] = (L d L^T)_xi,
     * where d is the nIn x nIn patch of src (B, chans, h, w) whose corner is at (ty*m - pad,
     * tx*m - pad), zero outside the plane. L is B^T (nIn = t) for inputs, A (nIn = m) for output
     * gradients.
     *
     * <p>Tiles step m columns, so column j of tile tx is column tx*m + j of the strip. The strip
     * is read split into m phases, strip[(i*m + p)*P + s] = column s*m + p of input row i; then
     * column j of tile tx is phase j % m at s = tx + j / m, and both passes are sums of
     * contiguous runs over the tiles: vertical rows = L strip over whole phase rows, horizontal
     * dst[r][cc] = sum_j L[cc][j] rows[r][j] over all tiles of the strip at once.
     */
    static void transformStrip(float[] src, int b, int chans, int h, int w, int pad, Sparse l, int m, int ty, int tx0, int tx1,
                               float[] dst, int q, int n, int phaseLen, float[] strip, float[] rows) {
        int t = l.rows, nIn = l.cols, seg = tx1 - tx0, pl = phaseLen, block = m * pl;
        int y0 = ty * m - pad, x0 = tx0 * m - pad;
        // hoff[cc][j]: where column idx[cc][j] of tile 0 lies in a phase-split row
        int[][] hoff = new int[t][];
        for (int cc = 0; cc < t; cc++) {
            hoff[cc] = l.idx[cc].clone();
            for (int j = 0; j < hoff[cc].length; j++) hoff[cc][j] = (hoff[cc][j] % m) * pl + hoff[cc][j] / m;
        }
        for (int ch = 0; ch < chans; ch++) {
            int plane = (b * chans + ch) * h * w;
            for (int i = 0; i < nIn; i++) {
                int iy = y0 + i, so = i * block;
                if (iy < 0 || iy >= h) {
                    java.util.Arrays.fill(strip, so, so + block, 0f);
                    continue;
                }
                int row = plane + iy * w;
                for (int p = 0; p < m; p++) {
                    int po = so + p * pl;
                    for (int sx = 0; sx <= seg; sx++) {
                        int ix = x0 + sx * m + p;
                        strip[po + sx] = ix >= 0 && ix < w ? src[row + ix] : 0f;
                    }
                }
            }
            // vertical: rows (t, m, P) = L strip, one combination of whole (m, P) blocks per row r
            for (int r = 0; r < t; r++) combine(strip, l.idx[r], block, 0, l.coef[r], rows, r * block, (m - 1) * pl + seg + 1);
            // horizontal: column j of every tile of the strip is the run rows[r][j % m][j / m ..]
            for (int r = 0; r < t; r++)
                for (int cc = 0; cc < t; cc++) combine(rows, hoff[cc], 1, r * block, l.coef[cc], dst, ((r * t + cc) * chans + ch) * n + q, seg);
        }
    }

    // ---- F(2x2) tile transforms written out (hot path) ---------------------------------------
    //
    // The same sums as transformStrip and outputStrip with B^T and A^T of F2, in the same order
    // (vertical, then horizontal; terms in column order), so they give the same bits: the
    // generic versions are their oracle. Per tile rather than per strip: with 16 floats a tile
    // and two-term sums, the strip version's phase splitting costs more than it saves.

    /** transformStrip for F2 and L = B^T (inputs, nIn = 4) or L = A (output gradients, nIn = 2). */
    static void transformStripF2(float[] src, int b, int chans, int h, int w, int pad, boolean gradient, int ty, int tx0, int tx1,
                                 float[] dst, int q, int n, float[] d) {
        int nIn = gradient ? 2 : 4, y0 = ty * 2 - pad, xs = chans * n;
        boolean rowsInside = y0 >= 0 && y0 + nIn <= h;
        for (int ch = 0; ch < chans; ch++) {
            int plane = (b * chans + ch) * h * w;
            for (int tx = tx0; tx < tx1; tx++) {
                int x0 = tx * 2 - pad, o = ch * n + q + tx - tx0;
                if (rowsInside && x0 >= 0 && x0 + nIn <= w) {
                    for (int i = 0, r = plane + y0 * w + x0; i < nIn; i++, r += w)
                        for (int j = 0; j < nIn; j++) d[i * nIn + j] = src[r + j];
                } else {
                    for (int i = 0; i < nIn; i++)
                        for (int j = 0; j < nIn; j++) {
                            int iy = y0 + i, ix = x0 + j;
                            d[i * nIn + j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? src[plane + iy * w + ix] : 0f;
                        }
                }
                if (gradient) gradientTileF2(d, dst, o, xs);
                else inputTileF2(d, dst, o, xs);
            }
        }
    }

    /** dst[o + xi*xs] = (B^T d B)_xi for the 4x4 tile d. */
    private static void inputTileF2(float[] d, float[] dst, int o, int xs) {
        for (int j = 0; j < 4; j++) {
            float d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
            // rows of B^T d, kept in d's place column by column
            d[j] = d0 - d2;
            d[4 + j] = d1 + d2;
            d[8 + j] = -d1 + d2;
            d[12 + j] = d1 - d3;
        }
        for (int r = 0; r < 4; r++) {
            float u0 = d[r * 4], u1 = d[r * 4 + 1], u2 = d[r * 4 + 2], u3 = d[r * 4 + 3];
            int base = o + r * 4 * xs;
            dst[base] = u0 - u2;
            dst[base + xs] = u1 + u2;
            dst[base + 2 * xs] = -u1 + u2;
            dst[base + 3 * xs] = u1 - u3;
        }
    }

    /** dst[o + xi*xs] = (A e A^T)_xi for the 2x2 tile e of an output gradient. */
    private static void gradientTileF2(float[] e, float[] dst, int o, int xs) {
        float e00 = e[0], e01 = e[1], e10 = e[2], e11 = e[3];
        // rows of A e: (e0, e0 + e1, e0 - e1, -e1) over the two columns
        float[] u = {e00, e01, e00 + e10, e01 + e11, e00 - e10, e01 - e11, -e10, -e11};
        for (int r = 0; r < 4; r++) {
            float u0 = u[r * 2], u1 = u[r * 2 + 1];
            int base = o + r * 4 * xs;
            dst[base] = u0;
            dst[base + xs] = u0 + u1;
            dst[base + 2 * xs] = u0 - u1;
            dst[base + 3 * xs] = -u1;
        }
    }

    /** outputStrip for F2. */
    static void outputStripF2(float[] mm, int k, int n, int q, float[] bias, float[] out, int b, int oh, int ow, int ty, int tx0, int tx1) {
        int xs = k * n, oy = ty * 2;
        boolean twoRows = oy + 1 < oh;
        for (int o = 0; o < k; o++) {
            float v = bias == null ? 0f : bias[o];
            int row = ((b * k + o) * oh + oy) * ow;
            for (int tx = tx0; tx < tx1; tx++) {
                int mo = o * n + q + tx - tx0;
                // z[r][j] = A^T M^T row by row, then y = A^T z
                float z00 = 0, z01 = 0, z10 = 0, z11 = 0, z20 = 0, z21 = 0, z30 = 0, z31 = 0;
                for (int r = 0; r < 4; r++) {
                    int base = mo + r * 4 * xs;
                    float m0 = mm[base], m1 = mm[base + xs], m2 = mm[base + 2 * xs], m3 = mm[base + 3 * xs];
                    float a = m0 + m1 + m2, c = m1 - m2 - m3;
                    switch (r) {
                        case 0 -> { z00 = a; z01 = c; }
                        case 1 -> { z10 = a; z11 = c; }
                        case 2 -> { z20 = a; z21 = c; }
                        default -> { z30 = a; z31 = c; }
                    }
                }
                int ox = tx * 2, yo = row + ox;
                boolean twoCols = ox + 1 < ow;
                float y00 = z00 + z10 + z20, y01 = z01 + z11 + z21;
                out[yo] = bias == null ? y00 : y00 + v;
                if (twoCols) out[yo + 1] = bias == null ? y01 : y01 + v;
                if (twoRows) {
                    float y10 = z10 - z20 - z30, y11 = z11 - z21 - z31;
                    out[yo + ow] = bias == null ? y10 : y10 + v;
                    if (twoCols) out[yo + ow + 1] = bias == null ? y11 : y11 + v;
                }
            }
        }
    }

    private static final jdk.incubator.vector.VectorSpecies<Float> S = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;

    /**
     * out[oo + x] = sum_j cf[j] in[base + ix[j] * stride + x] for x < len: the sum runs j in
     * order with a rounding after each product and each add, exactly as the scalar loop would,
     * so the result does not depend on the vector width.
     */
    static void combine(float[] in, int[] ix, int stride, int base, float[] cf, float[] out, int oo, int len) {
        int x = 0;
        for (; x <= len - S.length(); x += S.length()) {
            var acc = jdk.incubator.vector.FloatVector.fromArray(S, in, base + ix[0] * stride + x).mul(cf[0]);
            for (int j = 1; j < ix.length; j++) acc = acc.add(jdk.incubator.vector.FloatVector.fromArray(S, in, base + ix[j] * stride + x).mul(cf[j]));
            acc.intoArray(out, oo + x);
        }
        for (; x < len; x++) {
            float v = cf[0] * in[base + ix[0] * stride + x];
            for (int j = 1; j < ix.length; j++) v += cf[j] * in[base + ix[j] * stride + x];
            out[oo + x] = v;
        }
    }

    /**
     * The output tiles of one strip, tiles tx0..tx1-1 of tile row ty of image b, from columns q..
     * of mm (t*t, K, n): out[b, k, ty*m + i, tx*m + j] = (A^T M A)_(i,j) (+ bias[k]), valid
     * outputs only. Both passes run over all tiles of the strip at once (horizontal: z[r][j] =
     * sum_cc A^T[j][cc] M[r*t + cc]; vertical: row i = sum_r A^T[i][r] z[r]), then the m
     * columns of each tile are interleaved into the output row.
     */
    static void outputStrip(float[] mm, int k, int n, int q, Tile f, float[] bias, float[] out, int b, int oh, int ow, int ty, int tx0,
                            int tx1, int phaseLen, float[] strip, float[] rows) {
        int t = f.t, m = f.m, seg = tx1 - tx0, pl = phaseLen, block = m * pl;
        Sparse at = f.atS;
        int vw = Math.min(seg * m, ow - tx0 * m), vh = Math.min(m, oh - ty * m);
        for (int o = 0; o < k; o++) {
            // strip (t, m, P): strip[r][j][tx] = sum_cc A^T[j][cc] M[r*t + cc][o][q + tx]
            for (int r = 0; r < t; r++)
                for (int j = 0; j < m; j++) combine(mm, at.idx[j], k * n, (r * t * k + o) * n + q, at.coef[j], strip, r * block + j * pl, seg);
            for (int i = 0; i < vh; i++) {
                combine(strip, at.idx[i], block, 0, at.coef[i], rows, 0, block);
                int yo = ((b * k + o) * oh + ty * m + i) * ow + tx0 * m;
                float v = bias == null ? 0f : bias[o];
                for (int x = 0; x < vw; x++) {
                    float val = rows[(x % m) * pl + x / m];
                    out[yo + x] = bias == null ? val : val + v;
                }
            }
        }
    }

    /** Calls {@code body(b, ty, tx0, tx1, q)} for each strip of one tile row that lies in global tiles [from, to); q is the column of tile tx0. */
    interface Strip { void run(int b, int ty, int tx0, int tx1, int q); }

    static void strips(int tH, int tW, int from, int to, Strip body) {
        for (int id = from; id < to; ) {
            int row = id / tW, tx0 = id - row * tW, tx1 = Math.min(tW, tx0 + (to - id));
            body.run(row / tH, row % tH, tx0, tx1, id - from);
            id += tx1 - tx0;
        }
    }

    // ---- the three passes -------------------------------------------------------------------

    // x (B, C, H, W), w (K, C, 3, 3), bias (K) or null, y (B, K, oH, oW)
    static void forward(float[] x, float[] w, float[] bias, float[] y, ConvGeom g, Tile f) {
        float[] u = filterTransform(w, g.outC(), g.inC(), f, false);
        convolve(x, g.batch(), g.inC(), g.inH(), g.inW(), g.pad(), u, g.outC(), bias, y, g.outH(), g.outW(), f);
    }

    // dy (B, K, oH, oW), w (K, C, 3, 3), dx (B, C, H, W) overwritten: forward of dy with the flipped filter, pad 2 - pad
    static void backwardData(float[] dy, float[] w, float[] dx, ConvGeom g, Tile f) {
        float[] u = filterTransform(w, g.outC(), g.inC(), f, true);
        convolve(dy, g.batch(), g.outC(), g.outH(), g.outW(), 2 - g.pad(), u, g.inC(), null, dx, g.inH(), g.inW(), f);
    }

    /** out (B, K, oh, ow) = the 3x3 stride-1 convolution of in (B, C, h, w) with pad, given the transformed filter u (t*t, K, C). */
    private static void convolve(float[] in, int batch, int c, int h, int w, int pad, float[] u, int k, float[] bias, float[] out, int oh, int ow,
                                 Tile f) {
        int m = f.m, tt = f.t * f.t, tH = (oh + m - 1) / m, tW = (ow + m - 1) / m, total = batch * tH * tW;
        int per = tilesPerGroup(f, c, k, total), groups = (total + per - 1) / per;
        int pl = tW + 2, stripLen = f.t * m * pl;
        Parallel.items(groups, () -> new Scratch(tt * c * per, tt * k * per, stripLen, 0), (gi, s) -> {
            int from = gi * per, n = Math.min(per, total - from);
            strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> {
                if (f == F2) transformStripF2(in, b, c, h, w, pad, false, ty, tx0, tx1, s.a, q, n, s.strip);
                else transformStrip(in, b, c, h, w, pad, f.btS, m, ty, tx0, tx1, s.a, q, n, pl, s.strip, s.rows);
            });
            // M_xi (K, n) = U_xi (K, C) V_xi (C, n)
            for (int xi = 0; xi < tt; xi++) Gemm.gemm(false, false, k, n, c, 1f, u, xi * k * c, s.a, xi * c * n, 0f, s.b, xi * k * n);
            strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> {
                if (f == F2) outputStripF2(s.b, k, n, q, bias, out, b, oh, ow, ty, tx0, tx1);
                else outputStrip(s.b, k, n, q, f, bias, out, b, oh, ow, ty, tx0, tx1, pl, s.strip, s.rows);
            });
        });
    }

    /**
     * x (B, C, H, W), dy (B, K, oH, oW), dw (K, C, 3, 3) and dbias (K) (+)=. The tiles are cut into
     * FILTER_GROUPS fixed ranges; each range is taken in groups of tilesPerGroup tiles whose
     * products are summed into the worker's S in order, then S goes through G^T S G into that
     * range's partial dw; the partials are added in range order.
     */
    static void backwardFilter(float[] x, float[] dy, float[] dw, float[] dbias, ConvGeom g, boolean accumulate, Tile f) {
        int m = f.m, t = f.t, tt = t * t, c = g.inC(), k = g.outC(), oh = g.outH(), ow = g.outW();
        int tH = (oh + m - 1) / m, tW = (ow + m - 1) / m, total = g.batch() * tH * tW;
        int per = tilesPerGroup(f, c, k, total), ranges = Math.min(FILTER_GROUPS, total);
        int pl = tW + 2, stripLen = t * m * pl;
        float[][] partial = new float[ranges][];
        Parallel.items(ranges, () -> new Scratch(tt * c * per, tt * k * per, stripLen, tt * k * c), (ri, s) -> {
            float[] acc = s.acc;
            int r0 = Parallel.start(total, ranges, ri), r1 = Parallel.start(total, ranges, ri + 1);
            for (int from = r0; from < r1; from += per) {
                int n = Math.min(per, r1 - from);
                strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> {
                    if (f == F2) {
                        transformStripF2(x, b, c, g.inH(), g.inW(), g.pad(), false, ty, tx0, tx1, s.a, q, n, s.strip);
                        transformStripF2(dy, b, k, oh, ow, 0, true, ty, tx0, tx1, s.b, q, n, s.strip);
                    } else {
                        transformStrip(x, b, c, g.inH(), g.inW(), g.pad(), f.btS, m, ty, tx0, tx1, s.a, q, n, pl, s.strip, s.rows);
                        transformStrip(dy, b, k, oh, ow, 0, f.aS, m, ty, tx0, tx1, s.b, q, n, pl, s.strip, s.rows);
                    }
                });
                // S_xi (K, C) (+)= E_xi (K, n) V_xi (C, n)^T
                float beta = from == r0 ? 0f : 1f;
                for (int xi = 0; xi < tt; xi++) Gemm.gemm(false, true, k, c, n, 1f, s.b, xi * k * n, s.a, xi * c * n, beta, acc, xi * k * c);
            }
            float[] p = new float[k * c * 9];
            filterOutput(acc, k * c, f, p);
            partial[ri] = p;
        });
        Parallel.range(k * c * 9, CpuBackend.GRAIN, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                float s = accumulate ? dw[i] : 0f;
                for (float[] p : partial) s += p[i];
                dw[i] = s;
            }
        });
        if (dbias != null) Conv.biasGradient(dy, dbias, g, accumulate);
    }
}
