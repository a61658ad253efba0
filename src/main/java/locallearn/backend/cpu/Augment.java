package locallearn.backend.cpu;

import locallearn.backend.Philox;

/** Family "augment": random crop with zero padding and flip, and cutout, drawn from Philox per image. */
final class Augment {
    private Augment() {}

    // x, y (B, C, H, W); image b uses uniforms 3b, 3b+1, 3b+2 of the stream
    static void randomCropFlip(float[] x, float[] y, int nb, int nc, int h, int w, int pad, boolean flip, long seed, long stream) {
        Parallel.range(nb, 1, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int dy = (int) Math.floor(Philox.uniform(seed, stream, 3L * b) * (2 * pad + 1)) - pad;
                int dx = (int) Math.floor(Philox.uniform(seed, stream, 3L * b + 1) * (2 * pad + 1)) - pad;
                boolean f = flip && Philox.uniform(seed, stream, 3L * b + 2) < 0.5f;
                for (int c = 0; c < nc; c++) {
                    int plane = (b * nc + c) * h * w;
                    for (int i = 0; i < h; i++) {
                        int si = i + dy;
                        for (int j = 0; j < w; j++) {
                            int sj = (f ? w - 1 - j : j) + dx;
                            y[plane + i * w + j] = si >= 0 && si < h && sj >= 0 && sj < w ? x[plane + si * w + sj] : 0f;
                        }
                    }
                }
            }
        });
    }

    // x (B, C, H, W) in place; hole k of image b uses uniforms 2(b*holes + k), 2(b*holes + k) + 1 for its centre
    static void cutout(float[] x, int nb, int nc, int h, int w, int length, int holes, long seed, long stream) {
        Parallel.range(nb, 1, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                for (int k = 0; k < holes; k++) {
                    long u = 2L * ((long) b * holes + k);
                    int cy = (int) Math.floor(Philox.uniform(seed, stream, u) * h);
                    int cx = (int) Math.floor(Philox.uniform(seed, stream, u + 1) * w);
                    int y0 = Math.max(0, cy - length / 2), y1 = Math.min(h, cy + length / 2);
                    int x0 = Math.max(0, cx - length / 2), x1 = Math.min(w, cx + length / 2);
                    for (int c = 0; c < nc; c++) {
                        int plane = (b * nc + c) * h * w;
                        for (int i = y0; i < y1; i++) java.util.Arrays.fill(x, plane + i * w + x0, plane + i * w + Math.max(x0, x1), 0f);
                    }
                }
            }
        });
    }
}
