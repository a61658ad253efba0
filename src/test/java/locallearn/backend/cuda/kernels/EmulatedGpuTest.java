package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import locallearn.backend.SelfTest;
import locallearn.backend.cuda.CudaContext;
import locallearn.train.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every op of CudaBackend, end to end, without a GPU: a child JVM runs the selftest (CPU against
 * CudaBackend) with libcuda.so.1 replaced by emulated_libcuda.cpp, a stand-in driver that executes
 * the kernels of kernels/*.cu on the CPU (each CUDA thread a fiber, barriers and warp shuffles
 * real). So the Java launches (kernel names, argument order and widths, grid and block shapes
 * against each kernel's __launch_bounds__), the kernels' index math and reductions, and the
 * fallback GEMM and im2col convolution are checked on every build, with the selftest's
 * tolerances, in float32, in TF32 (the kernel's rounding against the CPU twin's) and on bf16 activations (every _bf16 kernel against the
 * CPU twin on bf16 tensors); so are local steps of a conv block (sliced, and held with recon; sliced on a bf16 input) and one residual block's local step with its
 * shortcut, the ops composed as training runs them,
 * and that every wrong call of BadArguments fails on CudaBackend with the CPU's message (the
 * boundary both extend). What it cannot check is the GPU itself: the compiled PTX, cuBLAS/cuDNN, and races a
 * one-block-at-a-time schedule hides; CudaVsCpuTest and `locallearn selftest` do that on a GPU.
 * The pipeline tests run train --stages on the emulated driver (EmulatedPipelineMain): its order
 * check refuses any op on one stream that touches a block another stream used without an event
 * between them, so a missing hand-off wait or allocator wait fails the run.
 * Skipped without g++ or without built kernels.
 */
class EmulatedGpuTest {
    @TempDir static Path tmp;
    private static Path driver; // the folder of the compiled libcuda.so.1, once

    /** Compiles emulated_libcuda.cpp once for the tests of this class; skips without g++ or PTX. */
    private static synchronized Path driver() throws IOException, InterruptedException {
        if (driver != null) return driver;
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
        driver = tmp;
        return driver;
    }

    /** A child JVM running {@code main} with the emulated driver; cuBLAS and cuDNN off (they cannot run on it). */
    private static Process child(Class<?> main, Map<String, String> env, String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("LD_LIBRARY_PATH", driver().toString());
        pb.environment().put("LOCALLEARN_NO_CUBLAS", "1");
        pb.environment().put("LOCALLEARN_NO_CUDNN", "1");
        pb.environment().remove("LOCALLEARN_CUDA_SYNC");
        pb.environment().putAll(env);
        return pb.start();
    }

    private static List<String> lines(Process p) throws IOException, InterruptedException {
        List<String> out = new String(p.getInputStream().readAllBytes()).lines().filter(l -> !l.startsWith("WARNING")).toList();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish: " + String.join("\n", out));
        return out;
    }

    @Test void everyOpThroughTheEmulatedDriverMatchesTheCpu() throws IOException, InterruptedException {
        Process p = child(EmulatedGpuMain.class, Map.of(), "5");
        List<String> out = lines(p);
        assertEquals(0, p.exitValue(), String.join("\n", out));

        assertTrue(out.get(0).startsWith("device: cuda: Emulated GPU"), out.get(0));
        int cases = new SelfTest(5).size(), tf32 = SelfTest.tf32(5, true).size(), bf16 = SelfTest.bf16(5).size();
        assertEquals("done " + (cases + 1 + tf32 + 1 + bf16 + 6), out.get(out.size() - 1),
                "every case ran, the allocator check, the tf32 and bf16 cases and theirs, the local steps (float32 and bf16), the bf16 train run,"
                        + " the residual step and the bad arguments");
        assertEquals(tf32, out.stream().filter(l -> l.contains(" tf32 ")).count(), "each tf32 case printed once");
        assertEquals(bf16, out.stream().filter(l -> l.contains(" bf16 ")).count(), "each bf16 case printed once");
        assertTrue(out.get(out.size() - 7).startsWith("ok   allocator"), out.get(out.size() - 7));
        assertTrue(out.get(out.size() - 6).startsWith("ok   local steps"), out.get(out.size() - 6));
        assertTrue(out.get(out.size() - 5).startsWith("ok   bf16-activation local step"), out.get(out.size() - 5));
        assertTrue(out.get(out.size() - 4).startsWith("ok   train --precision bf16:"), out.get(out.size() - 4));
        assertTrue(out.get(out.size() - 3).startsWith("ok   residual local step"), out.get(out.size() - 3));
        assertTrue(out.get(out.size() - 2).startsWith("ok   bad arguments"), out.get(out.size() - 2));
        List<String> failed = new ArrayList<>();
        for (String line : out.subList(1, out.size() - 1)) if (!line.startsWith("ok ")) failed.add(line);
        assertTrue(failed.isEmpty(), failed.size() + " of " + cases + " cases differ from the CPU:\n" + String.join("\n", failed));
    }

    /**
     * train --stages on CUDA, mlp and vgg6b with 2 and 3 stages, against the same run in sequence
     * (EmulatedPipelineMain says what each line checks), after the two orderings by event by hand;
     * then on three emulated GPUs, whose driver refuses any op in one device's context on another's
     * memory: the device check by hand, the mlp (2 GPUs, 3 GPUs, 3 stages on 2) and vgg6b (2 GPUs)
     * by peer copies, and the mlp on 2 GPUs without peer access, through the host, against the
     * same runs in sequence on one GPU.
     */
    @Test void pipelinedRunsOnStreamsAndOnGpusEqualTheSequenceOnCuda() throws IOException, InterruptedException {
        Path dir = tmp.resolve("runs");
        Process p = child(EmulatedPipelineMain.class, Map.of("EMU_DEVICES", "3"), "streams", dir.toString());
        assertAllOk(lines(p), p, 2 + EmulatedPipelineMain.RUNS.length + 1 + EmulatedPipelineMain.GPU_RUNS.length + 1);
        Process host = child(EmulatedPipelineMain.class, Map.of("EMU_DEVICES", "3", "EMU_NO_PEER", "1"), "host", dir.toString());
        assertAllOk(lines(host), host, EmulatedPipelineMain.HOST_RUNS.length);
    }

    /** The child exited 0 and printed {@code checks} lines "ok ..." and none "FAIL ...". */
    private static void assertAllOk(List<String> out, Process p, int checks) {
        assertEquals(0, p.exitValue(), String.join("\n", out));
        List<String> results = out.stream().filter(l -> l.startsWith("ok ") || l.startsWith("FAIL")).toList();
        assertEquals(checks, results.size(), String.join("\n", out));
        for (String c : results) assertTrue(c.startsWith("ok "), String.join("\n", out));
    }

    /**
     * The stage on GPU 1 fails a launch in epoch 2: one line, exit 2, no hang, and the checkpoint of
     * epoch 1 is intact: its tensors are those of one epoch in sequence on one GPU.
     */
    @Test void aFailingStageOnGpuOneKeepsTheLastCheckpoint() throws IOException, InterruptedException {
        Path dir = tmp.resolve("failed-gpu");
        // stream 4 is lane 1's on GPU 1 (each GPU makes a stream per lane, GPU 0 first); its launch 320 is in epoch 2 of 3 steps each
        assertFailedOnce(child(EmulatedPipelineMain.class, Map.of("EMU_DEVICES", "2", "EMU_FAIL_LAUNCH", "4:320"), "fail-gpu", dir.toString()), "320 of stream 4");
        assertEquals(1, Files.readAllLines(dir.resolve("failed/metrics.jsonl")).size(), "epoch 1 finished, epoch 2 did not");
        var kept = SafeTensors.read(dir.resolve("failed/checkpoint.safetensors")).tensors();
        var straight = SafeTensors.read(dir.resolve("seq/checkpoint.safetensors")).tensors();
        assertEquals(straight.keySet(), kept.keySet());
        for (String k : straight.keySet()) assertArrayEquals(straight.get(k).values(), kept.get(k).values(), k);
    }

    /** A GPU that does not exist, more GPUs than stages, tf32 or bf16 on a GPU without tensor cores: one line each, exit 2. */
    @Test void badDeviceListsAreOneLineAndExitTwo() throws IOException, InterruptedException {
        Process p = child(EmulatedPipelineMain.class, Map.of("EMU_DEVICES", "3", "EMU_OLD_DEVICE", "1"), "bad", tmp.resolve("bad").toString());
        assertAllOk(lines(p), p, EmulatedPipelineMain.BAD.length);
        assertTrue(Files.notExists(tmp.resolve("bad/checkpoint.safetensors")), "nothing trained");
    }

    /** A launch of stage 1 fails mid-epoch: every stage stops, one line, exit 2, no checkpoint, no hang. */
    @Test void aFailingStageOnCudaIsOneLineAndExitTwo() throws IOException, InterruptedException {
        Path out = tmp.resolve("failed");
        assertFailedOnce(child(EmulatedPipelineMain.class, Map.of("EMU_FAIL_LAUNCH", "2:30"), "fail", out.toString()), "30 of stream 2");
        assertTrue(Files.notExists(out.resolve("checkpoint.safetensors")), "nothing saved");
    }

    /** The child exited 2 with one error line, the failed launch's, after the emulator failed launch {@code launch} ("30 of stream 2"). */
    private static void assertFailedOnce(Process p, String launch) throws IOException, InterruptedException {
        List<String> lines = lines(p);
        assertEquals(2, p.exitValue(), String.join("\n", lines));
        // the run's description line, then the one error line
        List<String> errors = lines.stream().filter(l -> l.startsWith("locallearn train:") && !l.contains(" -> ")).toList();
        assertEquals(1, errors.size(), String.join("\n", lines));
        assertTrue(errors.get(0).contains("CUDA_ERROR_LAUNCH_FAILED"), errors.get(0));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("emulated driver: EMU_FAIL_LAUNCH fails launch " + launch)), String.join("\n", lines));
    }
}
