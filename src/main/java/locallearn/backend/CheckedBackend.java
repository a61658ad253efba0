package locallearn.backend;

import locallearn.tensor.DType;
import locallearn.tensor.Storage;
import locallearn.tensor.Tensor;

/**
 * The one checked boundary of every backend: each public op of {@link Backend} is a final method
 * here that checks its arguments (null, released, on this device, element counts against each
 * other and against the geometry, scalar ranges), then calls the device's {@code do...}
 * implementation, which trusts what was checked. So a bad argument fails with the same message
 * on every device, naming the op, the argument and the shapes, and a backend cannot be built
 * without the checks.
 *
 * <p>Why a base class and not a decorator around the device backend: nothing can construct a
 * backend that skips the checks (tests and benchmarks build {@code new CpuBackend()} directly),
 * {@code instanceof CpuBackend} and the CUDA backend's own methods keep working, and an op costs
 * one monomorphic call more, which the JIT inlines, instead of a second interface dispatch
 * through a wrapper object.
 *
 * <p>The one check that stays on a device is a data check: labels must be class indices in
 * [0, K). The CPU checks each label as it reads it; the GPU could only check by waiting for the
 * device, so a bad label gives a NaN loss there instead of an exception.
 */
public abstract class CheckedBackend implements Backend {
    private final String device;
    private final Class<? extends Storage> storage;

    /** {@code device} names this backend's tensors in messages ("CPU", "CUDA"); its tensors' storage is a {@code storage}. */
    protected CheckedBackend(String device, Class<? extends Storage> storage) {
        this.device = device;
        this.storage = storage;
    }

    // ---- the argument checks --------------------------------------------------------------------

    /** {@code t} is a live tensor of this device. */
    private void live(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isReleased()) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " used after release");
        Storage s = t.storage();
        if (!storage.isInstance(s))
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " is not a " + device + " tensor (" + s.getClass().getSimpleName() + ")");
    }

    /**
     * Each of {@code ts} (null ones aside), named in order by the space-separated {@code names},
     * is float32: parameters and their state, statistics, losses and their scalars never are bf16.
     */
    private static void f32(String op, String names, Tensor... ts) {
        for (int i = 0; i < ts.length; i++)
            if (ts[i] != null && ts[i].dtype() != DType.F32)
                throw new IllegalArgumentException(op + ": " + names.split(" ")[i] + " " + ts[i].shape() + " is " + ts[i].dtype() + ", must be F32");
    }

    /** The two operands of a product have one dtype, as the GPU's GEMM and convolution take them. */
    private static void sameType(String op, String na, Tensor a, String nb, Tensor b) {
        if (a.dtype() != b.dtype())
            throw new IllegalArgumentException(op + ": " + na + " is " + a.dtype() + " and " + nb + " is " + b.dtype() + "; a product takes operands of one dtype");
    }

    /**
     * The activations of an op (each of {@code ts} not null, named in order by {@code names}) share
     * one dtype: the GPU runs an op in one instantiation of its kernel, float or bf16. Products
     * (gemm's c, a convolution's output) may take the other; copy converts.
     */
    private static void oneType(String op, String names, Tensor... ts) {
        Tensor first = null;
        int at = -1;
        for (int i = 0; i < ts.length; i++) {
            if (ts[i] == null) continue;
            if (first == null) {
                first = ts[i];
                at = i;
            } else if (ts[i].dtype() != first.dtype()) {
                String[] n = names.split(" ");
                throw new IllegalArgumentException(op + ": " + n[at] + " is " + first.dtype() + " and " + n[i] + " is " + ts[i].dtype()
                        + "; an op's activations share one dtype (copy converts)");
            }
        }
    }

    private static void expect(String op, String name, Tensor t, long numel, String what) {
        if (t.numel() != numel)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " has " + t.numel() + " elements, expected " + numel + " (" + what + ")");
    }

    private static void same(String op, String na, Tensor a, String nb, Tensor b) {
        if (a.numel() != b.numel())
            throw new IllegalArgumentException(op + ": " + na + " " + a.shape() + " and " + nb + " " + b.shape() + " differ in element count");
    }

    /** (B, C, inner) of a tensor of rank >= 2. */
    private static int[] bci(String op, String name, Tensor t) {
        if (t.rank() < 2) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must have rank >= 2 (B, C, ...)");
        return bciOf(t);
    }

    /** (B, D) of a tensor of rank >= 1: rows are the first dimension, everything else is a row. */
    private static int[] rows(String op, String name, Tensor t) {
        if (t.rank() < 1 || t.dim(0) < 1) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be (B, D) with B >= 1");
        return new int[] {t.dim(0), t.shape().sizeFrom(1)};
    }

    private static void images(String op, String name, Tensor t) {
        if (t.rank() != 4) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be (B, C, H, W)");
    }

    private static void conv(String op, String name, Tensor t, int b, int c, int h, int w, ConvGeom g) {
        if (t.numel() != (long) b * c * h * w)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " does not match geometry " + g + " (expected (" + b + ", " + c + ", " + h + ", " + w + "))");
    }

    private static void pool(String op, String name, Tensor t, int h, int w, PoolGeom g) {
        if (t.numel() != (long) g.batch() * g.channels() * h * w)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " does not match geometry " + g + " (expected (" + g.batch() + ", " + g.channels() + ", " + h + ", " + w + "))");
    }

    /** logits (B, K), B and K at least 1, with one label per row. */
    private static void logitsBK(String op, Tensor logits, Tensor labels) {
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be (B, K)");
        if (logits.dim(0) < 1 || logits.dim(1) < 1) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " is empty");
        expect(op, "labels", labels, logits.dim(0), "one per row of logits " + logits.shape());
    }

    /** Dropout's probability and unit size (inner elements per unit) against the tensor it drops. */
    private static void dropout(String op, Tensor a, float p, int inner) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException(op + ": p = " + p + " is not in [0, 1]");
        if (inner < 1 || a.numel() % inner != 0)
            throw new IllegalArgumentException(op + ": inner = " + inner + " does not divide the " + a.numel() + " elements of " + a.shape());
    }

    private static void featureMaps(String op, Tensor x, int inner) {
        if (inner < 2) throw new IllegalArgumentException(op + ": x " + x.shape() + " has " + inner + " element per map; the unbiased std needs 2");
    }

    /** {B, C, inner} of a tensor checked to have rank >= 2: what the implementations index with. */
    protected static int[] bciOf(Tensor t) { return new int[] {t.dim(0), t.dim(1), t.shape().sizeFrom(2)}; }

    // ---- memory ----------------------------------------------------------------------------

    @Override public final void write(Tensor dst, float[] src) {
        live("write", "dst", dst);
        if (src.length != dst.numel())
            throw new IllegalArgumentException("write: dst " + dst.shape() + " has " + dst.numel() + " elements, source has " + src.length);
        doWrite(dst, src);
    }

    @Override public final float[] read(Tensor src) {
        live("read", "src", src);
        return doRead(src);
    }

    // ---- elementwise and reductions ----------------------------------------------------------

    @Override public final void fill(Tensor x, float value) {
        live("fill", "x", x);
        try { doFill(x, value); } finally { finishOp(); }
    }

    @Override public final void copy(Tensor src, Tensor dst) {
        live("copy", "src", src);
        live("copy", "dst", dst);
        same("copy", "src", src, "dst", dst);
        try { doCopy(src, dst); } finally { finishOp(); }
    }

    @Override public final void copyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count) {
        live("copyRange", "src", src);
        live("copyRange", "dst", dst);
        if (srcOffset < 0 || dstOffset < 0 || count < 0 || (long) srcOffset + count > src.numel() || (long) dstOffset + count > dst.numel())
            throw new IllegalArgumentException("copyRange: " + count + " elements from " + srcOffset + " of src " + src.shape()
                    + " to " + dstOffset + " of dst " + dst.shape() + " do not fit");
        try { doCopyRange(src, srcOffset, dst, dstOffset, count); } finally { finishOp(); }
    }

    @Override public final void axpy(float a, Tensor x, Tensor y) {
        live("axpy", "x", x);
        live("axpy", "y", y);
        same("axpy", "x", x, "y", y);
        oneType("axpy", "x y", x, y);
        try { doAxpy(a, x, y); } finally { finishOp(); }
    }

    @Override public final void scale(Tensor x, float a) {
        live("scale", "x", x);
        try { doScale(x, a); } finally { finishOp(); }
    }

    @Override public final void multiply(Tensor a, Tensor b, Tensor out, boolean accumulate) {
        String op = "multiply";
        live(op, "a", a);
        live(op, "b", b);
        live(op, "out", out);
        same(op, "a", a, "b", b);
        same(op, "a", a, "out", out);
        oneType(op, "a b out", a, b, out);
        try { doMultiply(a, b, out, accumulate); } finally { finishOp(); }
    }

    @Override public final void sum(Tensor x, Tensor out, boolean accumulate) {
        live("sum", "x", x);
        live("sum", "out", out);
        expect("sum", "out", out, 1, "a scalar");
        f32("sum", "out", out);
        try { doSum(x, out, accumulate); } finally { finishOp(); }
    }

    @Override public final void channelSum(Tensor x, Tensor weight, Tensor out, boolean accumulate) {
        String op = "channelSum";
        live(op, "x", x);
        live(op, "out", out);
        int[] d = bci(op, "x", x);
        if (weight != null) {
            live(op, "weight", weight);
            same(op, "x", x, "weight", weight);
        }
        expect(op, "out", out, d[1], "one per channel of x " + x.shape());
        f32(op, "out", out);
        oneType(op, "x weight", x, weight);
        try { doChannelSum(x, weight, out, accumulate); } finally { finishOp(); }
    }

    @Override public final void countCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate) {
        String op = "countCorrect";
        live(op, "logits", logits);
        live(op, "labels", labels);
        live(op, "out", out);
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be (B, K)");
        int b = logits.dim(0), k = logits.dim(1);
        expect(op, "labels", labels, b, "one per row of logits " + logits.shape());
        expect(op, "out", out, 1, "a scalar");
        if (k < 1 && b > 0) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " has no classes");
        f32(op, "labels out", labels, out);
        try { doCountCorrect(logits, labels, out, accumulate); } finally { finishOp(); }
    }

    @Override public final void leakyReluForward(Tensor x, Tensor y, float slope) {
        String op = "leakyReluForward";
        live(op, "x", x);
        live(op, "y", y);
        same(op, "x", x, "y", y);
        oneType(op, "x y", x, y);
        try { doLeakyReluForward(x, y, slope); } finally { finishOp(); }
    }

    @Override public final void leakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope) {
        String op = "leakyReluBackward";
        live(op, "y", y);
        live(op, "dy", dy);
        live(op, "dx", dx);
        same(op, "y", y, "dy", dy);
        same(op, "y", y, "dx", dx);
        oneType(op, "y dy dx", y, dy, dx);
        try { doLeakyReluBackward(y, dy, dx, slope); } finally { finishOp(); }
    }

    // ---- bias ---------------------------------------------------------------------------------

    @Override public final void biasAdd(Tensor y, Tensor bias) {
        live("biasAdd", "y", y);
        live("biasAdd", "bias", bias);
        int[] d = bci("biasAdd", "y", y);
        expect("biasAdd", "bias", bias, d[1], "one per channel of y " + y.shape());
        f32("biasAdd", "bias", bias);
        try { doBiasAdd(y, bias); } finally { finishOp(); }
    }

    @Override public final void biasBackward(Tensor dy, Tensor dbias, boolean accumulate) {
        live("biasBackward", "dy", dy);
        live("biasBackward", "dbias", dbias);
        int[] d = bci("biasBackward", "dy", dy);
        expect("biasBackward", "dbias", dbias, d[1], "one per channel of dy " + dy.shape());
        f32("biasBackward", "dbias", dbias);
        try { doBiasBackward(dy, dbias, accumulate); } finally { finishOp(); }
    }

    // ---- GEMM ---------------------------------------------------------------------------------

    @Override public final void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                                     int batch, long strideA, long strideB, long strideC) {
        String op = "gemm";
        live(op, "a", a);
        live(op, "b", b);
        live(op, "c", c);
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
        sameType(op, "a", a, "b", b);
        try { doGemm(transA, transB, m, n, k, alpha, a, b, beta, c, batch, strideA, strideB, strideC); } finally { finishOp(); }
    }

    // ---- convolution --------------------------------------------------------------------------

    @Override public final void conv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g) {
        String op = "conv2dForward";
        live(op, "x", x);
        live(op, "w", w);
        live(op, "y", y);
        conv(op, "x", x, g.batch(), g.inC(), g.inH(), g.inW(), g);
        conv(op, "w", w, g.outC(), g.inC(), g.kh(), g.kw(), g);
        conv(op, "y", y, g.batch(), g.outC(), g.outH(), g.outW(), g);
        if (bias != null) {
            live(op, "bias", bias);
            expect(op, "bias", bias, g.outC(), "one per output channel of " + g);
        }
        sameType(op, "x", x, "w", w);
        f32(op, "bias", bias);
        try { doConv2dForward(x, w, bias, y, g); } finally { finishOp(); }
    }

    @Override public final void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g) {
        String op = "conv2dBackwardData";
        live(op, "dy", dy);
        live(op, "w", w);
        live(op, "dx", dx);
        conv(op, "dy", dy, g.batch(), g.outC(), g.outH(), g.outW(), g);
        conv(op, "w", w, g.outC(), g.inC(), g.kh(), g.kw(), g);
        conv(op, "dx", dx, g.batch(), g.inC(), g.inH(), g.inW(), g);
        sameType(op, "dy", dy, "w", w);
        try { doConv2dBackwardData(dy, w, dx, g); } finally { finishOp(); }
    }

    @Override public final void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate) {
        String op = "conv2dBackwardFilter";
        live(op, "x", x);
        live(op, "dy", dy);
        live(op, "dw", dw);
        conv(op, "x", x, g.batch(), g.inC(), g.inH(), g.inW(), g);
        conv(op, "dy", dy, g.batch(), g.outC(), g.outH(), g.outW(), g);
        conv(op, "dw", dw, g.outC(), g.inC(), g.kh(), g.kw(), g);
        if (dbias != null) {
            live(op, "dbias", dbias);
            expect(op, "dbias", dbias, g.outC(), "one per output channel of " + g);
        }
        sameType(op, "x", x, "dy", dy);
        f32(op, "dw dbias", dw, dbias);
        try { doConv2dBackwardFilter(x, dy, dw, dbias, g, accumulate); } finally { finishOp(); }
    }

    // ---- batch norm ---------------------------------------------------------------------------

    /** Per-channel tensors of a batch-norm op, by name: each live and of c elements. */
    private void perChannel(String op, int c, String[] names, Tensor... ts) {
        for (int i = 0; i < ts.length; i++) {
            live(op, names[i], ts[i]);
            expect(op, names[i], ts[i], c, "one per channel");
        }
    }

    private static final String[] BN_PARAMS = {"gamma", "beta", "runningMean", "runningVar"};

    @Override public final void batchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                      float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormForwardTrain";
        live(op, "x", x);
        live(op, "y", y);
        live(op, "saveMean", saveMean);
        live(op, "saveInvStd", saveInvStd);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "y", y);
        perChannel(op, d[1], BN_PARAMS, gamma, beta, runningMean, runningVar);
        expect(op, "saveMean", saveMean, d[1], "one per channel");
        expect(op, "saveInvStd", saveInvStd, d[1], "one per channel");
        if ((long) d[0] * d[2] < 2)
            throw new IllegalArgumentException(op + ": x " + x.shape() + " has one value per channel; batch statistics need more");
        f32(op, "gamma beta runningMean runningVar saveMean saveInvStd", gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        oneType(op, "x y", x, y);
        try { doBatchNormForwardTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd); } finally { finishOp(); }
    }

    @Override public final void batchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) {
        String op = "batchNormForwardEval";
        live(op, "x", x);
        live(op, "y", y);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "y", y);
        perChannel(op, d[1], BN_PARAMS, gamma, beta, runningMean, runningVar);
        f32(op, "gamma beta runningMean runningVar", gamma, beta, runningMean, runningVar);
        oneType(op, "x y", x, y);
        try { doBatchNormForwardEval(x, gamma, beta, runningMean, runningVar, eps, y); } finally { finishOp(); }
    }

    @Override public final void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                                  Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate) {
        String op = "batchNormBackward";
        live(op, "x", x);
        live(op, "dy", dy);
        live(op, "dx", dx);
        int[] d = bci(op, "x", x);
        same(op, "x", x, "dy", dy);
        same(op, "x", x, "dx", dx);
        perChannel(op, d[1], new String[] {"gamma", "saveMean", "saveInvStd", "dgamma", "dbeta"}, gamma, saveMean, saveInvStd, dgamma, dbeta);
        f32(op, "gamma saveMean saveInvStd dgamma dbeta", gamma, saveMean, saveInvStd, dgamma, dbeta);
        oneType(op, "x dy dx", x, dy, dx);
        try { doBatchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, accumulate); } finally { finishOp(); }
    }

    // ---- dropout ------------------------------------------------------------------------------

    @Override public final void dropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner) {
        String op = "dropoutForward";
        live(op, "x", x);
        live(op, "y", y);
        same(op, "x", x, "y", y);
        dropout(op, x, p, inner);
        oneType(op, "x y", x, y);
        try { doDropoutForward(x, y, p, seed, stream, inner); } finally { finishOp(); }
    }

    @Override public final void dropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner) {
        String op = "dropoutBackward";
        live(op, "dy", dy);
        live(op, "dx", dx);
        same(op, "dy", dy, "dx", dx);
        dropout(op, dy, p, inner);
        oneType(op, "dy dx", dy, dx);
        try { doDropoutBackward(dy, dx, p, seed, stream, inner); } finally { finishOp(); }
    }

    // ---- pooling ------------------------------------------------------------------------------

    @Override public final void maxPoolForward(Tensor x, Tensor y, PoolGeom g) {
        poolForward("maxPoolForward", x, y, g);
        try { doMaxPoolForward(x, y, g); } finally { finishOp(); }
    }

    @Override public final void maxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g) {
        String op = "maxPoolBackward";
        live(op, "x", x);
        live(op, "dy", dy);
        live(op, "dx", dx);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "dy", dy, g.outH(), g.outW(), g);
        pool(op, "dx", dx, g.inH(), g.inW(), g);
        oneType(op, "x dy dx", x, dy, dx);
        try { doMaxPoolBackward(x, dy, dx, g); } finally { finishOp(); }
    }

    @Override public final void avgPoolForward(Tensor x, Tensor y, PoolGeom g) {
        poolForward("avgPoolForward", x, y, g);
        try { doAvgPoolForward(x, y, g); } finally { finishOp(); }
    }

    /** A pool's input x and output y against its geometry. */
    private void poolForward(String op, Tensor x, Tensor y, PoolGeom g) {
        live(op, "x", x);
        live(op, "y", y);
        pool(op, "x", x, g.inH(), g.inW(), g);
        pool(op, "y", y, g.outH(), g.outW(), g);
        oneType(op, "x y", x, y);
    }

    @Override public final void avgPoolBackward(Tensor dy, Tensor dx, PoolGeom g) {
        String op = "avgPoolBackward";
        live(op, "dy", dy);
        live(op, "dx", dx);
        pool(op, "dy", dy, g.outH(), g.outW(), g);
        pool(op, "dx", dx, g.inH(), g.inW(), g);
        oneType(op, "dy dx", dy, dx);
        try { doAvgPoolBackward(dy, dx, g); } finally { finishOp(); }
    }

    // ---- losses -------------------------------------------------------------------------------

    @Override public final void crossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs) {
        String op = "crossEntropyForward";
        live(op, "logits", logits);
        live(op, "labels", labels);
        live(op, "loss", loss);
        live(op, "probs", probs);
        logitsBK(op, logits, labels);
        expect(op, "loss", loss, 1, "a scalar");
        same(op, "logits", logits, "probs", probs);
        f32(op, "labels loss probs", labels, loss, probs);
        try { doCrossEntropyForward(logits, labels, loss, probs); } finally { finishOp(); }
    }

    @Override public final void crossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits) {
        String op = "crossEntropyBackward";
        live(op, "probs", probs);
        live(op, "labels", labels);
        live(op, "dloss", dloss);
        live(op, "dlogits", dlogits);
        logitsBK(op, probs, labels);
        expect(op, "dloss", dloss, 1, "a scalar");
        same(op, "probs", probs, "dlogits", dlogits);
        f32(op, "probs labels dloss", probs, labels, dloss);
        try { doCrossEntropyBackward(probs, labels, dloss, dlogits); } finally { finishOp(); }
    }

    @Override public final void bceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss) {
        elementwiseLoss("bceWithLogitsForward", "logits", logits, "targets", targets, loss);
        f32("bceWithLogitsForward", "targets loss", targets, loss);
        try { doBceWithLogitsForward(logits, targets, loss); } finally { finishOp(); }
    }

    @Override public final void bceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits) {
        elementwiseLossBackward("bceWithLogitsBackward", "logits", logits, "targets", targets, dloss, "dlogits", dlogits);
        f32("bceWithLogitsBackward", "targets dloss", targets, dloss);
        oneType("bceWithLogitsBackward", "logits dlogits", logits, dlogits);
        try { doBceWithLogitsBackward(logits, targets, dloss, dlogits); } finally { finishOp(); }
    }

    @Override public final void mseForward(Tensor a, Tensor b, Tensor loss) {
        elementwiseLoss("mseForward", "a", a, "b", b, loss);
        f32("mseForward", "loss", loss);
        oneType("mseForward", "a b", a, b);
        try { doMseForward(a, b, loss); } finally { finishOp(); }
    }

    @Override public final void mseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da) {
        elementwiseLossBackward("mseBackward", "a", a, "b", b, dloss, "da", da);
        f32("mseBackward", "dloss", dloss);
        oneType("mseBackward", "a b da", a, b, da);
        try { doMseBackward(a, b, dloss, da); } finally { finishOp(); }
    }

    /** A scalar loss of two same-sized, non-empty inputs (binary cross-entropy, MSE). */
    private void elementwiseLoss(String op, String na, Tensor a, String nb, Tensor b, Tensor loss) {
        live(op, na, a);
        live(op, nb, b);
        live(op, "loss", loss);
        same(op, na, a, nb, b);
        expect(op, "loss", loss, 1, "a scalar");
        if (a.numel() == 0) throw new IllegalArgumentException(op + ": " + na + " " + a.shape() + " is empty");
    }

    /** Its backward: the scalar's gradient dloss to {@code da}, the size of a. */
    private void elementwiseLossBackward(String op, String na, Tensor a, String nb, Tensor b, Tensor dloss, String nda, Tensor da) {
        live(op, na, a);
        live(op, nb, b);
        live(op, "dloss", dloss);
        live(op, nda, da);
        same(op, na, a, nb, b);
        same(op, na, a, nda, da);
        expect(op, "dloss", dloss, 1, "a scalar");
    }

    // ---- feedback alignment -------------------------------------------------------------------

    @Override public final void faBceBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor x, Tensor fb, Tensor dx, Tensor dw, Tensor db,
                                              boolean accumulate) {
        String op = "faBceBackward";
        live(op, "logits", logits);
        live(op, "targets", targets);
        live(op, "dloss", dloss);
        live(op, "x", x);
        live(op, "fb", fb);
        if (logits.rank() != 2 || logits.dim(0) < 1 || logits.dim(1) < 1)
            throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be (B, K) with B, K >= 1");
        int nb = logits.dim(0), k = logits.dim(1);
        same(op, "logits", logits, "targets", targets);
        expect(op, "dloss", dloss, 1, "a scalar");
        int[] bd = rows(op, "x", x);
        if (bd[1] < 1) throw new IllegalArgumentException(op + ": x " + x.shape() + " has no features");
        if (bd[0] != nb) throw new IllegalArgumentException(op + ": x " + x.shape() + " has " + bd[0] + " rows, logits " + logits.shape() + " has " + nb);
        expect(op, "fb", fb, (long) k * bd[1], "(K, D) for logits " + logits.shape() + " and x " + x.shape());
        if (dx != null) {
            live(op, "dx", dx);
            same(op, "x", x, "dx", dx);
            // one launch reads x for dw while it writes dx
            if (dx.storage() == x.storage()) throw new IllegalArgumentException(op + ": dx " + dx.shape() + " shares x's memory; it cannot be written in place");
        }
        if (dw != null) {
            live(op, "dw", dw);
            same(op, "fb", fb, "dw", dw);
        }
        if (db != null) {
            if (dw == null) throw new IllegalArgumentException(op + ": db is given without dw (a layer's bias and weight gradients go together)");
            live(op, "db", db);
            expect(op, "db", db, k, "one per column of logits " + logits.shape());
        }
        f32(op, "targets dloss fb dw db", targets, dloss, fb, dw, db);
        oneType(op, "logits x dx", logits, x, dx);
        try { doFaBceBackward(logits, targets, dloss, x, fb, dx, dw, db, accumulate); } finally { finishOp(); }
    }

    // ---- similarity matrix --------------------------------------------------------------------

    @Override public final void similarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm) {
        String op = "similarityForward";
        live(op, "x", x);
        live(op, "s", s);
        live(op, "xc", xc);
        live(op, "norm", norm);
        int[] bd = rows(op, "x", x);
        expect(op, "s", s, (long) bd[0] * bd[0], "(B, B) for x " + x.shape());
        same(op, "x", x, "xc", xc);
        expect(op, "norm", norm, bd[0], "one per row of x " + x.shape());
        f32(op, "s norm", s, norm);
        oneType(op, "x xc", x, xc);
        try { doSimilarityForward(x, s, xc, norm); } finally { finishOp(); }
    }

    @Override public final void similarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx) {
        String op = "similarityBackward";
        live(op, "xc", xc);
        live(op, "norm", norm);
        live(op, "s", s);
        live(op, "ds", ds);
        live(op, "dx", dx);
        int[] bd = rows(op, "xc", xc);
        expect(op, "norm", norm, bd[0], "one per row of xc " + xc.shape());
        expect(op, "s", s, (long) bd[0] * bd[0], "(B, B) for xc " + xc.shape());
        expect(op, "ds", ds, (long) bd[0] * bd[0], "(B, B) for xc " + xc.shape());
        same(op, "xc", xc, "dx", dx);
        f32(op, "norm s ds", norm, s, ds);
        oneType(op, "xc dx", xc, dx);
        try { doSimilarityBackward(xc, norm, s, ds, dx); } finally { finishOp(); }
    }

    // ---- feature-map standard deviation -------------------------------------------------------

    @Override public final void featureMapStdForward(Tensor x, Tensor y) {
        String op = "featureMapStdForward";
        live(op, "x", x);
        live(op, "y", y);
        int[] d = bci(op, "x", x);
        expect(op, "y", y, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        featureMaps(op, x, d[2]);
        f32(op, "y", y);
        try { doFeatureMapStdForward(x, y); } finally { finishOp(); }
    }

    @Override public final void featureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        String op = "featureMapStdBackward";
        live(op, "x", x);
        live(op, "y", y);
        live(op, "dy", dy);
        live(op, "dx", dx);
        int[] d = bci(op, "x", x);
        expect(op, "y", y, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        expect(op, "dy", dy, (long) d[0] * d[1], "(B, C) for x " + x.shape());
        same(op, "x", x, "dx", dx);
        featureMaps(op, x, d[2]);
        f32(op, "y dy", y, dy);
        oneType(op, "x dx", x, dx);
        try { doFeatureMapStdBackward(x, y, dy, dx); } finally { finishOp(); }
    }

    // ---- optimizers ---------------------------------------------------------------------------

    @Override public final void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                         float eps, float weightDecay, int step) {
        String op = "adamStep";
        live(op, "param", param);
        live(op, "grad", grad);
        live(op, "m", m);
        live(op, "v", v);
        same(op, "param", param, "grad", grad);
        same(op, "param", param, "m", m);
        same(op, "param", param, "v", v);
        if (vmax != null) {
            live(op, "vmax", vmax);
            same(op, "param", param, "vmax", vmax);
        }
        if (step < 1) throw new IllegalArgumentException(op + ": step " + step + " must count from 1");
        f32(op, "param grad m v vmax", param, grad, m, v, vmax);
        try { doAdamStep(param, grad, m, v, vmax, lr, beta1, beta2, eps, weightDecay, step); } finally { finishOp(); }
    }

    @Override public final void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep) {
        String op = "sgdStep";
        live(op, "param", param);
        live(op, "grad", grad);
        same(op, "param", param, "grad", grad);
        if (momentum != 0) {
            live(op, "momentumBuf", momentumBuf);
            same(op, "param", param, "momentumBuf", momentumBuf);
        }
        f32(op, "param grad momentumBuf", param, grad, momentumBuf);
        try { doSgdStep(param, grad, momentumBuf, lr, momentum, weightDecay, firstStep); } finally { finishOp(); }
    }

    // ---- augmentation -------------------------------------------------------------------------

    @Override public final void channelAffine(Tensor x, Tensor scale, Tensor shift) {
        String op = "channelAffine";
        live(op, "x", x);
        live(op, "scale", scale);
        int[] d = bci(op, "x", x);
        expect(op, "scale", scale, d[1], "one per channel of x " + x.shape());
        if (shift != null) {
            live(op, "shift", shift);
            expect(op, "shift", shift, d[1], "one per channel of x " + x.shape());
        }
        f32(op, "scale shift", scale, shift);
        try { doChannelAffine(x, scale, shift); } finally { finishOp(); }
    }

    @Override public final void randomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream) {
        String op = "randomCropFlip";
        live(op, "x", x);
        live(op, "y", y);
        images(op, "x", x);
        if (!x.shape().equals(y.shape())) throw new IllegalArgumentException(op + ": x " + x.shape() + " and y " + y.shape() + " differ");
        // views share their owner's storage from its start, so one storage is one memory
        if (x.storage() == y.storage()) throw new IllegalArgumentException(op + ": y " + y.shape() + " shares x's memory; the crop cannot run in place");
        if (pad < 0) throw new IllegalArgumentException(op + ": pad " + pad + " is negative");
        oneType(op, "x y", x, y);
        try { doRandomCropFlip(x, y, pad, flip, seed, stream); } finally { finishOp(); }
    }

    @Override public final void cutout(Tensor x, int length, int holes, long seed, long stream) {
        String op = "cutout";
        live(op, "x", x);
        images(op, "x", x);
        if (length < 0) throw new IllegalArgumentException(op + ": length " + length + " is negative");
        if (holes < 1) throw new IllegalArgumentException(op + ": holes " + holes + " is not >= 1");
        try { doCutout(x, length, holes, seed, stream); } finally { finishOp(); }
    }

    // ---- what each device implements, on checked arguments ---------------------------------------

    /**
     * Called after every op, also one that threw: where the CPU rounds the float copies it
     * computed a bf16 op on back into their bf16 storage (the GPU's kernels load and store bf16
     * themselves and need nothing here).
     */
    protected void finishOp() {}

    protected abstract void doWrite(Tensor dst, float[] src);

    protected abstract float[] doRead(Tensor src);

    protected abstract void doFill(Tensor x, float value);

    protected abstract void doCopy(Tensor src, Tensor dst);

    protected abstract void doCopyRange(Tensor src, int srcOffset, Tensor dst, int dstOffset, int count);

    protected abstract void doAxpy(float a, Tensor x, Tensor y);

    protected abstract void doScale(Tensor x, float a);

    protected abstract void doMultiply(Tensor a, Tensor b, Tensor out, boolean accumulate);

    protected abstract void doSum(Tensor x, Tensor out, boolean accumulate);

    protected abstract void doChannelSum(Tensor x, Tensor weight, Tensor out, boolean accumulate);

    protected abstract void doCountCorrect(Tensor logits, Tensor labels, Tensor out, boolean accumulate);

    protected abstract void doLeakyReluForward(Tensor x, Tensor y, float slope);

    protected abstract void doLeakyReluBackward(Tensor y, Tensor dy, Tensor dx, float slope);

    protected abstract void doBiasAdd(Tensor y, Tensor bias);

    protected abstract void doBiasBackward(Tensor dy, Tensor dbias, boolean accumulate);

    protected abstract void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                                   int batch, long strideA, long strideB, long strideC);

    protected abstract void doConv2dForward(Tensor x, Tensor w, Tensor bias, Tensor y, ConvGeom g);

    protected abstract void doConv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvGeom g);

    protected abstract void doConv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, Tensor dbias, ConvGeom g, boolean accumulate);

    protected abstract void doBatchNormForwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                                    float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd);

    protected abstract void doBatchNormForwardEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y);

    protected abstract void doBatchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                                Tensor dx, Tensor dgamma, Tensor dbeta, boolean accumulate);

    protected abstract void doDropoutForward(Tensor x, Tensor y, float p, long seed, long stream, int inner);

    protected abstract void doDropoutBackward(Tensor dy, Tensor dx, float p, long seed, long stream, int inner);

    protected abstract void doMaxPoolForward(Tensor x, Tensor y, PoolGeom g);

    protected abstract void doMaxPoolBackward(Tensor x, Tensor dy, Tensor dx, PoolGeom g);

    protected abstract void doAvgPoolForward(Tensor x, Tensor y, PoolGeom g);

    protected abstract void doAvgPoolBackward(Tensor dy, Tensor dx, PoolGeom g);

    protected abstract void doCrossEntropyForward(Tensor logits, Tensor labels, Tensor loss, Tensor probs);

    protected abstract void doCrossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, Tensor dlogits);

    protected abstract void doBceWithLogitsForward(Tensor logits, Tensor targets, Tensor loss);

    protected abstract void doBceWithLogitsBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor dlogits);

    protected abstract void doMseForward(Tensor a, Tensor b, Tensor loss);

    protected abstract void doMseBackward(Tensor a, Tensor b, Tensor dloss, Tensor da);

    protected abstract void doFaBceBackward(Tensor logits, Tensor targets, Tensor dloss, Tensor x, Tensor fb, Tensor dx, Tensor dw, Tensor db,
                                            boolean accumulate);

    protected abstract void doSimilarityForward(Tensor x, Tensor s, Tensor xc, Tensor norm);

    protected abstract void doSimilarityBackward(Tensor xc, Tensor norm, Tensor s, Tensor ds, Tensor dx);

    protected abstract void doFeatureMapStdForward(Tensor x, Tensor y);

    protected abstract void doFeatureMapStdBackward(Tensor x, Tensor y, Tensor dy, Tensor dx);

    protected abstract void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor vmax, float lr, float beta1, float beta2,
                                       float eps, float weightDecay, int step);

    protected abstract void doSgdStep(Tensor param, Tensor grad, Tensor momentumBuf, float lr, float momentum, float weightDecay, boolean firstStep);

    protected abstract void doChannelAffine(Tensor x, Tensor scale, Tensor shift);

    protected abstract void doRandomCropFlip(Tensor x, Tensor y, int pad, boolean flip, long seed, long stream);

    protected abstract void doCutout(Tensor x, int length, int holes, long seed, long stream);
}
