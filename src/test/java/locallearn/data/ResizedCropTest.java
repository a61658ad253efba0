package locallearn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** imagenet's crops of its cached images: the centre crop exactly, the random-resized crop's boxes, flips and values. */
class ResizedCropTest {
    static final long SEED = 5, STREAM = 1234;

    /** A C x H x W image whose value at (c, y, x) is a distinct k/255. */
    static float[] ramp(int c, int h, int w) {
        float[] img = new float[c * h * w];
        for (int i = 0; i < img.length; i++) img[i] = (i % 251) / 255f;
        return img;
    }

    @Test void theTestCropIsTheCentreWindow() {
        int c = 3, h = 256, w = 256;
        float[] src = ramp(c, h, w), out = new float[c * 224 * 224];
        ResizedCrop.crop(src, c, h, w, out, 0, 224, 224, false, SEED, STREAM, 0);
        // (256 - 224) / 2 = 16 pixels off each side, as the reference's CenterCrop(224) after Resize(256)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < 224; y += 37)
                for (int x = 0; x < 224; x += 29)
                    assertEquals(src[(ch * h + y + 16) * w + x + 16], out[(ch * 224 + y) * 224 + x], "c" + ch + " y" + y + " x" + x);
    }

    @Test void randomBoxesCoverEightToAHundredPercentWithRatiosFromThreeQuartersToFourThirds() {
        for (int[] size : new int[][] {{256, 256}, {256, 10}, {17, 300}, {3, 3}}) {
            int h = size[0], w = size[1];
            for (int i = 0; i < 500; i++) {
                int[] b = ResizedCrop.randomBox(h, w, SEED, STREAM, i);
                String at = h + "x" + w + " image " + i + ": box " + java.util.Arrays.toString(b);
                assertTrue(b[0] >= 0 && b[1] >= 0 && b[2] >= 1 && b[3] >= 1 && b[0] + b[2] <= h && b[1] + b[3] <= w, at);
                if (h == 256 && w == 256) {
                    // on a square image every try fits some box; rounding to whole pixels moves area and ratio a little
                    double area = (double) b[2] * b[3] / (h * w), ratio = (double) b[3] / b[2];
                    assertTrue(area > 0.079 && area <= 1, at);
                    assertTrue(ratio > 0.74 && ratio < 1.35, at);
                }
            }
        }
        assertArrayEquals(ResizedCrop.randomBox(256, 256, SEED, STREAM, 7), ResizedCrop.randomBox(256, 256, SEED, STREAM, 7),
                "a pure function of (seed, stream, image)");
    }

    @Test void theCropDependsOnSeedStreamAndImageAndFlipsHalfTheTime() {
        int differ = 0, flips = 0, n = 2000;
        for (int i = 0; i < n; i++) {
            int[] a = ResizedCrop.randomBox(256, 256, SEED, STREAM, i);
            if (!java.util.Arrays.equals(a, ResizedCrop.randomBox(256, 256, SEED, STREAM + 64, i))) differ++;
            if (ResizedCrop.flips(SEED, STREAM, i)) flips++;
        }
        assertTrue(differ > n * 0.99, "another step's stream gives other boxes: " + differ);
        // binomial(2000, 1/2): sd 22, so 1000 +- 110 is five sd
        assertTrue(Math.abs(flips - n / 2) < 110, "flips " + flips);
    }

    @Test void aRandomCropOfAConstantImageKeepsItsLevelAndARampKeepsItsDirectionUnlessFlipped() {
        int h = 40, w = 50, out = 16;
        float[] flat = new float[3 * h * w], dst = new float[3 * out * out];
        java.util.Arrays.fill(flat, 77 / 255f);
        ResizedCrop.crop(flat, 3, h, w, dst, 0, out, out, true, SEED, STREAM, 3);
        for (float v : dst) assertEquals(77 / 255f, v, 0f);
        float[] ramp = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) ramp[y * w + x] = 5 * x / 255f; // rises left to right
        float[] one = new float[out * out];
        int seen = 0;
        for (int i = 0; i < 40; i++) {
            ResizedCrop.crop(ramp, 1, h, w, one, 0, out, out, true, SEED, STREAM, i);
            boolean flipped = ResizedCrop.flips(SEED, STREAM, i);
            float first = one[8 * out], last = one[8 * out + out - 1];
            if (first == last) continue; // a box only a few pixels wide may round to one level
            seen++;
            assertEquals(flipped, first > last, "image " + i + (flipped ? " flipped" : "") + ": " + first + " .. " + last);
            for (float v : one) assertEquals(Math.round(v * 255), v * 255, 1e-4, "whole 8-bit levels, as PIL stores them");
        }
        assertTrue(seen > 30, "most crops see the ramp rise: " + seen);
    }
}
