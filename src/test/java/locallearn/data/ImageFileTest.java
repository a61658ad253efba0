package locallearn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image files read as the datasets' images: levels / 255, luminance for gray models, planar RGB for colour ones. */
class ImageFileTest {
    static final DatasetSpec CIFAR = Datasets.spec("cifar10"), FASHION = Datasets.spec("fashion-mnist");

    static Path rgb(Path dir, int w, int h, int argb) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, argb);
        Path f = dir.resolve("rgb.png");
        ImageIO.write(img, "png", f.toFile());
        return f;
    }

    @Test void rgbIsReadAsThreePlanesOfLevelsOver255(@TempDir Path dir) throws Exception {
        float[] v = ImageFile.read(rgb(dir, 32, 32, 0x10_80_ff), CIFAR);
        assertEquals(3 * 32 * 32, v.length);
        assertEquals(0x10 / 255f, v[0]);
        assertEquals(0x80 / 255f, v[32 * 32 + 5]);
        assertEquals(1f, v[2 * 32 * 32 + 1023]);
    }

    @Test void colourForAGrayModelIsItsLuminance(@TempDir Path dir) throws Exception {
        // pure red: 0.299 * 255 = 76.2, the 8-bit luma level 76 (PIL's convert("L") gives 76 too)
        float[] v = ImageFile.read(rgb(dir, 28, 28, 0xff_00_00), FASHION);
        assertEquals(784, v.length);
        assertEquals(76 / 255f, v[100]);
        // gray stored as RGB keeps its level
        assertEquals(123 / 255f, ImageFile.read(rgb(dir, 28, 28, 0x7b_7b_7b), FASHION)[0]);
    }

    @Test void sixteenBitGrayIsScaledByItsOwnRange(@TempDir Path dir) throws Exception {
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_USHORT_GRAY);
        img.getRaster().setSample(3, 0, 0, 65535);
        img.getRaster().setSample(4, 0, 0, 32768);
        Path f = dir.resolve("g16.png");
        ImageIO.write(img, "png", f.toFile());
        float[] v = ImageFile.read(f, FASHION);
        assertArrayEquals(new float[] {0f, 1f, 32768 / 65535f}, new float[] {v[0], v[3], v[4]});
    }

    @Test void aGrayImageForAColourModelIsRefusedWithBothShapes(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("gray.png");
        ImageIO.write(new BufferedImage(32, 32, BufferedImage.TYPE_BYTE_GRAY), "png", f.toFile());
        var e = assertThrows(DataException.class, () -> ImageFile.read(f, CIFAR));
        assertEquals(f + ": 32x32 gray, model takes 3x32x32 (cifar10)", e.getMessage());
    }
}
