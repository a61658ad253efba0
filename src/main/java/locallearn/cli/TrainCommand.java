package locallearn.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.config.TrainingMode;
import locallearn.config.LossConfig;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import locallearn.train.Checkpoints;
import locallearn.train.TrainConfig;
import locallearn.train.TrainListener;
import locallearn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code locallearn train}: loads the dataset, builds the model, trains it, prints one line per
 * epoch, writes run.json, metrics.jsonl and a checkpoint each epoch into --out (with --report
 * also report.html). With no flags: mlp 1x1024 predsim on Fashion-MNIST (the embedded sample when
 * the full set is not installed).
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a network with local error signals (or --backprop).")
final class TrainCommand implements Callable<Integer> {
    @Mixin TrainOptions o = new TrainOptions();

    @Option(names = "--out", description = "folder for metrics.jsonl and checkpoints (default runs/DATASET-MODEL-LOSS)")
    Path out;
    @Option(names = "--resume", description = "checkpoint.safetensors of an earlier run to continue (train_state.safetensors beside it; not the reference's .pth)")
    Path resume;
    @Option(names = "--limit-train", description = "use the first N training images (0 = all)")
    int limitTrain;
    @Option(names = "--limit-test", description = "use the first N test images (0 = all)")
    int limitTest;
    @Option(names = "--svhn-no-extra", description = "SVHN without extra_32x32.mat")
    boolean svhnNoExtra;
    @Option(names = "--progress", description = "progress bar: auto (when stderr is a terminal), always, never (default ${DEFAULT-VALUE})")
    String progress = "auto";
    @Option(names = "--dry-run", description = "print the resolved configuration (every hyper-parameter, the lr milestones in epochs, where the"
            + " dataset was found or would be looked for) and exit, without loading data or training")
    boolean dryRun;
    @Option(names = "--json", description = "with --dry-run: the configuration as one JSON object")
    boolean json;
    // the reference's flags that its run_experiments.sh does not use, each with its meaning here
    @Option(names = "--save-dir", description = "the reference's output root: the run goes to DIR/DATASET-MODEL-LOSS instead of runs/DATASET-MODEL-LOSS")
    Path saveDir;
    @Option(names = "--progress-bar", description = "the reference's spelling of --progress always")
    boolean progressBar;
    @Option(names = "--no-print-stats", description = "epoch lines without the per-layer local losses and errors (metrics.jsonl keeps them)")
    boolean noPrintStats;

    @Spec CommandSpec command;
    @Option(names = "--report", description = "keep report.html in the run folder: rewritten after every epoch; open in a browser, it reloads itself while the run trains")
    boolean report;

    @Override public Integer call() {
        ParseResult given = command.commandLine().getParseResult();
        o.applyDefaults(given::hasMatchedOption);
        if (progressBar && given.hasMatchedOption("--progress") && !progress.equals("always"))
            throw new UserError("--progress-bar and --progress " + progress + " contradict each other");
        if (progressBar) progress = "always";
        else if (o.defaults.equals("reference") && !given.hasMatchedOption("--progress")) progress = "never"; // train.py shows no bar unless asked
        if (!List.of("auto", "always", "never").contains(progress))
            throw new IllegalArgumentException("--progress must be auto, always or never, got '" + progress + "'");
        if (out != null && saveDir != null) throw new UserError("--out and --save-dir exclude each other");
        var cpuConv = TrainOptions.cpuConv(o.cpuConv);
        int[] imageSize = TrainOptions.imageSize(o.imageSize);
        if (o.imageSize != null && !Datasets.isImageFolder(o.dataset))
            throw new UserError("--image-size is for --dataset folder; " + o.dataset + " has the size its files have");
        TrainConfig config = o.trainConfig();
        ModelConfig mc = config.model();
        if (dryRun) {
            if (Datasets.isImageFolder(o.dataset))
                throw new UserError("--dry-run: an image folder's classes and image size come from its files, which a dry run does not read");
            DatasetSpec spec = Datasets.spec(o.dataset);
            System.out.println(dryRun(spec, config, runDir(spec, mc)));
            return 0;
        }
        boolean terminal = System.console() != null && System.console().isTerminal();
        Datasets.Progress decoding = progress.equals("never") ? (what, done, total) -> {}
                : new DecodeProgress(System.err, progress.equals("always") || terminal);
        var split = Datasets.load(o.dataset, o.data, new Datasets.LoadOptions(limitTrain, limitTest, !svhnNoExtra, imageSize[0], imageSize[1]), decoding);
        DatasetSpec spec = split.spec();
        Path dir = runDir(spec, mc);
        java.util.function.Consumer<String> notice = msg -> System.err.println("locallearn: " + msg);
        try (Backend be = o.pipelinePlan() != null ? Backends.forPipeline(o.device(), cpuConv, config.precision(), notice)
                : Backends.create(o.device(), cpuConv, config.precision(), notice); Trainer trainer = new Trainer(be, config, split.train(), split.test(), spec)) {
            if (o.pipelinePlan() != null) trainer.pipelined(o.pipelinePlan());
            MetricsFile metrics = new MetricsFile(dir.resolve("metrics.jsonl"), config.precision().flag());
            if (resume != null) {
                Checkpoints.resume(resume, trainer);
                metrics.keepFirst(trainer.epoch());
            }
            PrintStream err = System.err;
            err.printf("locallearn train: %s on %s (%s: %d train, %d test), %s, %s, %s, %s, batch %d, lr %s, seed %d -> %s%n",
                    mc.name(), spec.name(), split.source(), split.train().size(), split.test().size(), describeMode(mc), config.precision().flag(), be.describe(),
                    config.mode() instanceof TrainingMode.Greedy ? "greedy: " + trainer.blockNames().size() + " blocks x " + config.epochs() + " epochs"
                            : config.epochs() + " epochs", config.batchSize(), config.lr(), config.seed(), dir);
            if (resume != null) err.printf("resumed from %s at epoch %d (step %d)%n", resume, trainer.epoch(), trainer.step());
            List<TrainListener> listeners = new ArrayList<>();
            boolean bar = progress.equals("always") || (progress.equals("auto") && terminal);
            if (bar) listeners.add(new ProgressBar(err));
            listeners.add(new EpochPrinter(System.out, bar ? err : null, !noPrintStats));
            listeners.add(metrics);
            if (report) listeners.add(TrainListener.eachEpoch(m -> ReportCommand.writeLive(dir)));  // after metrics: it reads metrics.jsonl
            RunFile run = new RunFile(dir, runConfig(trainer, be, split));
            String outcome = "stopped";
            try {
                trainer.fit(trainer.totalEpochs(), listeners, dir);
                outcome = "completed";
            } catch (RuntimeException e) {
                outcome = "stopped: " + e.getMessage();
                throw e;
            } finally {
                run.end(outcome);
                if (report) ReportCommand.writeLive(dir);
            }
        }
        return 0;
    }

    /**
     * --dry-run's report: the configuration a checkpoint of this run would hold (every
     * hyper-parameter, lr_decay_epochs the milestones in epochs), then what only this run decides:
     * device, output folder, limits, and where the dataset is (null when not found) or was looked for.
     */
    private String dryRun(DatasetSpec spec, TrainConfig config, Path dir) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("defaults", o.defaults);
        m.putAll(Checkpoints.configMap(config, spec.name(), new ModelInput(spec.channels(), spec.height(), spec.width(), spec.classes())));
        m.remove("format"); // the checkpoint's, not the run's
        m.put("nonlin", config.model().slope() > 0 ? "leakyrelu" : "relu");
        m.put("device", o.device());
        m.put("cpu_conv", o.cpuConv);
        m.put("out", dir.toString());
        m.put("progress", progress);
        m.put("print_stats", !noPrintStats);
        m.put("resume", resume == null ? null : resume.toString());
        m.put("limit_train", limitTrain);
        m.put("limit_test", limitTest);
        if (spec.name().equals("svhn")) m.put("svhn_extra", !svhnNoExtra);
        Datasets.Location where = Datasets.locate(o.dataset, o.data);
        m.put("data", where.found());
        m.put("data_looked_in", where.looked().stream().map(Path::toString).toList());
        if (json) return Json.object(m);
        StringBuilder b = new StringBuilder();
        m.forEach((k, v) -> b.append(String.format("%-30s %s%n", k, v == null ? "-" : v)));
        return b.toString().stripTrailing();
    }

    /** The run's folder: --out, or DIR/DATASET-MODEL-LOSS under --save-dir or runs/. */
    private Path runDir(DatasetSpec spec, ModelConfig mc) {
        return out != null ? out : (saveDir != null ? saveDir : Path.of("runs"))
                .resolve(spec.name() + "-" + mc.name() + "-" + (o.backprop ? "backprop" : o.loss + (o.bio ? "-bio" : "")));
    }

    /** What run.json records: the checkpoint's metadata, and the device and data, which a report compares too. */
    private static Map<String, String> runConfig(Trainer trainer, Backend be, Datasets.Split split) {
        Map<String, String> c = new LinkedHashMap<>(Checkpoints.configuration(trainer));
        c.put("device", be.describe());
        c.put("data", split.source());
        c.put("train_images", String.valueOf(split.train().size()));
        c.put("test_images", String.valueOf(split.test().size()));
        return c;
    }

    private static String describeMode(ModelConfig mc) {
        String mode = switch (mc.mode()) {
            case TrainingMode.Global g -> "global backprop";
            case TrainingMode.GlobalAndLocal g -> "global + local " + mc.loss().text();
            case TrainingMode.Local l -> "local " + mc.loss().text();
            case TrainingMode.Greedy g -> "greedy local " + mc.loss().text();
        };
        LossConfig l = mc.loss();
        if (mc.mode().hasLocalLosses() && l.mixesUnsup()) mode += " mixed with " + l.unsup().text() + " by alpha " + l.alpha();
        return mode + (mc.name().equals("mlp") ? " " + mc.numLayers() + "x" + mc.numHidden() : "") + ", " + (mc.slope() > 0 ? "leaky-relu" : "relu")
                + (mc.preAct() ? ", pre-act" : "") + (mc.dropout() > 0 ? ", dropout " + mc.dropout() : "");
    }

    /** metrics.jsonl: one JSON object per epoch, the whole file rewritten through a temporary file each epoch. */
    static final class MetricsFile implements TrainListener {
        private final Path file;
        private final String precision;
        private final List<String> lines = new ArrayList<>();

        MetricsFile(Path file, String precision) {
            this.file = file;
            this.precision = precision;
        }

        /** On resume: keeps the lines of the first {@code epochs} epochs of the existing file. */
        void keepFirst(int epochs) {
            try {
                if (Files.exists(file)) {
                    List<String> old = Files.readAllLines(file);
                    lines.addAll(old.subList(0, Math.min(epochs, old.size())));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("metrics: cannot read " + file + ": " + e.getMessage(), e);
            }
        }

        @Override public void onEpoch(locallearn.train.EpochMetrics m) {
            var map = new java.util.LinkedHashMap<String, Object>();
            map.put("epoch", m.epoch());
            map.put("lr", m.lr());
            map.put("train_loss", m.trainLoss());
            map.put("train_error", m.trainError());
            map.put("test_loss", m.testLoss());
            map.put("test_error", m.testError());
            map.put("layers", m.layers());
            map.put("layer_loss", toList(m.layerLoss()));
            map.put("layer_error", toList(m.layerError()));
            map.put("images_per_s", m.imagesPerSecond());
            map.put("peak_bytes", m.peakBytes());
            map.put("seconds", m.seconds());
            map.put("precision", precision);
            if (m.pipeline() != null) {
                var p = m.pipeline();
                map.put("stage_blocks", p.blockRanges());
                map.put("stage_devices", p.devices());
                map.put("stage_busy_s", toList(p.busySeconds()));
                map.put("stage_idle_s", toList(p.idleSeconds()));
                map.put("stage_peak_bytes", java.util.Arrays.stream(p.peakBytes()).boxed().toList());
            }
            lines.add(Json.object(map));
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "metrics", ".tmp");
                Files.write(tmp, lines);
                Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("metrics: cannot write " + file + ": " + e.getMessage(), e);
            }
        }

        private static List<Double> toList(double[] a) {
            List<Double> l = new ArrayList<>();
            for (double v : a) l.add(v);
            return l;
        }
    }
}
