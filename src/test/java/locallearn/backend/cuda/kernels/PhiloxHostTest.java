package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import locallearn.backend.Philox;
import org.junit.jupiter.api.Test;

/**
 * kernels/common.cuh's Philox4x32-10 against Philox.java, bit for bit, without a GPU: the header's
 * generator is host-callable, so nvcc builds a small host program from it. Dropout masks and
 * augmentation on the GPU match the CPU only if this holds. Indices and seeds use both 32-bit
 * halves, so the key and counter layout is checked, not only the rounds. Skipped when there is no
 * nvcc (CI has one).
 */
class PhiloxHostTest {
    private static final long[] SEEDS = {0L, 42L, 0x9E3779B97F4A7C15L};
    private static final long[] STREAMS = {0L, 7L, 12345678901L};
    private static final long[] INDICES = {0L, 1L, 2L, 3L, 4L, 1234567L, 0x4_0000_0003L, 0x7FFF_FFFF_FFFF_FFFEL};

    private static Path nvcc() {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/local/cuda/bin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "nvcc");
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    @Test void commonCuhDrawsTheSameBitsAsPhiloxJava() throws IOException, InterruptedException {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc not found: common.cuh's Philox not compared with Philox.java");
        Path dir = Files.createTempDirectory("philox");
        Path src = dir.resolve("philox_host.cu"), exe = dir.resolve("philox_host");
        StringBuilder prog = new StringBuilder("#include \"common.cuh\"\n#include <cstdio>\nint main() {\n");
        for (long s : SEEDS)
            for (long t : STREAMS)
                for (long i : INDICES)
                    prog.append(String.format("  printf(\"%%u %%.9e\\n\", philox_bits(%sull, %sull, %sull), (double) philox_uniform(%sull, %sull, %sull));%n",
                            Long.toUnsignedString(s), Long.toUnsignedString(t), Long.toUnsignedString(i),
                            Long.toUnsignedString(s), Long.toUnsignedString(t), Long.toUnsignedString(i)));
        Files.writeString(src, prog.append("  return 0;\n}\n"));
        Process build = new ProcessBuilder(nvcc.toString(), "-I", Path.of("kernels").toAbsolutePath().toString(), "-o", exe.toString(), src.toString())
                .redirectErrorStream(true).start();
        String log = new String(build.getInputStream().readAllBytes());
        assertEquals(true, build.waitFor(120, TimeUnit.SECONDS) && build.exitValue() == 0, "nvcc failed: " + log);
        Process run = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
        List<String> lines = new String(run.getInputStream().readAllBytes()).lines().toList();
        run.waitFor(30, TimeUnit.SECONDS);
        int k = 0;
        for (long s : SEEDS)
            for (long t : STREAMS)
                for (long i : INDICES) {
                    String want = String.format("%d %.9e", Integer.toUnsignedLong(Philox.bits(s, t, i)), (double) Philox.uniform(s, t, i));
                    assertEquals(want, lines.get(k++), "seed " + s + " stream " + t + " index " + i);
                }
        assertEquals(SEEDS.length * STREAMS.length * INDICES.length, lines.size());
    }
}
