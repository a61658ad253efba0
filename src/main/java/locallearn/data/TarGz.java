package locallearn.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.tar.TarUtils;

/**
 * The archives CIFAR-10, CIFAR-100 and STL-10 ship as (.tar.gz, or a plain .tar), read in one pass
 * that keeps only the wanted entries (matched by base name, also as {@code NAME.gz}) and stops as
 * soon as all are in. The tar format (ustar, GNU long names, pax headers, base-256 sizes) is Apache
 * Commons Compress' reader; gzip is the JDK's, as for every other gzipped file here.
 *
 * <p>Commons Compress reads what it can: it computes each header's checksum without refusing a wrong
 * one, takes a header cut short for the end of the archive, and buffers a GNU long name or a pax
 * header of any length. {@link CheckedTar} refuses those three, so a damaged archive is a
 * DataException naming it; entry data is read with a buffer that grows only as bytes arrive.
 */
final class TarGz {
    private static final int BLOCK = 512;
    /** A GNU long name or a pax header names one entry; a megabyte is more than any name. */
    private static final long MAX_NAME_HEADER = 1 << 20;

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
        if (archiveSize == 0) throw new DataException(file + ": file is empty, expected a .tar.gz archive");
        Counted tarBytes = null;
        try {
            InputStream raw = new BufferedInputStream(stream, 1 << 16);
            raw.mark(2);
            int b0 = raw.read(), b1 = raw.read();
            raw.reset();
            tarBytes = new Counted((b0 == 0x1F && b1 == 0x8B) ? new GZIPInputStream(raw, 1 << 16) : raw);
            readEntries(new CheckedTar(tarBytes, file), tarBytes, file, archiveSize, names, found, gunzip);
        } catch (EOFException | ZipException e) {
            throw Bytes.failure(file, e);  // the gzip layer's: cut short, or corrupt
        } catch (IOException e) {
            throw new DataException(file + ": " + (tarBytes != null && tarBytes.ended ? "archive is cut short" : "not a tar archive, or corrupt")
                    + " (" + why(e) + ")", e);
        } catch (DataException e) {
            throw e;
        } catch (RuntimeException e) {
            // Commons Compress parsing a damaged header may fail in ways its signature does not say
            throw new DataException(file + ": not a tar archive, or corrupt (" + why(e) + ")", e);
        }
        List<String> missing = new ArrayList<>();
        for (String n : names) if (!found.containsKey(n)) missing.add(n);
        if (!missing.isEmpty())
            throw new DataException(file + ": archive has no " + String.join(", ", missing));
        Map<String, Source.Blob> ordered = new LinkedHashMap<>();
        for (String n : names) ordered.put(n, found.get(n));
        return ordered;
    }

    private static void readEntries(CheckedTar tar, Counted tarBytes, String file, long archiveSize, Collection<String> names,
                                    Map<String, Source.Blob> found, boolean gunzip) throws IOException {
        while (found.size() < names.size()) {
            TarArchiveEntry e = tar.getNextEntry();
            if (e == null) return;  // end of archive: what is missing is reported
            byte type = e.getLinkFlag();
            if (type != TarConstants.LF_NORMAL && type != TarConstants.LF_OLDNORM) continue;  // directories, links, devices
            String wanted = wanted(e.getName(), names);
            if (wanted == null || found.containsKey(wanted)) continue;
            String entry = file + "!/" + e.getName();
            long size = e.getSize();
            if (size >= Bytes.MAX_ARRAY) throw new DataException(entry + ": " + Bytes.human(size) + " is larger than one file this reader takes (2 GB)");
            // a claimed size can lie; the buffer grows with real data, first sized by deflate's limit
            long hint = Math.min(size, Bytes.MAX_DEFLATE_RATIO * archiveSize);
            byte[] data = Bytes.readUpTo(new EndsWithArchive(tar, tarBytes), size, hint);
            if (data.length < size)
                throw new DataException(entry + ": archive is cut short: entry claims " + size + " bytes, archive holds " + data.length);
            found.put(wanted, new Source.Blob(entry, gunzip ? Source.gunzipIfNeeded(data, entry) : data));
        }
    }

    static String wanted(String entryName, Collection<String> names) {
        String base = entryName.substring(entryName.lastIndexOf('/') + 1);
        for (String n : names) if (base.equals(n) || base.equals(n + ".gz")) return n;
        return null;
    }

    /** An exception's message and its cause's, on one line: header bytes quoted in them may hold anything. */
    private static String why(Exception e) {
        String m = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        if (e.getCause() != null && e.getCause().getMessage() != null) m += ": " + e.getCause().getMessage();
        return m.replaceAll("\\p{Cntrl}", "?");
    }

    /**
     * Commons Compress' tar stream with the checks it leaves to the caller: every header record's
     * checksum (it only computes it), a record cut short (it takes that for the end of the archive),
     * and the length of a GNU long name or pax header (it would buffer any).
     */
    private static final class CheckedTar extends TarArchiveInputStream {
        private final Counted tarBytes;
        private final String file;

        CheckedTar(Counted tarBytes, String file) {
            super(tarBytes, "UTF-8");
            this.tarBytes = tarBytes;
            this.file = file;
        }

        /** Reads each header record (the end-of-archive zeros too); entry data never comes through here. */
        @Override protected byte[] readRecord() throws IOException {
            long at = tarBytes.count;
            byte[] record = super.readRecord();
            long got = tarBytes.count - at;
            if (record == null && got > 0)
                throw new DataException(file + ": tar header at byte " + at + " is cut short (" + got + " of " + BLOCK + " bytes)");
            if (record != null && !isEOFRecord(record) && !TarUtils.verifyCheckSum(record))
                throw new DataException(file + ": not a tar archive, or corrupt: header at byte " + at + " has a wrong checksum");
            return record;
        }

        /** Every read goes through here, the library's own of long names and pax records too. */
        @Override public int read(byte[] b, int off, int len) throws IOException {
            TarArchiveEntry e = getCurrentEntry();
            if (e != null && e.getSize() > MAX_NAME_HEADER && (e.isGNULongNameEntry() || e.isGNULongLinkEntry() || e.isPaxHeader() || e.isGlobalPaxHeader()))
                throw new DataException(file + ": tar " + (e.isPaxHeader() || e.isGlobalPaxHeader() ? "pax" : "long-name") + " header claims " + e.getSize() + " bytes");
            return super.read(b, off, len);
        }
    }

    /** The tar stream's bytes as they leave gzip: how many so far, and whether they ran out. */
    private static final class Counted extends FilterInputStream {
        long count;
        boolean ended;

        Counted(InputStream in) { super(in); }

        @Override public int read() throws IOException {
            int b = in.read();
            if (b < 0) ended = true; else count++;
            return b;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            int r = in.read(b, off, len);
            if (r < 0) ended = true; else count += r;
            return r;
        }

        @Override public long skip(long n) throws IOException {
            long s = in.skip(n);
            count += s;
            return s;
        }
    }

    /**
     * One entry's data, where the archive ending inside it is an end of data rather than the
     * library's IOException: the caller then reports how many of the claimed bytes were there.
     */
    private static final class EndsWithArchive extends FilterInputStream {
        private final Counted tarBytes;

        EndsWithArchive(InputStream entry, Counted tarBytes) {
            super(entry);
            this.tarBytes = tarBytes;
        }

        @Override public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (IOException e) {
                if (tarBytes.ended && !(e instanceof ZipException || e instanceof EOFException)) return -1;
                throw e;
            }
        }
    }
}
