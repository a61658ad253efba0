package locallearn.tensor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * One per device: hands out storage, keeps released blocks in a pool keyed by exact size for the
 * next request of that size, and accounts every byte. A training step asks for the same sizes
 * every time, so after the first step nothing reaches the device's real allocator.
 *
 * <p>The accounting is exact: {@code current} is the sum of {@code bytes} of the blocks handed
 * out and not yet released; sizes are what the subclass's {@link #blockBytes} rounds a request to
 * (the CPU rounds nothing). A block also counts for the lane (pipeline stage) of the thread that
 * acquired it, until it is released, by whichever thread: what a stage holds, its activations
 * in flight to the next stage included.
 *
 * <p>A pooled block goes first to the lane that released it; a device whose lanes run
 * asynchronously (CUDA's streams) orders a block's reuse by another lane after its last use
 * through {@link #released} and {@link #reused}.
 */
public abstract class PooledAllocator<S extends Storage> {
    private final Map<Long, ArrayDeque<S>> pool = new HashMap<>();
    private long current, peak, reserved;
    private long[] laneCurrent = new long[0], lanePeak = new long[0];
    private static final ThreadLocal<Integer> LANE = new ThreadLocal<>();

    /** For a device's allocator, which says how it gets and frees blocks. */
    protected PooledAllocator() {}

    /** Size of the block that serves a request of {@code bytes}. */
    protected long blockBytes(long bytes) { return bytes; }

    /** Gets fresh memory from the device; may throw {@link OutOfMemoryError}-like exceptions. */
    protected abstract S create(long bytes);

    /** Gives memory back to the device. */
    protected abstract void destroy(S s);

    public final synchronized S acquire(long requestBytes) {
        long bytes = blockBytes(requestBytes);
        ArrayDeque<S> free = pool.get(bytes);
        Integer lane = LANE.get();
        S s = free == null ? null : take(free, lane == null ? -1 : lane);
        if (s != null) {
            reused(s);
        } else {
            try {
                s = create(bytes);
            } catch (RuntimeException | OutOfMemoryError e) {
                // give the pool back to the device and try once more before failing
                trim();
                s = create(bytes);
            }
            reserved += bytes;
        }
        s.markReleased(false);
        current += bytes;
        peak = Math.max(peak, current);
        s.lane = lane == null ? -1 : lane;
        if (lane != null) {
            if (lane >= laneCurrent.length) {
                laneCurrent = java.util.Arrays.copyOf(laneCurrent, lane + 1);
                lanePeak = java.util.Arrays.copyOf(lanePeak, lane + 1);
            }
            laneCurrent[lane] += bytes;
            lanePeak[lane] = Math.max(lanePeak[lane], laneCurrent[lane]);
        }
        return s;
    }

    public final synchronized void release(S s) {
        if (s.released()) return;
        s.markReleased(true);
        current -= s.bytes;
        if (s.lane >= 0) laneCurrent[s.lane] -= s.bytes;
        Integer lane = LANE.get();
        s.releasedBy = lane == null ? -1 : lane;
        released(s);
        pool.computeIfAbsent(s.bytes, k -> new ArrayDeque<>()).push(s);
    }

    /** The most recently pooled block that {@code lane} released, else the most recent of all. */
    private S take(ArrayDeque<S> free, int lane) {
        for (Iterator<S> it = free.iterator(); it.hasNext(); ) {
            S s = it.next();
            if (s.releasedBy == lane) {
                it.remove();
                return s;
            }
        }
        return free.poll();
    }

    /** Called on the releasing thread as {@code s} goes back to the pool (CUDA records an event on that thread's stream). */
    protected void released(S s) {}

    /** Called on the acquiring thread as pooled {@code s} is handed out again (CUDA waits there for another stream's event). */
    protected void reused(S s) {}

    /** Returns every pooled block to the device. */
    public final synchronized void trim() {
        for (ArrayDeque<S> q : pool.values()) {
            for (S s : q) {
                destroy(s);
                reserved -= s.bytes;
            }
        }
        pool.clear();
    }

    public final synchronized MemoryStats stats() { return new MemoryStats(current, peak, reserved); }

    /** Starts a new peak measurement from what is live now (each lane's too). */
    public final synchronized void resetPeak() {
        peak = current;
        lanePeak = laneCurrent.clone();
    }

    /**
     * Counts the calling thread's blocks for {@code lane} (>= 0) until {@link #leaveLane}; lanes
     * are numbered per process, for the allocators of all devices alike.
     */
    public static void enterLane(int lane) {
        if (lane < 0) throw new IllegalArgumentException("allocator: lane must be >= 0, got " + lane);
        LANE.set(lane);
    }

    public static void leaveLane() { LANE.remove(); }

    /** What the blocks of {@code lane} held: live now and at most since the last reset (reserved: the whole pool's). */
    public final synchronized MemoryStats laneStats(int lane) {
        return lane < laneCurrent.length ? new MemoryStats(laneCurrent[lane], lanePeak[lane], reserved) : new MemoryStats(0, 0, reserved);
    }
}
