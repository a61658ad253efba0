package locallearn.autograd;

import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.tensor.DType;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * The differentiable ops: each method runs its forward on the backend and, when the tape
 * records and an input needs a gradient, records the closure that computes the inputs'
 * gradients, written right below the forward. Every op is a few backend calls; nothing here
 * knows which device runs.
 *
 * <p>Gradients of inputs are accumulated: the first contribution becomes the gradient, later
 * ones are added (a Var read by two ops, e.g. h feeding both local heads).
 *
 * <p>Dtypes: an op's output and every gradient have the dtype of the activation they follow, so
 * a bf16 input keeps a network's activations and their gradients in bf16 without any op being
 * told; a product of a bf16 activation multiplies a bf16 copy of the float32 weight
 * ({@link #operand}), as autocast does. Parameters, their gradients, and what the backend keeps
 * in float32 (batch-norm statistics, losses, the similarity matrix, feature-map std) stay float32.
 */
public final class Ops {
    private Ops() {}

    /** The gradient tensor of a parameter-like input, and whether the backend should add into it. */
    private record Grad(Tensor t, boolean accumulate) {}

    private static Grad gradOf(Tape tape, Var v) {
        if (v.grad != null) return new Grad(v.grad, true);
        v.grad = tape.backend.allocateLike(v.data());
        return new Grad(v.grad, false);
    }

    /** A weight as a product's operand: the weight itself, or a copy in the activation's dtype that close releases. */
    public record Operand(Tensor t, boolean copied) implements AutoCloseable {
        @Override public void close() { if (copied) t.close(); }
    }

    /**
     * The weight w as an operand for activation x: w itself, or for a bf16 x a bf16 copy of it,
     * made for one product and released after it (forward and backward each make their own, so
     * a global step does not hold a copy of every layer's weight from its forward to its
     * backward). The GPU's bf16 GEMM needs both operands in bf16; the CPU twin rounds the same.
     */
    public static Operand operand(Backend be, Tensor x, Tensor w) {
        if (w.dtype() == x.dtype()) return new Operand(w, false);
        Tensor c = be.allocate(w.shape(), x.dtype());
        be.copy(w, c);
        return new Operand(c, true);
    }

    private static boolean needsGrad(Var v) { return v != null && v.requiresGrad; }

    // ---- linear layers ------------------------------------------------------------------------

    /** y (B, K) = x (B, D) w^T + b, w (K, D), b (K) or null. */
    public static Var linear(Tape tape, Var x, Var w, Var b) { return linear(tape, x, w, b, null); }

    /**
     * Feedback alignment (Lillicrap et al. 2016): the forward of {@link #linear}, but the
     * gradient sent to x is dy·fb with a fixed random fb (K, D) instead of dy·w.
     */
    public static Var linearFA(Tape tape, Var x, Var w, Var b, Tensor fb) {
        if (!fb.shape().equals(w.data().shape()))
            throw new IllegalArgumentException("linearFA: feedback matrix " + fb.shape() + " must match weight " + w.data().shape());
        return linear(tape, x, w, b, fb);
    }

    private static Var linear(Tape tape, Var x, Var w, Var b, Tensor fb) {
        Backend be = tape.backend;
        Tensor xd = x.data(), wd = w.data();
        if (xd.rank() != 2 || wd.rank() != 2 || xd.dim(1) != wd.dim(1))
            throw new IllegalArgumentException("linear: input " + xd.shape() + " does not fit weight " + wd.shape() + " (expected (B, " + wd.dim(-1) + "))");
        int nb = xd.dim(0), d = xd.dim(1), k = wd.dim(0);
        Tensor y = be.allocate(new Shape(nb, k), xd.dtype());
        try (Operand wx = operand(be, xd, wd)) {
            be.gemm(false, true, nb, k, d, 1f, xd, wx.t(), 0f, y);
        }
        if (b != null) be.biasAdd(y, b.data());
        Var out = Var.constant(y);
        if (!tape.needs(x, w, b)) return out;
        out = new Var(y, true);
        Var o = out;
        tape.record(out, () -> {
            Tensor dy = o.grad; // (B, K)
            if (needsGrad(w)) {
                Grad g = gradOf(tape, w);
                be.gemm(true, false, k, d, nb, 1f, dy, xd, g.accumulate ? 1f : 0f, g.t); // dw (K, D) = dy^T x
            }
            if (needsGrad(b)) {
                Grad g = gradOf(tape, b);
                be.biasBackward(dy, g.t, g.accumulate);
            }
            if (needsGrad(x)) {
                Grad g = gradOf(tape, x);
                try (Operand wx = operand(be, xd, fb != null ? fb : wd)) {
                    be.gemm(false, false, nb, d, k, 1f, dy, wx.t(), g.accumulate ? 1f : 0f, g.t); // dx (B, D) = dy w
                }
            }
        });
        return out;
    }

    // ---- convolution --------------------------------------------------------------------------

    /** y (B, K, oH, oW) = conv(x (B, C, H, W), w (K, C, kh, kw)) + b. */
    public static Var conv2d(Tape tape, Var x, Var w, Var b, int stride, int pad) {
        Backend be = tape.backend;
        Tensor xd = x.data(), wd = w.data();
        if (xd.rank() != 4 || wd.rank() != 4 || xd.dim(1) != wd.dim(1))
            throw new IllegalArgumentException("conv2d: input " + xd.shape() + " does not fit weight " + wd.shape());
        ConvGeom g = new ConvGeom(xd.dim(0), xd.dim(1), xd.dim(2), xd.dim(3), wd.dim(0), wd.dim(2), wd.dim(3), stride, pad);
        Tensor y = be.allocate(new Shape(g.batch(), g.outC(), g.outH(), g.outW()), xd.dtype());
        try (Operand wx = operand(be, xd, wd)) {
            be.conv2dForward(xd, wx.t(), b == null ? null : b.data(), y, g);
        }
        if (!tape.needs(x, w, b)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dy = out.grad;
            if (needsGrad(w) || needsGrad(b)) {
                // w and b are both parameters of one layer: their gradients exist together or not at all
                Grad gw = gradOf(tape, w);
                Grad gb = b != null ? gradOf(tape, b) : null;
                be.conv2dBackwardFilter(xd, dy, gw.t, gb == null ? null : gb.t, g, gw.accumulate);
            }
            if (needsGrad(x)) {
                Tensor dx = be.allocateLike(xd);
                try (Operand wx = operand(be, xd, wd)) {
                    be.conv2dBackwardData(dy, wx.t(), dx, g);
                }
                tape.accumulate(x, dx);
            }
        });
        return out;
    }

    /**
     * y (B, C, H, W) = the transpose of the convolution by w (K, C, kh, kw) applied to x (B, K,
     * oH, oW), plus b (C): PyTorch's ConvTranspose2d(K, C), whose weight has this layout. H is
     * (oH - 1) stride - 2 pad + kh (no output padding). Its forward is conv2d's backward-data,
     * so the backend needs no op of its own: x's gradient is the convolution of dy by w, and w's
     * is conv2d's filter gradient with dy as the input and x as the output gradient.
     */
    public static Var convTranspose2d(Tape tape, Var x, Var w, Var b, int stride, int pad) {
        Backend be = tape.backend;
        Tensor xd = x.data(), wd = w.data();
        if (xd.rank() != 4 || wd.rank() != 4 || xd.dim(1) != wd.dim(0))
            throw new IllegalArgumentException("convTranspose2d: input " + xd.shape() + " does not fit weight " + wd.shape());
        int h = (xd.dim(2) - 1) * stride - 2 * pad + wd.dim(2), wi = (xd.dim(3) - 1) * stride - 2 * pad + wd.dim(3);
        ConvGeom g = new ConvGeom(xd.dim(0), wd.dim(1), h, wi, wd.dim(0), wd.dim(2), wd.dim(3), stride, pad);
        Tensor y = be.allocate(new Shape(g.batch(), g.inC(), h, wi), xd.dtype());
        try (Operand wx = operand(be, xd, wd)) {
            be.conv2dBackwardData(xd, wx.t(), y, g);
        }
        if (b != null) be.biasAdd(y, b.data());
        if (!tape.needs(x, w, b)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dy = out.grad;
            if (needsGrad(w) || needsGrad(b)) {
                Grad gw = gradOf(tape, w);
                be.conv2dBackwardFilter(dy, xd, gw.t, null, g, gw.accumulate);
                if (b != null) {
                    Grad gb = gradOf(tape, b);
                    be.biasBackward(dy, gb.t, gb.accumulate);
                }
            }
            if (needsGrad(x)) {
                Tensor dx = be.allocateLike(xd);
                try (Operand wx = operand(be, xd, wd)) {
                    be.conv2dForward(dy, wx.t(), null, dx, g);
                }
                tape.accumulate(x, dx);
            }
        });
        return out;
    }

    // ---- batch norm ---------------------------------------------------------------------------

    /**
     * Batch norm over x (B, C, inner...): batch statistics and a running-stat update when the
     * tape trains, the running statistics otherwise. gamma, beta, runningMean, runningVar (C).
     */
    public static Var batchNorm(Tape tape, Var x, Var gamma, Var beta, Tensor runningMean, Tensor runningVar,
                                float momentum, float eps) {
        return batchNorm(tape, x, gamma, beta, runningMean, runningVar, momentum, eps, null);
    }

    /**
     * Batch norm that rematerialises its input: when {@code recomputeInput} is given, x's tensor
     * is released right after the forward and rebuilt by the supplier when backward needs it
     * (the encoder's forward once more, with the same weights since the update comes after
     * backward), then overwritten in place by dx. A local block so holds its input and output
     * through the local backward instead of three block-sized tensors: compute for memory.
     */
    public static Var batchNorm(Tape tape, Var x, Var gamma, Var beta, Tensor runningMean, Tensor runningVar,
                                float momentum, float eps, java.util.function.Supplier<Tensor> recomputeInput) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        int c = xd.dim(1);
        if (gamma.data().numel() != c)
            throw new IllegalArgumentException("batchNorm: input " + xd.shape() + " has " + c + " channels, layer has " + gamma.data().numel());
        Tensor y = be.allocateLike(xd);
        if (!tape.training()) {
            be.batchNormForwardEval(xd, gamma.data(), beta.data(), runningMean, runningVar, eps, y);
            return Var.constant(y);
        }
        Tensor mean = be.allocate(c), invStd = be.allocate(c);
        be.batchNormForwardTrain(xd, gamma.data(), beta.data(), runningMean, runningVar, momentum, eps, y, mean, invStd);
        if (!tape.needs(x, gamma, beta)) {
            mean.close();
            invStd.close();
            return Var.constant(y);
        }
        Var out = new Var(y, true);
        if (recomputeInput != null) xd.close();
        tape.record(out, () -> {
            Grad gg = gradOf(tape, gamma), gb = gradOf(tape, beta);
            if (gg.accumulate != gb.accumulate) throw new IllegalStateException("batchNorm: gamma and beta gradients out of step");
            Tensor in = recomputeInput != null ? recomputeInput.get() : xd;
            // with a recomputed input, dx overwrites it (batchNormBackward allows dx == x)
            Tensor dx = recomputeInput != null ? in : be.allocateLike(xd);
            be.batchNormBackward(in, out.grad, gamma.data(), mean, invStd, dx, gg.t, gb.t, gg.accumulate);
            if (needsGrad(x)) tape.accumulate(x, dx); else dx.close();
        }, mean, invStd);
        return out;
    }

    // ---- nonlinearities and dropout -----------------------------------------------------------

    /**
     * y = x > 0 ? x : slope x (ReLU with slope 0). With {@code inPlace} y overwrites x's tensor:
     * allowed when nothing reads x's values later (batch norm's backward reads its input, not
     * its output), and it saves one activation per block. The backward reads only y.
     */
    public static Var leakyRelu(Tape tape, Var x, float slope, boolean inPlace) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        Tensor y = inPlace ? xd : be.allocateLike(xd);
        be.leakyReluForward(xd, y, slope);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.recordReadingOutput(out, () -> {
            // in place: the output's gradient becomes the input's (one block-sized tensor less at the peak)
            Tensor g = out.grad;
            out.grad = null;
            be.leakyReluBackward(y, g, g, slope);
            tape.accumulate(x, g);
        });
        return out;
    }

    /**
     * Dropout with probability p of units of {@code inner} elements (1: single elements; H*W:
     * whole channels, Dropout2d). The mask is regenerated from (seed, stream) in backward, never
     * stored. Identity when the tape does not train or p is 0.
     */
    public static Var dropout(Tape tape, Var x, float p, long stream, int inner) {
        if (!tape.training() || p == 0f) return x;
        Backend be = tape.backend;
        Tensor y = be.allocateLike(x.data());
        long seed = tape.seed();
        be.dropoutForward(x.data(), y, p, seed, stream, inner);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dx = be.allocateLike(y);
            be.dropoutBackward(out.grad, dx, p, seed, stream, inner);
            tape.accumulate(x, dx);
        });
        return out;
    }

    // ---- pooling and reshaping ----------------------------------------------------------------

    public static Var maxPool(Tape tape, Var x, PoolGeom g) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        Tensor y = be.allocate(new Shape(g.batch(), g.channels(), g.outH(), g.outW()), xd.dtype());
        be.maxPoolForward(xd, y, g);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dx = be.allocateLike(xd);
            be.maxPoolBackward(xd, out.grad, dx, g);
            tape.accumulate(x, dx);
        });
        return out;
    }

    public static Var avgPool(Tape tape, Var x, PoolGeom g) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        Tensor y = be.allocate(new Shape(g.batch(), g.channels(), g.outH(), g.outW()), xd.dtype());
        be.avgPoolForward(xd, y, g);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dx = be.allocateLike(xd);
            be.avgPoolBackward(out.grad, dx, g);
            tape.accumulate(x, dx);
        });
        return out;
    }

    /** (B, ...) viewed as (B, rest): shares memory; the gradient is the incoming one viewed back. */
    public static Var flatten(Tape tape, Var x) {
        Tensor xd = x.data();
        if (xd.rank() == 2) return x;
        Tensor y = xd.view(xd.dim(0), xd.shape().sizeFrom(1));
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dy = out.grad;
            Tensor dx = tape.backend.allocateLike(xd);
            tape.backend.copy(dy, dx);
            tape.accumulate(x, dx);
        });
        return out;
    }

    // ---- losses (scalar outputs) --------------------------------------------------------------

    /** Mean softmax cross-entropy of logits (B, K) against class indices (B). */
    public static Var crossEntropy(Tape tape, Var logits, Tensor labels) {
        Backend be = tape.backend;
        Tensor loss = be.allocate(1), probs = be.allocate(logits.data().shape());
        be.crossEntropyForward(logits.data(), labels, loss, probs);
        if (!tape.needs(logits)) {
            probs.close();
            return Var.constant(loss);
        }
        Var out = new Var(loss, true);
        tape.record(out, () -> {
            Tensor dx = be.allocateLike(logits.data());
            be.crossEntropyBackward(probs, labels, out.grad, dx);
            tape.accumulate(logits, dx);
        }, probs);
        return out;
    }

    /** Mean binary cross-entropy with logits against targets in [0, 1] of the same shape. */
    public static Var bceWithLogits(Tape tape, Var logits, Tensor targets) {
        Backend be = tape.backend;
        Tensor loss = be.allocate(1);
        be.bceWithLogitsForward(logits.data(), targets, loss);
        if (!tape.needs(logits)) return Var.constant(loss);
        Var out = new Var(loss, true);
        tape.record(out, () -> {
            Tensor dx = be.allocateLike(logits.data());
            be.bceWithLogitsBackward(logits.data(), targets, out.grad, dx);
            tape.accumulate(logits, dx);
        });
        return out;
    }

    /**
     * The backprop-free pred loss in one op: the mean binary cross-entropy with logits of
     * x (B, D) w^T + b against targets (B, K) in [0, 1], through a feedback-alignment layer (as
     * {@link #linearFA} then {@link #bceWithLogits}). Its backward is the backend's one fused
     * faBceBackward: the logits' gradient is never a tensor, and x gets e fb.
     */
    public static Var linearFABce(Tape tape, Var x, Var w, Var b, Tensor fb, Tensor targets) {
        Backend be = tape.backend;
        Tensor xd = x.data(), wd = w.data();
        if (xd.rank() != 2 || wd.rank() != 2 || xd.dim(1) != wd.dim(1) || !fb.shape().equals(wd.shape()))
            throw new IllegalArgumentException("linearFABce: input " + xd.shape() + ", weight " + wd.shape() + " and feedback matrix " + fb.shape()
                    + " do not fit (expected (B, D), (K, D), (K, D))");
        int nb = xd.dim(0), d = xd.dim(1), k = wd.dim(0);
        Tensor logits = be.allocate(new Shape(nb, k), xd.dtype()), loss = be.allocate(1);
        try (Operand wx = operand(be, xd, wd)) {
            be.gemm(false, true, nb, k, d, 1f, xd, wx.t(), 0f, logits);
        }
        if (b != null) be.biasAdd(logits, b.data());
        be.bceWithLogitsForward(logits, targets, loss);
        if (!tape.needs(x, w, b)) {
            logits.close();
            return Var.constant(loss);
        }
        Var out = new Var(loss, true);
        tape.record(out, () -> {
            // w and b are both parameters of one layer: their gradients exist together or not at all
            Grad gw = needsGrad(w) ? gradOf(tape, w) : null;
            Grad gb = needsGrad(b) ? gradOf(tape, b) : null;
            if (gw == null && gb != null) throw new IllegalStateException("linearFABce: a bias gradient without the weight's");
            if (gb != null && gb.accumulate != gw.accumulate) throw new IllegalStateException("linearFABce: weight and bias gradients out of step");
            Tensor dx = needsGrad(x) ? be.allocateLike(xd) : null;
            be.faBceBackward(logits, targets, out.grad, xd, fb, dx, gw == null ? null : gw.t, gb == null ? null : gb.t, gw != null && gw.accumulate);
            if (dx != null) tape.accumulate(x, dx);
        }, logits);
        return out;
    }

    /** Mean squared error between a and a constant target b. */
    public static Var mse(Tape tape, Var a, Tensor b) {
        Backend be = tape.backend;
        Tensor loss = be.allocate(1);
        be.mseForward(a.data(), b, loss);
        if (!tape.needs(a)) return Var.constant(loss);
        Var out = new Var(loss, true);
        tape.record(out, () -> {
            Tensor dx = be.allocateLike(a.data());
            be.mseBackward(a.data(), b, out.grad, dx);
            tape.accumulate(a, dx);
        });
        return out;
    }

    /** s (B, B): the similarity matrix of the rows of x (B, D) (paper-summary.md, "similarity matrix"). */
    public static Var similarity(Tape tape, Var x) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        if (xd.rank() != 2) throw new IllegalArgumentException("similarity: input " + xd.shape() + " must be (B, D)");
        int nb = xd.dim(0);
        Tensor s = be.allocate(nb, nb), xc = be.allocateLike(xd), norm = be.allocate(nb);
        be.similarityForward(xd, s, xc, norm);
        if (!tape.needs(x)) {
            xc.close();
            norm.close();
            return Var.constant(s);
        }
        Var out = new Var(s, true);
        tape.recordReadingOutput(out, () -> {
            Tensor dx = be.allocateLike(xd);
            be.similarityBackward(xc, norm, s, out.grad, dx);
            tape.accumulate(x, dx);
        }, xc, norm);
        return out;
    }

    /** y (B, C): unbiased std of each feature map of x (B, C, H, W), like torch.std over H*W. */
    public static Var featureMapStd(Tape tape, Var x) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        Tensor y = be.allocate(xd.dim(0), xd.dim(1));
        be.featureMapStdForward(xd, y);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.recordReadingOutput(out, () -> {
            Tensor dx = be.allocateLike(xd);
            be.featureMapStdBackward(xd, y, out.grad, dx);
            tape.accumulate(x, dx);
        });
        return out;
    }

    /**
     * x + y, both of one shape: how a residual unit adds its shortcut to its last block's
     * normalised conv output. The backward hands the output's gradient to both.
     */
    public static Var add(Tape tape, Var x, Var y) {
        Backend be = tape.backend;
        Tensor xd = x.data(), yd = y.data();
        if (!xd.shape().equals(yd.shape())) throw new IllegalArgumentException("add: shapes " + xd.shape() + " and " + yd.shape() + " differ");
        Tensor s = be.allocateLike(xd);
        be.copy(xd, s);
        be.axpy(1f, yd, s);
        if (!tape.needs(x, y)) return Var.constant(s);
        Var out = new Var(s, true);
        tape.record(out, () -> {
            Tensor g = out.grad;
            out.grad = null; // handed on, not released with the entry
            if (needsGrad(x) && needsGrad(y)) {
                Tensor gx = be.allocateLike(g);
                be.copy(g, gx);
                tape.accumulate(x, gx);
                tape.accumulate(y, g);
            } else {
                tape.accumulate(needsGrad(x) ? x : y, g);
            }
        });
        return out;
    }

    /** a * x + b * y for scalars x and y (y may be null): how a block combines its losses. */
    public static Var weightedSum(Tape tape, float a, Var x, float b, Var y) {
        Backend be = tape.backend;
        Tensor s = be.allocate(1);
        be.copy(x.data(), s);
        be.scale(s, a);
        if (y != null) be.axpy(b, y.data(), s);
        if (!tape.needs(x, y)) return Var.constant(s);
        Var out = new Var(s, true);
        tape.record(out, () -> {
            if (needsGrad(x)) {
                Tensor dx = be.allocate(1);
                be.copy(out.grad, dx);
                be.scale(dx, a);
                tape.accumulate(x, dx);
            }
            if (needsGrad(y)) {
                Tensor dy = be.allocate(1);
                be.copy(out.grad, dy);
                be.scale(dy, b);
                tape.accumulate(y, dy);
            }
        });
        return out;
    }
}
