package locallearn.backend.cpu;

import static locallearn.backend.Checks.bci;
import static locallearn.backend.Checks.conv;
import static locallearn.backend.Checks.dropout;
import static locallearn.backend.Checks.expect;
import static locallearn.backend.Checks.images;
import static locallearn.backend.Checks.logitsBK;
import static locallearn.backend.Checks.pool;
import static locallearn.backend.Checks.rows;
import static locallearn.backend.Checks.same;

import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.Philox;
import locallearn.backend.PoolGeom;
import locallearn.tensor.MemoryStats;
import locallearn.tensor.Shape;
import locallearn.tensor.Storage;
import locallearn.tensor.Tensor;

/**
 * The host backend: every op of {@link Backend} on float arrays. Each op checks its arguments
 * (device, element counts against the geometry) once at the boundary, then runs plain loops;
 * the inner loops trust what was checked.
 *
 * <p>Sums that decide a result (losses, batch statistics, norms) are taken in double so the CPU
 * is the accurate side of every CPU/GPU comparison. Work is spread over one fixed pool
 * ({@link #threads()}) only in ways that cannot change a floating-point sum order: independent
 * ranges of elements, planes or channels; GEMM output tiles each summed by one thread; images of
 * a convolution; the weight gradient in fixed image groups added in group order. So the same
 * inputs give bit-identical outputs run to run.
 *
 * <p>Where the fast code lives: {@code Gemm} (packed Vector API micro-kernel, the plain loop
 * beside it as the oracle), {@code Conv} (implicit GEMM: {@code Patches} packs image patches
 * straight into GEMM panels) and {@code Winograd} (3x3 stride-1 layers, chosen by
 * {@link #winogradTile}). The other families keep their plain loops as oracles beside Vector
 * API paths ({@code -Dlocallearn.plainOps=true} selects the plain loops): selects instead of
 * branches where a branch follows the data (leaky ReLU, max pooling, dropout), float arithmetic
 * lane by lane as the plain loop does it, so those results are the same bits; and double sums
 * taken sixteen partials at a time in a fixed order ({@code Lanes}: batch norm's statistics over
 * conv maps, the feature-map std), which differ from the sequential sums by double rounding only.
 * Vector code is slow until C2 compiles it, so it goes where the loops are long enough to get hot
 * within a step or two.
 * Besides the accounted tensors, GEMM keeps packing buffers per thread (at most about 4 MB each),
 * and a convolution allocates scratch per worker for the duration of the call: an output block
 * of the GEMM on small maps, the column matrix of a strided backward-data, the flipped filter of
 * a stride-1 one; Winograd transform buffers of at most about 8 MB per worker plus the
 * transformed filter (see its class comment).
 */
public final class CpuBackend implements Backend {
    private final CpuAllocator allocator = new CpuAllocator();
    /**
     * Ops split into ranges of at least this many elements (1 MB): below it a thread hand-off
     * costs more than the loop. Waking a parked worker takes tenths of a millisecond on a shared
     * VM, several times a vector pass over a (128, 1024) fc activation on one thread.
     */
    static final int GRAIN = 1 << 18;

    private final ConvAlgorithm convAlgorithm;

    /** Convolutions as the property {@code locallearn.cpuConv} says (auto when unset). */
    public CpuBackend() { this(ConvAlgorithm.fromProperty()); }

    public CpuBackend(ConvAlgorithm convAlgorithm) { this.convAlgorithm = java.util.Objects.requireNonNull(convAlgorithm, "convAlgorithm"); }

    public ConvAlgorithm convAlgorithm() { return convAlgorithm; }

    /** Worker threads for the parallel ops: property {@code locallearn.threads} (read once), default all cores. */
    public static int threads() { return Parallel.threads(); }

    @Override public String name() { return "cpu"; }

    @Override public String describe() {
        return "cpu: " + threads() + " threads, " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors, conv "
                + switch (convAlgorithm) {
                    case AUTO -> "auto (Winograd F(2x2,3x3) on 3x3 stride-1 layers of " + WINOGRAD_MIN_CHANNELS + "+ channels and "
                            + WINOGRAD_MIN_TILES + "+ output tiles, else implicit GEMM)";
                    case DIRECT -> "direct (implicit GEMM)";
                    case WINOGRAD -> "winograd (F(2x2,3x3) on every 3x3 stride-1 layer)";
                };
    }

    // ---- argument checks ----------------------------------------------------------------------

    /** The float array behind {@code t}, after checking it is a live tensor of this device. */
    static float[] data(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isReleased()) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " used after release");
        Storage s = t.storage();
        if (!(s instanceof CpuStorage c))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " is not a CPU tensor (" + s.getClass().getSimpleName() + ")");
        return c.data;
    }

    // ---- memory ----------------------------------------------------------------------------

    @Override public Tensor allocate(Shape shape) {
        return new Tensor(shape, allocator.acquire((long) shape.numel() * Float.BYTES), allocator);
    }

    @Override public MemoryStats memory() { return allocator.stats(); }

    @Override public void resetPeakMemory() { allocator.resetPeak(); }

    @Override public void write(Tensor dst, float[] src) {
        float[] d = data("write", "dst", dst);
        if (src.length != dst.numel())
            throw new IllegalArgumentException("write: dst " + dst.shape() + " has " + dst.numel() + " elements, source has " + src.length);
        System.arraycopy(src, 0, d, 0, src.length);
    }

    @Override public float[] read(Tensor src) {
        float[] s = data("read", "src", src);
        float[] out = new float[src.numel()];
        System.arraycopy(s, 0, out, 0, out.length);
        return out;
    }

    // ---- elementwise and reductions ----------------------------------------------------------

    @Override public void fill(Tensor x, float value) {
        float[] xs = data("fill", "x", x);
        Parallel.range(x.numel(), GRAIN, 1, (from, to) -> java.util.Arrays.fill(xs, from, to, value));
    }

    @Override public void copy(Tensor src, Tensor dst) {
        float[] s = data("copy", "src", src), d = data("copy", "dst", dst);
        same("copy", "src", src, "dst", dst);
        Elementwise.copy(s, 0, d, 0, src.numel());
    }

    @Override public void copyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        float[] s = data("copyRange", "src", src), d = data("copyRange", "dst", dst);
        if (srcOffset < 0 || dstOffset < 0 || count < 0 || (long) srcOffset + count > src.numel() || (long) dstOffset + count > dst.numel())
            throw new IllegalArgumentException("copyRange: " + count + " elements from " + srcOffset + " of src " + src.shape()
                    + " to " + dstOffset + " of dst " + dst.shape() + " do not fit");
        Elementwise.copy(s, srcOffset, d, dstOffset, count);
    }

    @Override public void axpy(float a, Tensor x, Tensor y) {
        float[] xs = data("axpy", "x", x), ys = data("axpy", "y", y);
        same("axpy", "x", x, "y", y);
        Parallel.range(x.numel(), GRAIN, 1, (from, to) -> {
            for (int i = from; i < to; i++) ys[i] += a * xs[i];
        });
    }

    @Override public void scale(Tensor x, float a) {
        float[] xs = data("scale", "x", x);
        Parallel.range(x.numel(), GRAIN, 1, (from, to) -> {
            for (int i = from; i < to; i++) xs[i] *= a;
        });
    }

    @Override public void sum(Tensor x, Tensor out, boolean accumulate) {
        float[] xs = data("sum", "x", x), o = data("sum", "out", out);
        expect("sum", "out", out, 1, "a scalar");
        // below 16 elements (every loss) Lanes.sum is the plain sequential sum, bit for bit
        double s = 0;
        if (Lanes.FAST) s = Lanes.sum(xs, 0, x.numel());
        else for (int i = 0, n = x.numel(); i < n; i++) s += xs[i];
        o[0] = accumulate ? (float) (o[0] + s) : (float) s;
    }

    @Override public void countCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate) {
        String op = "countCorrect";
        float[] x = data(op, "logits", logits), l = data(op, "labels", labels), o = data(op, "out", out);
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be (B, K)");
        int b = logits.dim(0), k = logits.dim(1);
        expect(op, "labels", labels, b, "one per row of logits " + logits.shape());
        expect(op, "out", out, 1, "a scalar");
        int correct = 0;
        for (int i = 0; i < b; i++) {
            int label = label(op, l[i], i, k);
            int best = 0;
            for (int j = 1; j < k; j++) if (x[i * k + j] > x[i * k + best]) best = j;
            if (best == label) correct++;
        }
        o[0] = accumulate ? o[0] + correct : correct;
    }

    /** A float class index checked to be a whole number in [0, k). */
    static int label(String op, float v, int row, int k) {
        int c = (int) v;
        if (c != v || c < 0 || c >= k) throw new IllegalArgumentException(op + ": label " + v + " at row " + row + " is not a class index in [0, " + k + ")");
        return c;
    }

    @Override public void leakyReluForward(Tensor x, Tensor y, float slope) {
        float[] xs = data("leakyReluForward", "x", x), ys = data("leakyReluForward", "y", y);
        same("leakyReluForward", "x", x, "y", y);
        Parallel.range(x.numel(), GRAIN, 1, (from, to) -> Elementwise.leakyReluForward(xs, ys, slope, from, to));
    }

    @Override public void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        String op = "leakyReluBackward";
        float[] ys = data(op, "y", y), dys = data(op, "dy", dy), dxs = data(op, "dx", dx);
        same(op, "y", y, "dy", dy);
        same(op, "y", y, "dx", dx);
        Parallel.range(y.numel(), GRAIN, 1, (from, to) -> Elementwise.leakyReluBackward(ys, dys, dxs, slope, from, to));
    }

    // ---- bias ---------------------------------------------------------------------------------

    @Override public void biasAdd(Tensor y, Tensor bias) {
        float[] ys = data("biasAdd", "y", y), bs = data("biasAdd", "bias", bias);
        int[] d = bci("biasAdd", "y", y);
        expect("biasAdd", "bias", bias, d[1], "one per channel of y " + y.shape());
        if (d[2] == 1) {
            // fc (B, K): rows plus the bias vector (a plane of one element would pay a division per element)
            Parallel.range(d[0], Math.max(1, GRAIN / d[1]), 1, (from, to) -> {
                for (int row = from; row < to; row++) Elementwise.addRow(ys, row * d[1], bs, d[1]);
            });
            return;
        }
        // over planes (b, c): each a run of inner elements with one bias
        Parallel.range(d[0] * d[1], Math.max(1, GRAIN / Math.max(1, d[2])), 1, (from, to) -> {
            for (int pl = from; pl < to; pl++) {
                float v = bs[pl % d[1]];
                for (int i = 0, o = pl * d[2]; i < d[2]; i++) ys[o + i] += v;
            }
        });
    }

    @Override public void biasBackward(Tensor dy, Tensor dbias, boolean accumulate) {
        float[] dys = data("biasBackward", "dy", dy), db = data("biasBackward", "dbias", dbias);
        int[] d = bci("biasBackward", "dy", dy);
        expect("biasBackward", "dbias", dbias, d[1], "one per channel of dy " + dy.shape());
        Elementwise.biasBackward(dys, db, accumulate, d[0], d[1], d[2]);
    }

    // ---- GEMM ---------------------------------------------------------------------------------

    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                               int batch, long strideA, long strideB, long strideC) {
        String op = "gemm";
        float[] as = data(op, "a", a), bs = data(op, "b", b), cs = data(op, "c", c);
        if (m < 0 || n < 0 || k < 0 || batch < 1 || strideA < 0 || strideB < 0 || strideC < 0)
            throw new IllegalArgumentException(op + ": bad sizes m=" + m + " n=" + n + " k=" + k + " batch=" + batch
                    + " strides=" + strideA + "," + strideB + "," + strideC);
        String dims = "m=" + m + " n=" + n + " k=" + k + " batch=" + batch;
        if ((batch - 1) * strideA + (long) m * k > a.numel())
            throw new IllegalArgumentException(op + ": a " + a.shape() + " too small for " + dims + " strideA=" + strideA);
        if ((batch - 1) * strideB + (long) k * n > b.numel())
            throw new IllegalArgumentException(op + ": b " + b.shape() + " too small for " + dims + " strideB=" + strideB);
        if ((batch - 1) * strideC + (long) m * n > c.numel())
            throw new IllegalArgumentException(op + ": c " + c.shape() + " too small for " + dims + " strideC=" + strideC);
        for (int i = 0; i < batch; i++)
            Gemm.gemm(transA, transB, m, n, k, alpha, as, (int) (i * strideA), bs, (int) (i * strideB), beta, cs, (int) (i * strideC));
    }

    // ---- convolution --------------------------------------------------------------------------

    @Override public void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g) {
        String op = "conv2dForward";
        float[] xs = data(op, "x", x), ws = data(op, "w", w), ys = data(op, "y", y);
        conv(op, "x", x, g.batch(), g.inC(), g.inH(), g.inW(), g);
        conv(op, "w", w, g.outC(), g.inC(), g.kh(), g.kw(), g);
        conv(op, "y", y, g.batch(), g.outC(), g.outH(), g.outW(), g);
        float[] bs = null;
        if (bias != null) {
            bs = data(op, "bias", bias);
            expect(op, "bias", bias, g.outC(), "one per output channel of " + g);
        }
        Winograd.Tile f = winogradTile(g, convAlgorithm);
        if (f != null) Winograd.forward(xs, ws, bs, ys, g, f);
        else Conv.forward(xs, ws, bs, ys, g);
    }

    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g) {
        String op = "conv2dBackwardData";
        float[] dys = data(op, "dy", dy), ws = data(op, "w", w), dxs = data(op, "dx", dx);
        conv(op, "dy", dy, g.batch(), g.outC(), g.outH(), g.outW(), g);
        conv(op, "w", w, g.outC(), g.inC(), g.kh(), g.kw(), g);
        conv(op, "dx", dx, g.batch(), g.inC(), g.inH(), g.inW(), g);
        Winograd.Tile f = winogradTile(g, convAlgorithm);
        if (f != null) Winograd.backwardData(dys, ws, dxs, g, f);
        else Conv.backwardData(dys, ws, dxs, g);
    }

    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate) {
        String op = "conv2dBackwardFilter";
        float[] xs = data(op, "x", x), dys = data(op, "dy", dy), dws = data(op, "dw", dw);
        conv(op, "x", x, g.batch(), g.inC(), g.inH(), g.inW(), g);
        conv(op, "dy", dy, g.batch(), g.outC(), g.outH(), g.outW(), g);
        conv(op, "dw", dw, g.outC(), g.inC(), g.kh(), g.kw(), g);
        float[] dbs = null;
        if (dbias != null) {
            dbs = data(op, "dbias", dbias);
            expect(op, "dbias", dbias, g.outC(), "one per output channel of " + g);
        }
        Winograd.Tile f = winogradTile(g, convAlgorithm);
        if (f != null) Winograd.backwardFilter(xs, dys, dws, dbs, g, accumulate, f);
        else Conv.backwardFilter(xs, dys, dws, dbs, g, accumulate);
    }

    /**
     * The fixed rule that picks a convolution's algorithm (never timed at run time): Winograd
     * F(2x2, 3x3), or null for the implicit-GEMM direct convolution; the same for the three passes.
     *
     * <p>Auto takes F(2x2) for 3x3 stride-1 layers with at least {@link #WINOGRAD_MIN_CHANNELS}
     * input and output channels and at least {@link #WINOGRAD_MIN_TILES} output tiles of 2x2 (batch x half the map's height x
     * half its width: batch 32 at 8x8, batch 8 at 16x16). Measured on one core of a 2-core Xeon
     * (Sapphire Rapids; -Dlocallearn.threads=1, GFLOP/s of direct-convolution flops per
     * CPU-second, so other jobs on the machine do not enter), direct / F(2x2):
     * <pre>
     *   batch 32         512-bit vectors                          AVX2 (-XX:UseAVX=2, 16 registers)
     *                    forward   bwd-data  bwd-filter           forward   bwd-data  bwd-filter
     *   128->256 @32x32  121 / 179  108 / 157  98 / 142            62 / 107  55 / 100  57 / 96
     *   256->256 @32     120 / 195  120 / 195  94 / 172
     *   256->512 @16     120 / 151  107 / 140  99 / 136            64 / 110  60 / 102  55 / 93
     *   512->512 @16     120 / 171  117 / 168  95 / 156
     *   512->512 @8      108 / 133  101 / 129  80 / 88             59 / 88   57 / 89   49 / 67
     *   512->512 @4       95 / 82    72 / 76   50 / 32             56 / 65   46 / 60   34 / 29
     *   batch 8
     *   128->256 @32     115 / 139  107 / 139  97 / 119            63 / 97   56 / 96   59 / 86
     *   256->256 @16     109 / 121  101 / 119  75 / 77
     *   512->512 @8      108 / 88    80 / 81   55 / 33             64 / 66   50 / 64   37 / 30
     * </pre>
     * F(2x2) does 2.25x fewer multiplies, but its transforms cost a fixed share per tile and its
     * 16 GEMMs are only as long as the channel count; below about 512 tiles (4x4 maps at batch
     * 32, 8x8 at batch 8) there are too few tiles to fill them, and the weight gradient's 16-fold
     * partial sums outweigh the saving. Three input channels leave the GEMMs too thin. F(4x4) (in
     * Winograd, tested) was slower than F(2x2) in every case measured (128->256 @32, batch 32:
     * 80 forward at 512 bits, 95 on AVX2) and is 36 times less accurate, so the rule never picks
     * it. {@code WINOGRAD} takes F(2x2) for every pass of every 3x3 stride-1 layer; {@code DIRECT}
     * never.
     */
    static Winograd.Tile winogradTile(ConvGeom g, ConvAlgorithm a) {
        if (a == ConvAlgorithm.DIRECT || !Winograd.supports(g)) return null;
        if (a == ConvAlgorithm.WINOGRAD) return Winograd.F2;
        long tiles = (long) g.batch() * ((g.outH() + 1) / 2) * ((g.outW() + 1) / 2);
        boolean worth = g.inC() >= WINOGRAD_MIN_CHANNELS && g.outC() >= WINOGRAD_MIN_CHANNELS && tiles >= WINOGRAD_MIN_TILES;
        return worth ? Winograd.F2 : null;
    }

    /** Below these input or output channels, or output tiles, auto keeps a 3x3 layer on the direct convolution (see {@link #winogradTile}). */
    static final int WINOGRAD_MIN_CHANNELS = 64, WINOGRAD_MIN_TILES = 512;

    // ---- batch norm ---------------------------------------------------------------------------

    private static void bnParams(String op, int c, Tensor... ts) {
        String[] names = {"gamma", "beta", "runningMean", "runningVar"};
        for (int i = 0; i < ts.length; i++) {
            data(op, names[i], ts[i]);
            expect(op, names[i], ts[i], c, "one per channel");
        }
    }

    @Override public void batchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormForwardTrain";
        float[] xs = data(op, "x", x), ys = data(op, "y", y), sm = data(op, "saveMean", saveMean), si = data(op, "saveInvStd", saveInvStd);
        int[] d = bci(op, "x", x);
        int nb = d[0], nc = d[1], inner = d[2];
        same(op, "x", x, "y", y);
        bnParams(op, nc, gamma, beta, runningMean, runningVar);
        expect(op, "saveMean", saveMean, nc, "one per channel");
        expect(op, "saveInvStd", saveInvStd, nc, "one per channel");
        long count = (long) nb * inner;
        if (count < 2) throw new IllegalArgumentException(op + ": x " + x.shape() + " has one value per channel; batch statistics need more");
        float[] gs = data(op, "gamma", gamma), bs = data(op, "beta", beta), rm = data(op, "runningMean", runningMean), rv = data(op, "runningVar", runningVar);
        BatchNorm.forwardTrain(xs, gs, bs, rm, rv, momentum, eps, ys, sm, si, nb, nc, inner);
    }

    @Override public void batchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        String op = "batchNormForwardEval";
        float[] xs = data(op, "x", x), ys = data(op, "y", y);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "y", y);
        bnParams(op, d[1], gamma, beta, runningMean, runningVar);
        BatchNorm.forwardEval(xs, data(op, "gamma", gamma), data(op, "beta", beta), data(op, "runningMean", runningMean),
                data(op, "runningVar", runningVar), eps, ys, d[0], d[1], d[2]);
    }

    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate) {
        String op = "batchNormBackward";
        float[] xs = data(op, "x", x), dys = data(op, "dy", dy), dxs = data(op, "dx", dx);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "dy", dy);
        same(op, "x", x, "dx", dx);
        int nc = d[1];
        float[] gs = data(op, "gamma", gamma), sm = data(op, "saveMean", saveMean), si = data(op, "saveInvStd", saveInvStd),
                dg = data(op, "dgamma", dgamma), db = data(op, "dbeta", dbeta);
        expect(op, "gamma", gamma, nc, "one per channel");
        expect(op, "saveMean", saveMean, nc, "one per channel");
        expect(op, "saveInvStd", saveInvStd, nc, "one per channel");
        expect(op, "dgamma", dgamma, nc, "one per channel");
        expect(op, "dbeta", dbeta, nc, "one per channel");
        BatchNorm.backward(xs, dys, gs, sm, si, dxs, dg, db, accumulate, d[0], nc, d[2]);
    }

    // ---- dropout ------------------------------------------------------------------------------

    @Override public void dropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner) {
        String op = "dropoutForward";
        float[] xs = data(op, "x", x), ys = data(op, "y", y);
        same(op, "x", x, "y", y);
        dropout(op, x, p, inner);
        Elementwise.dropout(xs, ys, x.numel(), p, seed, stream, inner);
    }

    @Override public void dropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner) {
        String op = "dropoutBackward";
        float[] dys = data(op, "dy", dy), dxs = data(op, "dx", dx);
        same(op, "dy", dy, "dx", dx);
        dropout(op, dy, p, inner);
        // the mask is a function of (seed, stream, unit) only, so backward is the forward applied to dy
        Elementwise.dropout(dys, dxs, dy.numel(), p, seed, stream, inner);
    }

    // ---- pooling ------------------------------------------------------------------------------

    @Override public void maxPoolForward(Tensor x, Tensor y, PoolGeom g) {
        String op = "maxPoolForward";
        float[] xs = data(op, "x", x), ys = data(op, "y", y);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "y", y, g.outH(), g.outW(), g);
        Pool.maxForward(xs, ys, g);
    }

    @Override public void maxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g) {
        String op = "maxPoolBackward";
        float[] xs = data(op, "x", x), dys = data(op, "dy", dy), dxs = data(op, "dx", dx);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "dy", dy, g.outH(), g.outW(), g);
        pool(op, "dx", dx, g.inH(), g.inW(), g);
        Pool.maxBackward(xs, dys, dxs, g);
    }

    @Override public void avgPoolForward(Tensor x, Tensor y, PoolGeom g) {
        String op = "avgPoolForward";
        float[] xs = data(op, "x", x), ys = data(op, "y", y);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "y", y, g.outH(), g.outW(), g);
        Pool.avgForward(xs, ys, g);
    }

    @Override public void avgPoolBackward(Tensor dy, Tensor dx, PoolGeom g) {
        String op = "avgPoolBackward";
        float[] dys = data(op, "dy", dy), dxs = data(op, "dx", dx);
        pool(op, "dy", dy, g.outH(), g.outW(), g);
        pool(op, "dx", dx, g.inH(), g.inW(), g);
        Pool.avgBackward(dys, dxs, g);
    }

    // ---- losses -------------------------------------------------------------------------------

    @Override public void crossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs) {
        String op = "crossEntropyForward";
        float[] x = data(op, "logits", logits), l = data(op, "labels", labels), lo = data(op, "loss", loss), p = data(op, "probs", probs);
        int[] bk = logitsBK(op, logits, labels);
        expect(op, "loss", loss, 1, "a scalar");
        same(op, "logits", logits, "probs", probs);
        Loss.crossEntropyForward(x, l, lo, p, bk[0], bk[1]);
    }

    @Override public void crossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits) {
        String op = "crossEntropyBackward";
        float[] p = data(op, "probs", probs), l = data(op, "labels", labels), dl = data(op, "dloss", dloss), dx = data(op, "dlogits", dlogits);
        int[] bk = logitsBK(op, probs, labels);
        expect(op, "dloss", dloss, 1, "a scalar");
        same(op, "probs", probs, "dlogits", dlogits);
        Loss.crossEntropyBackward(p, l, dl[0], dx, bk[0], bk[1]);
    }

    @Override public void bceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss) {
        String op = "bceWithLogitsForward";
        float[] x = data(op, "logits", logits), t = data(op, "targets", targets), lo = data(op, "loss", loss);
        same(op, "logits", logits, "targets", targets);
        expect(op, "loss", loss, 1, "a scalar");
        if (logits.numel() == 0) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " is empty");
        lo[0] = Loss.bceForward(x, t, logits.numel());
    }

    @Override public void bceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits) {
        String op = "bceWithLogitsBackward";
        float[] x = data(op, "logits", logits), t = data(op, "targets", targets), dl = data(op, "dloss", dloss), dx = data(op, "dlogits", dlogits);
        same(op, "logits", logits, "targets", targets);
        same(op, "logits", logits, "dlogits", dlogits);
        expect(op, "dloss", dloss, 1, "a scalar");
        Loss.bceBackward(x, t, dl[0], dx, logits.numel());
    }

    @Override public void mseForward(Tensor a, Tensor b, Tensor loss) {
        String op = "mseForward";
        float[] as = data(op, "a", a), bs = data(op, "b", b), lo = data(op, "loss", loss);
        same(op, "a", a, "b", b);
        expect(op, "loss", loss, 1, "a scalar");
        if (a.numel() == 0) throw new IllegalArgumentException(op + ": a " + a.shape() + " is empty");
        lo[0] = Loss.mseForward(as, bs, a.numel());
    }

    @Override public void mseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da) {
        String op = "mseBackward";
        float[] as = data(op, "a", a), bs = data(op, "b", b), dl = data(op, "dloss", dloss), das = data(op, "da", da);
        same(op, "a", a, "b", b);
        same(op, "a", a, "da", da);
        expect(op, "dloss", dloss, 1, "a scalar");
        Loss.mseBackward(as, bs, dl[0], das, a.numel());
    }

    // ---- similarity matrix --------------------------------------------------------------------

    @Override public void similarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm) {
        String op = "similarityForward";
        float[] xs = data(op, "x", x), ss = data(op, "s", s), xcs = data(op, "xc", xc), ns = data(op, "norm", norm);
        int[] bd = rows(op, "x", x);
        expect(op, "s", s, (long) bd[0] * bd[0], "(B, B) for x " + x.shape());
        same(op, "x", x, "xc", xc);
        expect(op, "norm", norm, bd[0], "one per row of x " + x.shape());
        Similarity.forward(xs, ss, xcs, ns, bd[0], bd[1]);
    }

    @Override public void similarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx) {
        String op = "similarityBackward";
        float[] xcs = data(op, "xc", xc), ns = data(op, "norm", norm), ss = data(op, "s", s), dss = data(op, "ds", ds), dxs = data(op, "dx", dx);
        int[] bd = rows(op, "xc", xc);
        expect(op, "norm", norm, bd[0], "one per row of xc " + xc.shape());
        expect(op, "s", s, (long) bd[0] * bd[0], "(B, B) for xc " + xc.shape());
        expect(op, "ds", ds, (long) bd[0] * bd[0], "(B, B) for xc " + xc.shape());
        same(op, "xc", xc, "dx", dx);
        Similarity.backward(xcs, ns, ss, dss, dxs, bd[0], bd[1]);
    }

    // ---- feature-map standard deviation -------------------------------------------------------

    @Override public void featureMapStdForward(Tensor x, Tensor y) {
        String op = "featureMapStdForward";
        float[] xs = data(op, "x", x), ys = data(op, "y", y);
        int[] d = bci(op, "x", x);
        expect(op, "y", y, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        if (d[2] < 2) throw new IllegalArgumentException(op + ": x " + x.shape() + " has " + d[2] + " element per map; the unbiased std needs 2");
        FeatureStd.forward(xs, ys, d[0] * d[1], d[2]);
    }

    @Override public void featureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "featureMapStdBackward";
        float[] xs = data(op, "x", x), ys = data(op, "y", y), dys = data(op, "dy", dy), dxs = data(op, "dx", dx);
        int[] d = bci(op, "x", x);
        expect(op, "y", y, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        expect(op, "dy", dy, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        same(op, "x", x, "dx", dx);
        if (d[2] < 2) throw new IllegalArgumentException(op + ": x " + x.shape() + " has " + d[2] + " element per map; the unbiased std needs 2");
        FeatureStd.backward(xs, ys, dys, dxs, d[0] * d[1], d[2]);
    }

    // ---- optimizers ---------------------------------------------------------------------------

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                   float eps, float weightDecay, int step) {
        String op = "adamStep";
        float[] p = data(op, "param", param), g = data(op, "grad", grad), ms = data(op, "m", m), vs = data(op, "v", v);
        same(op, "param", param, "grad", grad);
        same(op, "param", param, "m", m);
        same(op, "param", param, "v", v);
        float[] vm = null;
        if (vmax != null) {
            vm = data(op, "vmax", vmax);
            same(op, "param", param, "vmax", vmax);
        }
        if (step < 1) throw new IllegalArgumentException(op + ": step " + step + " must count from 1");
        float[] vmf = vm;
        Parallel.range(param.numel(), GRAIN, 1, (from, to) -> Optim.adam(p, g, ms, vs, vmf, lr, beta1, beta2, eps, weightDecay, step, from, to));
    }

    @Override public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep) {
        String op = "sgdStep";
        float[] p = data(op, "param", param), g = data(op, "grad", grad);
        same(op, "param", param, "grad", grad);
        float[] buf = null;
        if (momentum != 0) {
            buf = data(op, "momentumBuf", momentumBuf);
            same(op, "param", param, "momentumBuf", momentumBuf);
        }
        float[] bf = buf;
        Parallel.range(param.numel(), GRAIN, 1, (from, to) -> Optim.sgd(p, g, bf, lr, momentum, weightDecay, firstStep, from, to));
    }

    // ---- augmentation -------------------------------------------------------------------------

    @Override public void channelAffine(Tensor x, Tensor scale, Tensor shift) {
        String op = "channelAffine";
        float[] xs = data(op, "x", x), sc = data(op, "scale", scale), sh = data(op, "shift", shift);
        int[] d = bci(op, "x", x);
        expect(op, "scale", scale, d[1], "one per channel of x " + x.shape());
        expect(op, "shift", shift, d[1], "one per channel of x " + x.shape());
        Parallel.range(d[0] * d[1], Math.max(1, GRAIN / Math.max(1, d[2])), 1, (from, to) -> {
            for (int pl = from; pl < to; pl++) {
                float a = sc[pl % d[1]], s = sh[pl % d[1]];
                for (int i = 0, o = pl * d[2]; i < d[2]; i++) xs[o + i] = xs[o + i] * a + s;
            }
        });
    }

    @Override public void randomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream) {
        String op = "randomCropFlip";
        float[] xs = data(op, "x", x), ys = data(op, "y", y);
        images(op, "x", x);
        if (!x.shape().equals(y.shape())) throw new IllegalArgumentException(op + ": x " + x.shape() + " and y " + y.shape() + " differ");
        if (xs == ys) throw new IllegalArgumentException(op + ": y " + y.shape() + " shares x's memory; the crop cannot run in place");
        if (pad < 0) throw new IllegalArgumentException(op + ": pad " + pad + " is negative");
        Augment.randomCropFlip(xs, ys, x.dim(0), x.dim(1), x.dim(2), x.dim(3), pad, flip, seed, stream);
    }

    @Override public void cutout(Tensor x, int length, long seed, long stream) {
        String op = "cutout";
        float[] xs = data(op, "x", x);
        images(op, "x", x);
        if (length < 0) throw new IllegalArgumentException(op + ": length " + length + " is negative");
        Augment.cutout(xs, x.dim(0), x.dim(1), x.dim(2), x.dim(3), length, seed, stream);
    }
}
