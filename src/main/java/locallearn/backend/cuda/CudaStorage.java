package locallearn.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import locallearn.tensor.Storage;

/** A block of device memory from {@link CudaAllocator}: its device address and size, and the context (device) it is on. */
public final class CudaStorage extends Storage {
    final Cu.DevicePtr ptr;
    final CudaContext context;
    private final long address;
    // CudaAllocator's record of the last release: the stream it was on and an event recorded there
    // (made at the first release that needs one, in that stream's context, re-recorded after); fenced: the event marks the last release
    CUevent releaseEvent;
    CudaContext releaseEventContext;
    Cu.Stream releasedOn;
    boolean fenced;

    CudaStorage(Cu.DevicePtr ptr, long bytes, CudaContext context) {
        super(bytes);
        this.ptr = ptr;
        this.context = context;
        this.address = ptr.address();
    }

    /** The device address (a CUdeviceptr), what kernels, cuBLAS and cuDNN take. */
    public long address() { return address; }

    CUdeviceptr pointer() { return ptr; }

    @Override public String toString() { return "CudaStorage[0x" + Long.toHexString(address) + ", " + bytes + " bytes]"; }
}
