package locallearn.backend.cuda.kernels;

import java.util.List;
import locallearn.backend.SelfTest;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;

/**
 * The child JVM of {@link EmulatedGpuTest}: the whole selftest, CPU against CudaBackend, where
 * libcuda.so.1 is the emulating stand-in. Prints one line per case and a last line "done N".
 */
public final class EmulatedGpuMain {
    private EmulatedGpuMain() {}

    public static void main(String[] args) {
        SelfTest test = new SelfTest(Long.parseLong(args[0]));
        // our gemm and conv kernels: there is no cuBLAS or cuDNN behind a stand-in driver
        try (CudaBackend gpu = CudaBackend.open(0, true)) {
            System.out.println("device: " + gpu.describe());
            List<SelfTest.Line> lines = test.run(new CpuBackend(), gpu, op -> true, l -> System.out.println(l.format()));
            System.out.println("done " + lines.size());
        }
    }
}
