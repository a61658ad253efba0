package locallearn.data;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * Decoding with javax.imageio, for {@link ImageFile} (predict) and {@link ImageFolder} (training
 * from image folders): the only class that needs the java.desktop module.
 */
final class ImageDecoder {
    private ImageDecoder() {}

    /**
     * The most pixels a file may declare: decoding holds the whole image (3 bytes a pixel for RGB),
     * so this bounds the memory one file can take at about 100 MB. A 32-megapixel photo fits.
     */
    static final long MAX_PIXELS = 1L << 25;

    /** What a file's header declares: its size and whether it is gray (1 colour) or colour (3). */
    record Header(int width, int height, int colours) {}

    /** Reads only the header, so a file declaring a huge image is refused before anything is allocated for it. */
    static Header header(Path file) {
        return withReader(file, r -> {
            int w = r.getWidth(0), h = r.getHeight(0);
            if (w <= 0 || h <= 0) throw new DataException(file + ": declares a " + w + "x" + h + " image, which has no pixels");
            if ((long) w * h > MAX_PIXELS)
                throw new DataException(file + ": declares a " + w + "x" + h + " image, more than the " + MAX_PIXELS
                        + " pixels this reader decodes (a bound on memory); shrink it first");
            Iterator<ImageTypeSpecifier> types = r.getImageTypes(0);
            int colours = types.hasNext() ? types.next().getColorModel().getNumColorComponents() : 3;
            if (colours != 1 && colours != 3) throw new DataException(file + ": has " + colours + " colour components; only gray and RGB images are read");
            return new Header(w, h, colours);
        });
    }

    /**
     * Decodes {@code file} (whose header said {@code header}), scales it to cover {@code outH x outW}
     * and crops the centre ({@link Resize#coverThenCentre}), and writes it as {@code channels}
     * planes of bytes into {@code out} at {@code at}: a gray image into 3 channels repeats its level,
     * as PIL's convert("RGB") does; an alpha channel is ignored. A decoder's warning (a JPEG cut
     * short decodes with gray filling its end) is a damaged file, like its errors.
     */
    static void decodeCovering(Path file, Header header, int channels, int outH, int outW, byte[] out, int at) {
        List<String> warnings = new ArrayList<>();
        BufferedImage img = withReader(file, r -> {
            r.addIIOReadWarningListener((reader, warning) -> warnings.add(warning));
            return r.read(0);
        });
        if (!warnings.isEmpty()) throw new DataException(file + ": damaged image (" + warnings.getFirst() + ")");
        int w = img.getWidth(), h = img.getHeight(), colours = img.getColorModel().getNumColorComponents();
        if (w != header.width() || h != header.height() || colours != header.colours())
            throw new DataException(file + ": header says " + header.width() + "x" + header.height() + " with " + header.colours()
                    + " colours, decodes to " + w + "x" + h + " with " + colours + " (changed while reading?)");
        Raster raster = img.getRaster();
        float grayScale = 255f / ((1 << raster.getSampleModel().getSampleSize(0)) - 1);
        int[] samples = new int[w];
        Resize.Rows rows = (y, row) -> {
            if (colours == 1) {
                raster.getSamples(0, y, w, 1, 0, samples); // the stored levels: getRGB would pass them through a colour conversion
                for (int x = 0; x < w; x++) row[0][x] = samples[x] * grayScale;
            } else {
                img.getRGB(0, y, w, 1, samples, 0, w); // sRGB, 8 bits a channel, whatever the file's own model
                for (int x = 0; x < w; x++) {
                    row[0][x] = (samples[x] >> 16) & 0xff;
                    row[1][x] = (samples[x] >> 8) & 0xff;
                    row[2][x] = samples[x] & 0xff;
                }
            }
        };
        double[] box = Resize.coverThenCentre(h, w, outH, outW);
        int plane = outH * outW;
        float[] resized = new float[colours * plane];
        Resize.box(rows, colours, h, w, box[0], box[1], box[2], box[3], resized, 0, outH, outW);
        for (int c = 0; c < channels; c++) {
            int from = Math.min(c, colours - 1) * plane;
            for (int i = 0; i < plane; i++) out[at + c * plane + i] = (byte) Math.clamp(Math.round(resized[from + i]), 0, 255);
        }
    }

    private interface ReaderJob<T> { T run(ImageReader r) throws IOException; }

    /** Runs {@code job} on the first reader javax.imageio has for the file; every failure is one line naming it. */
    private static <T> T withReader(Path file, ReaderJob<T> job) {
        try {
            if (Files.size(file) == 0) throw new DataException(file + ": empty file, not an image");
            ImageIO.setUseCache(false); // decode in memory, no temporary files
            try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
                Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
                if (readers == null || !readers.hasNext()) throw new DataException(file + ": not a PNG or JPEG image");
                ImageReader r = readers.next();
                try {
                    r.setInput(in, true, true);
                    return job.run(r);
                } finally {
                    r.dispose();
                }
            }
        } catch (DataException e) {
            throw e;
        } catch (IOException | RuntimeException e) { // ImageIO's decoders throw both kinds on damaged data
            throw new DataException(file + ": damaged image (" + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()) + ")", e);
        }
    }

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
