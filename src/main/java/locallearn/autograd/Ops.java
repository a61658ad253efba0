package locallearn.autograd;

import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.tensor.Tensor;

/**
 * The differentiable ops: each method runs its forward on the backend and, when the tape
 * records and an input needs a gradient, records the closure that computes the inputs'
 * gradients, written right below the forward. Every op is a few backend calls; nothing here
 * knows which device runs.
 *
 * <p>Gradients of inputs are accumulated: the first contribution becomes the gradient, later
 * ones are added (a Var read by two ops, e.g. h feeding both local heads).
 */
public final class Ops {
    private Ops() {}

    /** The gradient tensor of a parameter-like input, and whether the backend should add into it. */
    private record Grad(Tensor t, boolean accumulate) {}

    private static Grad gradOf(Tape tape, Var v) {
        if (v.grad != null) return new Grad(v.grad, true);
        v.grad = tape.backend.allocate(v.data().shape());
        return new Grad(v.grad, false);
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
        Tensor y = be.allocate(nb, k);
        be.gemm(false, true, nb, k, d, 1f, xd, wd, 0f, y);
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
                be.gemm(false, false, nb, d, k, 1f, dy, fb != null ? fb : wd, g.accumulate ? 1f : 0f, g.t); // dx (B, D) = dy w
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
        Tensor y = be.allocate(g.batch(), g.outC(), g.outH(), g.outW());
        be.conv2dForward(xd, wd, b == null ? null : b.data(), y, g);
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
                Tensor dx = be.allocate(xd.shape());
                be.conv2dBackwardData(dy, wd, dx, g);
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
        Tensor y = be.allocate(xd.shape());
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
            Tensor dx = recomputeInput != null ? in : be.allocate(xd.shape());
            be.batchNormBackward(in, out.grad, gamma.data(), mean, invStd, dx, gg.t, gb.t, gg.accumulate);
            if (needsGrad(x)) tape.accumulate(x, dx); else dx.close();
        }, mean, invStd);
        return out;
    }

    /** Computes rows [from, from + n) of a tensor along dim 0 into {@code out} (n, ...): an encoder run on part of a batch. */
    @FunctionalInterface
    public interface Rows {
        void compute(int from, int n, Tensor out);
    }

    /**
     * Training batch norm whose input is never held whole in backward: x's tensor is released
     * right after the forward, and backward rebuilds it {@code chunk} examples at a time with
     * {@code recompute}, twice: once for the per-channel sums sum(dy) and sum(dy xhat) (which
     * are also beta's and gamma's gradients), once for dx = gamma invStd (dy - sum(dy)/N - xhat
     * sum(dy xhat)/N), written over dy chunk by chunk. A local conv block so holds its input,
     * h and one gradient through batch norm's backward instead of also the encoder's output:
     * two more encoder forwards for one block-sized tensor less. Same values as
     * {@link #batchNorm} up to float rounding (dx is evaluated as a * dy + b * x + c per channel).
     */
    public static Var batchNormChunked(Tape tape, Var x, Var gamma, Var beta, Tensor runningMean, Tensor runningVar,
                                       float momentum, float eps, Rows recompute, int chunk) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        int c = xd.dim(1), nb = xd.dim(0);
        if (!tape.training() || !tape.needs(x, gamma, beta)) return batchNorm(tape, x, gamma, beta, runningMean, runningVar, momentum, eps);
        if (gamma.data().numel() != c)
            throw new IllegalArgumentException("batchNorm: input " + xd.shape() + " has " + c + " channels, layer has " + gamma.data().numel());
        if (chunk < 1) throw new IllegalArgumentException("batchNormChunked: chunk " + chunk + " must be positive");
        Tensor y = be.allocate(xd.shape());
        Tensor mean = be.allocate(c), invStd = be.allocate(c);
        be.batchNormForwardTrain(xd, gamma.data(), beta.data(), runningMean, runningVar, momentum, eps, y, mean, invStd);
        Var out = new Var(y, true);
        int[] dims = xd.shape().dims();
        int row = xd.numel() / nb, cb = Math.min(chunk, nb);
        long count = (long) xd.numel() / c; // N: elements per channel
        xd.close();
        tape.record(out, () -> {
            Tensor dy = out.grad;
            out.grad = null; // becomes x's gradient: dx is written over it
            int[] cd = dims.clone();
            cd[0] = cb;
            try (Tensor xc = be.allocate(cd); Tensor dyc = be.allocate(cd); Tensor sg = be.allocate(c); Tensor sb = be.allocate(c);
                 Tensor a = be.allocate(c); Tensor bx = be.allocate(c); Tensor cx = be.allocate(c); Tensor zero = be.zeros(c)) {
                for (int from = 0; from < nb; from += cb) {
                    int n = Math.min(cb, nb - from);
                    cd[0] = n;
                    Tensor xv = xc.prefix(cd), dyv = dyc.prefix(cd);
                    recompute.compute(from, n, xv);
                    be.copyRange(dy, from * row, dyv, 0, n * row);
                    // sg += sum(dy xhat), sb += sum(dy) over this chunk; its dx (over xv) is discarded
                    be.batchNormBackward(xv, dyv, gamma.data(), mean, invStd, xv, sg, sb, from > 0);
                }
                // per channel, on the device (no host sync): a = gamma invStd, k = a / N,
                // b = -k invStd sum(dy xhat), c = k (invStd mean sum(dy xhat) - sum(dy)); vectors are
                // (1, C) views so channelAffine multiplies them element by element
                perChannel(be, a, gamma.data(), invStd, zero);                 // a = gamma invStd
                try (Tensor k = be.allocate(c); Tensor t = be.allocate(c)) {
                    be.copy(a, k);
                    be.scale(k, 1f / count);                                    // k = a / N
                    perChannel(be, t, sg, invStd, zero);                        // t = invStd sum(dy xhat)
                    perChannel(be, bx, t, k, zero);
                    be.scale(bx, -1f);                                          // b = -k t
                    perChannel(be, cx, mean, t, zero);                          // mean t
                    perChannel(be, cx, cx, k, zero);                            // k mean t
                    perChannel(be, t, sb, k, zero);                             // k sum(dy)
                    be.axpy(-1f, t, cx);                                        // c = k mean t - k sum(dy)
                }
                for (int from = 0; from < nb; from += cb) {
                    int n = Math.min(cb, nb - from);
                    cd[0] = n;
                    Tensor xv = xc.prefix(cd), dyv = dyc.prefix(cd);
                    recompute.compute(from, n, xv);
                    be.copyRange(dy, from * row, dyv, 0, n * row);
                    be.channelAffine(xv, bx, cx);   // b x + c
                    be.channelAffine(dyv, a, zero); // a dy
                    be.axpy(1f, dyv, xv);
                    be.copyRange(xv, 0, dy, from * row, n * row);
                }
                if (needsGrad(gamma)) { Grad gg = gradOf(tape, gamma); if (gg.accumulate) be.axpy(1f, sg, gg.t); else be.copy(sg, gg.t); }
                if (needsGrad(beta)) { Grad gb = gradOf(tape, beta); if (gb.accumulate) be.axpy(1f, sb, gb.t); else be.copy(sb, gb.t); }
            }
            if (needsGrad(x)) tape.accumulate(x, dy); else dy.close();
        }, mean, invStd);
        return out;
    }

    /** out = u * v + w element by element over C-vectors (out may be u), via channelAffine on (1, C) views. */
    private static void perChannel(Backend be, Tensor out, Tensor u, Tensor v, Tensor w) {
        if (out != u) be.copy(u, out);
        int c = out.numel();
        be.channelAffine(out.view(1, c), v, w);
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
        Tensor y = inPlace ? xd : be.allocate(xd.shape());
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
        Tensor y = be.allocate(x.data().shape());
        long seed = tape.seed();
        be.dropoutForward(x.data(), y, p, seed, stream, inner);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dx = be.allocate(y.shape());
            be.dropoutBackward(out.grad, dx, p, seed, stream, inner);
            tape.accumulate(x, dx);
        });
        return out;
    }

    // ---- pooling and reshaping ----------------------------------------------------------------

    public static Var maxPool(Tape tape, Var x, PoolGeom g) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        Tensor y = be.allocate(g.batch(), g.channels(), g.outH(), g.outW());
        be.maxPoolForward(xd, y, g);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dx = be.allocate(xd.shape());
            be.maxPoolBackward(xd, out.grad, dx, g);
            tape.accumulate(x, dx);
        });
        return out;
    }

    public static Var avgPool(Tape tape, Var x, PoolGeom g) {
        Backend be = tape.backend;
        Tensor xd = x.data();
        Tensor y = be.allocate(g.batch(), g.channels(), g.outH(), g.outW());
        be.avgPoolForward(xd, y, g);
        if (!tape.needs(x)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.record(out, () -> {
            Tensor dx = be.allocate(xd.shape());
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
            Tensor dx = tape.backend.allocate(xd.shape());
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
            Tensor dx = be.allocate(probs.shape());
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
            Tensor dx = be.allocate(logits.data().shape());
            be.bceWithLogitsBackward(logits.data(), targets, out.grad, dx);
            tape.accumulate(logits, dx);
        });
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
            Tensor dx = be.allocate(a.data().shape());
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
        Tensor s = be.allocate(nb, nb), xc = be.allocate(xd.shape()), norm = be.allocate(nb);
        be.similarityForward(xd, s, xc, norm);
        if (!tape.needs(x)) {
            xc.close();
            norm.close();
            return Var.constant(s);
        }
        Var out = new Var(s, true);
        tape.recordReadingOutput(out, () -> {
            Tensor dx = be.allocate(xd.shape());
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
            Tensor dx = be.allocate(xd.shape());
            be.featureMapStdBackward(xd, y, out.grad, dx);
            tape.accumulate(x, dx);
        });
        return out;
    }

    /**
     * y (B, K) = featureMapStd(conv2d(x (B, C, H, W), w (K, C, kh, kw), no bias)), computed
     * {@code chunk} examples at a time: the conv output is never held for the whole batch, only
     * the (B, K) stds. Backward recomputes each chunk's conv output, and accumulates w's gradient
     * and x's gradient chunk by chunk. A conv block's sim head so needs a few chunk-sized
     * buffers instead of two block-sized tensors (conv output and its gradient); the values are
     * those of the two ops in sequence up to the order of float sums in w's gradient.
     */
    public static Var convFeatureMapStd(Tape tape, Var x, Var w, int stride, int pad, int chunk) {
        Backend be = tape.backend;
        Tensor xd = x.data(), wd = w.data();
        if (xd.rank() != 4 || wd.rank() != 4 || xd.dim(1) != wd.dim(1))
            throw new IllegalArgumentException("convFeatureMapStd: input " + xd.shape() + " does not fit weight " + wd.shape());
        if (chunk < 1) throw new IllegalArgumentException("convFeatureMapStd: chunk " + chunk + " must be positive");
        int nb = xd.dim(0), c = xd.dim(1), h = xd.dim(2), wi = xd.dim(3);
        ConvGeom full = new ConvGeom(nb, c, h, wi, wd.dim(0), wd.dim(2), wd.dim(3), stride, pad);
        int k = full.outC(), oh = full.outH(), ow = full.outW();
        int cb = Math.min(chunk, nb), inSize = c * h * wi, outSize = k * oh * ow;
        Tensor y = be.allocate(nb, k);
        try (Tensor xc = be.allocate(cb, c, h, wi); Tensor sc = be.allocate(cb * outSize); Tensor yc = be.allocate(cb, k)) {
            for (int from = 0; from < nb; from += cb) {
                int n = Math.min(cb, nb - from);
                Tensor xv = xc.prefix(n, c, h, wi), sv = sc.prefix(n, k, oh, ow), yv = yc.prefix(n, k);
                be.copyRange(xd, from * inSize, xv, 0, n * inSize);
                be.conv2dForward(xv, wd, null, sv, geomOf(full, n));
                be.featureMapStdForward(sv, yv);
                be.copyRange(yv, 0, y, from * k, n * k);
            }
        }
        if (!tape.needs(x, w)) return Var.constant(y);
        Var out = new Var(y, true);
        tape.recordReadingOutput(out, () -> {
            Tensor dy = out.grad; // (B, K)
            boolean firstDx = needsGrad(x) && x.grad == null;
            if (firstDx) x.grad = be.allocate(xd.shape());
            Tensor dxAll = needsGrad(x) ? x.grad : null;
            Grad gw = needsGrad(w) ? gradOf(tape, w) : null;
            boolean accW = gw != null && gw.accumulate;
            // buffers: the chunk's input (later x's old gradient slice), its conv output (later the
            // chunk's dx), the conv output's gradient, and the chunk's stds and their gradient
            try (Tensor xc = be.allocate(cb, c, h, wi); Tensor sc = be.allocate(cb * Math.max(inSize, outSize)); Tensor dsc = be.allocate(cb, k, oh, ow);
                 Tensor yc = be.allocate(cb, k); Tensor dyc = be.allocate(cb, k)) {
                for (int from = 0; from < nb; from += cb) {
                    int n = Math.min(cb, nb - from);
                    ConvGeom g = geomOf(full, n);
                    Tensor xv = xc.prefix(n, c, h, wi), sv = sc.prefix(n, k, oh, ow), dsv = dsc.prefix(n, k, oh, ow);
                    Tensor yv = yc.prefix(n, k), dyv = dyc.prefix(n, k);
                    be.copyRange(xd, from * inSize, xv, 0, n * inSize);
                    be.conv2dForward(xv, wd, null, sv, g);
                    be.copyRange(y, from * k, yv, 0, n * k);
                    be.copyRange(dy, from * k, dyv, 0, n * k);
                    be.featureMapStdBackward(sv, yv, dyv, dsv);
                    if (gw != null) {
                        be.conv2dBackwardFilter(xv, dsv, gw.t, null, g, accW);
                        accW = true;
                    }
                    if (dxAll != null) {
                        Tensor dxv = sc.prefix(n, c, h, wi);
                        be.conv2dBackwardData(dsv, wd, dxv, g);
                        if (firstDx) {
                            be.copyRange(dxv, 0, dxAll, from * inSize, n * inSize);
                        } else {
                            // old + new, the order Tape.accumulate adds in
                            be.copyRange(dxAll, from * inSize, xv, 0, n * inSize);
                            be.axpy(1f, dxv, xv);
                            be.copyRange(xv, 0, dxAll, from * inSize, n * inSize);
                        }
                    }
                }
            }
        });
        return out;
    }

    private static ConvGeom geomOf(ConvGeom g, int batch) {
        return new ConvGeom(batch, g.inC(), g.inH(), g.inW(), g.outC(), g.kh(), g.kw(), g.stride(), g.pad());
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
