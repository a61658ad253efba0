package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train and eval commands as a user runs them: files written, one-line errors with exit code 2, nothing damaged. */
class TrainCliTest {
    static final String SAMPLE = "src/main/resources/locallearn/data/fashion-mnist-sample";

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        PrintStream o = System.out, e = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int code = Main.run(args);
            return new Run(code, out.toString(), err.toString());
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
    }

    static String[] train(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--data", SAMPLE, "--limit-train", "512", "--limit-test", "200",
                "--num-layers", "1", "--num-hidden", "32", "--device", "cpu", "--out", out.toString()));
        if (!List.of(extra).contains("--epochs")) a.addAll(List.of("--epochs", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test void trainWritesMetricsAndCheckpointThatEvalReads(@TempDir Path dir) throws Exception {
        Run r = run(train(dir));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("epoch 1") && r.out().contains("layers.0") && r.out().contains("local err"), r.out());
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).startsWith("{\"epoch\":1,") && lines.get(0).contains("\"test_error\":") && lines.get(0).contains("\"layer_loss\":["), lines.get(0));
        Run ev = run("eval", "--checkpoint", dir.resolve("checkpoint.safetensors").toString(), "--data", SAMPLE, "--limit-test", "200", "--json");
        assertEquals(0, ev.code(), ev.err());
        // eval of the saved weights gives the test error the training run reported for that epoch
        String reported = lines.get(0).replaceAll(".*\"test_error\":([0-9.E-]+).*", "$1");
        String evaluated = ev.out().trim().replaceAll(".*\"test_error\":([0-9.E-]+).*", "$1");
        assertEquals(Double.parseDouble(reported), Double.parseDouble(evaluated), 1e-12);
    }

    @Test void resumeContinuesTheMetricsFile(@TempDir Path dir) throws Exception {
        assertEquals(0, run(train(dir)).code());
        Run r = run(train(dir, "--epochs", "2", "--resume", dir.resolve("checkpoint.safetensors").toString()));
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(2, lines.size());
        assertTrue(lines.get(1).startsWith("{\"epoch\":2,"), lines.get(1));
    }

    @Test void benchModelPrintsTheTorchRefFields() {
        Run r = run("bench", "--model", "vgg6a", "--input", "3x8x8", "--batch", "4", "--steps", "1", "--num-hidden", "16", "--mode", "pred", "--json");
        assertEquals(0, r.code(), r.err());
        String line = r.out().strip();
        for (String k : new String[] {"\"impl\":\"locallearn\"", "\"model\":\"vgg6a\"", "\"mode\":\"pred\"", "\"batch\":4", "\"images_per_s\":",
                "\"peak_bytes\":", "\"state_bytes\":", "\"peak_activation_bytes\":", "\"device\":\"cpu\""})
            assertTrue(line.contains(k), k + " missing from " + line);
        long peak = Long.parseLong(line.replaceAll(".*\"peak_bytes\":([0-9]+).*", "$1"));
        long state = Long.parseLong(line.replaceAll(".*\"state_bytes\":([0-9]+).*", "$1"));
        long act = Long.parseLong(line.replaceAll(".*\"peak_activation_bytes\":([0-9]+).*", "$1"));
        assertEquals(peak - state, act);
        assertTrue(act > 0 && state > 0);
    }

    @Test void unknownModelIsOneLineAndExitTwo(@TempDir Path dir) {
        Run r = run(train(dir, "--model", "vgg7"));
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("unknown model 'vgg7'"), r.err());
    }

    @Test void badFlagValuesAreOneLineAndExitTwo(@TempDir Path dir) {
        for (String[] extra : new String[][] {{"--loss", "foo"}, {"--epochs", "0"}, {"--dropout", "1.5"}, {"--no-such-flag"}, {"--lr", "abc"},
                {"--memory-chunks", "foo"}, {"--greedy", "--backprop"}, {"--greedy", "--no-detach"}, {"--cpu-conv", "bogus"}}) {
            Run r = run(train(dir, extra));
            assertEquals(2, r.code(), String.join(" ", extra));
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    @Test void badCpuConvIsOneLineNamingTheFlagAndExitTwo(@TempDir Path dir) {
        for (Run r : new Run[] {run(train(dir, "--cpu-conv", "bogus")), run("bench", "--op", "conv", "--cpu-conv", "bogus")}) {
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("--cpu-conv must be auto, direct or winograd, got 'bogus'"), r.err());
        }
    }

    @Test void corruptCheckpointIsRefusedAndLeftAlone(@TempDir Path dir) throws Exception {
        Path ck = dir.resolve("checkpoint.safetensors");
        byte[] junk = "this is not a checkpoint at all".getBytes();
        Files.write(ck, junk);
        Run r = run(train(dir, "--resume", ck.toString()));
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("checkpoint.safetensors"), r.err());
        assertArrayEquals(junk, Files.readAllBytes(ck));
        Run ev = run("eval", "--checkpoint", ck.toString());
        assertEquals(2, ev.code());
        assertTrue(ev.err().contains("checkpoint.safetensors"), ev.err());
    }

    @Test void checkpointHeaderNestedHundredThousandDeepIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        // {"w":[[[[...]]]]} 100,000 deep: the old recursive reader overflowed its stack here
        byte[] header = ("{\"w\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Path ck = dir.resolve("deep.safetensors");
        Files.write(ck, java.nio.ByteBuffer.allocate(8 + header.length).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).array());
        Run ev = run("eval", "--checkpoint", ck.toString());
        assertEquals(2, ev.code(), ev.err());
        assertEquals(1, ev.err().strip().lines().count(), ev.err());
        assertTrue(ev.err().startsWith("locallearn eval: " + ck + ": corrupt safetensors header (Document nesting depth"), ev.err());
    }
}
