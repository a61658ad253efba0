package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime against a stand-in CUDA driver (src/test/resources/.../fake_libcuda.c, compiled
 * here) in a child JVM: JCuda's JNI library binds to it as it would to the real libcuda.so.1, so
 * this checks on a machine without a GPU that every driver function the runtime calls exists under
 * the name JCuda links, that sizes and pointers arrive right, that kernel arguments of each type
 * are laid out as the kernel reads them, and what each failure says. Skipped without a C compiler.
 */
class FakeDriverTest {
    @TempDir static Path tmp;

    @BeforeAll static void compile() throws IOException, InterruptedException {
        Path cc = Path.of("/usr/bin/cc");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(cc), "no C compiler at /usr/bin/cc: skipped");
        Path src = tmp.resolve("fake_libcuda.c");
        try (InputStream in = FakeDriverTest.class.getResourceAsStream("fake_libcuda.c")) {
            Files.copy(in, src);
        }
        Process p = new ProcessBuilder(cc.toString(), "-shared", "-fPIC", "-O1", "-Wl,-soname,libcuda.so.1", "-o",
                tmp.resolve("libcuda.so.1").toString(), src.toString(), "-lm").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cc failed: " + out);
    }

    /** Runs FakeDriverMain in a JVM that finds the stand-in driver first; returns its output after checking it exited 0. */
    static List<String> child(String fakeMode, String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules",
                "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), FakeDriverMain.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("LD_LIBRARY_PATH", tmp.toString());
        pb.environment().put("FAKE_CUDA", fakeMode);
        pb.environment().remove("LOCALLEARN_CUDA_SYNC");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish: " + out);
        assertEquals(0, p.exitValue(), out);
        return out.lines().filter(l -> !l.startsWith("WARNING")).toList();
    }

    @Test void driverWithoutDevicesIsReportedByProbeAndOpen() throws Exception {
        assertEquals(List.of("probe: no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)",
                "open: CudaUnavailableException: no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)"), child("nodevice", "probe"));
        assertEquals(List.of("probe: no CUDA device (the driver, CUDA 13.0, sees none)",
                "open: CudaUnavailableException: no CUDA device (the driver, CUDA 13.0, sees none)"), child("zero", "probe"));
    }

    @Test void runtimeDrivesTheDriverRight() throws Exception {
        List<String> out = child("");
        int i = 0;
        assertEquals("probe: Fake GPU, sm_90, 1.0 GiB, driver CUDA 13.0, 1 device", out.get(i++));
        assertEquals("device: Fake GPU (sm_90, 1.0 GiB), free 1073741824", out.get(i++));
        // two 4000-byte requests, rounded to 4096 each
        assertEquals("memory: upload, copy, memset, download ok; allocator MemoryStats[current=8192, peak=8192, reserved=8192], free "
                + ((1L << 30) - 8192), out.get(i++));
        assertEquals("kernel: Tensor, Float, Integer, Long, Boolean, CudaStorage arguments ok", out.get(i++));
        assertEquals("error: cuLaunchKernel runtime_axpb grid=(1,1,1) block=(4096,1,1): CUDA_ERROR_INVALID_VALUE", out.get(i++));
        assertEquals("error: kernel no_such_kernel not found in kernels/runtimetest.ptx (is it declared extern \"C\"?)", out.get(i++));
        String ptx = out.get(i++);
        assertTrue(ptx.startsWith("error: loading kernels/runtimetest_toonew.ptx: CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the kernels were built by "), ptx);
        assertTrue(ptx.endsWith(", the driver supports CUDA 13.0 (device sm_90); rebuilding the jar with this machine's nvcc"
                + " (or one no newer than the driver) fixes it"), ptx);
        // the tensor's block went back to the pool, so the retry after trim() frees it: 4096 bytes fewer in use
        assertEquals("error: out of GPU memory: asked 2147483648 bytes, " + ((1L << 30) - 4096) + " free; try a smaller --batch-size", out.get(i++));
        String providers = out.get(i++);
        assertTrue(providers.startsWith("providers: gemm: own kernels (libcublas.so.{13,12,11} not found")
                && providers.contains("; conv: own kernels (libcudnn.so.{9,8} not found"), providers);
        assertEquals("pool before close: MemoryStats[current=0, peak=8192, reserved=4096]", out.get(i++));
        assertEquals("driver: primary context released, 0 retained", out.get(i++));
        assertEquals(i, out.size(), String.join("\n", out));
    }
}
