package locallearn.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * One JSON object per line for the CLI (metrics.jsonl, bench and info results), written with
 * Jackson's streaming generator. Numbers keep the text they always had: doubles and floats as
 * {@code Double.toString} and {@code Float.toString} print them (PinnedRunsTest compares
 * metrics lines exactly), NaN and infinities as {@code null}, which JSON has no number for.
 */
public final class Json {
    private static final JsonFactory JSON = new JsonFactory();

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
}
