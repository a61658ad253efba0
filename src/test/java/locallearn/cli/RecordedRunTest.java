package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.train.Checkpoints;
import locallearn.train.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a run folder for a report: what is readable is kept, what is not is named, nothing throws. */
class RecordedRunTest {
    /** A metrics.jsonl line as MetricsFile writes it. */
    static String line(int epoch, double testError, double seconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epoch", epoch);
        m.put("lr", 5e-4);
        m.put("train_loss", 2.0);
        m.put("train_error", 0.5);
        m.put("test_loss", 2.1);
        m.put("test_error", testError);
        m.put("layers", List.of("layers.0", "layers.1"));
        m.put("layer_loss", List.of(0.2, 0.3));
        m.put("layer_error", java.util.Arrays.asList(0.4, null));
        m.put("images_per_s", 1000.0);
        m.put("peak_bytes", 123456789L);
        m.put("seconds", seconds);
        return Json.object(m);
    }

    @Test void aTruncatedLastLineAndAMalformedOneAreSkippedAndNamed(@TempDir Path dir) throws Exception {
        String cut = line(4, 0.3, 2);
        Files.writeString(dir.resolve("metrics.jsonl"), line(1, 0.6, 2) + "\n" + "{\"epoch\":2,\"lr\":\"fast\"}\n" + line(3, 0.4, 2) + "\n"
                + cut.substring(0, cut.length() / 2));
        RecordedRun r = RecordedRun.read("run", dir);
        assertEquals(List.of(1, 3), r.epochs().stream().map(e -> e.epoch()).toList());
        assertEquals(0.4, r.last().testError());
        assertEquals(0.3, r.last().layerLoss()[1]);
        assertTrue(Double.isNaN(r.last().layerError()[1]));  // null: the block has no pred head
        assertEquals(123456789L, r.last().peakBytes());
        List<String> s = r.skipped();
        assertEquals(3, s.size(), s.toString());
        assertTrue(s.get(0).contains("no run.json and no checkpoint"), s.get(0));
        assertTrue(s.get(1).endsWith("metrics.jsonl line 2: malformed (\"lr\" is not a number)"), s.get(1));
        assertTrue(s.get(2).endsWith("metrics.jsonl line 4: cut off (the run stopped while writing it)"), s.get(2));
    }

    @Test void perLayerListsMustMatchTheLayers(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("metrics.jsonl"), line(1, 0.5, 1).replace("\"layer_loss\":[0.2,0.3]", "\"layer_loss\":[0.2]") + "\n");
        RecordedRun r = RecordedRun.read("run", dir);
        assertTrue(r.epochs().isEmpty());
        assertTrue(r.skipped().getLast().contains("\"layer_loss\" is not a list of 2 numbers"), r.skipped().toString());
    }

    @Test void aMissingFolderOrMetricsFileIsNamed(@TempDir Path dir) {
        RecordedRun gone = RecordedRun.read("gone", dir.resolve("gone"));
        assertEquals(List.of(dir.resolve("gone") + ": does not exist"), gone.skipped());
        RecordedRun empty = RecordedRun.read("empty", dir);
        assertTrue(empty.epochs().isEmpty());
        assertTrue(empty.skipped().getLast().endsWith(": no metrics.jsonl (no epoch finished yet?)"), empty.skipped().toString());
    }

    @Test void withoutRunJsonTheCheckpointGivesTheConfigurationAndPrecisionIsFp32(@TempDir Path dir) throws Exception {
        Files.copy(TestCheckpoints.mlp(), dir.resolve(Checkpoints.CHECKPOINT));
        Files.writeString(dir.resolve("metrics.jsonl"), line(1, 0.5, 1) + "\n");
        RecordedRun r = RecordedRun.read("old", dir);
        assertEquals(List.of(), r.skipped());
        assertEquals("mlp", r.setting("model"));
        assertEquals("fp32", r.setting("precision"));
        Files.writeString(dir.resolve(RunFile.NAME), "{\"config\":{\"model\":\"vgg8b\",\"precision\":\"bf16\"}}");
        RecordedRun recorded = RecordedRun.read("new", dir);
        assertEquals("vgg8b", recorded.setting("model"));
        assertEquals("bf16", recorded.setting("precision"));  // what a run records wins over the default
        Files.writeString(dir.resolve(RunFile.NAME), "{\"config\":{\"model\":");
        RecordedRun damaged = RecordedRun.read("damaged", dir);
        assertEquals("mlp", damaged.setting("model"));
        assertTrue(damaged.skipped().getFirst().contains("run.json: unreadable"), damaged.skipped().toString());
    }

    @Test void aRunThatHasNotEndedIsTrainingUntilItsEpochsStopComing(@TempDir Path dir) throws Exception {
        Path metrics = Files.writeString(dir.resolve("metrics.jsonl"), line(1, 0.5, 10) + "\n");
        Instant now = Files.getLastModifiedTime(metrics).toInstant();
        RunFile run = new RunFile(dir, Map.of("model", "mlp"));
        RecordedRun r = RecordedRun.read("run", dir);
        // three epochs of 10 s and a minute
        assertEquals(Duration.ofSeconds(90), r.silentAfter());
        assertEquals(RecordedRun.State.TRAINING, r.state(now.plusSeconds(89)));
        assertEquals(RecordedRun.State.SILENT, r.state(now.plusSeconds(91)));
        run.end("completed");
        RecordedRun ended = RecordedRun.read("run", dir);
        assertEquals(RecordedRun.State.ENDED, ended.state(now.plusSeconds(3600)));
        assertEquals("completed", ended.runFile().outcome());
        Files.setLastModifiedTime(metrics, FileTime.from(now.minusSeconds(3600)));
        assertEquals(now.minusSeconds(3600), RecordedRun.read("run", dir).lastEpochWritten());
    }
}
