package locallearn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntBinaryOperator;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image-folder reader on PNG and JPEG files the test writes: values read back, resizing against Pillow, statistics, the cache. */
class ImageFolderTest {
    static final Datasets.LoadOptions WHOLE = Datasets.LoadOptions.defaults();

    /** An RGB image whose channel c at (x, y) is {@code level.applyAsInt(x, y) + 53 c}, mod 256. */
    static BufferedImage rgb(int w, int h, IntBinaryOperator level) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = level.applyAsInt(x, y);
                img.setRGB(x, y, (Math.floorMod(v, 256) << 16) | (Math.floorMod(v + 53, 256) << 8) | Math.floorMod(v + 106, 256));
            }
        return img;
    }

    static BufferedImage gray(int w, int h, IntBinaryOperator level) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, Math.floorMod(level.applyAsInt(x, y), 256));
        return img;
    }

    static Path write(Path dir, String file, BufferedImage img) throws Exception {
        Path f = dir.resolve(file);
        Files.createDirectories(f.getParent());
        String format = file.endsWith(".png") ? "png" : "jpeg";
        assertTrue(ImageIO.write(img, format, f.toFile()), "no writer for " + format);
        return f;
    }

    static Datasets.Split load(Path dir, Datasets.LoadOptions o) { return ImageFolder.load("folder", dir, o, null, (w, d, t) -> {}); }

    static float[] image(Dataset d, int i) {
        float[] out = new float[d.imageSize()];
        d.copyImage(i, out, 0);
        return out;
    }

    @Test void pngPixelsComeBackExactlyWithLabelsFromSortedFolderNames(@TempDir Path dir) throws Exception {
        write(dir, "train/zebra/a.png", rgb(3, 2, (x, y) -> 10 * x + 100 * y));
        write(dir, "train/ant/b.png", rgb(3, 2, (x, y) -> 7));
        write(dir, "train/ant/c.png", rgb(3, 2, (x, y) -> 200 + x));
        write(dir, "val/zebra/d.png", rgb(3, 2, (x, y) -> 30));
        Files.writeString(dir.resolve("train/ant/notes.txt"), "not an image, and not named like one: skipped as ImageFolder does");
        Datasets.Split s = load(dir, WHOLE);
        assertEquals(List.of("ant", "zebra"), s.spec().classNames());
        assertArrayEquals(new int[] {0, 0, 1}, s.train().labels()); // ant/b, ant/c, zebra/a
        assertArrayEquals(new int[] {1}, s.test().labels());
        assertEquals(3, s.spec().channels());
        assertEquals(2, s.spec().height());
        assertEquals(3, s.spec().width());
        float[] zebra = image(s.train(), 2);
        // channel c at (x, y) is (10x + 100y + 53c) / 255: the first image's own size, so nothing is resampled
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++) assertEquals((10 * x + 100 * y + 53 * c) / 255f, zebra[c * 6 + y * 3 + x], "c" + c + " y" + y + " x" + x);
        assertEquals((30 + 53) / 255f, image(s.test(), 0)[6]);
    }

    @Test void jpegOfOneColourReadsBackWithinItsQuantisation(@TempDir Path dir) throws Exception {
        write(dir, "train/a/x.jpg", rgb(16, 16, (x, y) -> 90));
        write(dir, "train/b/y.jpeg", rgb(16, 16, (x, y) -> 20));
        write(dir, "test/a/z.JPG", rgb(16, 16, (x, y) -> 90));
        Datasets.Split s = load(dir, WHOLE);
        float[] img = image(s.train(), 0);
        // a flat 8x8 block keeps only its DC coefficient; quantising it and the YCbCr round trip move a level by a few steps
        float tol = 3 / 255f;
        for (int i = 0; i < 256; i++) {
            assertEquals(90 / 255f, img[i], tol);
            assertEquals(143 / 255f, img[256 + i], tol);
            assertEquals(196 / 255f, img[512 + i], tol);
        }
    }

    /** Channel 0 (red) of the 8x6 image whose (x, y, c) is (37x + 91y + 53c) mod 256. */
    static BufferedImage pattern() { return rgb(8, 6, (x, y) -> 37 * x + 91 * y); }

    // torchvision Resize(4) then CenterCrop(4) of pattern() with Pillow 12.3 (resize to 5x4 BILINEAR, crop columns 0..3)
    static final int[][] PIL_COVER = {
            {49, 105, 160, 144, 148, 99, 117, 109, 81, 116, 125, 140, 180, 118, 87, 97},
            {102, 158, 169, 137, 143, 115, 131, 139, 122, 146, 138, 156, 167, 111, 96, 150},
            {155, 140, 167, 102, 112, 105, 128, 171, 158, 151, 117, 104, 126, 111, 145, 161}};
    // Pillow 12.3: pattern().resize((12, 9), BILINEAR), red
    static final int[] PIL_UP_RED = {0, 19, 43, 68, 93, 117, 142, 167, 191, 216, 113, 3, 46, 65, 89, 114, 139, 163, 188, 149, 109, 134, 95, 49,
            106, 125, 142, 139, 156, 180, 205, 124, 41, 66, 91, 109, 167, 186, 174, 57, 47, 71, 96, 99, 102, 127, 152, 170, 100, 119, 121, 61, 65, 89,
            114, 139, 163, 188, 149, 103, 32, 51, 75, 100, 125, 142, 139, 156, 180, 205, 124, 35, 93, 112, 136, 161, 186, 174, 57, 47, 71, 96, 99, 96,
            154, 173, 175, 115, 119, 121, 61, 65, 89, 114, 139, 157, 199, 218, 199, 54, 36, 60, 85, 110, 134, 159, 184, 202};
    // Pillow 12.3: pattern().resize((4, 4), BILINEAR, box=(1, 2, 7, 5)), what RandomResizedCrop does with a crop box
    static final int[][] PIL_BOX = {
            {141, 50, 92, 129, 92, 86, 139, 179, 96, 143, 122, 151, 154, 165, 45, 77},
            {70, 99, 127, 182, 92, 139, 192, 143, 149, 143, 164, 115, 189, 94, 72, 130},
            {87, 124, 177, 209, 134, 174, 103, 132, 170, 146, 75, 115, 164, 72, 125, 162}};

    // Pillow rounds to whole levels after its horizontal pass and again at the end, with fixed-point weights; we round once,
    // at the end, from floats: a level may differ by one, never more
    static final float LEVEL = 1.001f / 255;

    @Test void shrinkingToTheImageSizeCoversThenCropsTheCentreAsTorchvision(@TempDir Path dir) throws Exception {
        write(dir, "train/a/p.png", pattern());
        write(dir, "train/b/q.png", rgb(5, 5, (x, y) -> 0));
        write(dir, "val/a/r.png", pattern());
        Datasets.Split s = load(dir, new Datasets.LoadOptions(0, 0, false, 4, 4));
        float[] img = image(s.train(), 0);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 16; i++) assertEquals(PIL_COVER[c][i] / 255f, img[c * 16 + i], LEVEL, "c" + c + " i" + i);
    }

    @Test void enlargingMatchesPillowsBilinear(@TempDir Path dir) throws Exception {
        write(dir, "train/a/p.png", pattern());
        write(dir, "train/b/q.png", pattern());
        write(dir, "val/a/r.png", pattern());
        float[] img = image(load(dir, new Datasets.LoadOptions(0, 0, false, 9, 12)).train(), 0);
        for (int i = 0; i < PIL_UP_RED.length; i++) assertEquals(PIL_UP_RED[i] / 255f, img[i], LEVEL, "i" + i);
    }

    @Test void resamplingACropBoxMatchesPillow() {
        BufferedImage p = pattern();
        float[] src = new float[3 * 48];
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 8; x++)
                for (int c = 0; c < 3; c++) src[c * 48 + y * 8 + x] = (p.getRGB(x, y) >> (16 - 8 * c)) & 0xff;
        float[] out = new float[3 * 16];
        Resize.box(src, 3, 6, 8, 2, 3, 1, 6, out, 0, 4, 4);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 16; i++) assertEquals(PIL_BOX[c][i], out[c * 16 + i], LEVEL * 255, "c" + c + " i" + i);
    }

    @Test void meanAndStdAreEachChannelsOverTheTrainingPixels(@TempDir Path dir) throws Exception {
        write(dir, "train/a/p.png", rgb(4, 3, (x, y) -> 10 * x + 60 * y));
        write(dir, "train/b/q.png", rgb(4, 3, (x, y) -> 250 - 5 * x * y));
        write(dir, "val/b/r.png", rgb(4, 3, (x, y) -> 255)); // test pixels do not count
        DatasetSpec spec = load(dir, WHOLE).spec();
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0;
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    for (int v : new int[] {10 * x + 60 * y, 250 - 5 * x * y}) {
                        double level = Math.floorMod(v + 53 * c, 256) / 255.0;
                        sum += level;
                        sq += level * level;
                    }
            double mean = sum / 24, std = Math.sqrt(sq / 24 - mean * mean);
            assertEquals(mean, spec.mean()[c], 1e-6, "mean of channel " + c);
            assertEquals(std, spec.std()[c], 1e-6, "std of channel " + c);
        }
    }

    @Test void grayImagesAmongColourOnesGetTheirLevelInEveryChannel(@TempDir Path dir) throws Exception {
        write(dir, "train/a/p.png", gray(2, 2, (x, y) -> 40 + x));
        write(dir, "train/b/q.png", rgb(2, 2, (x, y) -> 1));
        write(dir, "val/a/r.png", gray(2, 2, (x, y) -> 9));
        Datasets.Split s = load(dir, WHOLE);
        assertEquals(3, s.spec().channels());
        assertArrayEquals(new float[] {40 / 255f, 41 / 255f, 40 / 255f, 41 / 255f, 40 / 255f, 41 / 255f, 40 / 255f, 41 / 255f,
                40 / 255f, 41 / 255f, 40 / 255f, 41 / 255f}, image(s.train(), 0));
    }

    @Test void aCollectionOfGrayImagesHasOneChannel(@TempDir Path dir) throws Exception {
        write(dir, "train/a/p.png", gray(2, 2, (x, y) -> 40 + x));
        write(dir, "train/b/q.png", gray(2, 2, (x, y) -> 200));
        write(dir, "val/b/r.png", gray(2, 2, (x, y) -> 9));
        Datasets.Split s = load(dir, WHOLE);
        assertEquals(1, s.spec().channels());
        assertArrayEquals(new float[] {200 / 255f, 200 / 255f, 200 / 255f, 200 / 255f}, image(s.train(), 1));
    }

    static List<Path> cacheFiles(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve(ImageFolder.CACHE_FOLDER))) {
            return s.sorted().toList();
        }
    }

    @Test void theCacheIsReusedWhileNothingChangesAndRebuiltWhenAFileDoes(@TempDir Path dir) throws Exception {
        write(dir, "train/a/p.png", rgb(2, 2, (x, y) -> 1));
        Path q = write(dir, "train/b/q.png", rgb(2, 2, (x, y) -> 2));
        write(dir, "val/b/r.png", rgb(2, 2, (x, y) -> 3));
        AtomicInteger builds = new AtomicInteger(); // decodings that ran to the end
        Datasets.Progress count = (what, done, total) -> { if (what.startsWith("decoding") && done == total) builds.incrementAndGet(); };
        ImageFolder.load("folder", dir, WHOLE, null, count);
        assertEquals(1, builds.get());
        List<Path> first = cacheFiles(dir);
        assertEquals(1, first.size(), first.toString());
        ImageFolder.load("folder", dir, WHOLE, null, count);
        assertEquals(1, builds.get(), "unchanged files: the cache is read, nothing decoded");
        write(dir, "train/b/q.png", rgb(2, 2, (x, y) -> 77));
        Files.setLastModifiedTime(q, FileTime.fromMillis(Files.getLastModifiedTime(q).toMillis() + 2000)); // a new time even on a coarse clock
        Datasets.Split s = ImageFolder.load("folder", dir, WHOLE, null, count);
        assertEquals(2, builds.get(), "a changed file rebuilds the cache");
        assertEquals(77 / 255f, image(s.train(), 1)[0]);
        List<Path> after = cacheFiles(dir);
        assertEquals(1, after.size(), "the stale cache is removed: " + after);
        assertTrue(!after.equals(first));
        // another image size is another cache, kept beside the first
        ImageFolder.load("folder", dir, new Datasets.LoadOptions(0, 0, false, 1, 1), null, count);
        assertEquals(2, cacheFiles(dir).size());
    }

    @Test void aLimitKeepsTheFirstImagesOfTheMappedSet(@TempDir Path dir) throws Exception {
        for (int i = 0; i < 3; i++) write(dir, "train/a/" + i + ".png", rgb(2, 2, (x, y) -> 0));
        final int v = 5;
        write(dir, "train/b/0.png", rgb(2, 2, (x, y) -> v));
        write(dir, "val/b/0.png", rgb(2, 2, (x, y) -> v));
        Datasets.Split s = load(dir, new Datasets.LoadOptions(2, 0, false));
        assertEquals(2, s.train().size());
        assertArrayEquals(new int[] {0, 0}, s.train().labels());
        assertEquals(2, s.spec().classes(), "the classes stay those of the folders");
    }

    @Test void mappedPixelsAreAddressedPastTwoGigabytes(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("sparse.u8");
        long size = 3L << 30; // 3 GiB: no int indexes it, and no heap array could hold it as floats
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) 255, 0, 51, 0, 0, (byte) 128}), size - 6); // the rest is a hole, no disk used
        }
        try (var ch = java.nio.channels.FileChannel.open(f); var arena = java.lang.foreign.Arena.ofConfined()) {
            Pixels.Mapped px = new Pixels.Mapped(ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size, arena));
            Dataset d = new Dataset("big", 1, 1024, 1024, 2, px, new int[3072]); // 3072 images of 1 MiB
            float[] last = new float[1 << 20];
            d.copyImage(3071, last, 0);
            assertArrayEquals(new float[] {1f, 0f, 0.2f, 0f, 0f, 128 / 255f}, java.util.Arrays.copyOfRange(last, (1 << 20) - 6, 1 << 20));
            assertEquals("Dataset big: its pixels are memory-mapped, not one float array; read images with copyImage",
                    org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, d::images).getMessage());
        }
    }
}
