package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The JSON lines the CLI writes: the exact text the hand-written writer gave before Jackson wrote them. */
class JsonTest {
    @Test void numbersPrintAsJavaPrintsThemAndNonFiniteAsNull() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epoch", 3);
        m.put("step", 12345678901L);
        m.put("loss", 0.1 + 0.2);  // Double.toString: 0.30000000000000004
        m.put("lr", 5e-4);
        m.put("tiny", 1e-10);
        m.put("big", 1e21);
        m.put("f", 0.1f);
        m.put("nan", Double.NaN);
        m.put("inf", Float.NEGATIVE_INFINITY);
        assertEquals("{\"epoch\":3,\"step\":12345678901,\"loss\":0.30000000000000004,\"lr\":5.0E-4,\"tiny\":1.0E-10,"
                + "\"big\":1.0E21,\"f\":0.1,\"nan\":null,\"inf\":null}", Json.object(m));
    }

    @Test void nestedValuesKeepTheirOrderAndStringsAreEscaped() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("z", true);
        inner.put("a", null);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layer_loss", new float[] {1.5f, Float.NaN});
        m.put("list", List.of(1, "two", inner));
        m.put("text", "say \"hi\"\\\n\tok");
        m.put("mode", Thread.State.NEW);  // anything else is its toString, as a string
        assertEquals("{\"layer_loss\":[1.5,null],\"list\":[1,\"two\",{\"z\":true,\"a\":null}],"
                + "\"text\":\"say \\\"hi\\\"\\\\\\n\\tok\",\"mode\":\"NEW\"}", Json.object(m));
    }

    @Test void parseGivesBackWhatObjectWrote() {
        Map<String, Object> m = Json.parseObject("{\"epoch\":3,\"lr\":5.0E-4,\"layers\":[\"a\",\"b\"],\"err\":[0.25,null],\"ok\":true,\"c\":{\"k\":\"v\"}}");
        assertEquals(List.of("epoch", "lr", "layers", "err", "ok", "c"), List.copyOf(m.keySet()));
        assertEquals(3.0, m.get("epoch"));
        assertEquals(5e-4, m.get("lr"));
        assertEquals(java.util.Arrays.asList(0.25, null), m.get("err"));
        assertEquals(Map.of("k", "v"), m.get("c"));
        assertEquals(Boolean.TRUE, m.get("ok"));
    }

    @Test void truncatedDeepOrNonObjectTextIsOneLineWhy() {
        String deep = "{\"a\":" + "[".repeat(100_000);
        for (String bad : List.of("{\"epoch\":1,\"lr\":5.0E-4,\"tra", "[1,2]", "{\"a\":1} x", deep, "{\"a\":[1,2")) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Json.parseObject(bad), bad);
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }
}
