package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import locallearn.cli.Main;
import org.junit.jupiter.api.Test;

/** {@code locallearn bench --op ...} on the CPU: one JSON line with the measured figures, exit 2 on bad input. */
class BenchCommandTest {

    /** Runs the CLI and returns {exit code, stdout, stderr}. */
    private static Object[] run(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int rc = Main.run(args);
            return new Object[] {rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    private static double number(String json, String key) {
        int i = json.indexOf("\"" + key + "\":");
        assertTrue(i >= 0, key + " missing in " + json);
        int from = i + key.length() + 3, to = from;
        while (to < json.length() && "0123456789.eE-+".indexOf(json.charAt(to)) >= 0) to++;
        return Double.parseDouble(json.substring(from, to));
    }

    @Test void gemmPrintsOneJsonLineWithConsistentFlops() {
        Object[] r = run("bench", "--op", "gemm", "--m", "64", "--n", "48", "--k", "32", "--warmup", "1", "--iterations", "3", "--json");
        assertEquals(0, r[0], (String) r[2]);
        String line = ((String) r[1]).strip();
        assertFalse(line.contains("\n"), "one line: " + line);
        assertTrue(line.startsWith("{\"op\":\"gemm\",\"device\":\"cpu\""), line);
        assertEquals(64, number(line, "m"));
        assertEquals(48, number(line, "n"));
        assertEquals(32, number(line, "k"));
        double s = number(line, "seconds"), g = number(line, "gflops");
        assertTrue(s > 0, line);
        assertEquals(2.0 * 64 * 48 * 32 / s / 1e9, g, 1e-9 * g, "gflops = 2 m n k / seconds");
    }

    @Test void convReportsEachPassAndTheTotal() {
        Object[] r = run("bench", "--op", "conv", "--input", "3x9x9", "--out-channels", "5", "--batch", "2", "--warmup", "0",
                "--iterations", "1", "--json");
        assertEquals(0, r[0], (String) r[2]);
        String line = ((String) r[1]).strip();
        double f = number(line, "forward_seconds"), d = number(line, "backward_data_seconds"), w = number(line, "backward_filter_seconds");
        assertEquals(f + d + w, number(line, "seconds"), 1e-12);
        double flops = 2.0 * 2 * 5 * 3 * 3 * 3 * 9 * 9; // 2 B K C kh kw oH oW with 3x3 pad 1 keeping 9x9
        assertEquals(3 * flops / (f + d + w) / 1e9, number(line, "gflops"), 1e-9 * number(line, "gflops"));
    }

    @Test void badInputExitsTwoWithOneLine() {
        Object[] none = run("bench");
        assertEquals(2, none[0]);
        assertTrue(((String) none[2]).contains("give --op gemm, --op conv or --model M"), (String) none[2]);
        Object[] cuda = run("bench", "--op", "gemm", "--device", "cuda");
        assertEquals(2, cuda[0]);
        assertTrue(((String) cuda[2]).contains("cuda backend not available"), (String) cuda[2]);
        Object[] shape = run("bench", "--op", "conv", "--input", "3x32");
        assertEquals(2, shape[0]);
        assertTrue(((String) shape[2]).contains("--input '3x32' is not CxHxW"), (String) shape[2]);
        Object[] op = run("bench", "--op", "fft");
        assertEquals(2, op[0]);
        assertEquals(1, ((String) op[2]).strip().lines().count(), (String) op[2]);
    }
}
