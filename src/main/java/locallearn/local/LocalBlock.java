package locallearn.local;

import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.nn.BatchNorm;
import locallearn.nn.Conv2d;
import locallearn.nn.ConvTranspose2d;
import locallearn.nn.Init;
import locallearn.nn.Layer;
import locallearn.nn.Linear;
import locallearn.nn.LinearFA;
import locallearn.nn.Pool2d;
import locallearn.optim.Optimizer;
import locallearn.tensor.Tensor;

/**
 * One hidden block of the paper, fully connected or convolutional alike: encoder -> batch norm
 * -> nonlinearity -> dropout, plus the local heads that train it (paper-summary.md, "Losses").
 * The two kinds differ only in their encoder and sim head (a Linear or a 3x3 Conv2d) and in the
 * pooling before the pred head, chosen once in the constructor; the loss code is shared.
 *
 * <p>The residual networks' conv blocks may order these differently ({@link Order}) and add a
 * shortcut before the nonlinearity ({@link #forward(Tape, Var, Var)}).
 *
 * <p>State names follow the reference: encoder, bn, bn_pre, linear_loss or conv_loss, decoder_y, proj_y,
 * decoder_x.
 */
public final class LocalBlock extends Layer {
    final Layer encoder;
    final BatchNorm bn;
    final BatchNorm bnPre; // pre-activation: batch norm of the input (bn_pre), or null
    final LocalHeads heads;
    final float slope, dropout;
    final boolean conv;
    final int channels, height, width;
    private final Order order;
    private final TrainingMode mode;
    private final SlicedStep sliced; // the conv block's local step in slices of the batch, or null: on the tape
    private Optimizer optimizer;

    /**
     * Where batch norm, the nonlinearity and dropout sit around a conv block's encoder, as in
     * train.py's LocalLossBlockConv. Post-act (the plain blocks') is conv -> bn -> (+ shortcut)
     * -> nonlin -> Dropout2d. Pre-act puts bn_pre -> nonlin -> Dropout2d before the conv.
     * Without post-act the block's output is the conv's (+ shortcut), and its local loss reads
     * nonlin(bn(output)): batch norm and the nonlinearity then serve the loss only.
     * {@code inputDropout} is element-wise dropout of the input before all of it: a Wide ResNet
     * unit's dropout between its two convs (when not adapted), which reads the same input.
     */
    public record Order(boolean preAct, boolean postAct, float inputDropout) {
        public static final Order POST_ACT = new Order(false, true, 0f), PRE_ACT = new Order(true, false, 0f);
        /** Neither: the conv's output is passed on (the Wide ResNets' and the pre-act ResNets' conv1). */
        public static final Order CONV_ONLY = new Order(false, false, 0f);
    }

    /**
     * A fully connected block, in -> out units; {@code first}: the first block of its network (the
     * mlp's, or the VGG classifier's, as the reference counts), which the recon loss leaves out.
     */
    public static LocalBlock fc(Init init, int in, int out, boolean batchNorm, float slope, float dropout, LossConfig loss, TrainingMode mode,
                                int classes, boolean first) {
        return new LocalBlock(init, new Linear(init, in, out, true), false, in, out, 1, 1, batchNorm, slope, dropout, loss, mode, classes,
                Order.POST_ACT, true, first, 1, 1);
    }

    /** A conv block on (in, h, w) inputs: k x k conv with stride and padding to {@code out} channels; {@code first} as for fc. */
    public static LocalBlock conv(Init init, int in, int h, int w, int out, int k, int stride, int pad, boolean batchNorm,
                                  float slope, float dropout, LossConfig loss, TrainingMode mode, int classes, boolean first) {
        Conv2d c = new Conv2d(init, in, out, k, stride, pad, true);
        return new LocalBlock(init, c, true, in, out, c.outSize(h), c.outSize(w), batchNorm, slope, dropout, loss, mode, classes, Order.POST_ACT, true,
                first, h, w);
    }

    /**
     * A conv block of a residual network: {@code encoder} on (in, h, w) inputs, the blocks in
     * {@code order}. It always takes the held local step: SlicedStep knows neither the shortcut
     * nor the other orders. The reference counts none of a residual network's blocks as first,
     * so recon decodes its stem's input too.
     */
    public static LocalBlock residual(Init init, Conv2d encoder, int in, int h, int w, Order order, boolean batchNorm, float slope, float dropout,
                                      LossConfig loss, TrainingMode mode, int classes) {
        return new LocalBlock(init, encoder, true, in, encoder.outChannels(), encoder.outSize(h), encoder.outSize(w), batchNorm, slope, dropout,
                loss, mode, classes, order, false, false, h, w);
    }

    private LocalBlock(Init init, Layer encoder, boolean conv, int inChannels, int channels, int height, int width, boolean batchNorm,
                       float slope, float dropout, LossConfig loss, TrainingMode mode, int classes, Order order, boolean maySlice,
                       boolean first, int inH, int inW) {
        if (order.inputDropout() > 0 && dropout > 0) throw new IllegalArgumentException("block: input dropout and dropout share a stream; one must be 0");
        this.encoder = child("encoder", encoder);
        this.conv = conv;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.slope = slope;
        this.dropout = dropout;
        this.mode = mode;
        this.order = order;
        boolean hasPred = mode.hasLocalLosses() && loss.hasPred();
        boolean hasSim = mode.hasLocalLosses() && (loss.hasSim() || loss.unsup() == LossConfig.Unsup.SIM);
        // a pre-act block's bn serves only its local loss, so global backprop has none (train.py)
        this.bn = child("bn", batchNorm && !(order.preAct() && !mode.hasLocalLosses()) ? new BatchNorm(init, channels) : null);
        this.bnPre = child("bn_pre", batchNorm && order.preAct() ? new BatchNorm(init, inChannels) : null);
        boolean bio = loss.bio();
        Layer simHead = hasSim && !bio
                ? child(conv ? "conv_loss" : "linear_loss", conv ? new Conv2d(init, channels, channels, 3, 1, 1, false) : new Linear(init, channels, channels, false))
                : null;
        Pool2d avgPool = conv && (hasPred || (hasSim && bio)) ? decoderPool(channels, height, width, loss.dimInDecoder()) : null;
        int dim = avgPool == null ? channels * height * width : channels * avgPool.outH(height) * avgPool.outW(width);
        Layer decoder = null;
        if (hasPred) {
            Layer d = bio ? new LinearFA(init, dim, loss.targetProjSize(), true) : new Linear(init, dim, classes, true);
            init.backend().fill(d instanceof Linear l ? l.weight().data() : ((LinearFA) d).weight().data(), 0f);
            decoder = child("decoder_y", d);
        }
        Var projY = null;
        Tensor projSign = null;
        if (bio && mode.hasLocalLosses()) {
            // drawn like a Linear(classes, P) without bias, but never trained: a buffer, not a parameter
            projY = buffer("proj_y.weight", Var.constant(init.uniform((float) (1 / Math.sqrt(classes)), loss.targetProjSize(), classes)));
            Backend be = init.backend();
            float[] w = be.read(projY.data());
            for (int i = 0; i < w.length; i++) w[i] = w[i] > 0 ? 1f : 0f;
            projSign = be.allocate(loss.targetProjSize(), classes);
            be.write(projSign, w);
        }
        Layer decoderX = null;
        boolean decodes = false;
        if (mode.hasLocalLosses() && loss.unsup() == LossConfig.Unsup.RECON) {
            // drawn last, so that the other parameters draw what they draw without recon
            if (encoder instanceof Conv2d c) {
                ConvTranspose2d t = new ConvTranspose2d(init, channels, inChannels, c.weight().data().dim(2), c.stride(), c.pad());
                if (!first && (t.outSize(height) != inH || t.outSize(width) != inW))
                    throw new IllegalArgumentException("--loss-unsup recon: decoder_x of a block on " + inH + "x" + inW + " maps would make "
                            + t.outSize(height) + "x" + t.outSize(width) + " maps, not the block's input size");
                decoderX = child("decoder_x", t);
            } else {
                decoderX = child("decoder_x", new Linear(init, channels, inChannels, true));
            }
            decodes = !first;
        }
        this.heads = new LocalHeads(loss, !conv, hasPred, hasSim, simHead, avgPool, decoder, projY, projSign, decoderX, decodes, slope);
        int chunks = mode.memoryChunksOn(init.backend());
        this.sliced = maySlice && conv && mode.detached() && chunks > 0 && SlicedStep.applies(encoder, heads, channels, height)
                ? new SlicedStep((Conv2d) encoder, bn, slope, heads, mode, chunks, channels, height, width) : null;
    }

    /**
     * The average pool before decoder_y (paper-summary.md): the kernel starts at 1x1 and doubles,
     * height first then width, while channels * ceil(h/kh) * ceil(w/kw) exceeds dimInDecoder and
     * kh < h; the padding centres the ceil-sized output. Null when no pooling is needed.
     */
    static Pool2d decoderPool(int c, int h, int w, int dimInDecoder) {
        int kh = 1, kw = 1, oh = h, ow = w;
        long dim = (long) c * h * w;
        while (dim > dimInDecoder && kh < h) {
            kh *= 2;
            oh = ceilDiv(h, kh);
            dim = (long) c * oh * ow;
            if (dim > dimInDecoder) {
                kw *= 2;
                ow = ceilDiv(w, kw);
                dim = (long) c * oh * ow;
            }
        }
        if (kh == 1 && kw == 1) return null;
        int ph = (kh * (oh - h / kh)) / 2, pw = (kw * (ow - w / kw)) / 2;
        return new Pool2d(false, kh, kw, kh, kw, ph, pw);
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    public void setOptimizer(Optimizer o) { this.optimizer = o; }

    public Optimizer optimizer() { return optimizer; }

    public boolean isConv() { return conv; }

    /** Does the local step run in slices of the batch (SlicedStep)? */
    boolean slicesItsStep() { return sliced != null; }

    /** Output shape of one example: (channels) or (channels, height, width). */
    public int[] outShape() { return conv ? new int[] {channels, height, width} : new int[] {channels}; }

    /**
     * One local step of this block on its input x (detached): forward, local loss, backward.
     * Afterwards the block's parameters hold their gradients (the caller's optimizer steps) and
     * the returned h, before dropout, is what the next stage reads. Conv blocks with memoryChunks
     * > 0 take the sliced step (SlicedStep); the rest record everything on the tape.
     */
    public Var localStep(Tape tape, Var x, Targets targets, Tensor lossSum, Tensor correct) { return localStep(tape, x, null, targets, lossSum, correct); }

    /** The local step with {@code shortcut} (on the same tape, so the loss trains it too) added before the nonlinearity; null: none. */
    public Var localStep(Tape tape, Var x, Var shortcut, Targets targets, Tensor lossSum, Tensor correct) {
        if (sliced != null) return sliced.run(tape, x, targets, lossSum, correct);
        Var h = forward(tape, x, shortcut);
        Var l = localLoss(tape, x, h, targets, lossSum, correct);
        tape.retain(h); // dropout reads it after the update
        tape.backward(l);
        return h;
    }

    /** h = nonlin(bn(encoder(x))), before dropout: what the local losses read. */
    @Override public Var forward(Tape tape, Var x) { return forward(tape, x, null); }

    /**
     * The block's output before dropout: nonlin(bn(encoder(x)) + shortcut) after post-act,
     * encoder(x) + shortcut otherwise; a null shortcut adds nothing. A pre-act block's x is
     * {@link #preActivation}'s.
     */
    public Var forward(Tape tape, Var x, Var shortcut) {
        Var z = encoder.forward(tape, x);
        if (!order.postAct()) return shortcut == null ? z : Ops.add(tape, z, shortcut);
        if (bn != null && conv && mode.detached() && tape.recording()) {
            // local step: a conv encoder's output is recomputed for batch norm's backward instead
            // of being held through the heads' backward (vgg8b predsim, --memory-chunks 0: a peak
            // of 114.8 MiB at batch 32, 146.8 MiB holding it; see Ops.batchNorm). A linear one's
            // (B, features) output is held: rebuilding it cost the mlp a third of its forward
            // GEMMs and lowered no peak (3x1024 predsim, batch 32 and 128: the same bytes).
            Tape replay = Tape.noGrad(tape.backend());
            z = bn.forward(tape, z, () -> encoder.forward(replay, x).data());
        } else if (bn != null && !tape.training()) {
            bn.forwardEvalInPlace(tape.backend(), z.data()); // eval (a test or a frozen block): only this tensor reads it
        } else if (bn != null) {
            z = bn.forward(tape, z);
        }
        if (shortcut != null) z = Ops.add(tape, z, shortcut);
        // in place: neither the encoder's nor batch norm's backward reads this tensor's old values
        return Ops.leakyRelu(tape, z, slope, true);
    }

    /**
     * The input as the encoder reads it: element-wise input dropout, then for pre-act blocks
     * bn_pre, the nonlinearity and Dropout2d, with the block's dropout stream; x itself for the
     * other blocks.
     */
    public Var preActivation(Tape tape, Var x, long stream) {
        Var in = Ops.dropout(tape, x, order.inputDropout(), stream, 1);
        if (!order.preAct()) return in;
        Var a = bnPre != null ? bnPre.forward(tape, in) : in;
        // in place only on batch norm's own output: x is the unit's input, which its shortcut reads too
        a = Ops.leakyRelu(tape, a, slope, bnPre != null);
        Tensor d = a.data();
        return Ops.dropout(tape, a, dropout, stream, d.dim(2) * d.dim(3));
    }

    /** What the local losses read: h after post-act; nonlin(bn(h)) otherwise, as train.py adds them for the loss. */
    Var lossInput(Tape tape, Var h) {
        if (order.postAct()) return h;
        Var a = bn != null ? bn.forward(tape, h) : h;
        return Ops.leakyRelu(tape, a, slope, bn != null);
    }

    /** Dropout of h (Dropout2d for conv blocks: whole channels), the block's output; pre-act blocks drop their input instead. */
    public Var dropout(Tape tape, Var h, long stream) {
        if (!order.postAct()) return h;
        return Ops.dropout(tape, h, dropout, stream, conv ? height * width : 1);
    }

    /**
     * The block's local loss on h, its output for input x (a pre-act block's x as
     * {@link #preActivation} made it; see LocalHeads.localLoss). When {@code lossSum} and
     * {@code correct} are not null the loss is added to lossSum[0] and the pred head's correct
     * predictions to correct[0], on the device.
     */
    public Var localLoss(Tape tape, Var x, Var h, Targets targets, Tensor lossSum, Tensor correct) {
        return heads.localLoss(tape, x, lossInput(tape, h), targets, lossSum, correct);
    }

    @Override public void close() {
        super.close();
        heads.close();
        if (optimizer != null) optimizer.close();
    }
}
