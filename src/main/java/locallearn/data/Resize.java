package locallearn.data;

/**
 * Resampling with PIL's antialiased bilinear filter (what torchvision's Resize and
 * RandomResizedCrop use on PIL images): a triangle filter whose radius is one source pixel when
 * enlarging and one output pixel's footprint when shrinking, so a large reduction averages every
 * source pixel instead of skipping most of them. Separable: rows, then columns.
 *
 * <p>An axis maps output pixel {@code o} of {@code outSize} onto the source interval
 * [start + o*s, start + (o+1)*s), s = extent / outSize: the whole image when resizing, a crop
 * box when cropping, with fractional starts as a scaled-then-cropped image needs.
 */
final class Resize {
    private Resize() {}

    /** The filter taps of one axis: output o reads source pixels first[o] .. first[o] + count[o] - 1 with weights[o * width + k]. */
    record Taps(int[] first, int[] count, float[] weights, int width) {
        int outSize() { return first.length; }

        /** The lowest source index any output reads. */
        int lowest() { return first[0]; }

        /** One past the highest source index any output reads. */
        int highest() {
            int h = 0;
            for (int o = 0; o < first.length; o++) h = Math.max(h, first[o] + count[o]);
            return h;
        }
    }

    static Taps taps(int inSize, double start, double extent, int outSize) {
        double s = extent / outSize, support = Math.max(s, 1);
        int width = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize];
        float[] weights = new float[outSize * width];
        for (int o = 0; o < outSize; o++) {
            double centre = start + (o + 0.5) * s;
            int lo = Math.max(0, (int) (centre - support + 0.5)), hi = Math.min(inSize, (int) (centre + support + 0.5));
            if (hi <= lo) { lo = Math.min(Math.max(0, (int) centre), inSize - 1); hi = lo + 1; } // a box entirely off the image edge
            double sum = 0;
            for (int i = lo; i < hi; i++) sum += triangle((i + 0.5 - centre) / support);
            for (int i = lo; i < hi; i++)
                weights[o * width + i - lo] = (float) (sum > 0 ? triangle((i + 0.5 - centre) / support) / sum : 1.0 / (hi - lo));
            first[o] = lo;
            count[o] = hi - lo;
        }
        return new Taps(first, count, weights, width);
    }

    private static double triangle(double x) { return Math.max(0, 1 - Math.abs(x)); }

    /** dst[dstAt + o*dstStride] = sum_k w(o, k) src[srcAt + (first[o] + k)*srcStride], for every output o of the axis. */
    static void apply(Taps t, float[] src, int srcAt, int srcStride, float[] dst, int dstAt, int dstStride) {
        for (int o = 0; o < t.outSize(); o++) {
            float acc = 0;
            int base = srcAt + t.first[o] * srcStride, wAt = o * t.width;
            for (int k = 0; k < t.count[o]; k++) acc += t.weights[wAt + k] * src[base + k * srcStride];
            dst[dstAt + o * dstStride] = acc;
        }
    }

    /** A source image read a row at a time: row {@code y} of every channel into {@code channels[c][0..w)}. */
    interface Rows { void read(int y, float[][] channels); }

    /** {@link #box(Rows, int, int, int, double, double, double, double, float[], int, int, int)} of a C*H*W float image. */
    static void box(float[] src, int c, int h, int w, double y0, double boxH, double x0, double boxW,
                    float[] dst, int at, int outH, int outW) {
        Rows rows = (y, channels) -> { for (int ch = 0; ch < c; ch++) System.arraycopy(src, (ch * h + y) * w, channels[ch], 0, w); };
        box(rows, c, h, w, y0, boxH, x0, boxW, dst, at, outH, outW);
    }

    /**
     * A box of an image of C channels, H x W, resampled to C*outH*outW floats: the box's rows
     * [y0, y0 + boxH) and columns [x0, x0 + boxW) (fractional allowed), written to {@code dst} at
     * {@code at}. Only the source rows the box reads are asked for, each once.
     */
    static void box(Rows src, int c, int h, int w, double y0, double boxH, double x0, double boxW,
                    float[] dst, int at, int outH, int outW) {
        Taps rows = taps(h, y0, boxH, outH), cols = taps(w, x0, boxW, outW);
        int r0 = rows.lowest(), r1 = rows.highest();
        float[][] row = new float[c][w], narrow = new float[c][(r1 - r0) * outW]; // the rows read, then resampled across
        for (int y = r0; y < r1; y++) {
            src.read(y, row);
            for (int ch = 0; ch < c; ch++) apply(cols, row[ch], 0, 1, narrow[ch], (y - r0) * outW, 1);
        }
        for (int ch = 0; ch < c; ch++)
            for (int x = 0; x < outW; x++) apply(rows, narrow[ch], x - r0 * outW, outW, dst, at + ch * outH * outW + x, outW);
    }

    /**
     * The box of each axis that scaling an {@code h x w} image to cover {@code outH x outW}, then
     * cropping the centre, reads: {y0, boxH, x0, boxW}. The covering size is torchvision's for
     * Resize(N) on a square target (shorter side to N, the longer one to floor(N * long / short))
     * and the crop offset CenterCrop's, round((size - out) / 2) with Python's rounding of halves to even.
     */
    static double[] coverThenCentre(int h, int w, int outH, int outW) {
        int rh, rw;
        if ((long) outW * h >= (long) outH * w) { // width decides the scale
            rw = outW;
            rh = Math.max(outH, (int) ((long) h * outW / w));
        } else {
            rh = outH;
            rw = Math.max(outW, (int) ((long) w * outH / h));
        }
        double sy = (double) h / rh, sx = (double) w / rw;
        double oy = Math.rint((rh - outH) / 2.0), ox = Math.rint((rw - outW) / 2.0);
        return new double[] {oy * sy, outH * sy, ox * sx, outW * sx};
    }
}
