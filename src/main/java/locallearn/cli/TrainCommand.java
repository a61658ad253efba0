package locallearn.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.train.Checkpoints;
import locallearn.train.TrainConfig;
import locallearn.train.TrainListener;
import locallearn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code locallearn train}: loads the dataset, builds the model, trains it, prints one line per
 * epoch, writes metrics.jsonl and a checkpoint each epoch into --out. With no flags: mlp 1x1024
 * predsim on Fashion-MNIST (the embedded sample when the full set is not installed).
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a network with local error signals (or --backprop).")
final class TrainCommand implements Callable<Integer> {
    @Mixin TrainOptions o = new TrainOptions();

    @Option(names = "--out", description = "folder for metrics.jsonl and checkpoints (default runs/DATASET-MODEL-LOSS)")
    Path out;
    @Option(names = "--resume", description = "checkpoint.safetensors of an earlier run to continue (train_state.safetensors beside it)")
    Path resume;
    @Option(names = "--limit-train", description = "use the first N training images (0 = all)")
    int limitTrain;
    @Option(names = "--limit-test", description = "use the first N test images (0 = all)")
    int limitTest;
    @Option(names = "--svhn-no-extra", description = "SVHN without extra_32x32.mat")
    boolean svhnNoExtra;
    @Option(names = "--progress", description = "progress bar: auto (when stderr is a terminal), always, never (default ${DEFAULT-VALUE})")
    String progress = "auto";

    @Override public Integer call() {
        if (!List.of("auto", "always", "never").contains(progress))
            throw new IllegalArgumentException("--progress must be auto, always or never, got '" + progress + "'");
        var cpuConv = TrainOptions.cpuConv(o.cpuConv);
        DatasetSpec spec = Datasets.spec(o.dataset);
        TrainConfig config = o.trainConfig();
        ModelConfig mc = config.model();
        var split = Datasets.load(o.dataset, o.data, new Datasets.LoadOptions(limitTrain, limitTest, !svhnNoExtra));
        Path dir = out != null ? out : Path.of("runs", spec.name() + "-" + mc.name() + "-" + (o.backprop ? "backprop" : o.loss + (o.bio ? "-bio" : "")));
        try (Backend be = Backends.create(o.device, cpuConv, msg -> System.err.println("locallearn: " + msg)); Trainer trainer = new Trainer(be, config, split.train(), split.test(), spec)) {
            MetricsFile metrics = new MetricsFile(dir.resolve("metrics.jsonl"));
            if (resume != null) {
                Checkpoints.resume(resume, trainer);
                metrics.keepFirst(trainer.epoch());
            }
            PrintStream err = System.err;
            err.printf("locallearn train: %s on %s (%s: %d train, %d test), %s, %s, %s, batch %d, lr %s, seed %d -> %s%n",
                    mc.name(), spec.name(), split.source(), split.train().size(), split.test().size(), describeMode(mc), be.describe(),
                    config.mode() instanceof TrainingMode.Greedy ? "greedy: " + trainer.blockNames().size() + " blocks x " + config.epochs() + " epochs"
                            : config.epochs() + " epochs", config.batchSize(), config.lr(), config.seed(), dir);
            if (resume != null) err.printf("resumed from %s at epoch %d (step %d)%n", resume, trainer.epoch(), trainer.step());
            List<TrainListener> listeners = new ArrayList<>();
            boolean bar = progress.equals("always") || (progress.equals("auto") && System.console() != null && System.console().isTerminal());
            if (bar) listeners.add(new ProgressBar(err));
            listeners.add(new EpochPrinter(System.out, bar ? err : null));
            listeners.add(metrics);
            trainer.fit(trainer.totalEpochs(), listeners, dir);
        }
        return 0;
    }

    private static String describeMode(ModelConfig mc) {
        String mode = switch (mc.mode()) {
            case TrainingMode.Global g -> "global backprop";
            case TrainingMode.GlobalAndLocal g -> "global + local " + mc.loss().text();
            case TrainingMode.Local l -> "local " + mc.loss().text();
            case TrainingMode.Greedy g -> "greedy local " + mc.loss().text();
        };
        return mode + (mc.name().equals("mlp") ? " " + mc.numLayers() + "x" + mc.numHidden() : "") + ", " + (mc.slope() > 0 ? "leaky-relu" : "relu")
                + (mc.preAct() ? ", pre-act" : "") + (mc.dropout() > 0 ? ", dropout " + mc.dropout() : "");
    }

    /** metrics.jsonl: one JSON object per epoch, the whole file rewritten through a temporary file each epoch. */
    static final class MetricsFile implements TrainListener {
        private final Path file;
        private final List<String> lines = new ArrayList<>();

        MetricsFile(Path file) { this.file = file; }

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
