package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.function.Consumer;
import locallearn.backend.PoolGeom;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ops that stream bf16 through tiles (Bf16.stream) against the float op on the widened
 * values with each output rounded once, which is what the staged path computes: bit for bit.
 * Pointwise ops on lengths below a vector (1, 3, 7), odd ones (129, a (3, 5, 7) map), one past a
 * tile (CHUNK + 1) and past two parallel ranges (2 GRAIN + 7, split over the cores), in place as
 * well; pools on odd maps and channel counts, planes larger and smaller than a tile, padded
 * (the plain loops) and over two parallel ranges. And the spare arrays the other ops stage in:
 * best fit, and their bound.
 */
class Bf16StreamTest {
    static final int[][] SHAPES = {{1}, {3}, {7}, {129}, {3, 5, 7}, {Bf16.CHUNK + 1}, {2 * CpuBackend.GRAIN + 7}};

    final CpuBackend be = new CpuBackend();
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    /** A bf16 tensor of Gaussian values, a tenth of them exact zeros (leaky ReLU's boundary). */
    private Tensor bf16(Random r, int[] dims) {
        float[] v = new float[new Shape(dims).numel()];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(10) == 0 ? 0f : (float) r.nextGaussian() * 3;
        return Check.bf16(be, v, dims);
    }

    /**
     * Runs op on bf16 tensors of the shape and on their float32 copies, and asserts that the
     * tensors op writes (the last {@code written} of its arguments) hold the float results rounded.
     */
    private void matches(String name, int arguments, int written, Consumer<Tensor[]> op) {
        for (int[] dims : SHAPES) {
            int[][] shapes = new int[arguments][];
            java.util.Arrays.fill(shapes, dims);
            matches(name + " " + new Shape(dims), shapes, written, op);
        }
    }

    /** {@link #matches} on arguments of the given shapes. */
    private void matches(String name, int[][] shapes, int written, Consumer<Tensor[]> op) {
        Random r = new Random(name.hashCode());
        int arguments = shapes.length;
        Tensor[] h = new Tensor[arguments], f = new Tensor[arguments];
        for (int k = 0; k < arguments; k++) f[k] = Check.wide(be, h[k] = bf16(r, shapes[k]));
        op.accept(h);
        op.accept(f);
        for (int k = arguments - written; k < arguments; k++) assertArrayEquals(Check.rounded(be.read(f[k])), be.read(h[k]), name + " argument " + k);
    }

    /**
     * Pools of odd maps and channel counts: VGG's 2x2 (vectors; a last row and column outside
     * every window at 7x9), a 3x3 stride-2 window, padded (the plain loops), the decoder's tiling
     * average pool; planes of 1024 (one plane a tile), 4x4 maps (64 planes a tile) and a
     * (9, 65, 32, 32) map that splits over two parallel ranges.
     */
    static final PoolGeom[] POOLS = {
            PoolGeom.square(3, 5, 7, 9, 2, 2), new PoolGeom(2, 7, 9, 7, 3, 3, 2, 2, 0, 0), new PoolGeom(1, 3, 5, 5, 3, 3, 1, 1, 1, 1),
            PoolGeom.square(2, 3, 32, 32, 2, 2), PoolGeom.square(3, 129, 4, 4, 2, 2), new PoolGeom(3, 5, 8, 8, 4, 4, 4, 4, 0, 0),
            PoolGeom.square(9, 65, 32, 32, 2, 2)};

    private static int[] in(PoolGeom g) { return new int[] {g.batch(), g.channels(), g.inH(), g.inW()}; }

    private static int[] out(PoolGeom g) { return new int[] {g.batch(), g.channels(), g.outH(), g.outW()}; }

    @Test void pools() {
        for (PoolGeom g : POOLS) {
            matches("maxPoolForward " + g, new int[][] {in(g), out(g)}, 1, t -> be.maxPoolForward(t[0], t[1], g));
            matches("maxPoolBackward " + g, new int[][] {in(g), out(g), in(g)}, 1, t -> be.maxPoolBackward(t[0], t[1], t[2], g));
            matches("avgPoolForward " + g, new int[][] {in(g), out(g)}, 1, t -> be.avgPoolForward(t[0], t[1], g));
            matches("avgPoolBackward " + g, new int[][] {out(g), in(g)}, 1, t -> be.avgPoolBackward(t[0], t[1], g));
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
