package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import locallearn.backend.ConvAlgorithm;
import locallearn.backend.ConvGeom;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.Cublas;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.Cudnn;
import locallearn.config.Precision;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FFM bindings of cuBLAS and cuDNN against stand-in libraries compiled here from
 * src/test/resources/.../fake_cublas.c and fake_cudnn.c: they have the real C signatures and log
 * every argument they receive, so these tests check what no GPU-less machine could otherwise:
 * argument order, the row-major to column-major swap as it reaches the library, descriptors in
 * the right places, algorithm choice, and that sub-libraries are loaded before the library.
 * Their bf16 entry points also compute, so bf16 products and convolutions through the bindings
 * are checked against the CPU twin (CpuBackend on bf16 tensors; tolerances in {@link Bf16Buffers}).
 *
 * <p>Skipped where a GPU is present: the stand-ins carry real sonames (libcublasLt.so.13,
 * libcudnn_ops.so.9) and, once loaded, would stand in for the real ones in the same JVM; there the
 * GPU tests check the real libraries. Skipped too without a C compiler.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@SuppressWarnings("restricted")
class FakeLibrariesTest {
    @TempDir static Path tmp;
    static Path full, bare; // stand-ins with their sibling libraries, and without

    @BeforeAll static void compile() throws IOException, InterruptedException {
        org.junit.jupiter.api.Assumptions.assumeFalse(CudaContext.probeDevice().found(),
                "a GPU is here: the stand-in libraries would shadow the real ones (CudaRuntimeGpuTest covers them)");
        Path cc = Path.of("/usr/bin/cc");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(cc), "no C compiler at /usr/bin/cc: skipped");
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        for (String f : List.of("fake_cublas.c", "fake_cudnn.c", "fake_bf16.h")) {
            try (InputStream in = FakeLibrariesTest.class.getResourceAsStream(f)) {
                Files.copy(in, src.resolve(f));
            }
        }
        Files.writeString(src.resolve("empty.c"), "int fake_sibling;\n");
        full = Files.createDirectories(tmp.resolve("full"));
        bare = Files.createDirectories(tmp.resolve("bare"));
        for (Path d : List.of(full, bare)) {
            gcc(cc, src.resolve("fake_cublas.c"), d.resolve("libcublas.so.13"), null);
            gcc(cc, src.resolve("fake_cudnn.c"), d.resolve("libcudnn.so.9"), null);
        }
        gcc(cc, src.resolve("empty.c"), full.resolve("libcublasLt.so.13"), "libcublasLt.so.13");
        gcc(cc, src.resolve("empty.c"), full.resolve("libcudnn_ops.so.9"), "libcudnn_ops.so.9");
    }

    static void gcc(Path cc, Path src, Path out, String soname) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(cc.toString(), "-shared", "-fPIC", "-O1", "-o", out.toString(), src.toString(), "-ldl"));
        if (soname != null) cmd.add("-Wl,-soname," + soname);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cc failed: " + output);
    }

    /** The stand-in's call log (fake_log), then cleared (fake_reset). */
    static String log(Path lib) {
        SymbolLookup l = SymbolLookup.libraryLookup(lib, Arena.global()); // the same file: the loaded library
        Linker k = Linker.nativeLinker();
        try {
            MemorySegment s = (MemorySegment) k.downcallHandle(l.find("fake_log").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS)).invokeExact();
            String text = s.reinterpret(16384).getString(0);
            k.downcallHandle(l.find("fake_reset").orElseThrow(), FunctionDescriptor.ofVoid()).invokeExact();
            return text;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Test @Order(1) void withoutTheirSiblingsTheLibrariesDoNotStart() {
        // runs first: once full/'s siblings are loaded, the process has them for good
        IllegalStateException b = assertThrows(IllegalStateException.class, () -> Cublas.load(List.of(bare)));
        assertEquals("cublasCreate_v2: CUBLAS_STATUS_NOT_INITIALIZED", b.getMessage());
        IllegalStateException d = assertThrows(IllegalStateException.class, () -> Cudnn.load(List.of(bare), null));
        assertEquals("cudnnCreate: CUDNN_STATUS_FAKE_1001 (1001)", d.getMessage()); // named by cudnnGetErrorString
    }

    @Test @Order(2) void cublasGetsTheColumnMajorCall() {
        Cublas b = Cublas.load(List.of(full));
        assertEquals("13.1.2", b.version());
        assertEquals("create;math 1234 0;", log(full.resolve("libcublas.so.13"))); // CUBLAS_DEFAULT_MATH: no TF32

        // C (2, 3) = A (2, 4) B^T, B stored (3, 4): column-major C^T (3, 2) = op_T(B) A^T; ldb 4, lda 4, ldc 3
        b.sgemm(false, true, 2, 3, 4, 1.5f, 0xA000, 0xB000, 0.5f, 0xC000, 1, 0, 0, 0, false);
        assertEquals("sgemm 1234 ta=1 tb=0 m=3 n=2 k=4 alpha=1.5 A=b000 lda=4 B=a000 ldb=4 beta=0.5 C=c000 ldc=3;",
                log(full.resolve("libcublas.so.13")));

        // A^T with A stored (4, 2): lda 2; B (4, 3): ldb 3; strides follow their operands through the swap
        b.sgemm(true, false, 2, 3, 4, 1f, 0xA000, 0xB000, 0f, 0xC000, 5, 8, 12, 6, false);
        assertEquals("batched 1234 ta=0 tb=1 m=3 n=2 k=4 alpha=1 A=b000 lda=3 sA=12 B=a000 ldb=2 sB=8 beta=0 C=c000 ldc=3 sC=6 batch=5;",
                log(full.resolve("libcublas.so.13")));

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> b.sgemm(false, false, 2, 3, 99, 1f, 0xA000, 0xB000, 0f, 0xC000, 1, 0, 0, 0, false));
        assertEquals("cublas sgemm transA=false transB=false m=2 n=3 k=99 batch=1: CUBLAS_STATUS_EXECUTION_FAILED", e.getMessage());
        log(full.resolve("libcublas.so.13"));
        b.close();
        assertEquals("destroy 1234;", log(full.resolve("libcublas.so.13")));
        assertThrows(IllegalStateException.class, () -> b.sgemm(false, false, 1, 1, 1, 1f, 0, 0, 0f, 0, 1, 0, 0, 0, false));
    }

    @Test @Order(3) void cudnnGetsEachDescriptorInItsPlaceAndTheFastestFmaAlgorithm() {
        Path lib = full.resolve("libcudnn.so.9");
        Cudnn d = Cudnn.load(List.of(full), null); // the stand-in needs no workspace, so no allocator
        assertEquals("9.10.0", d.version());
        log(lib);
        ConvGeom g = new ConvGeom(2, 3, 7, 6, 4, 3, 3, 2, 1); // y (2, 4, 4, 3)
        String x = "t(2,3,7,6)", y = "t(2,4,4,3)", w = "f(4,3,3,3)", conv = "c(1,1,2,2)";

        d.convForward(g, Precision.FP32, 0x100, 0x200, 0x300);
        assertEquals("tensor format=0 type=0 2,3,7,6;tensor format=0 type=0 2,4,4,3;filter type=0 format=0 4,3,3,3;"
                + "conv pad=1,1 stride=2,2 dilation=1,1 mode=1 type=0;math=3;" // cross-correlation, float, CUDNN_FMA_MATH
                + "findFwd " + x + " " + w + " " + conv + " " + y + " requested=16;"
                + "wsFwd " + x + " " + w + " " + conv + " " + y + " algo=6;"  // 1 is tensor-op math, 2 failed
                + "fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=6 ws=0/0 beta=0 " + y + "@300;", log(lib));
        d.convForward(g, Precision.FP32, 0x100, 0x200, 0x300); // descriptors and algorithm are kept per geometry
        assertEquals("fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=6 ws=0/0 beta=0 " + y + "@300;", log(lib));

        d.convBackwardData(g, Precision.FP32, 0x400, 0x200, 0x500);
        assertEquals("findBwdData " + w + " " + y + " " + conv + " " + x + " requested=16;"
                + "wsBwdData " + w + " " + y + " " + conv + " " + x + " algo=4;"
                + "bwdData alpha=1 " + w + "@200 " + y + "@400 " + conv + " algo=4 ws=0/0 beta=0 " + x + "@500;", log(lib));

        d.convBackwardFilter(g, Precision.FP32, 0x100, 0x400, 0x600, true);
        assertEquals("findBwdFilter " + x + " " + y + " " + conv + " " + w + " requested=16;"
                + "wsBwdFilter " + x + " " + y + " " + conv + " " + w + " algo=5;"
                + "bwdFilter alpha=1 " + x + "@100 " + y + "@400 " + conv + " algo=5 ws=0/0 beta=1 " + w + "@600;", log(lib));
        d.convBackwardFilter(g, Precision.FP32, 0x100, 0x400, 0x600, false);
        assertEquals("bwdFilter alpha=1 " + x + "@100 " + y + "@400 " + conv + " algo=5 ws=0/0 beta=0 " + w + "@600;", log(lib));

        d.close();
        assertEquals("free;free;free;free;destroy;", log(lib));
    }

    @Test @Order(4) void aLaneGetsHandlesOfItsOwnSetToItsStream() {
        Cublas shared = Cublas.load(List.of(full));
        log(full.resolve("libcublas.so.13"));
        Cublas lane = shared.onStream(0x5EA);
        assertEquals("create;math 1234 0;stream 1234 5ea;", log(full.resolve("libcublas.so.13")));
        lane.close();
        shared.close();
        Cudnn d = Cudnn.load(List.of(full), null);
        log(full.resolve("libcudnn.so.9"));
        Cudnn laneDnn = d.onStream(0x5EB);
        assertEquals("stream 5678 5eb;", log(full.resolve("libcudnn.so.9")));
        laneDnn.close();
        d.close();
    }

    @Test @Order(5) void tf32CallsSetTensorOpMathOnTheHandleAndTheDescriptors() {
        Path blasLib = full.resolve("libcublas.so.13");
        Cublas b = Cublas.load(List.of(full));
        log(blasLib);
        b.sgemm(false, false, 2, 3, 4, 1f, 0xA000, 0xB000, 0f, 0xC000, 1, 0, 0, 0, true);
        b.sgemm(false, false, 2, 3, 4, 1f, 0xA000, 0xB000, 0f, 0xC000, 1, 0, 0, 0, true); // the handle is already in TF32
        b.sgemm(false, false, 2, 3, 4, 1f, 0xA000, 0xB000, 0f, 0xC000, 1, 0, 0, 0, false);
        String sgemm = "sgemm 1234 ta=0 tb=0 m=3 n=2 k=4 alpha=1 A=b000 lda=3 B=a000 ldb=4 beta=0 C=c000 ldc=3;";
        // CUBLAS_TF32_TENSOR_OP_MATH = 3, back to CUBLAS_DEFAULT_MATH = 0 for the float32 call
        assertEquals("math 1234 3;" + sgemm + sgemm + "math 1234 0;" + sgemm, log(blasLib));
        b.close();
        log(blasLib);

        Path lib = full.resolve("libcudnn.so.9");
        Cudnn d = Cudnn.load(List.of(full), null);
        log(lib);
        ConvGeom g = new ConvGeom(2, 3, 7, 6, 4, 3, 3, 2, 1);
        String x = "t(2,3,7,6)", y = "t(2,4,4,3)", w = "f(4,3,3,3)", conv = "c(1,1,2,2)";
        d.convForward(g, Precision.TF32, 0x100, 0x200, 0x300);
        assertEquals("tensor format=0 type=0 2,3,7,6;tensor format=0 type=0 2,4,4,3;filter type=0 format=0 4,3,3,3;"
                + "conv pad=1,1 stride=2,2 dilation=1,1 mode=1 type=0;math=0;" // CUDNN_DEFAULT_MATH: TF32 allowed on sm_80+
                + "findFwd " + x + " " + w + " " + conv + " " + y + " requested=16;"
                + "wsFwd " + x + " " + w + " " + conv + " " + y + " algo=1;"  // the fastest, a tensor-op algorithm
                + "fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=1 ws=0/0 beta=0 " + y + "@300;", log(lib));
        d.convForward(g, Precision.FP32, 0x100, 0x200, 0x300); // the same geometry in float32: a plan of its own, FMA math
        String fp32 = log(lib);
        assertTrue(fp32.contains("math=3;") && fp32.endsWith("algo=6 ws=0/0 beta=0 " + y + "@300;"), fp32);
        d.convForward(g, Precision.TF32, 0x100, 0x200, 0x300); // both plans are kept
        assertEquals("fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=1 ws=0/0 beta=0 " + y + "@300;", log(lib));
        d.close();
        log(lib);
    }

    @Test @Order(6) void bf16GemmGoesToGemmExWithBf16OperandsAndFloat32Compute() {
        Path lib = full.resolve("libcublas.so.13");
        Cublas b = Cublas.load(List.of(full));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = Bf16Buffers.bf16(arena, new float[] {1, 2, 3, 4, 5, 6}), bm = Bf16Buffers.bf16(arena, new float[] {1, 0, -1, 2, 0.5f, 1});
            MemorySegment c = Bf16Buffers.f32(arena, new float[4]);
            log(lib);
            // C (2, 2) = A (2, 3) B (3, 2): column-major C^T = B^T A^T, as sgemm; CUDA_R_16BF = 14 in, CUDA_R_32F = 0 out,
            // CUBLAS_COMPUTE_32F = 68, CUBLAS_GEMM_DEFAULT = -1; the handle's math mode is left alone
            b.gemmBf16(false, false, 2, 2, 3, 1f, a.address(), bm.address(), 0f, c.address(), DType.F32, 1, 0, 0, 0);
            assertEquals("gemmEx 1234 ta=0 tb=0 m=2 n=2 k=3 alpha=1 Atype=14 lda=2 Btype=14 ldb=3 beta=0 Ctype=0 ldc=2 compute=68 algo=-1;",
                    log(lib));
            // row 0: 1 - 2 + 1.5 = 0.5 | 0 + 4 + 3 = 7; row 1: 4 - 5 + 3 = 2 | 0 + 10 + 6 = 16
            assertArrayEquals(new float[] {0.5f, 7, 2, 16}, Bf16Buffers.readF32(c, 4));

            // A^T, A stored (3, 2), and B^T, B stored (2, 3); strides follow their operands through the swap; C bf16
            MemorySegment a3 = arena.allocate(2 * 18), b3 = arena.allocate(2 * 22), c3 = arena.allocate(2 * 12);
            b.gemmBf16(true, true, 2, 2, 3, 2f, a3.address(), b3.address(), 1f, c3.address(), DType.BF16, 3, 6, 8, 4);
            assertEquals("batchedEx 1234 ta=1 tb=1 m=2 n=2 k=3 alpha=2 Atype=14 lda=3 sA=8 Btype=14 ldb=2 sB=6 beta=1 Ctype=14 ldc=2 sC=4"
                    + " batch=3 compute=68 algo=-1;", log(lib));
        }
        b.close();
        log(lib);
    }

    /** Every transpose, sizes 1, 3, 7 and 129 in m, n and k, C float32 and bf16, beta 0 and 1; then strided batches. */
    @Test @Order(7) void bf16GemmMatchesTheCpuTwin() {
        Cublas blas = Cublas.load(List.of(full));
        CpuBackend cpu = new CpuBackend(ConvAlgorithm.DIRECT, Precision.BF16);
        Random r = new Random(12);
        int[] sizes = {1, 3, 7, 129};
        float alpha = 0.75f;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true})
                for (int m : sizes)
                    for (int n : sizes)
                        for (int k : sizes)
                            for (DType ct : DType.values())
                                for (float beta : new float[] {0f, 1f})
                                    gemmCase(blas, cpu, r, ta, tb, m, n, k, alpha, beta, ct, 1);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true})
                for (DType ct : DType.values()) {
                    gemmCase(blas, cpu, r, ta, tb, 7, 3, 129, alpha, 1f, ct, 3);
                    gemmCase(blas, cpu, r, ta, tb, 1, 129, 1, alpha, 0f, ct, 2);
                }
        blas.close();
        log(full.resolve("libcublas.so.13"));
    }

    /** One product (or batch, operands apart by gaps, so strides are checked) through the stand-in against the CPU twin. */
    private static void gemmCase(Cublas blas, CpuBackend cpu, Random r, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta,
                                 DType ct, int batch) {
        long sa = batch == 1 ? 0 : (long) m * k + 5, sb = batch == 1 ? 0 : (long) k * n + 3, sc = batch == 1 ? 0 : (long) m * n + 1;
        int na = (int) ((batch - 1) * sa + (long) m * k), nb = (int) ((batch - 1) * sb + (long) k * n), nc = (int) ((batch - 1) * sc + (long) m * n);
        float[] av = Bf16Buffers.bf16Values(r, na), bv = Bf16Buffers.bf16Values(r, nb), cv = Bf16Buffers.bf16Values(r, nc);
        String what = "gemm ta=" + ta + " tb=" + tb + " m=" + m + " n=" + n + " k=" + k + " C " + ct + " beta=" + beta + " batch=" + batch;
        try (Scope s = Scope.open(); Arena arena = Arena.ofConfined()) {
            Tensor a = cpu.allocate(new Shape(na), DType.BF16), b = cpu.allocate(new Shape(nb), DType.BF16), c = cpu.allocate(new Shape(nc), ct);
            cpu.write(a, av);
            cpu.write(b, bv);
            cpu.write(c, cv);
            cpu.gemm(ta, tb, m, n, k, alpha, a, b, beta, c, batch, sa, sb, sc);
            MemorySegment pa = Bf16Buffers.bf16(arena, av), pb = Bf16Buffers.bf16(arena, bv);
            MemorySegment pc = ct == DType.F32 ? Bf16Buffers.f32(arena, cv) : Bf16Buffers.bf16(arena, cv);
            blas.gemmBf16(ta, tb, m, n, k, alpha, pa.address(), pb.address(), beta, pc.address(), ct, batch, sa, sb, sc);
            float[] got = ct == DType.F32 ? Bf16Buffers.readF32(pc, nc) : Bf16Buffers.readBf16(pc, nc);
            // M of each element: the product on magnitudes; the gaps between batches keep their values (magnitude 0: exact)
            float[] magnitude = new float[nc], absA = Bf16Buffers.abs(av), absB = Bf16Buffers.abs(bv), absC = Bf16Buffers.abs(cv);
            for (int i = 0; i < batch; i++) {
                float[] one = CublasMappingTest.rowMajor(ta, tb, m, n, k, Math.abs(alpha), java.util.Arrays.copyOfRange(absA, (int) (i * sa), (int) (i * sa) + m * k),
                        java.util.Arrays.copyOfRange(absB, (int) (i * sb), (int) (i * sb) + k * n), Math.abs(beta),
                        java.util.Arrays.copyOfRange(absC, (int) (i * sc), (int) (i * sc) + m * n));
                System.arraycopy(one, 0, magnitude, (int) (i * sc), m * n);
            }
            Bf16Buffers.assertClose(cpu.read(c), got, magnitude, k, ct == DType.BF16, what);
        }
    }

    /**
     * Convolutions on bf16 tensors: bf16 descriptors (CUDNN_DATA_BFLOAT16 = 9), float compute type,
     * CUDNN_TENSOR_OP_MATH = 1, and forward, backward-data and backward-filter against the CPU twin
     * on odd shapes; the bf16 filter gradient then widened into a float32 one by cuBLAS, as
     * CudaBackend does (the CPU twin's dw is float32: one bf16 rounding apart).
     */
    @Test @Order(8) void bf16ConvolutionsMatchTheCpuTwin() {
        Path lib = full.resolve("libcudnn.so.9");
        Cudnn d = Cudnn.load(List.of(full), null);
        Cublas blas = Cublas.load(List.of(full));
        log(lib);
        ConvGeom first = new ConvGeom(2, 3, 7, 6, 4, 3, 3, 2, 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(2L * 2 * 3 * 7 * 6), w = arena.allocate(2L * 4 * 3 * 3 * 3), y = arena.allocate(2L * 2 * 4 * 4 * 3);
            d.convForward(first, Precision.BF16, x.address(), w.address(), y.address());
            String text = log(lib);
            assertTrue(text.startsWith("tensor format=0 type=9 2,3,7,6;tensor format=0 type=9 2,4,4,3;filter type=9 format=0 4,3,3,3;"
                    + "conv pad=1,1 stride=2,2 dilation=1,1 mode=1 type=0;math=1;"), text);
            assertTrue(text.contains(" algo=1;fwd "), "the fastest algorithm, tensor ops allowed: " + text);
            d.convForward(first, Precision.FP32, 0x100, 0x200, 0x300); // the same geometry in float32: a plan of its own
            String fp32 = log(lib);
            assertTrue(fp32.startsWith("tensor format=0 type=0 2,3,7,6;") && fp32.contains("math=3;") && fp32.contains(" algo=6;fwd "), fp32);
            d.convForward(first, Precision.BF16, x.address(), w.address(), y.address()); // the bf16 plan is kept
            assertTrue(log(lib).startsWith("fwd alpha=1 t(2,3,7,6)@"));
        }
        CpuBackend cpu = new CpuBackend(ConvAlgorithm.DIRECT, Precision.BF16), f32 = new CpuBackend(ConvAlgorithm.DIRECT, Precision.FP32);
        Random r = new Random(13);
        for (ConvGeom g : List.of(first, new ConvGeom(1, 1, 5, 5, 1, 3, 3, 1, 0), new ConvGeom(3, 5, 4, 9, 7, 1, 1, 1, 0),
                new ConvGeom(2, 4, 8, 7, 3, 5, 5, 1, 2), new ConvGeom(1, 2, 3, 3, 2, 3, 3, 3, 1), new ConvGeom(2, 3, 6, 5, 4, 3, 1, 1, 1)))
            convCase(d, blas, cpu, f32, r, g);
        d.close();
        blas.close();
        log(lib);
        log(full.resolve("libcublas.so.13"));
    }

    /** A cuDNN that refuses bfloat16 descriptors is named with its status, so --precision bf16 is refused at open (CudaBackend). */
    @Test @Order(9) void aCudnnWithoutBf16SaysSo() throws Throwable {
        Path lib = full.resolve("libcudnn.so.9");
        Cudnn d = Cudnn.load(List.of(full), null);
        assertEquals(null, d.bf16Missing());
        MethodHandle refuse = Linker.nativeLinker().downcallHandle(SymbolLookup.libraryLookup(lib, Arena.global()).find("fake_refuse_bf16").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        refuse.invokeExact(1);
        try {
            String why = d.bf16Missing();
            assertTrue(why != null && why.startsWith("cuDNN ") && why.endsWith("refuses bfloat16 tensors (cudnnSetTensor4dDescriptor with CUDNN_DATA_BFLOAT16: "
                    + "CUDNN_STATUS_FAKE_2000 (2000))"), why);
        } finally {
            refuse.invokeExact(0);
            d.close();
            log(lib);
        }
    }

    private static void convCase(Cudnn d, Cublas blas, CpuBackend cpu, CpuBackend f32, Random r, ConvGeom g) {
        Shape xs = new Shape(g.batch(), g.inC(), g.inH(), g.inW()), ws = new Shape(g.outC(), g.inC(), g.kh(), g.kw()),
                ys = new Shape(g.batch(), g.outC(), g.outH(), g.outW());
        float[] xv = Bf16Buffers.bf16Values(r, xs.numel()), wv = Bf16Buffers.bf16Values(r, ws.numel()), dyv = Bf16Buffers.bf16Values(r, ys.numel());
        try (Scope s = Scope.open(); Arena arena = Arena.ofConfined()) {
            Tensor x = tensor(cpu, xs, DType.BF16, xv), w = tensor(cpu, ws, DType.BF16, wv), dy = tensor(cpu, ys, DType.BF16, dyv);
            Tensor y = cpu.allocate(ys, DType.BF16), dx = cpu.allocate(xs, DType.BF16), dw = cpu.allocate(ws, DType.F32);
            cpu.conv2dForward(x, w, null, y, g);
            cpu.conv2dBackwardData(dy, w, dx, g);
            cpu.conv2dBackwardFilter(x, dy, dw, null, g, false);
            // M: the same convolutions on magnitudes, in float32
            Tensor ax = tensor(f32, xs, DType.F32, Bf16Buffers.abs(xv)), aw = tensor(f32, ws, DType.F32, Bf16Buffers.abs(wv)),
                    ady = tensor(f32, ys, DType.F32, Bf16Buffers.abs(dyv));
            Tensor my = f32.allocate(ys), mdx = f32.allocate(xs), mdw = f32.allocate(ws);
            f32.conv2dForward(ax, aw, null, my, g);
            f32.conv2dBackwardData(ady, aw, mdx, g);
            f32.conv2dBackwardFilter(ax, ady, mdw, null, g, false);

            MemorySegment px = Bf16Buffers.bf16(arena, xv), pw = Bf16Buffers.bf16(arena, wv), pdy = Bf16Buffers.bf16(arena, dyv);
            MemorySegment py = arena.allocate(2L * ys.numel()), pdx = arena.allocate(2L * xs.numel()), pdw = arena.allocate(2L * ws.numel());
            d.convForward(g, Precision.BF16, px.address(), pw.address(), py.address());
            d.convBackwardData(g, Precision.BF16, pdy.address(), pw.address(), pdx.address());
            d.convBackwardFilter(g, Precision.BF16, px.address(), pdy.address(), pdw.address(), false);
            Bf16Buffers.assertClose(cpu.read(y), Bf16Buffers.readBf16(py, ys.numel()), f32.read(my), g.inC() * g.kh() * g.kw(), true, "forward " + g);
            Bf16Buffers.assertClose(cpu.read(dx), Bf16Buffers.readBf16(pdx, xs.numel()), f32.read(mdx), g.outC() * g.kh() * g.kw(), true,
                    "backward-data " + g);
            float[] dwBf16 = Bf16Buffers.readBf16(pdw, ws.numel());
            Bf16Buffers.assertClose(cpu.read(dw), dwBf16, f32.read(mdw), g.batch() * g.outH() * g.outW(), true, "backward-filter " + g);

            // the widening: dw (1, n) = 1 (1, 1) dwBf16 (1, n) + beta dw, float32 C, exactly the float sum
            float[] prior = Bf16Buffers.bf16Values(r, ws.numel());
            MemorySegment ones = Bf16Buffers.bf16(arena, new float[] {1, 1}), wide = Bf16Buffers.f32(arena, prior);
            blas.gemmBf16(false, false, 1, ws.numel(), 1, 1f, ones.address(), pdw.address(), 1f, wide.address(), DType.F32, 1, 0, 0, 0);
            float[] sum = new float[prior.length];
            for (int i = 0; i < sum.length; i++) sum[i] = dwBf16[i] + prior[i];
            assertArrayEquals(sum, Bf16Buffers.readF32(wide, ws.numel()), "widened and accumulated " + g);
            blas.gemmBf16(false, false, 1, ws.numel(), 1, 1f, ones.address(), pdw.address(), 0f, wide.address(), DType.F32, 1, 0, 0, 0);
            assertArrayEquals(dwBf16, Bf16Buffers.readF32(wide, ws.numel()), "widened " + g);
        }
    }

    private static Tensor tensor(CpuBackend be, Shape shape, DType dtype, float[] values) {
        Tensor t = be.allocate(shape, dtype);
        be.write(t, values);
        return t;
    }
}
