package locallearn.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

/** Writers of the real file formats, for tests: small files with known pixels and labels. */
final class Files4Test {
    private Files4Test() {}

    /** An IDX image file: magic 0x803, N, rows, cols, then the bytes. */
    static byte[] idxImages(int n, int rows, int cols, byte[] pixels) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
        b.putInt(0x803).putInt(n).putInt(rows).putInt(cols).put(pixels);
        return b.array();
    }

    static byte[] idxLabels(byte[] labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x801).putInt(labels.length).put(labels);
        return b.array();
    }

    static byte[] gzip(byte[] plain) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream z = new GZIPOutputStream(out)) { z.write(plain); }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A tar archive (ustar, as GNU tar writes) of the given entries: name, bytes, name, bytes... */
    static byte[] tar(Object... entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int e = 0; e < entries.length; e += 2) {
            String name = (String) entries[e];
            byte[] data = (byte[]) entries[e + 1];
            byte[] h = new byte[512];
            byte[] nb = name.getBytes(StandardCharsets.UTF_8);
            System.arraycopy(nb, 0, h, 0, nb.length);
            octal(h, 100, 8, 0644);
            octal(h, 108, 8, 0);
            octal(h, 116, 8, 0);
            octal(h, 124, 12, data.length);
            octal(h, 136, 12, 1_300_000_000L);
            h[156] = '0';
            System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
            h[263] = '0'; h[264] = '0';
            for (int i = 148; i < 156; i++) h[i] = ' ';
            long sum = 0;
            for (byte x : h) sum += x & 0xFF;
            octal(h, 148, 7, sum);
            out.writeBytes(h);
            out.writeBytes(data);
            out.writeBytes(new byte[(512 - data.length % 512) % 512]);
        }
        out.writeBytes(new byte[1024]);
        return out.toByteArray();
    }

    private static void octal(byte[] h, int at, int len, long v) {
        String s = Long.toOctalString(v);
        s = "0".repeat(len - 1 - s.length()) + s;
        byte[] sb = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(sb, 0, h, at, sb.length);
        h[at + len - 1] = 0;
    }
}
