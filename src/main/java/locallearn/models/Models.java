package locallearn.models;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import locallearn.autograd.Var;
import locallearn.local.LocalBlock;
import locallearn.local.LossConfig;
import locallearn.nn.Group;
import locallearn.nn.Init;
import locallearn.nn.Linear;
import locallearn.nn.Module;
import locallearn.nn.Pool2d;
import locallearn.optim.Optimizer;

/** Builds the paper's networks: the mlp and the VGG family, all from one table. */
public final class Models {
    private Models() {}

    /** Conv block channel counts (before feat-mult); 0 is a 2x2 max-pool ('M' in the reference). */
    static final Map<String, int[]> VGG = new LinkedHashMap<>();
    static {
        VGG.put("vgg6a", new int[] {128, 0, 256, 0, 512, 0, 512});
        VGG.put("vgg6b", new int[] {128, 0, 256, 0, 512, 0, 512, 0});
        VGG.put("vgg8", new int[] {64, 0, 128, 0, 256, 0, 512, 0, 512, 0});
        VGG.put("vgg8a", new int[] {128, 256, 0, 256, 512, 0, 512, 0, 512});
        VGG.put("vgg8b", new int[] {128, 256, 0, 256, 512, 0, 512, 0, 512, 0});
        VGG.put("vgg11", new int[] {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0});
        VGG.put("vgg11b", new int[] {128, 128, 128, 256, 0, 256, 512, 0, 512, 512, 0, 512, 0});
        VGG.put("vgg13", new int[] {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0});
        VGG.put("vgg16", new int[] {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0});
        VGG.put("vgg19", new int[] {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0});
    }

    /**
     * Builds a network with parameters drawn from {@code init} and its optimizers from
     * {@code optimizer} (called once per hidden block with the block's parameters, and once for
     * the output layer, or for all parameters in global backprop). A factory that returns null
     * builds a network without optimizers, as inference wants: no optimizer state is allocated.
     */
    public static Net build(ModelConfig c, Init init, Function<List<Var>, Optimizer> optimizer) {
        LossConfig loss = c.loss();
        List<Net.Stage> stages = new ArrayList<>();
        Map<String, Module> top = new LinkedHashMap<>();
        Linear out;
        String outPrefix;
        if (c.name().equals("mlp")) {
            Group layers = new Group();
            int width = c.channels() * c.height() * c.width();
            width = fcBlocks(c, init, layers, "layers.", width, stages);
            out = outputLayer(c, init, width);
            top.put("layers", layers);
            top.put("layer_out", out);
            outPrefix = "layer_out.";
        } else {
            Group features = new Group();
            int ch = c.channels(), h = c.height(), w = c.width();
            int[] cfg = VGG.get(c.name());
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
                        c.dropout(), loss, c.classes());
                features.add(name, b);
                stages.add(new Net.Stage("features." + i + ".", b));
                ch = k;
                h = b.outShape()[1];
                w = b.outShape()[2];
            }
            Group classifier = new Group(), layers = new Group();
            int width = fcBlocks(c, init, layers, "classifier.layers.", ch * h * w, stages);
            out = outputLayer(c, init, width);
            classifier.add("layers", layers);
            classifier.add("layer_out", out);
            top.put("features", features);
            top.put("classifier", classifier);
            outPrefix = "classifier.layer_out.";
        }
        Net net = new Net(c, stages, out, outPrefix, top);
        if (loss.local()) {
            for (LocalBlock b : net.blocks()) b.setOptimizer(optimizer.apply(b.parameters()));
            net.setGlobalOptimizer(optimizer.apply(out.parameters()));
        } else {
            net.setGlobalOptimizer(optimizer.apply(net.parameters()));
        }
        return net;
    }

    private static int fcBlocks(ModelConfig c, Init init, Group layers, String prefix, int width, List<Net.Stage> stages) {
        for (int i = 0; i < c.numLayers(); i++) {
            LocalBlock b = LocalBlock.fc(init, width, c.numHidden(), c.batchNorm(), c.slope(), c.dropout(), c.loss(), c.classes());
            layers.add(String.valueOf(i), b);
            stages.add(new Net.Stage(prefix + i + ".", b));
            width = c.numHidden();
        }
        return width;
    }

    /** The output layer; its weight starts at zero in the local modes (reference). */
    private static Linear outputLayer(ModelConfig c, Init init, int width) {
        Linear out = new Linear(init, width, c.classes(), true);
        if (c.loss().local()) out.zeroWeight(init);
        return out;
    }
}
