package locallearn.local;

/**
 * How hidden blocks learn (paper-summary.md, "Losses"): which local loss, whether it is the
 * backprop-free variant, its weighting, and the sizes of its heads.
 *
 * @param kind         pred, sim or predsim
 * @param training     local (detached), global backprop, or global plus local (no detach)
 * @param bio          the backprop-free variants: fixed random target projection, no learned sim head, FA decoder
 * @param beta         weight of sim in predsim (0.99, backprop-free 0.01); the output loss is scaled by 1-beta
 * @param dimInDecoder the most inputs the pred head's decoder may have (sets the avg-pool of conv blocks)
 * @param targetProjSize width of the random target projection of the backprop-free variants
 * @param similarityStd replace conv feature maps by their std before the similarity matrix
 * @param memoryChunks  0: a conv block's local step holds its sim head's output and rebuilds the
 *                      encoder output once for batch norm's backward (fastest); N > 0: both are
 *                      rebuilt in N slices of the batch and never held whole, so the step keeps
 *                      about one block-sized tensor less, for two more encoder forwards and one
 *                      more sim-head forward (on a GPU the many small launches cost more than that)
 */
public record LossConfig(Kind kind, Training training, boolean bio, float beta, int dimInDecoder, int targetProjSize,
                         boolean similarityStd, int memoryChunks) {

    public enum Kind { PRED, SIM, PREDSIM }

    public enum Training { LOCAL, GLOBAL, GLOBAL_AND_LOCAL }

    public LossConfig {
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("beta must be in [0, 1], got " + beta);
        if (dimInDecoder < 1) throw new IllegalArgumentException("dim-in-decoder must be >= 1, got " + dimInDecoder);
        if (targetProjSize < 1) throw new IllegalArgumentException("target-proj-size must be >= 1, got " + targetProjSize);
        if (memoryChunks < 0) throw new IllegalArgumentException("memory-chunks must be >= 0, got " + memoryChunks);
    }

    /**
     * Slices of the local step's memory strategy by default: on an H200, vgg8b batch 128 predsim,
     * 4 keeps 0.59x global's activations at 1.15x PyTorch's speed; 0 keeps 0.63x at 1.78x; 8 keeps
     * 0.52x but falls to 0.98x (small launches).
     */
    public static final int DEFAULT_MEMORY_CHUNKS = 4;

    /** The paper's defaults for a kind: beta 0.99, or 0.01 for the backprop-free predsim. */
    public static LossConfig of(Kind kind, Training training, boolean bio) {
        return new LossConfig(kind, training, bio, bio ? 0.01f : 0.99f, 2048, 128, true, DEFAULT_MEMORY_CHUNKS);
    }

    /** The same losses with the local step's memory strategy set (see memoryChunks). */
    public LossConfig withMemoryChunks(int chunks) {
        return new LossConfig(kind, training, bio, beta, dimInDecoder, targetProjSize, similarityStd, chunks);
    }

    public boolean hasPred() { return training != Training.GLOBAL && kind != Kind.SIM; }

    public boolean hasSim() { return training != Training.GLOBAL && kind != Kind.PRED; }

    public boolean local() { return training != Training.GLOBAL; }

    /** Weight of the pred loss in a block's loss. */
    public float predWeight() { return kind == Kind.PREDSIM ? 1 - beta : 1; }

    /** Weight of the sim loss in a block's loss. */
    public float simWeight() { return kind == Kind.PREDSIM ? beta : 1; }

    /** Scale of the output layer's cross-entropy: 1 - beta in predsim, as the reference. */
    public float outputWeight() { return training != Training.GLOBAL && kind == Kind.PREDSIM ? 1 - beta : 1; }
}
