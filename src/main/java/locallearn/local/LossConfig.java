package locallearn.local;

import locallearn.backend.Backend;

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
 * @param memoryChunks  how a conv block's local step trades compute for memory:
 *                      0 holds the sim head's output and rebuilds the encoder's output once for
 *                      batch norm's backward (fastest); N > 0 holds only the block's input and
 *                      output and rebuilds the rest in N slices of the batch (SlicedStep:
 *                      slower than held, for about half its peak);
 *                      {@link #AUTO_MEMORY_CHUNKS} picks per device ({@link #memoryChunksOn})
 */
public record LossConfig(Kind kind, Training training, boolean bio, float beta, int dimInDecoder, int targetProjSize,
                         boolean similarityStd, int memoryChunks) {

    public enum Kind { PRED, SIM, PREDSIM }

    public enum Training { LOCAL, GLOBAL, GLOBAL_AND_LOCAL }

    public LossConfig {
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("beta must be in [0, 1], got " + beta);
        if (dimInDecoder < 1) throw new IllegalArgumentException("dim-in-decoder must be >= 1, got " + dimInDecoder);
        if (targetProjSize < 1) throw new IllegalArgumentException("target-proj-size must be >= 1, got " + targetProjSize);
        if (memoryChunks < 0 && memoryChunks != AUTO_MEMORY_CHUNKS) throw new IllegalArgumentException("memory-chunks must be >= 0 or auto, got " + memoryChunks);
    }

    /** memoryChunks that picks per device: see {@link #memoryChunksOn}. */
    public static final int AUTO_MEMORY_CHUNKS = -1;

    /** Slices on the CPU under AUTO_MEMORY_CHUNKS, at most (see {@link #sliceImages}). */
    public static final int CPU_MEMORY_CHUNKS = 16;

    /** Images a slice holds at least under AUTO_MEMORY_CHUNKS (see {@link #sliceImages}). */
    public static final int AUTO_MIN_SLICE = 8;

    /**
     * Images per slice when a batch of {@code nb} is cut into {@code chunks} slices: nb / chunks
     * rounded up, and under AUTO at least AUTO_MIN_SLICE, so a small batch gets fewer slices
     * (batch 128: 16 slices of 8, batch 32: 4 of 8). A slice's convolutions run as fast per image
     * as the batch's only while they have enough work: on 2 CPU cores, vgg8b batch 32 predsim,
     * 16 slices of 2 images ran 3.5 images/s at 59 MiB of peak activation, 4 slices of 8 4.8 at
     * 77 MiB, the held step (0 slices) 8.1 at 115 MiB.
     */
    public int sliceImages(int chunks, int nb) {
        int slice = (nb + chunks - 1) / chunks;
        return memoryChunks == AUTO_MEMORY_CHUNKS ? Math.max(slice, Math.min(nb, AUTO_MIN_SLICE)) : slice;
    }

    /**
     * The slices a conv block's local step uses on {@code backend}, at most. AUTO: 16 on the CPU
     * (slices of at least 8 images: {@link #sliceImages}); 0 (held) on CUDA, where the step is short and each slice adds kernel launches (on an
     * H200, vgg8b batch 128 predsim: held 1.78x PyTorch's speed, 4 slices 1.15x, 8 slices 0.98x).
     */
    public int memoryChunksOn(Backend backend) {
        if (memoryChunks != AUTO_MEMORY_CHUNKS) return memoryChunks;
        return backend.name().equals("cpu") ? CPU_MEMORY_CHUNKS : 0;
    }

    /** --memory-chunks' text: "auto" or a count >= 0. */
    public static int parseMemoryChunks(String text) {
        if (text.equals("auto")) return AUTO_MEMORY_CHUNKS;
        try {
            int n = Integer.parseInt(text);
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("memory-chunks must be 'auto' or a count >= 0, got '" + text + "'");
    }

    /** memoryChunks as parseMemoryChunks reads it. */
    public String memoryChunksText() { return memoryChunks == AUTO_MEMORY_CHUNKS ? "auto" : String.valueOf(memoryChunks); }

    /** The paper's defaults for a kind: beta 0.99, or 0.01 for the backprop-free predsim. */
    public static LossConfig of(Kind kind, Training training, boolean bio) {
        return new LossConfig(kind, training, bio, bio ? 0.01f : 0.99f, 2048, 128, true, AUTO_MEMORY_CHUNKS);
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
