package locallearn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import locallearn.train.Checkpoints;
import locallearn.train.EpochMetrics;

/**
 * What a run folder holds for a report: the configuration (run.json, else the checkpoint's
 * metadata), the epochs of metrics.jsonl that could be read, whether the run ended, and what was
 * skipped and why. Reading never fails: what cannot be read is a line in {@code skipped}.
 */
record RecordedRun(String name, Path dir, Map<String, String> config, List<EpochMetrics> epochs, Instant lastEpochWritten,
                   RunFile.Contents runFile, List<String> skipped) {
    static final String METRICS = "metrics.jsonl";

    /** Whether the run ended (run.json says so), is still writing epochs, or went silent (killed, or its machine went away). */
    enum State { ENDED, TRAINING, SILENT }

    static RecordedRun read(String name, Path dir) {
        List<String> skipped = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            skipped.add(dir + ": " + (Files.exists(dir) ? "not a folder" : "does not exist"));
            return new RecordedRun(name, dir, Map.of(), List.of(), null, null, skipped);
        }
        RunFile.Contents run = null;
        Map<String, String> config = Map.of();
        Path runJson = dir.resolve(RunFile.NAME), checkpoint = dir.resolve(Checkpoints.CHECKPOINT);
        try {
            if (Files.exists(runJson)) {
                run = RunFile.read(runJson);
                config = run.config();
            }
        } catch (IOException | RuntimeException e) {
            skipped.add(runJson + ": unreadable (" + e.getMessage() + ")");
        }
        if (run == null) {
            try {
                // runs from before run.json, or one whose run.json is damaged: the checkpoint holds the configuration too
                if (Files.exists(checkpoint)) config = Checkpoints.metadata(checkpoint);
                else skipped.add(dir + ": no " + RunFile.NAME + " and no checkpoint, so no configuration");
            } catch (RuntimeException e) {
                skipped.add(checkpoint + ": unreadable (" + e.getMessage() + "), so no configuration");
            }
        }
        Path metrics = dir.resolve(METRICS);
        List<EpochMetrics> epochs = new ArrayList<>();
        Instant written = null;
        if (!Files.exists(metrics)) {
            skipped.add(dir + ": no " + METRICS + " (no epoch finished yet?)");
        } else {
            try {
                written = Files.getLastModifiedTime(metrics).toInstant();
                // bytes that are not UTF-8 become U+FFFD and fail their line's parse, instead of failing the file
                String text = new String(Files.readAllBytes(metrics), StandardCharsets.UTF_8);
                String[] lines = text.split("\n", -1);
                for (int i = 0; i < lines.length; i++) {
                    String line = lines[i].strip();
                    if (line.isEmpty()) continue;
                    boolean last = i == lines.length - 1;  // no newline after it: cut off while being written
                    try {
                        epochs.add(epoch(Json.parseObject(line)));
                    } catch (IllegalArgumentException e) {
                        skipped.add(metrics + " line " + (i + 1) + ": " + (last ? "cut off (the run stopped while writing it)" : "malformed (" + e.getMessage() + ")"));
                    }
                }
                if (epochs.isEmpty() && skipped.stream().noneMatch(s -> s.startsWith(metrics.toString()))) skipped.add(metrics + ": empty");
            } catch (IOException e) {
                skipped.add(metrics + ": unreadable (" + e.getMessage() + ")");
            }
        }
        return new RecordedRun(name, dir, config, List.copyOf(epochs), written, run, List.copyOf(skipped));
    }

    /** A configuration value; precision is fp32 in runs that do not record one. */
    String setting(String key) {
        String v = config.get(key);
        return v == null && key.equals("precision") ? "fp32" : v;
    }

    EpochMetrics last() { return epochs.getLast(); }

    State state(Instant now) {
        if (runFile != null && runFile.ended() != null) return State.ENDED;
        if (epochs.isEmpty() || lastEpochWritten == null) return State.SILENT;
        return Duration.between(lastEpochWritten, now).compareTo(silentAfter()) > 0 ? State.SILENT : State.TRAINING;
    }

    /**
     * How long after its last epoch a run that has not ended counts as stopped: three epochs'
     * time and a minute (the test pass and the checkpoint after an epoch, a slow first epoch, a
     * loaded machine), so a live report does not give up on a run that is only slow.
     */
    Duration silentAfter() {
        double s = epochs.isEmpty() || !Double.isFinite(last().seconds()) ? 0 : last().seconds();
        return Duration.ofMillis(Math.round(3000 * s) + 60_000);
    }

    /** One metrics.jsonl line; what it lacks is NaN (or -1 bytes), what is the wrong type makes it malformed. */
    private static EpochMetrics epoch(Map<String, Object> m) {
        double e = number(m, "epoch");
        if (!(e >= 1 && e == Math.rint(e))) throw new IllegalArgumentException("no epoch number");
        List<String> layers = new ArrayList<>();
        if (m.get("layers") instanceof List<?> l) for (Object o : l) layers.add(String.valueOf(o));
        else if (m.containsKey("layers")) throw new IllegalArgumentException("\"layers\" is not a list");
        double peak = number(m, "peak_bytes");
        return new EpochMetrics((int) e, (float) number(m, "lr"), number(m, "train_loss"), number(m, "train_error"),
                number(m, "test_loss"), number(m, "test_error"), layers, numbers(m, "layer_loss", layers.size()),
                numbers(m, "layer_error", layers.size()), number(m, "images_per_s"), Double.isFinite(peak) ? (long) peak : -1,
                number(m, "seconds"));
    }

    private static double number(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) return Double.NaN;
        if (v instanceof Double d) return d;
        throw new IllegalArgumentException("\"" + key + "\" is not a number");
    }

    private static double[] numbers(Map<String, Object> m, String key, int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, Double.NaN);
        if (m.get(key) == null) return a;
        if (!(m.get(key) instanceof List<?> l) || l.size() != n) throw new IllegalArgumentException("\"" + key + "\" is not a list of " + n + " numbers, one a layer");
        for (int i = 0; i < n; i++) {
            if (l.get(i) instanceof Double d) a[i] = d;
            else if (l.get(i) != null) throw new IllegalArgumentException("\"" + key + "\" holds a value that is not a number");
        }
        return a;
    }
}
