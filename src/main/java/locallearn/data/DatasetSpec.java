package locallearn.data;

/**
 * Per-dataset facts from the paper's training recipe (paper-summary.md, "Training recipe", and the
 * reference's torchvision transforms): image geometry, class count, the per-channel mean and std
 * the trainer normalises with, and the augmentation the paper used for training (a random crop of
 * the original size from the image zero-padded by {@code cropPad} on each side, 0 = no crop; and
 * a random horizontal flip). Test images are only normalised.
 *
 * <p>With {@code resizedCropFrom} > 0 (imagenet) the images are stored at that size, square, and
 * the model sees H x W crops of them: a random-resized crop when training, the centre crop when
 * testing ({@link ResizedCrop}). {@code classNames} are the names of the labels where the data
 * brings them (an image folder's class folders), else empty ({@link ClassNames}).
 */
public record DatasetSpec(String name, int channels, int height, int width, int classes, float[] mean, float[] std,
                          int cropPad, boolean flip, int resizedCropFrom, java.util.List<String> classNames) {

    public DatasetSpec {
        if (mean.length != channels || std.length != channels)
            throw new IllegalArgumentException("DatasetSpec " + name + ": " + channels + " channels but "
                    + mean.length + " means and " + std.length + " stds");
        if (resizedCropFrom != 0 && (resizedCropFrom < height || resizedCropFrom < width))
            throw new IllegalArgumentException("DatasetSpec " + name + ": crops of " + height + "x" + width + " cannot come from "
                    + resizedCropFrom + "x" + resizedCropFrom + " images");
        if (!classNames.isEmpty() && classNames.size() != classes)
            throw new IllegalArgumentException("DatasetSpec " + name + ": " + classes + " classes but " + classNames.size() + " class names");
        mean = mean.clone();
        std = std.clone();
        classNames = java.util.List.copyOf(classNames);
    }

    /** The facts of a dataset stored at the size the model takes, whose labels have no names of their own here. */
    public DatasetSpec(String name, int channels, int height, int width, int classes, float[] mean, float[] std, int cropPad, boolean flip) {
        this(name, channels, height, width, classes, mean, std, cropPad, flip, 0, java.util.List.of());
    }

    /** The height of the images as stored (and as a {@link Dataset} of this spec holds them). */
    public int storedHeight() { return resizedCropFrom > 0 ? resizedCropFrom : height; }

    /** The width of the images as stored. */
    public int storedWidth() { return resizedCropFrom > 0 ? resizedCropFrom : width; }

    /** A copy: the record's arrays stay unchanged whatever a caller does with them. */
    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }

    /** C*H*W, the floats of one image. */
    public int imageSize() { return channels * height * width; }
}
