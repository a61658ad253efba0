package locallearn.train;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to {dtype, shape, data_offsets} plus a string-to-string
 * {@code __metadata__}, then the raw little-endian data. Only F32 is written or read. Files are
 * written to a temporary file beside the target and renamed, so a crash never leaves a damaged
 * checkpoint behind.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** A tensor read from a file: its shape and values. */
    public record Entry(int[] shape, float[] values) {}

    /** The contents of a file: tensors in file order and the metadata. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {}

    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        StringBuilder h = new StringBuilder("{\"__metadata__\":{");
        int i = 0;
        for (var e : metadata.entrySet()) h.append(i++ == 0 ? "" : ",").append(quote(e.getKey())).append(':').append(quote(e.getValue()));
        h.append('}');
        long offset = 0;
        for (var e : tensors.entrySet()) {
            long bytes = (long) e.getValue().values().length * 4;
            h.append(',').append(quote(e.getKey())).append(":{\"dtype\":\"F32\",\"shape\":[");
            int[] s = e.getValue().shape();
            for (int d = 0; d < s.length; d++) h.append(d == 0 ? "" : ",").append(s[d]);
            h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        h.append('}');
        while (h.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) h.append(' '); // data starts 8-aligned
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
                out.write(len.array());
                out.write(header);
                for (Entry e : tensors.values()) {
                    ByteBuffer b = ByteBuffer.allocate(e.values().length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    b.asFloatBuffer().put(e.values());
                    out.write(b.array());
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads a file; a file that is not valid safetensors (or holds other than F32) is an IllegalArgumentException naming it. */
    public static Contents read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        String name = file.toString();
        if (all.length < 8) throw new IllegalArgumentException(name + ": not a safetensors file (" + all.length + " bytes)");
        long hlen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (hlen < 2 || hlen > all.length - 8) throw new IllegalArgumentException(name + ": not a safetensors file (header length " + hlen + ", file " + all.length + " bytes)");
        String header = new String(all, 8, (int) hlen, StandardCharsets.UTF_8);
        Object parsed;
        try {
            parsed = new JsonReader(header).value();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + ": corrupt safetensors header (" + e.getMessage() + ")");
        }
        if (!(parsed instanceof Map<?, ?> root)) throw new IllegalArgumentException(name + ": corrupt safetensors header (not an object)");
        Map<String, Entry> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        long dataStart = 8 + hlen;
        for (var e : root.entrySet()) {
            String key = (String) e.getKey();
            if (key.equals("__metadata__")) {
                if (e.getValue() instanceof Map<?, ?> m) m.forEach((k, v) -> meta.put((String) k, String.valueOf(v)));
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> t) || !"F32".equals(t.get("dtype")) || !(t.get("shape") instanceof List<?> sh)
                    || !(t.get("data_offsets") instanceof List<?> off) || off.size() != 2)
                throw new IllegalArgumentException(name + ": tensor " + key + " is not an F32 tensor with shape and data_offsets");
            int[] shape = new int[sh.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) numel *= shape[i] = ((Number) sh.get(i)).intValue();
            long a = ((Number) off.get(0)).longValue(), b = ((Number) off.get(1)).longValue();
            if (a < 0 || b - a != numel * 4 || dataStart + b > all.length)
                throw new IllegalArgumentException(name + ": tensor " + key + " data offsets [" + a + ", " + b + "] do not fit its shape or the file (truncated?)");
            float[] v = new float[(int) numel];
            ByteBuffer.wrap(all, (int) (dataStart + a), (int) (b - a)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            tensors.put(key, new Entry(shape, v));
        }
        return new Contents(tensors, meta);
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    /** Just enough JSON to read a safetensors header: objects, arrays, strings, numbers. */
    private static final class JsonReader {
        private final String s;
        private int i;

        JsonReader(String s) { this.s = s; }

        Object value() {
            skip();
            if (i >= s.length()) throw new IllegalStateException("unexpected end");
            char c = s.charAt(i);
            if (c == '{') {
                i++;
                Map<String, Object> m = new LinkedHashMap<>();
                skip();
                if (peek() == '}') { i++; return m; }
                while (true) {
                    skip();
                    String k = string();
                    skip();
                    expect(':');
                    m.put(k, value());
                    skip();
                    if (peek() == ',') { i++; continue; }
                    expect('}');
                    return m;
                }
            }
            if (c == '[') {
                i++;
                List<Object> l = new ArrayList<>();
                skip();
                if (peek() == ']') { i++; return l; }
                while (true) {
                    l.add(value());
                    skip();
                    if (peek() == ',') { i++; continue; }
                    expect(']');
                    return l;
                }
            }
            if (c == '"') return string();
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            if (start == i) throw new IllegalStateException("unexpected '" + c + "' at " + i);
            return Double.parseDouble(s.substring(start, i));
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) throw new IllegalStateException("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'u' -> { b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; }
                        default -> b.append(e);
                    }
                } else b.append(c);
            }
        }

        private char peek() { return i < s.length() ? s.charAt(i) : '\0'; }

        private void expect(char c) {
            if (peek() != c) throw new IllegalStateException("expected '" + c + "' at " + i);
            i++;
        }

        private void skip() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
    }
}
