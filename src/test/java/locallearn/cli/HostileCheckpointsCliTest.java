package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import locallearn.train.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command that reads a checkpoint (eval, predict, export, train --resume) answers each
 * damaged one (truncated, a wrong dtype, a missing tensor, garbage metadata, a header nested
 * 100,000 deep, a header length past the file's end) with one line naming the file and exit
 * code 2, and leaves the file and what the command would have written as they were.
 */
class HostileCheckpointsCliTest {
    @Test void everyReaderOfCheckpointsRefusesDamageInOneLine(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("shirt.png");
        ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY), "png", image.toFile());
        Path out = Files.createDirectories(dir.resolve("out")), onnx = out.resolve("model.onnx"), metrics = out.resolve("metrics.jsonl");
        Files.writeString(onnx, "an earlier export");
        Files.writeString(metrics, "{\"epoch\":1}\n");
        for (Path bad : HostileCheckpoints.of(TestCheckpoints.mlp(), dir.resolve("bad"))) {
            byte[] before = Files.readAllBytes(bad);
            for (List<String> args : List.of(
                    List.of("eval", "--checkpoint", bad.toString(), "--data", TestCheckpoints.SAMPLE.toString(), "--device", "cpu"),
                    List.of("predict", "--checkpoint", bad.toString(), "--device", "cpu", image.toString()),
                    List.of("export", "--checkpoint", bad.toString(), "--onnx", onnx.toString()),
                    List.of("train", "--data", TestCheckpoints.SAMPLE.toString(), "--limit-train", "256", "--limit-test", "64", "--device", "cpu",
                            "--out", out.toString(), "--resume", bad.toString()))) {
                TrainCliTest.Run r = TrainCliTest.run(args.toArray(String[]::new));
                String what = args.get(0) + " on " + bad.getParent().getFileName();
                assertEquals(2, r.code(), what + ": " + r.err());
                assertEquals(1, r.err().strip().lines().count(), what + ": " + r.err());
                assertTrue(r.err().contains(bad.toString()), what + " names the file: " + r.err());
                assertFalse(r.err().contains("Exception") || r.err().contains("No enum constant"), what + ": " + r.err());
            }
            assertArrayEquals(before, Files.readAllBytes(bad), bad + " changed");
        }
        assertEquals("an earlier export", Files.readString(onnx));
        assertEquals("{\"epoch\":1}\n", Files.readString(metrics));
        assertFalse(Files.exists(out.resolve("checkpoint.safetensors")), "a refused resume wrote a checkpoint");
    }
}
