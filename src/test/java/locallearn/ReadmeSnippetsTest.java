package locallearn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every Java snippet in README.md is one that a test compiles and runs: the text between a test's
 * "README snippet starts" and "ends" markers, less its indentation. A README edit that is not
 * made in the test too (or the other way round) fails here.
 */
class ReadmeSnippetsTest {
    private static final Pattern README_JAVA = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern TEST_SNIPPET = Pattern.compile("// ---- README snippet starts\\n(.*?)\\n[ \\t]*// ---- README snippet ends", Pattern.DOTALL);

    @Test void everyReadmeJavaSnippetIsRunByATest() throws IOException {
        List<String> tested = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src/test/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = TEST_SNIPPET.matcher(Files.readString(f));
                while (m.find()) tested.add(dedent(m.group(1)));
            }
        }
        Matcher m = README_JAVA.matcher(Files.readString(Path.of("README.md")));
        int snippets = 0;
        while (m.find()) {
            snippets++;
            String snippet = m.group(1).strip();
            assertTrue(tested.contains(snippet), "README snippet " + snippets + " is not the text of any test's snippet:\n" + snippet
                    + "\n\ntests' snippets:\n" + String.join("\n----\n", tested));
        }
        assertTrue(snippets >= 1, "README.md has no Java snippet");
        assertEquals(snippets, tested.size(), "tests mark " + tested.size() + " README snippets, the README has " + snippets);
    }

    /** The lines less the indentation of the first. */
    private static String dedent(String block) {
        List<String> lines = block.lines().toList();
        int indent = lines.get(0).length() - lines.get(0).stripLeading().length();
        StringBuilder b = new StringBuilder();
        for (String l : lines) b.append(l.length() >= indent && l.substring(0, indent).isBlank() ? l.substring(indent) : l.strip()).append('\n');
        return b.toString().strip();
    }
}
