package locallearn.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/**
 * IDX files (LeCun's MNIST format, also used by Fashion-MNIST and KMNIST): a big-endian header of
 * magic {@code 0x000008DD} (unsigned bytes, DD dimensions) and DD 32-bit sizes, then the bytes.
 * Images are (N, rows, cols), labels (N), raw or gzipped. Every header value is checked against the
 * file's real length before anything is sized by it; a gzipped file is inflated no further than its
 * header announces (plus one byte, to see data past it), so it cannot cost more memory than that.
 */
final class Idx {
    static final int IMAGES_MAGIC = 0x00000803, LABELS_MAGIC = 0x00000801;

    private Idx() {}

    /** The train or test half of an IDX dataset from its image and label files; decodes the first {@code limit} (0 = all). */
    static Dataset read(String dataset, int classes, int rows, int cols, Source.Blob gzImages, Source.Blob gzLabels, int limit) {
        Source.Blob images = plain(gzImages, IMAGES_MAGIC, 3, "images"), labels = plain(gzLabels, LABELS_MAGIC, 1, "labels");
        long n = checkImages(images, rows, cols);
        long m = checkHeader(labels, LABELS_MAGIC, 1, "labels")[0];
        if (n != m)
            throw new DataException(labels.file() + ": holds " + m + " labels, but " + images.file() + " holds " + n + " images");
        int count = (int) n;
        int[] y = new int[count];
        byte[] lb = labels.bytes();
        for (int i = 0; i < count; i++) {
            int v = lb[8 + i] & 0xFF;
            if (v >= classes)
                throw new DataException(labels.file() + ": label " + v + " at index " + i + " is out of range 0.." + (classes - 1));
            y[i] = v;
        }
        int keep = limit > 0 ? Math.min(limit, count) : count;
        float[] x = new float[keep * rows * cols];
        Bytes.toUnit(images.bytes(), 16, x, 0, x.length);
        return new Dataset(dataset, 1, rows, cols, classes, x, java.util.Arrays.copyOf(y, keep));
    }

    /** Checks an image file's header and length; returns N. */
    static long checkImages(Source.Blob images, int rows, int cols) {
        long[] dims = checkHeader(images, IMAGES_MAGIC, 3, "images");
        if (dims[1] != rows || dims[2] != cols)
            throw new DataException(images.file() + ": images are " + dims[1] + "x" + dims[2] + ", expected " + rows + "x" + cols);
        return dims[0];
    }

    /**
     * The plain bytes of an IDX file that may be gzipped, inflated no further than the header says the
     * file holds, plus one byte. A header claiming more than 2 GB is reported with what the stream
     * really holds, counted without keeping it.
     */
    static Source.Blob plain(Source.Blob f, int magic, int ndims, String what) {
        byte[] raw = f.bytes();
        if (!Bytes.isGzip(raw)) return f;
        int headerLength = 4 + 4 * ndims;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw), 1 << 16)) {
            byte[] head = in.readNBytes(headerLength);
            if (head.length < headerLength || Bytes.u32be(head, 0) != magic) return new Source.Blob(f.file(), head);  // checkHeader says why
            double claimed = headerLength;  // a double: the product of 32-bit sizes may pass 2^63
            for (int i = 0; i < ndims; i++) claimed *= Bytes.u32be(head, 4 + 4 * i);
            if (claimed > Bytes.MAX_ARRAY - 1) {
                long length = head.length + Bytes.drain(in, Bytes.MAX_ARRAY);
                checkHeader(new Source.Blob(f.file(), head), length, magic, ndims, what);  // throws: the header claims more than this
                throw new DataException(f.file() + ": inflates to more than 2 GB, larger than one file this reader takes");
            }
            return new Source.Blob(f.file(), Bytes.readUpTo(in, (long) claimed + 1, Bytes.gzipSizeHint(raw), head));
        } catch (IOException e) {
            throw Bytes.failure(f.file(), e);
        }
    }

    static long[] checkHeader(Source.Blob f, int magic, int ndims, String what) {
        return checkHeader(f, f.bytes().length, magic, ndims, what);
    }

    /**
     * Checks magic, dimensions and that the file's {@code length} is exactly what the dimensions say;
     * returns the dimensions. {@code what} names the first dimension in messages ("images", "labels").
     */
    static long[] checkHeader(Source.Blob f, long length, int magic, int ndims, String what) {
        byte[] b = f.bytes();
        int headerLength = 4 + 4 * ndims;
        if (length == 0) throw new DataException(f.file() + ": file is empty");
        if (b.length < 4) throw new DataException(f.file() + ": " + b.length + " bytes, too short for an IDX header");
        long found = Bytes.u32be(b, 0);
        if (found != magic)
            throw new DataException(f.file() + ": not an IDX " + what + " file: magic is " + String.format("0x%08x", found)
                    + ", expected " + String.format("0x%08x", magic));
        if (b.length < headerLength)
            throw new DataException(f.file() + ": IDX header is cut short (" + b.length + " of " + headerLength + " bytes)");
        long[] dims = new long[ndims];
        long itemBytes = 1;
        for (int i = 0; i < ndims; i++) {
            dims[i] = Bytes.u32be(b, 4 + 4 * i);
            if (dims[i] == 0) throw new DataException(f.file() + ": header says a size of 0 (dimension " + i + ")");
            if (i > 0) {
                if (dims[i] > Bytes.MAX_ARRAY || itemBytes * dims[i] > Bytes.MAX_ARRAY)  // itemBytes < 2^31 here: no overflow
                    throw new DataException(f.file() + ": header says " + what + " of " + dimsText(dims, 1, i + 1) + " bytes each, more than 2 GB");
                itemBytes *= dims[i];
            }
        }
        long payload = length - headerLength;
        long holds = payload / itemBytes;
        // dims[0] < 2^32 and itemBytes < 2^31, so the product fits in a long
        long need = dims[0] * itemBytes;
        if (need > payload)
            throw new DataException(f.file() + ": header says " + dims[0] + " " + what + ", file holds " + holds
                    + (payload % itemBytes != 0 ? " and " + payload % itemBytes + " bytes of one more" : ""));
        if (need < payload)
            throw new DataException(f.file() + ": header says " + dims[0] + " " + what + ", but the file holds more bytes than those");
        return dims;
    }

    private static String dimsText(long[] dims, int from, int to) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < to; i++) s.append(i > from ? "x" : "").append(dims[i]);
        return s.toString();
    }
}
