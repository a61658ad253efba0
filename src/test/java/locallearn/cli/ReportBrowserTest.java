package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The report of a local and a global run of one model on the embedded sample, opened in headless
 * Chromium: the DOM it renders holds both runs' series with a point an epoch and the
 * configuration table with the differing rows marked, and a live page's script stops reloading
 * once its run went silent. The screenshot at 1280x800 stays in target/report-browser/ for a
 * person to look at. .ci/run installs Debian's chromium; without it (the install failed) these
 * tests are skipped and say so.
 */
class ReportBrowserTest {
    static final Path OUT = Path.of("target", "report-browser");
    static final int EPOCHS = 3;
    static String chromium;

    @BeforeAll static void trainTwoRuns() throws IOException {
        chromium = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .flatMap(d -> Stream.of(Path.of(d, "chromium"), Path.of(d, "chromium-browser"))).filter(Files::isExecutable)
                .map(Path::toString).findFirst().orElse(null);
        Assumptions.assumeTrue(chromium != null, "no chromium on the PATH (.ci/run installs it: apt-get install chromium): browser tests skipped");
        deleteTree(OUT);
        for (String run : List.of("local", "global")) {
            List<String> args = new ArrayList<>(List.of(TrainCliTest.train(OUT.resolve(run), "--epochs", String.valueOf(EPOCHS))));
            if (run.equals("global")) args.add("--backprop");
            TrainCliTest.Run r = TrainCliTest.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
        }
    }

    @Test void bothRunsSeriesAndTheDifferingRowsAreInTheRenderedPage() throws Exception {
        Path page = OUT.resolve("report.html");
        TrainCliTest.Run r = TrainCliTest.run("report", OUT.resolve("local").toString(), OUT.resolve("global").toString(), "-o", page.toString());
        assertEquals(0, r.code(), r.err());
        String dom = chromium("--dump-dom", page);
        for (String series : List.of("local test", "local train", "global test", "global train"))
            assertEquals(EPOCHS, ReportCliTest.circles(dom, series), series);
        // the learning-rate chart: one line a run
        assertEquals(EPOCHS, ReportCliTest.circles(dom, "local"));
        assertEquals(EPOCHS, ReportCliTest.circles(dom, "global"));
        assertEquals(2, ReportCliTest.count(dom, "<g class=\"bar\" data-series=\"local\">"), "speed and memory bars");
        assertTrue(dom.contains("<tr class=\"differs\" data-key=\"mode\"><th>mode</th><td>local</td><td>global</td></tr>"), dom);
        assertTrue(dom.contains("<tr class=\"same\" data-key=\"model\"><th>model</th><td>mlp</td><td>mlp</td></tr>"), dom);
        assertTrue(dom.contains("global: no local losses"), "the global run has no block charts");
        assertEquals(2, ReportCliTest.count(dom, "<g class=\"series\" data-series=\"layers.0\">"), "the local run's block in its loss and error charts");
        Path png = OUT.resolve("report.png");
        chromium("--screenshot=" + png.toAbsolutePath(), page);
        assertTrue(Files.size(png) > 10_000, "a screenshot with something on it");
    }

    @Test void aLivePageStopsReloadingWhenItsRunWentSilent() throws Exception {
        Path dir = Files.createDirectories(OUT.resolve("killed"));
        Files.copy(OUT.resolve("local/metrics.jsonl"), dir.resolve("metrics.jsonl"));
        new RunFile(dir, Map.of("model", "mlp"));  // started, never ended: killed
        ReportCommand.writeLive(dir);
        String fresh = chromium("--dump-dom", dir.resolve("report.html"));
        assertTrue(fresh.contains("<span class=\"state\">training: last epoch written"), fresh);
        Files.setLastModifiedTime(dir.resolve("metrics.jsonl"), FileTime.from(Instant.now().minusSeconds(7200)));
        ReportCommand.writeLive(dir);
        String stale = chromium("--dump-dom", dir.resolve("report.html"));
        assertTrue(stale.contains("<span class=\"state\">stopped: no epoch for 120 min"), stale);
        assertTrue(stale.contains("this page no longer reloads"), stale);
        assertFalse(stale.contains("training: last epoch"), stale);
    }

    /** Runs headless Chromium on {@code page} in a fresh profile, no network, with a time limit; returns its stdout. */
    static String chromium(String action, Path page) throws Exception {
        Path profile = Files.createTempDirectory("chromium-profile");
        List<String> cmd = List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--window-size=1280,800", action, page.toAbsolutePath().toUri().toString());
        Path out = profile.resolve("stdout");  // a file, not a pipe: a hung chromium cannot block the read past the time limit
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).redirectOutput(out.toFile()).start();
        try {
            if (!p.waitFor(90, TimeUnit.SECONDS)) throw new AssertionError("chromium took over 90 s");
            assertEquals(0, p.exitValue(), "chromium's exit code");
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            deleteTree(profile);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
        }
    }
}
