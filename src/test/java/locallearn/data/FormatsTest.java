package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each reader on small files written in the real format, with known pixels and labels. */
class FormatsTest {
    @TempDir Path tmp;

    static final Datasets.Places NOWHERE = new Datasets.Places(null, null, null);
    static final Datasets.LoadOptions ALL = Datasets.LoadOptions.defaults();

    static Datasets.Split load(String name, Path p) { return Datasets.load(name, p, ALL, NOWHERE); }

    // ---- CIFAR ------------------------------------------------------------------------------

    /** One CIFAR record: label byte(s), then pixel j = (seed + j) % 251 for the 3072 (C, H, W) bytes. */
    static byte[] cifarRecords(int[][] labels, int seed) {
        int lb = labels[0].length, rec = lb + 3072;
        byte[] b = new byte[labels.length * rec];
        for (int r = 0; r < labels.length; r++) {
            for (int k = 0; k < lb; k++) b[r * rec + k] = (byte) labels[r][k];
            for (int j = 0; j < 3072; j++) b[r * rec + lb + j] = (byte) ((seed + r + j) % 251);
        }
        return b;
    }

    /** CIFAR-10 files: batch k holds records with labels k-1 and 9, pixels seeded by 10k; test: label 4. */
    Object[] cifar10Entries(String folder) {
        Object[] e = new Object[12];
        for (int k = 1; k <= 5; k++) {
            e[2 * (k - 1)] = folder + "data_batch_" + k + ".bin";
            e[2 * (k - 1) + 1] = cifarRecords(new int[][] {{k - 1}, {9}}, 10 * k);
        }
        e[10] = folder + "test_batch.bin";
        e[11] = cifarRecords(new int[][] {{4}}, 77);
        return e;
    }

    static void writeEntries(Path root, Object... entries) throws IOException {
        for (int i = 0; i < entries.length; i += 2) {
            Path p = root.resolve((String) entries[i]);
            Files.createDirectories(p.getParent());
            Files.write(p, (byte[]) entries[i + 1]);
        }
    }

    static void assertCifar10(Datasets.Split s) {
        assertEquals(10, s.train().size());
        assertArrayEquals(new int[] {0, 9, 1, 9, 2, 9, 3, 9, 4, 9}, s.train().labels());
        assertArrayEquals(new int[] {4}, s.test().labels());
        // train image 3 is batch 2's second record: pixel j = (20 + 1 + j) % 251; j = 1024 + 5*32 + 7 is
        // green, row 5, column 7: (21 + 1191) % 251 = 208
        assertEquals(208 / 255f, s.train().images()[3 * 3072 + 1024 + 5 * 32 + 7]);
        assertEquals((77 + 3071) % 251 / 255f, s.test().images()[3071]);
        assertEquals(3, s.train().channels());
    }

    @Test void cifar10FromFolderStandardFolderAndArchive() throws IOException {
        writeEntries(tmp.resolve("plain"), cifar10Entries(""));
        assertCifar10(load("cifar10", tmp.resolve("plain")));
        writeEntries(tmp.resolve("above"), cifar10Entries("cifar-10-batches-bin/"));
        Datasets.Split s = load("cifar10", tmp.resolve("above"));
        assertCifar10(s);
        assertEquals(tmp.resolve("above/cifar-10-batches-bin").toString(), s.source());

        byte[] tgz = Files4Test.gzip(Files4Test.tar(cifar10Entries("cifar-10-batches-bin/")));
        Files.createDirectories(tmp.resolve("arch"));
        Files.write(tmp.resolve("arch/cifar-10-binary.tar.gz"), tgz);
        assertCifar10(load("cifar10", tmp.resolve("arch/cifar-10-binary.tar.gz")));
        assertCifar10(load("cifar10", tmp.resolve("arch")));  // the folder holding the archive
    }

    @Test void cifar100UsesTheFineLabel() throws IOException {
        writeEntries(tmp, "cifar-100-binary/train.bin", cifarRecords(new int[][] {{3, 99}, {19, 0}, {0, 57}}, 1),
                "cifar-100-binary/test.bin", cifarRecords(new int[][] {{7, 42}}, 2));
        Datasets.Split s = load("cifar100", tmp);
        assertArrayEquals(new int[] {99, 0, 57}, s.train().labels());
        assertArrayEquals(new int[] {42}, s.test().labels());
        assertEquals(100, s.train().classes());
        assertEquals((1 + 2 + 100) % 251 / 255f, s.train().images()[2 * 3072 + 100]);
    }

    @Test void cifarLimitDecodesOnlyTheFirstImages() throws IOException {
        writeEntries(tmp, cifar10Entries(""));
        Datasets.Split s = Datasets.load("cifar10", tmp, new Datasets.LoadOptions(3, 0, true), NOWHERE);
        assertArrayEquals(new int[] {0, 9, 1}, s.train().labels());
        assertEquals(3 * 3072, s.train().images().length);
    }

    // ---- STL-10 -----------------------------------------------------------------------------

    /** Pixel (channel c, row h, column w) of image i: (i*31 + c*7 + h*3 + w*5) % 256. */
    static int stlPixel(int i, int c, int h, int w) { return (i * 31 + c * 7 + h * 3 + w * 5) % 256; }

    /** STL-10's layout: per image, per channel, column by column (byte w*96 + h is pixel (h, w)). */
    static byte[] stlImages(int n) {
        byte[] b = new byte[n * 27648];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                for (int w = 0; w < 96; w++)
                    for (int h = 0; h < 96; h++) b[i * 27648 + c * 9216 + w * 96 + h] = (byte) stlPixel(i, c, h, w);
        return b;
    }

    Object[] stlEntries(String folder) {
        return new Object[] {folder + "train_X.bin", stlImages(2), folder + "train_y.bin", new byte[] {10, 1},
                folder + "test_X.bin", stlImages(1), folder + "test_y.bin", new byte[] {3}};
    }

    static void assertStl(Datasets.Split s) {
        assertArrayEquals(new int[] {9, 0}, s.train().labels());  // 10 (truck) -> 9, 1 (airplane) -> 0
        assertArrayEquals(new int[] {2}, s.test().labels());
        float[] x = s.train().images();
        // row-major (C, H, W): a transposed reader would give stlPixel(1, 2, 40, 3) instead
        assertEquals(stlPixel(1, 2, 3, 40) / 255f, x[27648 + 2 * 9216 + 3 * 96 + 40]);
        assertEquals(stlPixel(0, 0, 95, 0) / 255f, x[95 * 96]);
        assertNotEquals(stlPixel(1, 2, 40, 3), stlPixel(1, 2, 3, 40));
        assertEquals(96, s.train().height());
    }

    @Test void stl10ColumnMajorFromFolderAndArchive() throws IOException {
        writeEntries(tmp.resolve("a"), stlEntries("stl10_binary/"));
        assertStl(load("stl10", tmp.resolve("a")));
        assertStl(load("stl10", tmp.resolve("a/stl10_binary")));
        Files.write(tmp.resolve("stl10_binary.tar.gz"), Files4Test.gzip(Files4Test.tar(stlEntries("stl10_binary/"))));
        Datasets.Split s = load("stl10", tmp.resolve("stl10_binary.tar.gz"));
        assertStl(s);
        assertEquals(tmp.resolve("stl10_binary.tar.gz").toString(), s.source());
    }

    // ---- SVHN -------------------------------------------------------------------------------

    /** X as MATLAB stores it: pixel (r, c, ch) of image n at r + 32c + 1024ch + 3072n, value (r + 2c + 50ch + 7n) % 256. */
    static byte[] svhnX(int n) {
        byte[] x = new byte[n * 3072];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < 3; ch++)
                for (int c = 0; c < 32; c++)
                    for (int r = 0; r < 32; r++) x[r + 32 * c + 1024 * ch + 3072 * i] = (byte) ((r + 2 * c + 50 * ch + 7 * i) % 256);
        return x;
    }

    static float svhnPixel(int i, int ch, int r, int c) { return ((r + 2 * c + 50 * ch + 7 * i) % 256) / 255f; }

    static void assertSvhnImages(Dataset d, int offset, int n) {
        for (int i = 0; i < n; i++) {
            int k = (offset + i) * 3072;
            assertEquals(svhnPixel(i, 0, 0, 0), d.images()[k]);
            // channel 2, row 3, column 17: the transposed value would be svhnPixel(i, 2, 17, 3)
            assertEquals(svhnPixel(i, 2, 3, 17), d.images()[k + 2 * 1024 + 3 * 32 + 17]);
            assertEquals(svhnPixel(i, 1, 31, 30), d.images()[k + 1024 + 31 * 32 + 30]);
        }
    }

    /**
     * Written by scipy 1.17.1: savemat(f, {'X': X, 'y': y}, do_compression=True), X uint8 (32, 32, 3, 3)
     * with X[r, c, ch, n] = (r + 2c + 50ch + 7n) % 256, y = [[10.], [1.], [5.]] (doubles): a reader
     * check that does not rest on our own writer.
     */
    static final String SCIPY_SVHN = """
TUFUTEFCIDUuMCBNQVQtZmlsZSBQbGF0Zm9ybTogcG9zaXgsIENyZWF0ZWQgb246IEZyaSBOb3YgMjcgMDI6Mjc6MzMgMjAyNgAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU0PAAAA2AIAAHic7djbU40BFIbxrUQ5
5nwmJEmSJEmSJEmSJEmSJEmSJCFJkiRJkiRJkiRJkiSJJGf/kt3o1vNeuNv2t2fNN7N/3826e2aNMRgMnvYGwzDj29o4NoY/j5Vx
bI1jNziWgzPE+Is0vi0GPrIf+MPCcqjVsOHWNiNGjho9ZqztuPETJk6aPGXqtOkzZs6aPYfVbi7rvPms9gtYHRayOi5idVrM6ryE
1WUpq+syVrflrO4rWD1WsnquYvVazeq9htVnLavvOla/9az+G1gDNrIGbmIN2swavIU1ZCtr6DbWsO2s4TtYI3ayRu5ijdrNGr3H
1PdjjdnLGruPNW4/a/wB1oSDrImHWJMOsyYfYU05ypp6jDXtOGv6CdaMk6yZp1hPn2HNOsuafY415zxr7gXWvIus+ZdYCy6zFl5h
LbrKWnzN1PdjLbnOWnqDtewma/kt1orbrJV3WKvuslbfY625z1r7gLXuIWv9I9aGx6yNT1ibnrI2P2Ntec7a+oK17SVr+yvWjtes
nW9Yu96ydr9j7Xkv8txB5LmjyHMnkefOIs9dRJ67ijx3E3nuLvLcQ+S5p8hzL5Hn3iLPfUSe+4o89xN57i/yPEDkeaDI8yCR58Ei
z0NEnoeKfA0T+Rou8jVC5GukyNcoka/RIl9jRL7GinyNE/kab+r7iTxPEHmeKPI8SeR5ssjzFJHnqSLP00Sep4s8zxB5niny/LTI
8yyR59kiz3NEnueKfM0T+Zov8rVA5GuhyNcika/FIl9LRL6WinwtE/labur7iTyvEHleKfK8SuR5tcjzGpHntSLP60Se14s8bxB5
3ijyvEnkebPI8xaR560iz9tEnreLPO8Qed4p8rxL5Hm3yPMekecfWHs/svZ9Yu3/bL6Pm+/j5vv4/3s/NvX9zPdx833cfD/+e2Sa
+n7m+7j5Pv4v93GR570iz/tEnveLPP/C+vUb6/cfrD9//QbsXJAvDwAAADEAAAB4nONjYGDwAGI2IOaA0iDACuUzAzEjGDMyVAJp
TiCWYIABFQcI/cEeQos4AABKrQL/
            """;

    @Test void svhnFromAScipyWrittenMatFile() throws IOException {
        Files.write(tmp.resolve("train_32x32.mat"), Base64.getMimeDecoder().decode(SCIPY_SVHN));
        Files.write(tmp.resolve("test_32x32.mat"), Base64.getMimeDecoder().decode(SCIPY_SVHN));
        Datasets.Split s = Datasets.load("svhn", tmp, new Datasets.LoadOptions(0, 0, false), NOWHERE);
        assertArrayEquals(new int[] {0, 1, 5}, s.train().labels());  // label 10 is the digit 0
        assertSvhnImages(s.train(), 0, 3);
        assertSvhnImages(s.test(), 0, 3);
    }

    @Test void svhnCompressedAndPlainWithExtraSplit() throws IOException {
        Files.write(tmp.resolve("train_32x32.mat"), Files4Test.svhnMat(svhnX(2), 2, new byte[] {10, 3}, true));
        Files.write(tmp.resolve("extra_32x32.mat"), Files4Test.svhnMat(svhnX(3), 3, new byte[] {1, 2, 10}, false));
        Files.write(tmp.resolve("test_32x32.mat"), Files4Test.svhnMat(svhnX(1), 1, new byte[] {9}, true));
        Datasets.Split s = load("svhn", tmp);
        assertArrayEquals(new int[] {0, 3, 1, 2, 0}, s.train().labels());
        assertSvhnImages(s.train(), 0, 2);
        assertSvhnImages(s.train(), 2, 3);
        assertArrayEquals(new int[] {9}, s.test().labels());

        Datasets.Split noExtra = Datasets.load("svhn", tmp, new Datasets.LoadOptions(0, 0, false), NOWHERE);
        assertArrayEquals(new int[] {0, 3}, noExtra.train().labels());
        // a limit within the train split never opens extra_32x32.mat
        Files.delete(tmp.resolve("extra_32x32.mat"));
        assertArrayEquals(new int[] {0}, Datasets.load("svhn", tmp, new Datasets.LoadOptions(1, 0, true), NOWHERE).train().labels());
        DataException e = assertThrows(DataException.class, () -> load("svhn", tmp));
        assertTrue(e.getMessage().contains("extra_32x32.mat: no such file"), e.getMessage());
    }
}
