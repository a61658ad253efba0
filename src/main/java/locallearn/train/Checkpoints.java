package locallearn.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import locallearn.backend.Backend;
import locallearn.data.DatasetSpec;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import locallearn.config.Precision;
import locallearn.models.Net;
import locallearn.optim.LrMilestones;
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
            Map<String, String> meta = new LinkedHashMap<>(configuration(t));
            meta.putAll(datasetMap(t.dataset()));
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
        // milestones once meant percentages: a run that reads an old run's numbers as epochs would silently change its schedule
        LrMilestones saved = lrMilestones(meta, file.toString());
        if (saved != null && !saved.equals(t.config().lrDecayMilestones()))
            throw new IllegalArgumentException("resume: " + file + " was trained with the lr decaying at " + saved + ", this run at "
                    + t.config().lrDecayMilestones() + "; give the same milestones (" + (saved.percent() ? "--lr-decay-percent " : "--lr-decay-milestones ")
                    + String.join(",", Arrays.stream(saved.values()).mapToObj(String::valueOf).toList()) + ") to continue it");
        Precision trained = precision(meta, file.toString());
        if (trained != t.config().precision())
            throw new IllegalArgumentException("resume: " + file + " was trained with --precision " + trained.flag() + ", this run is "
                    + t.config().precision().flag() + "; give --precision " + trained.flag() + " to continue it");
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

    /**
     * The lr milestones a checkpoint's run was given, null when it says nothing. Its metadata
     * holds lr_decay_percent (given as percentages) or lr_decay_epochs (given in epochs);
     * checkpoints from before milestones could be epochs hold lr_decay_milestones, percentages.
     */
    static LrMilestones lrMilestones(Map<String, String> meta, String file) {
        Meta m = new Meta(meta, file);
        if (meta.containsKey("lr_decay_percent")) return m.get("lr_decay_percent", v -> LrMilestones.percent(ints(v)));
        if (meta.containsKey("lr_decay_epochs")) return m.get("lr_decay_epochs", v -> LrMilestones.epochs(ints(v)));
        if (meta.containsKey("lr_decay_milestones")) return m.get("lr_decay_milestones", v -> LrMilestones.percent(sorted(ints(v)))); // their order did not matter
        return null;
    }

    /** The precision a checkpoint's run computed in: fp32 for checkpoints from before the setting. */
    public static Precision precision(Map<String, String> meta, String file) {
        return meta.containsKey("precision") ? new Meta(meta, file).get("precision", Precision::parse) : Precision.FP32;
    }

    private static int[] sorted(int[] a) {
        Arrays.sort(a);
        return a;
    }

    /** "[50, 75, 89, 94]" (List.toString, as written) read back. */
    private static int[] ints(String list) {
        String inner = list.strip();
        if (!inner.startsWith("[") || !inner.endsWith("]")) throw new IllegalArgumentException("expected [a, b, ...]");
        inner = inner.substring(1, inner.length() - 1).strip();
        return inner.isEmpty() ? new int[0] : Arrays.stream(inner.split(",")).mapToInt(x -> Integer.parseInt(x.strip())).toArray();
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

    /** The configuration a checkpoint of this trainer's run records in its metadata, as strings (train also writes it into run.json). */
    public static Map<String, String> configuration(Trainer t) {
        Map<String, String> m = new LinkedHashMap<>();
        configMap(t.config(), t.datasetName(), t.net().input()).forEach((k, v) -> m.put(k, String.valueOf(v)));
        return m;
    }

    /**
     * The run's configuration, every hyper-parameter by the reference's name: what a checkpoint's
     * metadata holds (each value as String.valueOf writes it) and what {@code train --dry-run} prints.
     */
    public static Map<String, Object> configMap(TrainConfig c, String dataset, ModelInput in) {
        Map<String, Object> m = new LinkedHashMap<>();
        ModelConfig mc = c.model();
        LossConfig l = mc.loss();
        m.put("format", "locallearn-1");
        m.put("dataset", dataset);
        m.put("model", mc.name());
        m.put("input", in.text());
        m.put("classes", in.classes());
        m.put("num_layers", mc.numLayers());
        m.put("num_hidden", mc.numHidden());
        m.put("feat_mult", mc.featMult());
        m.put("dropout", mc.dropout());
        m.put("batch_norm", mc.batchNorm());
        m.put("slope", mc.slope());
        m.put("pre_act", mc.preAct());
        m.put("loss", l.kind().text());
        m.put("mode", mc.mode().text());
        m.put("precision", c.precision().flag());
        m.put("bio", l.bio());
        m.put("beta", l.beta());
        m.put("dim_in_decoder", l.dimInDecoder());
        m.put("target_proj_size", l.targetProjSize());
        m.put("similarity_std", l.similarityStd());
        m.put("loss_unsup", l.unsup().text());
        m.put("alpha", l.alpha());
        m.put("memory_chunks", mc.mode().memoryChunksText());
        m.put("epochs", c.epochs());
        m.put("batch_size", c.batchSize());
        m.put("lr", c.lr());
        if (c.lrDecayMilestones().percent()) m.put("lr_decay_percent", list(c.lrDecayMilestones().values()));
        m.put("lr_decay_epochs", list(c.lrDecayEpochs()));
        m.put("lr_decay_fact", c.lrDecayFactor());
        m.put("optim", c.optimizer().name());
        m.put("momentum", c.momentum());
        m.put("weight_decay", c.weightDecay());
        m.put("seed", c.seed());
        m.put("cutout", c.cutout());
        m.put("n_holes", c.cutoutHoles());
        m.put("classes_per_batch", c.classesPerBatch());
        m.put("classes_per_batch_until_epoch", c.classesPerBatchUntilEpoch());
        return m;
    }

    private static java.util.List<Integer> list(int[] a) { return Arrays.stream(a).boxed().toList(); }

    /** Metadata keys of a dataset whose facts come from its files (an image folder), so that eval and predict need not read them again. */
    static final String CLASS_NAMES = "class_names", MEAN = "dataset_mean", STD = "dataset_std", CROP_FROM = "dataset_crop_from";

    /** An image folder's facts (class names one a line, as folder names never hold a line break); nothing for the paper's datasets. */
    static Map<String, String> datasetMap(DatasetSpec s) {
        Map<String, String> m = new LinkedHashMap<>();
        if (s.classNames().isEmpty()) return m;
        m.put(CLASS_NAMES, String.join("\n", s.classNames()));
        m.put(MEAN, floats(s.mean()));
        m.put(STD, floats(s.std()));
        m.put(CROP_FROM, String.valueOf(s.resizedCropFrom()));
        return m;
    }

    private static String floats(float[] v) {
        StringBuilder b = new StringBuilder();
        for (float f : v) b.append(b.isEmpty() ? "" : ",").append(f);
        return b.toString();
    }

    /** The facts of an image-folder dataset from a checkpoint's metadata and its model's input. */
    static DatasetSpec datasetSpec(Map<String, String> m, ModelInput in, String file) {
        Meta meta = new Meta(m, file);
        Function<String, float[]> floats = v -> {
            String[] p = v.split(",");
            float[] f = new float[p.length];
            for (int i = 0; i < p.length; i++) f[i] = Float.parseFloat(p[i]);
            return f;
        };
        float[] mean = meta.get(MEAN, floats), std = meta.get(STD, floats);
        int cropFrom = meta.get(CROP_FROM, Integer::parseInt);
        List<String> names = List.of(meta.get(CLASS_NAMES, v -> v).split("\n", -1));
        String name = meta.get("dataset", v -> v);
        return meta.check("dataset", () -> new DatasetSpec(name, in.channels(), in.height(), in.width(), in.classes(), mean, std,
                0, false, cropFrom, names));
    }

    /** The model configuration stored in a checkpoint's metadata (what eval rebuilds); a missing or bad entry is one line naming it. */
    public static ModelConfig modelConfig(Map<String, String> m, String file) {
        Meta meta = new Meta(m, file);
        LossConfig.Kind kind = meta.get("loss", v -> LossConfig.Kind.parse(v.toLowerCase(java.util.Locale.ROOT)));
        LossConfig l = new LossConfig(kind, meta.get("bio", Meta::bool), meta.get("beta", Float::parseFloat),
                meta.get("dim_in_decoder", Integer::parseInt), meta.get("target_proj_size", Integer::parseInt),
                meta.get("similarity_std", Meta::bool),
                // checkpoints from before the unsupervised losses have neither key
                m.containsKey("loss_unsup") ? meta.get("loss_unsup", LossConfig.Unsup::parse) : LossConfig.Unsup.NONE,
                m.containsKey("alpha") ? meta.get("alpha", Float::parseFloat) : 0f);
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
