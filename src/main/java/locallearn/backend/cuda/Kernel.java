package locallearn.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUfunction;
import locallearn.tensor.Tensor;

/** One extern "C" kernel of a loaded PTX module, launched on the calling thread's stream (CudaContext#stream). */
public final class Kernel {
    private final CudaContext ctx;
    private final CUfunction function;
    private final String name;

    Kernel(CudaContext ctx, CUfunction function, String name) {
        this.ctx = ctx;
        this.function = function;
        this.name = name;
    }

    public String name() { return name; }

    /**
     * args: Tensor (its storage's device address), CudaStorage, Integer, Long, Float, Boolean (as
     * int 0/1), in the order of the kernel's parameters. Checks the launch; the error names kernel,
     * grid and block. LOCALLEARN_CUDA_SYNC=1 synchronises and checks after every launch (kernel
     * faults otherwise surface late, at the next call that waits).
     */
    public void launch(int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, Object... args) {
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) params[i] = param(args[i], i);
        ctx.makeCurrent();
        int r = cuLaunchKernel(function, gx, gy, gz, bx, by, bz, sharedBytes, ctx.stream(), Pointer.to(params), null);
        if (r != 0) Cu.check(r, describe("cuLaunchKernel", gx, gy, gz, bx, by, bz, sharedBytes));
        if (ctx.syncEveryLaunch) Cu.check(cuCtxSynchronize(), describe("after", gx, gy, gz, bx, by, bz, sharedBytes) + " (LOCALLEARN_CUDA_SYNC)");
    }

    private String describe(String call, int gx, int gy, int gz, int bx, int by, int bz, int shared) {
        return call + " " + name + " grid=(" + gx + "," + gy + "," + gz + ") block=(" + bx + "," + by + "," + bz + ")"
                + (shared > 0 ? " shared=" + shared : "");
    }

    /** A kernel parameter is passed as a pointer to its value; a device pointer is an 8-byte value. */
    private Pointer param(Object a, int i) {
        return switch (a) {
            case Tensor t -> Pointer.to(new long[] {storageOf(t, i).address()});
            case CudaStorage s -> Pointer.to(new long[] {onThisDevice(s, i).address()});
            case Integer v -> Pointer.to(new int[] {v});
            case Long v -> Pointer.to(new long[] {v});
            case Float v -> Pointer.to(new float[] {v});
            case Boolean v -> Pointer.to(new int[] {v ? 1 : 0});
            case null -> throw new IllegalArgumentException("kernel " + name + ": argument " + i + " is null");
            default -> throw new IllegalArgumentException("kernel " + name + ": argument " + i + " has unsupported type "
                    + a.getClass().getSimpleName() + " (Tensor, CudaStorage, Integer, Long, Float, Boolean)");
        };
    }

    private CudaStorage storageOf(Tensor t, int i) {
        if (t.storage() instanceof CudaStorage s) return onThisDevice(s, i);
        throw new IllegalArgumentException("kernel " + name + ": argument " + i + " " + t + " is not on the GPU");
    }

    /** With several GPUs a tensor left on another device would be read across the bus, or fault: refused here instead. */
    private CudaStorage onThisDevice(CudaStorage s, int i) {
        if (s.context == ctx) return s;
        throw new IllegalStateException("kernel " + name + ": argument " + i + " is on GPU " + s.context.ordinal() + ", the launch on GPU " + ctx.ordinal());
    }
}
