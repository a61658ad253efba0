package locallearn.backend.cpu;

import locallearn.tensor.Storage;

/** A block of host memory: a float array of bytes / 4 elements. */
public final class CpuStorage extends Storage {
    public final float[] data;

    CpuStorage(long bytes) {
        super(bytes);
        if (bytes % Float.BYTES != 0 || bytes / Float.BYTES > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cpu allocate: " + bytes + " bytes is not a float array size");
        this.data = new float[(int) (bytes / Float.BYTES)];
    }
}
