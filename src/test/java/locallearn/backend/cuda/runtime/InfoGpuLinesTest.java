package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import locallearn.backend.cuda.CudaContext;
import locallearn.cli.Main;
import org.junit.jupiter.api.Test;

/** `info --json` carries the probe's line, the kernels' builder, and providers only when a device opens. */
class InfoGpuLinesTest {

    @Test void infoJsonHasCudaLineAndProvidersOnlyWithDevice() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            rc = Main.run("info", "--json");
        } finally {
            System.setOut(old);
        }
        String json = buf.toString(StandardCharsets.UTF_8).trim();
        assertEquals(0, rc);
        CudaContext.Probe probe = CudaContext.probeDevice();
        assertTrue(json.contains("\"cuda\":\"" + probe.line() + "\""), json);
        assertTrue(json.contains("\"kernels\":\""), json);
        assertEquals(probe.found(), json.contains("\"providers\":\"gemm: "), json);
    }
}
