package locallearn.train;

import locallearn.backend.Backend;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.data.ResizedCrop;
import locallearn.local.Targets;
import locallearn.tensor.DType;
import locallearn.tensor.Tensor;

/**
 * The batch pipeline: gathers examples, uploads them, crops, flips and cuts them out on the
 * device when training, normalises them with the dataset's mean and std, and makes the targets
 * the losses read. Randomness is a pure function of (seed, step): Philox stream
 * {@code 64 * step + slot}, with the slots named here, so resuming needs only the step counter.
 * Augmentation and normalisation run in float32; the batch then enters the network in the
 * activations' dtype (bf16 under {@code --precision bf16}), the one place a run's activations get it.
 */
final class Batches implements AutoCloseable {
    static final int SLOT_CROP = 0, SLOT_CUTOUT = 1;

    /** Dropout of hidden block k uses slot SLOT_LAYER + k. */
    static final int SLOT_LAYER = 2;

    private final Backend be;
    private final DatasetSpec spec;
    private final long seed;
    private final int cutout, cutoutHoles;
    private final boolean similarityTargets;
    private final Tensor normScale, normShift;
    private final DType activations;

    /** The batches a run trains and evaluates on: its seed, cutout and the targets its losses read. */
    Batches(Backend be, DatasetSpec spec, TrainConfig config) {
        this(be, spec, config.seed(), config.cutout(), config.cutoutHoles(), config.model().hasSimLoss() && !config.model().loss().bio(),
                config.precision().activations());
    }

    /**
     * Batches normalised for {@code spec}, augmented (when asked) from {@code seed}, with
     * similarity targets when {@code similarityTargets}, handed to the network as {@code activations}.
     */
    Batches(Backend be, DatasetSpec spec, long seed, int cutout, int cutoutHoles, boolean similarityTargets, DType activations) {
        this.be = be;
        this.activations = activations;
        this.spec = spec;
        this.seed = seed;
        this.cutout = cutout;
        this.cutoutHoles = cutoutHoles;
        this.similarityTargets = similarityTargets;
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

    /**
     * Philox stream of {@code slot} in training step {@code step}: 64 a step; slots from 64 on
     * (the blocks past the 62nd, in resnet101 and resnet152) in a range of their own from 2^50.
     */
    static long stream(long step, int slot) {
        if (slot < 64) return step * 64 + slot;
        if (slot >= 1024) throw new IllegalArgumentException("batches: random stream slot " + slot + " of 1024");
        return (1L << 50) + step * 1024 + slot;
    }

    /**
     * Uploads examples order[from..to) of {@code d} (order null: in order), augments them when
     * asked, normalises them on the device. Images stored larger than the model takes (imagenet)
     * are cropped on the host while gathering ({@link ResizedCrop}).
     */
    Trainer.Batch of(Dataset d, int[] order, int from, int to, boolean augment, long step) {
        int n = to - from, size = spec.imageSize();
        boolean crop = spec.resizedCropFrom() > 0;
        float[] host = new float[n * size], stored = crop ? new float[d.imageSize()] : null;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int idx = order == null ? from + i : order[from + i];
            if (crop) {
                d.copyImage(idx, stored, 0);
                ResizedCrop.crop(stored, d.channels(), d.height(), d.width(), host, i * size, spec.height(), spec.width(),
                        augment, seed, stream(step, SLOT_CROP), i);
            } else {
                d.copyImage(idx, host, i * size);
            }
            labels[i] = d.labels()[idx];
        }
        Tensor x = be.allocate(n, spec.channels(), spec.height(), spec.width());
        be.write(x, host);
        if (augment && (spec.cropPad() > 0 || spec.flip())) {
            Tensor y = be.allocate(x.shape());
            be.randomCropFlip(x, y, spec.cropPad(), spec.flip(), seed, stream(step, SLOT_CROP));
            x.close();
            x = y;
        }
        normalise(x);
        if (augment && cutout > 0) be.cutout(x, cutout, cutoutHoles, seed, stream(step, SLOT_CUTOUT));
        return new Trainer.Batch(asActivations(x), Targets.of(be, labels, d.classes(), similarityTargets));
    }

    /** {@code n} images of C*H*W floats in [0, 1] on the device, normalised; owned by the open scope. */
    Tensor normalised(float[] host, int n) {
        Tensor x = be.allocate(n, spec.channels(), spec.height(), spec.width());
        be.write(x, host);
        normalise(x);
        return asActivations(x);
    }

    /** x in the activations' dtype: itself, or a converted copy (x is closed). */
    private Tensor asActivations(Tensor x) {
        if (x.dtype() == activations) return x;
        Tensor a = be.allocate(x.shape(), activations);
        be.copy(x, a);
        x.close();
        return a;
    }

    /** x * (1/std) + (-mean/std) per channel, in place. */
    private void normalise(Tensor x) { be.channelAffine(x, normScale, normShift); }

    @Override public void close() {
        normScale.close();
        normShift.close();
    }
}
