package locallearn.backend.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUresult;
import locallearn.tensor.PooledAllocator;

/**
 * Device memory through cuMemAlloc/cuMemFree behind the accounting pool. Sizes are rounded up to
 * 512 bytes, so tensors of nearby sizes share pooled blocks and every block is aligned for
 * vectorised loads; the figures (current, peak, reserved) count the rounded sizes, as the device
 * really holds them.
 *
 * <p>Streams: a block is released on the host when the last op that uses it has been queued,
 * not run, so a block released on one stream must not be written by another before that op is
 * done. Once any pipeline lane has opened, every release records an event on the releasing
 * thread's stream (cuEventRecord, one event per block, re-recorded each time), and a reuse on
 * a different stream makes the acquiring stream wait for it (cuStreamWaitEvent) before anything
 * is queued there; a reuse on the same stream needs nothing, stream order already holds, and the
 * pool hands a lane its own blocks first. Blocks released before any lane opened were only ever
 * used on the legacy stream, which the lanes' blocking streams wait for, so they need no event.
 * The releasing stream is the last user's: work of other streams on the block was ordered
 * before it by a hand-off (the stage that frees a tensor has waited for the one that wrote it).
 * With several GPUs that stream may be another device's (a stage frees what it copied in from
 * the GPU before it); the event is then made in that stream's context, and the wait for it
 * crosses devices, which cuStreamWaitEvent allows.
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
        return new CudaStorage(p, bytes, ctx);
    }

    @Override protected void released(CudaStorage s) {
        // the stream of the releasing thread's lane, on whichever device (a stage that copied a tensor in from the GPU before frees it there)
        CudaContext on = CudaContext.laneContextOfThread();
        if (on == null) on = ctx;
        if (!on.lanesOpened()) return;
        on.makeCurrent();
        if (s.releaseEvent == null || s.releaseEventContext != on) {
            if (s.releaseEvent != null) Cu.check(cuEventDestroy(s.releaseEvent), "cuEventDestroy");
            s.releaseEvent = new CUevent();
            Cu.check(cuEventCreate(s.releaseEvent, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate (a block's release)");
            s.releaseEventContext = on;
        }
        s.releasedOn = on.stream();
        Cu.check(cuEventRecord(s.releaseEvent, s.releasedOn), "cuEventRecord (release of " + s + ")");
        s.fenced = true;
    }

    @Override protected void reused(CudaStorage s) {
        if (!s.fenced) return;
        s.fenced = false;
        Cu.Stream here = ctx.stream();
        if (here == s.releasedOn) return;
        ctx.makeCurrent();
        Cu.check(cuStreamWaitEvent(here, s.releaseEvent, 0), "cuStreamWaitEvent (reuse of " + s + " released on another stream)");
    }

    @Override protected void destroy(CudaStorage s) {
        ctx.makeCurrent();
        Cu.check(cuMemFree(s.ptr), "cuMemFree " + s);
        if (s.releaseEvent != null) Cu.check(cuEventDestroy(s.releaseEvent), "cuEventDestroy");
    }
}
