package locallearn.models;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import locallearn.local.LocalBlock;
import locallearn.local.LocalBlock.Order;
import locallearn.nn.BatchNorm;
import locallearn.nn.Conv2d;
import locallearn.nn.Group;
import locallearn.nn.Init;
import locallearn.nn.Layer;
import locallearn.nn.Linear;
import locallearn.nn.Module;
import locallearn.nn.Pool2d;

/**
 * The reference's residual networks, as train.py defines them, every conv a local block:
 *
 * <ul>
 *   <li>ResNet: {@code conv1} (3x3, 64 x feat-mult channels, no bias, post-act unless --pre-act),
 *       four layers of units (BasicBlock: two 3x3 convs; Bottleneck: 1x1, 3x3 with the stride,
 *       1x1 to 4 x planes), 64/128/256/512 x feat-mult planes, stride 2 from layer2 on; no conv
 *       has a bias. With --pre-act a BasicBlock's convs are pre-act (Bottleneck ignores it, as
 *       the reference does). The shortcut is a 1x1 conv and batch norm where stride or width
 *       change. Then avg-pool 4 and {@code linear}.</li>
 *   <li>Wide ResNet (depth 6n + 4, widen factor k): {@code conv1} (3x3, 16 channels, or 16k when
 *       adapted; no post-act, no dropout), three layers of n wide_basic units of two pre-act
 *       3x3 convs with bias (16k, 32k, 64k channels, the second conv with the stride 1, 2, 2),
 *       element-wise dropout between them when not adapted, Dropout2d in each conv when
 *       adapted; a 1x1 conv with bias as shortcut where stride or width change; then
 *       relu(bn1) (momentum 0.9), avg-pool 8 (max-pool 2 when adapted) and {@code linear}.</li>
 * </ul>
 * Two things differ from train.py where it cannot run as written: each pred head's pooling is
 * sized for the map its block makes (train.py sizes a stride-2 BasicBlock's for its input map,
 * and the Wide ResNets' conv1 for 32 px, which only fit when the sizes agree; decoder_y's shape is
 * the same wherever both run), and an input whose last map does not pool to what {@code linear}
 * takes is refused before training instead of failing in the first forward.
 */
final class ResNets {
    private ResNets() {}

    /** What both families share while building: the config, input, init and the network's parts. */
    private record Parts(ModelConfig c, ModelInput in, Init init, List<Net.Stage> stages, Map<String, Module> top) {
        LocalBlock block(Conv2d encoder, int inChannels, int h, int w, Order order, float dropout) {
            return LocalBlock.residual(init, encoder, inChannels, h, w, order, c.batchNorm(), c.slope(), dropout, c.loss(), c.mode(), in.classes());
        }

        Conv2d conv(int inChannels, int out, int k, int stride, boolean bias) {
            return new Conv2d(init, inChannels, out, k, stride, k / 2, bias);
        }

        Net net(Linear out) {
            top.put("linear", out);
            return new Net(c, in, stages, out, "linear.", top);
        }
    }

    static Net resNet(ModelConfig c, ModelInput in, Init init) {
        ModelConfig.ResNetShape shape = c.resNet();
        // the last map must pool (avg-pool 4) to 1x1 for linear's 512 x expansion inputs
        checkInput(c.name(), in, 3, 4, 1, "avg-pool of 4");
        Parts p = new Parts(c, in, init, new ArrayList<>(), new LinkedHashMap<>());
        int ch = (int) (c.featMult() * 64), h = in.height(), w = in.width();
        LocalBlock stem = p.block(p.conv(in.channels(), ch, 3, 1, false), in.channels(), h, w, c.preAct() ? Order.CONV_ONLY : Order.POST_ACT,
                c.dropout());
        p.top.put("conv1", stem);
        p.stages.add(new Net.Stage("conv1.", stem));
        Order order = c.preAct() ? Order.PRE_ACT : Order.POST_ACT;
        for (int l = 0; l < 4; l++) {
            int planes = (int) (c.featMult() * (64 << l));
            Group layer = new Group();
            for (int u = 0; u < shape.units()[l]; u++) {
                int stride = u == 0 && l > 0 ? 2 : 1;
                List<LocalBlock> blocks = new ArrayList<>();
                int bh = h, bw = w, bc = ch;
                // {out channels, kernel, stride} of each conv: Bottleneck 1x1, 3x3 with the stride, 1x1 to 4x; BasicBlock two 3x3
                int[][] convs = shape.bottleneck()
                        ? new int[][] {{planes, 1, 1}, {planes, 3, stride}, {4 * planes, 1, 1}}
                        : new int[][] {{planes, 3, stride}, {planes, 3, 1}};
                for (int[] cv : convs) {
                    LocalBlock b = p.block(p.conv(bc, cv[0], cv[1], cv[2], false), bc, bh, bw, shape.bottleneck() ? Order.POST_ACT : order, c.dropout());
                    blocks.add(b);
                    bc = cv[0];
                    bh = b.outShape()[1];
                    bw = b.outShape()[2];
                }
                boolean project = stride != 1 || ch != bc;
                ResidualUnit unit = unit(blocks, project ? p.conv(ch, bc, 1, stride, false) : null, project ? new BatchNorm(init, bc) : null);
                layer.add(String.valueOf(u), unit);
                p.stages.add(new Net.Stage("layer" + (l + 1) + "." + u + ".", unit));
                ch = bc;
                h = bh;
                w = bw;
            }
            p.top.put("layer" + (l + 1), layer);
        }
        p.stages.add(new Net.Stage("avg_pool.", new Pool2d(false, 4, 4, 4, 4, 0, 0)));
        return p.net(output(p, ch));
    }

    static Net wideResNet(ModelConfig c, ModelInput in, Init init) {
        ModelConfig.WideResNetShape shape = c.wideResNet();
        int n = (shape.depth() - 4) / 6, k = shape.widen();
        boolean adapted = shape.adapted();
        // adapted: max-pool 2 to 4x4 for linear's 64k x 16 inputs; otherwise avg-pool 8 to 1x1
        if (adapted) checkInput(c.name(), in, 2, 2, 4, "max-pool of 2");
        else checkInput(c.name(), in, 2, 8, 1, "avg-pool of 8");
        Parts p = new Parts(c, in, init, new ArrayList<>(), new LinkedHashMap<>());
        int[] widths = {adapted ? 16 * k : 16, 16 * k, 32 * k, 64 * k};
        int ch = widths[0], h = in.height(), w = in.width();
        LocalBlock stem = p.block(p.conv(in.channels(), ch, 3, 1, true), in.channels(), h, w, Order.CONV_ONLY, 0f);
        p.top.put("conv1", stem);
        p.stages.add(new Net.Stage("conv1.", stem));
        float blockDropout = adapted ? c.dropout() : 0f, between = adapted ? 0f : c.dropout();
        for (int l = 0; l < 3; l++) {
            Group layer = new Group();
            for (int u = 0; u < n; u++) {
                int stride = u == 0 && l > 0 ? 2 : 1, planes = widths[l + 1];
                LocalBlock b1 = p.block(p.conv(ch, planes, 3, 1, true), ch, h, w, Order.PRE_ACT, blockDropout);
                LocalBlock b2 = p.block(p.conv(planes, planes, 3, stride, true), planes, h, w, new Order(true, false, between), blockDropout);
                boolean project = stride != 1 || ch != planes;
                ResidualUnit unit = unit(List.of(b1, b2), project ? p.conv(ch, planes, 1, stride, true) : null, null);
                layer.add(String.valueOf(u), unit);
                p.stages.add(new Net.Stage("layer" + (l + 1) + "." + u + ".", unit));
                ch = planes;
                h = b2.outShape()[1];
                w = b2.outShape()[2];
            }
            p.top.put("layer" + (l + 1), layer);
        }
        BatchNorm bn1 = new BatchNorm(init, ch, 0.9f);
        p.top.put("bn1", bn1);
        p.stages.add(new Net.Stage("bn1.", new NormRelu(bn1)));
        Pool2d pool = adapted ? Pool2d.max(2, 2) : new Pool2d(false, 8, 8, 8, 8, 0, 0);
        p.stages.add(new Net.Stage(adapted ? "max_pool." : "avg_pool.", pool));
        return p.net(output(p, ch * pool.outH(h) * pool.outW(w)));
    }

    private static ResidualUnit unit(List<LocalBlock> blocks, Conv2d projection, BatchNorm projectionBn) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) names.add("conv" + (i + 1));
        return new ResidualUnit(names, blocks, projection, projectionBn);
    }

    /** {@code linear}; its weight starts at zero in the local modes (reference). */
    private static Linear output(Parts p, int width) {
        Linear out = new Linear(p.init, width, p.in.classes(), true);
        if (p.c.mode().hasLocalLosses()) out.zeroWeight(p.init);
        return out;
    }

    /**
     * Refuses an input whose last map, after {@code halvings} stride-2 3x3 convs (pad 1), does not
     * pool ({@code pool} x {@code pool}, stride {@code pool}) to {@code side} x {@code side},
     * the size train.py's linear layer is built for; names the input sizes that fit.
     */
    private static void checkInput(String model, ModelInput in, int halvings, int pool, int side, String what) {
        int lo = Integer.MAX_VALUE, hi = 0;
        for (int px = 1; px <= 4096; px++) {
            if (pooled(px, halvings, pool) != side) continue;
            lo = Math.min(lo, px);
            hi = Math.max(hi, px);
        }
        for (int px : new int[] {in.height(), in.width()}) {
            if (pooled(px, halvings, pool) == side) continue;
            int last = lastMap(px, halvings);
            throw new IllegalArgumentException(model + " cannot take " + in.text() + " inputs: its last feature map is " + last + " px, and the "
                    + what + " before its linear layer must make it " + side + "x" + side + " (inputs of " + lo + " to " + hi + " px)");
        }
    }

    private static int lastMap(int px, int halvings) {
        for (int i = 0; i < halvings; i++) px = (px - 1) / 2 + 1;
        return px;
    }

    private static int pooled(int px, int halvings, int pool) {
        int last = lastMap(px, halvings);
        return last < pool ? 0 : (last - pool) / pool + 1;
    }

    /** The Wide ResNets' relu(bn1(x)) before pooling; bn1 itself is the network's child, so its state is named {@code bn1.}. */
    private static final class NormRelu extends Layer {
        private final BatchNorm bn;

        NormRelu(BatchNorm bn) { this.bn = bn; }

        @Override public Var forward(Tape tape, Var x) { return Ops.leakyRelu(tape, bn.forward(tape, x), 0f, true); }
    }
}
