package locallearn.cli;

import static locallearn.cli.TrainCliTest.SAMPLE;
import static locallearn.cli.TrainCliTest.run;
import static locallearn.cli.TrainCliTest.train;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import locallearn.backend.cuda.CudaContext;
import locallearn.train.Checkpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --precision}: where a run records it, what resume does with it, and bad values. */
class PrecisionCliTest {
    private static String testError(String json) { return json.replaceAll(".*\"test_error\":([0-9.E-]+).*", "$1"); }

    @Test void aTf32RunRecordsItsPrecisionAndEvalRepeatsItsNumbers(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = run(train(dir, "--precision", "tf32"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains(", tf32, cpu: ") && r.err().contains("tf32 (gemm and conv inputs rounded to 10 mantissa bits)"), r.err());
        String metrics = Files.readAllLines(dir.resolve("metrics.jsonl")).getFirst();
        assertTrue(metrics.contains("\"precision\":\"tf32\""), metrics);
        assertTrue(Files.readString(dir.resolve(RunFile.NAME)).contains("\"precision\":\"tf32\""));
        Path ck = dir.resolve(Checkpoints.CHECKPOINT);
        assertEquals("tf32", Checkpoints.metadata(ck).get("precision"));

        // eval takes the checkpoint's precision unless told: the run's test error, to the bit
        TrainCliTest.Run ev = run("eval", "--checkpoint", ck.toString(), "--data", SAMPLE, "--limit-test", "200", "--json");
        assertEquals(0, ev.code(), ev.err());
        assertEquals(Double.parseDouble(testError(metrics)), Double.parseDouble(testError(ev.out().trim())), 0.0);
        TrainCliTest.Run fp32 = run("eval", "--checkpoint", ck.toString(), "--data", SAMPLE, "--limit-test", "200", "--json", "--precision", "fp32");
        assertEquals(0, fp32.code(), fp32.err());
    }

    @Test void aBf16RunRecordsItsPrecisionAndEvalRepeatsItsNumbersInBf16(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = run(train(dir, "--precision", "bf16"));
        assertEquals(0, r.code(), r.err());
        String metrics = Files.readAllLines(dir.resolve("metrics.jsonl")).getFirst();
        assertTrue(metrics.contains("\"precision\":\"bf16\""), metrics);
        Path ck = dir.resolve(Checkpoints.CHECKPOINT);
        assertEquals("bf16", Checkpoints.metadata(ck).get("precision"));
        // eval's batches enter the network in bf16 as the run's did: its test error to the bit
        TrainCliTest.Run ev = run("eval", "--checkpoint", ck.toString(), "--data", SAMPLE, "--limit-test", "200", "--json");
        assertEquals(0, ev.code(), ev.err());
        assertEquals(Double.parseDouble(testError(metrics)), Double.parseDouble(testError(ev.out().trim())), 0.0);
    }

    /**
     * bench-memory --precision bf16 measures each row in fp32 too: beside the bf16 peak, the peak
     * an fp32 run reports and their ratio. (On these small maps the weights' bf16 copies outweigh
     * what the activations save in the local step, as the README says; the global step's
     * activations still dominate.)
     */
    @Test void benchMemoryPutsTheFp32PeakBesideBf16(@TempDir Path dir) throws Exception {
        String[] common = {"bench-memory", "--model", "vgg6b", "--input", "3x16x16", "--batch", "64", "--mode", "global,predsim", "--csv"};
        Path bf16Csv = dir.resolve("bf16.csv"), fp32Csv = dir.resolve("fp32.csv");
        TrainCliTest.Run r = run(java.util.stream.Stream.concat(java.util.Arrays.stream(common), java.util.stream.Stream.of(bf16Csv.toString(), "--precision", "bf16")).toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        r = run(java.util.stream.Stream.concat(java.util.Arrays.stream(common), java.util.stream.Stream.of(fp32Csv.toString())).toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<String> rows = Files.readAllLines(bf16Csv), fp32Rows = Files.readAllLines(fp32Csv);
        assertEquals("model,mode,batch,state_bytes,peak_activation_bytes,ratio_to_global,fp32_peak_activation_bytes,ratio_to_fp32", rows.get(0));
        assertEquals(3, rows.size());
        for (int i = 1; i < rows.size(); i++) {
            String[] f = rows.get(i).split(","), g = fp32Rows.get(i).split(",");
            assertEquals(g[4], f[6], "the fp32 column is an fp32 run's peak: " + rows.get(i));
            long bf16 = Long.parseLong(f[4]), fp32 = Long.parseLong(f[6]);
            assertEquals(String.format(java.util.Locale.ROOT, "%.3f", (double) bf16 / fp32), f[7], rows.get(i));
            if (f[1].equals("global")) assertTrue(bf16 < 0.75 * fp32, rows.get(i));
        }
    }

    @Test void resumeRefusesAnotherPrecisionNamingTheFlagAndLeavesTheCheckpoint(@TempDir Path dir) throws Exception {
        assertEquals(0, run(train(dir)).code());
        Path ck = dir.resolve(Checkpoints.CHECKPOINT);
        assertEquals("fp32", Checkpoints.metadata(ck).get("precision"));
        byte[] before = Files.readAllBytes(ck);
        TrainCliTest.Run r = run(train(dir, "--epochs", "2", "--precision", "tf32", "--resume", ck.toString()));
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("was trained with --precision fp32, this run is tf32; give --precision fp32 to continue it"), r.err());
        assertArrayEquals(before, Files.readAllBytes(ck));
        assertEquals(0, run(train(dir, "--epochs", "2", "--precision", "fp32", "--resume", ck.toString())).code());
    }

    @Test void unknownAndUnavailablePrecisionsAreOneLineAndExitTwo(@TempDir Path dir) {
        String[][] commands = {train(dir), {"bench", "--op", "gemm", "--m", "8", "--n", "8", "--k", "8"}, {"bench-memory", "--model", "vgg6a"},
                {"eval", "--checkpoint", dir.resolve("none.safetensors").toString()}};
        for (String[] cmd : commands) {
            String[] args = java.util.stream.Stream.concat(List.of(cmd).stream(), java.util.stream.Stream.of("--precision", "fp16")).toArray(String[]::new);
            TrainCliTest.Run r = run(args);
            assertEquals(2, r.code(), cmd[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("--precision must be fp32, tf32 or bf16, got 'fp16'"), r.err());
        }
    }

    /** CUDA takes bf16 now: without a GPU, --device cuda --precision bf16 fails as fp32 does, for the missing GPU, in one line. */
    @Test void bf16OnCudaWithoutAGpuIsTheMissingGpusOneLine(@TempDir Path dir) {
        assumeFalse(CudaContext.probeDevice().found(), "a GPU is here: bf16 runs on it");
        for (String[] cmd : new String[][] {{"train", "--data", TrainCliTest.SAMPLE, "--out", dir.toString()}, {"bench", "--op", "gemm", "--m", "8", "--n", "8", "--k", "8"}}) {
            String[] err = new String[2];
            for (int i = 0; i < 2; i++) {
                String[] args = java.util.stream.Stream.concat(List.of(cmd).stream(),
                        java.util.stream.Stream.of("--device", "cuda", "--precision", i == 0 ? "fp32" : "bf16")).toArray(String[]::new);
                TrainCliTest.Run r = run(args);
                assertEquals(2, r.code(), cmd[0] + ": " + r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                err[i] = r.err().strip();
            }
            assertTrue(err[1].contains("cuda backend not available"), err[1]);
            assertEquals(err[0], err[1], cmd[0] + ": bf16 fails as fp32 does");
        }
    }

    @Test void dryRunShowsThePrecision() {
        assertEquals("fp32", ReferenceLinesTest.dryRun("train").get("precision"));
        assertEquals("tf32", ReferenceLinesTest.dryRun("train", "--precision", "tf32").get("precision"));
    }

    /** What ../shared/device/gpu-check.sh relies on: bench lists --precision and its JSON line says which. */
    @Test void benchTakesPrecisionAndSaysSoInItsJsonLine() {
        assertTrue(run("bench", "--help").out().contains("--precision"));
        TrainCliTest.Run r = run("bench", "--model", "vgg6a", "--input", "3x8x8", "--batch", "4", "--steps", "1", "--num-hidden", "16", "--mode", "pred",
                "--precision", "tf32", "--json");
        assertEquals(0, r.code(), r.err());
        String line = r.out().strip();
        assertTrue(line.startsWith("{\"impl\":\"locallearn\",") && line.endsWith("}") && line.contains("\"precision\":\"tf32\""), line);
        TrainCliTest.Run op = run("bench", "--op", "gemm", "--m", "64", "--n", "64", "--k", "64", "--precision", "tf32", "--json");
        assertEquals(0, op.code(), op.err());
        assertTrue(op.out().contains("\"precision\":\"tf32\""), op.out());
    }
}
