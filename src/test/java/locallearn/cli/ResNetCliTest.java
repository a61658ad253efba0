package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import locallearn.train.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The residual models from the command line: the reference's tensor names in the files, resume and eval, and the one-line refusals (export too). */
class ResNetCliTest {
    private static String[] train(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--data", TrainCliTest.SAMPLE, "--limit-train", "64", "--limit-test", "32",
                "--batch-size", "32", "--device", "cpu", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test void checkpointHoldsTheReferenceNamesAndResumesAndEvaluates(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = TrainCliTest.run(train(dir, "--model", "resnet18", "--feat-mult", "0.0625", "--pre-act", "--epochs", "1"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("layer4.1.conv2"), r.out());
        SafeTensors.Contents ck = SafeTensors.read(dir.resolve("checkpoint.safetensors"));
        for (String name : List.of("conv1.encoder.weight", "conv1.bn.running_mean", "layer1.0.conv1.bn_pre.weight", "layer1.0.conv2.conv_loss.weight",
                "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_var", "layer4.1.conv2.decoder_y.bias", "linear.weight", "linear.bias"))
            assertTrue(ck.tensors().containsKey(name), name + " missing from " + ck.tensors().keySet());
        assertArrayEquals(new int[] {8, 4, 1, 1}, ck.tensors().get("layer2.0.shortcut.0.weight").shape());
        assertEquals("true", ck.metadata().get("pre_act"));
        // the shortcut's optimizer state is saved for resume under its own prefix
        SafeTensors.Contents st = SafeTensors.read(dir.resolve("train_state.safetensors"));
        assertTrue(st.tensors().keySet().stream().anyMatch(k -> k.startsWith("optim.layer2.0.shortcut.")), st.tensors().keySet().toString());
        TrainCliTest.Run resumed = TrainCliTest.run(train(dir, "--model", "resnet18", "--feat-mult", "0.0625", "--pre-act", "--epochs", "2",
                "--resume", dir.resolve("checkpoint.safetensors").toString()));
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(2, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
        TrainCliTest.Run ev = TrainCliTest.run("eval", "--checkpoint", dir.resolve("checkpoint.safetensors").toString(), "--data", TrainCliTest.SAMPLE,
                "--limit-test", "32");
        assertEquals(0, ev.code(), ev.err());
        Path onnx = dir.resolve("model.onnx");
        TrainCliTest.Run ex = TrainCliTest.run("export", "--checkpoint", dir.resolve("checkpoint.safetensors").toString(), "--onnx", onnx.toString());
        assertEquals(2, ex.code(), ex.err());
        assertTrue(ex.err().strip().lines().count() == 1 && ex.err().contains("residual network"), ex.err());
        assertFalse(Files.exists(onnx));
    }

    @Test void anInputTheModelCannotTakeIsOneLineBeforeTraining(@TempDir Path dir) throws Exception {
        TrainCliTest.Run r = TrainCliTest.run(train(dir, "--model", "wresnet16-4"));
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("wresnet16-4 cannot take 1x28x28 inputs") && r.err().contains("inputs of 29 to 60 px"), r.err());
        assertFalse(Files.exists(dir.resolve("checkpoint.safetensors")));
    }

    @Test void benchMemoryMeasuresAResnetLocallyAndGlobally() {
        TrainCliTest.Run r = TrainCliTest.run("bench-memory", "--model", "resnet18", "--input", "1x28x28", "--batch", "2", "--mode", "global,predsim");
        assertEquals(0, r.code(), r.err());
        String predsim = r.out().lines().filter(l -> l.startsWith("resnet18") && l.contains("predsim")).findFirst().orElseThrow();
        double ratio = Double.parseDouble(predsim.trim().replaceAll(".* ", ""));
        // local: one block's step at a time (its input, output, heads), against every activation and gradient of global backprop
        assertTrue(ratio > 0 && ratio < 1, predsim);
    }

    @Test void greedyAndPreActWhereTheyDoNotApplyAreOneLine(@TempDir Path dir) {
        for (String[] extra : new String[][] {{"--model", "resnet18", "--greedy"}, {"--model", "vgg8b", "--pre-act"}}) {
            TrainCliTest.Run r = TrainCliTest.run(train(dir, extra));
            assertEquals(2, r.code(), String.join(" ", extra) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
