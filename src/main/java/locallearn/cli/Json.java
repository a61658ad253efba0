package locallearn.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One JSON object per line for the CLI (metrics.jsonl, bench and info results), written with
 * Jackson's streaming generator. Numbers keep the text they always had: doubles and floats as
 * {@code Double.toString} and {@code Float.toString} print them (PinnedRunsTest compares
 * metrics lines exactly), NaN and infinities as {@code null}, which JSON has no number for.
 * Reading ({@link #parseObject}) gives the report back what the commands wrote.
 */
public final class Json {
    /** What the CLI writes is at most three levels deep; the reader recurses, so deeper text stops at Jackson's check. */
    private static final int MAX_DEPTH = 16;
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build()).build();

    private Json() {}

    /** The map as one compact JSON object, keys in the map's order. */
    public static String object(Map<String, ?> m) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(g, m);
        } catch (IOException e) {
            throw new UncheckedIOException("json: " + e.getMessage(), e);  // a StringWriter does not fail; Jackson's signature says it may
        }
        return out.toString();
    }

    private static void write(JsonGenerator g, Object v) throws IOException {
        switch (v) {
            case null -> g.writeNull();
            // the number's text is given, so it does not depend on how Jackson is set to format doubles
            case Double d -> { if (Double.isFinite(d)) g.writeNumber(Double.toString(d)); else g.writeNull(); }
            case Float f -> { if (Float.isFinite(f)) g.writeNumber(Float.toString(f)); else g.writeNull(); }
            case Number n -> g.writeNumber(n.toString());
            case Boolean b -> g.writeBoolean(b);
            case Map<?, ?> m -> {
                g.writeStartObject();
                for (var e : m.entrySet()) {
                    g.writeFieldName(String.valueOf(e.getKey()));
                    write(g, e.getValue());
                }
                g.writeEndObject();
            }
            case List<?> l -> {
                g.writeStartArray();
                for (Object x : l) write(g, x);
                g.writeEndArray();
            }
            case float[] a -> {
                g.writeStartArray();
                for (float x : a) write(g, x);
                g.writeEndArray();
            }
            default -> g.writeString(v.toString());
        }
    }

    /**
     * One JSON object: values are String, Double, Boolean, null, List and Map (keys in the text's
     * order). Bad or truncated text is an IllegalArgumentException with Jackson's reason.
     */
    public static Map<String, Object> parseObject(String text) {
        try (JsonParser p = JSON.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IllegalArgumentException("not a JSON object");
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) read(p);
            if (p.nextToken() != null) throw new IllegalArgumentException("text after the object");
            return m;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage().lines().findFirst().orElse("bad JSON"), e);
        } catch (IOException e) {
            throw new UncheckedIOException("json: " + e.getMessage(), e);  // a String does not fail to read
        }
    }

    private static Object read(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) throw new IllegalArgumentException("unexpected end of the text");
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (JsonToken k; (k = p.nextToken()) != JsonToken.END_OBJECT; ) {
                    if (k != JsonToken.FIELD_NAME) throw new IllegalArgumentException("unexpected end of the text");
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, read(p));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(read(p));
                yield l;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw new IllegalArgumentException("unexpected " + t);
        };
    }
}
