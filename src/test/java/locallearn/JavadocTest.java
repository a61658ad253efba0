package locallearn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exported API's Javadoc builds with doclint on (missing comments aside): no error, no warning but the Vector API's incubation notice. */
class JavadocTest {
    @Test void exportedApiDocumentationBuildsClean(@TempDir Path out) {
        List<String> deps = new ArrayList<>();
        String modulePath = System.getProperty("jdk.module.path", ""), classPath = System.getProperty("java.class.path", "");
        for (String p : (modulePath + File.pathSeparator + classPath).split(File.pathSeparator))
            if (p.endsWith(".jar")) deps.add(p); // the libraries; the module's own classes come from its sources
        StringWriter log = new StringWriter();
        PrintWriter w = new PrintWriter(log);
        int code = ToolProvider.findFirst("javadoc").orElseThrow().run(w, w, "-quiet", "-Xdoclint:all,-missing",
                "--add-modules", "jdk.incubator.vector", "-d", out.toString(), "--module-path", String.join(File.pathSeparator, deps),
                "--module-source-path", "locallearn=src/main/java" + File.pathSeparator + "target/generated-sources/protobuf/java",
                "--module", "locallearn");
        w.flush();
        List<String> problems = log.toString().lines()
                .filter(l -> l.contains("error") || l.contains("warning"))
                .filter(l -> !l.contains("incubat") && !l.matches("\\d+ warnings?"))
                .toList();
        assertEquals(0, code, log.toString());
        assertEquals(List.of(), problems, log.toString());
        for (String pkg : new String[] {"config", "train", "data", "backend", "tensor"})
            assertTrue(Files.isDirectory(out.resolve("locallearn/locallearn/" + pkg)), pkg + " is documented");
        assertTrue(Files.notExists(out.resolve("locallearn/locallearn/cli")), "the command line is not API");
    }
}
