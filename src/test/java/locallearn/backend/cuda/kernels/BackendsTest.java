package locallearn.backend.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.config.Precision;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.CudaUnavailableException;
import org.junit.jupiter.api.Test;

/** --device without a GPU: cuda says why in one line, auto falls back to the CPU; a list of GPUs is refused. */
class BackendsTest {
    private static boolean gpuHere() {
        try {
            CudaContext.open(0).close();
            return true;
        } catch (CudaUnavailableException e) {
            return false;
        }
    }

    @Test void withoutAGpuCudaFailsWithTheReasonAndAutoIsTheCpu() throws Exception {
        assumeFalse(gpuHere(), "a GPU is here: the fallback is not exercised");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> Backends.create("cuda"));
        assertTrue(e.getMessage().startsWith("cuda backend not available: "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line");
        try (Backend auto = Backends.create("auto")) {
            assertEquals("cpu", auto.name());
        }
        try (Backend cpu = Backends.create("cpu")) {
            assertEquals("cpu", cpu.name());
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Backends.create("tpu"));
        assertEquals("unknown device 'tpu' (expected auto, cpu, cuda or cuda:N)", bad.getMessage());
    }

    @Test void aListOfDevicesIsForAPipelineOfDistinctGpus() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cuda:0,cuda:1"));
        assertEquals("device list 'cuda:0,cuda:1' is for a pipeline (--pipeline S, or train --stages), a stage on each GPU; give one device", e.getMessage());
        var conv = locallearn.backend.ConvAlgorithm.fromProperty();
        e = assertThrows(IllegalArgumentException.class, () -> Backends.forPipeline("cuda:0,cuda:2,cuda:0", conv, Precision.FP32, m -> {}));
        assertEquals("device list 'cuda:0,cuda:2,cuda:0' names cuda:0 twice: a GPU takes one stage", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Backends.forPipeline("cuda:0,cpu", conv, Precision.FP32, m -> {}));
        assertEquals("bad device list 'cuda:0,cpu': each entry is cuda:N (a GPU number), 'cpu' is not", e.getMessage());
    }
}
