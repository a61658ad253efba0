package locallearn.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import locallearn.backend.Backend;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.export.OnnxExport;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import locallearn.models.Models;
import locallearn.models.Net;
import locallearn.nn.Init;
import locallearn.tensor.Scope;

/**
 * A trained network for inference: rebuilt from a checkpoint's metadata without optimizers,
 * its weights loaded, run in eval mode (running batch-norm statistics, no dropout) on a tape
 * that records nothing. Images come as the dataset loaders give them, C*H*W floats in [0, 1]
 * (pixel / 255), and are normalised here with the mean and std of the dataset the model was
 * trained on, as the trainer does.
 *
 * <p>Each stage runs in its own scope, so only one stage's input and output are alive at a time,
 * as in {@link Trainer#evaluate}, whose numbers {@link #evaluate} reproduces exactly.
 */
public final class Classifier implements AutoCloseable {
    /** Images per forward pass: Trainer.evaluate's batch for the paper's batch sizes. */
    public static final int BATCH = 256;

    /** Mean cross-entropy and error (fraction wrong) over a test set. */
    public record Evaluation(double loss, double error) {}

    private final Backend be;
    private final Net net;
    private final DatasetSpec spec;
    private final Map<String, String> metadata;
    private final Batches batches; // normalisation as the trainer's, to the bit

    private Classifier(Backend be, Net net, DatasetSpec spec, Map<String, String> metadata) {
        this.be = be;
        this.net = net;
        this.spec = spec;
        this.metadata = Map.copyOf(metadata);
        this.batches = new Batches(be, spec, 0, 0, 1, false, be.precision().activations());
    }

    /**
     * Rebuilds the model a checkpoint describes and loads its weights onto {@code backend}. A
     * file that is missing, truncated, of another model or not a locallearn checkpoint is an
     * IllegalArgumentException naming the file (nothing is allocated after it).
     */
    public static Classifier load(Path checkpoint, Backend backend) {
        Map<String, String> meta = Checkpoints.metadata(checkpoint);
        ModelConfig mc = Checkpoints.modelConfig(meta, checkpoint.toString());
        ModelInput in = Checkpoints.modelInput(meta, checkpoint.toString());
        DatasetSpec spec;
        try {
            spec = meta.containsKey(Checkpoints.CLASS_NAMES) ? Checkpoints.datasetSpec(meta, in, checkpoint.toString())
                    : Datasets.spec(meta.getOrDefault("dataset", "fashion-mnist"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(checkpoint + ": " + e.getMessage());
        }
        if (spec.channels() != in.channels() || spec.height() != in.height() || spec.width() != in.width() || spec.classes() != in.classes())
            throw new IllegalArgumentException(checkpoint + ": model takes " + in.text() + " images of " + in.classes() + " classes, its dataset "
                    + spec.name() + " has " + spec.channels() + "x" + spec.height() + "x" + spec.width() + " of " + spec.classes());
        Net net = Models.build(mc, in, new Init(backend, 0), null); // weights come from the file; no optimizer state
        try {
            return new Classifier(backend, net, spec, Checkpoints.loadWeights(checkpoint, net, backend));
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    /** What the network is and how it was trained. */
    public ModelConfig model() { return net.config(); }

    /** The images it takes and the classes it tells apart. */
    public ModelInput input() { return net.input(); }

    /** The dataset the model was trained on: its image geometry, classes, and the mean and std it normalises with. */
    public DatasetSpec dataset() { return spec; }

    /** The checkpoint's metadata: the epoch it was saved after and the run's configuration (string to string). */
    public Map<String, String> metadata() { return metadata; }

    /** The class of one image of C*H*W floats in [0, 1]. */
    public Prediction predict(float[] image) { return predict(List.of(image)).getFirst(); }

    /** The classes of several images, in order, computed {@link #BATCH} at a time. */
    public List<Prediction> predict(List<float[]> images) {
        int size = spec.imageSize(), k = spec.classes();
        for (int i = 0; i < images.size(); i++)
            if (images.get(i).length != size)
                throw new IllegalArgumentException("predict: image " + i + " has " + images.get(i).length + " floats, the model takes "
                        + input().text() + " = " + size);
        List<Prediction> out = new ArrayList<>(images.size());
        for (int from = 0; from < images.size(); from += BATCH) {
            int n = Math.min(BATCH, images.size() - from);
            float[] host = new float[n * size];
            for (int i = 0; i < n; i++) System.arraycopy(images.get(from + i), 0, host, i * size, size);
            float[] logits;
            try (Scope s = Scope.open()) {
                logits = be.read(Stages.logits(net, be, batches.normalised(host, n)));
            }
            for (int i = 0; i < n; i++) out.add(Prediction.of(java.util.Arrays.copyOfRange(logits, i * k, (i + 1) * k)));
        }
        return out;
    }

    /** Test loss and error over {@code d}, {@link #BATCH} images at a time. */
    public Evaluation evaluate(Dataset d) { return evaluate(d, BATCH); }

    /**
     * Test loss and error over {@code d} in batches of {@code batchSize}: the mean of the
     * per-image cross-entropy and the fraction wrong, summed as {@link Trainer#evaluate} sums
     * them (the same code), so both give the same bits.
     */
    public Evaluation evaluate(Dataset d, int batchSize) {
        if (d.channels() != spec.channels() || d.height() != spec.storedHeight() || d.width() != spec.storedWidth() || d.classes() != spec.classes())
            throw new IllegalArgumentException("evaluate: dataset " + d.name() + " is " + d.channels() + "x" + d.height() + "x" + d.width()
                    + " with " + d.classes() + " classes, the model takes " + input().text() + " with " + spec.classes());
        if (batchSize < 1) throw new IllegalArgumentException("evaluate: batch size must be >= 1, got " + batchSize);
        if (d.size() == 0) throw new IllegalArgumentException("evaluate: dataset " + d.name() + " has no images");
        double[] r = Stages.evaluate(net, be, batches, d, batchSize);
        return new Evaluation(r[0], r[1]);
    }

    /**
     * Writes the inference graph as an ONNX model (see {@link OnnxExport}): input {@code images}
     * (N, C, H, W) in [0, 1], normalised inside the graph, output {@code logits} (N, classes).
     */
    public void exportOnnx(Path file) { OnnxExport.write(net, spec, be, file); }

    @Override public void close() {
        net.close();
        batches.close();
    }
}
