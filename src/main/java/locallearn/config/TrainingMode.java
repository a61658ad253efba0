package locallearn.config;

import locallearn.backend.Backend;

/**
 * How the hidden blocks of a network learn: the one place the training mode lives. Parsed once
 * (from flags, a benchmark's mode or a checkpoint) and read by the model builder (which blocks
 * get local heads), the blocks (detached or not, sliced or held) and the trainer (which blocks
 * step, over which tape).
 *
 * <ul>
 *   <li>{@link Local}: the paper's method. Each block learns from its own losses on a detached
 *       input and updates at once; the output layer learns from the cross-entropy.</li>
 *   <li>{@link Greedy}: the same losses, one block at a time: each trains for the run's epochs with
 *       the blocks before it frozen; the output layer trains with the last block.</li>
 *   <li>{@link Global}: ordinary backprop of the output's cross-entropy through every layer; no
 *       local heads.</li>
 *   <li>{@link GlobalAndLocal}: backprop of the output loss and every block's local loss together,
 *       without detaching (the paper's "glob+sim" columns).</li>
 * </ul>
 *
 * <p>The detached modes carry the conv blocks' memory strategy, {@code memoryChunks}: 0 holds the
 * sim head's output and rebuilds the encoder's output once for batch norm's backward (fastest);
 * N > 0 holds only a block's input and output and rebuilds the rest in N slices of the batch
 * (SlicedStep: slower than held, for about half its peak); {@link #AUTO_MEMORY_CHUNKS} picks per
 * device ({@link #memoryChunksOn}).
 */
public sealed interface TrainingMode {

    record Local(int memoryChunks) implements TrainingMode {
        public Local { checkChunks(memoryChunks); }
    }

    record Greedy(int memoryChunks) implements TrainingMode {
        public Greedy { checkChunks(memoryChunks); }
    }

    record Global() implements TrainingMode {
        @Override public int memoryChunks() { return 0; }
    }

    record GlobalAndLocal() implements TrainingMode {
        @Override public int memoryChunks() { return 0; }
    }

    /** The paper's local training, conv blocks' memory picked per device. */
    static TrainingMode local() { return new Local(AUTO_MEMORY_CHUNKS); }

    static TrainingMode greedy() { return new Greedy(AUTO_MEMORY_CHUNKS); }

    static TrainingMode global() { return new Global(); }

    static TrainingMode globalAndLocal() { return new GlobalAndLocal(); }

    /** Slices of a conv block's local step: a count, 0 (held) or {@link #AUTO_MEMORY_CHUNKS}; 0 in the modes that hold everything anyway. */
    int memoryChunks();

    /** Do the blocks have local heads and losses? */
    default boolean hasLocalLosses() { return !(this instanceof Global); }

    /** Does each block learn on its own, from a detached input (Local, Greedy)? */
    default boolean detached() { return this instanceof Local || this instanceof Greedy; }

    /**
     * The same mode with the conv blocks' memory strategy set. Only the detached modes have one;
     * the global modes hold everything for their one backward anyway and stay as they are.
     */
    default TrainingMode withMemoryChunks(int chunks) {
        return switch (this) {
            case Local l -> new Local(chunks);
            case Greedy g -> new Greedy(chunks);
            default -> this;
        };
    }

    /** The mode's name as {@link #parse} reads it: local, greedy, global or global+local. */
    default String text() {
        return switch (this) {
            case Local l -> "local";
            case Greedy g -> "greedy";
            case Global g -> "global";
            case GlobalAndLocal g -> "global+local";
        };
    }

    /** A mode by name (see {@link #text}), with the memory strategy picked per device. */
    static TrainingMode parse(String text) {
        return switch (text) {
            case "local" -> local();
            case "greedy" -> greedy();
            case "global" -> global();
            case "global+local" -> globalAndLocal();
            default -> throw new IllegalArgumentException("training mode must be local, greedy, global or global+local, got '" + text + "'");
        };
    }

    /** memoryChunks that picks per device: see {@link #memoryChunksOn}. */
    int AUTO_MEMORY_CHUNKS = -1;

    /** Slices on the CPU under AUTO_MEMORY_CHUNKS, at most (see {@link #sliceImages}). */
    int CPU_MEMORY_CHUNKS = 16;

    /** Images a slice holds at least under AUTO_MEMORY_CHUNKS (see {@link #sliceImages}). */
    int AUTO_MIN_SLICE = 8;

    /**
     * The slices a conv block's local step uses on {@code backend}, at most. AUTO: 16 on the CPU
     * (slices of at least 8 images: {@link #sliceImages}); 0 (held) on CUDA, where the step is
     * short and each slice adds kernel launches (README, "How memory is counted", has the
     * measured trade).
     */
    default int memoryChunksOn(Backend backend) {
        if (memoryChunks() != AUTO_MEMORY_CHUNKS) return memoryChunks();
        return backend.name().equals("cpu") ? CPU_MEMORY_CHUNKS : 0;
    }

    /**
     * Images per slice when a batch of {@code nb} is cut into {@code chunks} slices: nb / chunks
     * rounded up, and under AUTO at least AUTO_MIN_SLICE, so a small batch gets fewer slices
     * (batch 128: 16 slices of 8, batch 32: 4 of 8): a slice's convolutions run as fast per image
     * as the batch's only while they have enough work.
     */
    default int sliceImages(int chunks, int nb) {
        int slice = (nb + chunks - 1) / chunks;
        return memoryChunks() == AUTO_MEMORY_CHUNKS ? Math.max(slice, Math.min(nb, AUTO_MIN_SLICE)) : slice;
    }

    /** --memory-chunks' text: "auto" or a count >= 0. */
    static int parseMemoryChunks(String text) {
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
    default String memoryChunksText() { return memoryChunks() == AUTO_MEMORY_CHUNKS ? "auto" : String.valueOf(memoryChunks()); }

    private static void checkChunks(int chunks) {
        if (chunks < 0 && chunks != AUTO_MEMORY_CHUNKS) throw new IllegalArgumentException("memory-chunks must be >= 0 or auto, got " + chunks);
    }
}
