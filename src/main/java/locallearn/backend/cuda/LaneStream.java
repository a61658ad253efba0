package locallearn.backend.cuda;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.CUstream_flags;

/**
 * A pipeline lane's share of the GPU: a stream of its own, and cuBLAS and cuDNN handles of its
 * own set to that stream (cuDNN's workspace with them), so the lanes' work is queued side by
 * side instead of one behind the other. The stream is a blocking one (CU_STREAM_DEFAULT): work
 * on the legacy default stream, which threads off a lane use, still waits for it and it for
 * that, so an off-lane {@code read} or upload sees every lane's results without an event.
 * Uploads and downloads go through a pinned host buffer, so they wait for this lane's stream
 * only. Made by {@link CudaContext} the first time its lane opens, kept until the context closes.
 */
final class LaneStream implements AutoCloseable {
    final Cu.Stream stream = new Cu.Stream();
    private Cublas cublas;
    private Cudnn cudnn;
    private Pointer staging; // pinned host memory for uploads and downloads
    private long stagingBytes;

    LaneStream() {
        Cu.check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT), "cuStreamCreate");
    }

    /** This lane's cuBLAS handle, made from the context's on first use; null when the context has none. */
    Cublas cublas(Cublas shared) {
        if (cublas == null && shared != null) cublas = shared.onStream(stream.address());
        return cublas;
    }

    /** This lane's cuDNN handle (its own algorithm choices and workspace), made on first use; null when the context has none. */
    Cudnn cudnn(Cudnn shared) {
        if (cudnn == null && shared != null) cudnn = shared.onStream(stream.address());
        return cudnn;
    }

    /** Pinned host memory of at least {@code bytes}, in native order, kept and grown; only this lane's thread uses it. */
    ByteBuffer staging(long bytes) {
        if (bytes > stagingBytes) {
            freeStaging();
            staging = new Pointer();
            Cu.check(cuMemAllocHost(staging, bytes), "cuMemAllocHost " + bytes + " bytes (a lane's staging buffer)");
            stagingBytes = bytes;
        }
        return staging.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder());
    }

    Pointer stagingPointer() { return staging; }

    /** Returns when everything queued on this lane's stream is done. */
    void synchronize(String what) { Cu.check(cuStreamSynchronize(stream), "cuStreamSynchronize" + what); }

    private void freeStaging() {
        if (staging != null) Cu.check(cuMemFreeHost(staging), "cuMemFreeHost");
        staging = null;
        stagingBytes = 0;
    }

    /** Closes the handles, frees the staging buffer and destroys the stream (the context has synchronised). */
    @Override public void close() {
        if (cudnn != null) cudnn.close();
        if (cublas != null) cublas.close();
        freeStaging();
        Cu.check(cuStreamDestroy(stream), "cuStreamDestroy");
    }
}
