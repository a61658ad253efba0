package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jcuda.driver.CUresult;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.CudaUnavailableException;
import locallearn.backend.cuda.CudaBackend;
import locallearn.backend.cuda.Cudnn;
import locallearn.config.Precision;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** What the runtime says without a GPU, and the pure parts of its messages and parsing. */
@SuppressWarnings("restricted")
class CudaProbeTest {

    @Test void probeNeverThrowsAndAnswersInOneLine() {
        String p = CudaContext.probe();
        assertFalse(p.isBlank());
        assertFalse(p.contains("\n"), p);
    }

    @Test void withoutDeviceOpenThrowsTheProbeReason() {
        CudaContext.Probe probe = CudaContext.probeDevice();
        String p = probe.line();
        Assumptions.assumeFalse(probe.found(), "a GPU is here (" + p + "): the no-device path cannot be checked");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> CudaContext.open(0));
        assertEquals(p, e.getMessage());
        assertInstanceOf(IllegalStateException.class, e); // what the CLI turns into one line and exit 2
    }

    @Test void withoutDriverProbeNamesTheMissingLibrary() {
        boolean driver;
        try (Arena a = Arena.ofConfined()) {
            java.lang.foreign.SymbolLookup.libraryLookup("libcuda.so.1", a);
            driver = true;
        } catch (IllegalArgumentException e) {
            driver = false;
        }
        Assumptions.assumeFalse(driver, "libcuda.so.1 is installed here");
        assertEquals("no CUDA driver (libcuda.so.1 not found)", CudaContext.probe());
    }

    @Test void ptxVersionErrorNamesToolkitDriverAndFix() {
        String m = CudaContext.ptxError("loss", CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION, "",
                "Build cuda_13.0.r13.0/compiler.36424714_0", 12040, 90);
        assertEquals("loading kernels/loss.ptx: CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the kernels were built by"
                + " Build cuda_13.0.r13.0/compiler.36424714_0, the driver supports CUDA 12.4 (device sm_90);"
                + " rebuilding the jar with this machine's nvcc (or one no newer than the driver) fixes it", m);
        String other = CudaContext.ptxError("loss", CUresult.CUDA_ERROR_OUT_OF_MEMORY, "log text", null, 13000, 90);
        assertEquals("loading kernels/loss.ptx: CUDA_ERROR_OUT_OF_MEMORY (log text)", other);
    }

    @Test void cudnnVersionCodesOfBothMajors() {
        assertEquals("9.10.0", Cudnn.versionString(91000)); // cuDNN 9: major*10000 + minor*100 + patch
        assertEquals("9.1.1", Cudnn.versionString(90101));
        assertEquals("8.9.7", Cudnn.versionString(8907));   // cuDNN 8: major*1000 + minor*100 + patch
    }

    @Test void algorithmChoiceSkipsFailuresAndTensorOpMath() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment perf = a.allocate(Cudnn.PERF_BYTES * 4L, 8);
            // fastest first, as cudnnFind* returns them: (algo, status, mathType)
            int[][] rows = {{1, 0, 1}, {6, 9, 3}, {2, 0, 3}, {0, 0, 3}};
            for (int i = 0; i < rows.length; i++) {
                long o = (long) i * Cudnn.PERF_BYTES;
                perf.set(ValueLayout.JAVA_INT, o, rows[i][0]);
                perf.set(ValueLayout.JAVA_INT, o + 4, rows[i][1]);
                perf.set(ValueLayout.JAVA_INT, o + 28, rows[i][2]);
            }
            assertEquals(2, Cudnn.chooseFromPerf(perf, 4, Precision.FP32)); // 1 uses tensor ops (TF32), 6 failed
            assertEquals(-1, Cudnn.chooseFromPerf(perf, 2, Precision.FP32));
            assertEquals(1, Cudnn.chooseFromPerf(perf, 4, Precision.TF32)); // tf32: the fastest that succeeded, tensor ops or not
            assertEquals(1, Cudnn.chooseFromPerf(perf, 4, Precision.BF16)); // bf16 too: tensor ops are what it is for
            perf.set(ValueLayout.JAVA_INT, 4, 9);                  // the tensor-op one failed too
            assertEquals(2, Cudnn.chooseFromPerf(perf, 4, Precision.TF32));
        }
    }

    @Test void tf32BeforeComputeCapability8IsOneLineNamingWhatIsMissing() {
        assertNull(CudaBackend.tensorCoresMissing(Precision.FP32, 70, "Tesla V100"));
        assertNull(CudaBackend.tensorCoresMissing(Precision.TF32, 80, "A100"));
        assertEquals("precision tf32 needs tensor cores of compute capability 8.0 (Ampere) or newer; Tesla V100 is sm_70: use --precision fp32",
                CudaBackend.tensorCoresMissing(Precision.TF32, 70, "Tesla V100"));
        assertEquals("precision bf16 needs tensor cores of compute capability 8.0 (Ampere) or newer; Tesla T4 is sm_75: use --precision fp32",
                CudaBackend.tensorCoresMissing(Precision.BF16, 75, "Tesla T4"));
    }
}
