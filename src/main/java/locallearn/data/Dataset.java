package locallearn.data;

import java.util.Arrays;

/**
 * A labelled image set: pixel values in [0, 1] (pixel / 255, NOT normalised: the trainer crops,
 * then normalises with {@link DatasetSpec#mean()} and {@link DatasetSpec#std()} on the device, as
 * the reference's torchvision pipeline does), images (N, C, H, W) row-major, labels (N) in
 * [0, classes). The pixels are on the heap or memory-mapped ({@link Pixels}).
 */
public record Dataset(String name, int channels, int height, int width, int classes, Pixels pixels, int[] labels) {

    /** A dataset whose pixels are floats on the heap. */
    public Dataset(String name, int channels, int height, int width, int classes, float[] images, int[] labels) {
        this(name, channels, height, width, classes, new Pixels.Floats(images), labels);
    }

    public Dataset {
        if (channels <= 0 || height <= 0 || width <= 0 || classes <= 0)
            throw new IllegalArgumentException("Dataset " + name + ": bad geometry " + channels + "x" + height + "x"
                    + width + " with " + classes + " classes");
        long expected = (long) labels.length * channels * height * width;
        if (pixels.count() != expected)
            throw new IllegalArgumentException("Dataset " + name + ": " + labels.length + " labels of " + channels + "x"
                    + height + "x" + width + " images need " + expected + " pixels, got " + pixels.count());
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes)
                throw new IllegalArgumentException("Dataset " + name + ": label " + labels[i] + " at index " + i
                        + " is out of range 0.." + (classes - 1));
        }
    }

    /** N, the number of images. */
    public int size() { return labels.length; }

    /** C*H*W, the floats of one image. */
    public int imageSize() { return channels * height * width; }

    /** The pixels as one float array, for the datasets held on the heap; a memory-mapped one is refused (it may not fit). */
    public float[] images() {
        if (pixels instanceof Pixels.Floats f) return f.values();
        throw new IllegalStateException("Dataset " + name + ": its pixels are memory-mapped, not one float array; read images with copyImage");
    }

    /** Image {@code index} as C*H*W floats into {@code dst} at {@code at}. */
    public void copyImage(int index, float[] dst, int at) {
        pixels.copy((long) index * imageSize(), dst, at, imageSize());
    }

    /** The first {@code n} images, or this whole set when {@code n <= 0} or {@code n >= size()}. */
    public Dataset limit(int n) {
        if (n <= 0 || n >= size()) return this;
        return new Dataset(name, channels, height, width, classes, pixels.first((long) n * imageSize()), Arrays.copyOf(labels, n));
    }
}
