package locallearn.backend;

/**
 * How the CPU backend computes convolutions: {@code AUTO} picks per geometry by a fixed rule
 * (see CpuBackend.winogradTile), {@code DIRECT} is always the implicit GEMM, {@code WINOGRAD}
 * uses Winograd wherever it can (3x3, stride 1) and the implicit GEMM elsewhere.
 */
public enum ConvAlgorithm {
    AUTO, DIRECT, WINOGRAD;

    /** "auto", "direct" or "winograd". */
    public static ConvAlgorithm parse(String s) {
        return switch (s) {
            case "auto" -> AUTO;
            case "direct" -> DIRECT;
            case "winograd" -> WINOGRAD;
            default -> throw new IllegalArgumentException("must be auto, direct or winograd, got '" + s + "'");
        };
    }

    /** The property {@code locallearn.cpuConv} (auto when unset). */
    public static ConvAlgorithm fromProperty() {
        String v = System.getProperty("locallearn.cpuConv", "auto");
        try {
            return parse(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("property locallearn.cpuConv " + e.getMessage());
        }
    }

    /** The lower-case name, as parse takes it. */
    public String flag() { return name().toLowerCase(java.util.Locale.ROOT); }
}
