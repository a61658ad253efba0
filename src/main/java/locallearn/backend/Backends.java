package locallearn.backend;

import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;
import locallearn.backend.cuda.CudaUnavailableException;

/** Picks the backend for {@code --device}: every command goes through here. */
public final class Backends {
    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    private Backends() {}

    /**
     * "cpu"; "cuda" (GPU 0; {@link CudaUnavailableException} "cuda backend not available: REASON"
     * when there is no usable GPU, driver or kernels); or "auto": the GPU when it opens, else the
     * CPU with a logged notice that says why.
     */
    public static Backend create(String device) {
        return switch (device == null ? "auto" : device) {
            case "cpu" -> new CpuBackend();
            case "cuda" -> {
                try {
                    yield CudaBackend.open(0);
                } catch (CudaUnavailableException e) {
                    throw new CudaUnavailableException("cuda backend not available: " + e.getMessage(), e);
                }
            }
            case "auto" -> {
                try {
                    yield CudaBackend.open(0);
                } catch (CudaUnavailableException e) {
                    LOG.log(System.Logger.Level.INFO, "--device auto: using the CPU, no GPU: " + e.getMessage());
                    yield new CpuBackend();
                }
            }
            default -> throw new IllegalArgumentException("unknown device '" + device + "' (expected auto, cpu or cuda)");
        };
    }
}
