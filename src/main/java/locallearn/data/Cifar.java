package locallearn.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * CIFAR-10 and CIFAR-100, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): each file
 * is a run of records, a label byte (CIFAR-100: coarse then fine label) and 3072 pixel bytes, the
 * 1024 red, then green, then blue values of a 32x32 image row by row: already (C, H, W) row-major.
 */
final class Cifar {
    static final List<String> CIFAR10_TRAIN = List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
            "data_batch_4.bin", "data_batch_5.bin");
    static final List<String> CIFAR10_TEST = List.of("test_batch.bin");
    static final List<String> CIFAR100_TRAIN = List.of("train.bin"), CIFAR100_TEST = List.of("test.bin");
    static final int PIXELS = 3 * 32 * 32;

    private Cifar() {}

    static Datasets.Split read10(Source source, Datasets.LoadOptions o) {
        Map<String, Source.Blob> f = source.read(concat(CIFAR10_TRAIN, CIFAR10_TEST));
        return new Datasets.Split(decode("cifar10", pick(f, CIFAR10_TRAIN), 1, 10, o.limitTrain()),
                decode("cifar10", pick(f, CIFAR10_TEST), 1, 10, o.limitTest()), source.describe());
    }

    /** CIFAR-100 with the fine label (100 classes), as the paper. */
    static Datasets.Split read100(Source source, Datasets.LoadOptions o) {
        Map<String, Source.Blob> f = source.read(concat(CIFAR100_TRAIN, CIFAR100_TEST));
        return new Datasets.Split(decode("cifar100", pick(f, CIFAR100_TRAIN), 2, 100, o.limitTrain()),
                decode("cifar100", pick(f, CIFAR100_TEST), 2, 100, o.limitTest()), source.describe());
    }

    /**
     * Checks every file (whole records, labels in range) and decodes the first {@code limit}
     * records (0 = all). {@code labelBytes} 1: the label; 2: coarse (< 20) and fine label.
     */
    static Dataset decode(String name, List<Source.Blob> files, int labelBytes, int classes, int limit) {
        int record = labelBytes + PIXELS;
        long total = 0;
        for (Source.Blob f : files) {
            byte[] b = f.bytes();
            if (b.length == 0) throw new DataException(f.file() + ": file is empty");
            if (b.length % record != 0)
                throw new DataException(f.file() + ": " + b.length + " bytes is not a whole number of " + record
                        + "-byte " + name + " records (" + b.length / record + " records and " + b.length % record + " bytes)");
            for (int r = 0, n = b.length / record; r < n; r++) {
                if (labelBytes == 2 && (b[r * record] & 0xFF) >= 20)
                    throw new DataException(f.file() + ": coarse label " + (b[r * record] & 0xFF) + " of record " + r + " is out of range 0..19");
                int y = b[r * record + labelBytes - 1] & 0xFF;
                if (y >= classes)
                    throw new DataException(f.file() + ": label " + y + " of record " + r + " is out of range 0.." + (classes - 1));
            }
            total += b.length / record;
        }
        int n = (int) (limit > 0 ? Math.min(limit, total) : total);
        if ((long) n * PIXELS > Bytes.MAX_ARRAY)
            throw new DataException(name + ": " + n + " images are more than one Java array holds; use a limit");
        float[] x = new float[n * PIXELS];
        int[] y = new int[n];
        int i = 0;
        for (Source.Blob f : files) {
            byte[] b = f.bytes();
            for (int r = 0; r < b.length / record && i < n; r++, i++) {
                y[i] = b[r * record + labelBytes - 1] & 0xFF;
                Bytes.toUnit(b, r * record + labelBytes, x, i * PIXELS, PIXELS);
            }
        }
        return new Dataset(name, 3, 32, 32, classes, x, y);
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    static List<Source.Blob> pick(Map<String, Source.Blob> files, List<String> names) {
        List<Source.Blob> out = new ArrayList<>();
        for (String n : names) out.add(files.get(n));
        return out;
    }
}
