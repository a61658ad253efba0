package locallearn.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import locallearn.tensor.DType;

/**
 * Family "gemm": C = alpha op(A) op(B) + beta C on row-major float arrays with offsets.
 * op(A) is (m, k), op(B) is (k, n), C is (m, n). With beta = 0, C is overwritten without being
 * read (BLAS convention: NaN in an uninitialised C does not leak).
 *
 * <p>The fast path is the classic Goto/BLIS structure: op(B) is packed in KC x NR panels (NR =
 * two vectors), op(A) in MC x KC blocks of MR x KC slivers (alpha folded in), and a register-
 * blocked micro-kernel keeps an MR x NR tile of C in MR * 2 vector accumulators while it walks
 * KC rank-1 updates. A B panel stays in L1 while the kernel sweeps the A block held in L2; NC
 * columns at a time bound the packed B to 4 MB. The
 * output is split over the threads by whole tiles of rows or columns; every element of C is
 * summed by one thread in the order p = 0 .. k-1 (blocks of KC added to C in sequence), so the
 * result does not depend on the thread count.
 *
 * <p>TF32 ({@code tf32} true): op(A) and op(B) are rounded to TF32 ({@link Tf32}) as they are
 * packed, A before alpha is applied, as tensor cores round their operands and cuBLAS scales the
 * sum; the micro-kernels and their float32 sums are unchanged. Such products always take the
 * packed path. With {@code tf32} false the packing is what it was, bit for bit.
 */
final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows of the register tile: 6 with 32 vector registers (AVX-512), 4 where there may be only 16 (AVX2); see {@link #kernel}. */
    static final int MR = L >= 16 ? 6 : 4, NR = 2 * L;
    private static final int KC = 256, MC = 120, NC = 4096;
    /** Below this many multiply-adds packing costs more than it saves. */
    private static final long SMALL = 16 * 16 * 16;
    /** Multiply-adds per thread below which splitting costs more than it saves. */
    private static final long PER_THREAD = 1L << 20;

    /**
     * {@code -Dlocallearn.plainGemm=true} sends every dense product to the plain loop (to rule the
     * fast path out when debugging); the convolutions' implicit GEMMs have no plain form and stay
     * packed ({@code --cpu-conv} and PatchesTest cover them).
     */
    private static final boolean PLAIN = Boolean.getBoolean("locallearn.plainGemm");

    private Gemm() {}

    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob,
                     float beta, float[] c, int oc) {
        gemm(transA, transB, m, n, k, alpha, a, oa, b, ob, beta, c, oc, false);
    }

    /** As above, with the inputs rounded to TF32 when {@code tf32}. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob,
                     float beta, float[] c, int oc, boolean tf32) {
        if (!tf32 && (PLAIN || (long) m * n * k < SMALL)) gemmPlain(transA, transB, m, n, k, alpha, a, oa, b, ob, beta, c, oc);
        else gemmFast(transA, m, n, k, alpha, a, oa, null, (pc, kc, j0, cols, bp) -> packB(transB, k, n, b, ob, pc, kc, j0, cols, bp), beta, c, oc, tf32);
    }

    /**
     * Fills {@code bp} with rows [pc, pc + kc) and columns [j0, j0 + cols) of op(B), in panels of
     * NR columns: panel q (columns j0 + q*NR ..) holds kc rows of NR floats, zero past the last
     * column. A convolution implements it to read image patches straight into the panels, so no
     * column matrix is ever written (implicit GEMM).
     */
    interface PanelSource {
        void pack(int pc, int kc, int j0, int cols, float[] bp);
    }

    /** C = alpha op(A) B + beta C with B (k, n) given by {@code b}, always on the packed path; inputs rounded to TF32 when {@code tf32}. */
    static void gemm(boolean transA, int m, int n, int k, float alpha, float[] a, int oa, PanelSource b, float beta, float[] c, int oc, boolean tf32) {
        gemmFast(transA, m, n, k, alpha, a, oa, null, b, beta, c, oc, tf32);
    }

    /**
     * alpha op(A) (m, k) packed once, for many products with the same A: a convolution's filter
     * over its images, Winograd's transformed filter over its tile groups. Packing is scalar work
     * of about one element per FMA-cycle's worth of the kernel's vectors, so packing A again for
     * each product of n columns costs about 2 NR / n of the product (a quarter of it for n = 256).
     * Layout: for each KC-block of k starting at pc, the rows in slivers of MR at pc * mPad.
     * {@code tf32}: A was rounded to TF32 when packed, and so is every B it is multiplied with.
     */
    record PackedA(int m, int k, int mPad, float[] data, boolean tf32) {}

    static PackedA pack(boolean transA, int m, int k, float alpha, float[] a, int oa) { return pack(transA, m, k, alpha, a, oa, false); }

    static PackedA pack(boolean transA, int m, int k, float alpha, float[] a, int oa, boolean tf32) {
        int mPad = paddedRows(m);
        float[] data = new float[mPad * k];
        // KC-blocks in parallel (each writes its own region), when they hold 64 Ki floats or more
        int blocks = (k + KC - 1) / KC, grain = (int) Math.max(1, (1L << 16) / ((long) mPad * KC));
        Parallel.range(blocks, grain, 1, (from, to) -> {
            for (int pc = from * KC; pc < Math.min(k, to * KC); pc += KC) packA(transA, m, k, alpha, a, oa, 0, m, pc, Math.min(KC, k - pc), data, pc * mPad, tf32);
        });
        return new PackedA(m, k, mPad, data, tf32);
    }

    /** Rows of a PackedA of m rows: m rounded up to whole slivers of MR. */
    static int paddedRows(int m) { return (m + MR - 1) / MR * MR; }

    /**
     * Where element (i, p) of A lies in the data of a PackedA of mPad rows and k columns: the
     * layout {@link #pack} writes, for a producer that writes A straight into it (Winograd's
     * filter transform). Element (i, p + 1) lies MR floats further on, within the column block
     * of p ({@link #columnsLeftInBlock}); the padding rows stay 0.
     */
    static int packedOffset(int mPad, int k, int i, int p) {
        int pc = p / KC * KC;
        return pc * mPad + i / MR * MR * Math.min(KC, k - pc) + (p - pc) * MR + i % MR;
    }

    /** Columns p, p + 1, ... that lie in the same column block of a PackedA as p. */
    static int columnsLeftInBlock(int p) { return KC - p % KC; }

    /** C = A B + beta C with A packed and B (k, n) given by {@code b}. */
    static void gemm(PackedA a, int n, PanelSource b, float beta, float[] c, int oc) {
        gemmFast(false, a.m, n, a.k, 1f, null, 0, a, b, beta, c, oc, a.tf32);
    }

    /** B (k, n) a dense row-major matrix at b[ob..], as a panel source. */
    static PanelSource dense(int k, int n, float[] b, int ob) {
        return (pc, kc, j0, cols, bp) -> packB(false, k, n, b, ob, pc, kc, j0, cols, bp);
    }

    /** Does a product of these sizes take the packed path (else the plain loop)? */
    static boolean packs(int m, int n, int k) { return !PLAIN && (long) m * n * k >= SMALL; }

    /**
     * op(B) (k, n) of bfloat16 bit patterns at b[ob..] (B itself (n, k) when {@code transB}),
     * widened as it is packed: the panels hold exactly what packing the widened floats would, so
     * a bf16 operand needs no float copy of itself (the mlp's weights: 1M elements a layer).
     */
    static PanelSource halves(boolean transB, int k, int n, short[] b, int ob) {
        return (pc, kc, j0, cols, bp) -> packHalves(transB, k, n, b, ob, pc, kc, j0, cols, bp);
    }

    private static void packHalves(boolean transB, int k, int n, short[] b, int ob, int pc, int kc, int j0, int cols, float[] bp) {
        if (!transB) {
            // as packB: row p of op(B) read once, in order, into each panel
            for (int p = 0; p < kc; p++) {
                int src = ob + (pc + p) * n + j0, dst = p * NR;
                for (int jr = 0; jr < cols; jr += NR) {
                    int nr = Math.min(NR, cols - jr), d = jr * kc + dst;
                    Bf16.widenRun(b, src + jr, bp, d, nr);
                    if (nr < NR) java.util.Arrays.fill(bp, d + nr, d + NR, 0f);
                }
            }
            return;
        }
        for (int jr = 0; jr < cols; jr += NR) {
            int nr = Math.min(NR, cols - jr), base = jr * kc;
            for (int j = 0; j < NR; j++) {
                if (j >= nr) {
                    for (int p = 0; p < kc; p++) bp[base + p * NR + j] = 0f;
                    continue;
                }
                int src = ob + (j0 + jr + j) * k + pc;
                for (int p = 0; p < kc; p++) bp[base + p * NR + j] = DType.widen(b[src + p]);
            }
        }
    }

    /** The straightforward version, kept as the test oracle: row i of C gathers k rank-1 updates in order p = 0..k-1. */
    static void gemmPlain(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob,
                          float beta, float[] c, int oc) {
        float[] row = new float[n];
        for (int i = 0; i < m; i++) {
            java.util.Arrays.fill(row, 0f);
            for (int p = 0; p < k; p++) {
                float aip = transA ? a[oa + p * m + i] : a[oa + i * k + p];
                if (transB) {
                    for (int j = 0; j < n; j++) row[j] += aip * b[ob + j * k + p];
                } else {
                    int bo = ob + p * n;
                    for (int j = 0; j < n; j++) row[j] += aip * b[bo + j];
                }
            }
            int co = oc + i * n;
            if (beta == 0f) {
                for (int j = 0; j < n; j++) c[co + j] = alpha * row[j];
            } else {
                for (int j = 0; j < n; j++) c[co + j] = alpha * row[j] + beta * c[co + j];
            }
        }
    }

    /** The packed, vectorised, multi-threaded version (any sizes; used for all but tiny products). */
    static void gemmFast(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob,
                         float beta, float[] c, int oc) {
        gemmFast(transA, m, n, k, alpha, a, oa, null, (pc, kc, j0, cols, bp) -> packB(transB, k, n, b, ob, pc, kc, j0, cols, bp), beta, c, oc, false);
    }

    /** The packed path; A is {@code packed} when it is not null, else packed here from (transA, alpha, a, oa). */
    private static void gemmFast(boolean transA, int m, int n, int k, float alpha, float[] a, int oa, PackedA packed, PanelSource b,
                                 float beta, float[] c, int oc, boolean tf32) {
        if (m == 0 || n == 0) return;
        int colTiles = (n + NR - 1) / NR, rowTiles = (m + MR - 1) / MR;
        int parts = Parallel.parts((long) m * n * k, PER_THREAD);
        // split the larger side, in whole tiles, so no two threads touch one element of C
        boolean byCols = colTiles >= rowTiles;
        int tiles = byCols ? colTiles : rowTiles, unit = byCols ? NR : MR;
        parts = Math.min(parts, tiles);
        int np = parts;
        Parallel.run(np, t -> {
            int t0 = Parallel.start(tiles, np, t) * unit, t1 = Math.min(byCols ? n : m, Parallel.start(tiles, np, t + 1) * unit);
            if (byCols) block(transA, m, n, k, alpha, a, oa, packed, b, beta, c, oc, 0, m, t0, t1, tf32);
            else block(transA, m, n, k, alpha, a, oa, packed, b, beta, c, oc, t0, t1, 0, n, tf32);
        });
    }

    /** Packing buffers, one pair per thread (at most KC * NC and KC * MC floats), grown on demand, so steady-state GEMMs do not allocate. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    /** C[i0:i1, j0:j1] = alpha op(A)[i0:i1, :] op(B)[:, j0:j1] + beta C[i0:i1, j0:j1], on the calling thread. */
    private static void block(boolean transA, int m, int n, int k, float alpha, float[] a, int oa, PackedA packed, PanelSource b,
                              float beta, float[] c, int oc, int i0, int i1, int j0, int j1, boolean tf32) {
        // with beta 0 the first KC-block adds its sums to zeros (ZERO) instead of to C, so C is
        // neither cleared nor read first: for a product of short k (a weight gradient over a
        // batch) that is two of the three passes over C, and the same bits (sum + 0)
        boolean store = beta == 0f && k > 0 && alpha != 0f;
        for (int i = i0; i < i1; i++) {
            int co = oc + i * n;
            if (beta == 0f && !store) java.util.Arrays.fill(c, co + j0, co + j1, 0f);
            else if (beta != 0f && beta != 1f) for (int j = j0; j < j1; j++) c[co + j] *= beta;
        }
        if (!store && (k == 0 || alpha == 0f)) return;
        int rows = i1 - i0;
        int kc0 = Math.min(KC, k);
        int bNeed = kc0 * ((Math.min(NC, j1 - j0) + NR - 1) / NR) * NR, aNeed = kc0 * ((Math.min(MC, rows) + MR - 1) / MR) * MR;
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < bNeed) scratch[0] = new float[bNeed];
        if (scratch[1].length < aNeed) scratch[1] = new float[aNeed];
        float[] bp = scratch[0], ap = packed != null ? packed.data() : scratch[1];
        float[] edge = new float[MR * NR];
        for (int jc = j0; jc < j1; jc += NC) {
            int cols = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                b.pack(pc, kc, jc, cols, bp);
                if (tf32) Tf32.round(bp, 0, kc * ((cols + NR - 1) / NR) * NR);   // every source's panels, rounded in one place
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    int ao;   // where the block's slivers start in ap
                    if (packed != null) {
                        ao = pc * packed.mPad() + ic * kc;
                    } else {
                        packA(transA, m, k, alpha, a, oa, ic, mc, pc, kc, ap, 0, tf32);
                        ao = 0;
                    }
                    for (int jr = 0; jr < cols; jr += NR) {
                        int nr = Math.min(NR, cols - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int cOff = oc + (ic + ir) * n + jc + jr;
                            boolean add = !store || pc > 0;
                            if (mr == MR && nr == NR) {
                                if (add) kernel(kc, ap, ao + ir * kc, bp, jr * kc, c, cOff, n, c, cOff, n);
                                else kernel(kc, ap, ao + ir * kc, bp, jr * kc, c, cOff, n, ZERO, 0, 0);
                            } else {
                                kernel(kc, ap, ao + ir * kc, bp, jr * kc, edge, 0, NR, ZERO, 0, 0);
                                for (int i = 0; i < mr; i++)
                                    for (int j = 0; j < nr; j++) c[cOff + i * n + j] = add ? c[cOff + i * n + j] + edge[i * NR + j] : edge[i * NR + j];
                            }
                        }
                    }
                }
            }
        }
    }

    /** op(B)[pc:pc+kc, j0:j0+cols] into panels of NR columns: panel q holds kc rows of NR floats, zero past the last column. */
    private static void packB(boolean transB, int k, int n, float[] b, int ob, int pc, int kc, int j0, int cols, float[] bp) {
        if (!transB) {
            // row p of op(B) is a contiguous run of B: read each run once, in order (one stream through
            // memory, where a panel at a time would touch a page per row), two vectors to each panel
            int full = cols / NR * NR;
            for (int p = 0; p < kc; p++) {
                int src = ob + (pc + p) * n + j0, dst = p * NR;
                for (int jr = 0; jr < full; jr += NR) {
                    FloatVector.fromArray(S, b, src + jr).intoArray(bp, jr * kc + dst);
                    FloatVector.fromArray(S, b, src + jr + L).intoArray(bp, jr * kc + dst + L);
                }
                if (full < cols) {
                    int d = full * kc + dst;
                    System.arraycopy(b, src + full, bp, d, cols - full);
                    java.util.Arrays.fill(bp, d + cols - full, d + NR, 0f);
                }
            }
            return;
        }
        for (int jr = 0; jr < cols; jr += NR) {
            int nr = Math.min(NR, cols - jr), base = jr * kc;
            // column j of op(B) is a contiguous row of B: read it in order, write with stride NR
            for (int j = 0; j < NR; j++) {
                if (j >= nr) {
                    for (int p = 0; p < kc; p++) bp[base + p * NR + j] = 0f;
                    continue;
                }
                int src = ob + (j0 + jr + j) * k + pc;
                for (int p = 0; p < kc; p++) bp[base + p * NR + j] = b[src + p];
            }
        }
    }

    /**
     * alpha op(A)[ic:ic+mc, pc:pc+kc] into slivers of MR rows: sliver r holds kc columns of MR floats, zero past the last row;
     * each element rounded to TF32 before alpha multiplies it when {@code tf32} (a loop-invariant test, which C2 hoists).
     */
    private static void packA(boolean transA, int m, int k, float alpha, float[] a, int oa, int ic, int mc, int pc, int kc, float[] ap, int ao,
                              boolean tf32) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir), base = ao + ir * kc;
            if (!transA) {
                // row i of op(A) is a contiguous row of A
                for (int i = 0; i < MR; i++) {
                    if (i >= mr) {
                        for (int p = 0; p < kc; p++) ap[base + p * MR + i] = 0f;
                        continue;
                    }
                    int src = oa + (ic + ir + i) * k + pc;
                    for (int p = 0; p < kc; p++) ap[base + p * MR + i] = alpha * Tf32.input(a[src + p], tf32);
                }
            } else {
                // column p of op(A) is a contiguous row of A: the MR values of one p are adjacent
                for (int p = 0; p < kc; p++) {
                    int src = oa + (pc + p) * m + ic + ir, dst = base + p * MR;
                    for (int i = 0; i < mr; i++) ap[dst + i] = alpha * Tf32.input(a[src + i], tf32);
                    for (int i = mr; i < MR; i++) ap[dst + i] = 0f;
                }
            }
        }
    }

    // ---- hot path: the micro-kernels ------------------------------------------------------------

    /**
     * C[MR x 2L tile at cOff, row stride ldc] = in[the tile at inOff, row stride inLd] + A sliver
     * (kc x MR) * B panel (kc x 2L), where in is C itself or {@link #ZERO} (no branch here: C2
     * would compile one for the side it had seen and deoptimise the kernel when the other came): 2 MR
     * vector accumulators, two B loads and MR broadcasts per step of p. With AVX2's 16 registers
     * C2 schedules all MR broadcasts of a step before its first FMA, so the tile needs
     * 2 MR + 2 + MR registers: 14 for 4 x 2L, while 6 x 2L spills one accumulator to the stack
     * on every step (seen in -XX:+PrintAssembly). With AVX-512's 32, 6 x 2L's loop holds only
     * vector loads, broadcasts and FMAs: no spill, no bounds check. Measured with JDK 25 on a 2-core Xeon
     * (Sapphire Rapids), one thread, 1024^3, GFLOP/s per CPU-second:
     * <pre>
     *                                            4 x 2L  6 x 2L  4 x 3L  8 x 3L
     *   512-bit                                   121     133      97     118
     *   256-bit, 32 registers (MaxVectorSize=32)   69      73      73      75
     *   256-bit, 16 registers (UseAVX=2)           68      51      50      44
     * </pre>
     * (The last row is what an AVX2-only CPU gets; -XX:MaxVectorSize=32 alone keeps AVX-512's 32
     * registers.) The stores are written out, not left to a helper: when C2 does not inline a
     * helper that takes the accumulators (it stops inlining in methods this large), it boxes
     * them on every step and the kernel runs 20x slower.
     */
    private static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float[] in, int inOff, int inLd) {
        if (MR == 6) kernel6(kc, ap, ao, bp, bo, c, cOff, ldc, in, inOff, inLd);
        else kernel4(kc, ap, ao, bp, bo, c, cOff, ldc, in, inOff, inLd);
    }

    /** What a tile that overwrites C adds its sums to: a row of zeros, read with row stride 0. */
    private static final float[] ZERO = new float[NR];

    private static void kernel6(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float[] in, int inOff, int inLd) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++, ao += 6, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bo), b1 = FloatVector.fromArray(S, bp, bo + L);
            FloatVector a = FloatVector.broadcast(S, ap[ao]);
            c00 = b0.fma(a, c00); c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[ao + 1]);
            c10 = b0.fma(a, c10); c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[ao + 2]);
            c20 = b0.fma(a, c20); c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[ao + 3]);
            c30 = b0.fma(a, c30); c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(S, ap[ao + 4]);
            c40 = b0.fma(a, c40); c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(S, ap[ao + 5]);
            c50 = b0.fma(a, c50); c51 = b1.fma(a, c51);
        }
        int o = cOff, i = inOff;
        c00.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c01.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c10.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c11.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c20.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c21.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c30.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c31.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c40.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c41.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c50.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c51.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
    }

    private static void kernel4(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float[] in, int inOff, int inLd) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++, ao += 4, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bo), b1 = FloatVector.fromArray(S, bp, bo + L);
            FloatVector a = FloatVector.broadcast(S, ap[ao]);
            c00 = b0.fma(a, c00); c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[ao + 1]);
            c10 = b0.fma(a, c10); c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[ao + 2]);
            c20 = b0.fma(a, c20); c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[ao + 3]);
            c30 = b0.fma(a, c30); c31 = b1.fma(a, c31);
        }
        int o = cOff, i = inOff;
        c00.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c01.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c10.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c11.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c20.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c21.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
        o += ldc; i += inLd;
        c30.add(FloatVector.fromArray(S, in, i)).intoArray(c, o); c31.add(FloatVector.fromArray(S, in, i + L)).intoArray(c, o + L);
    }
}
