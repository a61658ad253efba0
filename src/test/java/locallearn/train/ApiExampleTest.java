package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.Datasets;
import locallearn.config.ModelConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The README's "train from Java" snippet, kept compiling and working: it runs here as the README shows it. */
class ApiExampleTest {
    private static final Path OUT = Path.of("runs/api");

    @Test void readmeSnippetTrainsAndWritesACheckpoint() {
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true));
        try {
            // ---- README snippet starts
            var data = Datasets.load("fashion-mnist");                 // the full set when installed, else the embedded sample
            var model = ModelConfig.mlp(3, 256).withDropout(0.025f);    // predsim, local training, batch norm, leaky ReLU
            var config = TrainConfig.of(model, 2);                      // batch 128, Adam 5e-4, x0.25 at 50/75/89/94 %, seed 1
            try (Backend be = Backends.auto(); Trainer trainer = new Trainer(be, config, data)) {
                trainer.fit(Path.of("runs/api"), TrainListener.eachEpoch(m -> System.out.printf("epoch %d: test error %.2f%%%n", m.epoch(), 100 * m.testError())));
            }
            // ---- README snippet ends
        } finally {
            System.setOut(stdout);
        }
        List<String> lines = printed.toString().lines().toList();
        assertEquals(2, lines.size(), printed.toString());
        assertTrue(lines.get(1).startsWith("epoch 2: test error "), lines.get(1));
        double error = Double.parseDouble(lines.get(1).replaceAll(".*error ([0-9.]+)%", "$1"));
        // measured 19.6% on the full set and 30.0% on the embedded sample (./locallearn train with these flags), 2026-12-01; chance is 90%
        assertTrue(error < 45, lines.get(1));
        assertTrue(Files.isRegularFile(OUT.resolve(Checkpoints.CHECKPOINT)));
    }

    @AfterEach void removeTheRun() throws IOException {
        if (!Files.exists(OUT)) return;
        try (Stream<Path> files = Files.walk(OUT)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(f);
        }
    }
}
