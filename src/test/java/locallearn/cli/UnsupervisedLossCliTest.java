package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import locallearn.train.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --loss-unsup and --alpha as a user runs them: the run, its checkpoint (decoder_x, metadata), eval of it, and bad values. */
class UnsupervisedLossCliTest {
    /** A short run on the embedded sample: 128 training images, 64 test images, one epoch unless {@code extra} says otherwise. */
    private static String[] train(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--data", TrainCliTest.SAMPLE, "--limit-train", "128", "--limit-test", "64",
                "--batch-size", "32", "--device", "cpu", "--out", out.toString()));
        if (!List.of(extra).contains("--epochs")) a.addAll(List.of("--epochs", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static String testError(String json) { return json.replaceAll(".*\"test_error\":([0-9.E-]+).*", "$1"); }

    @Test void reconTrainsAnMlpWhoseCheckpointEvalReads(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = TrainCliTest.run(train(dir, "--num-layers", "2", "--num-hidden", "32", "--loss-unsup", "recon", "--alpha", "0.5"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("local predsim mixed with recon by alpha 0.5"), r.err());
        Path ckpt = dir.resolve("checkpoint.safetensors");
        SafeTensors.Contents c = SafeTensors.read(ckpt);
        // the reference's names; the first block has decoder_x too, untrained
        assertTrue(c.tensors().containsKey("layers.0.decoder_x.weight") && c.tensors().containsKey("layers.1.decoder_x.bias"), c.tensors().keySet().toString());
        assertEquals(List.of(784, 32), java.util.Arrays.stream(c.tensors().get("layers.0.decoder_x.weight").shape()).boxed().toList());
        assertEquals("recon", c.metadata().get("loss_unsup"));
        assertEquals("0.5", c.metadata().get("alpha"));
        String line = Files.readAllLines(dir.resolve("metrics.jsonl")).get(0);
        TrainCliTest.Run ev = TrainCliTest.run("eval", "--checkpoint", ckpt.toString(), "--data", TrainCliTest.SAMPLE, "--limit-test", "64", "--json");
        assertEquals(0, ev.code(), ev.err());
        assertEquals(Double.parseDouble(testError(line)), Double.parseDouble(testError(ev.out().trim())), 1e-12);
    }

    @Test void unsupervisedSimTrainsAConvNetInSlicesAndResumes(@TempDir Path dir) throws Exception {
        String[] flags = {"--model", "vgg6b", "--feat-mult", "0.125", "--loss-unsup", "sim", "--alpha", "0.3"};
        TrainCliTest.Run r = TrainCliTest.run(train(dir, flags));
        assertEquals(0, r.code(), r.err());
        String first = Files.readAllLines(dir.resolve("metrics.jsonl")).get(0);
        assertFalse(first.contains("NaN"), first);
        List<String> more = new java.util.ArrayList<>(List.of(flags));
        more.addAll(List.of("--epochs", "2", "--resume", dir.resolve("checkpoint.safetensors").toString()));
        TrainCliTest.Run resumed = TrainCliTest.run(train(dir, more.toArray(String[]::new)));
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(2, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    }

    @Test void badValuesAreOneLineAndExitTwo(@TempDir Path dir) {
        for (String[] bad : new String[][] {{"--loss-unsup", "decode"}, {"--alpha", "1.5"}, {"--alpha", "-0.1"}}) {
            TrainCliTest.Run r = TrainCliTest.run(train(dir, bad));
            assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(bad[0].substring(2)), r.err());
        }
    }
}
