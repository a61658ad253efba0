package locallearn.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The seven datasets of the paper: their facts ({@link #spec}) and loading them from the files
 * their authors distribute ({@link #load}); and image folders ({@code folder}, {@code imagenet}:
 * {@link ImageFolder}), whose facts come with their files. Nothing is downloaded: a missing dataset is an error
 * that says where to get it, except Fashion-MNIST, which falls back to a sample inside the jar.
 *
 * <p>Where files are looked for, for dataset NAME, when no folder is given: {@code $LOCALLEARN_DATA/NAME},
 * then {@code $LOCALLEARN_DATA} itself, then {@code ~/.locallearn/data/NAME}, and for fashion-mnist
 * {@code /usr/share/datasets/fashion-mnist} (Debian's {@code dataset-fashion-mnist}). Each place may
 * hold the files, the standard folder of the dataset's archive ({@code cifar-10-batches-bin},
 * {@code cifar-100-binary}, {@code stl10_binary}), or the archive itself.
 */
public final class Datasets {
    private Datasets() {}

    /** Where the files of each dataset come from and what they are called. */
    private record Layout(List<String> probeFiles, String standardFolder, String archive, String getIt) {}

    private static final Map<String, DatasetSpec> SPECS = new LinkedHashMap<>();
    private static final Map<String, Layout> LAYOUTS = new LinkedHashMap<>();

    private static void add(DatasetSpec spec, Layout layout) {
        SPECS.put(spec.name(), spec);
        LAYOUTS.put(spec.name(), layout);
    }

    private static float[] f(float... v) { return v; }

    static {
        // mean/std and augmentation: paper-summary.md "Training recipe" (the reference's transforms)
        List<String> idx = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
        add(new DatasetSpec("mnist", 1, 28, 28, 10, f(0.1307f), f(0.3081f), 2, false),
                new Layout(idx, null, null, "the four IDX files from http://yann.lecun.com/exdb/mnist/"));
        add(new DatasetSpec("fashion-mnist", 1, 28, 28, 10, f(0.286f), f(0.353f), 2, true),
                new Layout(idx, null, null, "the four IDX files from https://github.com/zalandoresearch/fashion-mnist"
                        + " (or: apt-get install dataset-fashion-mnist)"));
        add(new DatasetSpec("kmnist", 1, 28, 28, 10, f(0.1904f), f(0.3475f), 0, false),
                new Layout(idx, null, null, "the four IDX files (MNIST format) from https://github.com/rois-codh/kmnist"
                        + " (http://codh.rois.ac.jp/kmnist/dataset/kmnist/)"));
        add(new DatasetSpec("cifar10", 3, 32, 32, 10, f(0.424f, 0.415f, 0.384f), f(0.283f, 0.278f, 0.284f), 4, true),
                new Layout(Cifar.concat(Cifar.CIFAR10_TRAIN, Cifar.CIFAR10_TEST), "cifar-10-batches-bin", "cifar-10-binary.tar.gz",
                        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the binary version)"));
        add(new DatasetSpec("cifar100", 3, 32, 32, 100, f(0.438f, 0.418f, 0.377f), f(0.300f, 0.287f, 0.294f), 4, true),
                new Layout(Cifar.concat(Cifar.CIFAR100_TRAIN, Cifar.CIFAR100_TEST), "cifar-100-binary", "cifar-100-binary.tar.gz",
                        "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (the binary version)"));
        add(new DatasetSpec("svhn", 3, 32, 32, 10, f(0.431f, 0.430f, 0.446f), f(0.197f, 0.198f, 0.199f), 0, false),
                new Layout(List.of(Svhn.TRAIN, Svhn.TEST), null, null,
                        "train_32x32.mat, test_32x32.mat and extra_32x32.mat from http://ufldl.stanford.edu/housenumbers/"));
        add(new DatasetSpec("stl10", 3, 96, 96, 10, f(0.447f, 0.440f, 0.407f), f(0.260f, 0.257f, 0.271f), 0, false),
                new Layout(Stl10.FILES, "stl10_binary", "stl10_binary.tar.gz",
                        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"));
    }

    /** mnist, fashion-mnist, kmnist, cifar10, cifar100, svhn, stl10, and the image folders: folder, imagenet. */
    public static List<String> names() {
        List<String> n = new ArrayList<>(SPECS.keySet());
        n.addAll(List.of("folder", "imagenet"));
        return n;
    }

    /**
     * The reference implementation's spellings (--dataset FashionMNIST, KuzushijiMNIST, ...); names
     * are compared in lower case, so MNIST, CIFAR10, CIFAR100, SVHN and STL10 need no entry, nor
     * will ImageNet once the image-folder dataset registers itself as "imagenet".
     */
    private static final Map<String, String> ALIASES = Map.of("fashionmnist", "fashion-mnist", "kuzushijimnist", "kmnist",
            "cifar-10", "cifar10", "cifar-100", "cifar100", "stl-10", "stl10");

    /**
     * The facts of a dataset, by name (case-insensitive; the reference's spellings such as
     * FashionMNIST are accepted too); an unknown name is an IllegalArgumentException listing the known ones.
     */
    public static DatasetSpec spec(String name) {
        String key = canonical(name);
        if (ImageFolder.serves(key))
            throw new IllegalArgumentException(key + ": an image folder's classes, image size and statistics come from its files; load it");
        DatasetSpec s = SPECS.get(key);
        if (s == null) throw new IllegalArgumentException("unknown dataset '" + name + "'; known: " + String.join(", ", names()));
        return s;
    }

    /** The name as the registry spells it (lower case, aliases resolved), or null. */
    private static String canonical(String name) {
        String key = name == null ? null : name.toLowerCase(Locale.ROOT);
        return key == null ? null : ALIASES.getOrDefault(key, key);
    }

    /** Is {@code name} an image folder (folder, imagenet), whose facts only its files tell? */
    public static boolean isImageFolder(String name) { return ImageFolder.serves(String.valueOf(canonical(name))); }

    /** A train and a test set, what they were read from (a folder, an archive, or "embedded sample"), and the dataset's facts. */
    public record Split(Dataset train, Dataset test, String source, DatasetSpec spec) {
        /** A split of one of the paper's datasets, whose facts are known by its name. */
        public Split(Dataset train, Dataset test, String source) { this(train, test, source, Datasets.spec(train.name())); }
    }

    /** Reports the one-time decoding of an image folder into its cache. */
    public interface Progress {
        void decoded(String what, int done, int total);
    }

    /** A dataset from the usual places (class javadoc), whole. */
    public static Split load(String name) { return load(name, null, LoadOptions.defaults()); }

    /**
     * @param limitTrain  keep the first N training images (0 = all); only those are decoded
     * @param limitTest   the same for the test set
     * @param svhnExtra   SVHN: add extra_32x32.mat to training, as the paper did
     * @param imageHeight image folders: the size images are cached at (0 with imageWidth 0: the first training image's)
     */
    public record LoadOptions(int limitTrain, int limitTest, boolean svhnExtra, int imageHeight, int imageWidth) {
        public LoadOptions {
            if (limitTrain < 0 || limitTest < 0)
                throw new IllegalArgumentException("LoadOptions: limits must be >= 0, got train " + limitTrain + ", test " + limitTest);
            if (imageHeight < 0 || imageWidth < 0 || (imageHeight == 0) != (imageWidth == 0))
                throw new IllegalArgumentException("LoadOptions: image size must be both > 0 or both 0, got " + imageHeight + "x" + imageWidth);
        }

        public LoadOptions(int limitTrain, int limitTest, boolean svhnExtra) { this(limitTrain, limitTest, svhnExtra, 0, 0); }

        public static LoadOptions defaults() { return new LoadOptions(0, 0, true); }
    }

    /**
     * Loads a dataset. {@code dataDir} may be the folder holding the files, the folder above the
     * archive's standard folder, or the archive; null means look in the usual places (class javadoc).
     *
     * @throws DataException when the files are missing or damaged (one line naming the file)
     * @throws IllegalArgumentException for an unknown dataset name
     */
    public static Split load(String name, Path dataDir, LoadOptions options) {
        return load(name, dataDir, options, Places.fromEnvironment(), (what, done, total) -> {});
    }

    /** {@link #load(String, Path, LoadOptions)}, reporting an image folder's one-time decoding to {@code progress}. */
    public static Split load(String name, Path dataDir, LoadOptions options, Progress progress) {
        return load(name, dataDir, options, Places.fromEnvironment(), progress);
    }

    /** The environment that discovery reads, passed in so tests need not change the real one. */
    record Places(String envData, Path home, Path debianFashionMnist) {
        static Places fromEnvironment() {
            return new Places(System.getenv("LOCALLEARN_DATA"), Path.of(System.getProperty("user.home")),
                    Path.of("/usr/share/datasets/fashion-mnist"));
        }

        /** The places looked at for a dataset, in order. */
        List<Path> candidates(String name) {
            List<Path> out = new ArrayList<>();
            if (envData != null && !envData.isBlank()) {
                Path env = Path.of(envData);
                out.add(env.resolve(name));
                out.add(env);
            }
            if (home != null) out.add(home.resolve(".locallearn").resolve("data").resolve(name));
            if (name.equals("fashion-mnist") && debianFashionMnist != null) out.add(debianFashionMnist);
            return out;
        }
    }

    /**
     * Where {@link #load} would read a dataset from, without reading it: {@code found} describes
     * the folder, archive or embedded sample (null when there is none), {@code looked} the places
     * looked at, in order ({@code --data}'s folder alone when it is given).
     */
    public record Location(String found, List<Path> looked) {}

    /** The {@link Location} of a dataset, from --data's folder or the usual places (class javadoc). */
    public static Location locate(String name, Path dataDir) {
        DatasetSpec spec = spec(name);
        Places places = Places.fromEnvironment();
        Source s = find(spec, dataDir, places);
        return new Location(s == null ? null : s.describe(), dataDir != null ? List.of(dataDir) : places.candidates(spec.name()));
    }

    /** The source of a dataset in {@code dataDir} or, when that is null, the first of the usual places that holds it; null: none. */
    private static Source find(DatasetSpec spec, Path dataDir, Places places) {
        Layout layout = LAYOUTS.get(spec.name());
        if (dataDir != null) return resolve(dataDir, layout);
        for (Path p : places.candidates(spec.name())) {
            Source s = resolve(p, layout);
            if (s != null) return s;
        }
        return spec.name().equals("fashion-mnist") ? new Source.Embedded(EMBEDDED_FASHION_MNIST) : null;
    }

    static Split load(String name, Path dataDir, LoadOptions options, Places places) {
        return load(name, dataDir, options, places, (what, done, total) -> {});
    }

    static Split load(String name, Path dataDir, LoadOptions options, Places places, Progress progress) {
        if (isImageFolder(name)) return loadImageFolder(canonical(name), dataDir, options, places, progress);
        DatasetSpec spec = spec(name);
        Layout layout = LAYOUTS.get(spec.name());
        Source source = find(spec, dataDir, places);
        if (source == null) {
            if (dataDir != null)
                throw new DataException(spec.name() + ": " + dataDir + " " + (Files.exists(dataDir) ? "holds no " + expected(layout) : "does not exist")
                        + "; get " + layout.getIt());
            throw new DataException(spec.name() + ": dataset not found; looked in " + describe(places.candidates(spec.name()), places)
                    + "; get " + layout.getIt() + " and pass --data with its folder"
                    + (layout.archive() != null ? " or archive" : "") + ", or put it in ~/.locallearn/data/" + spec.name()
                    + " or $LOCALLEARN_DATA/" + spec.name());
        }
        return read(spec, source, options);
    }

    /** An image folder at {@code dataDir}, or (imagenet) the first of the usual places holding train/. */
    private static Split loadImageFolder(String name, Path dataDir, LoadOptions options, Places places, Progress progress) {
        Path dir = dataDir;
        if (dir == null && name.equals("imagenet")) dir = places.candidates(name).stream().filter(ImageFolder::looksLikeOne).findFirst().orElse(null);
        if (dir == null)
            throw new DataException(name + ": pass --data DIR, the folder holding train/CLASS/*.png|jpg and val/CLASS/*"
                    + (name.equals("imagenet") ? " (looked in " + describe(places.candidates(name), places) + ")" : ""));
        return ImageFolder.load(name, dir, options, places.home(), progress);
    }

    static final String EMBEDDED_FASHION_MNIST = "/locallearn/data/fashion-mnist-sample/";

    /** The source at a path, or null when the dataset is not there. */
    static Source resolve(Path p, Layout layout) {
        if (Files.isRegularFile(p)) return new Source.Archive(p);
        if (!Files.isDirectory(p)) return null;
        Source.Folder here = new Source.Folder(p);
        if (here.has(layout.probeFiles().getFirst())) return here;
        if (layout.standardFolder() != null) {
            Source.Folder below = new Source.Folder(p.resolve(layout.standardFolder()));
            if (Files.isDirectory(below.dir()) && below.has(layout.probeFiles().getFirst())) return below;
        }
        if (layout.archive() != null && Files.exists(p.resolve(layout.archive()))) return new Source.Archive(p.resolve(layout.archive()));
        return null;
    }

    private static String expected(Layout layout) {
        String s = layout.probeFiles().getFirst();
        if (layout.standardFolder() != null) s += ", no " + layout.standardFolder() + "/";
        if (layout.archive() != null) s += ", no " + layout.archive();
        return s;
    }

    private static String describe(List<Path> looked, Places places) {
        List<String> parts = new ArrayList<>();
        if (places.envData() == null || places.envData().isBlank()) parts.add("$LOCALLEARN_DATA (not set)");
        for (Path p : looked) parts.add(p.toString());
        return String.join(", ", parts);
    }

    private static Split read(DatasetSpec spec, Source source, LoadOptions o) {
        return switch (spec.name()) {
            case "mnist", "fashion-mnist", "kmnist" -> {
                if (source instanceof Source.Archive a)
                    throw new DataException(a.archive() + ": " + spec.name() + " is read from its four IDX files (gzipped or not),"
                            + " not from one file or archive; pass the folder that holds them");
                Map<String, Source.Blob> f = source.read(LAYOUTS.get(spec.name()).probeFiles(), false);  // Idx inflates, bounded by its header
                Dataset train = Idx.read(spec.name(), spec.classes(), spec.height(), spec.width(),
                        f.get("train-images-idx3-ubyte"), f.get("train-labels-idx1-ubyte"), o.limitTrain());
                Dataset test = Idx.read(spec.name(), spec.classes(), spec.height(), spec.width(),
                        f.get("t10k-images-idx3-ubyte"), f.get("t10k-labels-idx1-ubyte"), o.limitTest());
                yield new Split(train, test, source.describe());
            }
            case "cifar10" -> Cifar.read10(source, o);
            case "cifar100" -> Cifar.read100(source, o);
            case "stl10" -> Stl10.read(source, o);
            case "svhn" -> Svhn.read(source, o);
            default -> throw new IllegalStateException("no reader for " + spec.name());
        };
    }
}
