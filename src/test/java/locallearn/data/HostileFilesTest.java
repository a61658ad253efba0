package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged and hostile files: every reader must answer with a DataException (one line naming the
 * file), or, where the damage is in bytes it never needs, with the same data; never another
 * exception, never an allocation sized by a lying header.
 */
class HostileFilesTest {
    @TempDir Path tmp;

    static final Datasets.Places NOWHERE = new Datasets.Places(null, null, null);

    /** Counts what the damage did, for the report line each test prints. */
    static final class Tally {
        int rejected, sameData, otherData;

        @Override public String toString() { return rejected + " rejected, " + sameData + " read the same data, " + otherData + " read other data"; }
    }

    /**
     * A valid set of files (relative path -> bytes) and how to load it; {@code decode}, when not null,
     * runs the same readers on the bytes in memory (the loops over every truncation use it: the disk
     * adds nothing there but a millisecond a try).
     */
    record Case(String dataset, Map<String, byte[]> files, Datasets.LoadOptions options, Decoder decode) {
        Case(String dataset, Map<String, byte[]> files, Datasets.LoadOptions options) { this(dataset, files, options, null); }
    }

    interface Decoder { Datasets.Split decode(Map<String, byte[]> files) throws IOException; }

    /** A file as Source.Folder hands it over: gunzipped, except for IDX files (Idx inflates those itself). */
    static Source.Blob blob(Map<String, byte[]> files, String name) {
        byte[] b = files.get(name);
        return new Source.Blob("/mem/" + name, name.contains("-idx") ? b : Source.gunzipIfNeeded(b, "/mem/" + name));
    }

    Datasets.Split load(Case c) { return Datasets.load(c.dataset(), tmp, c.options(), NOWHERE); }

    void writeAll(Case c) throws IOException {
        try (var walk = Files.walk(tmp)) {  // nothing left over from an earlier case
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) if (!p.equals(tmp)) Files.delete(p);
        }
        for (var e : c.files().entrySet()) {
            Path p = tmp.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
    }

    /** Loads the damaged set; success is allowed, any exception other than DataException fails the test. */
    void attempt(Case c, Datasets.Split good, String damage, Tally t) { attempt(c, good, damage, t, null); }

    void attempt(Case c, Datasets.Split good, String damage, Tally t, Map<String, byte[]> inMemory) {
        try {
            Datasets.Split s = inMemory != null ? c.decode().decode(inMemory) : load(c);
            boolean same = Arrays.equals(s.train().labels(), good.train().labels()) && Arrays.equals(s.train().images(), good.train().images())
                    && Arrays.equals(s.test().labels(), good.test().labels()) && Arrays.equals(s.test().images(), good.test().images());
            if (same) t.sameData++; else t.otherData++;
        } catch (DataException e) {
            String m = e.getMessage();
            assertTrue(m != null && !m.isBlank() && !m.contains("\n"), damage + ": message must be one line: " + m);
            assertTrue(m.contains(inMemory != null ? "/mem/" : tmp.toString()), damage + ": message must name the file: " + m);
            t.rejected++;
        } catch (Throwable e) {
            throw new AssertionError(damage + ": " + c.dataset() + " threw " + e + " instead of a DataException", e);
        }
    }

    /**
     * Every truncation length of {@code file}; none may read other data than the intact set, except
     * that a headerless file cut at a record boundary ({@code prefixAllowed}) may read its whole records.
     */
    Tally truncations(Case c, String file) throws IOException { return truncations(c, file, false); }

    Tally truncations(Case c, String file, boolean prefixAllowed) throws IOException {
        writeAll(c);
        Datasets.Split good = load(c);
        byte[] whole = c.files().get(file);
        Tally t = new Tally();
        int prefixes = 0;
        for (int len = 0; len < whole.length; len++) {
            Map<String, byte[]> cut = new LinkedHashMap<>(c.files());
            cut.put(file, Arrays.copyOf(whole, len));
            if (c.decode() != null) {
                int other = t.otherData;
                attempt(c, good, file + " cut to " + len + " bytes", t, cut);
                if (t.otherData > other && prefixAllowed && isPrefix(c.decode().decode(cut), good)) { t.otherData--; prefixes++; }
            } else {
                Files.write(tmp.resolve(file), cut.get(file));
                attempt(c, good, file + " cut to " + len + " bytes", t);
            }
        }
        Files.write(tmp.resolve(file), whole);
        assertEquals(0, t.otherData, "a truncated " + file + " must never yield other data");
        System.out.printf("%s, every truncation of %s (%d bytes): %s%s%n", c.dataset(), file, whole.length, t,
                prefixAllowed ? ", " + prefixes + " read the whole records before the cut" : "");
        return t;
    }

    static boolean isPrefix(Datasets.Split s, Datasets.Split good) {
        return prefix(s.train(), good.train()) && prefix(s.test(), good.test());
    }

    static boolean prefix(Dataset a, Dataset b) {
        return a.size() <= b.size() && Arrays.equals(a.labels(), Arrays.copyOf(b.labels(), a.size()))
                && Arrays.equals(a.images(), Arrays.copyOf(b.images(), a.images().length));
    }

    /**
     * {@code n} random mutations (1 to 4 bytes set to random values) of random files of the set, seed
     * fixed; at least {@code minRejected} of them must be caught (most land in headers and tags).
     */
    Tally mutations(Case c, int n, long seed, double minRejected) throws IOException {
        writeAll(c);
        Datasets.Split good = load(c);
        List<String> names = new ArrayList<>(c.files().keySet());
        SplittableRandom rnd = new SplittableRandom(seed);
        Tally t = new Tally();
        for (int i = 0; i < n; i++) {
            String file = names.get(rnd.nextInt(names.size()));
            byte[] b = c.files().get(file).clone();
            int k = 1 + rnd.nextInt(4);
            StringBuilder where = new StringBuilder();
            for (int j = 0; j < k; j++) {
                // half the mutations hit the first 64 bytes, where headers and tags live
                int pos = rnd.nextBoolean() ? rnd.nextInt(Math.min(64, b.length)) : rnd.nextInt(b.length);
                b[pos] = (byte) rnd.nextInt(256);
                where.append(pos).append(' ');
            }
            if (c.decode() != null) {
                Map<String, byte[]> m = new LinkedHashMap<>(c.files());
                m.put(file, b);
                attempt(c, good, file + " mutated at " + where, t, m);
            } else {
                Files.write(tmp.resolve(file), b);
                attempt(c, good, file + " mutated at " + where, t);
                Files.write(tmp.resolve(file), c.files().get(file));
            }
        }
        System.out.printf("%s, %d mutations: %s%n", c.dataset(), n, t);
        assertTrue(t.rejected >= minRejected * n, "at least " + minRejected * n + " mutations must be caught: " + t);
        return t;
    }

    // ---- the valid sets ----------------------------------------------------------------------

    static Case idx(boolean gzip) {
        Map<String, byte[]> f = new LinkedHashMap<>();
        String gz = gzip ? ".gz" : "";
        f.put("train-images-idx3-ubyte" + gz, wrap(Files4Test.idxImages(3, 28, 28, IdxAndDiscoveryTest.pixels(3)), gzip));
        f.put("train-labels-idx1-ubyte" + gz, wrap(Files4Test.idxLabels(new byte[] {9, 0, 3}), gzip));
        f.put("t10k-images-idx3-ubyte" + gz, wrap(Files4Test.idxImages(1, 28, 28, IdxAndDiscoveryTest.pixels(1)), gzip));
        f.put("t10k-labels-idx1-ubyte" + gz, wrap(Files4Test.idxLabels(new byte[] {7}), gzip));
        return new Case("mnist", f, Datasets.LoadOptions.defaults(), m -> new Datasets.Split(
                Idx.read("mnist", 10, 28, 28, blob(m, "train-images-idx3-ubyte" + gz), blob(m, "train-labels-idx1-ubyte" + gz), 0),
                Idx.read("mnist", 10, 28, 28, blob(m, "t10k-images-idx3-ubyte" + gz), blob(m, "t10k-labels-idx1-ubyte" + gz), 0), "memory"));
    }

    static byte[] wrap(byte[] b, boolean gzip) { return gzip ? Files4Test.gzip(b) : b; }

    static Case cifarArchive() {
        Object[] entries = new Object[12];
        for (int k = 1; k <= 5; k++) {
            entries[2 * k - 2] = "cifar-10-batches-bin/data_batch_" + k + ".bin";
            entries[2 * k - 1] = FormatsTest.cifarRecords(new int[][] {{k}}, k);
        }
        entries[10] = "cifar-10-batches-bin/test_batch.bin";
        entries[11] = FormatsTest.cifarRecords(new int[][] {{3}}, 9);
        Map<String, byte[]> f = new LinkedHashMap<>();
        f.put("cifar-10-binary.tar.gz", Files4Test.gzip(Files4Test.tar(entries)));
        return new Case("cifar10", f, Datasets.LoadOptions.defaults(), m -> cifar10FromArchive(m.get("cifar-10-binary.tar.gz")));
    }

    /** What Cifar.read10 does with an archive, from bytes in memory. */
    static Datasets.Split cifar10FromArchive(byte[] archive) {
        Map<String, Source.Blob> b = TarGz.read(new java.io.ByteArrayInputStream(archive), archive.length, "/mem/archive",
                Cifar.concat(Cifar.CIFAR10_TRAIN, Cifar.CIFAR10_TEST), true);
        return new Datasets.Split(Cifar.decode("cifar10", Cifar.pick(b, Cifar.CIFAR10_TRAIN), 1, 10, 0),
                Cifar.decode("cifar10", Cifar.pick(b, Cifar.CIFAR10_TEST), 1, 10, 0), "memory");
    }

    static Case cifar100Folder() {
        Map<String, byte[]> f = new LinkedHashMap<>();
        f.put("train.bin", FormatsTest.cifarRecords(new int[][] {{1, 11}, {2, 22}}, 5));
        f.put("test.bin", FormatsTest.cifarRecords(new int[][] {{3, 33}}, 6));
        return new Case("cifar100", f, Datasets.LoadOptions.defaults(), m -> new Datasets.Split(
                Cifar.decode("cifar100", List.of(blob(m, "train.bin")), 2, 100, 0),
                Cifar.decode("cifar100", List.of(blob(m, "test.bin")), 2, 100, 0), "memory"));
    }

    static Case stl() {
        Map<String, byte[]> f = new LinkedHashMap<>();
        f.put("train_X.bin", FormatsTest.stlImages(1));
        f.put("train_y.bin", new byte[] {4});
        f.put("test_X.bin", FormatsTest.stlImages(1));
        f.put("test_y.bin", new byte[] {10});
        return new Case("stl10", f, Datasets.LoadOptions.defaults(), m -> new Datasets.Split(
                Stl10.decode(blob(m, "train_X.bin"), blob(m, "train_y.bin"), 0),
                Stl10.decode(blob(m, "test_X.bin"), blob(m, "test_y.bin"), 0), "memory"));
    }

    static Case svhn(boolean compress) {
        Map<String, byte[]> f = new LinkedHashMap<>();
        f.put("train_32x32.mat", Files4Test.svhnMat(FormatsTest.svhnX(2), 2, new byte[] {10, 4}, compress));
        f.put("test_32x32.mat", Files4Test.svhnMat(FormatsTest.svhnX(1), 1, new byte[] {2}, compress));
        return new Case("svhn", f, new Datasets.LoadOptions(0, 0, false), m -> new Datasets.Split(
                Svhn.decode(0, mat(m, "train_32x32.mat")), Svhn.decode(0, mat(m, "test_32x32.mat")), "memory"));
    }

    static Svhn.Part mat(Map<String, byte[]> m, String name) {
        byte[] b = m.get(name);
        if (b.length == 0) throw new DataException("/mem/" + name + ": file is empty");  // as Svhn.part(Path) says
        return Svhn.part(new java.io.ByteArrayInputStream(b), b.length, "/mem/" + name);
    }

    // ---- truncations and mutations -------------------------------------------------------------

    @Test void idxRawTruncatedAtEveryByteIsRejected() throws IOException {
        Case c = idx(false);
        // raw IDX lengths are fixed by the header: every cut is caught
        assertEquals(0, truncations(c, "train-images-idx3-ubyte").sameData);
        assertEquals(0, truncations(c, "train-labels-idx1-ubyte").sameData);
        mutations(c, 3000, 1, 0.5);
    }

    @Test void idxGzipTruncatedAndMutated() throws IOException {
        Case c = idx(true);
        // the reader reads to the end of the gzip stream, so a cut in the CRC and length trailer is caught too
        assertEquals(0, truncations(c, "train-images-idx3-ubyte.gz").sameData);
        assertEquals(0, truncations(c, "t10k-labels-idx1-ubyte.gz").sameData);
        mutations(c, 3000, 2, 0.5);
    }

    @Test void cifarArchiveTruncatedAndMutated() throws IOException {
        Case c = cifarArchive();
        truncations(c, "cifar-10-binary.tar.gz");
        mutations(c, 3000, 3, 0.5);
    }

    @Test void paxArchiveTruncatedAndMutated() throws IOException {
        byte[] whole = Base64.getMimeDecoder().decode(GnuTarArchivesTest.PAX_HEADERS);
        Datasets.Split good = cifar10FromArchive(whole);
        SplittableRandom rnd = new SplittableRandom(8);
        Tally t = new Tally();
        for (int i = 0; i < whole.length + 1000; i++) {
            // first every truncation, then 1000 mutations, this time of the gunzipped tar (headers, pax records)
            byte[] b;
            if (i < whole.length) {
                b = Arrays.copyOf(whole, i);
            } else {
                byte[] tar = Source.gunzipIfNeeded(whole, "pax");
                for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) tar[rnd.nextInt(1536)] = (byte) rnd.nextInt(256);
                b = Files4Test.gzip(tar);
            }
            try {
                Datasets.Split s = cifar10FromArchive(b);
                if (Arrays.equals(s.train().labels(), good.train().labels()) && Arrays.equals(s.train().images(), good.train().images())) t.sameData++;
                else t.otherData++;
            } catch (DataException e) {
                assertTrue(e.getMessage().contains("/mem/archive") && !e.getMessage().contains("\n"), e.getMessage());
                t.rejected++;
            } catch (Throwable e) {
                throw new AssertionError("damage " + i + ": threw " + e, e);
            }
        }
        System.out.printf("cifar10, pax archive: every truncation and 1000 mutations of its tar headers: %s%n", t);
        assertTrue(t.rejected >= whole.length - 64 + 500, t.toString());
    }

    @Test void cifarRecordsTruncatedAndMutated() throws IOException {
        // CIFAR files have no header: cut at a record boundary, a file is a valid shorter one
        Case c = cifar100Folder();
        assertEquals(0, truncations(c, "train.bin", true).sameData);
        mutations(c, 3000, 4, 0.01);  // only the 2 label bytes of a record can be wrong
    }

    @Test void stlTruncatedAndMutated() throws IOException {
        Case c = stl();
        assertEquals(0, truncations(c, "train_X.bin").sameData);
        assertEquals(0, truncations(c, "train_y.bin").sameData);
        mutations(c, 3000, 5, 0.2);  // labels, and the lengths of the two files
    }

    @Test void svhnMatTruncatedAndMutated() throws IOException {
        Case z = svhn(true);
        truncations(z, "train_32x32.mat");
        mutations(z, 1000, 6, 0.5);
        Case plain = svhn(false);
        truncations(plain, "test_32x32.mat");
        mutations(plain, 1000, 7, 0.1);  // tags, names and dims; pixels may be anything
    }

    // ---- specific hostile files ---------------------------------------------------------------

    /** Bytes this thread allocated while running {@code r} (HotSpot's per-thread counter). */
    static long allocatedBy(Runnable r) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        r.run();
        return mx.getCurrentThreadAllocatedBytes() - before;
    }

    DataException rejected(Case c) {
        return assertThrows(DataException.class, () -> {
            try { writeAll(c); } catch (IOException e) { throw new AssertionError(e); }
            load(c);
        });
    }

    /** The absurd cases must fail after allocating little: 64 MB is far below any claimed size here. */
    static final long LITTLE = 64L << 20;

    @Test void idxHeaderClaimingTwoToThe31ImagesAllocatesNothingLikeIt() throws IOException {
        for (boolean gzip : new boolean[] {false, true}) {
            Case c = idx(gzip);
            byte[] huge = Files4Test.idxImages(3, 28, 28, IdxAndDiscoveryTest.pixels(3));
            ByteBuffer.wrap(huge).putInt(4, Integer.MIN_VALUE);  // 2^31 images
            String name = "train-images-idx3-ubyte" + (gzip ? ".gz" : "");
            c.files().put(name, wrap(huge, gzip));
            long bytes = allocatedBy(() -> {
                DataException e = rejected(c);
                assertTrue(e.getMessage().endsWith(name + ": header says 2147483648 images, file holds 3"), e.getMessage());
            });
            assertTrue(bytes < LITTLE, "allocated " + bytes + " bytes");
        }
    }

    @Test void idxGzipBombInflatesNoFurtherThanItsHeaderSays() throws IOException {
        // a header for 3 images, then 100 MB of zeros: 100 KB gzipped. The reader inflates 3 images and
        // one byte more, sees the file goes on, and stops.
        java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
        try (var z = new java.util.zip.GZIPOutputStream(gz)) {
            z.write(Files4Test.idxImages(3, 28, 28, IdxAndDiscoveryTest.pixels(3)));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 100; i++) z.write(zeros);
        }
        Case c = idx(true);
        c.files().put("train-images-idx3-ubyte.gz", gz.toByteArray());
        long bytes = allocatedBy(() -> {
            DataException e = rejected(c);
            assertTrue(e.getMessage().endsWith("train-images-idx3-ubyte.gz: header says 3 images, but the file holds more bytes than those"), e.getMessage());
        });
        assertTrue(bytes < LITTLE, "allocated " + bytes + " bytes");

        // and a header claiming rows and columns of 2^32 - 1 each: rejected at the rows
        byte[] wide = Files4Test.idxImages(3, 28, 28, new byte[0]);
        ByteBuffer.wrap(wide).putInt(8, -1).putInt(12, -1);
        c.files().put("train-images-idx3-ubyte.gz", Files4Test.gzip(wide));
        assertTrue(rejected(c).getMessage().endsWith("header says images of 4294967295 bytes each, more than 2 GB"));
    }

    @Test void idxWrongMagicWrongSizeAndLabelsOutOfRange() throws IOException {
        Case c = idx(false);
        byte[] labels = Files4Test.idxLabels(new byte[] {9, 10, 3});
        c.files().put("train-labels-idx1-ubyte", labels);
        assertTrue(rejected(c).getMessage().endsWith("train-labels-idx1-ubyte: label 10 at index 1 is out of range 0..9"));

        Case m = idx(false);
        m.files().put("train-labels-idx1-ubyte", Files4Test.idxImages(3, 28, 28, IdxAndDiscoveryTest.pixels(3)));
        assertTrue(rejected(m).getMessage().endsWith("train-labels-idx1-ubyte: not an IDX labels file: magic is 0x00000803, expected 0x00000801"));

        Case s = idx(false);
        s.files().put("train-images-idx3-ubyte", Files4Test.idxImages(1, 32, 24, new byte[32 * 24]));
        assertTrue(rejected(s).getMessage().endsWith("train-images-idx3-ubyte: images are 32x24, expected 28x28"));

        Case n = idx(false);
        n.files().put("train-labels-idx1-ubyte", Files4Test.idxLabels(new byte[] {1, 2}));
        assertTrue(rejected(n).getMessage().contains("holds 2 labels, but"));
    }

    @Test void tarEntryClaimingGigabytesFailsAtItsShortRead() throws IOException {
        Case c = cifarArchive();
        // a ustar header for data_batch_1.bin that claims 1.5 GB, then 3073 real bytes: checksum valid
        byte[] tar = Files4Test.tar("cifar-10-batches-bin/data_batch_1.bin", FormatsTest.cifarRecords(new int[][] {{1}}, 1));
        byte[] size = String.format("%011o", 1_500_000_000L).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(size, 0, tar, 124, 11);
        for (int i = 148; i < 156; i++) tar[i] = ' ';
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += tar[i] & 0xFF;
        byte[] chk = String.format("%06o\0", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(chk, 0, tar, 148, 7);
        c.files().put("cifar-10-binary.tar.gz", Files4Test.gzip(tar));
        long bytes = allocatedBy(() -> {
            DataException e = rejected(c);
            assertTrue(e.getMessage().contains("entry claims 1500000000 bytes, archive holds"), e.getMessage());
        });
        assertTrue(bytes < LITTLE, "allocated " + bytes + " bytes");
    }

    @Test void matArrayClaimingGigabytesFailsAtItsShortRead() throws IOException {
        // X's dims say 32x32x3x500000 and its data tag 1.5 GB; the element holds 6 KB
        byte[] x = FormatsTest.svhnX(2);
        byte[] matrix = Files4Test.matrix(9, new int[] {32, 32, 3, 500_000}, "X", 2, x);
        ByteBuffer b = ByteBuffer.wrap(matrix).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        // layout: matrix tag 8, flags 16, dims 8 + 16, name 8, then the data tag: type at 56, size at 60
        assertEquals(2, b.getInt(56));
        b.putInt(60, 500_000 * 3072);
        for (boolean compress : new boolean[] {true, false}) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            out.writeBytes(Arrays.copyOf(Files4Test.svhnMat(new byte[0], 0, new byte[0], false), 128));
            Files4Test.variable(out, matrix, compress);
            Case c = svhn(true);
            c.files().put("train_32x32.mat", out.toByteArray());
            long bytes = allocatedBy(() -> {
                DataException e = rejected(c);
                assertTrue(e.getMessage().contains("variable X"), e.getMessage());
            });
            assertTrue(bytes < LITTLE, "allocated " + bytes + " bytes");
        }
    }

    @Test void aDirectoryWhereAFileShouldBe() throws IOException {
        for (Case c : List.of(idx(false), svhn(true), cifar100Folder(), stl())) {
            String name = c.files().keySet().iterator().next();
            writeAll(c);
            Files.delete(tmp.resolve(name));
            Files.createDirectories(tmp.resolve(name));
            DataException e = assertThrows(DataException.class, () -> load(c));
            assertEquals(tmp.resolve(name) + ": is a directory, expected a file", e.getMessage());
        }
    }

    @Test void emptyFiles() throws IOException {
        for (Case c : List.of(idx(false), idx(true), cifar100Folder(), stl(), svhn(true), cifarArchive())) {
            for (String name : List.copyOf(c.files().keySet())) {
                for (var p : c.files().keySet()) Files.deleteIfExists(tmp.resolve(p));
                Case empty = new Case(c.dataset(), new LinkedHashMap<>(c.files()), c.options());
                empty.files().put(name, new byte[0]);
                DataException e = rejected(empty);
                assertTrue(e.getMessage().contains(name), e.getMessage());
                assertTrue(e.getMessage().contains("empty"), e.getMessage());
            }
        }
    }

    @Test void labelsOutOfRangeInEveryFormat() throws IOException {
        Case cifar = cifar100Folder();
        cifar.files().put("test.bin", FormatsTest.cifarRecords(new int[][] {{3, 100}}, 6));
        assertTrue(rejected(cifar).getMessage().endsWith("test.bin: label 100 of record 0 is out of range 0..99"));

        for (int bad : new int[] {0, 11}) {
            Case s = stl();
            s.files().put("test_y.bin", new byte[] {(byte) bad});
            assertTrue(rejected(s).getMessage().endsWith("test_y.bin: label " + bad + " at index 0 is out of range 1..10"));
            Case v = svhn(true);
            v.files().put("test_32x32.mat", Files4Test.svhnMat(FormatsTest.svhnX(1), 1, new byte[] {(byte) bad}, true));
            assertTrue(rejected(v).getMessage().endsWith("test_32x32.mat: label y(1) = " + (double) bad + " is not one of 1..10"), rejected(v).getMessage());
        }
    }

    @Test void notAnArchiveAndNotAMatFile() throws IOException {
        Case c = new Case("cifar10", Map.of("cifar-10-binary.tar.gz", Files4Test.gzip("hello, not a tar".getBytes(StandardCharsets.US_ASCII))),
                Datasets.LoadOptions.defaults());
        assertTrue(rejected(c).getMessage().contains("cifar-10-binary.tar.gz: tar header at byte 0 is cut short"));
        Case m = svhn(true);
        m.files().put("train_32x32.mat", "MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".repeat(4).getBytes(StandardCharsets.US_ASCII));
        assertTrue(rejected(m).getMessage().contains("MATLAB 7.3 (HDF5)"));
    }
}
