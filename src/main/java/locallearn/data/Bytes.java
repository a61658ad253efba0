package locallearn.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.zip.ZipException;

/**
 * Bounded reading. Every buffer here grows only as real bytes arrive, so a header that claims a
 * huge count never causes a huge allocation: a hostile file fails at its short read instead.
 */
final class Bytes {
    /** The longest Java array the JVMs we run on allocate. */
    static final int MAX_ARRAY = Integer.MAX_VALUE - 8;
    /** The most a deflate stream can expand (RFC 1951: about 1032:1), used to doubt size hints. */
    static final long MAX_DEFLATE_RATIO = 1032;
    private static final int FIRST_CHUNK = 1 << 20;

    /** pixel / 255 for every byte value, exactly as torchvision's ToTensor (float32 division). */
    static final float[] UNIT = new float[256];
    static {
        for (int i = 0; i < 256; i++) UNIT[i] = i / 255f;
    }

    private Bytes() {}

    /**
     * Reads until end of stream or until {@code limit} bytes, whichever comes first, and returns what
     * was read. {@code sizeHint} only sizes the first buffer and is capped by {@code limit}, so callers
     * pass a hint they can vouch for (a size on disk, a size deflate could really produce).
     */
    static byte[] readUpTo(InputStream in, long limit, long sizeHint) throws IOException {
        long cap = Math.min(limit, MAX_ARRAY);
        // one byte past a right hint, so the end of the stream is seen without growing the buffer
        int size = (int) Math.min(cap, sizeHint > 0 ? sizeHint + 1 : FIRST_CHUNK);
        byte[] buf = new byte[size];
        int n = 0;
        while (n < cap) {
            if (n == buf.length) buf = Arrays.copyOf(buf, (int) Math.min(cap, 2L * n));
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) break;
            n += r;
        }
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    /** Counts the bytes left in a stream without keeping them (for error messages). */
    static long drain(InputStream in) throws IOException {
        byte[] scratch = new byte[1 << 16];
        long total = 0;
        for (int r; (r = in.read(scratch)) >= 0; ) total += r;
        return total;
    }

    static boolean isGzip(byte[] b) {
        return b.length >= 2 && (b[0] & 0xFF) == 0x1F && (b[1] & 0xFF) == 0x8B;
    }

    static int u8(byte[] b, int i) { return b[i] & 0xFF; }

    static long u32be(byte[] b, int i) {
        return ((long) (b[i] & 0xFF) << 24) | ((b[i + 1] & 0xFF) << 16) | ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
    }

    static long u32le(byte[] b, int i) {
        return (b[i] & 0xFF) | ((b[i + 1] & 0xFF) << 8) | ((b[i + 2] & 0xFF) << 16) | ((long) (b[i + 3] & 0xFF) << 24);
    }

    /** Converts {@code n} bytes of pixels to [0, 1] floats. */
    static void toUnit(byte[] src, int srcPos, float[] dst, int dstPos, int n) {
        for (int i = 0; i < n; i++) dst[dstPos + i] = UNIT[src[srcPos + i] & 0xFF];
    }

    /** An I/O failure as one line naming the file. */
    static DataException failure(String file, IOException e) {
        String what;
        if (e instanceof EOFException) what = "file is cut short (" + e.getMessage() + ")";
        else if (e instanceof ZipException) what = "corrupt compressed data (" + e.getMessage() + ")";
        else what = e.getClass().getSimpleName() + ": " + e.getMessage();
        return new DataException(file + ": " + what, e);
    }

    /** "1.7 GB" for messages about sizes. */
    static String human(long bytes) {
        if (bytes < 10_000) return bytes + " bytes";
        String[] units = {"kB", "MB", "GB", "TB", "PB", "EB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
