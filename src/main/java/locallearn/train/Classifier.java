package locallearn.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.data.Datasets;
import locallearn.export.OnnxExport;
import locallearn.models.ModelConfig;
import locallearn.models.Models;
import locallearn.models.Net;
import locallearn.nn.Init;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;

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
    private final Tensor normScale, normShift;

    private Classifier(Backend be, Net net, DatasetSpec spec, Map<String, String> metadata) {
        this.be = be;
        this.net = net;
        this.spec = spec;
        this.metadata = Map.copyOf(metadata);
        float[] mean = spec.mean(), std = spec.std(), scale = new float[mean.length], shift = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            scale[c] = 1f / std[c];      // the trainer's normalisation, to the bit: x * (1/std) + (-mean/std)
            shift[c] = -mean[c] / std[c];
        }
        normScale = be.allocate(scale.length);
        normShift = be.allocate(shift.length);
        be.write(normScale, scale);
        be.write(normShift, shift);
    }

    /**
     * Rebuilds the model a checkpoint describes and loads its weights onto {@code backend}. A
     * file that is missing, truncated, of another model or not a locallearn checkpoint is an
     * IllegalArgumentException naming the file (nothing is allocated after it).
     */
    public static Classifier load(Path checkpoint, Backend backend) {
        Map<String, String> meta = Checkpoints.metadata(checkpoint);
        ModelConfig mc = Checkpoints.modelConfig(meta, checkpoint.toString());
        DatasetSpec spec;
        try {
            spec = Datasets.spec(meta.getOrDefault("dataset", "fashion-mnist"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(checkpoint + ": " + e.getMessage());
        }
        if (spec.channels() != mc.channels() || spec.height() != mc.height() || spec.width() != mc.width() || spec.classes() != mc.classes())
            throw new IllegalArgumentException(checkpoint + ": model takes " + shape(mc) + " images of " + mc.classes() + " classes, its dataset "
                    + spec.name() + " has " + spec.channels() + "x" + spec.height() + "x" + spec.width() + " of " + spec.classes());
        Net net = Models.build(mc, new Init(backend, 0), params -> null); // weights come from the file; no optimizer state
        try {
            return new Classifier(backend, net, spec, Checkpoints.loadWeights(checkpoint, net, backend));
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    private static String shape(ModelConfig m) { return m.channels() + "x" + m.height() + "x" + m.width(); }

    /** What the network is (its input is {@code channels x height x width}). */
    public ModelConfig model() { return net.config(); }

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
                        + shape(model()) + " = " + size);
        List<Prediction> out = new ArrayList<>(images.size());
        for (int from = 0; from < images.size(); from += BATCH) {
            int n = Math.min(BATCH, images.size() - from);
            float[] host = new float[n * size];
            for (int i = 0; i < n; i++) System.arraycopy(images.get(from + i), 0, host, i * size, size);
            float[] logits;
            try (Scope s = Scope.open()) {
                logits = be.read(logits(upload(host, n)));
            }
            for (int i = 0; i < n; i++) out.add(Prediction.of(java.util.Arrays.copyOfRange(logits, i * k, (i + 1) * k)));
        }
        return out;
    }

    /** Test loss and error over {@code d}, {@link #BATCH} images at a time. */
    public Evaluation evaluate(Dataset d) { return evaluate(d, BATCH); }

    /**
     * Test loss and error over {@code d} in batches of {@code batchSize}: the loss is the mean of
     * the per-image cross-entropy, summed on the device batch by batch (each batch's mean times
     * its size), exactly as {@link Trainer#evaluate} sums it, so both give the same bits.
     */
    public Evaluation evaluate(Dataset d, int batchSize) {
        if (d.channels() != spec.channels() || d.height() != spec.height() || d.width() != spec.width() || d.classes() != spec.classes())
            throw new IllegalArgumentException("evaluate: dataset " + d.name() + " is " + d.channels() + "x" + d.height() + "x" + d.width()
                    + " with " + d.classes() + " classes, the model takes " + shape(model()) + " with " + spec.classes());
        if (batchSize < 1) throw new IllegalArgumentException("evaluate: batch size must be >= 1, got " + batchSize);
        if (d.size() == 0) throw new IllegalArgumentException("evaluate: dataset " + d.name() + " has no images");
        Tensor lossSum = be.zeros(1), correct = be.zeros(1);
        try {
            Tape t = Tape.noGrad(be);
            int size = d.imageSize();
            for (int from = 0; from < d.size(); from += batchSize) {
                int n = Math.min(batchSize, d.size() - from);
                try (Scope s = Scope.open()) {
                    float[] host = java.util.Arrays.copyOfRange(d.images(), from * size, (from + n) * size);
                    float[] l = new float[n];
                    for (int i = 0; i < n; i++) l[i] = d.labels()[from + i];
                    Tensor labels = be.allocate(n);
                    be.write(labels, l);
                    Var logits = Var.constant(logits(upload(host, n)));
                    Var ce = Ops.crossEntropy(t, logits, labels);
                    be.axpy(n, ce.data(), lossSum);
                    be.countCorrect(logits.data(), labels, correct, true);
                }
            }
            return new Evaluation(be.read(lossSum)[0] / d.size(), 1 - be.read(correct)[0] / d.size());
        } finally {
            lossSum.close();
            correct.close();
        }
    }

    /**
     * Writes the inference graph as an ONNX model (see {@link OnnxExport}): input {@code images}
     * (N, C, H, W) in [0, 1], normalised inside the graph, output {@code logits} (N, classes).
     */
    public void exportOnnx(Path file) { OnnxExport.write(net, spec, be, file); }

    /** n images (N, C, H, W) on the device, normalised; owned by the open scope. */
    private Tensor upload(float[] host, int n) {
        Tensor x = be.allocate(n, spec.channels(), spec.height(), spec.width());
        be.write(x, host);
        be.channelAffine(x, normScale, normShift);
        return x;
    }

    /** The logits (N, K) of normalised images x, in the open scope; each stage's temporaries go back to the pool. */
    private Tensor logits(Tensor x) {
        Tape t = Tape.noGrad(be);
        Var in = Var.constant(x);
        Tensor owned = null; // the previous stage's output, released once the next stage has read it
        for (Net.Stage stage : net.stages()) {
            Tensor next;
            try (Scope inner = Scope.open()) {
                next = stage.layer().forward(t, in).data();
                inner.keep(next);
            }
            if (owned != null) owned.close();
            owned = next;
            in = Var.constant(next);
        }
        return net.output().forward(t, in).data();
    }

    @Override public void close() {
        net.close();
        normScale.close();
        normShift.close();
    }
}
