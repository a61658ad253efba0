package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import locallearn.backend.SelfTest;
import locallearn.backend.cuda.CudaContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every op of CudaBackend, end to end, without a GPU: a child JVM runs the selftest (CPU against
 * CudaBackend) with libcuda.so.1 replaced by emulated_libcuda.cpp, a stand-in driver that executes
 * the kernels of kernels/*.cu on the CPU (each CUDA thread a fiber, barriers and warp shuffles
 * real). So the Java launches (kernel names, argument order and widths, grid and block shapes
 * against each kernel's __launch_bounds__), the kernels' index math and reductions, and the
 * fallback GEMM and im2col convolution are checked on every build, with the selftest's
 * tolerances, in float32 and in TF32 (the kernel's rounding against the CPU twin's); so are local steps of a conv block (sliced, and held with recon) and one residual block's local step with its
 * shortcut, the ops composed as training runs them,
 * and that every wrong call of BadArguments fails on CudaBackend with the CPU's message (the
 * boundary both extend). What it cannot check is the GPU itself: the compiled PTX, cuBLAS/cuDNN, and races a
 * one-block-at-a-time schedule hides; CudaVsCpuTest and `locallearn selftest` do that on a GPU.
 * Skipped without g++ or without built kernels.
 */
class EmulatedGpuTest {
    @TempDir Path tmp;

    @Test void everyOpThroughTheEmulatedDriverMatchesTheCpu() throws IOException, InterruptedException {
        Path gxx = Path.of("/usr/bin/g++");
        assumeTrue(Files.isExecutable(gxx), "no g++ at /usr/bin/g++: CudaBackend not run on the emulated driver");
        assumeTrue(CudaContext.kernelsBuilt(), "kernels not built (no nvcc): CudaBackend cannot load its PTX");
        Path src = tmp.resolve("emulated_libcuda.cpp");
        try (InputStream in = EmulatedGpuTest.class.getResourceAsStream("/locallearn/backend/cuda/kernels/emulated_libcuda.cpp")) {
            Files.copy(in, src);
        }
        Process cc = new ProcessBuilder(gxx.toString(), "-std=c++20", "-O1", "-U_FORTIFY_SOURCE", "-shared", "-fPIC", "-fvisibility=hidden", "-w",
                "-I", Path.of("kernels").toAbsolutePath().toString(), "-Wl,-soname,libcuda.so.1",
                "-o", tmp.resolve("libcuda.so.1").toString(), src.toString()).redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes());
        assertTrue(cc.waitFor(120, TimeUnit.SECONDS) && cc.exitValue() == 0, "g++ failed: " + log);

        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), EmulatedGpuMain.class.getName(), "5").redirectErrorStream(true);
        pb.environment().put("LD_LIBRARY_PATH", tmp.toString());
        pb.environment().remove("LOCALLEARN_CUDA_SYNC");
        Process p = pb.start();
        List<String> out = new String(p.getInputStream().readAllBytes()).lines().filter(l -> !l.startsWith("WARNING")).toList();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish: " + String.join("\n", out));
        assertEquals(0, p.exitValue(), String.join("\n", out));

        assertTrue(out.get(0).startsWith("device: cuda: Emulated GPU"), out.get(0));
        int cases = new SelfTest(5).size(), tf32 = SelfTest.tf32(5, true).size();
        assertEquals("done " + (cases + 1 + tf32 + 4), out.get(out.size() - 1),
                "every case ran, the allocator check, the tf32 cases and theirs, the local and residual steps and the bad arguments");
        assertEquals(tf32, out.stream().filter(l -> l.contains(" tf32 ")).count(), "each tf32 case printed once");
        assertTrue(out.get(out.size() - 5).startsWith("ok   allocator"), out.get(out.size() - 5));
        assertTrue(out.get(out.size() - 4).startsWith("ok   local steps"), out.get(out.size() - 4));
        assertTrue(out.get(out.size() - 3).startsWith("ok   residual local step"), out.get(out.size() - 3));
        assertTrue(out.get(out.size() - 2).startsWith("ok   bad arguments"), out.get(out.size() - 2));
        List<String> failed = new ArrayList<>();
        for (String line : out.subList(1, out.size() - 1)) if (!line.startsWith("ok ")) failed.add(line);
        assertTrue(failed.isEmpty(), failed.size() + " of " + cases + " cases differ from the CPU:\n" + String.join("\n", failed));
    }
}
