package locallearn.train;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safetensors header as written and as read back, and hostile headers: each must end in one
 * IllegalArgumentException line naming the file ("FILE: corrupt safetensors header (...)"), never a
 * StackOverflowError, and never an allocation sized by a number the header claims.
 */
class SafeTensorsHeaderTest {
    @TempDir Path tmp;

    /** A file of an 8-byte little-endian header length, the header, then {@code data}. */
    Path file(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = tmp.resolve("hostile.safetensors");
        Files.write(p, b.array());
        return p;
    }

    Path file(String header) throws IOException { return file(header, new byte[0]); }

    /** Reading {@code p} fails with one line that names it; returns that line. */
    static String refused(Path p) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(p));
        String m = e.getMessage();
        assertTrue(m.startsWith(p + ": "), m);
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        return m;
    }

    static String nested(int depth) { return "[".repeat(depth) + "]".repeat(depth); }

    @Test void writesTheHeaderItAlwaysWrote() throws IOException {
        Path p = tmp.resolve("w.safetensors");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("epoch", "1");
        meta.put("note", "a \"quoted\" back\\slash");
        SafeTensors.write(p, Map.of("w", new SafeTensors.Entry(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})), meta);
        byte[] all = Files.readAllBytes(p);
        long hlen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        // the format written before Jackson did it, byte for byte, padded with spaces to a multiple of 8
        String expected = "{\"__metadata__\":{\"epoch\":\"1\",\"note\":\"a \\\"quoted\\\" back\\\\slash\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
        assertEquals(0, hlen % 8);
        assertEquals(expected, new String(all, 8, (int) hlen, StandardCharsets.UTF_8).stripTrailing());
        assertEquals(8 + hlen + 24, all.length);
        SafeTensors.Contents c = SafeTensors.read(p);
        assertEquals(meta, c.metadata());
        assertArrayEquals(new int[] {2, 3}, c.tensors().get("w").shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("w").values());
    }

    @Test void hundredThousandNestedArraysAreOneLineNotAStackOverflow() throws IOException {
        String deep = nested(100_000);
        // where a tensor or an unknown entry is read, Jackson's depth limit stops the walk
        for (String header : new String[] {"{\"w\":{\"dtype\":\"F32\",\"shape\":" + deep + ",\"data_offsets\":[0,0]}}", "{\"extra\":" + deep + "}"}) {
            String m = refused(file(header));
            assertTrue(m.contains(": corrupt safetensors header (Document nesting depth (" + (SafeTensors.MAX_DEPTH + 1) + ") exceeds the maximum allowed"), m);
            assertTrue(m.length() < 300, m);
        }
        // metadata values must be strings: refused at the first bracket
        assertTrue(refused(file("{\"__metadata__\":{\"k\":" + deep + "}}")).endsWith("corrupt safetensors header (__metadata__ value k is not a string)"));
    }

    @Test void aHeaderThatIsValidJsonButNotAnObject() throws IOException {
        for (String header : new String[] {"[1,2]", "\"text\"", "42", "null", nested(100_000)}) {
            String m = refused(file(header));
            assertTrue(m.endsWith(": corrupt safetensors header (not an object)"), m);
        }
    }

    @Test void headerLengthLargerThanTheFile() throws IOException {
        Path p = tmp.resolve("long.safetensors");
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 62).array());
        assertEquals(p + ": not a safetensors file (header length 4611686018427387904, file 16 bytes)", refused(p));
    }

    @Test void hugeDeclaredNumbersAreRefusedBeforeAnyAllocation() throws IOException {
        // offsets past the file, and past any long
        assertTrue(refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,9000000000000]}}"))
                .endsWith("tensor w data offsets [0, 9000000000000] do not fit its shape or the file (truncated?)"));
        String m = refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,123456789012345678901234567890]}}"));
        assertTrue(m.contains("tensor w: data_offsets must be whole numbers from 0 to 2^63-1"), m);
        // a shape of 2^64 elements wraps a long to 0 and matched empty offsets once
        m = refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}"));
        assertTrue(m.contains("tensor w: shape [65536, 65536, 65536, 65536] has more elements than an array holds"), m);
        m = refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}"));
        assertTrue(m.contains("tensor w: shape must be whole numbers from 0 to 2^31-1"), m);
        // a number of 5000 digits: Jackson's number-length limit answers, in one short line
        m = refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[" + "9".repeat(5000) + "],\"data_offsets\":[0,0]}}"));
        assertTrue(m.contains("corrupt safetensors header (") && m.length() < 400, m);
    }

    @Test void brokenJsonDuplicateNamesAndTrailingBytes() throws IOException {
        assertTrue(refused(file("{\"w\":{\"dtype\":\"F32\",")).contains(": corrupt safetensors header ("));
        assertTrue(refused(file("{\"__metadata__\":{},\"w\":{},\"w\":{}}")).contains("Duplicate field 'w'"));
        assertTrue(refused(file("{} {}")).endsWith(": corrupt safetensors header (bytes after the header object, at header byte 3)"));
        assertTrue(refused(file("{\"w\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", new byte[2]))
                .endsWith(": tensor w is not an F32 tensor with shape and data_offsets"));
        assertTrue(refused(file("{\"__metadata__\":{\"k\":{\"a\":1}}}")).endsWith(": corrupt safetensors header (__metadata__ value k is not a string)"));
    }
}
