package locallearn.tensor;

/**
 * A block of memory on one device, handed out by that device's {@link PooledAllocator}.
 * {@code bytes} is what the block holds, the figure the allocator accounts.
 */
public abstract class Storage {
    public final long bytes;
    private boolean released;
    int lane = -1; // the pipeline lane whose thread acquired it, -1 for none (PooledAllocator's accounting)
    int releasedBy = -1; // the lane whose thread last released it, -1 for none: the pool hands it to that lane first

    protected Storage(long bytes) { this.bytes = bytes; }

    public final boolean released() { return released; }

    final void markReleased(boolean r) { released = r; }
}
