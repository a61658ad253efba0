package locallearn.models;

import java.util.List;
import locallearn.local.LossConfig;

/**
 * What a network is: its name (mlp or a VGG of {@link Models#VGG}), the input it sees, the
 * width of its hidden blocks and how they learn.
 *
 * @param featMult   multiplies every conv block's channel count (the paper's narrower/wider VGGs)
 * @param slope      slope of the leaky ReLU for negative inputs; 0 is ReLU
 */
public record ModelConfig(String name, int channels, int height, int width, int classes, int numLayers, int numHidden,
                          float featMult, float dropout, boolean batchNorm, float slope, LossConfig loss) {

    public ModelConfig {
        if (!name.equals("mlp") && !Models.VGG.containsKey(name))
            throw new IllegalArgumentException("unknown model '" + name + "' (known: " + String.join(", ", names()) + ")");
        if (channels < 1 || height < 1 || width < 1) throw new IllegalArgumentException("model: bad input " + channels + "x" + height + "x" + width);
        if (classes < 2) throw new IllegalArgumentException("model: needs at least 2 classes, got " + classes);
        if (numLayers < 0) throw new IllegalArgumentException("num-layers must be >= 0, got " + numLayers);
        if (numHidden < 1) throw new IllegalArgumentException("num-hidden must be >= 1, got " + numHidden);
        if (!(featMult > 0)) throw new IllegalArgumentException("feat-mult must be > 0, got " + featMult);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
    }

    public static List<String> names() {
        var l = new java.util.ArrayList<String>();
        l.add("mlp");
        l.addAll(Models.VGG.keySet());
        return l;
    }
}
