package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxAndDiscoveryTest {
    @TempDir Path tmp;

    static final Path DEBIAN = Path.of("/usr/share/datasets/fashion-mnist");

    /** Nowhere to look: only the embedded sample can answer. */
    Datasets.Places nowhere() { return new Datasets.Places(null, tmp.resolve("home"), tmp.resolve("no-debian")); }

    /** Four IDX files with 3 train and 2 test images of 28x28, pixel (i, r, c) = (i*7 + r + c) % 256. */
    void writeTinyIdx(Path dir, boolean gzip) throws IOException {
        Files.createDirectories(dir);
        write(dir, "train-images-idx3-ubyte", Files4Test.idxImages(3, 28, 28, pixels(3)), gzip);
        write(dir, "train-labels-idx1-ubyte", Files4Test.idxLabels(new byte[] {9, 0, 3}), gzip);
        write(dir, "t10k-images-idx3-ubyte", Files4Test.idxImages(2, 28, 28, pixels(2)), gzip);
        write(dir, "t10k-labels-idx1-ubyte", Files4Test.idxLabels(new byte[] {1, 7}), gzip);
    }

    static byte[] pixels(int n) {
        byte[] p = new byte[n * 784];
        for (int i = 0; i < n; i++)
            for (int r = 0; r < 28; r++)
                for (int c = 0; c < 28; c++) p[i * 784 + r * 28 + c] = (byte) (i * 7 + r + c);
        return p;
    }

    static void write(Path dir, String name, byte[] bytes, boolean gzip) throws IOException {
        Files.write(dir.resolve(gzip ? name + ".gz" : name), gzip ? Files4Test.gzip(bytes) : bytes);
    }

    void assertTiny(Datasets.Split s) {
        assertEquals(3, s.train().size());
        assertEquals(2, s.test().size());
        assertArrayEquals(new int[] {9, 0, 3}, s.train().labels());
        assertArrayEquals(new int[] {1, 7}, s.test().labels());
        // image 2, row 5, col 9: (2*7 + 5 + 9) = 28 -> 28/255 exactly as float division gives it
        assertEquals(28 / 255f, s.train().images()[2 * 784 + 5 * 28 + 9]);
        assertEquals(54 / 255f, s.train().images()[783]);  // image 0, row 27, col 27
        assertEquals(1, s.train().channels());
        assertEquals(784, s.train().imageSize());
    }

    @Test void readsRawAndGzippedIdxFilesWithKnownPixelsAndLabels() throws IOException {
        writeTinyIdx(tmp.resolve("raw"), false);
        writeTinyIdx(tmp.resolve("gz"), true);
        Datasets.Split raw = Datasets.load("mnist", tmp.resolve("raw"), Datasets.LoadOptions.defaults(), nowhere());
        assertTiny(raw);
        assertEquals(tmp.resolve("raw").toString(), raw.source());
        assertTiny(Datasets.load("kmnist", tmp.resolve("gz"), Datasets.LoadOptions.defaults(), nowhere()));
    }

    @Test void limitsKeepTheFirstImages() throws IOException {
        writeTinyIdx(tmp.resolve("raw"), false);
        Datasets.Split s = Datasets.load("mnist", tmp.resolve("raw"), new Datasets.LoadOptions(2, 1, true), nowhere());
        assertArrayEquals(new int[] {9, 0}, s.train().labels());
        assertArrayEquals(new int[] {1}, s.test().labels());
        assertEquals(2 * 784, s.train().images().length);
    }

    @Test void discoveryLooksInLocallearnDataThenItsParentThenHome() throws IOException {
        Datasets.Places p = new Datasets.Places("/data", Path.of("/home/u"), Path.of("/usr/share/datasets/fashion-mnist"));
        assertEquals(List.of(Path.of("/data/mnist"), Path.of("/data"), Path.of("/home/u/.locallearn/data/mnist")), p.candidates("mnist"));
        assertEquals(Path.of("/usr/share/datasets/fashion-mnist"), p.candidates("fashion-mnist").getLast());

        writeTinyIdx(tmp.resolve("home/.locallearn/data/kmnist"), true);
        Datasets.Split s = Datasets.load("kmnist", null, Datasets.LoadOptions.defaults(), nowhere());
        assertEquals(tmp.resolve("home/.locallearn/data/kmnist").toString(), s.source());

        writeTinyIdx(tmp.resolve("env/kmnist"), false);
        Datasets.Places env = new Datasets.Places(tmp.resolve("env").toString(), tmp.resolve("home"), null);
        assertEquals(tmp.resolve("env/kmnist").toString(), Datasets.load("kmnist", null, Datasets.LoadOptions.defaults(), env).source());
    }

    @Test void missingDatasetNamesThePlacesAndWhereToGetIt() {
        DataException e = assertThrows(DataException.class,
                () -> Datasets.load("mnist", null, Datasets.LoadOptions.defaults(), nowhere()));
        assertTrue(e.getMessage().contains("$LOCALLEARN_DATA (not set)"), e.getMessage());
        assertTrue(e.getMessage().contains(tmp.resolve("home/.locallearn/data/mnist").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("yann.lecun.com"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        DataException given = assertThrows(DataException.class,
                () -> Datasets.load("mnist", tmp.resolve("nope"), Datasets.LoadOptions.defaults(), nowhere()));
        assertTrue(given.getMessage().contains("does not exist"), given.getMessage());
    }

    @Test void aMissingFileOfTheFourIsNamed() throws IOException {
        writeTinyIdx(tmp.resolve("three"), true);
        Files.delete(tmp.resolve("three/t10k-labels-idx1-ubyte.gz"));
        DataException e = assertThrows(DataException.class,
                () -> Datasets.load("mnist", tmp.resolve("three"), Datasets.LoadOptions.defaults(), nowhere()));
        assertEquals(tmp.resolve("three/t10k-labels-idx1-ubyte") + ": no such file (nor t10k-labels-idx1-ubyte.gz)", e.getMessage());
    }

    @Test void unknownNameListsTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Datasets.spec("coco"));
        assertEquals("unknown dataset 'coco'; known: mnist, fashion-mnist, kmnist, cifar10, cifar100, svhn, stl10, folder, imagenet", e.getMessage());
        assertEquals(List.of("mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100", "svhn", "stl10", "folder", "imagenet"), Datasets.names());
        // an image folder's facts come from its files, not from the name
        assertEquals("imagenet: an image folder's classes, image size and statistics come from its files; load it",
                assertThrows(IllegalArgumentException.class, () -> Datasets.spec("ImageNet")).getMessage());
        assertEquals("fashion-mnist", Datasets.spec("FashionMNIST").name());  // the reference's spelling
        assertEquals("kmnist", Datasets.spec("KuzushijiMNIST").name());
        assertEquals("cifar10", Datasets.spec("CIFAR10").name());
    }

    @Test void specsCarryThePapersNormalisationAndAugmentation() {
        DatasetSpec f = Datasets.spec("fashion-mnist");
        assertArrayEquals(new float[] {0.286f}, f.mean());
        assertArrayEquals(new float[] {0.353f}, f.std());
        assertEquals(2, f.cropPad());
        assertTrue(f.flip());
        DatasetSpec c = Datasets.spec("cifar100");
        assertEquals(100, c.classes());
        assertArrayEquals(new float[] {0.300f, 0.287f, 0.294f}, c.std());
        assertEquals(4, c.cropPad());
        assertFalse(Datasets.spec("kmnist").flip());
        assertEquals(0, Datasets.spec("kmnist").cropPad());
        assertEquals(96, Datasets.spec("stl10").height());
        assertEquals(0, Datasets.spec("svhn").cropPad());
    }

    @Test void embeddedSampleIsBalancedFashionMnist() {
        Datasets.Split s = Datasets.load("fashion-mnist", null, Datasets.LoadOptions.defaults(), nowhere());
        assertEquals("embedded sample", s.source());
        assertEquals(6000, s.train().size());
        assertEquals(1000, s.test().size());
        int[] train = new int[10], test = new int[10];
        for (int y : s.train().labels()) train[y]++;
        for (int y : s.test().labels()) test[y]++;
        for (int k = 0; k < 10; k++) { assertEquals(600, train[k]); assertEquals(100, test[k]); }
        // the sample keeps file order: it starts like the real train file (labels 9 0 0 3 0 2 7 2 5 5)
        assertArrayEquals(new int[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, java.util.Arrays.copyOf(s.train().labels(), 10));
        // pixel sum of the first train image in the real file is 76247 (numpy on the Debian files)
        assertEquals(76247, byteSum(s.train().images(), 0, 784));
    }

    /** The sum of the original bytes: each v is b / 255f, and round(v * 255) gives b back exactly. */
    static long byteSum(float[] x, int from, int n) {
        long s = 0;
        for (int i = from; i < from + n; i++) s += Math.round(x[i] * 255);
        return s;
    }

    static double sum(float[] x, int from, int n) {
        double s = 0;
        for (int i = from; i < from + n; i++) s += x[i];
        return s;
    }

    @Test void realFashionMnistFilesWhenPresent() {
        Assumptions.assumeTrue(Files.isDirectory(DEBIAN), "skipped: no " + DEBIAN + " (apt-get install dataset-fashion-mnist)");
        long t0 = System.nanoTime();
        Datasets.Split s = Datasets.load("fashion-mnist", DEBIAN, Datasets.LoadOptions.defaults(), nowhere());
        System.out.printf("fashion-mnist full load: %.0f ms%n", (System.nanoTime() - t0) / 1e6);
        assertEquals(60000, s.train().size());
        assertEquals(10000, s.test().size());
        assertArrayEquals(new int[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, java.util.Arrays.copyOf(s.train().labels(), 10));
        assertArrayEquals(new int[] {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, java.util.Arrays.copyOf(s.test().labels(), 10));
        // pixel totals from numpy over the same files: train 3431114169, test 573469082 (sums of bytes)
        assertEquals(3431114169L, byteSum(s.train().images(), 0, s.train().images().length));
        assertEquals(573469082L, byteSum(s.test().images(), 0, s.test().images().length));
        // the paper's normalisation constants are the data's mean and std to 3 digits: 0.28604 and 0.35302 (numpy)
        double mean = sum(s.train().images(), 0, s.train().images().length) / s.train().images().length;
        double var = 0;
        for (float v : s.train().images()) var += (v - mean) * (v - mean);
        assertEquals(0.286, mean, 0.0005);
        assertEquals(0.353, Math.sqrt(var / s.train().images().length), 0.0005);
    }
}
