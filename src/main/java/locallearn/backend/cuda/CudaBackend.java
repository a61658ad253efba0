package locallearn.backend.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * The GPU backend: every op of {@link Backend} as a launch of our kernels ({@code kernels/*.cu},
 * compiled to PTX and loaded through {@link CudaContext}), GEMM through cuBLAS and convolution
 * through cuDNN when those libraries load, else through our fallback kernels. A thread's work is
 * queued on its stream: the legacy default stream, or on a pipeline lane ({@link #openLane})
 * the lane's own, with cuBLAS and cuDNN handles of its own; no op waits for the device
 * ({@link #read} is the one place that does), so a training step runs ahead of the host.
 *
 * <p>{@link CheckedBackend} has checked every op's arguments, with the CPU twin's messages, before
 * anything is launched. The one check the GPU cannot make without waiting is that labels are
 * class indices in [0, K): a bad label gives a NaN loss here instead of an exception.
 *
 * <p>In {@link Precision#TF32} gemm and the convolutions allow tensor-op math: cuBLAS in
 * CUBLAS_TF32_TENSOR_OP_MATH, cuDNN's descriptors in CUDNN_DEFAULT_MATH (which permits TF32 on
 * compute capability 8.0 and newer), and our fallback gemm kernel, which the fallback convolution
 * runs on, rounds its inputs to TF32 as the CPU twin does. The similarity Gram stays float32.
 *
 * <p>BF16 tensors (2 bytes an element) run on the {@code _bf16} instantiations of our kernels
 * (kernels/common.cuh: bf16 loads widened, float arithmetic, stores rounded to nearest even), the
 * instantiation picked by the dtype of the op's activations; parameters, statistics and losses
 * are float32 in every variant, where {@link CheckedBackend} pins them. A product of bf16 tensors
 * goes to cuBLAS's GemmEx (float32 compute, C bf16 or float32) and a convolution of bf16 tensors
 * to cuDNN's bf16 descriptors with tensor-op math, its float32 filter gradient through a bf16 one
 * ({@link #bf16FilterGradient}); without the libraries our gemm kernel and im2col take bf16 too.
 * cuDNN's bf16 output rounds before the bias is added, so a biased bf16 convolution rounds twice
 * there (once on our kernels and on the CPU twin).
 */
public final class CudaBackend extends CheckedBackend {
    /** Threads per block of the elementwise kernels (grid-stride loops). */
    private static final int THREADS = 256;
    /** Threads of the single-block reductions (sum, countCorrect, the losses) and of batch norm's block per channel; common.cuh's REDUCE_THREADS. */
    private static final int REDUCE_THREADS = 1024;
    /** Threads per block of the one-block-per-row/channel kernels (bias, similarity rows); common.cuh's ROW_THREADS. */
    private static final int ROW_THREADS = 512;
    /** Grid-stride loops need no more blocks than this to fill any current GPU. */
    private static final int MAX_BLOCKS = 1 << 16;
    /** The fallback convolution's im2col buffer stays below this (images are taken in chunks). */
    private static final long COL_BUDGET_BYTES = 64L << 20;
    /** cuLaunchKernel's limit on grid y and z. */
    private static final int MAX_GRID_Z = 65535;

    /**
     * Every kernel the backend launches: family (the .ptx file) and extern "C" name (lower case of
     * the constant), with its bf16 instantiation (that name and "_bf16") unless it is float only.
     */
    private enum K {
        AXPY("elementwise"), SCALE("elementwise"), MULTIPLY("elementwise"), SUM("elementwise"), COUNT_CORRECT("elementwise"),
        LEAKY_RELU_FORWARD("elementwise"), LEAKY_RELU_BACKWARD("elementwise"), BIAS_ADD("elementwise"), BIAS_BACKWARD("elementwise"),
        CONVERT_F32_BF16("elementwise", false), CONVERT_BF16_F32("elementwise", false),
        GEMM("gemm"), GEMM_BF16_F32("gemm", false), GEMM_F32_BF16("gemm", false), IM2COL("conv"), COL2IM("conv"),
        BATCH_NORM_FORWARD_TRAIN("batchnorm"), BATCH_NORM_FORWARD_EVAL("batchnorm"), BATCH_NORM_BACKWARD("batchnorm"), CHANNEL_SUM("batchnorm"),
        DROPOUT_FORWARD("dropout"), DROPOUT_BACKWARD("dropout"),
        MAX_POOL_FORWARD("pool"), MAX_POOL_BACKWARD("pool"), AVG_POOL_FORWARD("pool"), AVG_POOL_BACKWARD("pool"),
        CROSS_ENTROPY_FORWARD("loss"), CROSS_ENTROPY_BACKWARD("loss"), BCE_WITH_LOGITS_FORWARD("loss"),
        BCE_WITH_LOGITS_BACKWARD("loss"), MSE_FORWARD("loss"), MSE_BACKWARD("loss"), FA_BCE_BACKWARD("fa"),
        SIMILARITY_NORMALIZE("similarity"), SIMILARITY_CLAMP("similarity", false), SIMILARITY_BACKWARD_GRAM("similarity", false),
        SIMILARITY_BACKWARD_ROWS("similarity"),
        FEATURE_MAP_STD_FORWARD("featstd"), FEATURE_MAP_STD_BACKWARD("featstd"),
        ADAM_STEP("optim", false), SGD_STEP("optim", false),
        CHANNEL_AFFINE("augment"), RANDOM_CROP_FLIP("augment"), CUTOUT("augment");

        final String family;
        final boolean bf16;

        K(String family) { this(family, true); }

        K(String family, boolean bf16) {
            this.family = family;
            this.bf16 = bf16;
        }

        String entry() { return name().toLowerCase(java.util.Locale.ROOT); }

        String entry(DType t) { return t == DType.BF16 ? entry() + "_bf16" : entry(); }

        /** The extern "C" names of this kernel: float, and bf16 where it has that instantiation. */
        List<String> entries() { return bf16 ? List.of(entry(), entry(DType.BF16)) : List.of(entry()); }
    }

    /** A GPU of this backend: its context (memory pool, streams, library handles) and our kernels loaded there. */
    private record Device(CudaContext ctx, Map<String, Kernel> kernels) {}

    private final List<Device> devices; // the first is home: threads off a lane work there, and what is not on a stage stays there
    private final ThreadLocal<Device> laneDevice = new ThreadLocal<>();
    private final boolean ownsContext;
    private final boolean ownKernels; // GEMM and convolution on our kernels even where cuBLAS and cuDNN loaded
    private final String providers;
    private final Precision precision;
    private final boolean tf32;

    private CudaBackend(List<CudaContext> contexts, boolean ownsContext, boolean ownKernels, Precision precision) {
        super("CUDA", CudaStorage.class);
        for (CudaContext c : contexts) {
            String missing = tensorCoresMissing(precision, c.computeCapability(), c.deviceName() + (contexts.size() > 1 ? " (cuda:" + c.ordinal() + ")" : ""));
            if (missing != null) throw new IllegalArgumentException(missing);
        }
        this.ownKernels = ownKernels;
        this.precision = precision;
        this.tf32 = precision == Precision.TF32;
        this.ownsContext = ownsContext;
        this.providers = ownKernels ? "gemm and conv: own kernels (asked for)" : contexts.get(0).providers();
        if (precision == Precision.BF16 && !ownKernels)
            for (CudaContext c : contexts) {
                String missing = c.cudnn() == null ? null : c.cudnn().bf16Missing();
                if (missing != null) throw new IllegalArgumentException("precision bf16: " + missing + "; use a cuDNN with bfloat16 (cuDNN 9 has it), or --precision tf32");
            }
        // load every module now, on every device: a missing PTX or kernel name fails here, not in the middle of a step,
        // and as CudaUnavailableException, so --device auto falls back to the CPU with the reason
        List<Device> ds = new ArrayList<>();
        try {
            for (CudaContext c : contexts) {
                Map<String, Kernel> kernels = new HashMap<>(); // by entry name
                for (K k : K.values())
                    for (String e : k.entries()) kernels.put(e, c.kernel(k.family, e));
                ds.add(new Device(c, kernels));
            }
        } catch (CudaUnavailableException e) {
            throw e;
        } catch (IllegalStateException e) {
            throw new CudaUnavailableException(e.getMessage(), e);
        }
        this.devices = List.copyOf(ds);
    }

    /** The calling thread's device: its lane's, else home. */
    private Device here() {
        Device d = laneDevice.get();
        return d != null ? d : devices.get(0);
    }

    private CudaContext ctx() { return here().ctx(); }

    private CudaAllocator allocator() { return here().ctx().allocator(); }

    private Map<String, Kernel> kernels() { return here().kernels(); }

    /**
     * The backend on GPU {@code ordinal}, with cuBLAS and cuDNN where they load. Throws
     * {@link CudaUnavailableException} with a one-line reason when there is no usable GPU.
     */
    public static CudaBackend open(int ordinal) {
        return open(ordinal, false, Precision.FP32);
    }

    /** As {@link #open(int)}; {@code ownKernels} runs GEMM and convolution on our kernels even when the libraries load. */
    public static CudaBackend open(int ordinal, boolean ownKernels) { return open(ordinal, ownKernels, Precision.FP32); }

    /**
     * As {@link #open(int, boolean)}, computing gemm and convolution in {@code precision}; TF32 or
     * BF16 on a GPU before compute capability 8.0 is an IllegalArgumentException saying so.
     */
    public static CudaBackend open(int ordinal, boolean ownKernels, Precision precision) { return open(new int[] {ordinal}, ownKernels, precision); }

    /**
     * One backend on GPUs {@code ordinals} (distinct), for a pipeline whose stages go onto them
     * ({@link #openLane}); the first is home, where everything off a stage is. Each pair of
     * devices that can reach each other's memory gets peer access, so tensors cross by peer
     * copies; the others stage them through the host.
     */
    public static CudaBackend open(int[] ordinals, boolean ownKernels, Precision precision) {
        List<CudaContext> contexts = new ArrayList<>();
        try {
            for (int o : ordinals) contexts.add(CudaContext.open(o));
            for (CudaContext a : contexts) for (CudaContext b : contexts) if (a != b) a.enablePeerAccess(b);
            return new CudaBackend(contexts, true, ownKernels, precision);
        } catch (RuntimeException e) {
            for (CudaContext c : contexts) c.close();
            throw e;
        }
    }

    /**
     * A second backend on the same context and memory pool that runs GEMM and convolution on our
     * kernels (the selftest checks both paths in one process). Closing it leaves the context open.
     */
    public CudaBackend withOwnKernels() {
        return new CudaBackend(contexts(), false, true, precision);
    }

    /** A second backend on the same context, providers and memory pool, computing in {@code p} (the selftest's tf32 cases). */
    public CudaBackend withPrecision(Precision p) {
        return new CudaBackend(contexts(), false, ownKernels, p);
    }

    /**
     * Null when the GPU can compute in {@code p}, else the one line that says what is missing:
     * TF32 and BF16 tensor cores came with compute capability 8.0 (Ampere).
     */
    public static String tensorCoresMissing(Precision p, int computeCapability, String device) {
        if (p == Precision.FP32 || computeCapability >= 80) return null;
        return "precision " + p.flag() + " needs tensor cores of compute capability 8.0 (Ampere) or newer; " + device + " is sm_" + computeCapability
                + ": use --precision fp32";
    }

    /** "family.ptx:kernel" for every kernel this backend launches (a test checks them against the built PTX). */
    public static List<String> kernelEntryPoints() {
        List<String> out = new ArrayList<>();
        for (K k : K.values())
            for (String e : k.entries()) out.add(k.family + ".ptx:" + e);
        return out;
    }

    @Override public String name() { return "cuda"; }

    private List<CudaContext> contexts() { return devices.stream().map(Device::ctx).toList(); }

    @Override public String describe() {
        List<String> gpus = new ArrayList<>();
        for (Device d : devices)
            gpus.add((devices.size() > 1 ? "cuda:" + d.ctx().ordinal() + " " : "") + d.ctx().deviceName() + ", " + (d.ctx().totalBytes() >> 20) + " MiB");
        boolean peers = true;
        for (Device a : devices) for (Device b : devices) peers &= a == b || a.ctx().reaches(b.ctx());
        String crossing = devices.size() == 1 ? "" : peers ? "; peer copies between them" : "; copies between some through the host";
        return "cuda: " + String.join("; ", gpus) + crossing + "; " + providers + (tf32 ? "; tf32 tensor-op math in gemm and conv" : "")
                + (precision == Precision.BF16 ? "; bf16 activations" : "");
    }

    @Override public Precision precision() { return precision; }

    @Override public void synchronize() { for (Device d : devices) d.ctx().synchronize(); }

    @Override public void close() {
        if (!ownsContext) return;
        RuntimeException first = null;
        for (Device d : devices) {
            try {
                d.ctx().close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    /** The device address behind a tensor the boundary checked to be a live CUDA tensor. */
    private static long addr(Tensor t) { return storage(t).address(); }

    private static CudaStorage storage(Tensor t) { return (CudaStorage) t.storage(); }

    // ---- launching --------------------------------------------------------------------------

    /** Kernel k's instantiation for activations of dtype t (float-only kernels take F32). */
    private Kernel kernel(K k, DType t) { return kernels().get(k.entry(t)); }

    /** A grid-stride kernel over n elements, on activations of dtype t; nothing is launched for n = 0. */
    private void elementwise(K k, DType t, long n, Object... args) {
        if (n == 0) return;
        kernel(k, t).launch(blocks(n, THREADS), 1, 1, THREADS, 1, 1, 0, args);
    }

    private static int blocks(long n, int threads) { return (int) Math.min(MAX_BLOCKS, (n + threads - 1) / threads); }

    /** One block of REDUCE_THREADS threads. */
    private void single(K k, DType t, Object... args) { kernel(k, t).launch(1, 1, 1, REDUCE_THREADS, 1, 1, 0, args); }

    /** One block per row / channel. */
    private void perRow(K k, DType t, int rows, Object... args) {
        if (rows == 0) return;
        kernel(k, t).launch(rows, 1, 1, ROW_THREADS, 1, 1, 0, args);
    }

    /** Batch norm: one block of REDUCE_THREADS per channel. */
    private void perChannel(K k, DType t, int channels, Object... args) {
        if (channels == 0) return;
        kernel(k, t).launch(channels, 1, 1, REDUCE_THREADS, 1, 1, 0, args);
    }

    private static long bytes(long elements) { return elements * Float.BYTES; }

    private static long bytes(long elements, DType t) { return elements * t.bytes; }


    // ---- memory -----------------------------------------------------------------------------

    @Override public Tensor allocate(Shape shape, DType dtype) {
        return new Tensor(shape, dtype, allocator().acquire(bytes(shape.numel(), dtype)), allocator());
    }

    /** Every device's pool together (a pipeline's per-device figures are its lanes', {@link #laneMemory}). */
    @Override public MemoryStats memory() { return summed(CudaAllocator::stats); }

    private MemoryStats summed(java.util.function.Function<CudaAllocator, MemoryStats> of) {
        long current = 0, peak = 0, reserved = 0;
        for (Device d : devices) {
            MemoryStats m = of.apply(d.ctx().allocator());
            current += m.current();
            peak += m.peak();
            reserved += m.reserved();
        }
        return new MemoryStats(current, peak, reserved);
    }

    @Override public void resetPeakMemory() { for (Device d : devices) d.ctx().allocator().resetPeak(); }

    /**
     * The lane's own stream, cuBLAS and cuDNN handles for the calling thread (CudaContext#enterLane),
     * on its device ({@link #deviceOfLane}), and its memory count. Every device makes its lanes'
     * streams in order first, so which stage comes first does not change them.
     */
    @Override public Lane openLane(int lane, int lanes) {
        if (lane < 0 || lane >= lanes) throw new IllegalArgumentException("lane " + lane + " of " + lanes + " does not exist");
        if (lanes < devices.size())
            throw new IllegalArgumentException("--device lists " + devices.size() + " GPUs for a pipeline of " + lanes + " stages: a stage goes on one GPU,"
                    + " so list at most " + lanes);
        for (Device d : devices) d.ctx().makeLanes(lanes);
        Device d = devices.get(deviceOfLane(lane, lanes, devices.size()));
        d.ctx().enterLane(lane, lanes);
        laneDevice.set(d);
        PooledAllocator.enterLane(lane);
        return () -> {
            PooledAllocator.leaveLane();
            laneDevice.remove();
            d.ctx().leaveLane();
        };
    }

    /**
     * The device (index into the list) of lane {@code lane} of {@code lanes} on {@code count}
     * devices: lane i on device i when there are as many; fewer devices take the lanes in order,
     * in runs as even as they go (3 lanes on 2: 0, 0, 1).
     */
    static int deviceOfLane(int lane, int lanes, int count) { return (int) ((long) lane * count / lanes); }

    @Override public String laneDevice(int lane, int lanes) { return "cuda:" + devices.get(deviceOfLane(lane, lanes, devices.size())).ctx().ordinal(); }

    /** An event on the calling thread's stream, for the consumer's stream to wait on (on any device). */
    @Override public HandOff handOff() { return ctx().handOff(); }

    /**
     * A tensor on another GPU comes over: a peer copy on the calling thread's stream (ordered after
     * the producer by its awaited hand-off), or, without peer access, a download from its device
     * (which waits for that device's queued work) and an upload here; its old block goes back to
     * its device's pool. Off a lane (between epochs) the copy is waited for before that.
     */
    @Override public void moveHere(Tensor t) {
        CudaStorage src = storage(t);
        CudaContext to = ctx();
        if (src.context == to) return;
        long bytes = (long) t.numel() * t.dtype().bytes;
        CudaStorage dst = to.allocator().acquire(bytes);
        try {
            if (to.reaches(src.context)) {
                to.copyFromPeer(src.context, src, dst, bytes);
            } else if (t.dtype() == DType.BF16) { // staged in the tensor's own element size: no bytes past the block
                short[] staged = new short[t.numel()];
                src.context.download(src, staged, staged.length);
                to.upload(dst, staged, staged.length);
            } else {
                float[] staged = new float[t.numel()];
                src.context.download(src, staged, staged.length);
                to.upload(dst, staged, staged.length);
            }
            if (CudaContext.laneContextOfThread() == null) to.synchronize();
        } catch (RuntimeException e) {
            to.allocator().release(dst);
            throw e;
        }
        src.context.allocator().release((CudaStorage) t.rehome(dst, to.allocator()));
    }

    /** cuBLAS on the calling thread's stream, or null: our gemm kernel. */
    private Cublas cublas() { return ownKernels ? null : ctx().cublasOnThread(); }

    /** cuDNN on the calling thread's stream, or null: im2col + gemm. */
    private Cudnn cudnn() { return ownKernels ? null : ctx().cudnnOnThread(); }

    /** What the lane's threads hold, on every device (a lane allocates on its own). */
    @Override public MemoryStats laneMemory(int lane) { return summed(a -> a.laneStats(lane)); }

    /** Through the tensor's own device, whichever thread asks (a host copy needs no kernel on the caller's); bf16 is rounded on the host (DType.round, as __float2bfloat16_rn) and sent as its 16 bits. */
    @Override protected void doWrite(Tensor dst, float[] src) {
        if (src.length == 0) return;
        CudaContext home = storage(dst).context;
        if (dst.dtype() == DType.F32) {
            home.upload(storage(dst), src, src.length);
            return;
        }
        short[] h = new short[src.length];
        for (int i = 0; i < h.length; i++) h[i] = DType.round(src[i]);
        home.upload(storage(dst), h, h.length);
    }

    @Override protected float[] doRead(Tensor src) {
        float[] out = new float[src.numel()];
        if (out.length == 0) return out;
        CudaContext home = storage(src).context;
        if (src.dtype() == DType.F32) {
            home.download(storage(src), out, out.length);
            return out;
        }
        short[] h = new short[out.length];
        home.download(storage(src), h, h.length);
        for (int i = 0; i < h.length; i++) out[i] = DType.widen(h[i]);
        return out;
    }

    // ---- elementwise and reductions ----------------------------------------------------------

    @Override protected void doFill(Tensor x, float value) {
        if (x.numel() == 0) return;
        if (x.dtype() == DType.F32) ctx().memset(storage(x), Float.floatToRawIntBits(value), x.numel());
        else ctx().memset16(storage(x), DType.round(value), x.numel());
    }

    @Override protected void doCopy(Tensor src, Tensor dst) { doCopyRange(src, 0, dst, 0, src.numel()); }

    /** A device-to-device copy within a dtype; between dtypes the convert kernel (widening exact, narrowing to nearest even). */
    @Override protected void doCopyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        if (count == 0) return;
        DType from = src.dtype(), to = dst.dtype();
        if (from == to) {
            ctx().copy(storage(src), bytes(srcOffset, from), storage(dst), bytes(dstOffset, to), bytes(count, from));
            return;
        }
        K convert = to == DType.BF16 ? K.CONVERT_F32_BF16 : K.CONVERT_BF16_F32;
        elementwise(convert, DType.F32, count, addr(src) + bytes(srcOffset, from), addr(dst) + bytes(dstOffset, to), count);
    }

    @Override protected void doAxpy(float a, Tensor x, Tensor y) { elementwise(K.AXPY, x.dtype(), x.numel(), x.numel(), a, x, y); }

    @Override protected void doScale(Tensor x, float a) { elementwise(K.SCALE, x.dtype(), x.numel(), x.numel(), x, a); }

    @Override protected void doMultiply(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        elementwise(K.MULTIPLY, a.dtype(), a.numel(), a.numel(), a, b, out, accumulate);
    }

    @Override protected void doSum(Tensor x, Tensor out, boolean accumulate) { single(K.SUM, x.dtype(), x, x.numel(), out, accumulate); }

    @Override protected void doCountCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate) {
        single(K.COUNT_CORRECT, logits.dtype(), logits, labels, logits.dim(0), logits.dim(1), out, accumulate);
    }

    @Override protected void doLeakyReluForward(Tensor x, Tensor y, float slope) {
        elementwise(K.LEAKY_RELU_FORWARD, x.dtype(), x.numel(), x.numel(), x, y, slope);
    }

    @Override protected void doLeakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        elementwise(K.LEAKY_RELU_BACKWARD, y.dtype(), y.numel(), y.numel(), y, dy, dx, slope);
    }

    // ---- bias ---------------------------------------------------------------------------------

    @Override protected void doBiasAdd(Tensor y, Tensor bias) {
        int[] d = bciOf(y);
        elementwise(K.BIAS_ADD, y.dtype(), y.numel(), y, bias, d[0], d[1], d[2]);
    }

    @Override protected void doBiasBackward(Tensor dy, Tensor dbias, boolean accumulate) {
        int[] d = bciOf(dy);
        perRow(K.BIAS_BACKWARD, dy.dtype(), d[1], dy, dbias, d[0], d[1], d[2], accumulate);
    }

    // ---- GEMM ---------------------------------------------------------------------------------

    @Override protected void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                                    int batch, long strideA, long strideB, long strideC) {
        gemmAt(transA, transB, m, n, k, alpha, addr(a), addr(b), beta, addr(c), batch, strideA, strideB, strideC, a.dtype(), c.dtype(), tf32);
    }

    /** The arithmetic cuDNN runs a convolution of {@code t} tensors in: BF16, or this backend's FP32 or TF32. */
    private Precision convArithmetic(DType t) { return t == DType.BF16 ? Precision.BF16 : tf32 ? Precision.TF32 : Precision.FP32; }

    /**
     * The GEMM on raw device addresses (checked by the caller) with operands of dtype {@code ab}
     * and C of dtype {@code ct}: cuBLAS when loaded (sgemm, or GemmEx for bf16 operands), else our
     * kernel; TF32 inputs when {@code tf32}.
     */
    private void gemmAt(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, long b, float beta, long c,
                        int batch, long strideA, long strideB, long strideC, DType ab, DType ct, boolean tf32) {
        if (m == 0 || n == 0) return;
        Cublas cublas = cublas();
        if (cublas != null && ab == DType.BF16) {
            cublas.gemmBf16(transA, transB, m, n, k, alpha, a, b, beta, c, ct, batch, strideA, strideB, strideC);
            return;
        }
        if (cublas != null && ct == DType.F32) { // float32 operands; cuBLAS has no float32 x float32 -> bf16 product
            cublas.sgemm(transA, transB, m, n, k, alpha, a, b, beta, c, batch, strideA, strideB, strideC, tf32);
            return;
        }
        // gemm.cu: a 64 x 64 tile of C per 256-thread block, blockIdx.z = the product
        Kernel gemm = ab == ct ? kernel(K.GEMM, ab) : kernel(ab == DType.BF16 ? K.GEMM_BF16_F32 : K.GEMM_F32_BF16, DType.F32);
        for (int b0 = 0; b0 < batch; b0 += MAX_GRID_Z) {
            int nb = Math.min(MAX_GRID_Z, batch - b0);
            gemm.launch((n + 63) / 64, (m + 63) / 64, nb, 256, 1, 1, 0, transA, transB, m, n, k, alpha,
                    a + bytes(b0 * strideA, ab), b + bytes(b0 * strideB, ab), beta, c + bytes(b0 * strideC, ct), strideA, strideB, strideC, tf32);
        }
    }

    // ---- convolution --------------------------------------------------------------------------

    @Override protected void doConv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g) {
        long px = addr(x), pw = addr(w), py = addr(y);
        DType xt = x.dtype(), yt = y.dtype();
        Cudnn cudnn = xt == yt ? cudnn() : null; // cuDNN convolves tensors of one dtype
        if (cudnn != null) {
            cudnn.convForward(g, convArithmetic(xt), px, pw, py);
        } else {
            // y[b] (K, P) = w (K, CKK) col[b] (CKK, P), one strided-batched gemm per chunk of images
            int p = g.outH() * g.outW(), ckk = g.inC() * g.kh() * g.kw(), outs = g.outC() * p;
            int chunk = colChunk(g);
            // a bf16 y with a bias: the chunk's sums and bias in float scratch, then rounded once, as the CPU twin
            boolean roundOnce = yt == DType.BF16 && bias != null;
            CudaStorage col = scratch((long) chunk * ckk * p, xt), sums = roundOnce ? scratch((long) chunk * outs) : null;
            try {
                for (int b0 = 0; b0 < g.batch(); b0 += chunk) {
                    int nb = Math.min(chunk, g.batch() - b0);
                    long pyb = py + bytes((long) b0 * outs, yt), n = (long) nb * outs;
                    im2col(g, px + bytes((long) b0 * g.inC() * g.inH() * g.inW(), xt), col, nb, xt);
                    gemmAt(false, false, g.outC(), p, ckk, 1f, pw, col.address(), 0f, roundOnce ? sums.address() : pyb, nb, 0, (long) ckk * p, outs,
                            xt, roundOnce ? DType.F32 : yt, tf32);
                    if (!roundOnce) continue;
                    elementwise(K.BIAS_ADD, DType.F32, n, sums, bias, nb, g.outC(), p);
                    elementwise(K.CONVERT_F32_BF16, DType.F32, n, sums, pyb, (int) n);
                }
            } finally {
                allocator().release(col);
                if (roundOnce) allocator().release(sums);
            }
            if (roundOnce) return;
        }
        if (bias != null) elementwise(K.BIAS_ADD, yt, y.numel(), y, bias, g.batch(), g.outC(), g.outH() * g.outW());
    }

    @Override protected void doConv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g) {
        long pdy = addr(dy), pw = addr(w), pdx = addr(dx);
        DType dyt = dy.dtype(), dxt = dx.dtype();
        Cudnn cudnn = dyt == dxt ? cudnn() : null;
        if (cudnn != null) {
            cudnn.convBackwardData(g, convArithmetic(dyt), pdy, pw, pdx);
            return;
        }
        // dcol[b] (CKK, P) = w^T dy[b] in float, then col2im gathers it into dx (rounding a bf16 dx once)
        int p = g.outH() * g.outW(), ckk = g.inC() * g.kh() * g.kw(), image = g.inC() * g.inH() * g.inW();
        int chunk = colChunk(g);
        CudaStorage dcol = scratch((long) chunk * ckk * p);
        try {
            long pc = dcol.address();
            for (int b0 = 0; b0 < g.batch(); b0 += chunk) {
                int nb = Math.min(chunk, g.batch() - b0);
                gemmAt(true, false, ckk, p, g.outC(), 1f, pw, pdy + bytes((long) b0 * g.outC() * p, dyt), 0f, pc,
                        nb, 0, (long) g.outC() * p, (long) ckk * p, dyt, DType.F32, tf32);
                elementwise(K.COL2IM, dxt, (long) nb * image, dcol, pdx + bytes((long) b0 * image, dxt), nb, g.inC(), g.inH(), g.inW(),
                        g.kh(), g.kw(), g.stride(), g.pad(), g.outH(), g.outW());
            }
        } finally {
            allocator().release(dcol);
        }
    }

    @Override protected void doConv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate) {
        long px = addr(x), pdy = addr(dy), pdw = addr(dw);
        int p = g.outH() * g.outW();
        DType xt = x.dtype();
        // bf16 on cuDNN: its bf16 dw, widened by cuBLAS into the float dw (bf16FilterGradient)
        Cudnn cudnn = xt == DType.F32 || cublas() != null ? cudnn() : null;
        if (cudnn != null && xt == DType.BF16) {
            bf16FilterGradient(cudnn, g, px, pdy, pdw, dw.numel(), accumulate);
        } else if (cudnn != null) {
            cudnn.convBackwardFilter(g, convArithmetic(xt), px, pdy, pdw, accumulate);
        } else {
            // dw (K, CKK) (+)= sum over b of dy[b] (K, P) col[b]^T (P, CKK): one gemm per image, beta = 1 after the first
            int ckk = g.inC() * g.kh() * g.kw();
            int chunk = colChunk(g);
            CudaStorage col = scratch((long) chunk * ckk * p, xt);
            try {
                long pc = col.address();
                for (int b0 = 0; b0 < g.batch(); b0 += chunk) {
                    int nb = Math.min(chunk, g.batch() - b0);
                    im2col(g, px + bytes((long) b0 * g.inC() * g.inH() * g.inW(), xt), col, nb, xt);
                    for (int i = 0; i < nb; i++) {
                        float beta = b0 + i == 0 && !accumulate ? 0f : 1f;
                        gemmAt(false, true, g.outC(), ckk, p, 1f, pdy + bytes((long) (b0 + i) * g.outC() * p, xt),
                                pc + bytes((long) i * ckk * p, xt), beta, pdw, 1, 0, 0, 0, xt, DType.F32, tf32);
                    }
                }
            } finally {
                allocator().release(col);
            }
        }
        if (dbias != null) perRow(K.BIAS_BACKWARD, dy.dtype(), g.outC(), dy, dbias, g.batch(), g.outC(), p, accumulate);
    }

    /** bf16FilterGradient's scratch: two bf16 ones at its start, the bf16 dw from here, aligned as cuDNN's vector loads like. */
    private static final long BF16_DW_OFFSET = 256;

    /**
     * The float32 filter gradient from bf16 x and dy. cuDNN's bf16 backward-filter writes a bf16
     * dw (x, dy and dw of one type), so it goes to scratch and cuBLAS widens it into the float32
     * gradient as the product dw (1, n) = 1 (1, 1) dwBf16 (1, n) + beta dw (bf16 inputs, float32
     * C and compute: exact widening, one float32 add when accumulating). The cost is one rounding
     * of each call's gradient to bf16 (relative 2^-8 at most), the rounding PyTorch autocast's bf16
     * convolution gives its weight gradient before autograd widens it into the float32 .grad;
     * sums over calls (accumulate) stay float32.
     */
    private void bf16FilterGradient(Cudnn cudnn, ConvGeom g, long px, long pdy, long pdw, long dwElements, boolean accumulate) {
        Cublas cublas = cublas();
        CudaStorage s = allocator().acquire(BF16_DW_OFFSET + dwElements * DType.BF16.bytes);
        try {
            long ones = s.address(), dwBf16 = ones + BF16_DW_OFFSET;
            ctx().memset(s, 0x3f803f80, 1); // one 32-bit word: two bf16 1.0s
            cudnn.convBackwardFilter(g, Precision.BF16, px, pdy, dwBf16, false);
            cublas.gemmBf16(false, false, 1, Math.toIntExact(dwElements), 1, 1f, ones, dwBf16, accumulate ? 1f : 0f, pdw, DType.F32, 1, 0, 0, 0);
        } finally {
            allocator().release(s);
        }
    }

    /** Images per im2col chunk, so the column buffer stays within COL_BUDGET_BYTES (at least one image). */
    private static int colChunk(ConvGeom g) {
        long perImage = bytes((long) g.inC() * g.kh() * g.kw() * g.outH() * g.outW());
        return (int) Math.max(1, Math.min(g.batch(), COL_BUDGET_BYTES / perImage));
    }

    private void im2col(ConvGeom g, long x, CudaStorage col, int nb, DType t) {
        long n = (long) nb * g.inC() * g.kh() * g.kw() * g.outH() * g.outW();
        elementwise(K.IM2COL, t, n, x, col, nb, g.inC(), g.inH(), g.inW(), g.kh(), g.kw(), g.stride(), g.pad(), g.outH(), g.outW());
    }

    /**
     * Scratch memory for one op, from the pool but outside any scope: the op releases it before it
     * returns. That is safe without waiting, because the block's next user is queued after this
     * op's kernels on the same stream, or, on another lane's stream, after the allocator's event.
     */
    private CudaStorage scratch(long elements) { return scratch(elements, DType.F32); }

    private CudaStorage scratch(long elements, DType t) { return allocator().acquire(bytes(elements, t)); }

    // ---- batch norm ---------------------------------------------------------------------------

    @Override protected void doBatchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                     float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        int[] d = bciOf(x);
        perChannel(K.BATCH_NORM_FORWARD_TRAIN, x.dtype(), d[1], x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd,
                d[0], d[1], d[2]);
    }

    @Override protected void doBatchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        int[] d = bciOf(x);
        elementwise(K.BATCH_NORM_FORWARD_EVAL, x.dtype(), x.numel(), x, gamma, beta, runningMean, runningVar, eps, y, d[0], d[1], d[2]);
    }

    @Override protected void doBatchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                                 Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate) {
        int[] d = bciOf(x);
        perChannel(K.BATCH_NORM_BACKWARD, x.dtype(), d[1], x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, d[0], d[1], d[2], accumulate);
    }

    @Override protected void doChannelSum(Tensor x, Tensor weight, Tensor out, boolean accumulate) {
        int[] d = bciOf(x);
        Object w = weight == null ? (Object) 0L : weight; // a null device pointer: no weight
        perChannel(K.CHANNEL_SUM, x.dtype(), d[1], x, w, out, d[0], d[1], d[2], accumulate);
    }

    // ---- dropout ------------------------------------------------------------------------------

    /** 1 / (1 - p) rounded once in float, as the CPU twin, so kept values agree bit for bit. */
    private static float keepScale(float p) { return p < 1 ? 1f / (1f - p) : 0f; }

    @Override protected void doDropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner) {
        elementwise(K.DROPOUT_FORWARD, x.dtype(), x.numel(), x, y, x.numel(), p, keepScale(p), seed, stream, inner);
    }

    @Override protected void doDropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner) {
        elementwise(K.DROPOUT_BACKWARD, dy.dtype(), dy.numel(), dy, dx, dy.numel(), p, keepScale(p), seed, stream, inner);
    }

    // ---- pooling ------------------------------------------------------------------------------

    private static Object[] poolArgs(Tensor a, Tensor b, PoolGeom g) {
        return new Object[] {a, b, g.batch(), g.channels(), g.inH(), g.inW(), g.kh(), g.kw(), g.sh(), g.sw(), g.ph(), g.pw(), g.outH(), g.outW()};
    }

    @Override protected void doMaxPoolForward(Tensor x, Tensor y, PoolGeom g) {
        elementwise(K.MAX_POOL_FORWARD, x.dtype(), y.numel(), poolArgs(x, y, g));
    }

    @Override protected void doMaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g) {
        Object[] args = poolArgs(dy, dx, g);
        Object[] withX = new Object[args.length + 1];
        withX[0] = x;
        System.arraycopy(args, 0, withX, 1, args.length);
        elementwise(K.MAX_POOL_BACKWARD, x.dtype(), dx.numel(), withX);
    }

    @Override protected void doAvgPoolForward(Tensor x, Tensor y, PoolGeom g) {
        elementwise(K.AVG_POOL_FORWARD, x.dtype(), y.numel(), poolArgs(x, y, g));
    }

    @Override protected void doAvgPoolBackward(Tensor dy, Tensor dx, PoolGeom g) {
        elementwise(K.AVG_POOL_BACKWARD, dy.dtype(), dx.numel(), poolArgs(dy, dx, g));
    }

    // ---- losses -------------------------------------------------------------------------------

    @Override protected void doCrossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs) {
        single(K.CROSS_ENTROPY_FORWARD, logits.dtype(), logits, labels, loss, probs, logits.dim(0), logits.dim(1));
    }

    @Override protected void doCrossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits) {
        elementwise(K.CROSS_ENTROPY_BACKWARD, dlogits.dtype(), probs.numel(), probs, labels, dloss, dlogits, probs.dim(0), probs.dim(1));
    }

    @Override protected void doBceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss) {
        single(K.BCE_WITH_LOGITS_FORWARD, logits.dtype(), logits, targets, loss, logits.numel());
    }

    @Override protected void doBceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits) {
        elementwise(K.BCE_WITH_LOGITS_BACKWARD, logits.dtype(), logits.numel(), logits, targets, dloss, dlogits, logits.numel());
    }

    @Override protected void doMseForward(Tensor a, Tensor b, Tensor loss) { single(K.MSE_FORWARD, a.dtype(), a, b, loss, a.numel()); }

    @Override protected void doMseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da) {
        elementwise(K.MSE_BACKWARD, a.dtype(), a.numel(), a, b, dloss, da, a.numel());
    }

    // ---- feedback alignment -------------------------------------------------------------------

    /**
     * The most B K D (batch, projection, D) for which the feedback-alignment backward takes the
     * fused kernel when cuBLAS is loaded; above it, the GEMM path. Reasoned, not yet measured (no
     * GPU so far; TrainStepBench's predsim-bpf case on an H200 should set it). The work is 4 B K D
     * flops in two products and 8 (B + K) D bytes of x, fb, dx and dw. The GEMM path costs three
     * launches more (bce_with_logits_backward, the second GEMM, bias_backward: about 2 us each
     * back to back on one stream) and writes and twice reads the (B, K) gradient; the fused kernel
     * runs gemm.cu's 64 x 64 tiles at maybe half of cuBLAS's FP32 rate. At 2^26 (128 x 128 x
     * 4096, 268 Mflop, a grid of 256 blocks: two waves on an H200's 132 SMs) that half rate costs
     * about 5 us more than cuBLAS (some 25 against 50 of the 67 TFLOP/s peak), what the launches
     * cost: break-even. Past it cuBLAS gains with the work while the launches cost the same; with
     * TF32 or bf16 tensor-core GEMMs the limit moves down. So every default bio head at batch 128
     * is fused: K = --target-proj-size 128 and D at most --dim-in-decoder (2048 default, 4096 in
     * the paper's CIFAR runs) for conv blocks, num-hidden (1024) for fc ones; batch 256 with
     * D = 4096 takes the GEMM path. Our own GEMM kernel has the fused kernel's tiles, so without
     * cuBLAS the fused kernel is always the faster.
     */
    static final long FUSED_FA_MAX_WORK = 1L << 26;

    /** Whether the feedback-alignment backward of B x K logits and D inputs takes the fused kernel (see FUSED_FA_MAX_WORK). */
    static boolean fusedFaBackward(int nb, int k, int d, boolean cublas) {
        return !cublas || (long) nb * k * d <= FUSED_FA_MAX_WORK;
    }

    @Override protected void doFaBceBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor x, Tensor fb, Tensor dx, Tensor dw, Tensor db,
                                             boolean accumulate) {
        int nb = logits.dim(0), k = logits.dim(1), d = x.shape().sizeFrom(1);
        // bf16 always fuses: the GEMM path is cuBLAS's float32 one
        if (x.dtype() == DType.BF16 || fusedFaBackward(nb, k, d, cublas() != null)) {
            // fa.cu: blockIdx.z 0 tiles dx, 1 tiles dw (and db); a null device pointer skips an output
            kernel(K.FA_BCE_BACKWARD, x.dtype()).launch((d + 63) / 64, (Math.max(nb, k) + 63) / 64, 2, 256, 1, 1, 0, logits, targets, dloss, x, fb,
                    orNull(dx), orNull(dw), orNull(db), accumulate, nb, k, d);
            return;
        }
        // the composition the kernel replaces: the logits' gradient e (B, K) as scratch, then cuBLAS
        CudaStorage e = scratch((long) nb * k);
        try {
            elementwise(K.BCE_WITH_LOGITS_BACKWARD, DType.F32, (long) nb * k, logits, targets, dloss, e, nb * k);
            if (dw != null) gemmAt(true, false, k, d, nb, 1f, e.address(), addr(x), accumulate ? 1f : 0f, addr(dw), 1, 0, 0, 0, DType.F32, DType.F32, false);
            if (db != null) perRow(K.BIAS_BACKWARD, DType.F32, k, e, db, nb, k, 1, accumulate);
            if (dx != null) gemmAt(false, false, nb, d, k, 1f, e.address(), addr(fb), 0f, addr(dx), 1, 0, 0, 0, DType.F32, DType.F32, false);
        } finally {
            allocator().release(e);
        }
    }

    /** An optional tensor as a kernel argument: null is the null device pointer. */
    private static Object orNull(Tensor t) { return t == null ? (Object) 0L : t; }

    // ---- similarity matrix --------------------------------------------------------------------

    @Override protected void doSimilarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm) {
        long ps = addr(s);
        int nb = x.dim(0), d = x.shape().sizeFrom(1);
        // xn (B, D), the normalised rows, lives only for the Gram product
        CudaStorage xn = scratch((long) nb * d);
        try {
            perRow(K.SIMILARITY_NORMALIZE, x.dtype(), nb, x, xc, norm, xn, nb, d);
            gemmAt(false, true, nb, nb, d, 1f, xn.address(), xn.address(), 0f, ps, 1, 0, 0, 0, DType.F32, DType.F32, false);
        } finally {
            allocator().release(xn);
        }
        elementwise(K.SIMILARITY_CLAMP, DType.F32, (long) nb * nb, s, nb * nb);
    }

    @Override protected void doSimilarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx) {
        int nb = xc.dim(0), d = xc.shape().sizeFrom(1);
        boolean bf16 = xc.dtype() == DType.BF16;
        // dxn = g xc with g = (dG + dG^T) / (eps + norm_j), then back through the rows into dx. In float32
        // dxn is dx itself; with bf16 it is float scratch (dx is rounded once) and the gemm's xc a float copy
        CudaStorage g = scratch((long) nb * nb), xcf = bf16 ? scratch((long) nb * d) : null, dxn = bf16 ? scratch((long) nb * d) : null;
        try {
            long pxc = bf16 ? xcf.address() : addr(xc), pdxn = bf16 ? dxn.address() : addr(dx);
            if (bf16) elementwise(K.CONVERT_BF16_F32, DType.F32, (long) nb * d, xc, pxc, nb * d);
            elementwise(K.SIMILARITY_BACKWARD_GRAM, DType.F32, (long) nb * nb, s, ds, norm, g, nb);
            gemmAt(false, false, nb, d, nb, 1f, g.address(), pxc, 0f, pdxn, 1, 0, 0, 0, DType.F32, DType.F32, false);
            perRow(K.SIMILARITY_BACKWARD_ROWS, xc.dtype(), nb, xc, norm, pdxn, dx, nb, d);
        } finally {
            allocator().release(g);
            if (bf16) {
                allocator().release(xcf);
                allocator().release(dxn);
            }
        }
    }

    // ---- feature-map standard deviation -------------------------------------------------------

    /** featstd.cu: a warp per map, 8 maps per 256-thread block. */
    private void perMap(K k, DType t, int maps, Object... args) {
        if (maps == 0) return;
        kernel(k, t).launch((maps + 7) / 8, 1, 1, 256, 1, 1, 0, args);
    }

    @Override protected void doFeatureMapStdForward(Tensor x, Tensor y) {
        int[] d = bciOf(x);
        perMap(K.FEATURE_MAP_STD_FORWARD, x.dtype(), d[0] * d[1], x, y, d[0] * d[1], d[2]);
    }

    @Override protected void doFeatureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        int[] d = bciOf(x);
        perMap(K.FEATURE_MAP_STD_BACKWARD, x.dtype(), d[0] * d[1], x, y, dy, dx, d[0] * d[1], d[2]);
    }

    // ---- optimizers ---------------------------------------------------------------------------

    @Override protected void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                        float eps, float weightDecay, int step) {
        Object vm = vmax == null ? (Object) 0L : vmax; // a null device pointer: plain Adam
        // the bias corrections as torch and the CPU twin compute them: in double, then rounded once
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float stepSize = (float) (lr / bc1), bc2Sqrt = (float) Math.sqrt(bc2);
        elementwise(K.ADAM_STEP, DType.F32, param.numel(), param, grad, m, v, vm, param.numel(), stepSize, beta1, beta2, eps, weightDecay, bc2Sqrt);
    }

    @Override protected void doSgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep) {
        Object buf = momentum != 0 ? momentumBuf : (Object) 0L; // no momentum: the kernel skips the buffer
        elementwise(K.SGD_STEP, DType.F32, param.numel(), param, grad, buf, param.numel(), lr, momentum, weightDecay, firstStep);
    }

    // ---- augmentation -------------------------------------------------------------------------

    @Override protected void doChannelAffine(Tensor x, Tensor scale, Tensor shift) {
        int[] d = bciOf(x);
        Object sh = shift == null ? (Object) 0L : shift; // a null device pointer: no shift
        elementwise(K.CHANNEL_AFFINE, x.dtype(), x.numel(), x, scale, sh, d[0], d[1], d[2]);
    }

    @Override protected void doRandomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream) {
        elementwise(K.RANDOM_CROP_FLIP, x.dtype(), x.numel(), x, y, x.dim(0), x.dim(1), x.dim(2), x.dim(3), pad, flip, seed, stream);
    }

    @Override protected void doCutout(Tensor x, int length, int holes, long seed, long stream) {
        elementwise(K.CUTOUT, x.dtype(), x.numel(), x, x.dim(0), x.dim(1), x.dim(2), x.dim(3), length, holes, seed, stream);
    }
}
