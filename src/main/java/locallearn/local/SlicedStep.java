package locallearn.local;

import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.nn.Conv2d;
import locallearn.tensor.Tensor;

/**
 * A conv block's local step that holds nothing of the block's size but its input x and its
 * output h (LossConfig.memoryChunks > 0): everything else of that size is rebuilt a slice of the
 * batch at a time, in a few slice-sized buffers. The values are those of the held step (the tape
 * through encoder, batch norm, leaky ReLU and heads) up to the order of float sums.
 *
 * <p>Forward: z = encoder(x) for the whole batch, then batch norm and leaky ReLU over it in
 * place: h. The heads read only small summaries of h: the sim head's per-map stds (conv_loss
 * run a slice at a time) and the pred head's average-pooled h. Those become leaves of the tape,
 * which runs the losses and their backward and leaves d(stds) and d(pooled), a few thousand
 * numbers per example at most.
 *
 * <p>Backward, slice by slice: h's gradient is rebuilt from them (conv_loss forward again, the
 * std's and conv_loss's backward, the pool's backward), taken through leaky ReLU (h keeps the
 * sign) to da. Batch norm's backward needs two per-channel sums over the whole batch before any
 * dz, so with batch norm the slices are visited twice: pass 1 adds up sum(da) and
 * sum(da xhat) with z rebuilt from x (and takes conv_loss's weight gradient); pass 2 forms
 * dz = a da + b z + c per channel and takes the encoder's gradient. The price is compute: per
 * step conv_loss runs three times forward and twice backward-data, the encoder three times
 * forward, against once each in the held step.
 */
final class SlicedStep implements AutoCloseable {
    private final LocalBlock blk;
    private final Backend be;
    private final Tensor x, h;
    private final int nb, slice, xRow, hRow, poolRow;
    private final Conv2d encoder, simHead;
    // slice buffers: hb holds h's rows, later x's; s and d take turns as conv outputs and gradients
    private final Tensor hb, s, d, stdSlice, dStdSlice, poolSlice;
    private final Tensor mean, invStd; // batch norm's statistics, null without batch norm
    private Tensor stds, dStds, dPooled;

    /** True when {@code blk}'s local step can run sliced: a conv block whose sim head, if any, ends in per-map stds. */
    static boolean applies(LocalBlock blk) {
        LossConfig l = blk.loss;
        return blk.conv && l.training() == LossConfig.Training.LOCAL && blk.memoryChunks > 0 && blk.encoder instanceof Conv2d
                && (blk.simHead == null || (l.similarityStd() && blk.channels > 3 && blk.height > 1));
    }

    /** The step (see LocalBlock.localStep): returns h; the block's parameters hold their gradients. */
    static Var run(LocalBlock blk, Tape tape, Var x, Targets targets, Tensor lossSum, Tensor correct) {
        Backend be = tape.backend();
        Tensor xd = x.data(), h = be.allocate(xd.dim(0), blk.channels, blk.height, blk.width);
        try (SlicedStep step = new SlicedStep(blk, be, xd, h)) {
            step.forward();
            step.headsAndBackward(tape, targets, lossSum, correct);
        }
        return Var.constant(h);
    }

    private SlicedStep(LocalBlock blk, Backend be, Tensor x, Tensor h) {
        this.blk = blk;
        this.be = be;
        this.x = x;
        this.h = h;
        this.encoder = (Conv2d) blk.encoder;
        this.simHead = blk.simHead instanceof Conv2d c ? c : null;
        nb = x.dim(0);
        slice = (nb + blk.memoryChunks - 1) / blk.memoryChunks;
        xRow = x.numel() / nb;
        hRow = h.numel() / nb;
        poolRow = blk.avgPool == null ? hRow : blk.channels * blk.avgPool.outH(blk.height) * blk.avgPool.outW(blk.width);
        hb = be.allocate(slice * Math.max(xRow, hRow));
        s = be.allocate(slice * hRow);
        d = be.allocate(slice * hRow);
        stdSlice = be.allocate(slice * blk.channels);
        dStdSlice = be.allocate(slice * blk.channels);
        poolSlice = be.allocate(slice * poolRow);
        if (blk.bn != null) {
            mean = be.allocate(blk.channels);
            invStd = be.allocate(blk.channels);
        } else {
            mean = invStd = null;
        }
    }

    /** h = leakyRelu(bn(encoder(x))) for the whole batch, batch norm and leaky ReLU in place. */
    private void forward() {
        be.conv2dForward(x, encoder.weight().data(), dataOf(encoder.bias()), h, geometry(nb));
        if (blk.bn != null) blk.bn.forwardTrainInPlace(be, h, mean, invStd);
        be.leakyReluForward(h, h, blk.slope);
    }

    /** The heads on the tape from h's summaries, their backward, then the block's sliced backward. */
    private void headsAndBackward(Tape tape, Targets targets, Tensor lossSum, Tensor correct) {
        LossConfig l = blk.loss;
        Var stdsVar = null, pooled = null;
        if (simHead != null) stdsVar = new Var(stds = simStds(), true);
        if (blk.avgPool != null) {
            Tensor p = be.allocate(nb, blk.channels, blk.avgPool.outH(blk.height), blk.avgPool.outW(blk.width));
            be.avgPoolForward(h, p, blk.avgPool.geom(nb, blk.channels, blk.height, blk.width));
            pooled = new Var(p, true);
        } else if (l.hasPred() || l.hasSim() && simHead == null) {
            pooled = new Var(h, true); // no pooling needed: h is at most dimInDecoder numbers per example
        }
        Var rows = simHead != null ? stdsVar : l.hasSim() ? blk.similarityInput(tape, pooled) : null;
        tape.backward(blk.headsLoss(tape, rows, l.hasPred() ? pooled : null, targets, lossSum, correct));
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
        int c = blk.channels;
        Tensor out = be.allocate(nb, c);
        for (int from = 0; from < nb; from += slice) {
            int n = Math.min(slice, nb - from);
            Tensor sv = shaped(s, n);
            be.conv2dForward(hRows(from, n), simHead.weight().data(), null, sv, simHead.geometry(n, blk.height, blk.width));
            Tensor sd = stdSlice.prefix(n, c);
            be.featureMapStdForward(sv, sd);
            be.copyRange(sd, 0, out, from * c, n * c);
        }
        return out;
    }

    private void backward() {
        int c = blk.channels;
        Tensor wEnc = encoder.weight().data(), bEnc = dataOf(encoder.bias());
        Tensor gEnc = be.allocate(wEnc.shape()), gEncBias = bEnc == null ? null : be.allocate(bEnc.shape());
        Tensor gSim = simHead == null || dStds == null ? null : be.allocate(simHead.weight().data().shape());
        if (blk.bn == null) {
            // one pass: da is dz
            for (int from = 0; from < nb; from += slice) {
                int n = Math.min(slice, nb - from);
                Tensor da = sliceDa(from, n, gSim);
                be.conv2dBackwardFilter(xRows(from, n), da, gEnc, gEncBias, geometry(n), from > 0);
            }
        } else {
            try (Tensor sumDa = be.allocate(c); Tensor sumDaXhat = be.allocate(c)) {
                for (int from = 0; from < nb; from += slice) {
                    int n = Math.min(slice, nb - from);
                    Tensor da = sliceDa(from, n, gSim), z = shaped(d, n);
                    be.conv2dForward(xRows(from, n), wEnc, bEnc, z, geometry(n));
                    // batch norm's backward on the slice adds up the two sums; the dx it writes over z is discarded
                    be.batchNormBackward(z, da, blk.bn.weight().data(), mean, invStd, z, sumDaXhat, sumDa, from > 0);
                }
                try (DzCoefficients k = new DzCoefficients(be, blk.bn.weight().data(), mean, invStd, sumDaXhat, sumDa, (long) nb * hRow / c)) {
                    for (int from = 0; from < nb; from += slice) {
                        int n = Math.min(slice, nb - from);
                        Tensor da = sliceDa(from, n, null), z = shaped(d, n), xv = xRows(from, n);
                        be.conv2dForward(xv, wEnc, bEnc, z, geometry(n));
                        be.channelAffine(z, k.b, k.c);
                        be.channelAffine(da, k.a, k.zero);
                        be.axpy(1f, da, z); // dz
                        be.conv2dBackwardFilter(xv, z, gEnc, gEncBias, geometry(n), from > 0);
                    }
                }
                blk.bn.weight().addGrad(be, copyOf(sumDaXhat));
                blk.bn.bias().addGrad(be, copyOf(sumDa));
            }
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
        int c = blk.channels;
        Tensor hv = hRows(from, n), sv = shaped(s, n), dv = shaped(d, n);
        boolean any = false;
        if (dStds != null) {
            ConvGeom g = simHead.geometry(n, blk.height, blk.width);
            Tensor sd = stdSlice.prefix(n, c), dsd = dStdSlice.prefix(n, c);
            be.conv2dForward(hv, simHead.weight().data(), null, sv, g);
            be.copyRange(stds, from * c, sd, 0, n * c);
            be.copyRange(dStds, from * c, dsd, 0, n * c);
            be.featureMapStdBackward(sv, sd, dsd, dv);
            if (gSim != null) be.conv2dBackwardFilter(hv, dv, gSim, null, g, from > 0);
            be.conv2dBackwardData(dv, simHead.weight().data(), sv, g);
            any = true;
        }
        if (dPooled != null) {
            Tensor into = any ? dv : sv;
            if (blk.avgPool != null) {
                Tensor pv = poolSlice.prefix(n * poolRow);
                be.copyRange(dPooled, from * poolRow, pv, 0, n * poolRow);
                be.avgPoolBackward(pv, into, blk.avgPool.geom(n, c, blk.height, blk.width));
            } else {
                be.copyRange(dPooled, from * hRow, into, 0, n * hRow);
            }
            if (any) be.axpy(1f, dv, sv);
            any = true;
        }
        if (!any) be.fill(sv, 0f);
        be.leakyReluBackward(hv, sv, sv, blk.slope);
        return sv;
    }

    /** Examples [from, from + n) of h, copied into hb. */
    private Tensor hRows(int from, int n) {
        Tensor v = hb.prefix(n, blk.channels, blk.height, blk.width);
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
    private Tensor shaped(Tensor buffer, int n) { return buffer.prefix(n, blk.channels, blk.height, blk.width); }

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
     * Batch norm's dx = gamma invStd / N (N dy - sum(dy) - xhat sum(dy xhat)) written as
     * a dy + b x + c per channel: a = gamma invStd, and with k = a / N and t = invStd sum(dy xhat),
     * b = -k t and c = k (mean t - sum(dy)). Computed on the device, no host sync; the C-vectors
     * are multiplied element by element as (1, C) views through channelAffine.
     */
    private static final class DzCoefficients implements AutoCloseable {
        final Tensor a, b, c, zero;
        private final Backend be;

        DzCoefficients(Backend be, Tensor gamma, Tensor mean, Tensor invStd, Tensor sumDyXhat, Tensor sumDy, long count) {
            this.be = be;
            int ch = gamma.numel();
            a = be.allocate(ch);
            b = be.allocate(ch);
            c = be.allocate(ch);
            zero = be.zeros(ch);
            try (Tensor k = be.allocate(ch); Tensor t = be.allocate(ch)) {
                product(a, gamma, invStd);     // a = gamma invStd
                be.copy(a, k);
                be.scale(k, 1f / count);       // k = a / N
                product(t, sumDyXhat, invStd); // t
                product(b, t, k);
                be.scale(b, -1f);              // b = -k t
                product(c, mean, t);
                product(c, c, k);              // k mean t
                product(t, sumDy, k);
                be.axpy(-1f, t, c);            // c = k mean t - k sum(dy)
            }
        }

        /** out = u * v element by element (out may be u). */
        private void product(Tensor out, Tensor u, Tensor v) {
            if (out != u) be.copy(u, out);
            be.channelAffine(out.view(1, out.numel()), v, zero);
        }

        @Override public void close() {
            a.close();
            b.close();
            c.close();
            zero.close();
        }
    }
}
