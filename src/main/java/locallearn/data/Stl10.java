package locallearn.data;

import java.util.List;
import java.util.Map;

/**
 * STL-10, binary version (https://cs.stanford.edu/~acoates/stl10/): {@code *_X.bin} holds 96x96x3
 * uint8 images, each stored channel by channel and, within a channel, column by column (MATLAB's
 * column-major order); {@code *_y.bin} holds one label byte 1..10 per image (1 = airplane). We
 * transpose to (C, H, W) row-major and shift labels to 0..9. The 100000 unlabelled images are not read.
 */
final class Stl10 {
    static final List<String> FILES = List.of("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin");
    static final int SIDE = 96, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE;

    private Stl10() {}

    static Datasets.Split read(Source source, Datasets.LoadOptions o) {
        Map<String, Source.Blob> f = source.read(FILES);
        return new Datasets.Split(decode(f.get("train_X.bin"), f.get("train_y.bin"), o.limitTrain()),
                decode(f.get("test_X.bin"), f.get("test_y.bin"), o.limitTest()), source.describe());
    }

    static Dataset decode(Source.Blob images, Source.Blob labels, int limit) {
        byte[] xb = images.bytes(), yb = labels.bytes();
        if (xb.length == 0) throw new DataException(images.file() + ": file is empty");
        if (xb.length % PIXELS != 0)
            throw new DataException(images.file() + ": " + xb.length + " bytes is not a whole number of 96x96x3 images ("
                    + xb.length / PIXELS + " images and " + xb.length % PIXELS + " bytes)");
        int total = xb.length / PIXELS;
        if (yb.length == 0) throw new DataException(labels.file() + ": file is empty");
        if (yb.length != total)
            throw new DataException(labels.file() + ": holds " + yb.length + " labels, but " + images.file() + " holds " + total + " images");
        for (int i = 0; i < total; i++) {
            int v = yb[i] & 0xFF;
            if (v < 1 || v > 10) throw new DataException(labels.file() + ": label " + v + " at index " + i + " is out of range 1..10");
        }
        int n = limit > 0 ? Math.min(limit, total) : total;
        float[] x = new float[n * PIXELS];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = (yb[i] & 0xFF) - 1;
            for (int c = 0; c < 3; c++) {
                int src = i * PIXELS + c * PLANE, dst = i * PIXELS + c * PLANE;
                // stored (w, h): pixel (h, w) of the channel is byte w*96 + h
                for (int h = 0; h < SIDE; h++)
                    for (int w = 0; w < SIDE; w++) x[dst + h * SIDE + w] = Bytes.UNIT[xb[src + w * SIDE + h] & 0xFF];
            }
        }
        return new Dataset("stl10", 3, SIDE, SIDE, 10, x, y);
    }
}
