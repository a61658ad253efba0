package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A full Java heap is bad input too: one line naming what did not fit and how to give more, exit 2, no stack trace. */
class OutOfMemoryCliTest {

    /** Runs the command line in a JVM with a 96 MiB heap; returns {exit code, stderr}. */
    static Object[] runSmallHeap(String... args) throws Exception { return runWithHeap("96m", args); }

    /** Runs the command line in a JVM with a heap of {@code xmx} (-Xmx's value); returns {exit code, stderr}. */
    static Object[] runWithHeap(String xmx, String... args) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-Xmx" + xmx, "--enable-native-access=ALL-UNNAMED", "--add-modules",
                "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        return new Object[] {p.exitValue(), err};
    }

    @Test void benchTooBigForTheHeapIsOneLineAndExitTwo() throws Exception {
        Object[] r = runSmallHeap("bench", "--model", "vgg16", "--batch", "64", "--mode", "global", "--steps", "1", "--device", "cpu");
        String err = ((String) r[1]).lines().filter(l -> !l.startsWith("WARNING: Using incubator")).reduce("", (a, b) -> a + b + "\n");
        assertEquals(2, r[0], err);
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("locallearn bench: out of memory: ") && err.contains("did not fit") && err.contains("-Xmx"), err);
    }
}
