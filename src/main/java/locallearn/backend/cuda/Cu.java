package locallearn.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;

/** The one place a CUresult becomes an exception, with the call and its context in the message. */
final class Cu {
    private Cu() {}

    /** Throws IllegalStateException "WHAT: CUDA_ERROR_NAME" unless {@code result} is CUDA_SUCCESS. */
    static void check(int result, String what) {
        if (result != CUresult.CUDA_SUCCESS) throw new IllegalStateException(what + ": " + name(result));
    }

    static String name(int result) { return CUresult.stringFor(result); }

    /** A CUdeviceptr whose raw address can be read (JCuda keeps it in a protected field). */
    static final class DevicePtr extends CUdeviceptr {
        DevicePtr() {}

        long address() { return getNativePointer(); }
    }

    /** A CUstream whose raw handle can be read, to set it on cuBLAS and cuDNN handles through FFM. */
    static final class Stream extends CUstream {
        Stream() {}

        long address() { return getNativePointer(); }
    }
}
