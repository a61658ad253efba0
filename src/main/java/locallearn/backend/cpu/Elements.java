package locallearn.backend.cpu;

import locallearn.tensor.DType;
import locallearn.tensor.Tensor;

/**
 * A tensor argument of an op that visits its elements in an order of its own (batch norm: a
 * channel's planes across the batch, or a row's run of channels), seen as runs of floats that the
 * op loads and stores itself through a {@link Tile}: a float32 tensor's runs are its own array,
 * nothing copied; a bf16 tensor's pass through a small float array of the thread, widened on
 * load and rounded to nearest even on store ({@link Bf16}), so the op's float loops run the same
 * arithmetic on either and every bf16 value it writes is rounded once.
 */
final class Elements {
    private final float[] floats;
    private final short[] halves;

    private Elements(float[] floats, short[] halves) {
        this.floats = floats;
        this.halves = halves;
    }

    static Elements of(float[] floats) { return new Elements(floats, null); }

    /** A live CPU tensor's elements, float32 or bf16. */
    static Elements of(Tensor t) {
        CpuStorage s = (CpuStorage) t.storage();
        return t.dtype() == DType.F32 ? of(s.floats()) : new Elements(null, s.halves());
    }

    /**
     * How many of {@code units} consecutive units of {@code size} elements an op takes in one run:
     * all of them for float32, which copies nothing; for bf16 as many as fit {@link Bf16#CHUNK}
     * elements, at least one, so the tiles stay in L1.
     */
    int runUnits(int units, int size) { return floats != null ? units : Math.max(1, Math.min(units, Bf16.CHUNK / size)); }

    /** A tile for runs of at most {@code capacity} elements, for the calling thread only. */
    Tile tile(int capacity) { return new Tile(capacity); }

    /**
     * Where the op finds a run of the elements: {@code a[load(from, n) + i]} is element from + i.
     * Tiles of one op's arguments put a run of the same elements at the same index, so the op
     * passes one offset for all of them.
     */
    final class Tile {
        final float[] a;
        private int from, n;

        private Tile(int capacity) { a = floats != null ? floats : new float[capacity]; }

        /** Makes elements [from, from + n) readable; returns the index of the first in {@link #a}. */
        int load(int from, int n) {
            int o = open(from, n);
            if (halves != null) Bf16.widenRun(halves, from, a, 0, n);
            return o;
        }

        /** Makes elements [from, from + n) writable, unread: the op writes all of them, then {@link #store}s. */
        int open(int from, int n) {
            this.from = from;
            this.n = n;
            return floats != null ? from : 0;
        }

        /** Rounds the opened run back into the bf16 storage (float32 was written in place). */
        void store() {
            if (halves != null) Bf16.roundRun(a, 0, halves, from, n);
        }
    }
}
