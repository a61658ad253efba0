package locallearn.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One PNG or JPEG file as an image of a dataset: C*H*W floats, pixel / 255, as the dataset
 * loaders give them. For 1-channel models a gray image gives its stored gray levels, a colour
 * image its luminance (Rec. 601 luma, the 8-bit level PIL's {@code convert("L")} computes, so a
 * gray picture saved as RGB reads as the same levels); 3-channel models take RGB images, and a
 * gray one is refused, lacking the colour they learned from. An alpha channel is ignored. The
 * size must be the dataset's: nothing is resized, so what the model sees is what the file holds.
 */
public final class ImageFile {
    private ImageFile() {}

    /**
     * Reads {@code file} for a model of {@code spec}'s geometry. A missing, unreadable or damaged
     * file, one of another size, or a gray one for a colour model, is a {@link DataException}
     * naming the file ("cat.png: 64x64 RGB, model takes 1x28x28 (fashion-mnist)").
     */
    public static float[] read(Path file, DatasetSpec spec) {
        if (!Files.isRegularFile(file)) throw new DataException(file + ": no such file");
        requireDecoder(file, "predict");
        return ImageDecoder.read(file, spec);
    }

    /**
     * javax.imageio lives in java.desktop, which the dist bundle's runtime leaves out (19 MiB);
     * checked before ImageDecoder is touched, whose loading would fail without it.
     */
    static void requireDecoder(Path file, String command) {
        if (ModuleLayer.boot().findModule("java.desktop").isEmpty())
            throw new DataException(file + ": reading PNG and JPEG needs the java.desktop module, which this Java runtime lacks"
                    + " (the dist bundle leaves it out to stay small); run " + command + " with a JDK 25, e.g. ./locallearn " + command);
    }
}
