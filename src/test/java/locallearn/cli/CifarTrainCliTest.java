package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 6's end-to-end run (train --dataset cifar10 --model vgg8b --limit-train ... --device
 * cpu), on files written here in CIFAR-10's binary format (a label byte, then 3072 pixel bytes
 * per record), so it runs where the real files are absent; sizes are cut so it takes seconds.
 */
class CifarTrainCliTest {
    private static void writeBatch(Path file, int records, int seed) throws IOException {
        java.util.Random rnd = new java.util.Random(seed);
        try (OutputStream o = Files.newOutputStream(file)) {
            byte[] rec = new byte[1 + 3072];
            for (int r = 0; r < records; r++) {
                rec[0] = (byte) (r % 10);
                for (int i = 1; i < rec.length; i++) rec[i] = (byte) (r % 10 * 25 + rnd.nextInt(30));
                o.write(rec);
            }
        }
    }

    @Test void vgg8bTrainsOneEpochOnCifarFormatFiles(@TempDir Path dir) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("cifar-10-batches-bin"));
        for (int i = 1; i <= 5; i++) writeBatch(bin.resolve("data_batch_" + i + ".bin"), 20, i);
        writeBatch(bin.resolve("test_batch.bin"), 20, 9);
        Path out = dir.resolve("run");
        TrainCliTest.Run r = TrainCliTest.run("train", "--dataset", "cifar10", "--data", dir.toString(), "--model", "vgg8b",
                "--limit-train", "64", "--limit-test", "16", "--batch-size", "16", "--epochs", "1", "--device", "cpu",
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        // the standard folder above the files was accepted, and every conv block reported its local loss
        assertTrue(r.err().contains("cifar-10-batches-bin"), r.err());
        for (String layer : List.of("features.0", "features.1", "features.3", "features.4", "features.6", "features.8", "classifier.layers.0"))
            assertTrue(r.out().contains(layer), layer + " missing in\n" + r.out());
        assertEquals(1, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    }
}
