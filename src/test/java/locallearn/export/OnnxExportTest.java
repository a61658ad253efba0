package locallearn.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import locallearn.backend.cpu.CpuBackend;
import locallearn.data.Dataset;
import locallearn.export.onnx.OnnxProto;
import locallearn.train.Classifier;
import locallearn.train.Prediction;
import locallearn.train.SafeTensors;
import locallearn.train.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported graph run by ONNX Runtime gives our logits: 256 test images through an mlp, an
 * mlp without batch norm, and a vgg8b, each compared logit by logit with Classifier's.
 */
class OnnxExportTest {
    /** Largest |ONNX Runtime - Classifier| over the logits of the 256 test images. */
    static double maxLogitDifference(Path checkpoint, Path onnx) throws Exception {
        Dataset test = TestCheckpoints.testImages();
        List<Prediction> ours;
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(checkpoint, be)) {
            clf.exportOnnx(onnx);
            List<float[]> images = new ArrayList<>();
            for (int i = 0; i < test.size(); i++) images.add(java.util.Arrays.copyOfRange(test.images(), i * 784, (i + 1) * 784));
            ours = clf.predict(images);
        }
        var env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(test.images()), new long[] {test.size(), 1, 28, 28});
             OrtSession.Result r = s.run(Map.of("images", in))) {
            assertEquals(Set.of("images"), s.getInputNames());
            assertEquals(Set.of("logits"), s.getOutputNames());
            float[][] theirs = (float[][]) r.get(0).getValue();
            assertEquals(test.size(), theirs.length);
            double max = 0;
            for (int i = 0; i < theirs.length; i++)
                for (int k = 0; k < 10; k++) max = Math.max(max, Math.abs(theirs[i][k] - ours.get(i).logits()[k]));
            return max;
        }
    }

    @Test void mlpLogitsMatchOnnxRuntime(@TempDir Path dir) throws Exception {
        double d = maxLogitDifference(TestCheckpoints.mlp(), dir.resolve("mlp.onnx"));
        System.out.println("onnx export: mlp, max |logit difference| vs ONNX Runtime over 256 images: " + d);
        assertTrue(d <= 1e-4, "mlp: " + d);
    }

    @Test void mlpWithoutBatchNormLogitsMatchOnnxRuntime(@TempDir Path dir) throws Exception {
        double d = maxLogitDifference(TestCheckpoints.mlpWithoutBatchNorm(), dir.resolve("mlp.onnx"));
        System.out.println("onnx export: mlp without batch norm, max |logit difference| vs ONNX Runtime over 256 images: " + d);
        assertTrue(d <= 1e-4, "mlp without batch norm: " + d);
    }

    @Test void vggLogitsMatchOnnxRuntime(@TempDir Path dir) throws Exception {
        double d = maxLogitDifference(TestCheckpoints.vgg(), dir.resolve("vgg.onnx"));
        System.out.println("onnx export: vgg8b, max |logit difference| vs ONNX Runtime over 256 images: " + d);
        assertTrue(d <= 1e-4, "vgg8b: " + d);
    }

    @Test void initializersCarryTheCheckpointsNamesAndOnlyTheInferencePath(@TempDir Path dir) throws Exception {
        Path ck = TestCheckpoints.vgg(), onnx = dir.resolve("vgg.onnx");
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(ck, be)) {
            clf.exportOnnx(onnx);
        }
        OnnxProto.ModelProto m = OnnxProto.ModelProto.parseFrom(Files.readAllBytes(onnx));
        assertEquals(OnnxExport.OPSET, m.getOpsetImport(0).getVersion());
        Set<String> names = new TreeSet<>();
        for (var t : m.getGraph().getInitializerList()) names.add(t.getName());
        Set<String> expected = new TreeSet<>(List.of("normalise.scale", "normalise.shift"));
        for (String k : SafeTensors.read(ck).tensors().keySet())
            if (k.matches(".*\\.(encoder|bn)\\..*") || k.contains("layer_out.")) expected.add(k); // not decoder_y, conv_loss, ...
        assertEquals(expected, names);
        assertTrue(names.contains("features.0.encoder.weight") && names.contains("classifier.layer_out.bias"), names.toString());
        List<String> ops = new ArrayList<>();
        for (var n : m.getGraph().getNodeList()) if (!ops.contains(n.getOpType())) ops.add(n.getOpType());
        assertEquals(List.of("Mul", "Add", "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"), ops);
    }
}
