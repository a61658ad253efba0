package locallearn.backend.cuda;

import static locallearn.backend.Checks.bci;
import static locallearn.backend.Checks.conv;
import static locallearn.backend.Checks.dropout;
import static locallearn.backend.Checks.expect;
import static locallearn.backend.Checks.images;
import static locallearn.backend.Checks.logitsBK;
import static locallearn.backend.Checks.pool;
import static locallearn.backend.Checks.rows;
import static locallearn.backend.Checks.same;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.tensor.MemoryStats;
import locallearn.tensor.Shape;
import locallearn.tensor.Storage;
import locallearn.tensor.Tensor;

/**
 * The GPU backend: every op of {@link Backend} as a launch of our kernels ({@code kernels/*.cu},
 * compiled to PTX and loaded through {@link CudaContext}), GEMM through cuBLAS and convolution
 * through cuDNN when those libraries load, else through our fallback kernels. All work is queued
 * on the context's one stream; no op waits for the device ({@link #read} is the one place that
 * does), so a training step runs ahead of the host.
 *
 * <p>Arguments are checked like the CPU twin ({@code backend/cpu/CpuBackend}), with the same
 * messages, before anything is launched. The one check the GPU cannot make without waiting is
 * that labels are class indices in [0, K): a bad label gives a NaN loss here instead of an
 * exception.
 */
public final class CudaBackend implements Backend {
    /** Threads per block of the elementwise kernels (grid-stride loops). */
    private static final int THREADS = 256;
    /** Threads of the single-block reductions (sum, countCorrect, the losses) and of batch norm's block per channel; common.cuh's REDUCE_THREADS. */
    private static final int REDUCE_THREADS = 1024;
    /** Threads per block of the one-block-per-row/channel kernels (bias, similarity rows); common.cuh's ROW_THREADS. */
    private static final int ROW_THREADS = 512;
    /** Grid-stride loops need no more blocks than this to fill any current GPU. */
    private static final int MAX_BLOCKS = 1 << 16;
    /** The fallback convolution's im2col buffer stays below this (images are taken in chunks). */
    private static final long COL_BUDGET_BYTES = 64L << 20;
    /** cuLaunchKernel's limit on grid y and z. */
    private static final int MAX_GRID_Z = 65535;

    /** Every kernel the backend launches: family (the .ptx file) and extern "C" name (lower case of the constant). */
    private enum K {
        AXPY("elementwise"), SCALE("elementwise"), SUM("elementwise"), COUNT_CORRECT("elementwise"),
        LEAKY_RELU_FORWARD("elementwise"), LEAKY_RELU_BACKWARD("elementwise"), BIAS_ADD("elementwise"), BIAS_BACKWARD("elementwise"),
        GEMM("gemm"), IM2COL("conv"), COL2IM("conv"),
        BATCH_NORM_FORWARD_TRAIN("batchnorm"), BATCH_NORM_FORWARD_EVAL("batchnorm"), BATCH_NORM_BACKWARD("batchnorm"),
        DROPOUT_FORWARD("dropout"), DROPOUT_BACKWARD("dropout"),
        MAX_POOL_FORWARD("pool"), MAX_POOL_BACKWARD("pool"), AVG_POOL_FORWARD("pool"), AVG_POOL_BACKWARD("pool"),
        CROSS_ENTROPY_FORWARD("loss"), CROSS_ENTROPY_BACKWARD("loss"), BCE_WITH_LOGITS_FORWARD("loss"),
        BCE_WITH_LOGITS_BACKWARD("loss"), MSE_FORWARD("loss"), MSE_BACKWARD("loss"),
        SIMILARITY_NORMALIZE("similarity"), SIMILARITY_CLAMP("similarity"), SIMILARITY_BACKWARD_GRAM("similarity"),
        SIMILARITY_BACKWARD_ROWS("similarity"),
        FEATURE_MAP_STD_FORWARD("featstd"), FEATURE_MAP_STD_BACKWARD("featstd"),
        ADAM_STEP("optim"), SGD_STEP("optim"),
        CHANNEL_AFFINE("augment"), RANDOM_CROP_FLIP("augment"), CUTOUT("augment");

        final String family;

        K(String family) { this.family = family; }

        String entry() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    private final CudaContext ctx;
    private final boolean ownsContext;
    private final CudaAllocator allocator;
    private final Cublas cublas; // null: our gemm kernel
    private final Cudnn cudnn;   // null: im2col + gemm
    private final String providers;
    private final Map<K, Kernel> kernels = new EnumMap<>(K.class);

    private CudaBackend(CudaContext ctx, boolean ownsContext, boolean ownKernels) {
        this.ctx = ctx;
        this.ownsContext = ownsContext;
        this.allocator = ctx.allocator();
        this.cublas = ownKernels ? null : ctx.cublas();
        this.cudnn = ownKernels ? null : ctx.cudnn();
        this.providers = ownKernels ? "gemm and conv: own kernels (asked for)" : ctx.providers();
        // load every module now: a missing PTX or kernel name fails here, not in the middle of a step,
        // and as CudaUnavailableException, so --device auto falls back to the CPU with the reason
        try {
            for (K k : K.values()) kernels.put(k, ctx.kernel(k.family, k.entry()));
        } catch (CudaUnavailableException e) {
            throw e;
        } catch (IllegalStateException e) {
            throw new CudaUnavailableException(e.getMessage(), e);
        }
    }

    /**
     * The backend on GPU {@code ordinal}, with cuBLAS and cuDNN where they load. Throws
     * {@link CudaUnavailableException} with a one-line reason when there is no usable GPU.
     */
    public static CudaBackend open(int ordinal) {
        return open(ordinal, false);
    }

    /** As {@link #open(int)}; {@code ownKernels} runs GEMM and convolution on our kernels even when the libraries load. */
    public static CudaBackend open(int ordinal, boolean ownKernels) {
        CudaContext ctx = CudaContext.open(ordinal);
        try {
            return new CudaBackend(ctx, true, ownKernels);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    /**
     * A second backend on the same context and memory pool that runs GEMM and convolution on our
     * kernels (the selftest checks both paths in one process). Closing it leaves the context open.
     */
    public CudaBackend withOwnKernels() {
        return new CudaBackend(ctx, false, true);
    }

    /** "family.ptx:kernel" for every kernel this backend launches (a test checks them against the built PTX). */
    public static List<String> kernelEntryPoints() {
        List<String> out = new ArrayList<>();
        for (K k : K.values()) out.add(k.family + ".ptx:" + k.entry());
        return out;
    }

    @Override public String name() { return "cuda"; }

    @Override public String describe() {
        return "cuda: " + ctx.deviceName() + ", " + (ctx.totalBytes() >> 20) + " MiB; " + providers;
    }

    @Override public void synchronize() { ctx.synchronize(); }

    @Override public void close() {
        if (ownsContext) ctx.close();
    }

    // ---- argument checks (the CPU twin's, with its messages) ----------------------------------

    /** The device address behind {@code t}, after checking it is a live tensor of this device. */
    private static long addr(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isReleased()) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " used after release");
        Storage s = t.storage();
        if (!(s instanceof CudaStorage c))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " is not a CUDA tensor (" + s.getClass().getSimpleName() + ")");
        return c.address();
    }

    // ---- launching --------------------------------------------------------------------------

    /** A grid-stride kernel over n elements; nothing is launched for n = 0. */
    private void elementwise(K k, long n, Object... args) {
        if (n == 0) return;
        kernels.get(k).launch(blocks(n, THREADS), 1, 1, THREADS, 1, 1, 0, args);
    }

    private static int blocks(long n, int threads) { return (int) Math.min(MAX_BLOCKS, (n + threads - 1) / threads); }

    /** One block of REDUCE_THREADS threads. */
    private void single(K k, Object... args) { kernels.get(k).launch(1, 1, 1, REDUCE_THREADS, 1, 1, 0, args); }

    /** One block per row / channel. */
    private void perRow(K k, int rows, Object... args) {
        if (rows == 0) return;
        kernels.get(k).launch(rows, 1, 1, ROW_THREADS, 1, 1, 0, args);
    }

    /** Batch norm: one block of REDUCE_THREADS per channel. */
    private void perChannel(K k, int channels, Object... args) {
        if (channels == 0) return;
        kernels.get(k).launch(channels, 1, 1, REDUCE_THREADS, 1, 1, 0, args);
    }

    private static long bytes(long elements) { return elements * Float.BYTES; }

    // ---- memory -----------------------------------------------------------------------------

    @Override public Tensor allocate(Shape shape) {
        return new Tensor(shape, allocator.acquire(bytes(shape.numel())), allocator);
    }

    @Override public MemoryStats memory() { return allocator.stats(); }

    @Override public void resetPeakMemory() { allocator.resetPeak(); }

    @Override public void write(Tensor dst, float[] src) {
        addr("write", "dst", dst);
        if (src.length != dst.numel())
            throw new IllegalArgumentException("write: dst " + dst.shape() + " has " + dst.numel() + " elements, source has " + src.length);
        if (src.length > 0) ctx.upload((CudaStorage) dst.storage(), src, src.length);
    }

    @Override public float[] read(Tensor src) {
        addr("read", "src", src);
        float[] out = new float[src.numel()];
        if (out.length > 0) ctx.download((CudaStorage) src.storage(), out, out.length);
        return out;
    }

    // ---- elementwise and reductions ----------------------------------------------------------

    @Override public void fill(Tensor x, float value) {
        addr("fill", "x", x);
        if (x.numel() > 0) ctx.memset((CudaStorage) x.storage(), Float.floatToRawIntBits(value), x.numel());
    }

    @Override public void copy(Tensor src, Tensor dst) {
        addr("copy", "src", src);
        addr("copy", "dst", dst);
        same("copy", "src", src, "dst", dst);
        if (src.numel() > 0) ctx.copy((CudaStorage) src.storage(), (CudaStorage) dst.storage(), bytes(src.numel()));
    }

    @Override public void copyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        addr("copyRange", "src", src);
        addr("copyRange", "dst", dst);
        if (srcOffset < 0 || dstOffset < 0 || count < 0 || (long) srcOffset + count > src.numel() || (long) dstOffset + count > dst.numel())
            throw new IllegalArgumentException("copyRange: " + count + " elements from " + srcOffset + " of src " + src.shape()
                    + " to " + dstOffset + " of dst " + dst.shape() + " do not fit");
        if (count > 0) ctx.copy((CudaStorage) src.storage(), bytes(srcOffset), (CudaStorage) dst.storage(), bytes(dstOffset), bytes(count));
    }

    @Override public void axpy(float a, Tensor x, Tensor y) {
        addr("axpy", "x", x);
        addr("axpy", "y", y);
        same("axpy", "x", x, "y", y);
        elementwise(K.AXPY, x.numel(), x.numel(), a, x, y);
    }

    @Override public void scale(Tensor x, float a) {
        addr("scale", "x", x);
        elementwise(K.SCALE, x.numel(), x.numel(), x, a);
    }

    @Override public void sum(Tensor x, Tensor out, boolean accumulate) {
        addr("sum", "x", x);
        addr("sum", "out", out);
        expect("sum", "out", out, 1, "a scalar");
        single(K.SUM, x, x.numel(), out, accumulate);
    }

    @Override public void countCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate) {
        String op = "countCorrect";
        addr(op, "logits", logits);
        addr(op, "labels", labels);
        addr(op, "out", out);
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be (B, K)");
        int b = logits.dim(0), k = logits.dim(1);
        expect(op, "labels", labels, b, "one per row of logits " + logits.shape());
        expect(op, "out", out, 1, "a scalar");
        if (k < 1 && b > 0) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " has no classes");
        single(K.COUNT_CORRECT, logits, labels, b, k, out, accumulate);
    }

    @Override public void leakyReluForward(Tensor x, Tensor y, float slope) {
        addr("leakyReluForward", "x", x);
        addr("leakyReluForward", "y", y);
        same("leakyReluForward", "x", x, "y", y);
        elementwise(K.LEAKY_RELU_FORWARD, x.numel(), x.numel(), x, y, slope);
    }

    @Override public void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        String op = "leakyReluBackward";
        addr(op, "y", y);
        addr(op, "dy", dy);
        addr(op, "dx", dx);
        same(op, "y", y, "dy", dy);
        same(op, "y", y, "dx", dx);
        elementwise(K.LEAKY_RELU_BACKWARD, y.numel(), y.numel(), y, dy, dx, slope);
    }

    // ---- bias ---------------------------------------------------------------------------------

    @Override public void biasAdd(Tensor y, Tensor bias) {
        addr("biasAdd", "y", y);
        addr("biasAdd", "bias", bias);
        int[] d = bci("biasAdd", "y", y);
        expect("biasAdd", "bias", bias, d[1], "one per channel of y " + y.shape());
        elementwise(K.BIAS_ADD, y.numel(), y, bias, d[0], d[1], d[2]);
    }

    @Override public void biasBackward(Tensor dy, Tensor dbias, boolean accumulate) {
        addr("biasBackward", "dy", dy);
        addr("biasBackward", "dbias", dbias);
        int[] d = bci("biasBackward", "dy", dy);
        expect("biasBackward", "dbias", dbias, d[1], "one per channel of dy " + dy.shape());
        perRow(K.BIAS_BACKWARD, d[1], dy, dbias, d[0], d[1], d[2], accumulate);
    }

    // ---- GEMM ---------------------------------------------------------------------------------

    @Override public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                               int batch, long strideA, long strideB, long strideC) {
        String op = "gemm";
        long pa = addr(op, "a", a), pb = addr(op, "b", b), pc = addr(op, "c", c);
        if (m < 0 || n < 0 || k < 0 || batch < 1 || strideA < 0 || strideB < 0 || strideC < 0)
            throw new IllegalArgumentException(op + ": bad sizes m=" + m + " n=" + n + " k=" + k + " batch=" + batch
                    + " strides=" + strideA + "," + strideB + "," + strideC);
        String dims = "m=" + m + " n=" + n + " k=" + k + " batch=" + batch;
        if ((batch - 1) * strideA + (long) m * k > a.numel())
            throw new IllegalArgumentException(op + ": a " + a.shape() + " too small for " + dims + " strideA=" + strideA);
        if ((batch - 1) * strideB + (long) k * n > b.numel())
            throw new IllegalArgumentException(op + ": b " + b.shape() + " too small for " + dims + " strideB=" + strideB);
        if ((batch - 1) * strideC + (long) m * n > c.numel())
            throw new IllegalArgumentException(op + ": c " + c.shape() + " too small for " + dims + " strideC=" + strideC);
        gemmAt(transA, transB, m, n, k, alpha, pa, pb, beta, pc, batch, strideA, strideB, strideC);
    }

    /** The GEMM on raw device addresses (checked by the caller): cuBLAS when loaded, else our kernel. */
    private void gemmAt(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, long b, float beta, long c,
                        int batch, long strideA, long strideB, long strideC) {
        if (m == 0 || n == 0) return;
        if (cublas != null) {
            cublas.sgemm(transA, transB, m, n, k, alpha, a, b, beta, c, batch, strideA, strideB, strideC);
            return;
        }
        // gemm.cu: a 64 x 64 tile of C per 256-thread block, blockIdx.z = the product
        for (int b0 = 0; b0 < batch; b0 += MAX_GRID_Z) {
            int nb = Math.min(MAX_GRID_Z, batch - b0);
            kernels.get(K.GEMM).launch((n + 63) / 64, (m + 63) / 64, nb, 256, 1, 1, 0, transA, transB, m, n, k, alpha,
                    a + bytes(b0 * strideA), b + bytes(b0 * strideB), beta, c + bytes(b0 * strideC), strideA, strideB, strideC);
        }
    }

    // ---- convolution --------------------------------------------------------------------------

    @Override public void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g) {
        String op = "conv2dForward";
        long px = addr(op, "x", x), pw = addr(op, "w", w), py = addr(op, "y", y);
        conv(op, "x", x, g.batch(), g.inC(), g.inH(), g.inW(), g);
        conv(op, "w", w, g.outC(), g.inC(), g.kh(), g.kw(), g);
        conv(op, "y", y, g.batch(), g.outC(), g.outH(), g.outW(), g);
        if (bias != null) {
            addr(op, "bias", bias);
            expect(op, "bias", bias, g.outC(), "one per output channel of " + g);
        }
        if (cudnn != null) {
            cudnn.convForward(g, px, pw, py);
        } else {
            // y[b] (K, P) = w (K, CKK) col[b] (CKK, P), one strided-batched gemm per chunk of images
            int p = g.outH() * g.outW(), ckk = g.inC() * g.kh() * g.kw();
            int chunk = colChunk(g);
            CudaStorage col = scratch((long) chunk * ckk * p);
            try {
                for (int b0 = 0; b0 < g.batch(); b0 += chunk) {
                    int nb = Math.min(chunk, g.batch() - b0);
                    im2col(g, px + bytes((long) b0 * g.inC() * g.inH() * g.inW()), col, nb);
                    gemmAt(false, false, g.outC(), p, ckk, 1f, pw, col.address(), 0f,
                            py + bytes((long) b0 * g.outC() * p), nb, 0, (long) ckk * p, (long) g.outC() * p);
                }
            } finally {
                allocator.release(col);
            }
        }
        if (bias != null) elementwise(K.BIAS_ADD, y.numel(), y, bias, g.batch(), g.outC(), g.outH() * g.outW());
    }

    @Override public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g) {
        String op = "conv2dBackwardData";
        long pdy = addr(op, "dy", dy), pw = addr(op, "w", w), pdx = addr(op, "dx", dx);
        conv(op, "dy", dy, g.batch(), g.outC(), g.outH(), g.outW(), g);
        conv(op, "w", w, g.outC(), g.inC(), g.kh(), g.kw(), g);
        conv(op, "dx", dx, g.batch(), g.inC(), g.inH(), g.inW(), g);
        if (cudnn != null) {
            cudnn.convBackwardData(g, pdy, pw, pdx);
            return;
        }
        // dcol[b] (CKK, P) = w^T dy[b], then col2im gathers it into dx
        int p = g.outH() * g.outW(), ckk = g.inC() * g.kh() * g.kw(), image = g.inC() * g.inH() * g.inW();
        int chunk = colChunk(g);
        CudaStorage dcol = scratch((long) chunk * ckk * p);
        try {
            long pc = dcol.address();
            for (int b0 = 0; b0 < g.batch(); b0 += chunk) {
                int nb = Math.min(chunk, g.batch() - b0);
                gemmAt(true, false, ckk, p, g.outC(), 1f, pw, pdy + bytes((long) b0 * g.outC() * p), 0f, pc,
                        nb, 0, (long) g.outC() * p, (long) ckk * p);
                elementwise(K.COL2IM, (long) nb * image, dcol, pdx + bytes((long) b0 * image), nb, g.inC(), g.inH(), g.inW(),
                        g.kh(), g.kw(), g.stride(), g.pad(), g.outH(), g.outW());
            }
        } finally {
            allocator.release(dcol);
        }
    }

    @Override public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate) {
        String op = "conv2dBackwardFilter";
        long px = addr(op, "x", x), pdy = addr(op, "dy", dy), pdw = addr(op, "dw", dw);
        conv(op, "x", x, g.batch(), g.inC(), g.inH(), g.inW(), g);
        conv(op, "dy", dy, g.batch(), g.outC(), g.outH(), g.outW(), g);
        conv(op, "dw", dw, g.outC(), g.inC(), g.kh(), g.kw(), g);
        if (dbias != null) {
            addr(op, "dbias", dbias);
            expect(op, "dbias", dbias, g.outC(), "one per output channel of " + g);
        }
        int p = g.outH() * g.outW();
        if (cudnn != null) {
            cudnn.convBackwardFilter(g, px, pdy, pdw, accumulate);
        } else {
            // dw (K, CKK) (+)= sum over b of dy[b] (K, P) col[b]^T (P, CKK): one gemm per image, beta = 1 after the first
            int ckk = g.inC() * g.kh() * g.kw();
            int chunk = colChunk(g);
            CudaStorage col = scratch((long) chunk * ckk * p);
            try {
                long pc = col.address();
                for (int b0 = 0; b0 < g.batch(); b0 += chunk) {
                    int nb = Math.min(chunk, g.batch() - b0);
                    im2col(g, px + bytes((long) b0 * g.inC() * g.inH() * g.inW()), col, nb);
                    for (int i = 0; i < nb; i++) {
                        float beta = b0 + i == 0 && !accumulate ? 0f : 1f;
                        gemmAt(false, true, g.outC(), ckk, p, 1f, pdy + bytes((long) (b0 + i) * g.outC() * p),
                                pc + bytes((long) i * ckk * p), beta, pdw, 1, 0, 0, 0);
                    }
                }
            } finally {
                allocator.release(col);
            }
        }
        if (dbias != null) perRow(K.BIAS_BACKWARD, g.outC(), dy, dbias, g.batch(), g.outC(), p, accumulate);
    }

    /** Images per im2col chunk, so the column buffer stays within COL_BUDGET_BYTES (at least one image). */
    private static int colChunk(ConvGeom g) {
        long perImage = bytes((long) g.inC() * g.kh() * g.kw() * g.outH() * g.outW());
        return (int) Math.max(1, Math.min(g.batch(), COL_BUDGET_BYTES / perImage));
    }

    private void im2col(ConvGeom g, long x, CudaStorage col, int nb) {
        long n = (long) nb * g.inC() * g.kh() * g.kw() * g.outH() * g.outW();
        elementwise(K.IM2COL, n, x, col, nb, g.inC(), g.inH(), g.inW(), g.kh(), g.kw(), g.stride(), g.pad(), g.outH(), g.outW());
    }

    /**
     * Scratch memory for one op, from the pool but outside any scope: the op releases it before it
     * returns. That is safe without waiting, because the block's next user is queued on the same
     * stream after this op's kernels.
     */
    private CudaStorage scratch(long elements) { return allocator.acquire(bytes(elements)); }

    // ---- batch norm ---------------------------------------------------------------------------

    private static void bnParams(String op, int c, Tensor... ts) {
        String[] names = {"gamma", "beta", "runningMean", "runningVar"};
        for (int i = 0; i < ts.length; i++) {
            addr(op, names[i], ts[i]);
            expect(op, names[i], ts[i], c, "one per channel");
        }
    }

    @Override public void batchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormForwardTrain";
        addr(op, "x", x);
        addr(op, "y", y);
        addr(op, "saveMean", saveMean);
        addr(op, "saveInvStd", saveInvStd);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "y", y);
        bnParams(op, d[1], gamma, beta, runningMean, runningVar);
        expect(op, "saveMean", saveMean, d[1], "one per channel");
        expect(op, "saveInvStd", saveInvStd, d[1], "one per channel");
        if ((long) d[0] * d[2] < 2)
            throw new IllegalArgumentException(op + ": x " + x.shape() + " has one value per channel; batch statistics need more");
        perChannel(K.BATCH_NORM_FORWARD_TRAIN, d[1], x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd,
                d[0], d[1], d[2]);
    }

    @Override public void batchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        String op = "batchNormForwardEval";
        addr(op, "x", x);
        addr(op, "y", y);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "y", y);
        bnParams(op, d[1], gamma, beta, runningMean, runningVar);
        elementwise(K.BATCH_NORM_FORWARD_EVAL, x.numel(), x, gamma, beta, runningMean, runningVar, eps, y, d[0], d[1], d[2]);
    }

    @Override public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                            Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate) {
        String op = "batchNormBackward";
        addr(op, "x", x);
        addr(op, "dy", dy);
        addr(op, "dx", dx);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "dy", dy);
        same(op, "x", x, "dx", dx);
        int nc = d[1];
        String[] names = {"gamma", "saveMean", "saveInvStd", "dgamma", "dbeta"};
        Tensor[] ts = {gamma, saveMean, saveInvStd, dgamma, dbeta};
        for (int i = 0; i < ts.length; i++) {
            addr(op, names[i], ts[i]);
            expect(op, names[i], ts[i], nc, "one per channel");
        }
        perChannel(K.BATCH_NORM_BACKWARD, nc, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, d[0], nc, d[2], accumulate);
    }

    // ---- dropout ------------------------------------------------------------------------------

    /** 1 / (1 - p) rounded once in float, as the CPU twin, so kept values agree bit for bit. */
    private static float keepScale(float p) { return p < 1 ? 1f / (1f - p) : 0f; }

    @Override public void dropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner) {
        String op = "dropoutForward";
        addr(op, "x", x);
        addr(op, "y", y);
        same(op, "x", x, "y", y);
        dropout(op, x, p, inner);
        elementwise(K.DROPOUT_FORWARD, x.numel(), x, y, x.numel(), p, keepScale(p), seed, stream, inner);
    }

    @Override public void dropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner) {
        String op = "dropoutBackward";
        addr(op, "dy", dy);
        addr(op, "dx", dx);
        same(op, "dy", dy, "dx", dx);
        dropout(op, dy, p, inner);
        elementwise(K.DROPOUT_BACKWARD, dy.numel(), dy, dx, dy.numel(), p, keepScale(p), seed, stream, inner);
    }

    // ---- pooling ------------------------------------------------------------------------------

    private static Object[] poolArgs(Tensor a, Tensor b, PoolGeom g) {
        return new Object[] {a, b, g.batch(), g.channels(), g.inH(), g.inW(), g.kh(), g.kw(), g.sh(), g.sw(), g.ph(), g.pw(), g.outH(), g.outW()};
    }

    @Override public void maxPoolForward(Tensor x, Tensor y, PoolGeom g) {
        String op = "maxPoolForward";
        addr(op, "x", x);
        addr(op, "y", y);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "y", y, g.outH(), g.outW(), g);
        elementwise(K.MAX_POOL_FORWARD, y.numel(), poolArgs(x, y, g));
    }

    @Override public void maxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g) {
        String op = "maxPoolBackward";
        addr(op, "x", x);
        addr(op, "dy", dy);
        addr(op, "dx", dx);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "dy", dy, g.outH(), g.outW(), g);
        pool(op, "dx", dx, g.inH(), g.inW(), g);
        Object[] args = poolArgs(dy, dx, g);
        Object[] withX = new Object[args.length + 1];
        withX[0] = x;
        System.arraycopy(args, 0, withX, 1, args.length);
        elementwise(K.MAX_POOL_BACKWARD, dx.numel(), withX);
    }

    @Override public void avgPoolForward(Tensor x, Tensor y, PoolGeom g) {
        String op = "avgPoolForward";
        addr(op, "x", x);
        addr(op, "y", y);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "y", y, g.outH(), g.outW(), g);
        elementwise(K.AVG_POOL_FORWARD, y.numel(), poolArgs(x, y, g));
    }

    @Override public void avgPoolBackward(Tensor dy, Tensor dx, PoolGeom g) {
        String op = "avgPoolBackward";
        addr(op, "dy", dy);
        addr(op, "dx", dx);
        pool(op, "dy", dy, g.outH(), g.outW(), g);
        pool(op, "dx", dx, g.inH(), g.inW(), g);
        elementwise(K.AVG_POOL_BACKWARD, dx.numel(), poolArgs(dy, dx, g));
    }

    // ---- losses -------------------------------------------------------------------------------

    @Override public void crossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs) {
        String op = "crossEntropyForward";
        addr(op, "logits", logits);
        addr(op, "labels", labels);
        addr(op, "loss", loss);
        addr(op, "probs", probs);
        int[] bk = logitsBK(op, logits, labels);
        expect(op, "loss", loss, 1, "a scalar");
        same(op, "logits", logits, "probs", probs);
        single(K.CROSS_ENTROPY_FORWARD, logits, labels, loss, probs, bk[0], bk[1]);
    }

    @Override public void crossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits) {
        String op = "crossEntropyBackward";
        addr(op, "probs", probs);
        addr(op, "labels", labels);
        addr(op, "dloss", dloss);
        addr(op, "dlogits", dlogits);
        int[] bk = logitsBK(op, probs, labels);
        expect(op, "dloss", dloss, 1, "a scalar");
        same(op, "probs", probs, "dlogits", dlogits);
        elementwise(K.CROSS_ENTROPY_BACKWARD, probs.numel(), probs, labels, dloss, dlogits, bk[0], bk[1]);
    }

    @Override public void bceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss) {
        String op = "bceWithLogitsForward";
        addr(op, "logits", logits);
        addr(op, "targets", targets);
        addr(op, "loss", loss);
        same(op, "logits", logits, "targets", targets);
        expect(op, "loss", loss, 1, "a scalar");
        if (logits.numel() == 0) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " is empty");
        single(K.BCE_WITH_LOGITS_FORWARD, logits, targets, loss, logits.numel());
    }

    @Override public void bceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits) {
        String op = "bceWithLogitsBackward";
        addr(op, "logits", logits);
        addr(op, "targets", targets);
        addr(op, "dloss", dloss);
        addr(op, "dlogits", dlogits);
        same(op, "logits", logits, "targets", targets);
        same(op, "logits", logits, "dlogits", dlogits);
        expect(op, "dloss", dloss, 1, "a scalar");
        elementwise(K.BCE_WITH_LOGITS_BACKWARD, logits.numel(), logits, targets, dloss, dlogits, logits.numel());
    }

    @Override public void mseForward(Tensor a, Tensor b, Tensor loss) {
        String op = "mseForward";
        addr(op, "a", a);
        addr(op, "b", b);
        addr(op, "loss", loss);
        same(op, "a", a, "b", b);
        expect(op, "loss", loss, 1, "a scalar");
        if (a.numel() == 0) throw new IllegalArgumentException(op + ": a " + a.shape() + " is empty");
        single(K.MSE_FORWARD, a, b, loss, a.numel());
    }

    @Override public void mseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da) {
        String op = "mseBackward";
        addr(op, "a", a);
        addr(op, "b", b);
        addr(op, "dloss", dloss);
        addr(op, "da", da);
        same(op, "a", a, "b", b);
        same(op, "a", a, "da", da);
        expect(op, "dloss", dloss, 1, "a scalar");
        elementwise(K.MSE_BACKWARD, a.numel(), a, b, dloss, da, a.numel());
    }

    // ---- similarity matrix --------------------------------------------------------------------

    @Override public void similarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm) {
        String op = "similarityForward";
        addr(op, "x", x);
        long ps = addr(op, "s", s);
        addr(op, "xc", xc);
        addr(op, "norm", norm);
        int[] bd = rows(op, "x", x);
        int nb = bd[0], d = bd[1];
        expect(op, "s", s, (long) nb * nb, "(B, B) for x " + x.shape());
        same(op, "x", x, "xc", xc);
        expect(op, "norm", norm, nb, "one per row of x " + x.shape());
        // xn (B, D), the normalised rows, lives only for the Gram product
        CudaStorage xn = scratch((long) nb * d);
        try {
            perRow(K.SIMILARITY_NORMALIZE, nb, x, xc, norm, xn, nb, d);
            gemmAt(false, true, nb, nb, d, 1f, xn.address(), xn.address(), 0f, ps, 1, 0, 0, 0);
        } finally {
            allocator.release(xn);
        }
        elementwise(K.SIMILARITY_CLAMP, (long) nb * nb, s, nb * nb);
    }

    @Override public void similarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx) {
        String op = "similarityBackward";
        long pxc = addr(op, "xc", xc);
        addr(op, "norm", norm);
        addr(op, "s", s);
        addr(op, "ds", ds);
        long pdx = addr(op, "dx", dx);
        int[] bd = rows(op, "xc", xc);
        int nb = bd[0], d = bd[1];
        expect(op, "norm", norm, nb, "one per row of xc " + xc.shape());
        expect(op, "s", s, (long) nb * nb, "(B, B) for xc " + xc.shape());
        expect(op, "ds", ds, (long) nb * nb, "(B, B) for xc " + xc.shape());
        same(op, "xc", xc, "dx", dx);
        // dx first holds dxn = g xc with g = (dG + dG^T) / (eps + norm_j), then goes back through the rows
        CudaStorage g = scratch((long) nb * nb);
        try {
            elementwise(K.SIMILARITY_BACKWARD_GRAM, (long) nb * nb, s, ds, norm, g, nb);
            gemmAt(false, false, nb, d, nb, 1f, g.address(), pxc, 0f, pdx, 1, 0, 0, 0);
        } finally {
            allocator.release(g);
        }
        perRow(K.SIMILARITY_BACKWARD_ROWS, nb, xc, norm, dx, nb, d);
    }

    // ---- feature-map standard deviation -------------------------------------------------------

    /** featstd.cu: a warp per map, 8 maps per 256-thread block. */
    private void perMap(K k, int maps, Object... args) {
        if (maps == 0) return;
        kernels.get(k).launch((maps + 7) / 8, 1, 1, 256, 1, 1, 0, args);
    }

    @Override public void featureMapStdForward(Tensor x, Tensor y) {
        String op = "featureMapStdForward";
        addr(op, "x", x);
        addr(op, "y", y);
        int[] d = bci(op, "x", x);
        expect(op, "y", y, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        if (d[2] < 2) throw new IllegalArgumentException(op + ": x " + x.shape() + " has " + d[2] + " element per map; the unbiased std needs 2");
        perMap(K.FEATURE_MAP_STD_FORWARD, d[0] * d[1], x, y, d[0] * d[1], d[2]);
    }

    @Override public void featureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "featureMapStdBackward";
        addr(op, "x", x);
        addr(op, "y", y);
        addr(op, "dy", dy);
        addr(op, "dx", dx);
        int[] d = bci(op, "x", x);
        expect(op, "y", y, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        expect(op, "dy", dy, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        same(op, "x", x, "dx", dx);
        if (d[2] < 2) throw new IllegalArgumentException(op + ": x " + x.shape() + " has " + d[2] + " element per map; the unbiased std needs 2");
        perMap(K.FEATURE_MAP_STD_BACKWARD, d[0] * d[1], x, y, dy, dx, d[0] * d[1], d[2]);
    }

    // ---- optimizers ---------------------------------------------------------------------------

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                   float eps, float weightDecay, int step) {
        String op = "adamStep";
        addr(op, "param", param);
        addr(op, "grad", grad);
        addr(op, "m", m);
        addr(op, "v", v);
        same(op, "param", param, "grad", grad);
        same(op, "param", param, "m", m);
        same(op, "param", param, "v", v);
        Object vm = 0L; // a null device pointer: plain Adam
        if (vmax != null) {
            addr(op, "vmax", vmax);
            same(op, "param", param, "vmax", vmax);
            vm = vmax;
        }
        if (step < 1) throw new IllegalArgumentException(op + ": step " + step + " must count from 1");
        // the bias corrections as torch and the CPU twin compute them: in double, then rounded once
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float stepSize = (float) (lr / bc1), bc2Sqrt = (float) Math.sqrt(bc2);
        elementwise(K.ADAM_STEP, param.numel(), param, grad, m, v, vm, param.numel(), stepSize, beta1, beta2, eps, weightDecay, bc2Sqrt);
    }

    @Override public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep) {
        String op = "sgdStep";
        addr(op, "param", param);
        addr(op, "grad", grad);
        same(op, "param", param, "grad", grad);
        Object buf = 0L; // no momentum: the kernel skips the buffer
        if (momentum != 0) {
            addr(op, "momentumBuf", momentumBuf);
            same(op, "param", param, "momentumBuf", momentumBuf);
            buf = momentumBuf;
        }
        elementwise(K.SGD_STEP, param.numel(), param, grad, buf, param.numel(), lr, momentum, weightDecay, firstStep);
    }

    // ---- augmentation -------------------------------------------------------------------------

    @Override public void channelAffine(Tensor x, Tensor scale, Tensor shift) {
        String op = "channelAffine";
        addr(op, "x", x);
        addr(op, "scale", scale);
        addr(op, "shift", shift);
        int[] d = bci(op, "x", x);
        expect(op, "scale", scale, d[1], "one per channel of x " + x.shape());
        expect(op, "shift", shift, d[1], "one per channel of x " + x.shape());
        elementwise(K.CHANNEL_AFFINE, x.numel(), x, scale, shift, d[0], d[1], d[2]);
    }

    @Override public void randomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream) {
        String op = "randomCropFlip";
        long px = addr(op, "x", x), py = addr(op, "y", y);
        images(op, "x", x);
        if (!x.shape().equals(y.shape())) throw new IllegalArgumentException(op + ": x " + x.shape() + " and y " + y.shape() + " differ");
        if (px == py) throw new IllegalArgumentException(op + ": y " + y.shape() + " shares x's memory; the crop cannot run in place");
        if (pad < 0) throw new IllegalArgumentException(op + ": pad " + pad + " is negative");
        elementwise(K.RANDOM_CROP_FLIP, x.numel(), x, y, x.dim(0), x.dim(1), x.dim(2), x.dim(3), pad, flip, seed, stream);
    }

    @Override public void cutout(Tensor x, int length, long seed, long stream) {
        String op = "cutout";
        addr(op, "x", x);
        images(op, "x", x);
        if (length < 0) throw new IllegalArgumentException(op + ": length " + length + " is negative");
        elementwise(K.CUTOUT, x.numel(), x, x.dim(0), x.dim(1), x.dim(2), x.dim(3), length, seed, stream);
    }
}
