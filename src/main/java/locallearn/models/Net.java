package locallearn.models;

import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import java.util.ArrayList;
import java.util.List;
import locallearn.local.LocalBlock;
import locallearn.nn.Layer;
import locallearn.nn.Linear;
import locallearn.nn.Module;
import locallearn.optim.Optimizer;

/**
 * A built network: its stages in execution order (local blocks and the plain layers between
 * them, such as max-pools), each with its state_dict prefix, then the output layer. Names are
 * the reference's: mlp has {@code layers.i} and {@code layer_out}; VGG has {@code features.i}
 * (max-pools take an index too) and {@code classifier.layers.i}, {@code classifier.layer_out}.
 */
public final class Net extends Module {
    /** A stage and the state_dict prefix of its tensors ("features.3."). */
    public record Stage(String prefix, Layer layer) {
        public LocalBlock block() { return layer instanceof LocalBlock b ? b : null; }
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
        for (Stage s : stages) if (s.block() != null) b.add(s.block());
        return b;
    }

    /** Prefixes of the hidden blocks, in order ("layers.0.", "features.3."): how metrics name a layer. */
    public List<String> blockNames() {
        List<String> n = new ArrayList<>();
        for (Stage s : stages) if (s.block() != null) n.add(s.prefix().substring(0, s.prefix().length() - 1));
        return n;
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
