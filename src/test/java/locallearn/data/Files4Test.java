package locallearn.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.ByteOrder;
import java.util.zip.DeflaterOutputStream;
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

    /**
     * A MAT-file (level 5, little endian) as MATLAB writes SVHN's: X uint8 32x32x3xN column-major from
     * {@code x}, and y of class double, N x 1, stored as uint8 (MATLAB packs integer-valued doubles
     * into the smallest type that holds them); each variable an miCOMPRESSED element when
     * {@code compress}, else a plain miMATRIX (the v6 layout).
     */
    static byte[] svhnMat(byte[] x, int n, byte[] labels, boolean compress) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] header = new byte[128];
        byte[] text = "MATLAB 5.0 MAT-file, Platform: GLNXA64, written by a locallearn test".getBytes(StandardCharsets.US_ASCII);
        java.util.Arrays.fill(header, 0, 116, (byte) ' ');
        System.arraycopy(text, 0, header, 0, text.length);
        header[124] = 0; header[125] = 1; header[126] = 'I'; header[127] = 'M';
        out.writeBytes(header);
        variable(out, matrix(9, new int[] {32, 32, 3, n}, "X", 2, x), compress);
        variable(out, matrix(6, new int[] {n, 1}, "y", 2, labels), compress);
        return out.toByteArray();
    }

    /** An miMATRIX element: flags (class), dims, name (small element when it fits), real part. */
    static byte[] matrix(int mxClass, int[] dims, String name, int dataType, byte[] data) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        element(body, 6, le(mxClass, 0));
        int[] d = dims;
        ByteBuffer db = ByteBuffer.allocate(4 * d.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : d) db.putInt(v);
        element(body, 5, db.array());
        byte[] nb = name.getBytes(StandardCharsets.US_ASCII);
        if (nb.length <= 4) {
            body.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(nb.length << 16 | 1).put(nb).array());
        } else {
            element(body, 1, nb);
        }
        element(body, dataType, data);
        byte[] b = body.toByteArray();
        ByteBuffer m = ByteBuffer.allocate(8 + b.length).order(ByteOrder.LITTLE_ENDIAN);
        m.putInt(14).putInt(b.length).put(b);
        return m.array();
    }

    static void variable(ByteArrayOutputStream out, byte[] matrix, boolean compress) {
        if (!compress) { out.writeBytes(matrix); return; }
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        try (DeflaterOutputStream d = new DeflaterOutputStream(z)) { d.write(matrix); } catch (IOException e) { throw new UncheckedIOException(e); }
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(15).putInt(z.size()).array());
        out.writeBytes(z.toByteArray());
    }

    /** A tagged data element padded to 8 bytes. */
    static void element(ByteArrayOutputStream out, int type, byte[] data) {
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(data.length).array());
        out.writeBytes(data);
        out.writeBytes(new byte[(8 - data.length % 8) % 8]);
    }

    static byte[] le(int... words) {
        ByteBuffer b = ByteBuffer.allocate(4 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) b.putInt(w);
        return b.array();
    }
}
