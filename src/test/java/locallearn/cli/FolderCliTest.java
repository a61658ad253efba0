package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --dataset folder|imagenet} through the command line: a few steps on a tiny folder
 * the test writes, then eval and predict of its checkpoint; and each hostile folder or file as
 * one line naming it, exit 2, with no cache (nor a half-written one) left behind.
 */
class FolderCliTest {
    /** A noisy RGB image around {@code level}, so the two classes differ and JPEG has something to code. */
    static BufferedImage noisy(int w, int h, int level, long seed) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = Math.clamp(level + r.nextInt(61) - 30, 0, 255);
                img.setRGB(x, y, v << 16 | (255 - v) << 8 | (v / 2));
            }
        return img;
    }

    static Path write(Path dir, String file, BufferedImage img) throws Exception {
        Path f = dir.resolve(file);
        Files.createDirectories(f.getParent());
        assertTrue(ImageIO.write(img, file.endsWith(".png") ? "png" : "jpeg", f.toFile()));
        return f;
    }

    /** Two classes, bright and dark, six training and two test images each, w x h. */
    static Path collection(Path dir, int w, int h) throws Exception {
        for (int i = 0; i < 8; i++) {
            String split = i < 6 ? "train" : "val";
            write(dir, split + "/bright/" + i + ".png", noisy(w, h, 200, i));
            write(dir, split + "/dark/" + i + ".jpg", noisy(w, h, 50, 100 + i));
        }
        return dir;
    }

    static TrainCliTest.Run train(Path data, Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--dataset", "folder", "--data", data.toString(), "--epochs", "1",
                "--batch-size", "4", "--num-hidden", "16", "--device", "cpu", "--out", out.toString()));
        a.addAll(List.of(extra));
        return TrainCliTest.run(a.toArray(String[]::new));
    }

    @Test void trainsOnAFolderThenEvalAndPredictUseItsClassesAndStatistics(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 12, 10), out = dir.resolve("run");
        TrainCliTest.Run r = train(data, out, "--image-size", "8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("on folder (" + data + " (cache ") && r.err().contains("12 train, 4 test"), r.err());
        assertTrue(r.err().contains("decoding " + data), "the one-time decoding is reported: " + r.err());
        assertEquals(1, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        Path ck = out.resolve("checkpoint.safetensors");
        TrainCliTest.Run ev = TrainCliTest.run("eval", "--checkpoint", ck.toString(), "--data", data.toString(), "--device", "cpu", "--json");
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().contains("\"dataset\":\"folder\"") && ev.out().contains("\"test_images\":4"), ev.out());
        String reported = Files.readAllLines(out.resolve("metrics.jsonl")).getFirst().replaceAll(".*\"test_error\":([0-9.E-]+).*", "$1");
        String evaluated = ev.out().trim().replaceAll(".*\"test_error\":([0-9.E-]+).*", "$1");
        assertEquals(Double.parseDouble(reported), Double.parseDouble(evaluated), 1e-12, "eval reads the cache and normalises as training did");
        Path image = write(dir, "one.png", noisy(8, 8, 200, 7));
        TrainCliTest.Run p = TrainCliTest.run("predict", "--device", "cpu", "--checkpoint", ck.toString(), "--json", "--top", "2", image.toString());
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("\"name\":\"bright\"") && p.out().contains("\"name\":\"dark\""), "class names from the folders: " + p.out());
        // the second run finds the cache: nothing decoded again
        TrainCliTest.Run again = train(data, dir.resolve("run2"), "--image-size", "8");
        assertEquals(0, again.code(), again.err());
        assertTrue(!again.err().contains("decoding"), again.err());
    }

    @Test void imagenetTrainsOn224PixelCropsOfItsCachedImages(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        for (int i = 0; i < 3; i++) {
            write(data, "train/n01/" + i + ".jpg", noisy(300, 260, 200, i));
            write(data, "train/n02/" + i + ".png", noisy(260, 280, 40, 10 + i));
        }
        write(data, "val/n01/v.jpg", noisy(256, 256, 200, 20));
        write(data, "val/n02/w.jpg", noisy(300, 300, 40, 21));
        TrainCliTest.Run r = TrainCliTest.run("train", "--dataset", "imagenet", "--data", data.toString(), "--epochs", "1", "--batch-size", "2",
                "--num-hidden", "8", "--device", "cpu", "--progress", "never", "--out", dir.resolve("run").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("mlp on imagenet"), r.err());
        try (Stream<Path> s = Files.list(data.resolve(".locallearn-cache"))) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("imagenet-256x256-")), "cached at 256 pixels");
        }
        Path ck = dir.resolve("run/checkpoint.safetensors");
        assertTrue(Files.readString(ck, java.nio.charset.StandardCharsets.ISO_8859_1).contains("\"input\":\"3x224x224\""), "the model takes 224-pixel crops");
        TrainCliTest.Run ev = TrainCliTest.run("eval", "--checkpoint", ck.toString(), "--data", data.toString(), "--device", "cpu", "--json");
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().contains("\"dataset\":\"imagenet\"") && ev.out().contains("\"test_images\":2"), ev.out());
    }

    // ---- hostile input: one line naming the file, exit 2, nothing cached

    static void refused(Path data, String named, String... extra) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of(extra));
        args.addAll(List.of("--progress", "never"));
        TrainCliTest.Run r = train(data, data.resolveSibling("run"), args.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), "one line: " + r.err());
        assertTrue(lines.getFirst().contains(named), named + " is named in: " + lines.getFirst());
        assertTrue(!r.err().contains("Exception") && !r.err().contains("\tat "), r.err());
        Path cache = data.resolve(".locallearn-cache");
        if (Files.isDirectory(cache)) {
            try (Stream<Path> s = Files.list(cache)) {
                assertEquals(List.of(), s.toList(), "no cache, whole or partial, is left");
            }
        }
    }

    @Test void aTruncatedPngIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Path f = write(data, "train/dark/zz.png", noisy(32, 32, 90, 3));
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length / 2));
        refused(data, f.toString(), "--image-size", "8");
    }

    @Test void aTruncatedJpegIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Path f = write(data, "train/dark/zz.jpg", noisy(64, 64, 90, 3));
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length * 2 / 3)); // javax.imageio decodes it with a warning and gray rows: damaged all the same
        refused(data, f.toString(), "--image-size", "8");
    }

    @Test void aFileThatIsNotAnImageIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Path f = data.resolve("val/bright/readme.png");
        Files.writeString(f, "these are not the pixels you are looking for");
        refused(data, f + ": not a PNG or JPEG image");
    }

    @Test void anEmptyFileIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Path f = Files.createFile(data.resolve("train/bright/empty.jpg"));
        refused(data, f + ": empty file");
    }

    /** A PNG whose header declares {@code w x h} RGB pixels, with one tiny IDAT: valid up to its data. */
    static byte[] pngDeclaring(int w, int h) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(ihdr);
        d.writeInt(w);
        d.writeInt(h);
        d.write(new byte[] {8, 2, 0, 0, 0}); // 8 bits, RGB, deflate, no filter, no interlace
        chunk(out, "IHDR", ihdr.toByteArray());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        return bytes.toByteArray();
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws Exception {
        out.writeInt(data.length);
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    @Test void anImageDeclaringHugeDimensionsIsRefusedBeforeDecoding(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Path f = data.resolve("train/bright/huge.png");
        Files.write(f, pngDeclaring(200_000, 100_000)); // 20 gigapixels: 60 GB decoded
        refused(data, f + ": declares a 200000x100000 image, more than the");
    }

    @Test void anImageDeclaringNoPixelsIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Path f = data.resolve("val/dark/flat.png");
        Files.write(f, pngDeclaring(0, 7));
        refused(data, f + ":");
    }

    @Test void aClassFolderWithoutImagesIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        Files.createDirectories(data.resolve("train/cat"));
        Files.writeString(data.resolve("train/cat/list.txt"), "cat1.png");
        refused(data, data.resolve("train/cat") + ": no PNG or JPEG images");
    }

    @Test void aMissingTrainOrValFolderIsRefused(@TempDir Path dir) throws Exception {
        Path noTrain = dir.resolve("a");
        write(noTrain, "val/x/0.png", noisy(4, 4, 1, 1));
        refused(noTrain, noTrain.resolve("train") + ": no such folder");
        Path noVal = dir.resolve("b");
        write(noVal, "train/x/0.png", noisy(4, 4, 1, 1));
        write(noVal, "train/y/0.png", noisy(4, 4, 1, 1));
        refused(noVal, noVal.resolve("val") + ": no such folder (nor test/)");
    }

    @Test void aValClassThatTrainLacksIsRefused(@TempDir Path dir) throws Exception {
        Path data = collection(dir.resolve("data"), 8, 8);
        write(data, "val/zebra/0.png", noisy(8, 8, 1, 1));
        refused(data, data.resolve("val/zebra") + ": a class that");
    }

    @Test void badImageSizeAndFolderWithoutDataAreOneLine() {
        TrainCliTest.Run r = TrainCliTest.run("train", "--dataset", "folder", "--image-size", "0x4", "--device", "cpu");
        assertEquals(2, r.code());
        assertTrue(r.err().strip().lines().count() == 1 && r.err().contains("--image-size must be N or HxW"), r.err());
        r = TrainCliTest.run("train", "--dataset", "folder", "--device", "cpu");
        assertEquals(2, r.code());
        assertTrue(r.err().strip().lines().count() == 1 && r.err().contains("folder: pass --data DIR"), r.err());
        r = TrainCliTest.run("train", "--dataset", "mnist", "--image-size", "8", "--device", "cpu");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--image-size is for --dataset folder"), r.err());
    }
}
