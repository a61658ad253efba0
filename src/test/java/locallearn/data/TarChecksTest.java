package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/**
 * What TarGz checks on top of Commons Compress' tar reader, which computes a header's checksum
 * without refusing a wrong one and would buffer a GNU long name of any length: every header's
 * checksum, the long name and pax headers of one megabyte at most.
 */
class TarChecksTest {
    static final byte[] DATA = "the wanted entry".getBytes(StandardCharsets.US_ASCII);

    /** A ustar header for {@code size} bytes of entry type {@code type}, with a right checksum. */
    static byte[] header(String name, char type, long size) {
        byte[] h = Arrays.copyOf(Files4Test.tar(name, new byte[0]), 512);
        byte[] s = String.format("%011o", size).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, h, 124, 11);
        h[156] = (byte) type;
        return withChecksum(h);
    }

    static byte[] withChecksum(byte[] h) {
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte x : h) sum += x & 0xFF;
        byte[] c = String.format("%06o\0", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(c, 0, h, 148, 7);
        return h;
    }

    static byte[] padded(byte[] b) { return Arrays.copyOf(b, (b.length + 511) / 512 * 512); }

    static Map<String, Source.Blob> read(byte[] archive) {
        return TarGz.read(new ByteArrayInputStream(archive), archive.length, "/mem/a.tar.gz", List.of("a.bin"), false);
    }

    /** A GNU long-name entry naming dir/a.bin, then that entry, then the end of the archive. */
    static ByteArrayOutputStream longNamed(byte[] longNameHeader) {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        tar.writeBytes(longNameHeader);
        tar.writeBytes(padded("dir/a.bin\0".getBytes(StandardCharsets.US_ASCII)));
        tar.writeBytes(header("short-name-ignored", '0', DATA.length));
        tar.writeBytes(padded(DATA));
        tar.writeBytes(new byte[1024]);
        return tar;
    }

    @Test void aLongNameEntryReadsUnderItsLongName() {
        byte[] tar = longNamed(header("././@LongLink", 'L', 10)).toByteArray();
        Source.Blob b = read(Files4Test.gzip(tar)).get("a.bin");
        assertEquals("/mem/a.tar.gz!/dir/a.bin", b.file());
        assertArrayEquals(DATA, b.bytes());
    }

    @Test void aWrongChecksumInALongNameHeaderIsRefused() {
        // Commons Compress alone reads this archive: it never checks the checksum of a long-name header
        byte[] h = header("././@LongLink", 'L', 10);
        h[150]++;
        DataException e = assertThrows(DataException.class, () -> read(Files4Test.gzip(longNamed(h).toByteArray())));
        assertEquals("/mem/a.tar.gz: not a tar archive, or corrupt: header at byte 0 has a wrong checksum", e.getMessage());
        // nor of the entry's own header
        byte[] tar = longNamed(header("././@LongLink", 'L', 10)).toByteArray();
        tar[1024 + 10] ^= 1;
        e = assertThrows(DataException.class, () -> read(Files4Test.gzip(tar)));
        assertEquals("/mem/a.tar.gz: not a tar archive, or corrupt: header at byte 1024 has a wrong checksum", e.getMessage());
    }

    @Test void aLongNameOfHundredMegabytesIsRefusedBeforeItIsBuffered() throws IOException {
        // 100 MB of real (zero) name bytes, 100 kB gzipped: a buffer that grows with the bytes would hold them all
        long size = 100L << 20;
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(header("././@LongLink", 'L', size));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 100; i++) z.write(zeros);
            z.write(header("a.bin", '0', DATA.length));
            z.write(padded(DATA));
            z.write(new byte[1024]);
        }
        byte[] archive = gz.toByteArray();
        long bytes = HostileFilesTest.allocatedBy(() -> {
            DataException e = assertThrows(DataException.class, () -> read(archive));
            assertEquals("/mem/a.tar.gz: tar long-name header claims " + size + " bytes", e.getMessage());
        });
        assertTrue(bytes < HostileFilesTest.LITTLE, "allocated " + bytes + " bytes");
    }

    @Test void aPaxHeaderOfTwoMegabytesIsRefused() {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        tar.writeBytes(header("PaxHeaders/a.bin", 'x', 2L << 20));
        tar.writeBytes(new byte[2 << 20]);
        tar.writeBytes(header("a.bin", '0', DATA.length));
        tar.writeBytes(padded(DATA));
        DataException e = assertThrows(DataException.class, () -> read(Files4Test.gzip(tar.toByteArray())));
        assertEquals("/mem/a.tar.gz: tar pax header claims 2097152 bytes", e.getMessage());
    }
}
