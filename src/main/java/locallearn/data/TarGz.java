package locallearn.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * A tar reader over a gzip stream, for the archives CIFAR-10, CIFAR-100 and STL-10 ship as: one
 * pass, keeping only the wanted entries (matched by base name, also as {@code NAME.gz}) and stopping
 * as soon as all are in. Handles POSIX ustar (name prefix), GNU long names ('L') and the path of pax
 * extended headers ('x'), and skips other entry types;
 * every header's checksum is verified, sizes are checked, and entry data is read with a buffer that
 * grows only as bytes arrive.
 */
final class TarGz {
    private static final int BLOCK = 512;

    private TarGz() {}

    static Map<String, Source.Blob> read(Path archive, Collection<String> names, boolean gunzip) {
        String file = archive.toString();
        if (Files.isDirectory(archive)) throw new DataException(file + ": is a directory, expected a .tar.gz archive");
        try (InputStream raw = Files.newInputStream(archive)) {
            return read(raw, Files.size(archive), file, names, gunzip);
        } catch (IOException e) {
            throw Bytes.failure(file, e);
        }
    }

    /** The wanted entries of an archive of {@code archiveSize} bytes (gzipped or a plain tar) read from {@code stream}. */
    static Map<String, Source.Blob> read(InputStream stream, long archiveSize, String file, Collection<String> names, boolean gunzip) {
        Map<String, Source.Blob> found = new LinkedHashMap<>();
        try {
            if (archiveSize == 0) throw new DataException(file + ": file is empty, expected a .tar.gz archive");
            InputStream raw = new BufferedInputStream(stream, 1 << 16);
            raw.mark(2);
            int b0 = raw.read(), b1 = raw.read();
            raw.reset();
            InputStream in = (b0 == 0x1F && b1 == 0x8B) ? new GZIPInputStream(raw, 1 << 16) : raw;
            readEntries(in, file, archiveSize, names, found, gunzip);
        } catch (IOException e) {
            throw Bytes.failure(file, e);
        }
        List<String> missing = new ArrayList<>();
        for (String n : names) if (!found.containsKey(n)) missing.add(n);
        if (!missing.isEmpty())
            throw new DataException(file + ": archive has no " + String.join(", ", missing));
        Map<String, Source.Blob> ordered = new LinkedHashMap<>();
        for (String n : names) ordered.put(n, found.get(n));
        return ordered;
    }

    private static void readEntries(InputStream in, String file, long archiveSize, Collection<String> names,
                                    Map<String, Source.Blob> found, boolean gunzip) throws IOException {
        byte[] header = new byte[BLOCK];
        long offset = 0;  // position in the tar stream, for messages
        String longName = null;
        while (found.size() < names.size()) {
            int got = in.readNBytes(header, 0, BLOCK);
            if (got == 0) return;  // ended without the end-of-archive blocks: what is missing is reported
            if (got < BLOCK) throw new DataException(file + ": tar header at byte " + offset + " is cut short (" + got + " of 512 bytes)");
            if (allZero(header)) return;  // end-of-archive marker
            verifyChecksum(header, file, offset);
            long size = size(header, file, offset);
            char type = (char) header[156];
            offset += BLOCK;
            String name = longName != null ? longName : name(header);
            longName = null;
            long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
            if (type == 'L' || type == 'x') {  // GNU long name, or a pax header: both name the next entry
                if (size > 1 << 20) throw new DataException(file + ": tar " + (type == 'L' ? "long-name" : "pax") + " header at byte " + offset + " claims " + size + " bytes");
                byte[] n = in.readNBytes((int) size);
                if (n.length < size) throw new DataException(file + ": tar " + (type == 'L' ? "long-name" : "pax") + " header at byte " + offset + " is cut short");
                longName = type == 'L' ? cString(n, 0, n.length) : paxPath(n);
                skip(in, padded - size, file, name);
            } else {
                String wanted = (type == '0' || type == 0) ? wanted(name, names) : null;
                if (wanted != null && !found.containsKey(wanted)) {
                    String entry = file + "!/" + name;
                    // a claimed size can lie; the buffer grows with real data, first sized by deflate's limit
                    long hint = Math.min(size, Bytes.MAX_DEFLATE_RATIO * archiveSize);
                    if (size >= Bytes.MAX_ARRAY) throw new DataException(entry + ": " + Bytes.human(size) + " is larger than one file this reader takes (2 GB)");
                    byte[] data = Bytes.readUpTo(in, size, hint);
                    if (data.length < size)
                        throw new DataException(entry + ": archive is cut short: entry claims " + size + " bytes, archive holds " + data.length);
                    skip(in, padded - size, file, name);
                    found.put(wanted, new Source.Blob(entry, gunzip ? Source.gunzipIfNeeded(data, entry) : data));
                } else {
                    skip(in, padded, file, name);
                }
            }
            offset += padded;
        }
    }

    private static void skip(InputStream in, long n, String file, String name) throws IOException {
        long skipped = 0;
        byte[] scratch = new byte[1 << 16];
        while (skipped < n) {
            int r = in.read(scratch, 0, (int) Math.min(scratch.length, n - skipped));
            if (r < 0) throw new DataException(file + ": archive is cut short inside entry " + name);
            skipped += r;
        }
    }

    /**
     * The "path" record of a pax extended header ("LEN path=VALUE\n" records, LEN counting the whole
     * record), or null when it has none; malformed records end the search, the ustar name then stands.
     */
    static String paxPath(byte[] h) {
        int i = 0;
        while (i < h.length) {
            int sp = i, len = 0;
            while (sp < h.length && h[sp] >= '0' && h[sp] <= '9' && len < 1 << 21) len = len * 10 + (h[sp++] - '0');
            if (sp >= h.length || h[sp] != ' ' || len <= sp - i || i + len > h.length) return null;
            String rec = new String(h, sp + 1, i + len - sp - 1, StandardCharsets.UTF_8);
            if (rec.startsWith("path=")) return rec.substring(5, rec.endsWith("\n") ? rec.length() - 1 : rec.length());
            i += len;
        }
        return null;
    }

    static String wanted(String entryName, Collection<String> names) {
        String base = entryName.substring(entryName.lastIndexOf('/') + 1);
        for (String n : names) if (base.equals(n) || base.equals(n + ".gz")) return n;
        return null;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static void verifyChecksum(byte[] h, String file, long offset) {
        long stored = octal(h, 148, 8, file, offset, "checksum");
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xFF);
        if (sum != stored)
            throw new DataException(file + ": not a tar archive, or corrupt: header at byte " + offset
                    + " has checksum " + stored + ", its bytes sum to " + sum);
    }

    private static long size(byte[] h, String file, long offset) {
        if ((h[124] & 0x80) != 0) {  // GNU base-256 for sizes of 8 GB and more
            long v = 0;
            for (int i = 125; i < 136; i++) {
                if (v > (Long.MAX_VALUE >> 8)) throw new DataException(file + ": tar header at byte " + offset + " has an absurd size");
                v = (v << 8) | (h[i] & 0xFF);
            }
            if ((h[124] & 0x7F) != 0 || v < 0) throw new DataException(file + ": tar header at byte " + offset + " has an absurd size");
            return v;
        }
        return octal(h, 124, 12, file, offset, "size");
    }

    private static long octal(byte[] h, int from, int len, String file, long offset, String field) {
        long v = 0;
        int i = from, end = from + len;
        while (i < end && (h[i] == ' ' || h[i] == 0)) i++;
        int digits = 0;
        for (; i < end && h[i] >= '0' && h[i] <= '7'; i++, digits++) v = (v << 3) | (h[i] - '0');
        for (; i < end; i++) {
            if (h[i] != ' ' && h[i] != 0)
                throw new DataException(file + ": not a tar archive, or corrupt: header at byte " + offset + " has a bad " + field + " field");
        }
        if (digits == 0 && !field.equals("size"))
            throw new DataException(file + ": not a tar archive, or corrupt: header at byte " + offset + " has an empty " + field + " field");
        return v;
    }

    private static String name(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r';
        if (ustar && h[345] != 0) name = cString(h, 345, 155) + "/" + name;
        return name;
    }

    private static String cString(byte[] b, int from, int len) {
        int end = from;
        while (end < from + len && b[end] != 0) end++;
        return new String(b, from, end - from, StandardCharsets.UTF_8);
    }
}
