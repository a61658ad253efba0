package locallearn.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** Which GPU of a device list a pipeline stage runs on (CudaBackend.deviceOfLane), the rule README's pipeline section states. */
class StagePlacementTest {
    private static int[] placement(int stages, int gpus) {
        int[] d = new int[stages];
        for (int s = 0; s < stages; s++) d[s] = CudaBackend.deviceOfLane(s, stages, gpus);
        return d;
    }

    @Test void stageIGoesOnGpuIWhenTheCountsAreEqual() {
        assertArrayEquals(new int[] {0, 1}, placement(2, 2));
        assertArrayEquals(new int[] {0, 1, 2, 3}, placement(4, 4));
    }

    @Test void fewerGpusTakeConsecutiveStagesInRunsAsEvenAsTheyGo() {
        assertArrayEquals(new int[] {0, 0, 1}, placement(3, 2));
        assertArrayEquals(new int[] {0, 0, 1, 1}, placement(4, 2));
        assertArrayEquals(new int[] {0, 0, 1, 1, 2}, placement(5, 3));
        assertArrayEquals(new int[] {0, 0, 0}, placement(3, 1));
    }
}
