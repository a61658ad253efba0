package locallearn.backend;

import locallearn.backend.cpu.CpuBackend;

/** Picks the backend for {@code --device}: every command goes through here. */
public final class Backends {
    private Backends() {}

    /** "cpu", or "auto" (the GPU when this build has one, else the CPU); "cuda" fails until the CUDA backend is wired in. */
    public static Backend create(String device) {
        return switch (device == null ? "auto" : device) {
            case "cpu", "auto" -> new CpuBackend();
            case "cuda" -> throw new IllegalArgumentException("cuda backend not available in this build");
            default -> throw new IllegalArgumentException("unknown device '" + device + "' (expected auto, cpu or cuda)");
        };
    }
}
