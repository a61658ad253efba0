package locallearn.backend.cpu;

import locallearn.backend.ConvAlgorithm;
import locallearn.backend.Backend;
import locallearn.backend.CheckedBackend;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.config.Precision;
import locallearn.tensor.DType;
import locallearn.tensor.MemoryStats;
import locallearn.tensor.PooledAllocator;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * The host backend: every op of {@link Backend} on float arrays. {@link CheckedBackend} has
 * checked each op's arguments (device, element counts against the geometry) before it gets here,
 * so the loops trust them; the one check left here is on data, labels that are not class indices.
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
 *
 * <p>In {@link Precision#TF32} gemm and the three convolutions round their inputs to TF32
 * ({@code Tf32}) where Gemm packs them, or where Winograd's transforms read them, and sum in
 * float32: the twin of tensor-op math on the GPU. Every other op is float32 in either precision.
 */
public final class CpuBackend extends CheckedBackend {
    private final CpuAllocator allocator = new CpuAllocator();
    /**
     * Ops split into ranges of at least this many elements (1 MB): below it a thread hand-off
     * costs more than the loop. Waking a parked worker takes tenths of a millisecond on a shared
     * VM, several times a vector pass over a (128, 1024) fc activation on one thread.
     */
    static final int GRAIN = 1 << 18;

    private final ConvAlgorithm convAlgorithm;
    private final Precision precision;
    private final boolean tf32;

    /** Convolutions as the property {@code locallearn.cpuConv} says (auto when unset), float32. */
    public CpuBackend() { this(ConvAlgorithm.fromProperty()); }

    public CpuBackend(ConvAlgorithm convAlgorithm) { this(convAlgorithm, Precision.FP32); }

    public CpuBackend(ConvAlgorithm convAlgorithm, Precision precision) {
        super("CPU", CpuStorage.class);
        this.convAlgorithm = java.util.Objects.requireNonNull(convAlgorithm, "convAlgorithm");
        this.precision = java.util.Objects.requireNonNull(precision, "precision");
        this.tf32 = precision == Precision.TF32;
    }

    @Override public Precision precision() { return precision; }

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
                } + (tf32 ? ", tf32 (gemm and conv inputs rounded to 10 mantissa bits)" : "");
    }


    /**
     * The float array behind a tensor the boundary checked to be a live CPU tensor, which the op
     * reads and writes (in part, in place, accumulating): its own for float32, for bf16 the op's
     * float copy ({@link Bf16}), rounded back in {@link #finishOp}.
     */
    private static float[] data(Tensor t) { return floats(t, true, true); }

    /** The float array of a tensor the op only reads: bf16 is widened, not written back. */
    private static float[] in(Tensor t) { return floats(t, true, false); }

    /** The float array of a tensor the op overwrites, every element: bf16 is written back, not widened first. */
    private static float[] out(Tensor t) { return floats(t, false, true); }

    /** {@link #data} when the op adds into t, {@link #out} when it overwrites it. */
    private static float[] out(Tensor t, boolean accumulate) { return floats(t, accumulate, true); }

    private static float[] floats(Tensor t, boolean load, boolean store) {
        CpuStorage s = (CpuStorage) t.storage();
        return t.dtype() == DType.F32 ? s.floats() : Bf16.floats(s, t.numel(), load, store);
    }

    @Override protected void finishOp() { Bf16.finish(); }

    /**
     * Runs a streamed op's float loop over its units (elements, or planes) in parallel ranges of
     * at least {@code grain} units, for arguments the boundary checked to share one dtype: on
     * their own arrays for float32, through small tiles for bf16 ({@link Bf16#stream}).
     */
    private static void stream(int units, int grain, Bf16.Loop loop, Bf16.Arg... args) {
        if (args[0].tensor().dtype() == DType.BF16) {
            Bf16.stream(units, grain, loop, args);
            return;
        }
        float[][] a = new float[args.length][];
        for (int k = 0; k < args.length; k++) a[k] = args[k].storage().floats();
        Parallel.range(units, grain, 1, (from, to) -> loop.run(a, from, to));
    }

    /** {@link #stream} over elements: an op whose output element i comes from its inputs' elements i. */
    private static void pointwise(int n, Bf16.Loop loop, Bf16.Arg... args) { stream(n, GRAIN, loop, args); }

    /** A streamed argument the op only reads. */
    private static Bf16.Arg reads(Tensor t) { return new Bf16.Arg(t, true, false); }

    /** A streamed argument the op overwrites, or adds into when accumulating. */
    private static Bf16.Arg writes(Tensor t, boolean accumulate) { return new Bf16.Arg(t, accumulate, true); }

    private static Bf16.Arg writes(Tensor t) { return writes(t, false); }

    /** A streamed argument the op reads and overwrites. */
    private static Bf16.Arg updates(Tensor t) { return writes(t, true); }

    /** The array behind an optional argument, or null. */
    private static float[] inOrNull(Tensor t) { return t == null ? null : in(t); }

    private static float[] dataOrNull(Tensor t) { return t == null ? null : data(t); }

    // ---- memory ----------------------------------------------------------------------------

    @Override public Tensor allocate(Shape shape, DType dtype) {
        return new Tensor(shape, dtype, allocator.acquire((long) shape.numel() * dtype.bytes), allocator);
    }

    @Override public MemoryStats memory() { return allocator.stats(); }

    @Override public void resetPeakMemory() { allocator.resetPeak(); }

    @Override public Lane openLane(int lane, int lanes) {
        if (lane < 0 || lane >= lanes) throw new IllegalArgumentException("lane " + lane + " of " + lanes + " does not exist");
        PooledAllocator.enterLane(lane);
        return PooledAllocator::leaveLane;
    }

    @Override public MemoryStats laneMemory(int lane) { return allocator.laneStats(lane); }

    @Override protected void doWrite(Tensor dst, float[] src) {
        CpuStorage s = (CpuStorage) dst.storage();
        if (dst.dtype() == DType.F32) System.arraycopy(src, 0, s.floats(), 0, src.length);
        else Bf16.round(src, s.halves(), src.length);
    }

    @Override protected float[] doRead(Tensor src) {
        CpuStorage s = (CpuStorage) src.storage();
        float[] out = new float[src.numel()];
        if (src.dtype() == DType.F32) System.arraycopy(s.floats(), 0, out, 0, out.length);
        else Bf16.widen(s.halves(), out, out.length);
        return out;
    }

    // ---- elementwise and reductions ----------------------------------------------------------

    @Override protected void doFill(Tensor x, float value) {
        pointwise(x.numel(), (v, from, to) -> java.util.Arrays.fill(v[0], from, to, value), writes(x));
    }

    @Override protected void doCopy(Tensor src, Tensor dst) { doCopyRange(src, 0, dst, 0, src.numel()); }

    /** In one pass whatever the dtypes: a copy converts straight between the storages, without {@link Bf16}'s float arrays. */
    @Override protected void doCopyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        CpuStorage s = (CpuStorage) src.storage(), d = (CpuStorage) dst.storage();
        boolean fromF32 = src.dtype() == DType.F32, toF32 = dst.dtype() == DType.F32;
        if (fromF32 && toF32) Elementwise.copy(s.floats(), srcOffset, d.floats(), dstOffset, count);
        else if (fromF32) Bf16.round(s.floats(), srcOffset, d.halves(), dstOffset, count);
        else if (toF32) Bf16.widen(s.halves(), srcOffset, d.floats(), dstOffset, count);
        else Bf16.copy(s.halves(), srcOffset, d.halves(), dstOffset, count);
    }

    @Override protected void doAxpy(float a, Tensor x, Tensor y) {
        pointwise(x.numel(), (v, from, to) -> {
            float[] xs = v[0], ys = v[1];
            for (int i = from; i < to; i++) ys[i] += a * xs[i];
        }, reads(x), updates(y));
    }

    @Override protected void doScale(Tensor x, float a) {
        pointwise(x.numel(), (v, from, to) -> {
            float[] xs = v[0];
            for (int i = from; i < to; i++) xs[i] *= a;
        }, updates(x));
    }

    @Override protected void doMultiply(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        pointwise(a.numel(), (v, from, to) -> Elementwise.multiply(v[0], v[1], v[2], accumulate, from, to), reads(a), reads(b), writes(out, accumulate));
    }

    @Override protected void doSum(Tensor x, Tensor out, boolean accumulate) {
        float[] xs = in(x), o = data(out);
        // below 16 elements (every loss) Lanes.sum is the plain sequential sum, bit for bit
        double s = 0;
        if (Lanes.FAST) s = Lanes.sum(xs, 0, x.numel());
        else for (int i = 0, n = x.numel(); i < n; i++) s += xs[i];
        o[0] = accumulate ? (float) (o[0] + s) : (float) s;
    }

    @Override protected void doCountCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate) {
        float[] x = in(logits), l = in(labels), o = data(out);
        int b = logits.dim(0), k = logits.dim(1);
        int correct = 0;
        for (int i = 0; i < b; i++) {
            int label = label("countCorrect", l[i], i, k);
            int best = 0;
            for (int j = 1; j < k; j++) if (x[i * k + j] > x[i * k + best]) best = j;
            if (best == label) correct++;
        }
        o[0] = accumulate ? o[0] + correct : correct;
    }

    /** A float class index checked to be a whole number in [0, k): a check on data, which only the CPU can make without waiting. */
    static int label(String op, float v, int row, int k) {
        int c = (int) v;
        if (c != v || c < 0 || c >= k) throw new IllegalArgumentException(op + ": label " + v + " at row " + row + " is not a class index in [0, " + k + ")");
        return c;
    }

    @Override protected void doLeakyReluForward(Tensor x, Tensor y, float slope) {
        pointwise(x.numel(), (v, from, to) -> Elementwise.leakyReluForward(v[0], v[1], slope, from, to), reads(x), writes(y));
    }

    @Override protected void doLeakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        pointwise(y.numel(), (v, from, to) -> Elementwise.leakyReluBackward(v[0], v[1], v[2], slope, from, to), reads(y), reads(dy), writes(dx));
    }

    // ---- bias ---------------------------------------------------------------------------------

    @Override protected void doBiasAdd(Tensor y, Tensor bias) {
        float[] ys = data(y), bs = in(bias);
        int[] d = bciOf(y);
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

    @Override protected void doBiasBackward(Tensor dy, Tensor dbias, boolean accumulate) {
        int[] d = bciOf(dy);
        Elementwise.biasBackward(in(dy), data(dbias), accumulate, d[0], d[1], d[2]);
    }

    // ---- GEMM ---------------------------------------------------------------------------------

    @Override protected void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                                    int batch, long strideA, long strideB, long strideC) {
        // with beta 0 every element of C is written (when the products tile it), so bf16 C needs no widening
        boolean whole = beta == 0f && c.numel() == (long) m * n * batch && (batch == 1 || strideC == (long) m * n);
        float[] as = in(a), cs = out(c, !whole);
        if (b.dtype() == DType.BF16 && Gemm.packs(m, n, k)) {
            // B widened as it is packed, not into a float copy first: the same panels
            short[] bh = ((CpuStorage) b.storage()).halves();
            for (int i = 0; i < batch; i++)
                Gemm.gemm(transA, m, n, k, alpha, as, (int) (i * strideA), Gemm.halves(transB, k, n, bh, (int) (i * strideB)), beta, cs, (int) (i * strideC), tf32);
            return;
        }
        float[] bs = in(b);
        for (int i = 0; i < batch; i++)
            Gemm.gemm(transA, transB, m, n, k, alpha, as, (int) (i * strideA), bs, (int) (i * strideB), beta, cs, (int) (i * strideC), tf32);
    }

    // ---- convolution --------------------------------------------------------------------------

    @Override protected void doConv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g) {
        float[] xs = in(x), ws = in(w), ys = out(y), bs = inOrNull(bias);
        Winograd.Tile f = winogradTile(g, convAlgorithm);
        if (f != null) Winograd.forward(xs, ws, bs, ys, g, f, tf32);
        else Conv.forward(xs, ws, bs, ys, g, tf32);
    }

    @Override protected void doConv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g) {
        float[] dys = in(dy), ws = in(w), dxs = out(dx);
        Winograd.Tile f = winogradTile(g, convAlgorithm);
        if (f != null) Winograd.backwardData(dys, ws, dxs, g, f, tf32);
        else Conv.backwardData(dys, ws, dxs, g, tf32);
    }

    @Override protected void doConv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate) {
        float[] xs = in(x), dys = in(dy), dws = data(dw), dbs = dataOrNull(dbias);
        Winograd.Tile f = winogradTile(g, convAlgorithm);
        if (f != null) Winograd.backwardFilter(xs, dys, dws, dbs, g, accumulate, f, tf32);
        else Conv.backwardFilter(xs, dys, dws, dbs, g, accumulate, tf32);
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

    @Override protected void doBatchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                     float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        int[] d = bciOf(x);
        BatchNorm.forwardTrain(Elements.of(x), in(gamma), in(beta), data(runningMean), data(runningVar), momentum, eps, Elements.of(y),
                out(saveMean), out(saveInvStd), d[0], d[1], d[2]);
    }

    @Override protected void doBatchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        int[] d = bciOf(x);
        BatchNorm.forwardEval(Elements.of(x), in(gamma), in(beta), in(runningMean), in(runningVar), eps, Elements.of(y), d[0], d[1], d[2]);
    }

    @Override protected void doBatchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                                 Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate) {
        int[] d = bciOf(x);
        BatchNorm.backward(Elements.of(x), Elements.of(dy), in(gamma), in(saveMean), in(saveInvStd), Elements.of(dx), data(dgamma), data(dbeta),
                accumulate, d[0], d[1], d[2]);
    }

    @Override protected void doChannelSum(Tensor x, Tensor weight, Tensor out, boolean accumulate) {
        int[] d = bciOf(x);
        BatchNorm.channelSum(Elements.of(x), weight == null ? null : Elements.of(weight), data(out), accumulate, d[0], d[1], d[2]);
    }

    // ---- dropout ------------------------------------------------------------------------------

    @Override protected void doDropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner) {
        Elementwise.dropout(in(x), out(y), x.numel(), p, seed, stream, inner);
    }

    @Override protected void doDropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner) {
        // the mask is a function of (seed, stream, unit) only, so backward is the forward applied to dy
        Elementwise.dropout(in(dy), out(dx), dy.numel(), p, seed, stream, inner);
    }

    // ---- pooling ------------------------------------------------------------------------------

    // a pool's planes (b, c) are independent: it streams plane by plane

    @Override protected void doMaxPoolForward(Tensor x, Tensor y, PoolGeom g) {
        stream(planes(g), Pool.grain(g), (v, pl0, pl1) -> Pool.maxForward(v[0], v[1], g, pl0, pl1), reads(x), writes(y));
    }

    @Override protected void doMaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g) {
        stream(planes(g), Pool.grain(g), (v, pl0, pl1) -> Pool.maxBackward(v[0], v[1], v[2], g, pl0, pl1), reads(x), reads(dy), writes(dx));
    }

    @Override protected void doAvgPoolForward(Tensor x, Tensor y, PoolGeom g) {
        stream(planes(g), Pool.grain(g), (v, pl0, pl1) -> Pool.avgForward(v[0], v[1], g, pl0, pl1), reads(x), writes(y));
    }

    @Override protected void doAvgPoolBackward(Tensor dy, Tensor dx, PoolGeom g) {
        stream(planes(g), Pool.grain(g), (v, pl0, pl1) -> Pool.avgBackward(v[0], v[1], g, pl0, pl1), reads(dy), writes(dx));
    }

    private static int planes(PoolGeom g) { return g.batch() * g.channels(); }

    // ---- losses -------------------------------------------------------------------------------

    @Override protected void doCrossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs) {
        Loss.crossEntropyForward(in(logits), in(labels), out(loss), out(probs), logits.dim(0), logits.dim(1));
    }

    @Override protected void doCrossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits) {
        Loss.crossEntropyBackward(in(probs), in(labels), in(dloss)[0], out(dlogits), probs.dim(0), probs.dim(1));
    }

    @Override protected void doBceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss) {
        out(loss)[0] = Loss.bceForward(in(logits), in(targets), logits.numel());
    }

    @Override protected void doBceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits) {
        Loss.bceBackward(in(logits), in(targets), in(dloss)[0], out(dlogits), logits.numel());
    }

    @Override protected void doMseForward(Tensor a, Tensor b, Tensor loss) { out(loss)[0] = Loss.mseForward(in(a), in(b), a.numel()); }

    @Override protected void doMseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da) {
        Loss.mseBackward(in(a), in(b), in(dloss)[0], out(da), a.numel());
    }

    // ---- feedback alignment -------------------------------------------------------------------

    @Override protected void doFaBceBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor x, Tensor fb, Tensor dx, Tensor dw, Tensor db,
                                             boolean accumulate) {
        FeedbackAlignment.faBceBackward(in(logits), in(targets), in(dloss)[0], in(x), in(fb), dx == null ? null : out(dx), dataOrNull(dw),
                dataOrNull(db), accumulate, logits.dim(0), logits.dim(1), x.shape().sizeFrom(1));
    }

    // ---- similarity matrix --------------------------------------------------------------------

    @Override protected void doSimilarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm) {
        Similarity.forward(in(x), out(s), out(xc), out(norm), x.dim(0), x.shape().sizeFrom(1));
    }

    @Override protected void doSimilarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx) {
        Similarity.backward(in(xc), in(norm), in(s), in(ds), out(dx), xc.dim(0), xc.shape().sizeFrom(1));
    }

    // ---- feature-map standard deviation -------------------------------------------------------

    @Override protected void doFeatureMapStdForward(Tensor x, Tensor y) {
        int[] d = bciOf(x);
        FeatureStd.forward(in(x), out(y), d[0] * d[1], d[2]);
    }

    @Override protected void doFeatureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        int[] d = bciOf(x);
        FeatureStd.backward(in(x), in(y), in(dy), out(dx), d[0] * d[1], d[2]);
    }

    // ---- optimizers ---------------------------------------------------------------------------

    @Override protected void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                        float eps, float weightDecay, int step) {
        float[] p = data(param), g = in(grad), ms = data(m), vs = data(v), vm = dataOrNull(vmax);
        Parallel.range(param.numel(), GRAIN, 1, (from, to) -> Optim.adam(p, g, ms, vs, vm, lr, beta1, beta2, eps, weightDecay, step, from, to));
    }

    @Override protected void doSgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep) {
        float[] p = data(param), g = in(grad), buf = momentum != 0 ? data(momentumBuf) : null;
        Parallel.range(param.numel(), GRAIN, 1, (from, to) -> Optim.sgd(p, g, buf, lr, momentum, weightDecay, firstStep, from, to));
    }

    // ---- augmentation -------------------------------------------------------------------------

    @Override protected void doChannelAffine(Tensor x, Tensor scale, Tensor shift) {
        float[] xs = data(x), sc = in(scale), sh = inOrNull(shift);
        int[] d = bciOf(x);
        Parallel.range(d[0] * d[1], Math.max(1, GRAIN / Math.max(1, d[2])), 1, (from, to) -> {
            for (int pl = from; pl < to; pl++) {
                float a = sc[pl % d[1]];
                int o = pl * d[2];
                if (sh == null) {
                    for (int i = 0; i < d[2]; i++) xs[o + i] = xs[o + i] * a;
                } else {
                    float s = sh[pl % d[1]];
                    for (int i = 0; i < d[2]; i++) xs[o + i] = xs[o + i] * a + s;
                }
            }
        });
    }

    @Override protected void doRandomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream) {
        Augment.randomCropFlip(in(x), out(y), x.dim(0), x.dim(1), x.dim(2), x.dim(3), pad, flip, seed, stream);
    }

    @Override protected void doCutout(Tensor x, int length, int holes, long seed, long stream) {
        Augment.cutout(data(x), x.dim(0), x.dim(1), x.dim(2), x.dim(3), length, holes, seed, stream);
    }
}
