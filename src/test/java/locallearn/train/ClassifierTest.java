package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import locallearn.backend.cpu.CpuBackend;
import locallearn.data.Dataset;
import locallearn.data.Datasets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Classifier: a checkpoint for inference, giving the trainer's numbers without its optimizer state. */
class ClassifierTest {
    static List<float[]> images(Dataset d) {
        List<float[]> l = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) l.add(java.util.Arrays.copyOfRange(d.images(), i * d.imageSize(), (i + 1) * d.imageSize()));
        return l;
    }

    @Test void predictionIsTheArgmaxOfTheLogitsWithSoftmaxProbabilities() {
        for (Path ck : List.of(TestCheckpoints.mlp(), TestCheckpoints.vgg())) {
            try (var be = new CpuBackend(); Classifier clf = Classifier.load(ck, be)) {
                List<Prediction> ps = clf.predict(images(TestCheckpoints.testImages()));
                assertEquals(256, ps.size());
                for (Prediction p : ps) {
                    float[] l = p.logits(), q = p.probabilities();
                    double sum = 0;
                    for (int k = 0; k < l.length; k++) {
                        assertTrue(l[k] <= l[p.label()], ck + ": logit " + k + " " + l[k] + " above the predicted class's " + l[p.label()]);
                        sum += q[k];
                        // softmax ratios: q_k / q_label = exp(l_k - l_label)
                        assertEquals(Math.exp(l[k] - l[p.label()]), q[k] / q[p.label()], 1e-5);
                    }
                    assertEquals(1.0, sum, 1e-6);
                    assertEquals(p.label(), p.top(3)[0]);
                }
            }
        }
    }

    @Test void evaluateGivesTheTrainersNumbersToTheBit() {
        Dataset test = TestCheckpoints.testImages();
        for (Path ck : List.of(TestCheckpoints.mlp(), TestCheckpoints.vgg())) {
            var mc = Checkpoints.modelConfig(Checkpoints.metadata(ck), ck.toString());
            double[] expected;
            try (var be = new CpuBackend(); Trainer t = new Trainer(be, TrainConfig.of(mc, 1), test, test, Datasets.spec("fashion-mnist"))) {
                Checkpoints.loadWeights(ck, t.net(), be);
                expected = t.evaluate(test); // batch 128, so the trainer evaluates 256 at a time, as Classifier.BATCH
            }
            try (var be = new CpuBackend(); Classifier clf = Classifier.load(ck, be)) {
                Classifier.Evaluation e = clf.evaluate(test);
                assertEquals(expected[0], e.loss(), 0.0, ck.toString());
                assertEquals(expected[1], e.error(), 0.0, ck.toString());
                // and predict agrees with it image by image
                List<Prediction> ps = clf.predict(images(test));
                int wrong = 0;
                for (int i = 0; i < ps.size(); i++) if (ps.get(i).label() != test.labels()[i]) wrong++;
                assertEquals(e.error(), wrong / 256.0, 1e-6);
                assertTrue(e.error() < 0.8, ck + ": trained, so well below chance (90%): " + e.error());
            }
        }
    }

    @Test void oneImageGivesTheSameClassAsInABatch() {
        Dataset test = TestCheckpoints.testImages();
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(TestCheckpoints.vgg(), be)) {
            List<Prediction> batch = clf.predict(images(test));
            for (int i = 0; i < 8; i++) {
                Prediction one = clf.predict(images(test).get(i));
                assertEquals(batch.get(i).label(), one.label());
                for (int k = 0; k < 10; k++) assertEquals(batch.get(i).logits()[k], one.logits()[k], 1e-5);
            }
        }
    }

    @Test void loadingAllocatesTheWeightsAndNoOptimizerState() {
        Path ck = TestCheckpoints.mlp();
        long stateBytes = 0;
        try (var be = new CpuBackend(); Trainer t = new Trainer(be, TrainConfig.of(Checkpoints.modelConfig(Checkpoints.metadata(ck), ck.toString()), 1),
                TestCheckpoints.testImages(), TestCheckpoints.testImages(), Datasets.spec("fashion-mnist"))) {
            for (var v : t.net().state("").values()) stateBytes += 4L * v.data().shape().numel();
        }
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(ck, be)) {
            // the weights and buffers, plus the normaliser's scale and shift (one float each per channel); Adam would double the parameters
            assertEquals(stateBytes + 2 * 4, be.memory().current());
            clf.predict(images(TestCheckpoints.testImages()));
            assertEquals(stateBytes + 2 * 4, be.memory().current(), "predict returns every activation to the pool");
        }
    }

    @Test void anImageOfAnotherSizeIsRefusedWithTheModelsShape() {
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(TestCheckpoints.mlp(), be)) {
            var e = assertThrows(IllegalArgumentException.class, () -> clf.predict(new float[32 * 32 * 3]));
            assertEquals("predict: image 0 has 3072 floats, the model takes 1x28x28 = 784", e.getMessage());
        }
    }

    @Test void aCheckpointWithoutOneTensorIsRefusedAndFreesWhatItBuilt(@TempDir Path dir) throws Exception {
        Path ck = TestCheckpoints.mlp(), bad = dir.resolve("checkpoint.safetensors");
        SafeTensors.Contents c = SafeTensors.read(ck);
        var tensors = new java.util.LinkedHashMap<>(c.tensors());
        tensors.remove("layers.1.bn.running_var");
        SafeTensors.write(bad, tensors, c.metadata());
        try (var be = new CpuBackend()) {
            var e = assertThrows(IllegalArgumentException.class, () -> Classifier.load(bad, be));
            assertEquals(bad + ": no tensor 'layers.1.bn.running_var' (checkpoint of another model?)", e.getMessage());
            assertEquals(0, be.memory().current(), "the half-built network went back to the pool");
        }
        assertTrue(Files.exists(bad));
    }
}
