package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every command line of the reference's run_experiments.sh (run_experiments.txt beside this class,
 * the lines as written there) is accepted by {@code train --dry-run}; with {@code --defaults
 * reference} each resolves to the run train.py makes of it: train.py's argparse defaults
 * ({@link #referenceRun}, written out from its parser) overridden by the line's flags.
 */
class ReferenceLinesTest {

    static List<String> lines() throws IOException {
        try (InputStream in = ReferenceLinesTest.class.getResourceAsStream("run_experiments.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("train ")).toList();
        }
    }

    @Test void theFileHoldsEveryLineOfTheScript() throws IOException {
        assertEquals(86, lines().size()); // run_experiments.sh has 86 'python train.py' lines
    }

    @ParameterizedTest @MethodSource("lines")
    void acceptedWithOurDefaults(String line) {
        assertEquals("locallearn", dryRun(line.split(" ")).get("defaults"));
    }

    @ParameterizedTest @MethodSource("lines")
    void resolvesToTrainPysRunWithReferenceDefaults(String line) {
        List<String> args = new ArrayList<>(List.of(line.split(" ")));
        args.addAll(List.of("--defaults", "reference"));
        Map<String, Object> got = dryRun(args.toArray(String[]::new));
        referenceRun(line).forEach((k, v) -> assertEquals(v, got.get(k), line + ": " + k));
    }

    /** The dataset names train.py takes, as our registry calls them. */
    private static final Map<String, String> DATASETS = Map.of("MNIST", "mnist", "FashionMNIST", "fashion-mnist", "KuzushijiMNIST", "kmnist",
            "CIFAR10", "cifar10", "CIFAR100", "cifar100", "SVHN", "svhn", "STL10", "stl10");

    /**
     * What train.py runs for a line, under the keys of --dry-run --json: its argparse defaults
     * (train.py, the parser at its top) for every flag the line leaves out.
     */
    static Map<String, Object> referenceRun(String line) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", "vgg8b");
        r.put("dataset", "cifar10");
        r.put("batch_size", 128);
        r.put("num_layers", 1);
        r.put("num_hidden", 1024);
        r.put("dim_in_decoder", 4096);
        r.put("feat_mult", 1f);
        r.put("epochs", 400);
        r.put("classes_per_batch", 0);
        r.put("classes_per_batch_until_epoch", 0);
        r.put("lr", 5e-4f);
        r.put("lr_decay_epochs", List.of(200, 300, 350, 375));
        r.put("lr_decay_fact", 0.25f);
        r.put("optim", "ADAM");
        r.put("momentum", 0f);
        r.put("weight_decay", 0f);
        r.put("beta", 0.99f);
        r.put("dropout", 0f);
        r.put("loss", "predsim");
        r.put("nonlin", "relu");
        r.put("similarity_std", true);
        r.put("mode", "local");
        r.put("batch_norm", true);
        r.put("seed", 1);
        r.put("bio", false);
        r.put("target_proj_size", 128);
        r.put("n_holes", 1);
        boolean cutout = false;
        int length = 16;
        String[] t = line.split(" ");
        for (int i = 1; i < t.length; i++) {
            switch (t[i]) {
                case "--model" -> r.put("model", t[++i]);
                case "--dataset" -> r.put("dataset", DATASETS.get(t[++i]));
                case "--loss-sup" -> r.put("loss", t[++i]);
                case "--nonlin" -> r.put("nonlin", t[++i]);
                case "--epochs", "--num-layers", "--num-hidden", "--dim-in-decoder", "--classes-per-batch", "--classes-per-batch-until-epoch" ->
                        r.put(t[i].substring(2).replace('-', '_'), Integer.parseInt(t[++i]));
                case "--lr", "--dropout", "--feat-mult", "--beta" -> r.put(t[i].substring(2).replace('-', '_'), Float.parseFloat(t[++i]));
                case "--lr-decay-milestones" -> {
                    List<Integer> m = new ArrayList<>();
                    while (i + 1 < t.length && !t[i + 1].startsWith("--")) m.add(Integer.parseInt(t[++i]));
                    r.put("lr_decay_epochs", m);
                }
                case "--backprop" -> r.put("mode", "global");
                case "--bio" -> r.put("bio", true);
                case "--cutout" -> cutout = true;
                case "--length" -> length = Integer.parseInt(t[++i]);
                default -> throw new AssertionError("run_experiments.sh uses " + t[i] + ", which this test does not model");
            }
        }
        r.put("cutout", cutout ? length : 0);
        return r;
    }

    /** {@code train ARGS --dry-run --json}, which must exit 0, as a map: integers as Integer, other numbers as Float, arrays as lists. */
    static Map<String, Object> dryRun(String... args) {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        if (a.isEmpty() || !a.getFirst().equals("train")) a.addFirst("train");
        a.addAll(List.of("--dry-run", "--json"));
        TrainCliTest.Run r = TrainCliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), String.join(" ", a) + ": " + r.err());
        assertEquals("", r.err(), "a dry run prints only its configuration");
        try (JsonParser p = new JsonFactory().createParser(r.out())) {
            Map<String, Object> m = new LinkedHashMap<>();
            if (p.nextToken() != JsonToken.START_OBJECT) throw new AssertionError("not a JSON object: " + r.out());
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                if (p.nextToken() == JsonToken.START_ARRAY) {
                    List<Object> l = new ArrayList<>();
                    while (p.nextToken() != JsonToken.END_ARRAY) l.add(value(p));
                    m.put(key, l);
                } else {
                    m.put(key, value(p));
                }
            }
            return m;
        } catch (IOException e) {
            throw new AssertionError("dry run printed bad JSON: " + r.out(), e);
        }
    }

    private static Object value(JsonParser p) throws IOException {
        return switch (p.currentToken()) {
            case VALUE_NUMBER_INT -> p.getIntValue();
            case VALUE_NUMBER_FLOAT -> p.getFloatValue();
            case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
            case VALUE_NULL -> null;
            default -> p.getText();
        };
    }
}
