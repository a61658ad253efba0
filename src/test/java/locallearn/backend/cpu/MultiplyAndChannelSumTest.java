package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.t;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The two primitives the sliced step used to emulate, on numbers small enough to check by hand. */
class MultiplyAndChannelSumTest {
    final CpuBackend be = new CpuBackend();

    @Test void multiplyIsTheElementwiseProductAndAccumulatesOnRequest() {
        try (Scope s = Scope.open()) {
            Tensor a = t(be, new float[] {1, -2, 3}, 3), b = t(be, new float[] {4, 5, -0.5f}, 3), out = t(be, new float[] {10, 20, 30}, 3);
            be.multiply(a, b, out, false);
            assertArrayEquals(new float[] {4, -10, -1.5f}, be.read(out));
            be.multiply(a, b, out, true);
            assertArrayEquals(new float[] {8, -20, -3}, be.read(out));
            be.multiply(a, a, a, false); // in place
            assertArrayEquals(new float[] {1, 4, 9}, be.read(a));
        }
    }

    @Test void channelSumAddsEachChannelOverBatchAndMap() {
        try (Scope s = Scope.open()) {
            // x (2, 2, 2): channel 0 holds 1, 2 (image 0) and 5, 6 (image 1); channel 1 holds 3, 4 and 7, 8
            Tensor x = t(be, new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2), out = t(be, new float[] {100, 200}, 2);
            be.channelSum(x, null, out, false);
            assertArrayEquals(new float[] {1 + 2 + 5 + 6, 3 + 4 + 7 + 8}, be.read(out));
            // weighted by x itself: sums of squares, added to what out holds
            be.channelSum(x, x, out, true);
            assertArrayEquals(new float[] {14 + 1 + 4 + 25 + 36, 22 + 9 + 16 + 49 + 64}, be.read(out));
        }
    }

    @Test void channelAffineWithoutShiftOnlyScales() {
        try (Scope s = Scope.open()) {
            Tensor x = t(be, new float[] {1, 2, 3, 4}, 1, 2, 2);
            be.channelAffine(x, t(be, new float[] {2, -1}, 2), null);
            assertArrayEquals(new float[] {2, 4, -3, -4}, be.read(x));
        }
    }
}
