package locallearn.data;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** {@link ImageFile}'s decoding with javax.imageio: the only class that needs the java.desktop module. */
final class ImageDecoder {
    private ImageDecoder() {}

    static float[] read(Path file, DatasetSpec spec) {
        BufferedImage img = decode(file);
        int colours = img.getColorModel().getNumColorComponents(), w = img.getWidth(), h = img.getHeight(), c = spec.channels();
        boolean fits = w == spec.width() && h == spec.height() && (colours == 1 || colours == 3) && (c == 1 || colours == 3);
        if (!fits)
            throw new DataException(file + ": " + w + "x" + h + " " + (colours == 1 ? "gray" : colours == 3 ? "RGB" : colours + "-colour")
                    + ", model takes " + c + "x" + spec.height() + "x" + spec.width() + " (" + spec.name() + ")");
        float[] out = new float[c * h * w];
        if (colours == 1) {
            // the raster's samples, not getRGB: Java would map a gray level through a colour space conversion
            Raster r = img.getRaster();
            float max = (1 << r.getSampleModel().getSampleSize(0)) - 1;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) out[y * w + x] = r.getSample(x, y, 0) / max; // 8 bits: i / 255f, as the loaders
            return out;
        }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y), red = (rgb >> 16) & 0xff, green = (rgb >> 8) & 0xff, blue = rgb & 0xff; // sRGB, 8 bits a channel
                if (c == 1) {
                    // 0.299 R + 0.587 G + 0.114 B in 16-bit fixed point, rounded; the weights sum to 65536, so R = G = B = v gives v
                    out[y * w + x] = ((red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16) / 255f;
                } else {
                    out[y * w + x] = red / 255f;
                    out[h * w + y * w + x] = green / 255f;
                    out[2 * h * w + y * w + x] = blue / 255f;
                }
            }
        return out;
    }

    private static BufferedImage decode(Path file) {
        BufferedImage img;
        try (InputStream in = Files.newInputStream(file)) {
            ImageIO.setUseCache(false); // decode in memory, no temporary files
            img = ImageIO.read(in);
        } catch (IOException | RuntimeException e) { // ImageIO's decoders throw both kinds on damaged data
            throw new DataException(file + ": damaged image (" + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()) + ")", e);
        }
        if (img == null) throw new DataException(file + ": not a PNG or JPEG image");
        return img;
    }
}
