package locallearn.data;

import locallearn.backend.Philox;

/**
 * The crops that {@code --dataset imagenet} takes from its cached S x S images (S = 256): when
 * training, torchvision's RandomResizedCrop(224) (a box of 8 % to 100 % of the area with aspect
 * ratio in [3/4, 4/3], up to ten tries, then the centre box of the clamped ratio) resampled to the
 * output size, then a horizontal flip with probability 1/2; when testing, the centre crop, which
 * on the cached image (shorter side resized to S, centre cropped) is exactly the reference's
 * Resize(256) then CenterCrop(224). Done on the host while gathering a batch, so both backends
 * train on the same pixels; every random number is Philox of (seed, the batch's crop stream,
 * image i of the batch), so a run is a pure function of its seed as the device augmentations are.
 * Resampled values are rounded to whole 8-bit levels, as the reference's PIL pipeline stores them.
 */
public final class ResizedCrop {
    private ResizedCrop() {}

    static final double MIN_AREA = 0.08, MAX_AREA = 1.0, MIN_RATIO = 3.0 / 4, MAX_RATIO = 4.0 / 3;
    static final int TRIES = 10, BLOCKS_PER_IMAGE = 16, FLIP_BLOCK = TRIES;

    /** The box {y0, x0, h, w} that image {@code i} of the batch with crop stream {@code stream} takes from an {@code H x W} image. */
    static int[] randomBox(int imgH, int imgW, long seed, long stream, int i) {
        double area = (double) imgH * imgW, logLo = Math.log(MIN_RATIO), logHi = Math.log(MAX_RATIO);
        int[] b = new int[4];
        for (int t = 0; t < TRIES; t++) {
            Philox.block(seed, stream, (long) i * BLOCKS_PER_IMAGE + t, b);
            double target = area * (MIN_AREA + unit(b[0]) * (MAX_AREA - MIN_AREA));
            double ratio = Math.exp(logLo + unit(b[1]) * (logHi - logLo));
            int w = (int) Math.rint(Math.sqrt(target * ratio)), h = (int) Math.rint(Math.sqrt(target / ratio)); // Python's round
            if (w > 0 && h > 0 && w <= imgW && h <= imgH)
                return new int[] {below(b[2], imgH - h + 1), below(b[3], imgW - w + 1), h, w};
        }
        double inRatio = (double) imgW / imgH; // ten misses: the centre box, its ratio clamped to the range
        int w = imgW, h = imgH;
        if (inRatio < MIN_RATIO) h = (int) Math.rint(w / MIN_RATIO);
        else if (inRatio > MAX_RATIO) w = (int) Math.rint(h * MAX_RATIO);
        return new int[] {(imgH - h) / 2, (imgW - w) / 2, h, w};
    }

    /** Does image {@code i} of the batch get flipped? */
    static boolean flips(long seed, long stream, int i) {
        return Philox.block(seed, stream, (long) i * BLOCKS_PER_IMAGE + FLIP_BLOCK)[0] < 0; // the top bit: probability 1/2
    }

    /** 24 random bits as a uniform in [0, 1). */
    private static double unit(int bits) { return (bits >>> 8) * 0x1.0p-24; }

    /** 32 random bits mapped to [0, n) by multiply-shift. */
    private static int below(int bits, int n) { return (int) (((bits & 0xFFFFFFFFL) * n) >>> 32); }

    /**
     * Image {@code src} (C x H x W floats in [0, 1]) cropped to {@code outH x outW} into
     * {@code dst} at {@code at}: randomly for image {@code i} of a training batch, else the centre.
     */
    public static void crop(float[] src, int c, int h, int w, float[] dst, int at, int outH, int outW,
                            boolean random, long seed, long stream, int i) {
        int plane = outH * outW;
        if (!random) {
            int y0 = (int) Math.rint((h - outH) / 2.0), x0 = (int) Math.rint((w - outW) / 2.0);
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < outH; y++) System.arraycopy(src, (ch * h + y0 + y) * w + x0, dst, at + ch * plane + y * outW, outW);
            return;
        }
        int[] box = randomBox(h, w, seed, stream, i);
        Resize.box(src, c, h, w, box[0], box[2], box[1], box[3], dst, at, outH, outW);
        boolean flip = flips(seed, stream, i);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < outH; y++) {
                int row = at + ch * plane + y * outW;
                for (int x = 0; x < outW; x++) dst[row + x] = Math.round(Math.clamp(dst[row + x], 0f, 1f) * 255) / 255f;
                if (flip)
                    for (int l = row, r = row + outW - 1; l < r; l++, r--) { float t = dst[l]; dst[l] = dst[r]; dst[r] = t; }
            }
    }
}
