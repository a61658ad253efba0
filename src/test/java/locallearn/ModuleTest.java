package locallearn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The module exports what a program embedding locallearn needs and nothing else: the descriptor
 * the build compiled (target/classes/module-info.class), read back.
 */
class ModuleTest {
    private static ModuleDescriptor descriptor() throws IOException {
        try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
            return ModuleDescriptor.read(in);
        }
    }

    @Test void exportsOnlyTheUsersPackages() throws IOException {
        ModuleDescriptor d = descriptor();
        assertEquals("locallearn", d.name());
        Set<String> exported = new TreeSet<>();
        for (ModuleDescriptor.Exports e : d.exports()) {
            assertTrue(e.targets().isEmpty(), e + " is a qualified export");
            exported.add(e.source());
        }
        assertEquals(Set.of("locallearn.config", "locallearn.train", "locallearn.data", "locallearn.backend", "locallearn.tensor"), exported);
    }

    @Test void theInternalsStayInside() throws IOException {
        ModuleDescriptor d = descriptor();
        for (String inside : new String[] {"locallearn.backend.cpu", "locallearn.backend.cuda", "locallearn.autograd", "locallearn.nn",
                "locallearn.local", "locallearn.models", "locallearn.optim", "locallearn.export", "locallearn.cli"}) {
            // javac's descriptor lists only the packages it exports or opens; the classes show the rest
            assertTrue(Files.isDirectory(Path.of("target/classes", inside.replace('.', '/'))), inside + " is not in the module");
            assertTrue(d.exports().stream().noneMatch(e -> e.source().equals(inside)), inside + " is exported");
        }
        // only picocli may reflect, and only on the commands
        assertEquals(1, d.opens().size(), d.opens().toString());
        ModuleDescriptor.Opens o = d.opens().iterator().next();
        assertEquals("locallearn.cli", o.source());
        assertEquals(Set.of("info.picocli"), o.targets());
    }
}
