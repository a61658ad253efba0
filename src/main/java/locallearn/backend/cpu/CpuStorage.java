package locallearn.backend.cpu;

import locallearn.tensor.Storage;

/**
 * A block of host memory: a float array of bytes / 4 elements, or a short array of bytes / 2
 * bfloat16 bit patterns. The pool keys blocks by size only, so a block holds whichever array its
 * current tensor's dtype asks for and swaps it (dropping the contents, which a fresh tensor does
 * not have) when the next tensor on it has the other dtype: one array at a time, the accounted
 * bytes.
 */
public final class CpuStorage extends Storage {
    private float[] floats;
    private short[] halves;

    CpuStorage(long bytes) {
        super(bytes);
        if (bytes % Short.BYTES != 0 || bytes / Short.BYTES > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cpu allocate: " + bytes + " bytes is not an array size");
        // the likelier dtype first (an odd count of bf16 elements cannot be floats); halves() swaps once
        if (bytes % Float.BYTES == 0) floats = new float[(int) (bytes / Float.BYTES)];
        else halves = new short[(int) (bytes / Short.BYTES)];
    }

    /** The block as float32 elements. */
    public float[] floats() {
        if (floats == null) {
            halves = null;
            floats = new float[(int) (bytes / Float.BYTES)];
        }
        return floats;
    }

    /** The block as bfloat16 bit patterns. */
    public short[] halves() {
        if (halves == null) {
            floats = null;
            halves = new short[(int) (bytes / Short.BYTES)];
        }
        return halves;
    }
}
