package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import locallearn.backend.cpu.CpuBackend;
import locallearn.data.Dataset;
import locallearn.train.Classifier;
import locallearn.train.Prediction;
import locallearn.train.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The predict command on PNG files the test writes: the Classifier's answer per image; bad images and checkpoints are one line, exit 2. */
class PredictCliTest {
    /** Test image i of the sample as an 8-bit gray PNG (its pixels are k/255, so the file holds them exactly). */
    static Path png(Path dir, int i) throws Exception {
        Dataset d = TestCheckpoints.testImages();
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) img.getRaster().setSample(x, y, 0, Math.round(d.images()[i * 784 + y * 28 + x] * 255));
        Path f = dir.resolve("test" + i + ".png");
        ImageIO.write(img, "png", f.toFile());
        return f;
    }

    static float[] image(int i) { return Arrays.copyOfRange(TestCheckpoints.testImages().images(), i * 784, (i + 1) * 784); }

    static TrainCliTest.Run predict(String... args) {
        String[] a = new String[args.length + 3];
        a[0] = "predict";
        a[1] = "--device";
        a[2] = "cpu";
        System.arraycopy(args, 0, a, 3, args.length);
        return TrainCliTest.run(a);
    }

    @Test void printsTheClassifiersClassAndProbabilityPerImage(@TempDir Path dir) throws Exception {
        Path ck = TestCheckpoints.mlp();
        List<Prediction> expected;
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(ck, be)) {
            expected = clf.predict(List.of(image(0), image(1), image(2)));
        }
        TrainCliTest.Run r = predict("--checkpoint", ck.toString(), "--json", png(dir, 0).toString(), png(dir, 1).toString(), png(dir, 2).toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        assertEquals(3, lines.size(), r.out());
        List<String> names = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
        for (int i = 0; i < 3; i++) {
            Prediction p = expected.get(i);
            assertEquals("{\"file\":\"" + dir.resolve("test" + i + ".png") + "\",\"class\":" + p.label() + ",\"name\":\"" + names.get(p.label())
                    + "\",\"probability\":" + p.probability() + "}", lines.get(i));
        }
    }

    @Test void topKListsTheMostProbableClassesInOrder(@TempDir Path dir) throws Exception {
        Path ck = TestCheckpoints.vgg();
        Prediction p;
        try (var be = new CpuBackend(); Classifier clf = Classifier.load(ck, be)) {
            p = clf.predict(image(5));
        }
        TrainCliTest.Run r = predict("--checkpoint", ck.toString(), "--top", "3", png(dir, 5).toString());
        assertEquals(0, r.code(), r.err());
        int[] top = p.top(3);
        String line = r.out().strip();
        assertTrue(line.startsWith(dir.resolve("test5.png") + ": " + top[0] + " "), line);
        assertEquals(3, line.split(", ").length, line);
        assertTrue(line.contains(", " + top[1] + " ") && line.contains(", " + top[2] + " "), line);
    }

    static void assertOneLineExitTwo(TrainCliTest.Run r, String expected) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertEquals("", r.out(), "nothing printed for the good images either");
    }

    @Test void anImageOfAnotherSizeIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        Path big = dir.resolve("big.png"), colour = dir.resolve("colour.jpg");
        ImageIO.write(new BufferedImage(64, 64, BufferedImage.TYPE_BYTE_GRAY), "png", big.toFile());
        ImageIO.write(new BufferedImage(32, 32, BufferedImage.TYPE_3BYTE_BGR), "jpg", colour.toFile());
        String ck = TestCheckpoints.mlp().toString();
        assertOneLineExitTwo(predict("--checkpoint", ck, png(dir, 0).toString(), big.toString()),
                "locallearn predict: " + big + ": 64x64 gray, model takes 1x28x28 (fashion-mnist)");
        assertOneLineExitTwo(predict("--checkpoint", ck, colour.toString()), colour + ": 32x32 RGB, model takes 1x28x28 (fashion-mnist)");
    }

    @Test void aGrayPictureSavedAsRgbGivesTheSameAnswer(@TempDir Path dir) throws Exception {
        Path gray = png(dir, 3), rgb = dir.resolve("rgb.png");
        BufferedImage g = ImageIO.read(gray.toFile()), c = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int v = g.getRaster().getSample(x, y, 0);
                c.setRGB(x, y, v << 16 | v << 8 | v);
            }
        ImageIO.write(c, "png", rgb.toFile());
        String ck = TestCheckpoints.mlp().toString();
        TrainCliTest.Run a = predict("--checkpoint", ck, "--json", gray.toString()), b = predict("--checkpoint", ck, "--json", rgb.toString());
        assertEquals(0, b.code(), b.err());
        assertEquals(a.out().replace(gray.toString(), "F"), b.out().replace(rgb.toString(), "F"));
    }

    @Test void aCorruptOrMissingImageIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        Path good = png(dir, 0), cut = dir.resolve("cut.png"), text = dir.resolve("notes.png");
        byte[] b = Files.readAllBytes(good);
        Files.write(cut, Arrays.copyOf(b, b.length / 2)); // a PNG that ends inside its pixel data
        Files.writeString(text, "not an image");
        String ck = TestCheckpoints.mlp().toString();
        assertOneLineExitTwo(predict("--checkpoint", ck, cut.toString()), cut + ": damaged image (");
        assertOneLineExitTwo(predict("--checkpoint", ck, text.toString()), text + ": not a PNG or JPEG image");
        assertOneLineExitTwo(predict("--checkpoint", ck, dir.resolve("none.png").toString()), dir.resolve("none.png") + ": no such file");
    }

    @Test void aDamagedCheckpointIsOneLineAndExitTwoAndLeftAlone(@TempDir Path dir) throws Exception {
        Path image = png(dir, 0);
        for (Path bad : HostileCheckpoints.of(TestCheckpoints.mlp(), dir)) {
            byte[] before = Files.readAllBytes(bad);
            assertOneLineExitTwo(predict("--checkpoint", bad.toString(), image.toString()), bad.toString());
            assertTrue(Arrays.equals(before, Files.readAllBytes(bad)), bad + " changed");
        }
    }

    @Test void badTopIsOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        assertOneLineExitTwo(predict("--checkpoint", TestCheckpoints.mlp().toString(), "--top", "0", png(dir, 0).toString()), "--top must be >= 1, got 0");
    }
}
