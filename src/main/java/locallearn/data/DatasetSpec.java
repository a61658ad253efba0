package locallearn.data;

/**
 * Per-dataset facts from the paper's training recipe (paper-summary.md, "Training recipe", and the
 * reference's torchvision transforms): image geometry, class count, the per-channel mean and std
 * the trainer normalises with, and the augmentation the paper used for training (a random crop of
 * the original size from the image zero-padded by {@code cropPad} on each side, 0 = no crop; and
 * a random horizontal flip). Test images are only normalised.
 */
public record DatasetSpec(String name, int channels, int height, int width, int classes, float[] mean, float[] std,
                          int cropPad, boolean flip) {

    public DatasetSpec {
        if (mean.length != channels || std.length != channels)
            throw new IllegalArgumentException("DatasetSpec " + name + ": " + channels + " channels but "
                    + mean.length + " means and " + std.length + " stds");
        mean = mean.clone();
        std = std.clone();
    }

    /** A copy: the record's arrays stay unchanged whatever a caller does with them. */
    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }

    /** C*H*W, the floats of one image. */
    public int imageSize() { return channels * height * width; }
}
