package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.awt.image.BufferedImage;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.backend.cpu.CpuBackend;
import locallearn.data.ClassNames;
import locallearn.data.Datasets;
import locallearn.data.ImageFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's "Predict" and "Export to ONNX" snippets, kept compiling and working (on a small trained mlp and the embedded sample). */
class InferenceExampleTest {
    @Test void readmePredictSnippetClassifiesAPngAndEvaluates(@TempDir Path dir) throws Exception {
        Path checkpoint = TestCheckpoints.mlp(), dataDir = TestCheckpoints.SAMPLE, png = dir.resolve("shirt.png");
        float[] pixels = Arrays.copyOfRange(TestCheckpoints.testImages().images(), 0, 784);
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < 784; i++) img.getRaster().setSample(i % 28, i / 28, 0, Math.round(pixels[i] * 255));
        ImageIO.write(img, "png", png.toFile());
        // ---- README snippet starts
        // checkpoint: a checkpoint.safetensors written by train; png: a 28x28 gray PNG; dataDir: null looks in the usual places
        Prediction p;
        Classifier.Evaluation e;
        try (Backend be = Backends.auto(); Classifier clf = Classifier.load(checkpoint, be)) {
            p = clf.predict(ImageFile.read(png, clf.dataset()));   // C*H*W floats, pixel/255, normalised inside
            e = clf.evaluate(Datasets.load(clf.dataset().name(), dataDir, Datasets.LoadOptions.defaults()).test());
        }
        List<String> names = ClassNames.of("fashion-mnist");
        System.out.printf("class %d (%s), p = %.3f; test error %.2f%%%n", p.label(), names.get(p.label()), p.probability(), 100 * e.error());
        // ---- README snippet ends
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(checkpoint, be)) {
            assertEquals(clf.predict(pixels).label(), p.label(), "the PNG holds the test image exactly");
        }
        assertTrue(e.error() < 0.8, "trained, so well below chance (90%): " + e.error());
    }

    @Test void readmeExportSnippetRunsInOnnxRuntime(@TempDir Path dir) throws Exception {
        Path checkpoint = TestCheckpoints.mlp(), onnxFile = dir.resolve("model.onnx");
        float[] image = Arrays.copyOfRange(TestCheckpoints.testImages().images(), 0, 784);
        // ---- README snippet starts
        // checkpoint: a checkpoint.safetensors written by train; onnxFile: where the model goes; image: 1x28x28 floats, pixel/255
        try (Backend be = Backends.cpu(); Classifier clf = Classifier.load(checkpoint, be)) {
            clf.exportOnnx(onnxFile); // input "images" (N, C, H, W) as pixel/255, output "logits" (N, classes)
        }
        // any ONNX runtime runs it; here ONNX Runtime's Java API (com.microsoft.onnxruntime:onnxruntime)
        var env = OrtEnvironment.getEnvironment();
        float[] logits;
        try (var session = env.createSession(onnxFile.toString(), new OrtSession.SessionOptions());
             var images = OnnxTensor.createTensor(env, FloatBuffer.wrap(image), new long[] {1, 1, 28, 28});
             var result = session.run(Map.of("images", images))) {
            logits = ((float[][]) result.get(0).getValue())[0];
        }
        // ---- README snippet ends
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(checkpoint, be)) {
            float[] ours = clf.predict(image).logits();
            for (int k = 0; k < 10; k++) assertEquals(ours[k], logits[k], 1e-4, "logit " + k);
        }
    }
}
