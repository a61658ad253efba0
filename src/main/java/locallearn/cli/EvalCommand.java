package locallearn.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.train.Classifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code locallearn eval --checkpoint FILE}: loads the checkpoint as a {@link Classifier} and reports test loss and error. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate a checkpoint on a dataset's test set.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "checkpoint.safetensors written by train") Path checkpoint;
    @Option(names = "--dataset", description = "(default: the one the checkpoint was trained on)") String dataset;
    @Option(names = "--data", description = "folder holding the dataset's files") Path data;
    @Option(names = "--limit-test", description = "use the first N test images (0 = all)") int limitTest;
    @Option(names = "--batch-size", defaultValue = "256", description = "(default ${DEFAULT-VALUE})") int batchSize;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default ${DEFAULT-VALUE})") String device;
    @Option(names = "--precision", description = "fp32 or tf32 for the forward pass (default: the checkpoint's, fp32 when it records none)") String precision;
    @Option(names = "--json", description = "print one JSON object") boolean json;

    @Override public Integer call() {
        if (batchSize < 1) throw new UserError("--batch-size must be >= 1, got " + batchSize);
        try (Backend be = Backends.create(device, locallearn.backend.ConvAlgorithm.fromProperty(), TrainOptions.precision(precision, checkpoint),
                msg -> System.err.println("locallearn: " + msg));
             Classifier clf = Classifier.load(checkpoint, be)) {
            // another dataset of the same geometry (mnist for a fashion-mnist model) is read and
            // normalised as the model's own, since that is what the model was trained to see
            DatasetSpec own = clf.dataset();
            String asked = dataset != null ? dataset : own.name();
            // an image folder's facts come with its files: it is read (from its cache) at the size the model takes
            Datasets.Split folder = Datasets.isImageFolder(asked)
                    ? Datasets.load(asked, data, new Datasets.LoadOptions(1, limitTest, false, own.height(), own.width())) : null;
            DatasetSpec spec = folder != null ? folder.spec() : Datasets.spec(asked);
            String name = spec.name();
            if (spec.channels() != own.channels() || spec.height() != own.height() || spec.width() != own.width() || spec.classes() != own.classes())
                throw new UserError(checkpoint + ": model takes " + own.channels() + "x" + own.height() + "x" + own.width() + " images of "
                        + own.classes() + " classes, " + name + " has " + spec.channels() + "x" + spec.height() + "x" + spec.width() + " of " + spec.classes());
            var test = (folder != null ? folder : Datasets.load(name, data, new Datasets.LoadOptions(1, limitTest, false))).test();
            // at least Classifier.BATCH a batch, as the trainer's evaluation, so eval repeats its numbers
            Classifier.Evaluation r = clf.evaluate(test, Math.max(batchSize, Classifier.BATCH));
            Map<String, String> meta = clf.metadata();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("checkpoint", checkpoint.toString());
            out.put("epoch", Integer.parseInt(meta.get("epoch")));
            out.put("dataset", name);
            out.put("test_images", test.size());
            out.put("test_loss", r.loss());
            out.put("test_error", r.error());
            if (json) System.out.println(Json.object(out));
            else System.out.printf("%s (epoch %s) on %s: test loss %.4f, test error %.2f%% (%d images)%n", checkpoint, meta.get("epoch"), name, r.loss(),
                    100 * r.error(), test.size());
        }
        return 0;
    }
}
