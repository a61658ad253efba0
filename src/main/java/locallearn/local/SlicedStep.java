package locallearn.local;

import locallearn.config.TrainingMode;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.nn.BatchNorm;
import locallearn.nn.Conv2d;
import locallearn.nn.Layer;
import locallearn.tensor.DType;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * A conv block's local step that holds nothing of the block's size but its input x and its
 * output h (TrainingMode.memoryChunks > 0): everything else of that size is rebuilt a slice of the
 * batch at a time, in a few slice-sized buffers. The values are those of the held step (the tape
 * through encoder, batch norm, leaky ReLU and heads) up to the order of float sums.
 *
 * <p>Forward: z = encoder(x) for the whole batch, then batch norm and leaky ReLU over it in
 * place: h. The heads read only small summaries of h: the sim head's per-map stds (conv_loss
 * run a slice at a time) and the pred head's average-pooled h. Those become leaves of the tape,
 * which runs the losses and their backward and leaves d(stds) and d(pooled), a few thousand
 * numbers per example at most.
 *
 * <p>Backward, one pass over the slices: h's gradient is rebuilt from them (conv_loss forward
 * again, the std's and conv_loss's backward, the pool's backward) and taken through leaky ReLU
 * (h keeps the sign) to da; batch norm's xhat is rebuilt from h by inverting leaky ReLU and
 * batch norm's affine (from z = encoder(x) where that cannot be done well: xhatFromH). Batch
 * norm's dz needs two sums over the whole batch, which exist only after the last slice; the
 * encoder's weight gradient is linear in dz, so the slices add to three filter gradients that the
 * sums weigh at the end (encoderGradientsThroughBatchNorm). The price is compute: conv_loss runs
 * forward twice and the encoder's filter gradient three times (once for a single output channel),
 * where the held step runs each once, and each runs on slices (README, "How memory is counted",
 * has the measured trade of speed for memory). The step also
 * keeps one more weight-sized tensor (x*xhat) than the held one: nothing at batch 32 and up,
 * but at a batch of 2 the weights outweigh the activations and the held step keeps less.
 */
final class SlicedStep {
    private final Conv2d encoder, simHead;
    private final BatchNorm bn;
    private final float slope;
    private final LocalHeads heads;
    private final TrainingMode mode;
    private final int chunks, channels, height, width;

    /**
     * True when a conv block of these parts can run sliced: its sim head, if any, ends in per-map
     * stds, and it does not decode its input (recon's decoder_x reads all of h, a whole-batch
     * buffer more; such blocks take the held step).
     */
    static boolean applies(Layer encoder, LocalHeads heads, int channels, int height) {
        return encoder instanceof Conv2d && !heads.decodes && (heads.simHead == null || (heads.loss.similarityStd() && channels > 3 && height > 1));
    }

    /** The sliced step of a conv block: its encoder, batch norm (or null), leaky ReLU slope and heads, in at most {@code chunks} slices. */
    SlicedStep(Conv2d encoder, BatchNorm bn, float slope, LocalHeads heads, TrainingMode mode, int chunks, int channels, int height, int width) {
        this.encoder = encoder;
        this.simHead = heads.simHead instanceof Conv2d c ? c : null;
        this.bn = bn;
        this.slope = slope;
        this.heads = heads;
        this.mode = mode;
        this.chunks = chunks;
        this.channels = channels;
        this.height = height;
        this.width = width;
    }

    /** The step (see LocalBlock.localStep): returns h; the block's parameters hold their gradients. */
    Var run(Tape tape, Var x, Targets targets, Tensor lossSum, Tensor correct) {
        Backend be = tape.backend();
        Tensor xd = x.data(), h = be.allocate(new Shape(xd.dim(0), channels, height, width), xd.dtype());
        try (Pass pass = new Pass(be, xd, h)) {
            pass.forward();
            pass.headsAndBackward(tape, targets, lossSum, correct);
        }
        return Var.constant(h);
    }

    /** One step's buffers and the sums it carries from the heads to the slices' backward. */
    private final class Pass implements AutoCloseable {
        private final Backend be;
        private final Tensor x, h;
        private final int nb, slice, xRow, hRow, poolRow;
        // slice buffers: hb holds h's rows, later x's; s and d take turns as conv outputs and gradients
        private final Tensor hb, s, d, stdSlice, dStdSlice, poolSlice;
        private final Tensor mean, invStd; // batch norm's statistics, null without batch norm
        private Tensor stds, dStds, dPooled;

        private Pass(Backend be, Tensor x, Tensor h) {
            this.be = be;
            this.x = x;
            this.h = h;
            nb = x.dim(0);
            slice = mode.sliceImages(chunks, nb);
            xRow = x.numel() / nb;
            hRow = h.numel() / nb;
            poolRow = heads.avgPool == null ? hRow : channels * heads.avgPool.outH(height) * heads.avgPool.outW(width);
            DType act = x.dtype();
            hb = be.allocate(new Shape(slice * Math.max(xRow, hRow)), act);
            s = be.allocate(new Shape(slice * hRow), act);
            d = be.allocate(new Shape(slice * hRow), act);
            stdSlice = be.allocate(slice * channels);
            dStdSlice = be.allocate(slice * channels);
            poolSlice = be.allocate(new Shape(slice * poolRow), act);

            if (bn != null) {
                mean = be.allocate(channels);
                invStd = be.allocate(channels);
            } else {
                mean = invStd = null;
            }
        }

        /** h = leakyRelu(bn(encoder(x))) for the whole batch, batch norm and leaky ReLU in place. */
        private void forward() {
            try (Ops.Operand w = encoderWeight()) {
                be.conv2dForward(x, w.t(), dataOf(encoder.bias()), h, geometry(nb));
            }
            if (bn != null) bn.forwardTrainInPlace(be, h, mean, invStd);
            be.leakyReluForward(h, h, slope);
        }

        /** The heads on the tape from h's summaries, their backward, then the block's sliced backward. */
        private void headsAndBackward(Tape tape, Targets targets, Tensor lossSum, Tensor correct) {
            Var stdsVar = null, pooled = null;
            if (simHead != null) stdsVar = new Var(stds = simStds(), true);
            if (heads.avgPool != null) {
                Tensor p = be.allocate(new Shape(nb, channels, heads.avgPool.outH(height), heads.avgPool.outW(width)), h.dtype());
                be.avgPoolForward(h, p, heads.avgPool.geom(nb, channels, height, width));
                pooled = new Var(p, true);
            } else if (heads.hasPred || heads.hasSim && simHead == null) {
                pooled = new Var(h, true); // no pooling needed: h is at most dimInDecoder numbers per example
            }
            Var rows = simHead != null ? stdsVar : heads.hasSim ? heads.similarityInput(tape, pooled) : null;
            tape.backward(heads.headsLoss(tape, x, rows, heads.hasPred ? pooled : null, null, targets, lossSum, correct));
            dStds = stdsVar == null ? null : stdsVar.grad();
            dPooled = pooled == null ? null : pooled.grad();
            backward();
            if (stdsVar != null) stdsVar.clearGrad();
            if (pooled != null) {
                pooled.clearGrad();
                if (pooled.data() != h) pooled.data().close();
            }
        }

        /** (B, C): the per-map std of conv_loss(h), a slice at a time. */
        private Tensor simStds() {
            int c = channels;
            Tensor out = be.allocate(nb, c);
            for (int from = 0; from < nb; from += slice) {
                int n = Math.min(slice, nb - from);
                Tensor sv = shaped(s, n);
                try (Ops.Operand w = simWeight()) {
                    be.conv2dForward(hRows(from, n), w.t(), null, sv, simHead.geometry(n, height, width));
                }
                Tensor sd = stdSlice.prefix(n, c);
                be.featureMapStdForward(sv, sd);
                be.copyRange(sd, 0, out, from * c, n * c);
            }
            return out;
        }

        /** The block's parameter gradients, one pass over the slices. */
        private void backward() {
            Tensor wEnc = encoder.weight().data(), bEnc = dataOf(encoder.bias());
            Tensor gEnc = be.allocate(wEnc.shape()), gEncBias = bEnc == null ? null : be.allocate(bEnc.shape());
            Tensor gSim = simHead == null || dStds == null ? null : be.allocate(simHead.weight().data().shape());
            if (bn == null) {
                // da is dz
                for (int from = 0; from < nb; from += slice) {
                    int n = Math.min(slice, nb - from);
                    Tensor da = sliceDa(from, n, gSim);
                    be.conv2dBackwardFilter(xRows(from, n), da, gEnc, gEncBias, geometry(n), from > 0);
                }
            } else {
                encoderGradientsThroughBatchNorm(gEnc, gEncBias, gSim);
            }
            encoder.weight().addGrad(be, gEnc);
            if (gEncBias != null) encoder.bias().addGrad(be, gEncBias);
            if (gSim != null) simHead.weight().addGrad(be, gSim);
        }

        /**
         * da of examples [from, from + n), in {@code s}: the gradient the heads send to those rows of
         * h, through leaky ReLU. Adds conv_loss's weight gradient into {@code gSim} when not null.
         * Leaves h's rows in hb.
         */
        private Tensor sliceDa(int from, int n, Tensor gSim) {
            int c = channels;
            Tensor hv = hRows(from, n), sv = shaped(s, n), dv = shaped(d, n);
            boolean any = false;
            if (dStds != null) {
                ConvGeom g = simHead.geometry(n, height, width);
                Tensor sd = stdSlice.prefix(n, c), dsd = dStdSlice.prefix(n, c);
                try (Ops.Operand w = simWeight()) {
                    be.conv2dForward(hv, w.t(), null, sv, g);
                }
                be.copyRange(stds, from * c, sd, 0, n * c);
                be.copyRange(dStds, from * c, dsd, 0, n * c);
                be.featureMapStdBackward(sv, sd, dsd, dv);
                if (gSim != null) be.conv2dBackwardFilter(hv, dv, gSim, null, g, from > 0);
                try (Ops.Operand w = simWeight()) {
                    be.conv2dBackwardData(dv, w.t(), sv, g);
                }
                any = true;
            }
            if (dPooled != null) {
                Tensor into = any ? dv : sv;
                if (heads.avgPool != null) {
                    Tensor pv = poolSlice.prefix(n * poolRow);
                    be.copyRange(dPooled, from * poolRow, pv, 0, n * poolRow);
                    be.avgPoolBackward(pv, into, heads.avgPool.geom(n, c, height, width));
                } else {
                    be.copyRange(dPooled, from * hRow, into, 0, n * hRow);
                }
                if (any) be.axpy(1f, dv, sv);
                any = true;
            }
            if (!any) be.fill(sv, 0f);
            be.leakyReluBackward(hv, sv, sv, slope);
            return sv;
        }

        /** Examples [from, from + n) of h, copied into hb. */
        private Tensor hRows(int from, int n) {
            Tensor v = hb.prefix(n, channels, height, width);
            be.copyRange(h, from * hRow, v, 0, n * hRow);
            return v;
        }

        /** Examples [from, from + n) of x, copied into hb. */
        private Tensor xRows(int from, int n) {
            Tensor v = hb.prefix(n, x.dim(1), x.dim(2), x.dim(3));
            be.copyRange(x, from * xRow, v, 0, n * xRow);
            return v;
        }

        /** The first n examples' worth of a slice buffer, shaped like h. */
        private Tensor shaped(Tensor buffer, int n) { return buffer.prefix(n, channels, height, width); }

        /** The encoder's and the sim head's weights as operands for x's dtype, for one product each (Ops.operand). */
        private Ops.Operand encoderWeight() { return Ops.operand(be, x, encoder.weight().data()); }

        private Ops.Operand simWeight() { return Ops.operand(be, x, simHead.weight().data()); }

        private ConvGeom geometry(int n) { return encoder.geometry(n, x.dim(2), x.dim(3)); }

        private Tensor copyOf(Tensor t) {
            Tensor out = be.allocate(t.shape());
            be.copy(t, out);
            return out;
        }

        private static Tensor dataOf(Var v) { return v == null ? null : v.data(); }

        @Override public void close() {
            for (Tensor t : new Tensor[] {hb, s, d, stdSlice, dStdSlice, poolSlice, stds, mean, invStd}) if (t != null) t.close();

        }

        /**
         * The encoder's gradients through batch norm in one pass over the slices. Batch norm's
         * dz = a da - k sum(da) - k sum(da xhat) xhat per channel (a = gamma invStd, k = a / N,
         * xhat = (z - mean) invStd) needs two sums over the whole batch, but the encoder's weight
         * gradient is linear in dz: dW = a (x*da) - k sum(da) (x*1) - k sum(da xhat) (x*xhat), with
         * x*g the filter gradient for output gradient g. So each slice adds to three filter
         * gradients (x*1 has a single output channel), and the sums weigh them at the end.
         * The encoder's bias gradient is sum(dz) = -k sum(da xhat) sum(xhat): the first two terms
         * cancel exactly, and sum(xhat) is 0 up to rounding (batch norm removes the bias).
         */
        private void encoderGradientsThroughBatchNorm(Tensor gEnc, Tensor gEncBias, Tensor gSim) {
            int c = channels;
            Tensor wEnc = encoder.weight().data(), bEnc = dataOf(encoder.bias());
            ConvGeom full = geometry(nb);
            int taps = wEnc.numel() / c, outPixels = full.outH() * full.outW();
            float[] fromH = xhatFromH();
            try (Tensor sumDa = be.allocate(c); Tensor sumDaXhat = be.allocate(c); Tensor sumXhat = be.allocate(c);
                 Tensor gXhat = be.allocate(wEnc.shape()); Tensor gOnes = be.allocate(1, x.dim(1), wEnc.dim(2), wEnc.dim(3));
                 Tensor ones = be.allocate(new Shape(slice * outPixels), x.dtype());
                 Tensor scale = be.allocate(c); Tensor shift = be.allocate(c)) {
                be.fill(ones, 1f);
                if (fromH != null) { // xhat = (leakyRelu^-1(h) - beta) / gamma
                    be.write(scale, java.util.Arrays.copyOfRange(fromH, 0, c));
                    be.write(shift, java.util.Arrays.copyOfRange(fromH, c, 2 * c));
                } else {             // xhat = z invStd - mean invStd
                    be.copy(invStd, scale);
                    be.multiply(mean, invStd, shift, false);
                    be.scale(shift, -1f);
                }
                for (int from = 0; from < nb; from += slice) {
                    int n = Math.min(slice, nb - from);
                    Tensor da = sliceDa(from, n, gSim), xhat = shaped(d, n);
                    if (fromH != null) be.leakyReluBackward(shaped(hb, n), shaped(hb, n), xhat, 1f / slope); // hb still holds h's rows
                    Tensor xv = xRows(from, n);
                    ConvGeom g = geometry(n);
                    if (fromH == null) {
                        try (Ops.Operand w = encoderWeight()) {
                            be.conv2dForward(xv, w.t(), bEnc, xhat, g);
                        }
                    }
                    be.channelAffine(xhat, scale, shift);
                    boolean acc = from > 0;
                    be.conv2dBackwardFilter(xv, da, gEnc, null, g, acc);
                    be.conv2dBackwardFilter(xv, xhat, gXhat, sumXhat, g, acc);
                    ConvGeom one = new ConvGeom(n, g.inC(), g.inH(), g.inW(), 1, g.kh(), g.kw(), g.stride(), g.pad());
                    be.conv2dBackwardFilter(xv, ones.prefix(n, 1, g.outH(), g.outW()), gOnes, null, one, acc);
                    // sum(da) and sum(da xhat) per channel
                    be.channelSum(da, null, sumDa, acc);
                    be.channelSum(da, xhat, sumDaXhat, acc);
                }
                try (Tensor a = be.allocate(c); Tensor u = be.allocate(c); Tensor v = be.allocate(c)) {
                    be.multiply(bn.weight().data(), invStd, a, false);
                    be.multiply(sumDa, a, u, false);
                    be.scale(u, -1f / count(c));                                   // -k sum(da)
                    be.multiply(sumDaXhat, a, v, false);
                    be.scale(v, -1f / count(c));                                   // -k sum(da xhat)
                    be.channelAffine(gEnc.view(1, c, taps), a, null);              // a (x*da)
                    be.channelAffine(gXhat.view(1, c, taps), v, null);
                    be.axpy(1f, gXhat, gEnc);                                      // + v (x*xhat)
                    be.gemm(false, false, c, taps, 1, 1f, u, gOnes, 1f, gEnc);    // + u (x*1), the same for every output channel
                    if (gEncBias != null) be.multiply(v, sumXhat, gEncBias, false);
                }
                bn.weight().addGrad(be, copyOf(sumDaXhat));
                bn.bias().addGrad(be, copyOf(sumDa));
            }
        }

        /**
         * {1/gamma, -beta/gamma} per channel when xhat can be rebuilt from h, which saves the
         * encoder's forward per slice; else null, and xhat is rebuilt from z = encoder(x). Leaky
         * ReLU is invertible when its slope is positive, batch norm's affine when no gamma is 0.
         * Both routes round xhat to about eps (|xhat| + 2 |offset|), the offset being mean invStd
         * through z and beta / gamma through h: h is taken only while |beta| <= 16 |gamma| in
         * every channel, so xhat's error stays within 33 ulps of 1 (4e-6 in float32) where a
         * shrinking gamma would blow it up.
         */
        private float[] xhatFromH() {
            if (!(slope > 0f)) return null;
            int c = channels;
            float[] gamma = be.read(bn.weight().data()), beta = be.read(bn.bias().data()), out = new float[2 * c];
            for (int i = 0; i < c; i++) {
                if (!(Math.abs(beta[i]) <= 16f * Math.abs(gamma[i])) || gamma[i] == 0f) return null;
                out[i] = 1f / gamma[i];
                out[c + i] = -beta[i] / gamma[i];
            }
            return out;
        }

        /** N: the elements per channel batch norm normalised over. */
        private float count(int c) { return (float) ((double) nb * hRow / c); }
    }
}
