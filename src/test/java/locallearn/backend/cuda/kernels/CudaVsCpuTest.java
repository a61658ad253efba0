package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.stream.Collectors;
import locallearn.backend.SelfTest;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.CudaUnavailableException;
import org.junit.jupiter.api.Test;

/**
 * Every kernel against its CPU twin on the GPU: the selftest's cases (odd shapes, stated
 * tolerances, see {@link SelfTest}) through cuBLAS/cuDNN where they load, and the GEMM,
 * convolution and similarity cases again through our fallback kernels. Skipped, with the probe's
 * reason, on a machine without a usable GPU.
 */
class CudaVsCpuTest {

    private static List<String> failures(List<SelfTest.Line> lines) {
        return lines.stream().filter(l -> !l.ok()).map(SelfTest.Line::format).collect(Collectors.toCollection(java.util.ArrayList::new));
    }

    @Test void everyOpMatchesTheCpuThroughTheLibrariesAndThroughOurKernels() {
        assumeTrue(CudaContext.kernelsBuilt(), "kernels not built (no nvcc): CUDA kernels not compared with the CPU");
        CudaBackend opened = null;
        String why = null;
        try {
            opened = CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            why = e.getMessage();
        }
        assumeTrue(opened != null, "no GPU, CUDA kernels not compared with the CPU: " + why);
        SelfTest test = new SelfTest(7);
        CpuBackend cpu = new CpuBackend();
        try (CudaBackend gpu = opened) {
            List<SelfTest.Line> lines = test.run(cpu, gpu, op -> true, l -> {});
            assertTrue(lines.size() == test.size() + 1, "every case ran, and the allocator check");
            List<String> bad = failures(lines);
            try (CudaBackend own = gpu.withOwnKernels()) {
                List<SelfTest.Line> ownLines = test.run(cpu, own, SelfTest.USES_PROVIDERS, l -> {});
                assertTrue(!ownLines.isEmpty(), "the gemm/conv/similarity cases ran on our kernels");
                failures(ownLines).forEach(f -> bad.add("[own] " + f));
            }
            assertTrue(bad.isEmpty(), gpu.describe() + "\n" + String.join("\n", bad));
        }
    }
}
