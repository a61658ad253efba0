package locallearn.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import locallearn.backend.cuda.CudaContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** What this machine gives the engine: JDK, cores, threads, memory, the GPU and the CUDA libraries in use. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the JDK, cores, threads, memory and GPU the engine sees.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override public Integer call() {
        Map<String, Object> info = facts();
        if (json) {
            System.out.println(Json.object(info));
        } else {
            info.forEach((k, v) -> System.out.printf("%-18s %s%n", k, v));
        }
        return 0;
    }

    static Map<String, Object> facts() {
        Runtime rt = Runtime.getRuntime();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", "0.1.0");
        m.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("cores", rt.availableProcessors());
        m.put("max_heap_bytes", rt.maxMemory());
        m.put("cpu_threads", locallearn.backend.cpu.CpuBackend.threads());
        m.put("vector_bits", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        gpu(m);
        return m;
    }

    /**
     * cuda: the probe's line (the device, or why there is none); kernels: which nvcc built the PTX;
     * providers: cuBLAS/cuDNN or our own kernels, only when a device can be opened.
     */
    static void gpu(Map<String, Object> m) {
        CudaContext.Probe probe = CudaContext.probeDevice();
        m.put("cuda", probe.line());
        String nvcc = CudaContext.nvccVersion();
        m.put("kernels", nvcc == null ? "not built (no nvcc when this jar was built)" : "PTX by nvcc " + nvcc.replaceFirst("^Build ", ""));
        if (!probe.found()) return;
        try (CudaContext ctx = CudaContext.open(0)) {
            m.put("providers", ctx.providers());
        } catch (IllegalStateException e) {
            m.put("providers", "unknown: " + e.getMessage());
        }
    }
}
