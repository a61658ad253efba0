package locallearn.backend.cpu;

import locallearn.tensor.PooledAllocator;

/**
 * The host pool: blocks are float arrays, kept by exact size. Destroying a block only drops the
 * reference; the garbage collector frees it, but the accounting stops counting it at once.
 */
final class CpuAllocator extends PooledAllocator<CpuStorage> {
    @Override protected CpuStorage create(long bytes) { return new CpuStorage(bytes); }

    @Override protected void destroy(CpuStorage s) {}
}
