package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import locallearn.backend.cpu.CpuBackend;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Learning end to end on the embedded Fashion-MNIST sample (the files the jar ships), small
 * enough for CI: 2048 training and 500 test images, mlp 2x128.
 */
class TrainerTest {
    static final Path SAMPLE = Path.of("src/main/resources/locallearn/data/fashion-mnist-sample");
    static final Datasets.Split DATA = Datasets.load("fashion-mnist", SAMPLE, new Datasets.LoadOptions(2048, 500, false));
    static final DatasetSpec SPEC = Datasets.spec("fashion-mnist");

    static TrainConfig config(TrainingMode mode, int epochs) {
        ModelConfig m = ModelConfig.mlp(2, 128).withDropout(0.1f).withSlope(0.01f).withMode(mode);
        return TrainConfig.of(m, epochs).withBatchSize(64).withLr(2e-3f).withLrDecay(0.25f, 50, 75);
    }

    static List<EpochMetrics> run(TrainConfig c, int until, Path out, Path resume) {
        try (var be = new CpuBackend(); Trainer t = new Trainer(be, c, DATA.train(), DATA.test(), SPEC)) {
            if (resume != null) Checkpoints.resume(resume, t);
            return t.fit(until, List.of(), out);
        }
    }

    @Test void predsimMlpLearnsWellBelowChance() {
        List<EpochMetrics> m = run(config(TrainingMode.local(), 3), 3, null, null);
        EpochMetrics last = m.get(2);
        // chance is 90% error; on 2048 images in 3 epochs predsim reaches 29.4% (global 27.4% in 2; measured 2026-11-27);
        // 35% leaves room for other float summation orders of faster backends
        assertTrue(last.testError() < 0.35, "test error " + last.testError());
        assertTrue(last.testError() < m.get(0).testError() + 0.02, "no progress: " + m);
        for (int i = 0; i < 2; i++) assertTrue(last.layerError()[i] < 0.35, "local error of layer " + i + ": " + last.layerError()[i]);
    }

    @Test void globalBackpropLearnsToo() {
        List<EpochMetrics> m = run(config(TrainingMode.global(), 2), 2, null, null);
        assertTrue(m.get(1).testError() < 0.35, "test error " + m.get(1).testError());
    }

    @Test void sameSeedGivesIdenticalMetrics() {
        var a = run(config(TrainingMode.local(), 1), 1, null, null).get(0);
        var b = run(config(TrainingMode.local(), 1), 1, null, null).get(0);
        assertEquals(a.trainLoss(), b.trainLoss(), 0.0);
        assertEquals(a.testLoss(), b.testLoss(), 0.0);
        assertEquals(a.testError(), b.testError(), 0.0);
    }

    @Test void twoEpochsAndResumeEqualFourStraight(@TempDir Path dir) throws Exception {
        TrainConfig c = config(TrainingMode.local(), 4);
        List<EpochMetrics> straight = run(c, 4, null, null);
        run(c, 2, dir, null);
        assertTrue(Files.exists(dir.resolve(Checkpoints.CHECKPOINT)) && Files.exists(dir.resolve(Checkpoints.STATE)));
        List<EpochMetrics> resumed = run(c, 4, null, dir.resolve(Checkpoints.CHECKPOINT));
        assertEquals(2, resumed.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(straight.get(2 + i).epoch(), resumed.get(i).epoch());
            assertEquals(straight.get(2 + i).trainLoss(), resumed.get(i).trainLoss(), 0.0);
            assertEquals(straight.get(2 + i).testLoss(), resumed.get(i).testLoss(), 0.0);
            assertEquals(straight.get(2 + i).layerLoss()[1], resumed.get(i).layerLoss()[1], 0.0);
        }
    }

    @Test void resumingTheCheckpointOfAnotherModelFailsWithItsName(@TempDir Path dir) {
        run(config(TrainingMode.local(), 1), 1, dir, null);
        TrainConfig c = TrainConfig.of(ModelConfig.mlp(2, 64), 1).withBatchSize(64).withLr(1e-3f).withLrDecay(0.25f);
        var e = assertThrows(IllegalArgumentException.class, () -> run(c, 1, null, dir.resolve(Checkpoints.CHECKPOINT)));
        assertTrue(e.getMessage().contains("layers.0.encoder.weight"), e.getMessage());
    }
}
