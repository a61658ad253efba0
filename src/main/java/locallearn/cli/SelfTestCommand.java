package locallearn.cli;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import locallearn.backend.SelfTest;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;
import locallearn.config.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code locallearn selftest}: every op on the GPU against its CPU twin, one line per case (op,
 * shapes, max abs error, tolerance, ok/FAIL with the first mismatching indices), then gemm and
 * the convolutions in tf32 and every op on bf16 activations (on compute capability 8.0 and newer). Exit code 0 when
 * all pass, 1 on any mismatch, 2 when there is no usable GPU.
 */
@Command(name = "selftest", mixinStandardHelpOptions = true, description = "Run every op on the GPU and on the CPU from the same inputs and compare them; exit 1 on any mismatch.")
final class SelfTestCommand implements Callable<Integer> {
    @Option(names = "--device", defaultValue = "cuda", description = "device checked against the CPU reference: cuda (default)")
    String device;

    @Option(names = "--gpu", defaultValue = "0", description = "GPU ordinal (default 0)")
    int ordinal;

    @Option(names = "--provider", defaultValue = "both",
            description = "gemm/conv path: library (cuBLAS/cuDNN where they load), own (our kernels), both (default: everything, then gemm/conv/similarity again on our kernels)")
    String provider;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the random inputs (default 1)")
    long seed;

    @Option(names = "--op", description = "only cases whose op name contains this text")
    String op;

    /** The first case whose error is a sticky CUDA fault, after which the context is unusable. */
    private String firstFault;

    private void print(SelfTest.Line l) {
        System.out.println(l.format());
        if (firstFault == null && !l.ok() && STICKY.matcher(l.detail()).find()) firstFault = l.op() + " " + l.shape();
    }

    private static final java.util.regex.Pattern STICKY =
            java.util.regex.Pattern.compile("CUDA_ERROR_(ILLEGAL_ADDRESS|LAUNCH_FAILED|ILLEGAL_INSTRUCTION|MISALIGNED_ADDRESS|INVALID_PC|HARDWARE_STACK_ERROR|ASSERT)");

    @Override public Integer call() {
        if (!device.equals("cuda"))
            throw new UserError("--device " + device + " is not checkable; the selftest compares cuda against the CPU reference");
        if (!List.of("library", "own", "both").contains(provider))
            throw new UserError("--provider " + provider + " is not one of library, own, both");
        Predicate<String> filter = op == null ? name -> true : name -> name.contains(op);
        SelfTest test = new SelfTest(seed);
        CpuBackend cpu = new CpuBackend();
        int run = 0, failed = 0;
        try (CudaBackend gpu = CudaBackend.open(ordinal, provider.equals("own"))) {
            System.out.println("selftest: " + gpu.describe());
            System.out.println("selftest: reference " + cpu.describe() + "; " + test.size() + " cases, seed " + seed);
            System.out.println("selftest: " + SelfTest.LEGEND);
            List<SelfTest.Line> lines = test.run(cpu, gpu, filter, this::print);
            run += lines.size();
            failed += (int) lines.stream().filter(l -> !l.ok()).count();
            if (provider.equals("both")) {
                System.out.println("selftest: gemm, conv2d and similarity again on our own kernels (no cuBLAS/cuDNN)");
                try (CudaBackend own = gpu.withOwnKernels()) {
                    lines = test.run(cpu, own, filter.and(SelfTest.USES_PROVIDERS), l -> {
                        System.out.print("[own] ");
                        print(l);
                    });
                }
                run += lines.size();
                failed += (int) lines.stream().filter(l -> !l.ok()).count();
            }
            // tf32: gemm and conv2d with tensor-op math against the CPU twin's TF32 rounding
            CpuBackend cpuTf32 = new CpuBackend(cpu.convAlgorithm(), Precision.TF32);
            boolean own = provider.equals("own");
            try (CudaBackend tf32 = gpu.withPrecision(Precision.TF32)) {
                System.out.println("selftest: gemm and conv2d in tf32" + (own ? " on our own kernels" : " (cuBLAS/cuDNN where they load)")
                        + " against the CPU's TF32 rounding");
                lines = SelfTest.tf32(seed, own).run(cpuTf32, tf32, filter, this::print);
                run += lines.size();
                failed += (int) lines.stream().filter(l -> !l.ok()).count();
                if (provider.equals("both")) {
                    System.out.println("selftest: gemm and conv2d in tf32 on our own kernels, which round as the CPU does");
                    try (CudaBackend ownTf32 = tf32.withOwnKernels()) {
                        lines = SelfTest.tf32(seed, true).run(cpuTf32, ownTf32, filter, l -> {
                            System.out.print("[own] ");
                            print(l);
                        });
                    }
                    run += lines.size();
                    failed += (int) lines.stream().filter(l -> !l.ok()).count();
                }
            } catch (IllegalArgumentException e) { // a GPU before compute capability 8.0
                System.out.println("selftest: tf32 cases skipped: " + e.getMessage());
            }
            // bf16: every op on bf16 activations; gemm and conv2d on our kernels (cuBLAS/cuDNN take float32 only, for now)
            try (CudaBackend bf16 = gpu.withPrecision(Precision.BF16)) {
                System.out.println("selftest: every op on bf16 activations against the CPU twin on bf16 tensors");
                lines = SelfTest.bf16(seed).run(new CpuBackend(cpu.convAlgorithm(), Precision.BF16), bf16, filter, this::print);
                run += lines.size();
                failed += (int) lines.stream().filter(l -> !l.ok()).count();
            } catch (IllegalArgumentException e) { // a GPU before compute capability 8.0
                System.out.println("selftest: bf16 cases skipped: " + e.getMessage());
            }
        }
        System.out.println("selftest: " + (run - failed) + " of " + run + " ok" + (failed > 0 ? ", " + failed + " FAILED" : ""));
        if (firstFault != null)
            System.out.println("selftest: the CUDA context was lost at " + firstFault + " (a kernel fault is sticky): later failures may follow"
                    + " from it; rerun that op alone with LOCALLEARN_CUDA_SYNC=1 locallearn selftest --op NAME");
        return failed == 0 ? 0 : 1;
    }
}
