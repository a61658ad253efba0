package locallearn.tensor;

/**
 * What a device allocator holds, in bytes: {@code current} in live tensors, {@code peak} the most
 * that was ever live at once since the last reset, {@code reserved} live plus pooled (what the
 * process really holds on the device).
 */
public record MemoryStats(long current, long peak, long reserved) {}
