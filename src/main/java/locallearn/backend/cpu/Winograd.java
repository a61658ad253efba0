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
 * channels are so many that 96 tiles exceed it. Backward-filter also holds one S (t^2 K C) per
 * worker and one partial dw (9 K C) per filter group (4 groups), like Conv.backwardFilter.
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
     * The transformed tiles of one strip of tiles, tiles tx0..tx1-1 of tile row ty of image b,
     * into columns q.. of dst (t*t, chans, n): dst[(xi * chans + ch) * n + q + tx - tx0] =
     * (L d L^T)_xi, where d is the nIn x nIn patch of src (B, chans, h, w) whose corner is at
     * (ty*m - pad, tx*m - pad), zero outside the plane. L is B^T (nIn = t) for inputs, A (nIn = m)
     * for output gradients.
     */
    static void transformStrip(float[] src, int b, int chans, int h, int w, int pad, Sparse l, int m, int ty, int tx0, int tx1,
                               float[] dst, int q, int n, float[] strip, float[] rows) {
        int t = l.rows, nIn = l.cols, seg = tx1 - tx0, span = (seg - 1) * m + nIn;
        int y0 = ty * m - pad, x0 = tx0 * m - pad;
        // the valid columns of the strip: [lo, hi) of [0, span)
        int lo = Math.max(0, -x0), hi = Math.min(span, w - x0);
        for (int ch = 0; ch < chans; ch++) {
            int plane = (b * chans + ch) * h * w;
            // strip (nIn, span): the input rows, zero outside the plane
            for (int i = 0; i < nIn; i++) {
                int iy = y0 + i, so = i * span;
                if (iy < 0 || iy >= h || lo >= hi) {
                    java.util.Arrays.fill(strip, so, so + span, 0f);
                    continue;
                }
                java.util.Arrays.fill(strip, so, so + lo, 0f);
                System.arraycopy(src, plane + iy * w + x0 + lo, strip, so + lo, hi - lo);
                java.util.Arrays.fill(strip, so + hi, so + span, 0f);
            }
            // vertical pass over whole rows: rows (t, span) = L strip
            for (int r = 0; r < t; r++) {
                int[] ix = l.idx[r];
                float[] cf = l.coef[r];
                int ro = r * span;
                combine(strip, ix, cf, span, rows, ro);
            }
            // horizontal pass per tile: dst[r][cc] = sum_j L[cc][j] rows[r][tx*m + j]
            for (int r = 0; r < t; r++)
                for (int cc = 0; cc < t; cc++) {
                    int[] ix = l.idx[cc];
                    float[] cf = l.coef[cc];
                    int d = ((r * t + cc) * chans + ch) * n + q, ro = r * span;
                    for (int tx = 0; tx < seg; tx++) {
                        int o = ro + tx * m;
                        float s = cf[0] * rows[o + ix[0]];
                        for (int j = 1; j < ix.length; j++) s += cf[j] * rows[o + ix[j]];
                        dst[d + tx] = s;
                    }
                }
        }
    }

    /** out[oo + x] = sum_j cf[j] in[ix[j] * len + x] for x < len: one output row of a vertical pass. */
    private static void combine(float[] in, int[] ix, float[] cf, int len, float[] out, int oo) {
        int i0 = ix[0] * len;
        float c0 = cf[0];
        for (int x = 0; x < len; x++) out[oo + x] = c0 * in[i0 + x];
        for (int j = 1; j < ix.length; j++) {
            int ij = ix[j] * len;
            float cj = cf[j];
            for (int x = 0; x < len; x++) out[oo + x] += cj * in[ij + x];
        }
    }

    /**
     * The output tiles of one strip, tiles tx0..tx1-1 of tile row ty of image b, from columns q..
     * of mm (t*t, K, n): out[b, k, ty*m + i, tx*m + j] = (A^T M A)_(i,j) (+ bias[k]), valid
     * outputs only.
     */
    static void outputStrip(float[] mm, int k, int n, int q, Tile f, float[] bias, float[] out, int b, int oh, int ow, int ty, int tx0,
                            int tx1, float[] strip, float[] rows) {
        int t = f.t, m = f.m, seg = tx1 - tx0, span = seg * m;
        Sparse at = f.atS;
        int vw = Math.min(span, ow - tx0 * m), vh = Math.min(m, oh - ty * m);
        for (int o = 0; o < k; o++) {
            // horizontal pass: strip (t, span), strip[r][tx*m + j] = sum_cc A^T[j][cc] M[r][cc]
            for (int r = 0; r < t; r++)
                for (int j = 0; j < m; j++) {
                    int[] ix = at.idx[j];
                    float[] cf = at.coef[j];
                    int so = r * span + j;
                    for (int tx = 0; tx < seg; tx++) {
                        float s = cf[0] * mm[((r * t + ix[0]) * k + o) * n + q + tx];
                        for (int jj = 1; jj < ix.length; jj++) s += cf[jj] * mm[((r * t + ix[jj]) * k + o) * n + q + tx];
                        strip[so + tx * m] = s;
                    }
                }
            // vertical pass: output row i = sum_r A^T[i][r] strip[r], the valid part only
            for (int i = 0; i < vh; i++) {
                combine(strip, at.idx[i], at.coef[i], span, rows, 0);
                int yo = ((b * k + o) * oh + ty * m + i) * ow + tx0 * m;
                if (bias == null) System.arraycopy(rows, 0, out, yo, vw);
                else {
                    float v = bias[o];
                    for (int x = 0; x < vw; x++) out[yo + x] = rows[x] + v;
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
        int stripLen = f.t * ((tW - 1) * m + f.t);
        Parallel.items(groups, () -> new Scratch(tt * c * per, tt * k * per, stripLen, 0), (gi, s) -> {
            int from = gi * per, n = Math.min(per, total - from);
            strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) ->
                    transformStrip(in, b, c, h, w, pad, f.btS, m, ty, tx0, tx1, s.a, q, n, s.strip, s.rows));
            // M_xi (K, n) = U_xi (K, C) V_xi (C, n)
            for (int xi = 0; xi < tt; xi++) Gemm.gemm(false, false, k, n, c, 1f, u, xi * k * c, s.a, xi * c * n, 0f, s.b, xi * k * n);
            strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> outputStrip(s.b, k, n, q, f, bias, out, b, oh, ow, ty, tx0, tx1, s.strip, s.rows));
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
        int stripLen = t * ((tW - 1) * m + t);
        float[][] partial = new float[ranges][];
        Parallel.items(ranges, () -> new Scratch(tt * c * per, tt * k * per, stripLen, tt * k * c), (ri, s) -> {
            float[] acc = s.acc;
            int r0 = Parallel.start(total, ranges, ri), r1 = Parallel.start(total, ranges, ri + 1);
            for (int from = r0; from < r1; from += per) {
                int n = Math.min(per, r1 - from);
                strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> {
                    transformStrip(x, b, c, g.inH(), g.inW(), g.pad(), f.btS, m, ty, tx0, tx1, s.a, q, n, s.strip, s.rows);
                    transformStrip(dy, b, k, oh, ow, 0, f.aS, m, ty, tx0, tx1, s.b, q, n, s.strip, s.rows);
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
