package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.function.Consumer;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The pointwise ops that stream bf16 through tiles (Bf16.pointwise) against the float op on the
 * widened values with each output rounded once, which is what the staged path computes: bit for
 * bit, on lengths below a vector (1, 3, 7), odd ones (129, a (3, 5, 7) map), one past a tile
 * (CHUNK + 1) and past two parallel ranges (2 GRAIN + 7, split over the cores), in place as well.
 * And the spare arrays the other ops stage in: best fit, and their bound.
 */
class Bf16PointwiseTest {
    static final int[][] SHAPES = {{1}, {3}, {7}, {129}, {3, 5, 7}, {Bf16.CHUNK + 1}, {2 * CpuBackend.GRAIN + 7}};

    final CpuBackend be = new CpuBackend();
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    /** A bf16 tensor of Gaussian values, a tenth of them exact zeros (leaky ReLU's boundary). */
    private Tensor bf16(Random r, int[] dims) {
        Tensor t = be.allocate(new Shape(dims), DType.BF16);
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(10) == 0 ? 0f : (float) r.nextGaussian() * 3;
        be.write(t, v);
        return t;
    }

    /** The float32 tensor of t's values. */
    private Tensor wide(Tensor t) {
        Tensor f = be.allocate(t.shape());
        be.copy(t, f);
        return f;
    }

    private static float[] rounded(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) out[i] = DType.roundTrip(out[i]);
        return out;
    }

    /**
     * Runs op on bf16 tensors of the shape and on their float32 copies, and asserts that the
     * tensors op writes (the last {@code written} of its arguments) hold the float results rounded.
     */
    private void matches(String name, int arguments, int written, Consumer<Tensor[]> op) {
        Random r = new Random(name.hashCode());
        for (int[] dims : SHAPES) {
            Tensor[] h = new Tensor[arguments], f = new Tensor[arguments];
            for (int k = 0; k < arguments; k++) f[k] = wide(h[k] = bf16(r, dims));
            op.accept(h);
            op.accept(f);
            for (int k = arguments - written; k < arguments; k++)
                assertArrayEquals(rounded(be.read(f[k])), be.read(h[k]), name + " " + new Shape(dims) + " argument " + k);
        }
    }

    @Test void fill() { matches("fill", 1, 1, t -> be.fill(t[0], 0.1f)); }

    @Test void axpy() { matches("axpy", 2, 1, t -> be.axpy(-0.37f, t[0], t[1])); }

    @Test void axpyInPlace() { matches("axpy in place", 1, 1, t -> be.axpy(0.3f, t[0], t[0])); }

    @Test void scale() { matches("scale", 1, 1, t -> be.scale(t[0], 1.7f)); }

    @Test void multiply() { matches("multiply", 3, 1, t -> be.multiply(t[0], t[1], t[2], false)); }

    @Test void multiplyAccumulating() { matches("multiply accumulating", 3, 1, t -> be.multiply(t[0], t[1], t[2], true)); }

    @Test void multiplyIntoAnOperand() { matches("multiply into a", 2, 1, t -> be.multiply(t[1], t[0], t[1], true)); }

    @Test void leakyReluForward() { matches("leakyReluForward", 2, 1, t -> be.leakyReluForward(t[0], t[1], 0.1f)); }

    @Test void leakyReluForwardInPlace() { matches("leakyReluForward in place", 1, 1, t -> be.leakyReluForward(t[0], t[0], 0.1f)); }

    @Test void leakyReluBackward() { matches("leakyReluBackward", 3, 1, t -> be.leakyReluBackward(t[0], t[1], t[2], 0.01f)); }

    @Test void leakyReluBackwardInPlace() { matches("leakyReluBackward in place", 2, 1, t -> be.leakyReluBackward(t[0], t[1], t[1], 0.01f)); }

    /**
     * A request takes the shortest spare that holds it; past the bound the shortest spares are
     * dropped first; the bound grows to what one op held at once.
     */
    @Test void sparesAreTakenByBestFitAndBoundedByTheLargestOp() {
        Bf16.Spares s = new Bf16.Spares(4L * 250);
        float[] a100 = new float[100], a50 = new float[50], a120 = new float[120];
        s.keep(a100);
        s.keep(a50);
        assertEquals(4L * 150, s.bytes());
        assertSame(a100, s.take(60), "the shortest of at least 60");
        assertSame(a50, s.take(10), "the shortest of at least 10");
        float[] fresh = s.take(7);
        assertEquals(7, fresh.length, "none left: a new array of the length asked");
        assertEquals(0, s.bytes());
        s.keep(a50);
        s.keep(a100);
        s.keep(a120);
        assertEquals(4L * 220, s.bytes(), "270 floats are over the bound of 250: the shortest, 50, went");
        assertSame(a100, s.take(40), "with the 50 gone, the 100 serves 40");
        s.keep(new float[400]);
        assertEquals(0, s.bytes(), "an array over the bound is not kept, and the shorter 120 went before it");
        s.held(4L * 520);
        s.keep(new float[400]);
        s.keep(a120);
        assertEquals(4L * 520, s.bytes(), "after an op held 520 floats at once, the spares keep that much");
    }
}
