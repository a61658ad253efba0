package locallearn.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import locallearn.backend.ConvGeom;
import locallearn.config.Precision;

/**
 * cuDNN's legacy convolution API through java.lang.foreign; NCHW, cross-correlation (as
 * PyTorch's Conv2d), in one of three arithmetics ({@link Precision}). FP32: float32 tensors,
 * CUDNN_FMA_MATH on the descriptor (no TF32). TF32: float32 tensors, CUDNN_DEFAULT_MATH, which
 * permits TF32 tensor cores on compute capability 8.0 and newer (as PyTorch does for
 * torch.backends.cudnn.allow_tf32; CUDNN_TENSOR_OP_MATH does not down-convert float32 inputs).
 * BF16: CUDNN_DATA_BFLOAT16 tensor and filter descriptors, float compute type in the convolution
 * descriptor and CUDNN_TENSOR_OP_MATH (cuDNN's PSEUDO_BFLOAT16_CONFIG, what PyTorch sets for
 * bf16 convolutions): x, w and y are all bf16, products are summed in float32 and the result is
 * rounded to bf16 once on store. The legacy API has the same C signatures in cuDNN 8 and 9.
 *
 * <p>Each geometry gets its descriptors once, and each direction (forward, backward-data,
 * backward-filter) its algorithm from cudnnFind* the first time it runs: the fastest algorithm
 * measured on this device in the call's math (FMA only for FP32), as
 * torch.backends.cudnn.benchmark picks; a geometry has one plan per arithmetic. The workspace
 * comes from the context's allocator, so it shows in the memory figures; it is kept and grown.
 * The context's handle works on the legacy default stream, like its kernels off a lane; each
 * pipeline lane gets a handle of its own, with its own plans and workspace, set to its stream
 * ({@link #onStream}).
 */
@SuppressWarnings("restricted") // native access is this class's job
public final class Cudnn implements AutoCloseable {
    static final List<Integer> MAJORS = List.of(9, 8);
    /** cuDNN 9 opens these by name from its own folder; loaded first by path so the loader has them. */
    private static final List<String> SIBLINGS_9 = List.of("libcudnn_graph", "libcudnn_engines_runtime_compiled",
            "libcudnn_engines_precompiled", "libcudnn_heuristic", "libcudnn_ops", "libcudnn_cnn", "libcudnn_adv");
    private static final List<String> SIBLINGS_8 = List.of("libcudnn_ops_infer", "libcudnn_ops_train",
            "libcudnn_cnn_infer", "libcudnn_cnn_train", "libcudnn_adv_infer", "libcudnn_adv_train");
    /** cudnnTensorFormat_t, cudnnDataType_t, cudnnConvolutionMode_t, cudnnMathType_t, cudnnStatus_t values. */
    private static final int NCHW = 0, FLOAT = 0, BFLOAT16 = 9, CROSS_CORRELATION = 1, DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, FMA_MATH = 3,
            STATUS_SUCCESS = 0;
    /** cudnnConvolution*AlgoPerf_t: algo int @0, status int @4, time float @8, memory size_t @16,
        determinism int @24, mathType int @28, reserved int[3] @32; 48 bytes with its 8-byte alignment. */
    public static final int PERF_BYTES = 48, PERF_ALGO = 0, PERF_STATUS = 4, PERF_TIME = 8, PERF_MEMORY = 16, PERF_MATH = 28;
    private static final int MAX_ALGOS = 16;

    private final Arena arena = Arena.ofShared();
    private final NativeLibs.Found lib;
    private final SymbolLookup lookup;
    private final CudaAllocator allocator;
    private final String version;
    private final MemorySegment handle;
    private final MemorySegment scalars, beta1; // alpha, beta as float host pointers; beta1 points at beta
    private final MethodHandle destroy, errorString, destroyTensor, destroyFilter, destroyConv,
            createTensor, setTensor, createFilter, setFilter, createConv, setConv, setMath,
            findFwd, findBwdData, findBwdFilter, wsFwd, wsBwdData, wsBwdFilter, fwd, bwdData, bwdFilter;
    private final Map<PlanKey, Plan> plans = new HashMap<>();
    private CudaStorage workspace;
    private boolean closed;

    /** A geometry in one arithmetic. */
    private record PlanKey(ConvGeom g, Precision precision) {}

    /** The descriptors of one geometry and arithmetic and the algorithm chosen for each direction (-1: not yet). */
    private static final class Plan {
        Precision precision;
        MemorySegment x, w, y, conv;
        int fwdAlgo = -1, bwdDataAlgo = -1, bwdFilterAlgo = -1;
        long fwdWs, bwdDataWs, bwdFilterWs;
    }

    private Cudnn(NativeLibs.Found lib, SymbolLookup l, CudaAllocator allocator, long stream) {
        this.lib = lib;
        this.lookup = l;
        this.allocator = allocator;
        Linker k = Linker.nativeLinker();
        FunctionDescriptor h1 = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        MethodHandle create = Cublas.handle(k, l, "cudnnCreate", h1);
        MethodHandle getVersion = Cublas.handle(k, l, "cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        destroy = Cublas.handle(k, l, "cudnnDestroy", h1);
        errorString = Cublas.handle(k, l, "cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        createTensor = Cublas.handle(k, l, "cudnnCreateTensorDescriptor", h1);
        destroyTensor = Cublas.handle(k, l, "cudnnDestroyTensorDescriptor", h1);
        createFilter = Cublas.handle(k, l, "cudnnCreateFilterDescriptor", h1);
        destroyFilter = Cublas.handle(k, l, "cudnnDestroyFilterDescriptor", h1);
        createConv = Cublas.handle(k, l, "cudnnCreateConvolutionDescriptor", h1);
        destroyConv = Cublas.handle(k, l, "cudnnDestroyConvolutionDescriptor", h1);
        // (desc, format, dataType, n, c, h, w)
        setTensor = Cublas.handle(k, l, "cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        // (desc, dataType, format, k, c, h, w)
        setFilter = Cublas.handle(k, l, "cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        // (desc, padH, padW, strideH, strideW, dilationH, dilationW, mode, computeType)
        setConv = Cublas.handle(k, l, "cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setMath = Cublas.handle(k, l, "cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        // (handle, 4 descriptors, requested, *returned, *perf): descriptors in each call's own order
        FunctionDescriptor find = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        findFwd = Cublas.handle(k, l, "cudnnFindConvolutionForwardAlgorithm", find);
        findBwdData = Cublas.handle(k, l, "cudnnFindConvolutionBackwardDataAlgorithm", find);
        findBwdFilter = Cublas.handle(k, l, "cudnnFindConvolutionBackwardFilterAlgorithm", find);
        // (handle, 4 descriptors, algo, *size)
        FunctionDescriptor ws = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        wsFwd = Cublas.handle(k, l, "cudnnGetConvolutionForwardWorkspaceSize", ws);
        wsBwdData = Cublas.handle(k, l, "cudnnGetConvolutionBackwardDataWorkspaceSize", ws);
        wsBwdFilter = Cublas.handle(k, l, "cudnnGetConvolutionBackwardFilterWorkspaceSize", ws);
        // (handle, *alpha, desc1, p1, desc2, p2, convDesc, algo, workspace, wsBytes, *beta, descOut, pOut); device
        // pointers go as JAVA_LONG, which the x86-64 and AArch64 C ABIs pass exactly like a pointer
        FunctionDescriptor run = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS,
                JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG);
        fwd = Cublas.handle(k, l, "cudnnConvolutionForward", run);
        bwdData = Cublas.handle(k, l, "cudnnConvolutionBackwardData", run);
        bwdFilter = Cublas.handle(k, l, "cudnnConvolutionBackwardFilter", run);

        scalars = arena.allocate(JAVA_FLOAT, 2);
        beta1 = scalars.asSlice(Float.BYTES);
        MemorySegment box = arena.allocate(ADDRESS);
        check(Cublas.invoke(create, box), "cudnnCreate");
        handle = box.get(ADDRESS, 0);
        version = versionString(invokeLong(getVersion));
        if (stream != 0) {
            MethodHandle setStream = Cublas.handle(k, l, "cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
            check(Cublas.invoke(setStream, handle, stream), "cudnnSetStream");
        }
    }

    /**
     * Finds cuDNN in {@code dirs} (highest major first), loads it with its sub-libraries and creates
     * a handle on the current context; workspaces come from {@code allocator}. IllegalStateException
     * says what failed.
     */
    public static Cudnn load(List<Path> dirs, CudaAllocator allocator) {
        NativeLibs.Search s = NativeLibs.find("libcudnn", MAJORS, dirs);
        if (s.found() == null) throw new IllegalStateException(s.missing());
        List<String> siblings = s.found().major() >= 9 ? SIBLINGS_9 : SIBLINGS_8;
        return new Cudnn(s.found(), NativeLibs.load(s.found(), siblings), allocator, 0);
    }

    /** A handle of its own (its own plans and workspace), on the current context, whose work goes to {@code stream} (a CUstream). */
    public Cudnn onStream(long stream) { return new Cudnn(lib, lookup, allocator, stream); }

    /** cudnnGetVersion: cuDNN 9 codes major*10000 + minor*100 + patch (91000 = 9.10.0), cuDNN 8 major*1000 + minor*100 + patch. */
    public static String versionString(long v) {
        if (v >= 90000) return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
        return (v / 1000) + "." + (v / 100 % 10) + "." + (v % 100);
    }

    public String version() { return version; }

    public String describe() { return "cuDNN " + version + " (" + lib.path().getFileName() + " at " + lib.path().getParent() + ")"; }

    // ---- the three convolutions ------------------------------------------------------------------

    /**
     * y (B, K, oH, oW) = conv(x (B, C, H, W), w (K, C, kh, kw)); addresses on the device, all
     * three bf16 in {@link Precision#BF16}, else float32.
     */
    public synchronized void convForward(ConvGeom g, Precision precision, long x, long w, long y) {
        Plan p = plan(g, precision);
        if (p.fwdAlgo < 0) {
            p.fwdAlgo = choose(p, findFwd, "cudnnFindConvolutionForwardAlgorithm", g, p.x, p.w, p.conv, p.y);
            p.fwdWs = workspaceSize(wsFwd, "cudnnGetConvolutionForwardWorkspaceSize", g, p.x, p.w, p.conv, p.y, p.fwdAlgo);
        }
        long ws = workspace(p.fwdWs);
        run(fwd, "cudnnConvolutionForward", g, p.fwdAlgo, 0f, p.x, x, p.w, w, p.conv, ws, p.fwdWs, p.y, y);
    }

    /** dx (B, C, H, W) = conv2d's gradient with respect to its input, from dy (B, K, oH, oW) and w (K, C, kh, kw). */
    public synchronized void convBackwardData(ConvGeom g, Precision precision, long dy, long w, long dx) {
        Plan p = plan(g, precision);
        if (p.bwdDataAlgo < 0) {
            p.bwdDataAlgo = choose(p, findBwdData, "cudnnFindConvolutionBackwardDataAlgorithm", g, p.w, p.y, p.conv, p.x);
            p.bwdDataWs = workspaceSize(wsBwdData, "cudnnGetConvolutionBackwardDataWorkspaceSize", g, p.w, p.y, p.conv, p.x, p.bwdDataAlgo);
        }
        long ws = workspace(p.bwdDataWs);
        run(bwdData, "cudnnConvolutionBackwardData", g, p.bwdDataAlgo, 0f, p.w, w, p.y, dy, p.conv, ws, p.bwdDataWs, p.x, dx);
    }

    /**
     * dw (K, C, kh, kw) (+)= conv2d's gradient with respect to its weight, from x and dy; accumulate
     * adds (beta 1). In {@link Precision#BF16} dw is bf16 too, as cuDNN has it (no float32 dw from
     * bf16 x and dy): the caller widens it into a float32 gradient.
     */
    public synchronized void convBackwardFilter(ConvGeom g, Precision precision, long x, long dy, long dw, boolean accumulate) {
        Plan p = plan(g, precision);
        if (p.bwdFilterAlgo < 0) {
            p.bwdFilterAlgo = choose(p, findBwdFilter, "cudnnFindConvolutionBackwardFilterAlgorithm", g, p.x, p.y, p.conv, p.w);
            p.bwdFilterWs = workspaceSize(wsBwdFilter, "cudnnGetConvolutionBackwardFilterWorkspaceSize", g, p.x, p.y, p.conv, p.w,
                    p.bwdFilterAlgo);
        }
        long ws = workspace(p.bwdFilterWs);
        run(bwdFilter, "cudnnConvolutionBackwardFilter", g, p.bwdFilterAlgo, accumulate ? 1f : 0f, p.x, x, p.y, dy, p.conv, ws,
                p.bwdFilterWs, p.w, dw);
    }

    private void run(MethodHandle h, String call, ConvGeom g, int algo, float beta, MemorySegment d1, long p1, MemorySegment d2,
                     long p2, MemorySegment conv, long ws, long wsBytes, MemorySegment dOut, long pOut) {
        if (closed) throw new IllegalStateException("cudnn: used after close");
        scalars.setAtIndex(JAVA_FLOAT, 0, 1f);
        scalars.setAtIndex(JAVA_FLOAT, 1, beta);
        int r;
        try {
            r = (int) h.invokeExact(handle, scalars, d1, p1, d2, p2, conv, algo, ws, wsBytes, beta1, dOut, pOut);
        } catch (Throwable t) {
            throw Cublas.rethrow(t);
        }
        check(r, call + " algo " + algo + " " + g);
    }

    // ---- descriptors, algorithms, workspace --------------------------------------------------------

    private Plan plan(ConvGeom g, Precision precision) {
        PlanKey key = new PlanKey(g, precision);
        Plan p = plans.get(key);
        if (p != null) return p;
        p = new Plan();
        p.precision = precision;
        int type = precision == Precision.BF16 ? BFLOAT16 : FLOAT;
        p.x = descriptor(createTensor, "cudnnCreateTensorDescriptor");
        check(Cublas.invoke(setTensor, p.x, NCHW, type, g.batch(), g.inC(), g.inH(), g.inW()), "cudnnSetTensor4dDescriptor x " + g);
        p.y = descriptor(createTensor, "cudnnCreateTensorDescriptor");
        check(Cublas.invoke(setTensor, p.y, NCHW, type, g.batch(), g.outC(), g.outH(), g.outW()), "cudnnSetTensor4dDescriptor y " + g);
        p.w = descriptor(createFilter, "cudnnCreateFilterDescriptor");
        check(Cublas.invoke(setFilter, p.w, type, NCHW, g.outC(), g.inC(), g.kh(), g.kw()), "cudnnSetFilter4dDescriptor " + g);
        p.conv = descriptor(createConv, "cudnnCreateConvolutionDescriptor");
        // the compute type is float in every arithmetic: bf16 products are summed in float32
        check(Cublas.invoke(setConv, p.conv, g.pad(), g.pad(), g.stride(), g.stride(), 1, 1, CROSS_CORRELATION, FLOAT),
                "cudnnSetConvolution2dDescriptor " + g);
        int math = switch (precision) {
            case FP32 -> FMA_MATH;
            case TF32 -> DEFAULT_MATH;
            case BF16 -> TENSOR_OP_MATH;
        };
        check(Cublas.invoke(setMath, p.conv, math), "cudnnSetConvolutionMathType(" + math + ") " + precision.flag());
        plans.put(key, p);
        return p;
    }

    /**
     * Null when this cuDNN takes bfloat16 tensors, else why not: the status with which it refuses a
     * CUDNN_DATA_BFLOAT16 descriptor (a cuDNN older than bfloat16 support knows no data type 9).
     * Asked once, when a backend opens for --precision bf16, so that refusal is one line then, not
     * a failed convolution in the middle of a step.
     */
    public synchronized String bf16Missing() {
        MemorySegment d = descriptor(createTensor, "cudnnCreateTensorDescriptor");
        try {
            int status = Cublas.invoke(setTensor, d, NCHW, BFLOAT16, 1, 1, 1, 1);
            return status == STATUS_SUCCESS ? null
                    : describe() + " refuses bfloat16 tensors (cudnnSetTensor4dDescriptor with CUDNN_DATA_BFLOAT16: " + statusName(status) + ")";
        } finally {
            Cublas.invoke(destroyTensor, d);
        }
    }

    private MemorySegment descriptor(MethodHandle create, String call) {
        MemorySegment box = arena.allocate(ADDRESS);
        check(Cublas.invoke(create, box), call);
        return box.get(ADDRESS, 0);
    }

    /** Runs cudnnFind* (it times every algorithm on this device) and takes the fastest one of the plan's math that succeeded. */
    private int choose(Plan p, MethodHandle find, String call, ConvGeom g, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment d) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment count = local.allocate(JAVA_INT);
            MemorySegment perf = local.allocate((long) PERF_BYTES * MAX_ALGOS, 8);
            int r = Cublas.invoke(find, handle, a, b, c, d, MAX_ALGOS, count, perf);
            if (r != STATUS_SUCCESS && allocator != null) {
                // cudnnFind* allocates its trial workspaces itself, beside our pool: give the pool back and retry once
                allocator.trim();
                r = Cublas.invoke(find, handle, a, b, c, d, MAX_ALGOS, count, perf);
            }
            check(r, call + " " + g);
            int chosen = chooseFromPerf(perf, count.get(JAVA_INT, 0), p.precision);
            if (chosen < 0)
                throw new IllegalStateException(call + " " + g + ": no algorithm succeeded" + (p.precision == Precision.FP32 ? " with FMA math" : ""));
            return chosen;
        }
    }

    /**
     * The algorithm of the first result (results come fastest first) that succeeded: in FMA math
     * for FP32, where DEFAULT math counts too where cuDNN reports it (pre-Ampere, where it
     * means FMA); in any math for TF32 and BF16. -1 if none.
     */
    public static int chooseFromPerf(MemorySegment perf, int n, Precision precision) {
        boolean anyMath = precision != Precision.FP32;
        for (int i = 0; i < n; i++) {
            long o = (long) i * PERF_BYTES;
            int status = perf.get(JAVA_INT, o + PERF_STATUS), math = perf.get(JAVA_INT, o + PERF_MATH);
            if (status == STATUS_SUCCESS && (anyMath || math == FMA_MATH || math == DEFAULT_MATH)) return perf.get(JAVA_INT, o + PERF_ALGO);
        }
        return -1;
    }

    private long workspaceSize(MethodHandle h, String call, ConvGeom g, MemorySegment a, MemorySegment b, MemorySegment c,
                               MemorySegment d, int algo) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment size = local.allocate(JAVA_LONG);
            check(Cublas.invoke(h, handle, a, b, c, d, algo, size), call + " algo " + algo + " " + g);
            return size.get(JAVA_LONG, 0);
        }
    }

    /** A device workspace of at least {@code bytes}, kept between calls and grown when too small; 0 when none is needed. */
    private long workspace(long bytes) {
        if (bytes == 0) return 0;
        if (workspace == null || workspace.bytes < bytes) {
            if (workspace != null) allocator.release(workspace);
            workspace = allocator.acquire(bytes);
        }
        return workspace.address();
    }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Plan p : plans.values()) {
            Cublas.invoke(destroyTensor, p.x);
            Cublas.invoke(destroyTensor, p.y);
            Cublas.invoke(destroyFilter, p.w);
            Cublas.invoke(destroyConv, p.conv);
        }
        plans.clear();
        if (workspace != null) allocator.release(workspace);
        int r = Cublas.invoke(destroy, handle);
        arena.close();
        if (r != STATUS_SUCCESS) throw new IllegalStateException("cudnnDestroy: status " + r);
    }

    private void check(int status, String what) {
        if (status != STATUS_SUCCESS) throw new IllegalStateException(what + ": " + statusName(status));
    }

    private String statusName(int status) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeExact(status);
            return s.reinterpret(256).getString(0) + " (" + status + ")";
        } catch (Throwable t) {
            return "cudnnStatus " + status;
        }
    }

    private static long invokeLong(MethodHandle h) {
        try {
            return (long) h.invokeExact();
        } catch (Throwable t) {
            throw Cublas.rethrow(t);
        }
    }
}
