package locallearn.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxEnablePeerAccess;
import static jcuda.driver.JCudaDriver.cuCtxGetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceCanAccessPeer;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD16Async;
import static jcuda.driver.JCudaDriver.cuMemcpyPeerAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleLoadDataJIT;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUjit_option;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.driver.JITOptions;
import locallearn.backend.Backend;

/**
 * Device {@code ordinal} on its primary context (cuDevicePrimaryCtxRetain + cuCtxSetCurrent, so
 * cuBLAS and cuDNN, which use the primary context, share it). A thread's work goes to one
 * stream: the legacy default stream, or, on a thread bound to a pipeline lane
 * ({@link #enterLane}), that lane's own ({@link LaneStream}, with its own cuBLAS and cuDNN
 * handles). Work on one stream is ordered without events, and a host copy on the legacy stream
 * waits for everything queued before it, on every stream. Between lanes the order is made by
 * events: a hand-off ({@link #handOff}) and the allocator's reuse of another stream's block.
 *
 * <p>Every driver call is checked; errors name the call and what it was doing. Kernel faults
 * surface at the next call that waits (a download, {@link #synchronize}); set
 * LOCALLEARN_CUDA_SYNC=1 to check after every launch and find the kernel. LOCALLEARN_NO_CUBLAS=1
 * and LOCALLEARN_NO_CUDNN=1 make {@link #cublas()} / {@link #cudnn()} return null, so our own
 * GEMM and convolution kernels run instead.
 */
public final class CudaContext implements AutoCloseable {
    private final int ordinal;
    private final CUdevice device;
    private final CUcontext context;
    private final String deviceName;
    private final long totalBytes;
    private final int driverVersion, ccMajor, ccMinor;
    final boolean syncEveryLaunch;
    private final CudaAllocator allocator;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, Kernel> kernels = new HashMap<>();
    private final Map<String, String> env;
    private Cublas cublas;
    private Cudnn cudnn;
    private String cublasWhy, cudnnWhy;
    private boolean librariesTried, closed;
    private final List<LaneStream> lanes = new ArrayList<>(); // lane i's stream and handles, made when it first opens
    private final ThreadLocal<LaneStream> lane = new ThreadLocal<>();
    private volatile boolean lanesOpened;
    /** The context whose lane the calling thread is on, whichever device: where its work, and so its releases, are queued. */
    private static final ThreadLocal<CudaContext> LANE_CONTEXT = new ThreadLocal<>();
    private final Set<CudaContext> peers = ConcurrentHashMap.newKeySet(); // contexts whose memory this one's copies may read and write

    private CudaContext(int ordinal, Map<String, String> env) {
        this.env = env;
        String why = initDriver();
        if (why != null) throw new CudaUnavailableException(why);
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        if (count[0] == 0) throw new CudaUnavailableException("no CUDA device (the driver, CUDA " + cudaVersion(driverVersion()) + ", sees none)");
        if (ordinal < 0 || ordinal >= count[0])
            throw new CudaUnavailableException("no CUDA device " + ordinal + ": " + count[0] + " device(s), numbered from 0");
        this.ordinal = ordinal;
        device = new CUdevice();
        context = new CUcontext();
        try {
            check(cuDeviceGet(device, ordinal), "cuDeviceGet " + ordinal);
            check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain device " + ordinal);
        } catch (IllegalStateException e) {
            // an exclusive-process GPU held by another program, say: the device is there but not for us
            throw new CudaUnavailableException("cannot open CUDA device " + ordinal + ": " + e.getMessage(), e);
        }
        try {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent device " + ordinal);
            deviceName = name(device);
            long[] total = new long[1];
            check(cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
            totalBytes = total[0];
            driverVersion = driverVersion();
            ccMajor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
            ccMinor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        } catch (IllegalStateException e) {
            cuDevicePrimaryCtxRelease(device);
            throw new CudaUnavailableException("cannot open CUDA device " + ordinal + ": " + e.getMessage(), e);
        }
        syncEveryLaunch = "1".equals(env.get("LOCALLEARN_CUDA_SYNC"));
        allocator = new CudaAllocator(this);
    }

    /** Opens device {@code ordinal}; throws {@link CudaUnavailableException} with a one-line reason. */
    public static CudaContext open(int ordinal) {
        return new CudaContext(ordinal, System.getenv());
    }

    /**
     * One line: the device found ("NVIDIA H200, sm_90, 139.8 GiB, driver CUDA 13.0, 1 device"),
     * or why there is none ("no CUDA driver (libcuda.so.1 not found)"). Never throws.
     */
    public static String probe() { return probeDevice().line(); }

    /** What {@link #probe} found: {@code found} is true when the driver works and device 0 exists. */
    public record Probe(boolean found, String line) {}

    public static Probe probeDevice() {
        try {
            String why = initDriver();
            if (why != null) return new Probe(false, why);
            int[] count = new int[1];
            int r = cuDeviceGetCount(count);
            if (r != CUresult.CUDA_SUCCESS) return new Probe(false, "cuDeviceGetCount: " + Cu.name(r));
            if (count[0] == 0) return new Probe(false, "no CUDA device (the driver, CUDA " + cudaVersion(driverVersion()) + ", sees none)");
            CUdevice d = new CUdevice();
            check(cuDeviceGet(d, 0), "cuDeviceGet 0");
            long[] total = new long[1];
            check(cuDeviceTotalMem(total, d), "cuDeviceTotalMem");
            int major = attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
            int minor = attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            return new Probe(true, name(d) + ", sm_" + major + minor + ", " + gib(total[0]) + ", driver CUDA "
                    + cudaVersion(driverVersion()) + ", " + count[0] + (count[0] == 1 ? " device" : " devices"));
        } catch (RuntimeException | LinkageError e) {
            return new Probe(false, "CUDA probe failed: " + e.getMessage());
        }
    }

    /** Null when the driver is usable, else why not; loads JCuda only once libcuda.so.1 is known to exist. */
    @SuppressWarnings("restricted") // looks for libcuda.so.1 before JCuda's binding needs it
    private static String initDriver() {
        try (Arena a = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("libcuda.so.1", a);
        } catch (IllegalArgumentException e) {
            return "no CUDA driver (libcuda.so.1 not found)";
        } catch (IllegalCallerException e) {
            return "native access denied: run java with --enable-native-access=ALL-UNNAMED";
        }
        try {
            JCudaDriver.setExceptionsEnabled(false);
        } catch (LinkageError | RuntimeException e) {
            return "JCuda's native driver binding did not load: " + e;
        }
        int r = cuInit(0);
        if (r == CUresult.CUDA_ERROR_NO_DEVICE) return "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)";
        if (r != CUresult.CUDA_SUCCESS) return "CUDA driver did not start (cuInit: " + Cu.name(r) + ")";
        return null;
    }

    // ---- facts ---------------------------------------------------------------------------------

    public int ordinal() { return ordinal; }

    public String deviceName() { return deviceName; }

    public long totalBytes() { return totalBytes; }

    /** Compute capability as major*10+minor (90 for Hopper). */
    public int computeCapability() { return ccMajor * 10 + ccMinor; }

    /** The CUDA version the driver supports, as cuDriverGetVersion gives it (13000 = 13.0). */
    public int driverVersionCode() { return driverVersion; }

    public long freeBytes() {
        makeCurrent();
        long[] free = new long[1], total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return free[0];
    }

    public CudaAllocator allocator() { return allocator; }

    /** "NVIDIA H200 (sm_90, 139.8 GiB)" */
    public String describe() { return deviceName + " (sm_" + ccMajor + ccMinor + ", " + gib(totalBytes) + ")"; }

    // ---- kernels -------------------------------------------------------------------------------

    /**
     * The extern "C" function {@code name} of resource /locallearn/kernels/{@code family}.ptx; the
     * module is loaded once and kernels are cached.
     */
    public synchronized Kernel kernel(String family, String name) {
        String key = family + "/" + name;
        Kernel k = kernels.get(key);
        if (k != null) return k;
        CUmodule m = module(family);
        CUfunction f = new CUfunction();
        int r = cuModuleGetFunction(f, m, name);
        if (r == CUresult.CUDA_ERROR_NOT_FOUND)
            throw new IllegalStateException("kernel " + name + " not found in kernels/" + family + ".ptx (is it declared extern \"C\"?)");
        check(r, "cuModuleGetFunction " + name + " in kernels/" + family + ".ptx");
        k = new Kernel(this, f, name);
        kernels.put(key, k);
        return k;
    }

    /** True when the jar holds PTX (kernels/build.sh found nvcc when it was built). */
    public static boolean kernelsBuilt() { return nvccVersion() != null; }

    /** The nvcc that built the kernels ("Build cuda_13.0.r13.0/compiler.36424714_0"), or null. */
    public static String nvccVersion() {
        try (InputStream in = CudaContext.class.getResourceAsStream("/locallearn/kernels/NVCC_VERSION")) {
            return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return null;
        }
    }

    private CUmodule module(String family) {
        CUmodule m = modules.get(family);
        if (m != null) return m;
        byte[] ptx;
        String resource = "/locallearn/kernels/" + family + ".ptx";
        try (InputStream in = CudaContext.class.getResourceAsStream(resource)) {
            if (in == null) {
                if (!kernelsBuilt())
                    throw new CudaUnavailableException("CUDA kernels not built (no nvcc when this jar was built): install the CUDA toolkit and rebuild");
                throw new IllegalStateException("kernel family " + family + " missing: no resource " + resource);
            }
            byte[] text = in.readAllBytes();
            ptx = new byte[text.length + 1]; // the driver reads PTX as a NUL-terminated string
            System.arraycopy(text, 0, ptx, 0, text.length);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource, e);
        }
        makeCurrent();
        m = new CUmodule();
        int r = cuModuleLoadData(m, ptx);
        if (r != CUresult.CUDA_SUCCESS) {
            // load once more through JCuda's JIT-options call, only to read the JIT compiler's log
            JITOptions jit = new JITOptions();
            jit.putBytes(CUjit_option.CU_JIT_ERROR_LOG_BUFFER, new byte[4096]);
            jit.putInt(CUjit_option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, 4096);
            String log = "";
            try {
                cuModuleLoadDataJIT(new CUmodule(), Pointer.to(ptx), jit);
                log = jitLog(jit);
            } catch (RuntimeException e) {
                // no log then; the error code says enough
            }
            throw new IllegalStateException(ptxError(family, r, log, nvccVersion(), driverVersion, computeCapability()));
        }
        modules.put(family, m);
        return m;
    }

    private static String jitLog(JITOptions jit) {
        try {
            String s = jit.getString(CUjit_option.CU_JIT_ERROR_LOG_BUFFER);
            return s == null ? "" : s.trim().replace('\n', ' ');
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** The message for a module that does not load (public for its test): which toolkit built it, what the driver takes, the fix. */
    public static String ptxError(String family, int result, String jitLog, String nvcc, int driverVersion, int computeCapability) {
        String base = "loading kernels/" + family + ".ptx: " + Cu.name(result) + (jitLog.isEmpty() ? "" : " (" + jitLog + ")");
        if (result == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION || result == CUresult.CUDA_ERROR_INVALID_PTX
                || result == CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU) {
            return base + ": the kernels were built by " + (nvcc == null ? "an unknown nvcc" : nvcc) + ", the driver supports CUDA "
                    + cudaVersion(driverVersion) + " (device sm_" + computeCapability + "); rebuilding the jar with this machine's nvcc"
                    + " (or one no newer than the driver) fixes it";
        }
        return base;
    }

    // ---- memory --------------------------------------------------------------------------------

    /** Copies {@code count} floats from the host into {@code dst}; returns when they are on the device. */
    public void upload(CudaStorage dst, float[] src, int count) {
        toDevice(dst, Pointer.to(src), src.length, count, Float.BYTES, b -> b.asFloatBuffer().put(src, 0, count));
    }

    /** Copies {@code count} bf16 bit patterns from the host into {@code dst}; returns when they are on the device. */
    public void upload(CudaStorage dst, short[] src, int count) {
        toDevice(dst, Pointer.to(src), src.length, count, Short.BYTES, b -> b.asShortBuffer().put(src, 0, count));
    }

    /** Copies {@code count} floats of {@code src} to the host, after all work queued before (on a lane: before on its stream). */
    public void download(CudaStorage src, float[] dst, int count) {
        toHost(src, Pointer.to(dst), dst.length, count, Float.BYTES, b -> b.asFloatBuffer().get(dst, 0, count));
    }

    /** Copies {@code count} bf16 bit patterns of {@code src} to the host, as {@link #download(CudaStorage, float[], int)}. */
    public void download(CudaStorage src, short[] dst, int count) {
        toHost(src, Pointer.to(dst), dst.length, count, Short.BYTES, b -> b.asShortBuffer().get(dst, 0, count));
    }

    /** An upload of {@code count} elements of {@code elementBytes} from {@code host}; on a lane {@code stage} puts them into its pinned buffer first. */
    private void toDevice(CudaStorage dst, Pointer host, int hostLength, int count, int elementBytes, Consumer<ByteBuffer> stage) {
        checkCount("upload", dst, hostLength, count, elementBytes);
        makeCurrent();
        if (count == 0) return;
        long bytes = (long) count * elementBytes;
        String what = count + (elementBytes == Float.BYTES ? " floats" : " bf16");
        LaneStream l = lane.get();
        if (l == null) {
            check(cuMemcpyHtoD(dst.pointer(), host, bytes), "cuMemcpyHtoD " + what + " to " + dst);
            return;
        }
        // on a lane through its pinned buffer, in its stream's order: the other lanes go on meanwhile
        stage.accept(l.staging(bytes));
        check(cuMemcpyHtoDAsync(dst.pointer(), l.stagingPointer(), bytes, l.stream), "cuMemcpyHtoDAsync " + what + " to " + dst);
        l.synchronize(" after an upload" + lateFaultHint());
    }

    /** A download of {@code count} elements of {@code elementBytes} into {@code host}; on a lane through its pinned buffer, which {@code unstage} reads. */
    private void toHost(CudaStorage src, Pointer host, int hostLength, int count, int elementBytes, Consumer<ByteBuffer> unstage) {
        checkCount("download", src, hostLength, count, elementBytes);
        makeCurrent();
        if (count == 0) return;
        long bytes = (long) count * elementBytes;
        String what = count + (elementBytes == Float.BYTES ? " floats" : " bf16");
        LaneStream l = lane.get();
        if (l == null) {
            check(cuMemcpyDtoH(host, src.pointer(), bytes), "cuMemcpyDtoH " + what + " from " + src + lateFaultHint());
            return;
        }
        ByteBuffer staged = l.staging(bytes);
        check(cuMemcpyDtoHAsync(l.stagingPointer(), src.pointer(), bytes, l.stream), "cuMemcpyDtoHAsync " + what + " from " + src);
        l.synchronize(" after a download" + lateFaultHint());
        unstage.accept(staged);
    }

    /** Device to device, on the calling thread's stream. */
    public void copy(CudaStorage src, CudaStorage dst, long bytes) {
        if (bytes < 0 || bytes > src.bytes || bytes > dst.bytes)
            throw new IllegalArgumentException("cuda copy: " + bytes + " bytes from " + src + " to " + dst);
        makeCurrent();
        if (bytes > 0) check(cuMemcpyDtoDAsync(dst.pointer(), src.pointer(), bytes, stream()), "cuMemcpyDtoDAsync " + bytes + " bytes");
    }

    /** Copies {@code bytes} from src + srcOffset to dst + dstOffset (byte offsets), on the calling thread's stream. */
    public void copy(CudaStorage src, long srcOffset, CudaStorage dst, long dstOffset, long bytes) {
        if (bytes < 0 || srcOffset < 0 || dstOffset < 0 || srcOffset + bytes > src.bytes || dstOffset + bytes > dst.bytes)
            throw new IllegalArgumentException("cuda copy: " + bytes + " bytes from " + src + " + " + srcOffset + " to " + dst + " + " + dstOffset);
        makeCurrent();
        if (bytes > 0) check(cuMemcpyDtoDAsync(dst.pointer().withByteOffset(dstOffset), src.pointer().withByteOffset(srcOffset), bytes, stream()),
                "cuMemcpyDtoDAsync " + bytes + " bytes at offsets " + srcOffset + ", " + dstOffset);
    }

    /** Fills {@code count32} 32-bit words with {@code value32} (Float.floatToRawIntBits of a fill value), on the calling thread's stream. */
    public void memset(CudaStorage dst, int value32, long count32) {
        if (count32 < 0 || count32 * 4 > dst.bytes)
            throw new IllegalArgumentException("cuda memset: " + count32 + " words into " + dst);
        makeCurrent();
        if (count32 > 0) check(cuMemsetD32Async(dst.pointer(), value32, count32, stream()), "cuMemsetD32Async " + count32 + " words");
    }

    /** Fills {@code count16} 16-bit words with {@code value16} (a bf16 bit pattern), on the calling thread's stream. */
    public void memset16(CudaStorage dst, short value16, long count16) {
        if (count16 < 0 || count16 * 2 > dst.bytes)
            throw new IllegalArgumentException("cuda memset: " + count16 + " half-words into " + dst);
        makeCurrent();
        if (count16 > 0) check(cuMemsetD16Async(dst.pointer(), value16, count16, stream()), "cuMemsetD16Async " + count16 + " half-words");
    }

    private static void checkCount(String op, CudaStorage s, int hostLength, int count, int elementBytes) {
        if (count < 0 || count > hostLength || (long) count * elementBytes > s.bytes)
            throw new IllegalArgumentException("cuda " + op + ": " + count + " elements of " + elementBytes + " bytes, host array holds " + hostLength
                    + ", device block " + s.bytes + " bytes");
    }

    /** Waits for all queued work, on every stream; a fault of an earlier kernel is reported here. */
    public void synchronize() {
        makeCurrent();
        check(cuCtxSynchronize(), "cuCtxSynchronize" + lateFaultHint());
    }

    private String lateFaultHint() {
        return syncEveryLaunch ? "" : " (if a kernel faulted earlier, LOCALLEARN_CUDA_SYNC=1 names it)";
    }

    /**
     * Makes this context current on the calling thread (the driver keeps the current context per
     * thread, so a second thread, a JMH worker say, would otherwise see none).
     */
    void makeCurrent() {
        CUcontext cur = new CUcontext();
        check(cuCtxGetCurrent(cur), "cuCtxGetCurrent");
        if (!context.equals(cur)) check(cuCtxSetCurrent(context), "cuCtxSetCurrent device " + ordinal);
    }

    // ---- lanes: a stream per pipeline stage ---------------------------------------------------

    /**
     * Binds the calling thread to lane {@code index} of {@code count} until {@link #leaveLane}:
     * its work goes to the lane's stream from now on. The lanes' streams are made in order the
     * first time any of them opens (so stream creation does not depend on which thread comes first).
     */
    void enterLane(int index, int count) {
        makeLanes(count);
        synchronized (this) {
            lane.set(lanes.get(index));
        }
        LANE_CONTEXT.set(this);
        lanesOpened = true;
    }

    /** Makes the streams of lanes [0, count) that do not exist yet, in order (a backend on several devices makes each device's in turn). */
    synchronized void makeLanes(int count) {
        if (closed) throw new IllegalStateException("cuda: lane opened after close");
        makeCurrent();
        while (lanes.size() < count) lanes.add(new LaneStream());
    }

    void leaveLane() {
        lane.remove();
        LANE_CONTEXT.remove();
    }

    /** The context whose lane the calling thread is on (its stream is where the thread's work goes), or null off a lane. */
    static CudaContext laneContextOfThread() { return LANE_CONTEXT.get(); }

    /** The calling thread's stream: its lane's, or null, the legacy default stream. */
    Cu.Stream stream() {
        LaneStream l = lane.get();
        return l == null ? null : l.stream;
    }

    /** Has any thread worked on a lane's stream yet? Until then every block was used on the legacy stream alone. */
    boolean lanesOpened() { return lanesOpened; }

    /**
     * An event recorded on the calling thread's stream after the work queued so far; await makes
     * the awaiting thread's stream wait for it, then frees it. One that is never awaited (a pipeline
     * that stopped) is freed with the context.
     */
    Backend.HandOff handOff() {
        makeCurrent();
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        check(cuEventRecord(e, stream()), "cuEventRecord (a hand-off)");
        return () -> {
            // the awaiting thread's stream, which may be another device's (cuStreamWaitEvent takes an event of any context)
            CudaContext waiter = LANE_CONTEXT.get() != null ? LANE_CONTEXT.get() : this;
            waiter.makeCurrent();
            check(cuStreamWaitEvent(waiter.stream(), e, 0), "cuStreamWaitEvent (a hand-off)");
            check(cuEventDestroy(e), "cuEventDestroy");
        };
    }

    // ---- several devices: peer copies ----------------------------------------------------------

    /**
     * Lets this context's copies reach {@code other}'s memory (cuCtxEnablePeerAccess) when the
     * driver says the devices can (cuDeviceCanAccessPeer); false when they cannot, and then
     * tensors travel between them through the host.
     */
    boolean enablePeerAccess(CudaContext other) {
        int[] can = new int[1];
        check(cuDeviceCanAccessPeer(can, device, other.device), "cuDeviceCanAccessPeer " + ordinal + " -> " + other.ordinal);
        if (can[0] == 0) return false;
        makeCurrent();
        int r = cuCtxEnablePeerAccess(other.context, 0);
        // primary contexts outlive a backend: a second one in the process finds the access there
        if (r != CUresult.CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED) check(r, "cuCtxEnablePeerAccess " + ordinal + " -> " + other.ordinal);
        peers.add(other);
        return true;
    }

    /** May this context's copies read and write {@code other}'s memory? */
    boolean reaches(CudaContext other) { return peers.contains(other); }

    /** Copies {@code bytes} from {@code src}, a block of {@code from} (a peer), into {@code dst}, one of this context's, on the calling thread's stream. */
    void copyFromPeer(CudaContext from, CudaStorage src, CudaStorage dst, long bytes) {
        if (bytes < 0 || bytes > src.bytes || bytes > dst.bytes)
            throw new IllegalArgumentException("cuda peer copy: " + bytes + " bytes from " + src + " to " + dst);
        makeCurrent();
        if (bytes > 0) check(cuMemcpyPeerAsync(dst.pointer(), context, src.pointer(), from.context, bytes, stream()),
                "cuMemcpyPeerAsync " + bytes + " bytes from device " + from.ordinal + " to device " + ordinal);
    }

    // ---- cuBLAS and cuDNN ------------------------------------------------------------------------

    /** cuBLAS, or null when it could not be loaded (the reason is in {@link #providers()}). */
    public synchronized Cublas cublas() {
        loadLibraries();
        return cublas;
    }

    /** cuDNN, or null when it could not be loaded (the reason is in {@link #providers()}). */
    public synchronized Cudnn cudnn() {
        loadLibraries();
        return cudnn;
    }

    /** The calling thread's cuBLAS: its lane's handle on the lane's stream, or the context's; null when none loaded. */
    Cublas cublasOnThread() {
        Cublas shared = cublas();
        LaneStream l = lane.get();
        return l == null ? shared : l.cublas(shared);
    }

    /** The calling thread's cuDNN, as {@link #cublasOnThread}. */
    Cudnn cudnnOnThread() {
        Cudnn shared = cudnn();
        LaneStream l = lane.get();
        return l == null ? shared : l.cudnn(shared);
    }

    /** "gemm: cuBLAS 13.0.1 (libcublas.so.13 at DIR); conv: own kernels (libcudnn.so.{9,8} not found in ...)" */
    public synchronized String providers() {
        loadLibraries();
        return "gemm: " + (cublas != null ? cublas.describe() : "own kernels (" + cublasWhy + ")")
                + "; conv: " + (cudnn != null ? cudnn.describe() : "own kernels (" + cudnnWhy + ")");
    }

    private void loadLibraries() {
        if (librariesTried) return;
        librariesTried = true;
        makeCurrent();
        List<Path> dirs = NativeLibs.searchDirs();
        if ("1".equals(env.get("LOCALLEARN_NO_CUBLAS"))) {
            cublasWhy = "LOCALLEARN_NO_CUBLAS=1";
        } else {
            try {
                cublas = Cublas.load(dirs);
            } catch (RuntimeException | LinkageError e) {
                cublasWhy = e.getMessage();
            }
        }
        if ("1".equals(env.get("LOCALLEARN_NO_CUDNN"))) {
            cudnnWhy = "LOCALLEARN_NO_CUDNN=1";
        } else {
            try {
                cudnn = Cudnn.load(dirs, allocator);
            } catch (RuntimeException | LinkageError e) {
                cudnnWhy = e.getMessage();
            }
        }
    }

    /** Releases cuBLAS, cuDNN, the pooled memory and the primary context; closing twice is harmless. */
    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        makeCurrent();
        RuntimeException first = null;
        int sync = cuCtxSynchronize(); // the lanes' streams and handles go first, with nothing left queued on them
        List<AutoCloseable> handles = new ArrayList<>(lanes);
        if (sync != CUresult.CUDA_SUCCESS) handles.clear(); // a faulted context: releasing it below frees them
        handles.add(cudnn);
        handles.add(cublas);
        for (AutoCloseable c : handles) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) first = new IllegalStateException(e.getMessage(), e);
            }
        }
        int r = cuCtxSynchronize();
        // after a kernel fault the context is unusable: freeing would only fail again, releasing resets it
        if (r == CUresult.CUDA_SUCCESS) allocator.trim();
        else if (first == null) first = new IllegalStateException("cuCtxSynchronize at close: " + Cu.name(r));
        int rr = cuDevicePrimaryCtxRelease(device);
        if (rr != CUresult.CUDA_SUCCESS && first == null) first = new IllegalStateException("cuDevicePrimaryCtxRelease: " + Cu.name(rr));
        if (first != null) throw first;
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static void check(int result, String what) { Cu.check(result, what); }

    private static int driverVersion() {
        int[] v = new int[1];
        check(cuDriverGetVersion(v), "cuDriverGetVersion");
        return v[0];
    }

    /** 13000 -> "13.0" */
    static String cudaVersion(int code) { return code / 1000 + "." + code % 1000 / 10; }

    private static String name(CUdevice d) {
        byte[] b = new byte[256];
        check(cuDeviceGetName(b, b.length, d), "cuDeviceGetName");
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    private static int attribute(CUdevice d, int attr) {
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, attr, d), "cuDeviceGetAttribute " + attr);
        return v[0];
    }

    private static String gib(long bytes) { return String.format("%.1f GiB", bytes / (double) (1L << 30)); }
}
