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
        return readUpTo(in, limit, sizeHint, new byte[0]);
    }

    /** The same, with {@code prefix} already read: it starts the result and counts toward {@code limit}. */
    static byte[] readUpTo(InputStream in, long limit, long sizeHint, byte[] prefix) throws IOException {
        long cap = Math.min(limit, MAX_ARRAY);
        byte[] buf = new byte[(int) Math.max(prefix.length, Math.min(cap, sizeHint > 0 ? sizeHint : FIRST_CHUNK))];
        System.arraycopy(prefix, 0, buf, 0, prefix.length);
        int n = prefix.length;
        while (n < cap) {
            if (n == buf.length) {
                // full: a right hint ends here, seen with one byte read, without growing and copying
                int probe = in.read();
                if (probe < 0) break;
                buf = Arrays.copyOf(buf, (int) Math.min(cap, Math.max(2L * n, 1)));
                buf[n++] = (byte) probe;
                continue;
            }
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) break;
            n += r;
        }
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    /** Counts the bytes left in a stream, up to {@code cap}, keeping none of them. */
    static long drain(InputStream in, long cap) throws IOException {
        byte[] scratch = new byte[1 << 16];
        long total = 0;
        for (int r; total < cap && (r = in.read(scratch, 0, (int) Math.min(scratch.length, cap - total))) >= 0; ) total += r;
        return total;
    }

    /**
     * gzip's trailer holds the plain size mod 2^32: a good first buffer, when deflate (at most about
     * 1032:1) could have made that much from this file; else 0, no hint.
     */
    static long gzipSizeHint(byte[] gz) {
        if (gz.length < 18) return 0;
        long hint = u32le(gz, gz.length - 4);
        return hint <= MAX_DEFLATE_RATIO * gz.length ? hint : 0;
    }

    static boolean isGzip(byte[] b) {
        return b.length >= 2 && (b[0] & 0xFF) == 0x1F && (b[1] & 0xFF) == 0x8B;
    }

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
