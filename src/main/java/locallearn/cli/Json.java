package locallearn.cli;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** The few lines of JSON writing the CLI needs (one object per line: metrics, bench results). */
public final class Json {
    private Json() {}

    public static String object(Map<String, ?> m) {
        StringBuilder b = new StringBuilder("{");
        Iterator<? extends Map.Entry<String, ?>> it = m.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, ?> e = it.next();
            b.append(string(e.getKey())).append(':').append(value(e.getValue()));
            if (it.hasNext()) b.append(',');
        }
        return b.append('}').toString();
    }

    @SuppressWarnings("unchecked")
    static String value(Object v) {
        if (v == null) return "null";
        if (v instanceof Double d) return Double.isFinite(d) ? d.toString() : "null";
        if (v instanceof Float f) return Float.isFinite(f) ? f.toString() : "null";
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        if (v instanceof Map<?, ?> m) return object((Map<String, ?>) m);
        if (v instanceof List<?> l) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) b.append(i == 0 ? "" : ",").append(value(l.get(i)));
            return b.append(']').toString();
        }
        if (v instanceof float[] a) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < a.length; i++) b.append(i == 0 ? "" : ",").append(value(a[i]));
            return b.append(']').toString();
        }
        return string(v.toString());
    }

    static String string(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
