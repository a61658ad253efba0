package locallearn.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Image collections in the layout of torchvision's ImageFolder, which the reference reads
 * ImageNet with: {@code DIR/train/CLASS/*} and {@code DIR/val/CLASS/*} (or {@code DIR/test/CLASS/*}),
 * PNG and JPEG files (by extension, as ImageFolder; hidden files skipped). Classes are the folder
 * names of train/, sorted, labelled 0, 1, ... in that order; val/ may lack a class but not bring
 * one of its own.
 *
 * <p>Every image is decoded once into a cache of bytes, scaled to cover the image size and centre
 * cropped ({@link Resize#coverThenCentre}), and the cache is memory-mapped, so a collection larger
 * than the heap trains. The cache is {@code DIR/.locallearn-cache/} when DIR is writable, else
 * {@code ~/.locallearn/cache/}; its name holds a fingerprint of every file's path, size and
 * modification time and of the image size, so changing any of them builds a new one (and removes
 * the old). It is written to a temporary file and renamed when whole, so a failed or interrupted
 * build leaves nothing that a later run would read.
 *
 * <p>Channels: gray when every image is gray, else RGB, a gray image's level repeated in its three
 * channels. The mean and std used to normalise are each channel's over the training split's cached
 * pixels (stored in the cache), for {@code folder}; {@code imagenet} uses the reference's.
 */
final class ImageFolder {
    private ImageFolder() {}

    /** {@code imagenet}: images cached at 256 x 256, the model takes 224-pixel crops (ResizedCrop). */
    static final int IMAGENET_STORED = 256, IMAGENET_CROP = 224;
    private static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f}, IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    static final String CACHE_FOLDER = ".locallearn-cache";
    private static final long MAGIC = 0x3148_4341_4347_4d49L; // "IMGCACH1", little-endian
    private static final int PAGE = 4096;

    /** The names this reader serves. */
    static boolean serves(String name) { return name.equals("folder") || name.equals("imagenet"); }

    /** One image file and its label. */
    private record Entry(Path file, int label, long size, long modified) {}

    /** The files of the two splits and the class names. */
    private record Layout(Path dir, List<String> classes, List<Entry> train, List<Entry> test) {}

    /** Is {@code dir} such a collection (it has a train/ folder)? */
    static boolean looksLikeOne(Path dir) { return Files.isDirectory(dir.resolve("train")); }

    static Datasets.Split load(String name, Path dir, Datasets.LoadOptions o, Path home, Datasets.Progress progress) {
        boolean imagenet = name.equals("imagenet");
        if (imagenet && o.imageHeight() > 0 && (o.imageHeight() != IMAGENET_CROP || o.imageWidth() != IMAGENET_CROP))
            throw new DataException("imagenet: the model takes 224-pixel crops of 256-pixel images, as the reference;"
                    + " for another --image-size read the folder with --dataset folder");
        Layout layout = scan(dir);
        int height, width;
        if (imagenet) {
            height = width = IMAGENET_STORED;
        } else if (o.imageHeight() > 0) {
            height = o.imageHeight();
            width = o.imageWidth();
        } else {
            ImageFile.requireDecoder(layout.train.getFirst().file, "train");
            ImageDecoder.Header first = ImageDecoder.header(layout.train.getFirst().file);
            height = first.height();
            width = first.width();
        }
        String kind = name + "-" + height + "x" + width + "-";
        byte[] fingerprint = fingerprint(layout, kind, home);
        Path cache = cacheDir(dir, home).resolve(kind + HexFormat.of().formatHex(fingerprint, 0, 12) + ".u8");
        if (!Files.isRegularFile(cache)) build(layout, height, width, fingerprint, cache, kind, progress);
        Mapped m = map(cache, fingerprint);
        DatasetSpec spec = imagenet
                ? new DatasetSpec(name, m.channels, IMAGENET_CROP, IMAGENET_CROP, layout.classes.size(), IMAGENET_MEAN, IMAGENET_STD, 0, false,
                        IMAGENET_STORED, layout.classes)
                : new DatasetSpec(name, m.channels, m.height, m.width, layout.classes.size(), m.mean, m.std, 0, false, 0, layout.classes);
        Dataset train = split(name, m, spec.classes(), layout.train, 0), test = split(name, m, spec.classes(), layout.test, layout.train.size());
        return new Datasets.Split(train.limit(o.limitTrain()), test.limit(o.limitTest()), dir + " (cache " + cache + ")", spec);
    }

    /** The images of {@code entries}, which start at image {@code first} of the cache. */
    private static Dataset split(String name, Mapped m, int classes, List<Entry> entries, long first) {
        long size = (long) m.channels * m.height * m.width;
        return new Dataset(name, m.channels, m.height, m.width, classes, new Pixels.Mapped(m.pixels.asSlice(first * size, entries.size() * size)),
                entries.stream().mapToInt(Entry::label).toArray());
    }

    // ---- the layout

    private static Layout scan(Path dir) {
        if (!Files.isDirectory(dir)) throw new DataException(dir + ": " + (Files.exists(dir) ? "is not a folder" : "does not exist")
                + "; an image folder holds train/CLASS/*.png|jpg and val/CLASS/* (or test/CLASS/*)");
        Path trainDir = dir.resolve("train"), testDir = Files.isDirectory(dir.resolve("val")) ? dir.resolve("val") : dir.resolve("test");
        if (!Files.isDirectory(trainDir)) throw new DataException(trainDir + ": no such folder; an image folder holds train/CLASS/* and val/CLASS/*");
        if (!Files.isDirectory(testDir)) throw new DataException(dir.resolve("val") + ": no such folder (nor test/); an image folder holds train/CLASS/* and val/CLASS/*");
        List<String> classes = new ArrayList<>();
        for (Path p : list(trainDir)) {
            if (!Files.isDirectory(p)) continue;
            String name = p.getFileName().toString();
            if (name.contains("\n") || name.contains("\r")) throw new DataException(p + ": a class folder whose name holds a line break");
            classes.add(name);
        }
        if (classes.size() < 2) throw new DataException(trainDir + ": holds " + classes.size() + " class folders, a classifier needs at least 2");
        List<Entry> train = entries(trainDir, classes, true), test = entries(testDir, classes, false);
        return new Layout(dir, classes, train, test);
    }

    /** The images of every class folder of {@code split}; in train/ each class must have some. */
    private static List<Entry> entries(Path split, List<String> classes, boolean isTrain) {
        List<Entry> out = new ArrayList<>();
        for (Path folder : list(split)) {
            if (!Files.isDirectory(folder)) continue;
            int label = classes.indexOf(folder.getFileName().toString());
            if (label < 0) throw new DataException(folder + ": a class that " + split.resolveSibling("train") + " does not have");
            int before = out.size();
            for (Path f : list(folder)) {
                if (!isImageName(f)) continue;
                try {
                    var a = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class); // one stat a file: a collection has a million
                    if (!a.isRegularFile()) throw new DataException(f + ": not a regular file");
                    out.add(new Entry(f, label, a.size(), a.lastModifiedTime().toMillis()));
                } catch (IOException e) {
                    throw Bytes.failure(f.toString(), e);
                }
            }
            if (isTrain && out.size() == before) throw new DataException(folder + ": no PNG or JPEG images (*.png, *.jpg, *.jpeg)");
        }
        if (out.isEmpty()) throw new DataException(split + ": no PNG or JPEG images in its class folders");
        return out;
    }

    private static boolean isImageName(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return !n.startsWith(".") && (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg"));
    }

    /** The entries of a folder, sorted by name, hidden ones left out. */
    private static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw Bytes.failure(dir.toString(), e);
        }
    }

    // ---- the cache

    /** SHA-256 of what the cached bytes depend on: the format, the dataset name and image size ({@code kind}), and every file's path, size and time. */
    private static byte[] fingerprint(Layout l, String kind, Path home) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            StringBuilder s = new StringBuilder("locallearn image cache 1\n").append(kind).append('\n');
            // a cache in the home folder serves every collection: its name must tell them apart
            if (!cacheDir(l.dir, home).startsWith(l.dir)) s.append(l.dir.toAbsolutePath().normalize()).append('\n');
            d.update(s.toString().getBytes(StandardCharsets.UTF_8));
            for (List<Entry> split : List.of(l.train, l.test)) {
                for (Entry e : split)
                    d.update((l.dir.relativize(e.file) + "\0" + e.size + "\0" + e.modified + "\n").getBytes(StandardCharsets.UTF_8));
                d.update((byte) '|');
            }
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this Java runtime", e);
        }
    }

    /** Beside the data when the folder is writable, else in the home folder. */
    private static Path cacheDir(Path dir, Path home) {
        return Files.isWritable(dir) || home == null ? dir.resolve(CACHE_FOLDER) : home.resolve(".locallearn").resolve("cache");
    }

    /**
     * The file: a header (magic, version, C, H, W, train and test counts, each channel's mean and
     * std of the training pixels, the fingerprint), padded to a page, then the pixels, train then
     * test, each image C*H*W bytes. Labels and class names are not stored: they come from the
     * layout, which the fingerprint pins.
     */
    private static void build(Layout l, int height, int width, byte[] fingerprint, Path cache, String kind, Datasets.Progress progress) {
        int total = l.train.size() + l.test.size();
        ImageFile.requireDecoder(l.train.getFirst().file, "train");
        // headers first: every file's size and colours, checked in seconds before hours of decoding
        List<Entry> all = new ArrayList<>(l.train);
        all.addAll(l.test);
        ImageDecoder.Header[] headers = new ImageDecoder.Header[total];
        inChunks(total, 64, i -> headers[i] = ImageDecoder.header(all.get(i).file), done -> progress.decoded("reading headers of " + l.dir, done, total));
        boolean colour = false;
        for (ImageDecoder.Header h : headers) colour |= h.colours() == 3;
        int channels = colour ? 3 : 1;
        int size = channels * height * width;
        long[] sum = new long[channels], sumSq = new long[channels];
        Path dir = cache.getParent(), tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, kind, ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.position(PAGE);
                // DECODERS images at a time, each into its own slot of the buffer, written in order
                byte[] chunk = new byte[DECODERS * size];
                int plane = height * width;
                for (int from = 0; from < total; from += DECODERS) {
                    int start = from, n = Math.min(DECODERS, total - from);
                    inChunks(n, n, k -> ImageDecoder.decodeCovering(all.get(start + k).file, headers[start + k], channels, height, width, chunk, k * size),
                            done -> {});
                    for (int k = 0; k < n && start + k < l.train.size(); k++)
                        for (int c = 0; c < channels; c++)
                            for (int at = k * size + c * plane, end = at + plane; at < end; at++) {
                                int v = chunk[at] & 0xff;
                                sum[c] += v;
                                sumSq[c] += v * v;
                            }
                    ByteBuffer buf = ByteBuffer.wrap(chunk, 0, n * size);
                    while (buf.hasRemaining()) ch.write(buf);
                    progress.decoded("decoding " + l.dir + " into " + cache.getFileName(), start + n, total);
                }
                ByteBuffer head = ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(MAGIC).putInt(1).putInt(channels).putInt(height).putInt(width).putInt(l.train.size()).putInt(l.test.size());
                double n = (double) l.train.size() * height * width;
                for (int c = 0; c < channels; c++) {
                    double mean = sum[c] / n, std = Math.sqrt(Math.max(0, sumSq[c] / n - mean * mean)); // population std over all training pixels
                    head.putFloat((float) (mean / 255)).putFloat(std > 0 ? (float) (std / 255) : 1f); // one level everywhere: shifted, not scaled
                }
                head.put(fingerprint).clear();
                ch.write(head, 0);
                ch.force(true);
            }
            removeStale(dir, kind, cache);
            Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (IOException e) {
            throw new DataException(cache + ": cannot write the image cache (" + e.getMessage() + ")", e);
        } finally {
            if (tmp != null) {
                try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* the build's own error is what the user needs */ }
            }
        }
    }

    /**
     * Images decoded at once, on the common fork-join pool: the cores, at most 8, so the decoded
     * originals held at one time (up to 100 MB each, {@link ImageDecoder#MAX_PIXELS}) stay bounded.
     */
    private static final int DECODERS = Math.clamp(Runtime.getRuntime().availableProcessors(), 1, 8);

    /**
     * Runs {@code job} for 0..n-1 in parallel, {@code chunk} at a time, reporting after each chunk;
     * when several fail, the error of the lowest index is thrown, so the file named does not
     * depend on which thread came first.
     */
    private static void inChunks(int n, int chunk, java.util.function.IntConsumer job, java.util.function.IntConsumer done) {
        for (int from = 0; from < n; from += chunk) {
            int start = from, m = Math.min(chunk, n - from);
            RuntimeException[] failed = new RuntimeException[m];
            java.util.stream.IntStream.range(0, m).parallel().forEach(k -> {
                try {
                    job.accept(start + k);
                } catch (RuntimeException e) {
                    failed[k] = e;
                }
            });
            for (RuntimeException e : failed) if (e != null) throw e;
            done.accept(start + m);
        }
    }

    /** Earlier caches of this dataset at this size in the folder: their files changed, so they are of no more use. */
    private static void removeStale(Path dir, String kind, Path keep) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(kind) && n.endsWith(".u8") && !p.equals(keep)) Files.deleteIfExists(p);
            }
        }
    }

    private record Mapped(int channels, int height, int width, float[] mean, float[] std, MemorySegment pixels) {}

    private static Mapped map(Path cache, byte[] fingerprint) {
        try (FileChannel ch = FileChannel.open(cache, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < PAGE) throw new DataException(cache + ": image cache of " + fileSize + " bytes, shorter than its header; delete it to rebuild");
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, Arena.ofAuto()); // unmapped when no dataset holds it
            ValueLayout.OfInt i32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            long magic = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            int version = all.get(i32, 8), c = all.get(i32, 12), h = all.get(i32, 16), w = all.get(i32, 20), nTrain = all.get(i32, 24), nTest = all.get(i32, 28);
            if (magic != MAGIC || version != 1 || (c != 1 && c != 3) || h < 1 || w < 1 || nTrain < 0 || nTest < 0)
                throw new DataException(cache + ": not an image cache of this version; delete it to rebuild");
            float[] mean = new float[c], std = new float[c];
            for (int k = 0; k < c; k++) {
                mean[k] = all.get(f32, 32 + 8L * k);
                std[k] = all.get(f32, 36 + 8L * k);
            }
            byte[] stored = all.asSlice(32 + 8L * c, fingerprint.length).toArray(ValueLayout.JAVA_BYTE);
            long pixels = ((long) nTrain + nTest) * c * h * w;
            if (!java.util.Arrays.equals(stored, fingerprint) || fileSize != PAGE + pixels)
                throw new DataException(cache + ": image cache does not match its name or is cut short; delete it to rebuild");
            return new Mapped(c, h, w, mean, std, all.asSlice(PAGE, pixels));
        } catch (IOException e) {
            throw Bytes.failure(cache.toString(), e);
        }
    }
}
