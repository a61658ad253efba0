package locallearn.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code locallearn report RUN_DIR… [-o report.html]}: one self-contained HTML page for one or
 * several run folders. What a folder lacks or holds damaged is skipped and named; when nothing
 * at all is readable it is one line and exit code 2.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "One self-contained HTML page (no network needed) for one or several run folders: error per epoch, local losses"
                + " per block, speed, memory, learning rate, and the configurations side by side with the differences marked.")
final class ReportCommand implements Callable<Integer> {
    static final String PAGE = "report.html";

    @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "run folders (train's --out), e.g. a local and a --backprop run of one model")
    List<Path> dirs;
    @Option(names = {"-o", "--out"}, defaultValue = PAGE, description = "the HTML file to write (default ${DEFAULT-VALUE})")
    Path out;

    @Override public Integer call() throws IOException {
        List<RecordedRun> runs = read(dirs);
        List<String> skipped = runs.stream().flatMap(r -> r.skipped().stream()).map(s -> s.replace('\n', ' ')).toList();
        if (runs.stream().allMatch(r -> r.epochs().isEmpty())) throw new UserError("nothing to report: " + String.join("; ", skipped));
        for (String s : skipped) System.err.println("locallearn report: skipped " + s);
        AtomicFile.write(out, ReportPage.render(runs, Instant.now(), false));
        System.err.println("locallearn report: wrote " + out + " (" + runs.stream().filter(r -> !r.epochs().isEmpty()).count() + " of " + runs.size() + " runs)");
        return 0;
    }

    /** The page train --report keeps in its run folder: written after each epoch and once more when the run ends. */
    static void writeLive(Path dir) {
        Path page = dir.resolve(PAGE);
        try {
            AtomicFile.write(page, ReportPage.render(read(List.of(dir)), Instant.now(), true));
        } catch (IOException e) {
            throw new UncheckedIOException("report: cannot write " + page + ": " + e.getMessage(), e);
        }
    }

    /** Each folder read, named by its last path element, or by the path as given where two share one. */
    private static List<RecordedRun> read(List<Path> dirs) {
        List<String> names = dirs.stream().map(d -> String.valueOf(d.toAbsolutePath().normalize().getFileName())).toList();
        List<RecordedRun> runs = new ArrayList<>();
        for (int i = 0; i < dirs.size(); i++) {
            String name = names.get(i);
            runs.add(RecordedRun.read(names.indexOf(name) != names.lastIndexOf(name) ? dirs.get(i).toString() : name, dirs.get(i)));
        }
        return runs;
    }
}
