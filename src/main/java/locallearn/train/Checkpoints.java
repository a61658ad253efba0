package locallearn.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import locallearn.backend.Backend;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import locallearn.models.Net;
import locallearn.optim.Optimizer;
import locallearn.tensor.Tensor;

/**
 * A run's files in its output folder: {@code checkpoint.safetensors}, the network's state_dict
 * under the reference's names (loadable by the PyTorch code), with the model's configuration in
 * its metadata; and {@code train_state.safetensors} beside it, what exact resume needs: every
 * optimizer's moment buffers and step count, the epoch and step counters (all randomness is a
 * function of seed and step), and the run's configuration.
 */
public final class Checkpoints {
    public static final String CHECKPOINT = "checkpoint.safetensors", STATE = "train_state.safetensors";

    private Checkpoints() {}

    /** Writes both files (each to a temporary file, then renamed) and returns the checkpoint's path. */
    public static Path save(Path dir, Trainer t) {
        try {
            Backend be = t.backend();
            Map<String, String> meta = configMap(t.config(), t.datasetName(), t.net().input());
            meta.put("epoch", String.valueOf(t.epoch()));
            meta.put("step", String.valueOf(t.step()));
            Map<String, SafeTensors.Entry> opt = new LinkedHashMap<>();
            for (var o : optimizers(t.net()).entrySet()) {
                meta.put("optim." + o.getKey() + "steps", String.valueOf(o.getValue().steps()));
                for (var s : o.getValue().state().entrySet()) opt.put("optim." + o.getKey() + s.getKey(), entry(be, s.getValue()));
            }
            SafeTensors.write(dir.resolve(STATE), opt, meta);
            Map<String, SafeTensors.Entry> model = new LinkedHashMap<>();
            for (var e : t.net().state("").entrySet()) model.put(e.getKey(), entry(be, e.getValue().data()));
            Path file = dir.resolve(CHECKPOINT);
            SafeTensors.write(file, model, meta);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint: cannot write to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Optimizers by checkpoint prefix: "global." and each block's "layers.0." etc. (Net.localOptimizers). */
    private static Map<String, Optimizer> optimizers(Net net) {
        Map<String, Optimizer> m = new LinkedHashMap<>();
        m.put("global.", net.globalOptimizer());
        m.putAll(net.localOptimizers());
        return m;
    }

    private static SafeTensors.Entry entry(Backend be, Tensor t) { return new SafeTensors.Entry(t.shape().dims(), be.read(t)); }

    /** Loads a checkpoint's weights into {@code net}; every tensor must be there with its shape. */
    static Map<String, String> loadWeights(Path file, Net net, Backend be) {
        SafeTensors.Contents c = readFile(file);
        for (var e : net.state("").entrySet()) put(be, file, c, e.getKey(), e.getValue().data());
        if (c.tensors().size() != net.state("").size())
            throw new IllegalArgumentException(file + ": holds " + c.tensors().size() + " tensors, the model has " + net.state("").size() + " (another model?)");
        return c.metadata();
    }

    /** Restores weights, optimizer state and counters for an exact resume from {@code file} and the state file beside it. */
    public static void resume(Path file, Trainer t) {
        Map<String, String> meta = loadWeights(file, t.net(), t.backend());
        Path statePath = file.toAbsolutePath().resolveSibling(STATE);
        if (!Files.exists(statePath)) throw new IllegalArgumentException("resume: " + statePath + " is missing (it is written beside every checkpoint)");
        SafeTensors.Contents st = readFile(statePath);
        if (!meta.get("step").equals(st.metadata().get("step")))
            throw new IllegalArgumentException("resume: " + file + " (step " + meta.get("step") + ") and " + statePath + " (step " + st.metadata().get("step") + ") are from different epochs");
        for (var o : optimizers(t.net()).entrySet()) {
            String steps = st.metadata().get("optim." + o.getKey() + "steps");
            if (steps == null) throw new IllegalArgumentException(statePath + ": no optimizer state for " + o.getKey() + " (another model or optimizer?)");
            o.getValue().setSteps(Integer.parseInt(steps));
            for (var s : o.getValue().state().entrySet()) put(t.backend(), statePath, st, "optim." + o.getKey() + s.getKey(), s.getValue());
        }
        t.restore(Integer.parseInt(meta.get("epoch")), Long.parseLong(meta.get("step")));
    }

    private static SafeTensors.Contents readFile(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("checkpoint " + file + " does not exist");
        try {
            SafeTensors.Contents c = SafeTensors.read(file);
            for (String k : new String[] {"epoch", "step", "model"})
                if (!c.metadata().containsKey(k)) throw new IllegalArgumentException(file + ": not a locallearn checkpoint (no '" + k + "' in its metadata)");
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint: cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static void put(Backend be, Path file, SafeTensors.Contents c, String name, Tensor dst) {
        SafeTensors.Entry e = c.tensors().get(name);
        if (e == null) throw new IllegalArgumentException(file + ": no tensor '" + name + "' (checkpoint of another model?)");
        if (!Arrays.equals(e.shape(), dst.shape().dims()))
            throw new IllegalArgumentException(file + ": tensor '" + name + "' is " + Arrays.toString(e.shape()) + ", the model's is " + dst.shape());
        be.write(dst, e.values());
    }

    /** The run's configuration as string metadata (safetensors metadata is string to string). */
    static Map<String, String> configMap(TrainConfig c, String dataset, ModelInput in) {
        Map<String, String> m = new LinkedHashMap<>();
        ModelConfig mc = c.model();
        LossConfig l = mc.loss();
        m.put("format", "locallearn-1");
        m.put("dataset", dataset);
        m.put("model", mc.name());
        m.put("input", in.text());
        m.put("classes", String.valueOf(in.classes()));
        m.put("num_layers", String.valueOf(mc.numLayers()));
        m.put("num_hidden", String.valueOf(mc.numHidden()));
        m.put("feat_mult", String.valueOf(mc.featMult()));
        m.put("dropout", String.valueOf(mc.dropout()));
        m.put("batch_norm", String.valueOf(mc.batchNorm()));
        m.put("slope", String.valueOf(mc.slope()));
        m.put("pre_act", String.valueOf(mc.preAct()));
        m.put("loss", l.kind().text());
        m.put("mode", mc.mode().text());
        m.put("bio", String.valueOf(l.bio()));
        m.put("beta", String.valueOf(l.beta()));
        m.put("dim_in_decoder", String.valueOf(l.dimInDecoder()));
        m.put("target_proj_size", String.valueOf(l.targetProjSize()));
        m.put("similarity_std", String.valueOf(l.similarityStd()));
        m.put("memory_chunks", mc.mode().memoryChunksText());
        m.put("epochs", String.valueOf(c.epochs()));
        m.put("batch_size", String.valueOf(c.batchSize()));
        m.put("lr", String.valueOf(c.lr()));
        m.put("lr_decay_milestones", Arrays.toString(c.milestonePercents()));
        m.put("lr_decay_fact", String.valueOf(c.lrDecayFactor()));
        m.put("optim", c.optimizer().name());
        m.put("momentum", String.valueOf(c.momentum()));
        m.put("weight_decay", String.valueOf(c.weightDecay()));
        m.put("seed", String.valueOf(c.seed()));
        m.put("cutout", String.valueOf(c.cutout()));
        m.put("classes_per_batch", String.valueOf(c.classesPerBatch()));
        m.put("classes_per_batch_until_epoch", String.valueOf(c.classesPerBatchUntilEpoch()));
        return m;
    }

    /** The model configuration stored in a checkpoint's metadata (what eval rebuilds); a missing or bad entry is one line naming it. */
    public static ModelConfig modelConfig(Map<String, String> m, String file) {
        Meta meta = new Meta(m, file);
        LossConfig.Kind kind = meta.get("loss", v -> LossConfig.Kind.parse(v.toLowerCase(java.util.Locale.ROOT)));
        LossConfig l = new LossConfig(kind, meta.get("bio", Meta::bool), meta.get("beta", Float::parseFloat),
                meta.get("dim_in_decoder", Integer::parseInt), meta.get("target_proj_size", Integer::parseInt),
                meta.get("similarity_std", Meta::bool));
        int chunks = m.containsKey("memory_chunks") ? meta.get("memory_chunks", TrainingMode::parseMemoryChunks) : TrainingMode.AUTO_MEMORY_CHUNKS;
        // checkpoints before the mode had its own key said training=LOCAL|GLOBAL|GLOBAL_AND_LOCAL and greedy=true|false
        TrainingMode mode = m.containsKey("mode") ? meta.get("mode", TrainingMode::parse)
                : meta.get("training", v -> switch (v) {
                    case "LOCAL" -> Boolean.parseBoolean(m.get("greedy")) ? TrainingMode.greedy() : TrainingMode.local();
                    case "GLOBAL" -> TrainingMode.global();
                    case "GLOBAL_AND_LOCAL" -> TrainingMode.globalAndLocal();
                    default -> throw new IllegalArgumentException("training mode must be LOCAL, GLOBAL or GLOBAL_AND_LOCAL");
                });
        String name = meta.get("model", v -> v);
        return meta.check("model", () -> new ModelConfig(name, meta.get("num_layers", Integer::parseInt), meta.get("num_hidden", Integer::parseInt),
                meta.get("feat_mult", Float::parseFloat), meta.get("dropout", Float::parseFloat), meta.get("batch_norm", Meta::bool),
                meta.get("slope", Float::parseFloat), l, mode.withMemoryChunks(chunks), m.containsKey("pre_act") && meta.get("pre_act", Meta::bool)));
    }

    /** The images and classes the checkpoint's model takes. */
    public static ModelInput modelInput(Map<String, String> m, String file) {
        Meta meta = new Meta(m, file);
        int[] chw = meta.get("input", v -> {
            String[] p = v.split("x");
            if (p.length != 3) throw new IllegalArgumentException("input must be CxHxW");
            return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
        });
        int classes = meta.get("classes", Integer::parseInt);
        return meta.check("input", () -> new ModelInput(chw[0], chw[1], chw[2], classes));
    }

    /** String metadata read with errors that name the file, the key and the bad value. */
    private record Meta(Map<String, String> m, String file) {
        <T> T get(String key, java.util.function.Function<String, T> parse) {
            String v = m.get(key);
            if (v == null) throw new IllegalArgumentException(file + ": metadata has no '" + key + "' (not a checkpoint of this version?)");
            try {
                return parse.apply(v);
            } catch (RuntimeException e) {
                String why = e instanceof NumberFormatException ? "not a number" : e.getMessage();
                throw new IllegalArgumentException(file + ": metadata " + key + "='" + shorten(v) + "' is not valid (" + why + ")");
            }
        }

        <T> T check(String what, java.util.function.Supplier<T> make) {
            try {
                return make.get();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": metadata does not describe a " + what + ": " + e.getMessage());
            }
        }

        static boolean bool(String v) {
            if (v.equals("true")) return true;
            if (v.equals("false")) return false;
            throw new IllegalArgumentException("expected true or false");
        }

        private static String shorten(String v) { return v.length() <= 40 ? v : v.substring(0, 40) + "..."; }
    }

    /** Reads only the metadata of a checkpoint (eval uses it to rebuild the model before loading). */
    public static Map<String, String> metadata(Path file) { return readFile(file).metadata(); }

}
