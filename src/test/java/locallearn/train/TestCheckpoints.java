package locallearn.train;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import locallearn.cli.Main;
import locallearn.data.Dataset;
import locallearn.data.Datasets;

/**
 * Small trained checkpoints for the inference and export tests, each trained once per test JVM
 * by the train command (the interface users have) on the embedded Fashion-MNIST sample, and
 * deleted when the JVM exits. Trained briefly, but long enough that every weight, the output
 * layer's (zero at the start in the local modes) and the running statistics have moved.
 */
public final class TestCheckpoints {
    public static final Path SAMPLE = Path.of("src/main/resources/locallearn/data/fashion-mnist-sample");
    private static final Map<String, Path> TRAINED = new HashMap<>();
    private static Path root;
    private static Dataset test;

    private TestCheckpoints() {}

    /** mlp 2x32, predsim, batch norm, leaky ReLU: 16 steps of 32 images. */
    public static Path mlp() {
        return trained("mlp", "--num-layers", "2", "--num-hidden", "32", "--limit-train", "512", "--batch-size", "32");
    }

    /** mlp 1x16 without batch norm, global backprop. */
    public static Path mlpWithoutBatchNorm() {
        return trained("mlp-nobn", "--num-layers", "1", "--num-hidden", "16", "--no-batch-norm", "--backprop", "--limit-train", "256", "--batch-size", "32");
    }

    /** vgg8b at 1/16 of the width (8 to 32 channels) with one fc block of 32, predsim and ReLU; its heads (decoder_y, conv_loss) only train it. */
    public static Path vgg() {
        return trained("vgg8b", "--model", "vgg8b", "--feat-mult", "0.0625", "--num-layers", "1", "--num-hidden", "32", "--nonlin", "relu",
                "--limit-train", "512", "--batch-size", "16");
    }

    /** The first 256 test images of the sample. */
    public static synchronized Dataset testImages() {
        if (test == null) test = Datasets.load("fashion-mnist", SAMPLE, new Datasets.LoadOptions(1, 256, false)).test();
        return test;
    }

    private static synchronized Path trained(String name, String... flags) {
        Path ck = TRAINED.get(name);
        if (ck != null) return ck;
        try {
            if (root == null) {
                root = Files.createTempDirectory("locallearn-test-checkpoints");
                Path r = root;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(r)));
            }
            Path out = root.resolve(name);
            List<String> args = new ArrayList<>(List.of("train", "--data", SAMPLE.toString(), "--limit-test", "64", "--epochs", "1", "--lr", "3e-3", "--device", "cpu",
                    "--out", out.toString()));
            args.addAll(List.of(flags));
            PrintStream o = System.out, e = System.err;
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            int code;
            try {
                System.setOut(new PrintStream(log, true));
                System.setErr(new PrintStream(log, true));
                code = Main.run(args.toArray(String[]::new));
            } finally {
                System.setOut(o);
                System.setErr(e);
            }
            if (code != 0) throw new IllegalStateException("training the " + name + " test checkpoint failed (" + code + "): " + log);
            ck = out.resolve(Checkpoints.CHECKPOINT);
            TRAINED.put(name, ck);
            return ck;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder; the OS cleans it up otherwise
        }
    }
}
