package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import locallearn.export.onnx.OnnxProto;
import locallearn.train.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The export command: an ONNX file that parses, and nothing written or replaced when the checkpoint or the target is bad. */
class ExportCliTest {
    @Test void writesAnOnnxModelWithImagesInAndLogitsOut(@TempDir Path dir) throws Exception {
        Path onnx = dir.resolve("model.onnx");
        TrainCliTest.Run r = TrainCliTest.run("export", "--checkpoint", TestCheckpoints.mlp().toString(), "--onnx", onnx.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(onnx + ": mlp for fashion-mnist, ONNX opset 17; input images (N, 1, 28, 28) as pixel/255 (normalised inside), output logits (N, 10)",
                r.out().strip());
        var g = OnnxProto.ModelProto.parseFrom(Files.readAllBytes(onnx)).getGraph();
        assertEquals("images", g.getInput(0).getName());
        assertEquals("logits", g.getOutput(0).getName());
        assertEquals(List.of(onnx), files(dir), "no temporary file left beside it");
    }

    @Test void aDamagedCheckpointLeavesAnExistingModelAlone(@TempDir Path dir) throws Exception {
        Path onnx = dir.resolve("out").resolve("model.onnx");
        Files.createDirectories(onnx.getParent());
        byte[] old = "an earlier export".getBytes();
        Files.write(onnx, old);
        for (Path bad : HostileCheckpoints.of(TestCheckpoints.vgg(), dir.resolve("bad"))) {
            TrainCliTest.Run r = TrainCliTest.run("export", "--checkpoint", bad.toString(), "--onnx", onnx.toString());
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("locallearn export: " + bad), r.err());
            assertArrayEquals(old, Files.readAllBytes(onnx));
            assertEquals(List.of(onnx), files(onnx.getParent()));
        }
    }

    @Test void aTargetThatCannotBeWrittenIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("notes.txt"), "a file, not a folder");
        TrainCliTest.Run r = TrainCliTest.run("export", "--checkpoint", TestCheckpoints.mlp().toString(), "--onnx", file.resolve("model.onnx").toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("locallearn export: onnx export: cannot write " + file.resolve("model.onnx")), r.err());
    }

    static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
