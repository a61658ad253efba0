package locallearn.backend.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

import jcuda.driver.CUresult;
import locallearn.tensor.PooledAllocator;

/**
 * Device memory through cuMemAlloc/cuMemFree behind the accounting pool. Sizes are rounded up to
 * 512 bytes, so tensors of nearby sizes share pooled blocks and every block is aligned for
 * vectorised loads; the figures (current, peak, reserved) count the rounded sizes, as the device
 * really holds them.
 */
public final class CudaAllocator extends PooledAllocator<CudaStorage> {
    static final long ALIGN = 512;
    private final CudaContext ctx;

    CudaAllocator(CudaContext ctx) { this.ctx = ctx; }

    @Override protected long blockBytes(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("cuda allocator: negative size " + bytes);
        return Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
    }

    @Override protected CudaStorage create(long bytes) {
        ctx.makeCurrent();
        Cu.DevicePtr p = new Cu.DevicePtr();
        int r = cuMemAlloc(p, bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY)
            // thrown twice when the pool's retry after trim() fails too; the second reaches the user
            throw new IllegalStateException("out of GPU memory: asked " + bytes + " bytes, " + ctx.freeBytes() + " free; try a smaller --batch-size");
        Cu.check(r, "cuMemAlloc " + bytes + " bytes");
        return new CudaStorage(p, bytes);
    }

    @Override protected void destroy(CudaStorage s) {
        ctx.makeCurrent();
        Cu.check(cuMemFree(s.ptr), "cuMemFree " + s);
    }
}
