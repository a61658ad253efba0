package locallearn.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code run.json} beside metrics.jsonl: the run's configuration (the checkpoint's metadata,
 * the device, the data), when it started and, once it has, how it ended. Train writes it when
 * the run starts and again when it ends, so a report can tell a finished run from one that is
 * still training or was killed.
 */
final class RunFile {
    static final String NAME = "run.json";

    /** What run.json says; {@code ended} and {@code outcome} are null while the run has not ended. */
    record Contents(Map<String, String> config, Instant started, Instant ended, String outcome) {}

    private final Path file;
    private final Map<String, String> config;
    private final Instant started = Instant.now();

    /** Writes run.json for a run that starts now. */
    RunFile(Path dir, Map<String, String> config) {
        this.file = dir.resolve(NAME);
        this.config = new LinkedHashMap<>(config);
        write(null, null);
    }

    /** The run ended: "completed", or why it stopped. */
    void end(String outcome) { write(Instant.now(), outcome); }

    private void write(Instant ended, String outcome) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "locallearn-run-1");
        m.put("started", started.toString());
        if (ended != null) {
            m.put("ended", ended.toString());
            m.put("outcome", outcome);
        }
        m.put("config", config);
        try {
            AtomicFile.write(file, Json.object(m) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("run: cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads run.json; a file that is not one is an IllegalArgumentException saying why. */
    static Contents read(Path file) throws IOException {
        Map<String, Object> m = Json.parseObject(Files.readString(file));
        if (!(m.get("config") instanceof Map<?, ?> c)) throw new IllegalArgumentException("no \"config\" object");
        Map<String, String> config = new LinkedHashMap<>();
        for (var e : c.entrySet()) config.put(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
        return new Contents(config, time(m, "started"), time(m, "ended"), m.get("outcome") instanceof String s ? s : null);
    }

    private static Instant time(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof String s)) return null;
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("\"" + key + "\" is not a time: " + s);
        }
    }
}
