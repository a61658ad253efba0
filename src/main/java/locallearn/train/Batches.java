package locallearn.train;

import locallearn.backend.Backend;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.local.Targets;
import locallearn.config.ModelConfig;
import locallearn.tensor.Tensor;

/**
 * The batch pipeline: gathers examples, uploads them, crops, flips and cuts them out on the
 * device when training, normalises them with the dataset's mean and std, and makes the targets
 * the losses read. Randomness is a pure function of (seed, step): Philox stream
 * {@code 64 * step + slot}, with the slots named here, so resuming needs only the step counter.
 */
final class Batches implements AutoCloseable {
    static final int SLOT_CROP = 0, SLOT_CUTOUT = 1;

    /** Dropout of hidden block k uses slot SLOT_LAYER + k. */
    static final int SLOT_LAYER = 2;

    private final Backend be;
    private final DatasetSpec spec;
    private final long seed;
    private final int cutout;
    private final boolean similarityTargets;
    private final Tensor normScale, normShift;

    Batches(Backend be, DatasetSpec spec, TrainConfig config) {
        this.be = be;
        this.spec = spec;
        this.seed = config.seed();
        this.cutout = config.cutout();
        ModelConfig m = config.model();
        this.similarityTargets = m.hasSimLoss() && !m.loss().bio();
        float[] mean = spec.mean(), std = spec.std(), scale = new float[mean.length], shift = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            scale[c] = 1f / std[c];
            shift[c] = -mean[c] / std[c];
        }
        normScale = be.allocate(scale.length);
        normShift = be.allocate(shift.length);
        be.write(normScale, scale);
        be.write(normShift, shift);
    }

    /** Philox stream of {@code slot} in training step {@code step}. */
    static long stream(long step, int slot) { return step * 64 + slot; }

    /** Uploads examples order[from..to) of {@code d} (order null: in order), augments them when asked, normalises them on the device. */
    Trainer.Batch of(Dataset d, int[] order, int from, int to, boolean augment, long step) {
        int n = to - from, size = d.imageSize();
        float[] host = new float[n * size];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int idx = order == null ? from + i : order[from + i];
            System.arraycopy(d.images(), idx * size, host, i * size, size);
            labels[i] = d.labels()[idx];
        }
        Tensor x = be.allocate(n, d.channels(), d.height(), d.width());
        be.write(x, host);
        if (augment && (spec.cropPad() > 0 || spec.flip())) {
            Tensor y = be.allocate(x.shape());
            be.randomCropFlip(x, y, spec.cropPad(), spec.flip(), seed, stream(step, SLOT_CROP));
            x.close();
            x = y;
        }
        be.channelAffine(x, normScale, normShift);
        if (augment && cutout > 0) be.cutout(x, cutout, seed, stream(step, SLOT_CUTOUT));
        return new Trainer.Batch(x, Targets.of(be, labels, d.classes(), similarityTargets));
    }

    @Override public void close() {
        normScale.close();
        normShift.close();
    }
}
