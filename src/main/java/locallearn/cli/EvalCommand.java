package locallearn.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.config.ModelConfig;
import locallearn.train.Checkpoints;
import locallearn.train.TrainConfig;
import locallearn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code locallearn eval --checkpoint FILE}: rebuilds the model from the checkpoint's metadata and reports test loss and error. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate a checkpoint on a dataset's test set.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "checkpoint.safetensors written by train") Path checkpoint;
    @Option(names = "--dataset", description = "(default: the one the checkpoint was trained on)") String dataset;
    @Option(names = "--data", description = "folder holding the dataset's files") Path data;
    @Option(names = "--limit-test", description = "use the first N test images (0 = all)") int limitTest;
    @Option(names = "--batch-size", defaultValue = "256", description = "(default ${DEFAULT-VALUE})") int batchSize;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default ${DEFAULT-VALUE})") String device;
    @Option(names = "--json", description = "print one JSON object") boolean json;

    @Override public Integer call() {
        Map<String, String> meta = Checkpoints.metadata(checkpoint);
        ModelConfig mc = Checkpoints.modelConfig(meta, checkpoint.toString());
        String name = dataset != null ? dataset : meta.getOrDefault("dataset", "fashion-mnist");
        DatasetSpec spec = Datasets.spec(name);
        var in = Checkpoints.modelInput(meta, checkpoint.toString());
        if (spec.channels() != in.channels() || spec.height() != in.height() || spec.width() != in.width() || spec.classes() != in.classes())
            throw new IllegalArgumentException(checkpoint + ": model takes " + in.text() + " images of "
                    + in.classes() + " classes, " + name + " has " + spec.channels() + "x" + spec.height() + "x" + spec.width() + " of " + spec.classes());
        var split = Datasets.load(name, data, new Datasets.LoadOptions(1, limitTest, false));
        TrainConfig tc = TrainConfig.of(mc, 1).withBatchSize(batchSize);
        try (Backend be = Backends.create(device, msg -> System.err.println("locallearn: " + msg)); Trainer t = new Trainer(be, tc, split.test(), split.test(), spec)) {
            Checkpoints.loadWeights(checkpoint, t.net(), be);
            double[] r = t.evaluate(split.test());
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("checkpoint", checkpoint.toString());
            out.put("epoch", Integer.parseInt(meta.get("epoch")));
            out.put("dataset", name);
            out.put("test_images", split.test().size());
            out.put("test_loss", r[0]);
            out.put("test_error", r[1]);
            if (json) System.out.println(Json.object(out));
            else System.out.printf("%s (epoch %s) on %s: test loss %.4f, test error %.2f%% (%d images)%n", checkpoint, meta.get("epoch"), name, r[0],
                    100 * r[1], split.test().size());
        }
        return 0;
    }
}
