package locallearn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Text files the commands write (CSV, SVG, reports, run.json): through a temporary file beside the target, then renamed. */
final class AtomicFile {
    private AtomicFile() {}

    /** Writes {@code text} to {@code target}; a failure leaves the old file intact. */
    static void write(Path target, String text) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        // the process in the name: a training run and a `report` command may write one page at once;
        // not Files.createTempFile, whose owner-only permissions the renamed file would keep
        Path tmp = abs.resolveSibling(abs.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
