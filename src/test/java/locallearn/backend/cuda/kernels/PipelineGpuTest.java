package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import locallearn.backend.cuda.CudaContext;
import locallearn.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * EmulatedPipelineMain's runs on a real GPU, with cuBLAS and cuDNN where they load (each stage
 * with handles of its own): train --stages against the run in sequence, within its tolerance.
 * Skipped, with the probe's reason, where there is no GPU or no built kernels.
 */
class PipelineGpuTest {
    @Test void pipelinedRunsOnAGpuMatchTheSequence(@TempDir Path dir) throws Exception {
        CudaContext.Probe probe = CudaContext.probeDevice();
        assumeTrue(probe.found(), () -> "no GPU, skipped: " + probe.line());
        assumeTrue(CudaContext.kernelsBuilt(), "kernels not built (no nvcc), skipped");
        String[][] runs = EmulatedPipelineMain.RUNS;
        for (int i = 0; i < runs.length; i++) {
            Path seq = dir.resolve("seq" + (runs[i][2].equals("same") ? i - 1 : i)), pipe = dir.resolve("pipe" + i);
            if (!runs[i][2].equals("same")) assertEquals(0, Main.run(EmulatedPipelineMain.trainArgs(seq, runs[i][0])), runs[i][0]);
            String flags = runs[i][0] + " --stages " + runs[i][1];
            assertEquals(0, Main.run(EmulatedPipelineMain.trainArgs(pipe, flags)), flags);
            String line = EmulatedPipelineMain.compare(flags, seq, pipe, EmulatedPipelineMain.onOneGpu(runs[i][1]), null);
            assertTrue(line.startsWith("ok "), line);
        }
    }

    /** EmulatedPipelineMain's runs on two GPUs (peer copies where the GPUs have peer access), against the run in sequence on one. */
    @Test void pipelinedRunsOnTwoGpusMatchTheSequence(@TempDir Path dir) throws Exception {
        CudaContext.Probe probe = CudaContext.probeDevice();
        assumeTrue(probe.found() && !probe.line().endsWith(" 1 device"), () -> "fewer than two GPUs, skipped: " + probe.line());
        assumeTrue(CudaContext.kernelsBuilt(), "kernels not built (no nvcc), skipped");
        for (String model : new String[] {EmulatedPipelineMain.MLP, EmulatedPipelineMain.VGG}) {
            Path seq = dir.resolve("seq" + model.hashCode());
            assertEquals(0, Main.run(EmulatedPipelineMain.trainArgs(seq, model)), model);
            int i = 0;
            for (String[] run : EmulatedPipelineMain.GPU_RUNS) {
                if (!run[0].equals(model) || !run[2].equals("cuda:0,cuda:1")) continue;
                Path pipe = dir.resolve("pipe" + model.hashCode() + "-" + i++);
                String flags = model + " --stages " + run[1];
                assertEquals(0, Main.run(EmulatedPipelineMain.trainArgs(pipe, flags, run[2])), flags);
                String line = EmulatedPipelineMain.compare(flags + " --device " + run[2], seq, pipe, run[3], null);
                assertTrue(line.startsWith("ok "), line);
            }
        }
    }
}
