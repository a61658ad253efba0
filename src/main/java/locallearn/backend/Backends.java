package locallearn.backend;

import java.util.function.Consumer;
import locallearn.backend.ConvAlgorithm;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.CudaUnavailableException;
import locallearn.config.Precision;

/** Picks the backend for {@code --device}: every command goes through here. */
public final class Backends {
    private Backends() {}

    /** The GPU when one is there and the kernels are built, else the CPU (see {@link #create(String, Consumer)}). */
    public static Backend auto() { return create("auto"); }

    /** The CPU backend: the reference, on every core. */
    public static Backend cpu() { return create("cpu"); }

    /** As {@link #create(String, Consumer)}, with the fallback notice going to the logger. */
    public static Backend create(String device) {
        System.Logger log = System.getLogger(Backends.class.getName());
        return create(device, msg -> log.log(System.Logger.Level.WARNING, msg));
    }

    /**
     * "cpu"; "cuda" (GPU 0, or "cuda:N"), which fails with the reason in one line when there is no
     * usable GPU; "auto", the GPU when one is there and the kernels are built, else the CPU, with
     * a {@code notice} saying why when a GPU was found but could not be used.
     */
    public static Backend create(String device, Consumer<String> notice) { return create(device, ConvAlgorithm.fromProperty(), notice); }

    /** As {@link #create(String, Consumer)}, with the CPU backend's convolution algorithm given (ignored on CUDA). */
    public static Backend create(String device, ConvAlgorithm cpuConv, Consumer<String> notice) {
        return create(device, cpuConv, Precision.FP32, notice);
    }

    /**
     * As {@link #create(String, Consumer)}, with the CPU backend's convolution algorithm and the
     * precision: TF32 rounds the inputs of gemm and convolution on the CPU and allows tensor-op
     * math in cuBLAS, cuDNN and our kernels on the GPU; BF16 stores activations in bfloat16 on
     * either. On the GPU both need compute capability 8.0 or newer (an older one is an
     * IllegalArgumentException, not a fallback to the CPU).
     */
    public static Backend create(String device, ConvAlgorithm cpuConv, Precision precision, Consumer<String> notice) {
        if (isDeviceList(device))
            throw new IllegalArgumentException("device list '" + device + "' is for a pipeline (--pipeline S, or train --stages), a stage on each GPU; give one device");
        return open(device, cpuConv, precision, notice);
    }

    /** As {@link #create(String, ConvAlgorithm, Precision, Consumer)}, and a list "cuda:0,cuda:1,..." of distinct GPUs: a pipeline's stages go onto them. */
    public static Backend forPipeline(String device, ConvAlgorithm cpuConv, Precision precision, Consumer<String> notice) {
        return open(device, cpuConv, precision, notice);
    }

    private static Backend open(String device, ConvAlgorithm cpuConv, Precision precision, Consumer<String> notice) {
        String d = device == null ? "auto" : device;
        if (d.equals("cpu")) return new CpuBackend(cpuConv, precision);
        if (d.equals("cuda") || d.startsWith("cuda:")) {
            try {
                return CudaBackend.open(ordinals(d), false, precision);
            } catch (CudaUnavailableException e) {
                throw new CudaUnavailableException("cuda backend not available: " + e.getMessage(), e);
            }
        }
        if (d.equals("auto")) {
            if (!CudaContext.probeDevice().found()) return new CpuBackend(cpuConv, precision);
            try {
                return CudaBackend.open(0, false, precision);
            } catch (CudaUnavailableException e) {
                notice.accept("GPU found but not usable (" + e.getMessage() + "); running on the CPU");
                return new CpuBackend(cpuConv, precision);
            }
        }
        throw new IllegalArgumentException("unknown device '" + device + "' (expected auto, cpu, cuda or cuda:N)");
    }

    /** Is {@code device} a list of GPUs ("cuda:0,cuda:1"), for a pipeline's stages? */
    private static boolean isDeviceList(String device) { return device != null && device.contains(","); }

    /** "cuda:0,cuda:2" -> {0, 2}: distinct GPU numbers, each written cuda:N. */
    private static int[] ordinals(String d) {
        if (!isDeviceList(d)) return new int[] {ordinal(d)};
        String[] parts = d.split(",", -1);
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!parts[i].startsWith("cuda:"))
                throw new IllegalArgumentException("bad device list '" + d + "': each entry is cuda:N (a GPU number), '" + parts[i] + "' is not");
            out[i] = ordinal(parts[i]);
            for (int j = 0; j < i; j++)
                if (out[j] == out[i]) throw new IllegalArgumentException("device list '" + d + "' names cuda:" + out[i] + " twice: a GPU takes one stage");
        }
        return out;
    }

    private static int ordinal(String d) {
        if (d.equals("cuda")) return 0;
        try {
            int n = Integer.parseInt(d.substring(5));
            if (n >= 0) return n;
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        throw new IllegalArgumentException("bad device '" + d + "' (expected cuda:N with N a GPU number)");
    }
}
