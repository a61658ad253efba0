package locallearn.backend.cpu;

import locallearn.tensor.PooledAllocator;

/**
 * The host pool: blocks are float arrays, kept by exact size. Destroying a block only drops the
 * reference; the garbage collector frees it, but the accounting stops counting it at once.
 */
final class CpuAllocator extends PooledAllocator<CpuStorage> {
    @Override protected CpuStorage create(long bytes) {
        try {
            return new CpuStorage(bytes);
        } catch (OutOfMemoryError e) {
            throw new OutOfMemoryError(String.format(java.util.Locale.ROOT, "a %.1f MiB tensor did not fit (%.1f MiB of tensors live)",
                    bytes / 1048576.0, stats().current() / 1048576.0));
        }
    }

    @Override protected void destroy(CpuStorage s) {}
}
