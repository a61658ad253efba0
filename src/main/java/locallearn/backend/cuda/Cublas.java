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
import java.util.List;
import locallearn.tensor.DType;

/**
 * cuBLAS through java.lang.foreign, in row-major terms (the class does the column-major swap).
 * The v2 API has had the same C signatures from cuBLAS 11 to 13, so one binding serves them all.
 * The context's handle works on the legacy default stream, the one its kernels use off a lane;
 * each pipeline lane gets a handle of its own set to its stream ({@link #onStream}).
 * Math mode follows each call: CUBLAS_DEFAULT_MATH (plain FP32) unless the call asks for TF32,
 * then CUBLAS_TF32_TENSOR_OP_MATH (what PyTorch sets for torch.backends.cuda.matmul.allow_tf32);
 * the handle's mode is changed only when it differs from the last call's.
 *
 * <p>bfloat16 products ({@link #gemmBf16}) go through cublasGemmEx with CUBLAS_COMPUTE_32F:
 * tensor cores multiply the bf16 inputs exactly and sum in float32 (the handle's math mode only
 * rounds float32 inputs, so it is left as it is); C is float32 or bf16, rounded once on store.
 */
@SuppressWarnings("restricted") // native access is this class's job
public final class Cublas implements AutoCloseable {
    static final List<Integer> MAJORS = List.of(13, 12, 11);
    /** cublasOperation_t: CUBLAS_OP_N, CUBLAS_OP_T. */
    public static final int OP_N = 0, OP_T = 1;
    /** cublasMath_t: CUBLAS_DEFAULT_MATH, CUBLAS_TF32_TENSOR_OP_MATH. */
    private static final int DEFAULT_MATH = 0, TF32_TENSOR_OP_MATH = 3;
    /** cudaDataType_t (library_types.h): CUDA_R_32F, CUDA_R_16BF. */
    static final int R_32F = 0, R_16BF = 14;
    /** cublasComputeType_t CUBLAS_COMPUTE_32F (not _FAST_TF32, which would round float32 inputs); cublasGemmAlgo_t CUBLAS_GEMM_DEFAULT. */
    static final int COMPUTE_32F = 68, GEMM_DEFAULT = -1;

    private final Arena arena = Arena.ofShared();
    private final String version;
    private final NativeLibs.Found lib;
    private final SymbolLookup lookup;
    private final MethodHandle sgemm, sgemmStridedBatched, gemmEx, gemmStridedBatchedEx, destroy, setMath;
    private final MemorySegment handle;
    private final MemorySegment scalars, betaSlot; // alpha, beta: host pointers read during the call
    private boolean closed, tf32; // tf32: the handle is in CUBLAS_TF32_TENSOR_OP_MATH

    private Cublas(NativeLibs.Found lib, SymbolLookup l, long stream) {
        this.lib = lib;
        this.lookup = l;
        Linker linker = Linker.nativeLinker();
        MethodHandle create = handle(linker, l, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setMath = handle(linker, l, "cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        // (libraryPropertyType: 0 major, 1 minor, 2 patch; int*)
        MethodHandle getProperty = handle(linker, l, "cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        destroy = handle(linker, l, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // (handle, transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc); device pointers go as
        // JAVA_LONG, which the x86-64 and AArch64 C ABIs pass exactly like a pointer
        sgemm = handle(linker, l, "cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        // (handle, transa, transb, m, n, k, *alpha, A, lda, strideA, B, ldb, strideB, *beta, C, ldc, strideC, batch)
        sgemmStridedBatched = handle(linker, l, "cublasSgemmStridedBatched", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
        // (handle, transa, transb, m, n, k, *alpha, A, Atype, lda, B, Btype, ldb, *beta, C, Ctype, ldc, computeType, algo)
        gemmEx = handle(linker, l, "cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT));
        // (handle, transa, transb, m, n, k, *alpha, A, Atype, lda, strideA, B, Btype, ldb, strideB, *beta, C, Ctype, ldc, strideC,
        //  batch, computeType, algo)
        gemmStridedBatchedEx = handle(linker, l, "cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        scalars = arena.allocate(JAVA_FLOAT, 2);
        betaSlot = scalars.asSlice(Float.BYTES);
        MemorySegment box = arena.allocate(ADDRESS);
        check(invoke(create, box), "cublasCreate_v2");
        handle = box.get(ADDRESS, 0);
        check(invoke(setMath, handle, DEFAULT_MATH), "cublasSetMathMode(CUBLAS_DEFAULT_MATH)");
        MemorySegment v = arena.allocate(JAVA_INT);
        StringBuilder ver = new StringBuilder();
        for (int part = 0; part < 3; part++) {
            check(invoke(getProperty, part, v), "cublasGetProperty " + part);
            ver.append(part == 0 ? "" : ".").append(v.get(JAVA_INT, 0));
        }
        version = ver.toString();
        if (stream != 0) {
            MethodHandle setStream = handle(linker, l, "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
            check(invoke(setStream, handle, stream), "cublasSetStream_v2");
        }
    }

    /**
     * Finds cuBLAS in {@code dirs} (highest major first), loads it and creates a handle on the
     * current context (the context calls this with {@link NativeLibs#searchDirs()}). Throws
     * IllegalStateException with what was tried when the library is missing or does not start.
     */
    public static Cublas load(List<java.nio.file.Path> dirs) {
        NativeLibs.Search s = NativeLibs.find("libcublas", MAJORS, dirs);
        if (s.found() == null) throw new IllegalStateException(s.missing());
        // libcublas needs libcublasLt of the same major, usually beside it
        return new Cublas(s.found(), NativeLibs.load(s.found(), List.of("libcublasLt")), 0);
    }

    /** A handle of its own, on the current context, whose work goes to {@code stream} (a CUstream: a pipeline lane's). */
    public Cublas onStream(long stream) { return new Cublas(lib, lookup, stream); }

    /** "13.0.2": major.minor.patch of the loaded library */
    public String version() { return version; }

    public String describe() { return "cuBLAS " + version + " (" + lib.path().getFileName() + " at " + lib.path().getParent() + ")"; }

    /** The arguments of a column-major cuBLAS call that computes a row-major product. */
    public record ColumnMajorGemm(int opFirst, int opSecond, int m, int n, int k, int ldFirst, int ldSecond, int ldc) {}

    /**
     * Row-major C (m, n) = op(A) (m, k) op(B) (k, n) is, read column-major, C^T = op(B)^T op(A)^T.
     * A row-major matrix read column-major is its transpose, so the call passes B first with
     * transB as its op, then A with transA, and swaps m and n.
     * Leading dimensions are the row lengths of the stored (not transposed) row-major matrices:
     * A is stored (m, k) or, transposed, (k, m); B (k, n) or (n, k); C (m, n).
     */
    public static ColumnMajorGemm columnMajor(boolean transA, boolean transB, int m, int n, int k) {
        int lda = transA ? m : k, ldb = transB ? k : n;
        return new ColumnMajorGemm(transB ? OP_T : OP_N, transA ? OP_T : OP_N, n, m, k, Math.max(1, ldb), Math.max(1, lda), Math.max(1, n));
    }

    /**
     * C = alpha op(A) op(B) + beta C, row-major, for {@code batch} products whose operands start
     * every strideA, strideB, strideC elements; a, b, c are device addresses. Batch 1 calls
     * cublasSgemm, more cublasSgemmStridedBatched. {@code tf32}: tensor cores may round the
     * inputs to TF32.
     */
    public synchronized void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, long b,
                                   float beta, long c, int batch, long strideA, long strideB, long strideC, boolean tf32) {
        checkCall("sgemm", m, n, k, batch);
        if (tf32 != this.tf32) {
            check(invoke(setMath, handle, tf32 ? TF32_TENSOR_OP_MATH : DEFAULT_MATH),
                    tf32 ? "cublasSetMathMode(CUBLAS_TF32_TENSOR_OP_MATH)" : "cublasSetMathMode(CUBLAS_DEFAULT_MATH)");
            this.tf32 = tf32;
        }
        ColumnMajorGemm g = columnMajor(transA, transB, m, n, k);
        MemorySegment pa = scalars(alpha, beta), pb = betaSlot;
        int r;
        try { // invokeExact: the hot path, no boxing (argument types match the descriptors exactly)
            if (batch == 1) {
                r = (int) sgemm.invokeExact(handle, g.opFirst(), g.opSecond(), g.m(), g.n(), g.k(), pa, b, g.ldFirst(), a,
                        g.ldSecond(), pb, c, g.ldc());
            } else {
                r = (int) sgemmStridedBatched.invokeExact(handle, g.opFirst(), g.opSecond(), g.m(), g.n(), g.k(), pa, b,
                        g.ldFirst(), strideB, a, g.ldSecond(), strideA, pb, c, g.ldc(), strideC, batch);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        checkGemm(r, "sgemm", transA, transB, m, n, k, batch);
    }

    /**
     * As {@link #sgemm}, for bfloat16 A and B and C of {@code cType} (F32 or BF16; cuBLAS has no
     * other C for bf16 inputs in float32 compute): cublasGemmEx for batch 1, else
     * cublasGemmStridedBatchedEx, with CUBLAS_COMPUTE_32F. alpha and beta are float, as that
     * compute type takes them; strides count elements.
     */
    public synchronized void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, long b,
                                      float beta, long c, DType cType, int batch, long strideA, long strideB, long strideC) {
        checkCall("gemmBf16", m, n, k, batch);
        int ct = switch (cType) {
            case F32 -> R_32F;
            case BF16 -> R_16BF;
        };
        ColumnMajorGemm g = columnMajor(transA, transB, m, n, k);
        MemorySegment pa = scalars(alpha, beta), pb = betaSlot;
        int r;
        try {
            if (batch == 1) {
                r = (int) gemmEx.invokeExact(handle, g.opFirst(), g.opSecond(), g.m(), g.n(), g.k(), pa, b, R_16BF, g.ldFirst(), a,
                        R_16BF, g.ldSecond(), pb, c, ct, g.ldc(), COMPUTE_32F, GEMM_DEFAULT);
            } else {
                r = (int) gemmStridedBatchedEx.invokeExact(handle, g.opFirst(), g.opSecond(), g.m(), g.n(), g.k(), pa, b, R_16BF,
                        g.ldFirst(), strideB, a, R_16BF, g.ldSecond(), strideA, pb, c, ct, g.ldc(), strideC, batch, COMPUTE_32F,
                        GEMM_DEFAULT);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        checkGemm(r, "gemmBf16 (C " + cType + ")", transA, transB, m, n, k, batch);
    }

    private void checkCall(String call, int m, int n, int k, int batch) {
        if (closed) throw new IllegalStateException("cublas: used after close");
        if (m < 0 || n < 0 || k < 0 || batch < 1)
            throw new IllegalArgumentException("cublas " + call + ": bad sizes m=" + m + " n=" + n + " k=" + k + " batch=" + batch);
    }

    /** alpha and beta into the host slots the call reads; returns alpha's. */
    private MemorySegment scalars(float alpha, float beta) {
        scalars.setAtIndex(JAVA_FLOAT, 0, alpha);
        scalars.setAtIndex(JAVA_FLOAT, 1, beta);
        return scalars;
    }

    private static void checkGemm(int status, String call, boolean transA, boolean transB, int m, int n, int k, int batch) {
        if (status != 0)
            throw new IllegalStateException("cublas " + call + " transA=" + transA + " transB=" + transB + " m=" + m + " n=" + n + " k=" + k
                    + " batch=" + batch + ": " + statusName(status));
    }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        int r = invoke(destroy, handle);
        arena.close();
        check(r, "cublasDestroy_v2");
    }

    static String statusName(int s) {
        return switch (s) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus " + s;
        };
    }

    private static void check(int status, String what) {
        if (status != 0) throw new IllegalStateException(what + ": " + statusName(status));
    }

    static MethodHandle handle(Linker linker, SymbolLookup l, String name, FunctionDescriptor d) {
        MemorySegment sym = l.find(name).orElseThrow(() -> new IllegalStateException("symbol " + name + " not found"));
        return linker.downcallHandle(sym, d);
    }

    /** Calls a downcall that returns a C int status (set-up calls; the hot paths use invokeExact). */
    static int invoke(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A downcall throws only unchecked exceptions; anything else is wrapped. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) return e;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
