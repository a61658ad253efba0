package locallearn.backend.cuda;

import jcuda.driver.CUdeviceptr;
import locallearn.tensor.Storage;

/** A block of device memory from {@link CudaAllocator}: its device address and size. */
public final class CudaStorage extends Storage {
    final Cu.DevicePtr ptr;
    private final long address;

    CudaStorage(Cu.DevicePtr ptr, long bytes) {
        super(bytes);
        this.ptr = ptr;
        this.address = ptr.address();
    }

    /** The device address (a CUdeviceptr), what kernels, cuBLAS and cuDNN take. */
    public long address() { return address; }

    CUdeviceptr pointer() { return ptr; }

    @Override public String toString() { return "CudaStorage[0x" + Long.toHexString(address) + ", " + bytes + " bytes]"; }
}
