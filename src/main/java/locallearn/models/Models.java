package locallearn.models;

import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import locallearn.autograd.Var;
import locallearn.local.LocalBlock;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.nn.Group;
import locallearn.nn.Init;
import locallearn.nn.Linear;
import locallearn.nn.Module;
import locallearn.nn.Pool2d;
import locallearn.optim.Optimizer;

/** Builds the paper's networks: the mlp and the VGG family, all from one table, and the reference's residual networks ({@link ResNets}). */
public final class Models {
    private Models() {}

    /**
     * Builds a network with parameters drawn from {@code init} and its optimizers from
     * {@code optimizer} (called once per hidden block with the block's parameters, and once for
     * the output layer, or for all parameters in global backprop); with a null {@code optimizer}
     * the network has none (inference).
     */
    public static Net build(ModelConfig c, ModelInput in, Init init, Function<List<Var>, Optimizer> optimizer) {
        Net net = c.resNet() != null ? ResNets.resNet(c, in, init) : c.wideResNet() != null ? ResNets.wideResNet(c, in, init) : mlpOrVgg(c, in, init);
        if (optimizer == null) return net;
        if (c.mode().hasLocalLosses()) {
            for (LocalBlock b : net.blocks()) b.setOptimizer(optimizer.apply(b.parameters()));
            for (Net.Stage s : net.stages())
                if (s.layer() instanceof ResidualUnit u && u.hasProjection()) u.setOptimizer(optimizer.apply(u.shortcutParameters()));
            // the global optimizer has the output layer only: not even the Wide ResNets' bn1 (train.py's parameters())
            net.setGlobalOptimizer(optimizer.apply(net.output().parameters()));
        } else {
            net.setGlobalOptimizer(optimizer.apply(net.parameters()));
        }
        return net;
    }

    private static Net mlpOrVgg(ModelConfig c, ModelInput in, Init init) {
        LossConfig loss = c.loss();
        TrainingMode mode = c.mode();
        List<Net.Stage> stages = new ArrayList<>();
        Map<String, Module> top = new LinkedHashMap<>();
        Linear out;
        String outPrefix;
        if (c.name().equals("mlp")) {
            Group layers = new Group();
            int width = in.imageSize();
            width = fcBlocks(c, in, init, layers, "layers.", width, stages);
            out = outputLayer(c, in, init, width);
            top.put("layers", layers);
            top.put("layer_out", out);
            outPrefix = "layer_out.";
        } else {
            Group features = new Group();
            int ch = in.channels(), h = in.height(), w = in.width();
            int[] cfg = c.vggLayers();
            for (int i = 0; i < cfg.length; i++) {
                String name = String.valueOf(i);
                if (cfg[i] == 0) {
                    Pool2d p = Pool2d.max(2, 2);
                    stages.add(new Net.Stage("features." + i + ".", p));
                    h = p.outH(h);
                    w = p.outW(w);
                    continue;
                }
                int k = Math.max(1, Math.round(cfg[i] * c.featMult()));
                // inputs over 64 px (STL-10) start with a 7x7 stride-2 conv, as the reference
                boolean big = i == 0 && Math.max(h, w) > 64;
                LocalBlock b = LocalBlock.conv(init, ch, h, w, k, big ? 7 : 3, big ? 2 : 1, big ? 3 : 1, c.batchNorm(), c.slope(),
                        c.dropout(), loss, mode, in.classes(), i == 0);
                features.add(name, b);
                stages.add(new Net.Stage("features." + i + ".", b));
                ch = k;
                h = b.outShape()[1];
                w = b.outShape()[2];
            }
            Group classifier = new Group(), layers = new Group();
            int width = fcBlocks(c, in, init, layers, "classifier.layers.", ch * h * w, stages);
            out = outputLayer(c, in, init, width);
            classifier.add("layers", layers);
            classifier.add("layer_out", out);
            top.put("features", features);
            top.put("classifier", classifier);
            outPrefix = "classifier.layer_out.";
        }
        return new Net(c, in, stages, out, outPrefix, top);
    }

    private static int fcBlocks(ModelConfig c, ModelInput in, Init init, Group layers, String prefix, int width, List<Net.Stage> stages) {
        for (int i = 0; i < c.numLayers(); i++) {
            LocalBlock b = LocalBlock.fc(init, width, c.numHidden(), c.batchNorm(), c.slope(), c.dropout(), c.loss(), c.mode(), in.classes(), i == 0);
            layers.add(String.valueOf(i), b);
            stages.add(new Net.Stage(prefix + i + ".", b));
            width = c.numHidden();
        }
        return width;
    }

    /** The output layer; its weight starts at zero in the local modes (reference). */
    private static Linear outputLayer(ModelConfig c, ModelInput in, Init init, int width) {
        Linear out = new Linear(init, width, in.classes(), true);
        if (c.mode().hasLocalLosses()) out.zeroWeight(init);
        return out;
    }
}
