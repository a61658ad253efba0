package locallearn.train;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to {dtype, shape, data_offsets} plus a string-to-string
 * {@code __metadata__}, then the raw little-endian data. Only F32 is written or read. Files are
 * written to a temporary file beside the target and renamed, so a crash never leaves a damaged
 * checkpoint behind.
 *
 * <p>The header is written and read with Jackson's streaming core. Reading walks the tokens in the
 * shape the format allows, so no tree is built and nothing recurses; Jackson's read constraints
 * bound the nesting depth and the length of numbers, and a hostile header ends in one line.
 */
public final class SafeTensors {
    /** A header is three levels deep (root, tensor, shape); deeper is not safetensors, and stops here. */
    static final int MAX_DEPTH = 16;

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)  // two tensors of one name: which is meant?
            .build();

    private SafeTensors() {}

    /** A tensor read from a file: its shape and values. */
    public record Entry(int[] shape, float[] values) {}

    /** The contents of a file: tensors in file order and the metadata. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {}

    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
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
        Header h = parseHeader(all, (int) hlen, name);
        Map<String, Entry> tensors = new LinkedHashMap<>();
        long dataStart = 8 + hlen, dataBytes = all.length - dataStart;
        for (Declared t : h.tensors()) {
            String key = t.name();
            if (!"F32".equals(t.dtype()) || t.shape() == null || t.offsets() == null || t.offsets().length != 2)
                throw new IllegalArgumentException(name + ": tensor " + key + " is not an F32 tensor with shape and data_offsets");
            long numel = 1;
            for (long d : t.shape()) {
                numel = numel * d;  // both at most 2^31-1: no overflow
                if (numel > Integer.MAX_VALUE)
                    throw new IllegalArgumentException(name + ": tensor " + key + ": shape " + Arrays.toString(t.shape()) + " has more elements than an array holds");
            }
            long a = t.offsets()[0], b = t.offsets()[1];
            if (b - a != numel * 4 || b > dataBytes)
                throw new IllegalArgumentException(name + ": tensor " + key + " data offsets [" + a + ", " + b + "] do not fit its shape or the file (truncated?)");
            int[] shape = new int[t.shape().length];
            for (int i = 0; i < shape.length; i++) shape[i] = (int) t.shape()[i];
            float[] v = new float[(int) numel];
            ByteBuffer.wrap(all, (int) (dataStart + a), (int) (b - a)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            tensors.put(key, new Entry(shape, v));
        }
        return new Contents(tensors, h.metadata());
    }

    /** The header as written: {@code __metadata__} first, then each tensor with its place in the data. */
    private static byte[] header(Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(json)) {
            g.writeStartObject();
            g.writeObjectFieldStart("__metadata__");
            for (var e : metadata.entrySet()) g.writeStringField(e.getKey(), e.getValue());
            g.writeEndObject();
            long offset = 0;
            for (var e : tensors.entrySet()) {
                long bytes = (long) e.getValue().values().length * 4;
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("dtype", "F32");
                g.writeArrayFieldStart("shape");
                for (int d : e.getValue().shape()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + bytes);
                g.writeEndArray();
                g.writeEndObject();
                offset += bytes;
            }
            g.writeEndObject();
        }
        while (json.size() % 8 != 0) json.write(' ');  // data starts 8-aligned
        return json.toByteArray();
    }

    /** A tensor as the header declares it; shape and offsets are null where the header has none. */
    private record Declared(String name, String dtype, long[] shape, long[] offsets) {}

    private record Header(List<Declared> tensors, Map<String, String> metadata) {}

    /** Reads the {@code length} header bytes after the 8-byte length of file {@code name}. */
    private static Header parseHeader(byte[] all, int length, String name) throws IOException {
        try (JsonParser p = JSON.createParser(all, 8, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw corrupt(name, "not an object");
            List<Declared> tensors = new ArrayList<>();
            Map<String, String> meta = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken value = p.nextToken();
                if (key.equals("__metadata__")) {
                    if (value != JsonToken.START_OBJECT) throw corrupt(name, "__metadata__ is not an object");
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        if (!p.nextToken().isScalarValue()) throw corrupt(name, "__metadata__ value " + k + " is not a string");
                        meta.put(k, p.getText());
                    }
                } else if (value == JsonToken.START_OBJECT) {
                    tensors.add(tensor(p, key, name));
                } else {
                    p.skipChildren();  // checked as a tensor in read, which names it
                    tensors.add(new Declared(key, null, null, null));
                }
            }
            // the loop ends at the root's END_OBJECT: the writer pads with spaces, anything else is damage
            if (p.nextToken() != null)
                throw corrupt(name, "bytes after the header object, at header byte " + p.currentTokenLocation().getByteOffset());
            return new Header(tensors, meta);
        } catch (JsonProcessingException e) {
            throw corrupt(name, oneLine(e));
        }
    }

    /** One tensor's object, the parser at its START_OBJECT; fields other than the three are skipped. */
    private static Declared tensor(JsonParser p, String key, String name) throws IOException {
        String dtype = null;
        long[] shape = null, offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    dtype = value == JsonToken.VALUE_STRING ? p.getText() : null;
                    p.skipChildren();
                }
                case "shape" -> shape = wholeNumbers(p, name, key, "shape", Integer.MAX_VALUE, "2^31-1");
                case "data_offsets" -> offsets = wholeNumbers(p, name, key, "data_offsets", Long.MAX_VALUE, "2^63-1");
                default -> p.skipChildren();
            }
        }
        return new Declared(key, dtype, shape, offsets);
    }

    /** An array of whole numbers from 0 to {@code max}, the parser at its START_ARRAY; null for anything but an array. */
    private static long[] wholeNumbers(JsonParser p, String name, String key, String field, long max, String maxText) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            p.skipChildren();
            return null;
        }
        long[] v = new long[4];
        int n = 0;
        for (JsonToken t; (t = p.nextToken()) != JsonToken.END_ARRAY; ) {
            boolean fits = t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
                    && p.getLongValue() >= 0 && p.getLongValue() <= max;
            if (!fits) {
                p.skipChildren();  // a nested array reaches the depth limit here first, as it should
                throw new IllegalArgumentException(name + ": tensor " + key + ": " + field + " must be whole numbers from 0 to " + maxText);
            }
            if (n == v.length) v = Arrays.copyOf(v, 2 * n);  // grows with the numbers really there
            v[n++] = p.getLongValue();
        }
        return Arrays.copyOf(v, n);
    }

    private static IllegalArgumentException corrupt(String file, String what) {
        return new IllegalArgumentException(file + ": corrupt safetensors header (" + what + ")");
    }

    /** Jackson's message without its multi-line source excerpt, with the byte it stopped at. */
    private static String oneLine(JsonProcessingException e) {
        String m = String.valueOf(e.getOriginalMessage()).replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        long at = e.getLocation() != null ? e.getLocation().getByteOffset() : -1;
        return at >= 0 ? m + ", at header byte " + at : m;
    }
}
