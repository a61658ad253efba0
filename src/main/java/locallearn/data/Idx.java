package locallearn.data;

/**
 * IDX files (LeCun's MNIST format, also used by Fashion-MNIST and KMNIST): a big-endian header of
 * magic {@code 0x000008DD} (unsigned bytes, DD dimensions) and DD 32-bit sizes, then the bytes.
 * Images are (N, rows, cols), labels (N). Every header value is checked against the file's real
 * length before anything is sized by it.
 */
final class Idx {
    static final int IMAGES_MAGIC = 0x00000803, LABELS_MAGIC = 0x00000801;

    private Idx() {}

    /** The train or test half of an IDX dataset from its image and label files. */
    static Dataset read(String dataset, int classes, int rows, int cols, Source.Blob images, Source.Blob labels) {
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
        float[] x = new float[count * rows * cols];
        Bytes.toUnit(images.bytes(), 16, x, 0, x.length);
        return new Dataset(dataset, 1, rows, cols, classes, x, y);
    }

    /** Checks an image file's header and length; returns N. */
    static long checkImages(Source.Blob images, int rows, int cols) {
        long[] dims = checkHeader(images, IMAGES_MAGIC, 3, "images");
        if (dims[1] != rows || dims[2] != cols)
            throw new DataException(images.file() + ": images are " + dims[1] + "x" + dims[2] + ", expected " + rows + "x" + cols);
        return dims[0];
    }

    /**
     * Checks magic, dimensions and that the payload is exactly as long as the dimensions say; returns
     * the dimensions. {@code what} names the first dimension in messages ("images", "labels").
     */
    static long[] checkHeader(Source.Blob f, int magic, int ndims, String what) {
        byte[] b = f.bytes();
        int headerLength = 4 + 4 * ndims;
        if (b.length == 0) throw new DataException(f.file() + ": file is empty");
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
            if (i > 0) itemBytes *= dims[i];
        }
        if (itemBytes > Bytes.MAX_ARRAY)
            throw new DataException(f.file() + ": header says " + what + " of " + itemBytes + " bytes each");
        long payload = b.length - headerLength;
        long holds = payload / itemBytes;
        // dims[0] < 2^32 and itemBytes < 2^31, so the product fits in a long
        long need = dims[0] * itemBytes;
        if (need > payload)
            throw new DataException(f.file() + ": header says " + dims[0] + " " + what + ", file holds " + holds
                    + (payload % itemBytes != 0 ? " and " + payload % itemBytes + " bytes of one more" : ""));
        if (need < payload)
            throw new DataException(f.file() + ": header says " + dims[0] + " " + what + ", but the file has "
                    + (payload - need) + " bytes more than those");
        return dims;
    }
}
