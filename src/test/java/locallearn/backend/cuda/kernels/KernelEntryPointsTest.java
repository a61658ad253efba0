package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import locallearn.backend.cuda.CudaBackend;
import org.junit.jupiter.api.Test;

/**
 * The names CudaBackend launches against the kernels nvcc really built: a misspelt or
 * non-extern-"C" kernel (whose PTX entry would be a mangled C++ name) fails here, on a machine
 * without a GPU, instead of at the first launch on one. Runs wherever the build found nvcc (CI
 * has it); skipped with a message otherwise.
 */
class KernelEntryPointsTest {
    private static final Pattern ENTRY = Pattern.compile("^\\.visible \\.entry ([A-Za-z_][A-Za-z0-9_]*)\\(", Pattern.MULTILINE);

    /** "family.ptx:kernel" for every .entry of every PTX the build produced. */
    private static TreeSet<String> builtEntryPoints() throws IOException, URISyntaxException {
        URL marker = KernelEntryPointsTest.class.getResource("/locallearn/kernels/NVCC_VERSION");
        assumeTrue(marker != null, "kernels not built (no nvcc when Maven ran kernels/build.sh): PTX entry points not checked");
        Path dir = Path.of(marker.toURI()).getParent();
        TreeSet<String> entries = new TreeSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path ptx : files.filter(p -> p.toString().endsWith(".ptx")).toList()) {
                Matcher m = ENTRY.matcher(Files.readString(ptx));
                while (m.find()) entries.add(ptx.getFileName() + ":" + m.group(1));
            }
        }
        return entries;
    }

    @Test void everyLaunchedKernelIsAnEntryOfItsFamilysPtx() throws Exception {
        TreeSet<String> built = builtEntryPoints();
        List<String> launched = CudaBackend.kernelEntryPoints();
        TreeSet<String> missing = new TreeSet<>(launched);
        missing.removeAll(built);
        assertTrue(missing.isEmpty(), "launched by CudaBackend but not in the built PTX: " + missing + "; built: " + built);
    }

    @Test void everyBuiltKernelIsLaunched() throws Exception {
        // a kernel no Java code launches is dead code, or a launch that was forgotten
        TreeSet<String> unused = builtEntryPoints();
        unused.removeAll(CudaBackend.kernelEntryPoints());
        assertEquals(new TreeSet<String>(), unused, "kernels in the PTX that CudaBackend never launches");
    }
}
