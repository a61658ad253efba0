package locallearn.models;

import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.local.LocalBlock;
import locallearn.nn.Layer;
import locallearn.nn.Linear;
import locallearn.nn.Module;
import locallearn.optim.Optimizer;

/**
 * A built network: its stages in execution order (local blocks, residual units of local blocks,
 * and the plain layers between them, such as max-pools), each with its state_dict prefix, then
 * the output layer. Names are the reference's: mlp has {@code layers.i} and {@code layer_out};
 * VGG has {@code features.i} (max-pools take an index too) and {@code classifier.layers.i},
 * {@code classifier.layer_out}; the ResNets have {@code conv1}, {@code layerL.U.convI},
 * {@code layerL.U.shortcut}, ({@code bn1} in the Wide ResNets) and {@code linear}.
 */
public final class Net extends Module {
    /** A stage and the state_dict prefix of its tensors ("features.3."). */
    public record Stage(String prefix, Layer layer) {
        /** The stage's layer when it is a single local block, else null. */
        public LocalBlock block() { return layer instanceof LocalBlock b ? b : null; }

        /** The stage's local blocks in order: itself, a residual unit's, or none. */
        public List<LocalBlock> blocks() {
            return switch (layer) {
                case LocalBlock b -> List.of(b);
                case ResidualUnit u -> u.blocks();
                default -> List.of();
            };
        }

        /** The state_dict prefixes of {@link #blocks} ("features.3.", "layer1.0.conv2."). */
        public List<String> blockPrefixes() {
            if (!(layer instanceof ResidualUnit u)) return blocks().isEmpty() ? List.of() : List.of(prefix);
            List<String> p = new ArrayList<>();
            for (String n : u.blockNames()) p.add(prefix + n + ".");
            return p;
        }
    }

    private final ModelConfig config;
    private final ModelInput input;
    private final List<Stage> stages;
    private final Linear out;
    private final String outPrefix;
    private Optimizer globalOptimizer;

    Net(ModelConfig config, ModelInput input, List<Stage> stages, Linear out, String outPrefix, java.util.Map<String, Module> top) {
        this.config = config;
        this.input = input;
        this.stages = List.copyOf(stages);
        this.out = out;
        this.outPrefix = outPrefix;
        top.forEach(this::child);
    }

    public ModelConfig config() { return config; }

    /** The images it takes and the classes it tells apart. */
    public ModelInput input() { return input; }

    public List<Stage> stages() { return stages; }

    /** The hidden blocks in order. */
    public List<LocalBlock> blocks() {
        List<LocalBlock> b = new ArrayList<>();
        for (Stage s : stages) b.addAll(s.blocks());
        return b;
    }

    /** Names of the hidden blocks, in order ("layers.0", "features.3", "layer1.0.conv2"): how metrics name a layer. */
    public List<String> blockNames() {
        List<String> n = new ArrayList<>();
        for (Stage s : stages) for (String p : s.blockPrefixes()) n.add(p.substring(0, p.length() - 1));
        return n;
    }

    /**
     * The optimizers of the local modes besides the global one, by the state_dict prefix of what
     * they train: each block's ("features.3.", "layer1.0.conv2.") and each shortcut projection's
     * ("layer2.0.shortcut.").
     */
    public Map<String, Optimizer> localOptimizers() {
        Map<String, Optimizer> m = new LinkedHashMap<>();
        for (Stage s : stages) {
            List<LocalBlock> b = s.blocks();
            List<String> p = s.blockPrefixes();
            for (int i = 0; i < b.size(); i++) if (b.get(i).optimizer() != null) m.put(p.get(i), b.get(i).optimizer());
            if (s.layer() instanceof ResidualUnit u && u.optimizer() != null) m.put(s.prefix() + "shortcut.", u.optimizer());
        }
        return m;
    }

    public Linear output() { return out; }

    public String outputPrefix() { return outPrefix; }

    /** Global backprop: every parameter; local modes: the output layer only. */
    public Optimizer globalOptimizer() { return globalOptimizer; }

    void setGlobalOptimizer(Optimizer o) { globalOptimizer = o; }

    @Override public void close() {
        super.close();
        if (globalOptimizer != null) globalOptimizer.close();
    }
}
