package locallearn.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * SVHN, cropped digits (http://ufldl.stanford.edu/housenumbers/): MAT-files with X, uint8
 * 32x32x3xN in MATLAB's column-major order (pixel (row r, column c, channel ch) of image n is byte
 * r + 32c + 1024ch + 3072n), and y, N labels 1..10 where 10 means the digit 0 (stored as doubles,
 * or as any integer type MATLAB chose to save space). We transpose to (C, H, W) row-major and map
 * 10 to 0, as torchvision does.
 */
final class Svhn {
    static final String TRAIN = "train_32x32.mat", TEST = "test_32x32.mat", EXTRA = "extra_32x32.mat";
    static final int SIDE = 32, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE;

    private Svhn() {}

    /** X's bytes as stored and the labels 0..9 of one .mat file. */
    record Part(String file, byte[] x, int[] labels) {
        int size() { return labels.length; }
    }

    static Datasets.Split read(Source source, Datasets.LoadOptions o) {
        if (!(source instanceof Source.Folder folder))
            throw new DataException(source.describe() + ": svhn is read from its .mat files; pass the folder that holds " + TRAIN);
        Path dir = folder.dir();
        Part train = part(dir.resolve(TRAIN));
        Part extra = null;
        boolean extraNeeded = o.svhnExtra() && (o.limitTrain() == 0 || o.limitTrain() > train.size());
        if (extraNeeded) {
            if (!Files.exists(dir.resolve(EXTRA)))
                throw new DataException(dir.resolve(EXTRA) + ": no such file; the paper trains on train+extra (get it from"
                        + " http://ufldl.stanford.edu/housenumbers/extra_32x32.mat), or load without the extra split");
            extra = part(dir.resolve(EXTRA));
        }
        Part test = part(dir.resolve(TEST));
        return new Datasets.Split(decode(o.limitTrain(), train, extra), decode(o.limitTest(), test), source.describe());
    }

    static Part part(Path p) {
        String file = p.toString();
        if (Files.isDirectory(p)) throw new DataException(file + ": is a directory, expected a file");
        if (!Files.exists(p)) throw new DataException(file + ": no such file");
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(p), 1 << 16)) {
            long length = Files.size(p);
            if (length == 0) throw new DataException(file + ": file is empty");
            return part(in, length, file);
        } catch (IOException e) {
            throw Bytes.failure(file, e);
        }
    }

    static Part part(InputStream in, long length, String file) {
        Map<String, MatV5.Matrix> vars;
        try {
            vars = MatV5.read(in, length, file, Set.of("X", "y"));
        } catch (IOException e) {
            throw Bytes.failure(file, e);
        }
        MatV5.Matrix x = vars.get("X"), y = vars.get("y");
        if (x == null || y == null)
            throw new DataException(file + ": has no variable " + (x == null ? "X" : "y") + " (SVHN files hold X and y)");
        long[] d = x.dims();
        if (d.length != 4 || d[0] != SIDE || d[1] != SIDE || d[2] != 3)
            throw new DataException(file + ": X is " + MatV5.dimsText(d) + ", expected 32x32x3xN");
        if (x.mxClass() != MatV5.MX_UINT8 || x.dataType() != MatV5.MI_UINT8)
            throw new DataException(file + ": X is not uint8 (MATLAB class " + x.mxClass() + ", data type " + x.dataType() + ")");
        long n = d[3];
        if (n == 0) throw new DataException(file + ": X holds no images");
        long[] yd = y.dims();
        if (yd.length != 2 || Math.min(yd[0], yd[1]) != 1 || y.count() != n)
            throw new DataException(file + ": y is " + MatV5.dimsText(yd) + ", expected " + n + "x1 for the " + n + " images of X");
        int[] labels = new int[(int) n];
        for (int i = 0; i < n; i++) {
            double v = y.get(i);
            if (!(v >= 1 && v <= 10 && v == Math.rint(v)))
                throw new DataException(file + ": label y(" + (i + 1) + ") = " + v + " is not one of 1..10");
            labels[i] = (int) v % 10;  // 10 is the digit 0
        }
        return new Part(file, x.data(), labels);
    }

    /** The first {@code limit} images (0 = all) of the parts, one after another. */
    static Dataset decode(int limit, Part... parts) {
        long total = 0;
        for (Part p : parts) if (p != null) total += p.size();
        long n = limit > 0 ? Math.min(limit, total) : total;
        if (n * PIXELS > Bytes.MAX_ARRAY)
            throw new DataException("svhn: " + n + " images of 32x32x3 are more than one Java array holds; use a limit");
        float[] x = new float[(int) n * PIXELS];
        int[] y = new int[(int) n];
        int i = 0;
        for (Part p : parts) {
            if (p == null) continue;
            byte[] src = p.x();
            for (int k = 0; k < p.size() && i < n; k++, i++) {
                y[i] = p.labels()[k];
                int s = k * PIXELS, o = i * PIXELS;
                for (int ch = 0; ch < 3; ch++)
                    for (int r = 0; r < SIDE; r++)
                        for (int c = 0; c < SIDE; c++)
                            x[o + ch * PLANE + r * SIDE + c] = Bytes.UNIT[src[s + ch * PLANE + c * SIDE + r] & 0xFF];
            }
        }
        return new Dataset("svhn", 3, SIDE, SIDE, 10, x, y);
    }
}
