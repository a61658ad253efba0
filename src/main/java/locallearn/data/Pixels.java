package locallearn.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where a dataset's pixel values live: floats in [0, 1] on the heap (the readers of the paper's
 * datasets), or bytes 0..255 in a memory-mapped cache file (image folders, which may be larger
 * than the heap; the operating system pages them in as batches touch them). Either way an image
 * is read out as C*H*W floats, byte / 255 for the mapped kind, as the other readers store them.
 */
public sealed interface Pixels permits Pixels.Floats, Pixels.Mapped {

    /** The number of values (N*C*H*W). */
    long count();

    /** Copies values [from, from + n) as floats into {@code dst} at {@code at}. */
    void copy(long from, float[] dst, int at, int n);

    /** The first {@code n} values. */
    Pixels first(long n);

    record Floats(float[] values) implements Pixels {
        @Override public long count() { return values.length; }

        @Override public void copy(long from, float[] dst, int at, int n) { System.arraycopy(values, Math.toIntExact(from), dst, at, n); }

        @Override public Pixels first(long n) { return new Floats(java.util.Arrays.copyOf(values, Math.toIntExact(n))); }
    }

    /** uint8 values in a (mapped) segment; a slice of it shares the mapping. */
    record Mapped(MemorySegment bytes) implements Pixels {
        @Override public long count() { return bytes.byteSize(); }

        @Override public void copy(long from, float[] dst, int at, int n) {
            for (int i = 0; i < n; i++) dst[at + i] = (bytes.get(ValueLayout.JAVA_BYTE, from + i) & 0xff) / 255f;
        }

        @Override public Pixels first(long n) { return new Mapped(bytes.asSlice(0, n)); }
    }
}
