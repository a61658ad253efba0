package locallearn.backend.cuda;

/**
 * The CUDA backend cannot run here: no driver, no device, kernels not built. The message is one
 * line a person can act on; {@code --device auto} catches it and falls back to the CPU.
 */
public final class CudaUnavailableException extends IllegalStateException {
    public CudaUnavailableException(String reason) { super(reason); }

    public CudaUnavailableException(String reason, Throwable cause) { super(reason, cause); }
}
