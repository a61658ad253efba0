package locallearn.data;

import java.util.Arrays;

/**
 * A labelled image set in memory: pixel values in [0, 1] (pixel / 255, NOT normalised: the trainer
 * crops, then normalises with {@link DatasetSpec#mean()} and {@link DatasetSpec#std()} on the
 * device, as the reference's torchvision pipeline does), images (N, C, H, W) row-major, labels (N)
 * in [0, classes).
 */
public record Dataset(String name, int channels, int height, int width, int classes, float[] images, int[] labels) {

    public Dataset {
        if (channels <= 0 || height <= 0 || width <= 0 || classes <= 0)
            throw new IllegalArgumentException("Dataset " + name + ": bad geometry " + channels + "x" + height + "x"
                    + width + " with " + classes + " classes");
        long expected = (long) labels.length * channels * height * width;
        if (images.length != expected)
            throw new IllegalArgumentException("Dataset " + name + ": " + labels.length + " labels of " + channels + "x"
                    + height + "x" + width + " images need " + expected + " pixels, got " + images.length);
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

    /** The first {@code n} images, or this whole set when {@code n <= 0} or {@code n >= size()}. */
    public Dataset limit(int n) {
        if (n <= 0 || n >= size()) return this;
        return new Dataset(name, channels, height, width, classes,
                Arrays.copyOf(images, n * imageSize()), Arrays.copyOf(labels, n));
    }
}
