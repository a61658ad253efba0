package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report command and train --report as a user runs them: pages written, damaged runs skipped and named, one line and exit 2 when nothing is readable. */
class ReportCliTest {
    @Test void trainWritesRunJsonAndWithReportAFinishedPage(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = TrainCliTest.run(TrainCliTest.train(dir, "--epochs", "2", "--report"));
        assertEquals(0, r.code(), r.err());
        RunFile.Contents run = RunFile.read(dir.resolve(RunFile.NAME));
        assertEquals("completed", run.outcome());
        assertTrue(run.started().isBefore(run.ended()));
        assertEquals("mlp", run.config().get("model"));
        assertEquals("512", run.config().get("train_images"));
        assertTrue(run.config().get("device").startsWith("cpu"), run.config().toString());
        String page = Files.readString(dir.resolve("report.html"));
        assertTrue(page.contains("2 epochs, <span class=\"state\">ended ") && page.contains("(completed)"), page);
        assertFalse(page.contains("<script"), "an ended run's page does not reload");
        assertEquals(2, circles(page, dir.getFileName() + " test"));
    }

    @Test void aRunThatFailsSaysWhyInRunJsonAndOnItsPage(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = TrainCliTest.run(TrainCliTest.train(dir, "--lr", "1e38", "--report"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("training diverged"), r.err());
        assertTrue(RunFile.read(dir.resolve(RunFile.NAME)).outcome().startsWith("stopped: training diverged: "));
        String page = Files.readString(dir.resolve("report.html"));
        assertTrue(page.contains("0 epochs, <span class=\"state\">ended ") && page.contains("(stopped: training diverged: "), page);
        assertFalse(page.contains("<script"), "a run that stopped does not reload");
    }

    @Test void aRunStillTrainingGetsAPageThatReloadsUntilItGoesSilent(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("metrics.jsonl"), RecordedRunTest.line(1, 0.5, 8) + "\n");
        new RunFile(dir, Map.of("model", "mlp"));  // started, not ended
        ReportCommand.writeLive(dir);
        String page = Files.readString(dir.resolve("report.html"));
        long written = Files.getLastModifiedTime(dir.resolve("metrics.jsonl")).toMillis();
        // silent after three 8 s epochs and a minute; reloads every quarter epoch, at least every 2 s
        assertTrue(page.contains("const written = " + written + ", silentAfter = 84000, every = 2000"), page);
        assertTrue(page.contains("<span class=\"state\">training: last epoch written "), page);
        TrainCliTest.Run r = TrainCliTest.run("report", dir.toString(), "-o", dir.resolve("snapshot.html").toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.readString(dir.resolve("snapshot.html")).contains("<script"), "only train's own page reloads");
    }

    @Test void damagedAndMissingRunsAreSkippedAndNamedOnThePageAndOnStderr(@TempDir Path dir) throws Exception {
        Path good = Files.createDirectories(dir.resolve("good")), cut = Files.createDirectories(dir.resolve("cut"));
        Files.writeString(good.resolve("metrics.jsonl"), RecordedRunTest.line(1, 0.5, 1) + "\n" + RecordedRunTest.line(2, 0.4, 1) + "\n");
        Files.writeString(cut.resolve("metrics.jsonl"), RecordedRunTest.line(1, 0.6, 1) + "\n{\"epoch\":2,\"lr\":5.0E-4,\"tra");
        Path out = dir.resolve("r.html");
        TrainCliTest.Run r = TrainCliTest.run("report", good.toString(), cut.toString(), dir.resolve("gone").toString(), "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped " + cut.resolve("metrics.jsonl") + " line 2: cut off"), r.err());
        assertTrue(r.err().contains("skipped " + dir.resolve("gone") + ": does not exist"), r.err());
        assertTrue(r.err().contains("wrote " + out + " (2 of 3 runs)"), r.err());
        String page = Files.readString(out);
        assertEquals(2, circles(page, "good test"));
        assertEquals(1, circles(page, "cut test"));
        assertTrue(page.contains("<h2>Skipped</h2>") && page.contains("line 2: cut off (the run stopped while writing it)"), page);
        assertTrue(page.contains("does not exist"), page);
    }

    @Test void nothingReadableIsOneLineAndExitTwoAndAnEarlierReportStays(@TempDir Path dir) throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty")), out = Files.writeString(dir.resolve("report.html"), "earlier");
        Files.writeString(Files.createDirectories(dir.resolve("junk")).resolve("metrics.jsonl"), "not json\n\u0000\u00ff");
        TrainCliTest.Run r = TrainCliTest.run("report", empty.toString(), dir.resolve("junk").toString(), "-o", out.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("locallearn report: nothing to report: ") && r.err().contains("no metrics.jsonl")
                && r.err().contains("line 1: malformed"), r.err());
        assertEquals("earlier", Files.readString(out));
        TrainCliTest.Run none = TrainCliTest.run("report");
        assertEquals(2, none.code());
        assertEquals(1, none.err().strip().lines().count(), none.err());
    }

    @Test void theConfigurationTableMarksTheRowsThatDiffer(@TempDir Path dir) throws Exception {
        for (String mode : List.of("local", "global")) {
            Path d = Files.createDirectories(dir.resolve(mode));
            Files.writeString(d.resolve("metrics.jsonl"), RecordedRunTest.line(1, mode.equals("local") ? 0.5 : 0.3, 1) + "\n");
            new RunFile(d, Map.of("model", "mlp", "mode", mode)).end("completed");
        }
        Files.setLastModifiedTime(dir.resolve("local/metrics.jsonl"), FileTime.from(Instant.parse("2026-01-01T00:00:00Z")));
        String page = ReportPage.render(List.of(RecordedRun.read("local", dir.resolve("local")), RecordedRun.read("global", dir.resolve("global"))),
                Instant.now(), false);
        assertTrue(page.contains("<tr class=\"differs\" data-key=\"mode\"><th>mode</th><td>local</td><td>global</td></tr>"), page);
        assertTrue(page.contains("<tr class=\"same\" data-key=\"model\"><th>model</th><td>mlp</td><td>mlp</td></tr>"), page);
        assertTrue(page.contains("<tr class=\"same\" data-key=\"precision\"><th>precision</th><td>fp32</td><td>fp32</td></tr>"), page);
        assertTrue(page.contains("<tr class=\"result\" data-key=\"best test error\"><th>best test error</th><td>50.00 % (epoch 1)</td><td>30.00 % (epoch 1)</td></tr>"), page);
    }

    static int count(String text, String what) { return text.split(java.util.regex.Pattern.quote(what), -1).length - 1; }

    /** The points of the line named {@code series}: the circles of its group. */
    static int circles(String page, String series) {
        int at = page.indexOf("<g class=\"series\" data-series=\"" + series + "\">");
        if (at < 0) return -1;
        return count(page.substring(at, page.indexOf("</g>", at)), "<circle");
    }
}
