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
 * (t^2 K C floats: 16 MB for 512 x 512 channels with F(2x2)). Backward-filter holds one S
 * (t^2 K C) and one dw-sized result (9 K C) instead, and one set of V and E.
 *
 * <p><b>Threads and determinism.</b> Forward and backward-data: one work item per group of
 * tiles ({@code Parallel.items}); every output pixel belongs to one tile, so it is written by
 * one item, and the grouping depends only on the geometry, so results are bit-identical run to
 * run and for any thread count. Backward-filter: the groups of tiles are taken in order, their
 * transforms split over the channels and their t^2 products over xi, so each element of S is
 * one sum over all tiles in tile order, whatever the thread count; one output transform follows.
 * (It used to cut the tiles into 4 ranges, each with its own S, output transform and partial dw
 * added in order: at the few tiles of a slice of 8 images those four output transforms of
 * t^2 K C floats each were a tenth of the sliced step.)
 *
 * <p><b>Error.</b> Besides the rounding of the direct sum, each output is a signed combination
 * of products that cancel exactly in real arithmetic. Counting magnitudes through the three
 * stages, the rounding error of one output is at most about (n + 4t) eps beta^2 sum|w||x| for a
 * dot product of n = 9C terms, eps = 2^-24, where beta = max_i sum_xi |A^T_(i,xi)| |G_xi|_1
 * |B^T_xi|_1 / 3 is the 1-d growth factor: 8/3 for F(2x2) (beta^2 ~ 7), 16 for F(4x4) (beta^2 =
 * 256). So F(2x2) is as accurate as the direct sum to within a factor of about 7, F(4x4) loses
 * about 8 more bits (the known fp32 limit of F(4x4); Barabasz et al. 2020 measure the same).
 *
 * <p><b>TF32.</b> With {@code tf32} the inputs x, w and dy are rounded to TF32 as the transforms
 * read them (the transformed tiles are not rounded again), so each pass is the float32 Winograd
 * convolution of the rounded inputs: the same values as Conv's TF32 path and the GPU's fallback
 * kernels, up to the rounding error above.
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
     * U (t*t, K, C): U[xi][k][c] = (G w[k, c] G^T)_xi, each U_xi as the GEMM's packed A (K rows
     * of C), written straight into the packed layout ({@link Gemm#packedOffset}): U never exists
     * unpacked, so it is written to memory once instead of written, read and written again by a
     * separate pack (the two were 7 % of a sliced vgg8b step). With {@code flip} the filter of
     * backward-data, output channel c and input channel k with w[k, c, 2-i, 2-j]: U_xi is then
     * (C, K). Chunks of filters are transposed to (9, chunk) so the sums run along contiguous
     * rows; the chunk's t*t rows of U are then scattered into the packed slivers.
     */
    static Gemm.PackedA[] filterTransform(float[] w, int k, int c, Tile f, boolean flip, boolean tf32) {
        int tt = f.t * f.t, kc = k * c, rows = flip ? c : k, cols = flip ? k : c, mPad = Gemm.paddedRows(rows);
        float[][] gg = outerG(f);
        float[][] packed = new float[tt][mPad * cols];
        int chunks = (kc + FILTER_CHUNK - 1) / FILTER_CHUNK;
        Parallel.range(chunks, Math.max(1, 64 / tt), 1, (from, to) -> {
            float[] wt = new float[9 * FILTER_CHUNK], u = new float[tt * FILTER_CHUNK];
            for (int ch = from; ch < to; ch++) {
                int e0 = ch * FILTER_CHUNK, len = Math.min(FILTER_CHUNK, kc - e0);
                // wt (9, len): column e - e0 is the filter that lands at U_xi's element e (row e / cols, column e % cols)
                for (int e = e0; e < e0 + len; e++) {
                    int src = flip ? ((e % k) * c + e / k) * 9 : e * 9;
                    for (int p = 0; p < 9; p++) wt[p * FILTER_CHUNK + e - e0] = Tf32.input(w[src + (flip ? 8 - p : p)], tf32);
                }
                for (int xi = 0; xi < tt; xi++) {
                    int uo = xi * FILTER_CHUNK;
                    float[] cf = gg[xi];
                    for (int x = 0; x < len; x++) u[uo + x] = cf[0] * wt[x];
                    for (int p = 1; p < 9; p++) {
                        float cp = cf[p];
                        if (cp == 0f) continue;
                        int wo = p * FILTER_CHUNK;
                        for (int x = 0; x < len; x++) u[uo + x] += cp * wt[wo + x];
                    }
                }
                // runs of the chunk within one row of U_xi, and within one of the pack's column blocks, land MR floats apart
                for (int e = e0; e < e0 + len; ) {
                    int row = e / cols, col = e % cols, end = Math.min(e0 + len, e + Math.min(cols - col, Gemm.columnsLeftInBlock(col)));
                    int at = Gemm.packedOffset(mPad, cols, row, col);
                    for (int xi = 0; xi < tt; xi++) {
                        float[] dst = packed[xi];
                        for (int i = e, o = at, x = xi * FILTER_CHUNK + e - e0; i < end; i++, o += Gemm.MR, x++) dst[o] = u[x];
                    }
                    e = end;
                }
            }
        });
        Gemm.PackedA[] pu = new Gemm.PackedA[tt];
        for (int xi = 0; xi < tt; xi++) pu[xi] = new Gemm.PackedA(rows, cols, mPad, packed[xi], false);
        return pu;
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
                               float[] dst, int q, int n, int phaseLen, float[] strip, float[] rows, boolean tf32) {
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
                        strip[po + sx] = ix >= 0 && ix < w ? Tf32.input(src[row + ix], tf32) : 0f;
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

    // ---- F(2x2) transforms written out (hot path) ---------------------------------------------
    //
    // The same sums as transformStrip and outputStrip with B^T and A^T of F2, in the same order
    // (vertical, then horizontal; terms in column order), so they give the same bits: the
    // generic versions are their oracle. A tile steps 2 columns, so the strip's input rows are
    // first split into even and odd columns (E[s] = column 2s - pad, O[s] = column 2s + 1 - pad of
    // tile s's first column); then column j of tile s is E[s + j/2] (j even) or O[s + j/2], and
    // every sum runs over all tiles of the strip at once, in vectors, into contiguous runs of V.

    /**
     * transformStrip for F2, channel ch only, and L = B^T (inputs, 4 rows a tile) or L = A (output
     * gradients, 2 rows). Callers take the channels outermost, the strips inside, so the input
     * plane and V's rows are each read or written in order (prefetchers follow 16 sequential
     * streams; the other order strides through the whole V per strip).
     */
    static void transformStripF2(float[] src, int b, int chans, int h, int w, int pad, boolean gradient, int ty, int tx0, int tx1,
                                 float[] dst, int q, int n, float[] d, int ch, boolean tf32) {
        int rows = gradient ? 2 : 4, seg = tx1 - tx0, y0 = ty * 2 - pad, xs = chans * n, pl = seg + 1;
        int plane = (b * chans + ch) * h * w, o = ch * n + q;
        // E_i at d[2i*pl], O_i at d[(2i+1)*pl], for the tile row's input rows i
        for (int i = 0; i < rows; i++) {
            int iy = y0 + i, eo = 2 * i * pl, oo = eo + pl;
            if (iy < 0 || iy >= h) {
                java.util.Arrays.fill(d, eo, eo + 2 * pl, 0f);
                continue;
            }
            int row = plane + iy * w, first = tx0 * 2 - pad;
            // tiles sx in [lo, hi) read both their columns inside the row: no checks there
            int lo = Math.min(pl, Math.max(0, (1 - first) / 2)), hi = Math.max(lo, Math.min(pl, (w - first) / 2));
            for (int sx = 0; sx < lo; sx++) split(src, row, first + 2 * sx, w, d, eo + sx, oo + sx);
            for (int sx = lo, ix = row + first + 2 * lo; sx < hi; sx++, ix += 2) {
                d[eo + sx] = src[ix];
                d[oo + sx] = src[ix + 1];
            }
            for (int sx = hi; sx < pl; sx++) split(src, row, first + 2 * sx, w, d, eo + sx, oo + sx);
            if (tf32) Tf32.round(d, eo, eo + 2 * pl);   // the row's even and odd columns, before any sum
        }
        if (gradient) gradientStripF2(d, pl, seg, dst, o, xs);
        else inputStripF2(d, pl, seg, dst, o, xs);
    }

    /** Columns ix and ix + 1 of an input row into d[e] and d[o], 0 outside [0, w). */
    private static void split(float[] src, int row, int ix, int w, float[] d, int e, int o) {
        d[e] = ix >= 0 && ix < w ? src[row + ix] : 0f;
        d[o] = ix + 1 >= 0 && ix + 1 < w ? src[row + ix + 1] : 0f;
    }

    /** dst[o + xi*xs + s] = (B^T d_s B)_xi for the 4x4 tiles d_s of the strip, from the split rows in d. */
    private static void inputStripF2(float[] d, int pl, int seg, float[] dst, int o, int xs) {
        // vertical, in place, on even and odd columns alike: rows of B^T d
        for (int ph = 0; ph < 2; ph++) {
            int r0 = ph * pl, r1 = r0 + 2 * pl, r2 = r1 + 2 * pl, r3 = r2 + 2 * pl;
            int x = 0;
            for (; x <= pl - L; x += L) {
                var d0 = vec(d, r0 + x); var d1 = vec(d, r1 + x); var d2 = vec(d, r2 + x); var d3 = vec(d, r3 + x);
                d0.sub(d2).intoArray(d, r0 + x);
                d1.add(d2).intoArray(d, r1 + x);
                d1.neg().add(d2).intoArray(d, r2 + x);
                d1.sub(d3).intoArray(d, r3 + x);
            }
            for (; x < pl; x++) {
                float d0 = d[r0 + x], d1 = d[r1 + x], d2 = d[r2 + x], d3 = d[r3 + x];
                d[r0 + x] = d0 - d2;
                d[r1 + x] = d1 + d2;
                d[r2 + x] = -d1 + d2;
                d[r3 + x] = d1 - d3;
            }
        }
        // horizontal: row r of tile s has columns (E[s], O[s], E[s+1], O[s+1])
        for (int r = 0; r < 4; r++) {
            int e = 2 * r * pl, od = e + pl, base = o + r * 4 * xs;
            int x = 0;
            for (; x <= seg - L; x += L) {
                var u0 = vec(d, e + x); var u1 = vec(d, od + x); var u2 = vec(d, e + x + 1); var u3 = vec(d, od + x + 1);
                u0.sub(u2).intoArray(dst, base + x);
                u1.add(u2).intoArray(dst, base + xs + x);
                u1.neg().add(u2).intoArray(dst, base + 2 * xs + x);
                u1.sub(u3).intoArray(dst, base + 3 * xs + x);
            }
            for (; x < seg; x++) {
                float u0 = d[e + x], u1 = d[od + x], u2 = d[e + x + 1], u3 = d[od + x + 1];
                dst[base + x] = u0 - u2;
                dst[base + xs + x] = u1 + u2;
                dst[base + 2 * xs + x] = -u1 + u2;
                dst[base + 3 * xs + x] = u1 - u3;
            }
        }
    }

    /** dst[o + xi*xs + s] = (A e_s A^T)_xi for the 2x2 output-gradient tiles e_s, from the split rows in d (E0, O0, E1, O1). */
    private static void gradientStripF2(float[] d, int pl, int seg, float[] dst, int o, int xs) {
        // rows of A e, as (even, odd) pairs: (e0, e1), (e0 + e1 rows), (e0 - e1 rows), (-e1)
        int e0 = 0, o0 = pl, e1 = 2 * pl, o1 = 3 * pl, se = 4 * pl, so = 5 * pl, de = 6 * pl, dd = 7 * pl;
        int x = 0;
        for (; x <= seg - L; x += L) {
            var a = vec(d, e0 + x); var bb = vec(d, o0 + x); var c = vec(d, e1 + x); var e = vec(d, o1 + x);
            a.add(c).intoArray(d, se + x);
            bb.add(e).intoArray(d, so + x);
            a.sub(c).intoArray(d, de + x);
            bb.sub(e).intoArray(d, dd + x);
            c.neg().intoArray(d, e1 + x);
            e.neg().intoArray(d, o1 + x);
        }
        for (; x < seg; x++) {
            float a = d[e0 + x], bb = d[o0 + x], c = d[e1 + x], e = d[o1 + x];
            d[se + x] = a + c;
            d[so + x] = bb + e;
            d[de + x] = a - c;
            d[dd + x] = bb - e;
            d[e1 + x] = -c;
            d[o1 + x] = -e;
        }
        // row r: (u0, u1) -> (u0, u0 + u1, u0 - u1, -u1)
        int[] evens = {e0, se, de, e1}, odds = {o0, so, dd, o1};
        for (int r = 0; r < 4; r++) {
            int ue = evens[r], uo = odds[r], base = o + r * 4 * xs;
            x = 0;
            for (; x <= seg - L; x += L) {
                var u0 = vec(d, ue + x); var u1 = vec(d, uo + x);
                u0.intoArray(dst, base + x);
                u0.add(u1).intoArray(dst, base + xs + x);
                u0.sub(u1).intoArray(dst, base + 2 * xs + x);
                u1.neg().intoArray(dst, base + 3 * xs + x);
            }
            for (; x < seg; x++) {
                float u0 = d[ue + x], u1 = d[uo + x];
                dst[base + x] = u0;
                dst[base + xs + x] = u0 + u1;
                dst[base + 2 * xs + x] = u0 - u1;
                dst[base + 3 * xs + x] = -u1;
            }
        }
    }

    /**
     * outputStrip for F2, output channel o only (callers take the channels outermost, as for
     * transformStripF2): the 16 rows of M over the strip's tiles give, in
     * vectors, z = A^T M row by row and then the tiles' four outputs y = A^T z, held in d as four
     * runs (y00, y01, y10, y11) and interleaved into the two output rows.
     */
    static void outputStripF2(float[] mm, int k, int n, int q, float[] bias, float[] out, int b, int oh, int ow, int ty, int tx0, int tx1,
                              float[] d, int o) {
        int xs = k * n, oy = ty * 2, seg = tx1 - tx0;
        boolean twoRows = oy + 1 < oh;
        int mo = o * n + q;
        int x = 0;
        for (; x <= seg - L; x += L) {
            // z_r = (m_r0 + m_r1 + m_r2, m_r1 - m_r2 - m_r3) for the rows r of the tile, written out
            // (vectors held in locals only: C2 boxes a vector that a loop variable or null may alias)
            int b0 = mo + x, b1 = b0 + 4 * xs, b2 = b1 + 4 * xs, b3 = b2 + 4 * xs;
            var z00 = vec(mm, b0).add(vec(mm, b0 + xs)).add(vec(mm, b0 + 2 * xs));
            var z01 = vec(mm, b0 + xs).sub(vec(mm, b0 + 2 * xs)).sub(vec(mm, b0 + 3 * xs));
            var z10 = vec(mm, b1).add(vec(mm, b1 + xs)).add(vec(mm, b1 + 2 * xs));
            var z11 = vec(mm, b1 + xs).sub(vec(mm, b1 + 2 * xs)).sub(vec(mm, b1 + 3 * xs));
            var z20 = vec(mm, b2).add(vec(mm, b2 + xs)).add(vec(mm, b2 + 2 * xs));
            var z21 = vec(mm, b2 + xs).sub(vec(mm, b2 + 2 * xs)).sub(vec(mm, b2 + 3 * xs));
            var z30 = vec(mm, b3).add(vec(mm, b3 + xs)).add(vec(mm, b3 + 2 * xs));
            var z31 = vec(mm, b3 + xs).sub(vec(mm, b3 + 2 * xs)).sub(vec(mm, b3 + 3 * xs));
            z00.add(z10).add(z20).intoArray(d, x);
            z01.add(z11).add(z21).intoArray(d, seg + x);
            z10.sub(z20).sub(z30).intoArray(d, 2 * seg + x);
            z11.sub(z21).sub(z31).intoArray(d, 3 * seg + x);
        }
        for (; x < seg; x++) {
            float z00 = 0, z01 = 0, z10 = 0, z11 = 0, z20 = 0, z21 = 0, z30 = 0, z31 = 0;
            for (int r = 0; r < 4; r++) {
                int base = mo + r * 4 * xs + x;
                float m0 = mm[base], m1 = mm[base + xs], m2 = mm[base + 2 * xs], m3 = mm[base + 3 * xs];
                float a = m0 + m1 + m2, c = m1 - m2 - m3;
                switch (r) {
                    case 0 -> { z00 = a; z01 = c; }
                    case 1 -> { z10 = a; z11 = c; }
                    case 2 -> { z20 = a; z21 = c; }
                    default -> { z30 = a; z31 = c; }
                }
            }
            d[x] = z00 + z10 + z20;
            d[seg + x] = z01 + z11 + z21;
            d[2 * seg + x] = z10 - z20 - z30;
            d[3 * seg + x] = z11 - z21 - z31;
        }
        float v = bias == null ? 0f : bias[o];
        int row = ((b * k + o) * oh + oy) * ow;
        // the last tile of a map of odd width has one column
        int full = Math.min(seg, (ow - tx0 * 2) / 2);
        for (int r = 0; r < (twoRows ? 2 : 1); r++) {
            int ye = 2 * r * seg, yd = ye + seg;
            for (int s = 0, yo = row + r * ow + tx0 * 2; s < full; s++, yo += 2) {
                out[yo] = bias == null ? d[ye + s] : d[ye + s] + v;
                out[yo + 1] = bias == null ? d[yd + s] : d[yd + s] + v;
            }
            if (full < seg) out[row + r * ow + (tx0 + full) * 2] = bias == null ? d[ye + full] : d[ye + full] + v;
        }
    }

    private static final int L = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();

    private static jdk.incubator.vector.FloatVector vec(float[] a, int o) {
        return jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, a, o);
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
    static void forward(float[] x, float[] w, float[] bias, float[] y, ConvGeom g, Tile f, boolean tf32) {
        Gemm.PackedA[] u = filterTransform(w, g.outC(), g.inC(), f, false, tf32);
        convolve(x, g.batch(), g.inC(), g.inH(), g.inW(), g.pad(), u, g.outC(), bias, y, g.outH(), g.outW(), f, tf32);
    }

    // dy (B, K, oH, oW), w (K, C, 3, 3), dx (B, C, H, W) overwritten: forward of dy with the flipped filter, pad 2 - pad
    static void backwardData(float[] dy, float[] w, float[] dx, ConvGeom g, Tile f, boolean tf32) {
        Gemm.PackedA[] u = filterTransform(w, g.outC(), g.inC(), f, true, tf32);
        convolve(dy, g.batch(), g.outC(), g.outH(), g.outW(), 2 - g.pad(), u, g.inC(), null, dx, g.inH(), g.inW(), f, tf32);
    }

    /** out (B, K, oh, ow) = the 3x3 stride-1 convolution of in (B, C, h, w) with pad, given the transformed filter pu (t*t of (K, C), packed). */
    private static void convolve(float[] in, int batch, int c, int h, int w, int pad, Gemm.PackedA[] pu, int k, float[] bias, float[] out, int oh, int ow,
                                 Tile f, boolean tf32) {
        int m = f.m, tt = f.t * f.t, tH = (oh + m - 1) / m, tW = (ow + m - 1) / m, total = batch * tH * tW;
        int per = tilesPerGroup(f, c, k, total), groups = (total + per - 1) / per;
        int pl = tW + 2, stripLen = f.t * m * pl;
        Parallel.items(groups, () -> new Scratch(tt * c * per, tt * k * per, stripLen, 0), (gi, s) -> {
            int from = gi * per, n = Math.min(per, total - from);
            if (f == F2)
                for (int ch = 0; ch < c; ch++) {
                    int cc = ch;
                    strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> transformStripF2(in, b, c, h, w, pad, false, ty, tx0, tx1, s.a, q, n, s.strip, cc, tf32));
                }
            else strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> transformStrip(in, b, c, h, w, pad, f.btS, m, ty, tx0, tx1, s.a, q, n, pl, s.strip, s.rows, tf32));
            // M_xi (K, n) = U_xi (K, C) V_xi (C, n)
            for (int xi = 0; xi < tt; xi++) Gemm.gemm(pu[xi], n, Gemm.dense(c, n, s.a, xi * c * n), 0f, s.b, xi * k * n);
            if (f == F2)
                for (int o = 0; o < k; o++) {
                    int oc = o;
                    strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> outputStripF2(s.b, k, n, q, bias, out, b, oh, ow, ty, tx0, tx1, s.strip, oc));
                }
            else strips(tH, tW, from, from + n, (b, ty, tx0, tx1, q) -> outputStrip(s.b, k, n, q, f, bias, out, b, oh, ow, ty, tx0, tx1, pl, s.strip, s.rows));
        });
    }

    /**
     * x (B, C, H, W), dy (B, K, oH, oW), dw (K, C, 3, 3) and dbias (K) (+)=. The tiles are taken
     * in groups of tilesPerGroup tiles, in order; each group's transforms V and E run in parallel
     * over the channels (each writes its own rows), then the t^2 products S_xi (+)= E_xi V_xi^T in
     * parallel over xi (each adds into its own S_xi). So every element of S is summed over the
     * tiles in tile order by one thread, whatever the thread count, and S goes once through
     * G^T S G into dw.
     */
    static void backwardFilter(float[] x, float[] dy, float[] dw, float[] dbias, ConvGeom g, boolean accumulate, Tile f, boolean tf32) {
        int m = f.m, t = f.t, tt = t * t, c = g.inC(), k = g.outC(), oh = g.outH(), ow = g.outW();
        int tH = (oh + m - 1) / m, tW = (ow + m - 1) / m, total = g.batch() * tH * tW;
        int per = tilesPerGroup(f, c, k, total), pl = tW + 2, stripLen = t * m * pl;
        Scratch s = new Scratch(tt * c * per, tt * k * per, stripLen, tt * k * c);
        for (int from = 0; from < total; from += per) {
            int n = Math.min(per, total - from), lo = from, hi = from + n;
            if (f == F2)
                // items [0, c) transform x's channels into V, [c, c + k) dy's into E
                Parallel.items(c + k, () -> new float[stripLen], (ch, d) -> {
                    if (ch < c) strips(tH, tW, lo, hi, (b, ty, tx0, tx1, q) -> transformStripF2(x, b, c, g.inH(), g.inW(), g.pad(), false, ty, tx0, tx1, s.a, q, n, d, ch, tf32));
                    else strips(tH, tW, lo, hi, (b, ty, tx0, tx1, q) -> transformStripF2(dy, b, k, oh, ow, 0, true, ty, tx0, tx1, s.b, q, n, d, ch - c, tf32));
                });
            else
                strips(tH, tW, lo, hi, (b, ty, tx0, tx1, q) -> {
                    transformStrip(x, b, c, g.inH(), g.inW(), g.pad(), f.btS, m, ty, tx0, tx1, s.a, q, n, pl, s.strip, s.rows, tf32);
                    transformStrip(dy, b, k, oh, ow, 0, f.aS, m, ty, tx0, tx1, s.b, q, n, pl, s.strip, s.rows, tf32);
                });
            // S_xi (K, C) (+)= E_xi (K, n) V_xi (C, n)^T
            float beta = from == 0 ? 0f : 1f;
            Parallel.items(tt, () -> null, (xi, unused) -> Gemm.gemm(false, true, k, c, n, 1f, s.b, xi * k * n, s.a, xi * c * n, beta, s.acc, xi * k * c));
        }
        float[] p = new float[k * c * 9];
        filterOutput(s.acc, k * c, f, p);
        Conv.addInOrder(new float[][] {p}, dw, accumulate);
        if (dbias != null) Conv.biasGradient(dy, dbias, g, accumulate);
    }
}
