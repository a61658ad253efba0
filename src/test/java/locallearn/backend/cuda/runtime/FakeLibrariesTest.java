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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import locallearn.backend.ConvGeom;
import locallearn.backend.cuda.Cublas;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.Cudnn;
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
        for (String f : List.of("fake_cublas.c", "fake_cudnn.c")) {
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

        d.convForward(g, false, 0x100, 0x200, 0x300);
        assertEquals("tensor format=0 type=0 2,3,7,6;tensor format=0 type=0 2,4,4,3;filter type=0 format=0 4,3,3,3;"
                + "conv pad=1,1 stride=2,2 dilation=1,1 mode=1 type=0;math=3;" // cross-correlation, float, CUDNN_FMA_MATH
                + "findFwd " + x + " " + w + " " + conv + " " + y + " requested=16;"
                + "wsFwd " + x + " " + w + " " + conv + " " + y + " algo=6;"  // 1 is tensor-op math, 2 failed
                + "fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=6 ws=0/0 beta=0 " + y + "@300;", log(lib));
        d.convForward(g, false, 0x100, 0x200, 0x300); // descriptors and algorithm are kept per geometry
        assertEquals("fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=6 ws=0/0 beta=0 " + y + "@300;", log(lib));

        d.convBackwardData(g, false, 0x400, 0x200, 0x500);
        assertEquals("findBwdData " + w + " " + y + " " + conv + " " + x + " requested=16;"
                + "wsBwdData " + w + " " + y + " " + conv + " " + x + " algo=4;"
                + "bwdData alpha=1 " + w + "@200 " + y + "@400 " + conv + " algo=4 ws=0/0 beta=0 " + x + "@500;", log(lib));

        d.convBackwardFilter(g, false, 0x100, 0x400, 0x600, true);
        assertEquals("findBwdFilter " + x + " " + y + " " + conv + " " + w + " requested=16;"
                + "wsBwdFilter " + x + " " + y + " " + conv + " " + w + " algo=5;"
                + "bwdFilter alpha=1 " + x + "@100 " + y + "@400 " + conv + " algo=5 ws=0/0 beta=1 " + w + "@600;", log(lib));
        d.convBackwardFilter(g, false, 0x100, 0x400, 0x600, false);
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
        d.convForward(g, true, 0x100, 0x200, 0x300);
        assertEquals("tensor format=0 type=0 2,3,7,6;tensor format=0 type=0 2,4,4,3;filter type=0 format=0 4,3,3,3;"
                + "conv pad=1,1 stride=2,2 dilation=1,1 mode=1 type=0;math=0;" // CUDNN_DEFAULT_MATH: TF32 allowed on sm_80+
                + "findFwd " + x + " " + w + " " + conv + " " + y + " requested=16;"
                + "wsFwd " + x + " " + w + " " + conv + " " + y + " algo=1;"  // the fastest, a tensor-op algorithm
                + "fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=1 ws=0/0 beta=0 " + y + "@300;", log(lib));
        d.convForward(g, false, 0x100, 0x200, 0x300); // the same geometry in float32: a plan of its own, FMA math
        String fp32 = log(lib);
        assertTrue(fp32.contains("math=3;") && fp32.endsWith("algo=6 ws=0/0 beta=0 " + y + "@300;"), fp32);
        d.convForward(g, true, 0x100, 0x200, 0x300); // both plans are kept
        assertEquals("fwd alpha=1 " + x + "@100 " + w + "@200 " + conv + " algo=1 ws=0/0 beta=0 " + y + "@300;", log(lib));
        d.close();
        log(lib);
    }
}
