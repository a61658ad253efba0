package locallearn.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which feedback-alignment backwards take the fused kernel on CUDA: the shapes CudaBackend.FUSED_FA_MAX_WORK's comment names. */
class FaBackwardPathTest {
    @Test void defaultBioHeadsAtBatch128AreFusedAndLargerOnesTakeCublas() {
        // K = 128 projections; D = 1024 (mlp), 2048 (default dim-in-decoder), 4096 (the paper's CIFAR runs)
        for (int d : new int[] {1024, 2048, 4096}) assertTrue(CudaBackend.fusedFaBackward(128, 128, d, true), "batch 128, D " + d);
        assertFalse(CudaBackend.fusedFaBackward(256, 128, 4096, true), "batch 256, D 4096: the GEMM path");
        assertFalse(CudaBackend.fusedFaBackward(128, 128, 4097, true), "just past the limit (SelfTest's GEMM-path case)");
    }

    @Test void withoutCublasEveryShapeIsFused() {
        // our GEMM kernel has the fused kernel's tiles: the GEMM path would only add launches
        assertTrue(CudaBackend.fusedFaBackward(1024, 1024, 1 << 16, false));
    }
}
