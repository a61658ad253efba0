package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.data.Datasets;
import locallearn.models.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's "train from Java" snippet, kept compiling and working (here on a slice of the embedded sample). */
class ApiExampleTest {
    @Test void readmeSnippetTrainsAndWritesACheckpoint(@TempDir Path out) {
        Path dataDir = TrainerTest.SAMPLE; // README: null, i.e. look in the usual places
        // ---- README snippet starts
        var data = Datasets.load("fashion-mnist", dataDir, new Datasets.LoadOptions(4096, 500, false));
        var model = ModelConfig.mlp(3, 128).withDropout(0.025f);    // predsim, local training, batch norm, leaky ReLU
        var config = TrainConfig.of(model, 2).withBatchSize(32);    // Adam 5e-4, decay 0.25 at 50/75/89/94 %, seed 1
        try (Backend be = Backends.auto(); Trainer trainer = new Trainer(be, config, data)) {
            List<EpochMetrics> metrics = trainer.fit(out, TrainListener.eachEpoch(m -> System.out.println(m.epoch() + ": test error " + m.testError())));
            // ---- README snippet ends
            assertEquals(2, metrics.size());
            // measured 32.4% on 2026-11-27 (chance 90%)
            assertTrue(metrics.get(1).testError() < 0.5, "test error " + metrics.get(1).testError());
            assertTrue(out.resolve(Checkpoints.CHECKPOINT).toFile().isFile());
        }
    }
}
