package locallearn.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.ClassNames;
import locallearn.data.ImageFile;
import locallearn.train.Classifier;
import locallearn.train.Prediction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code locallearn predict --checkpoint FILE IMAGE...}: the class of each PNG or JPEG image, one
 * line each. Every image is read and checked before any line is printed, so a bad one among
 * many ends the command with its one-line error and no partial output.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, description = "Classify PNG or JPEG images with a checkpoint.")
final class PredictCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "checkpoint.safetensors written by train") Path checkpoint;
    @Option(names = "--top", defaultValue = "1", description = "print the K most probable classes (default ${DEFAULT-VALUE})") int top;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default ${DEFAULT-VALUE})") String device;
    @Option(names = "--precision", description = "fp32 or tf32 for the forward pass (default: the checkpoint's, fp32 when it records none)") String precision;
    @Option(names = "--json", description = "print one JSON object per image") boolean json;
    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "images of the model's size: gray for 1-channel models, RGB for 3-channel") List<Path> images;

    @Override public Integer call() {
        if (top < 1) throw new UserError("--top must be >= 1, got " + top);
        try (Backend be = Backends.create(device, locallearn.backend.ConvAlgorithm.fromProperty(), TrainOptions.precision(precision, checkpoint),
                msg -> System.err.println("locallearn: " + msg));
             Classifier clf = Classifier.load(checkpoint, be)) {
            List<float[]> pixels = new ArrayList<>();
            for (Path p : images) pixels.add(ImageFile.read(p, clf.dataset()));
            List<Prediction> predictions = clf.predict(pixels);
            List<String> names = ClassNames.of(clf.dataset());
            for (int i = 0; i < images.size(); i++) {
                Prediction p = predictions.get(i);
                int[] best = p.top(top);
                if (json) {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("file", images.get(i).toString());
                    o.putAll(entry(p, p.label(), names));
                    if (top > 1) {
                        List<Object> list = new ArrayList<>();
                        for (int c : best) list.add(entry(p, c, names));
                        o.put("top", list);
                    }
                    System.out.println(Json.object(o));
                } else {
                    List<String> parts = new ArrayList<>();
                    for (int c : best) parts.add(c + (names.isEmpty() ? "" : " " + names.get(c)) + String.format(Locale.ROOT, " %.3f", p.probabilities()[c]));
                    System.out.println(images.get(i) + ": " + String.join(", ", parts));
                }
            }
        }
        return 0;
    }

    private static Map<String, Object> entry(Prediction p, int c, List<String> names) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("class", c);
        if (!names.isEmpty()) m.put("name", names.get(c));
        m.put("probability", p.probabilities()[c]);
        return m;
    }
}
