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
     * Batch norm's shapes, each through one of its loops: fc tensors and 1x1 maps (rows; one
     * channel, 7, 129, 1031 past a tile, and 262147 channels over two parallel ranges), maps of
     * 3x5 (the plain loops; batch 1 and 3), and planes of 4x4 (64 a tile: runs of planes, the last
     * one short at 129 channels), 32x32 (one plane a tile), 33x33 (a plane past a tile) and
     * 160x160 at 7 channels (two parallel ranges of channels).
     */
    static final int[][] BATCH_NORM_SHAPES = {{3, 1, 1, 1}, {3, 7, 1, 1}, {3, 129}, {3, 1031}, {2, 262147}, {1, 3, 3, 5}, {3, 7, 3, 5},
            {1, 1, 4, 4}, {3, 129, 4, 4}, {1, 3, 32, 32}, {3, 7, 33, 33}, {3, 7, 160, 160}};

    /**
     * Batch norm (train and eval forward, backward, the channel sums) on bf16 activations against
     * the float op on their widened values: the same statistics and parameter gradients bit for
     * bit (the same floats summed in the same order), each bf16 output the float one rounded once.
     */
    @Test void batchNorm() {
        for (int[] dims : BATCH_NORM_SHAPES)
            for (boolean inPlace : new boolean[] {false, true}) batchNormMatches(dims, inPlace);
    }

    private void batchNormMatches(int[] dims, boolean inPlace) {
        String what = "batch norm " + new Shape(dims) + (inPlace ? " in place" : "") + ": ";
        Random r = new Random(what.hashCode());
        int nc = dims[1];
        Tensor x = bf16(r, dims), dy = bf16(r, dims), xf = Check.wide(be, x), dyf = Check.wide(be, dy);
        Tensor gamma = Check.t(be, Check.rand(r, nc), nc), beta = Check.t(be, Check.rand(r, nc), nc);
        float[] var = Check.rand(r, nc);
        for (int c = 0; c < nc; c++) var[c] = 0.5f + var[c] * var[c];
        Tensor[] h = new Tensor[9], f = new Tensor[9];
        for (Tensor[] t : new Tensor[][] {f, h}) {
            boolean half = t == h;
            Tensor xs = half ? x : xf, dys = half ? dy : dyf;
            // y, saveMean, saveInvStd, runningMean, runningVar; eval y; dx, dgamma, dbeta
            t[0] = inPlace ? copyOf(xs) : be.allocateLike(xs);
            t[1] = be.allocate(nc);
            t[2] = be.allocate(nc);
            t[3] = Check.t(be, new float[nc], nc);
            t[4] = Check.t(be, var, nc);
            be.batchNormForwardTrain(inPlace ? t[0] : xs, gamma, beta, t[3], t[4], 0.1f, 1e-5f, t[0], t[1], t[2]);
            t[5] = inPlace ? copyOf(xs) : be.allocateLike(xs);
            be.batchNormForwardEval(inPlace ? t[5] : xs, gamma, beta, t[3], t[4], 1e-5f, t[5]);
            t[6] = inPlace ? copyOf(xs) : be.allocateLike(xs);
            t[7] = Check.t(be, var, nc);
            t[8] = Check.t(be, var, nc);
            // both from the float run's statistics, so that a wrong forward statistic fails only its own assertion
            be.batchNormBackward(inPlace ? t[6] : xs, dys, gamma, f[1], f[2], t[6], t[7], t[8], true);
        }
        String[] names = {"y", "saveMean", "saveInvStd", "runningMean", "runningVar", "eval y", "dx", "dgamma", "dbeta"};
        for (int k = 0; k < names.length; k++) {
            float[] e = be.read(f[k]);
            assertArrayEquals(h[k].dtype() == DType.BF16 ? Check.rounded(e) : e, be.read(h[k]), what + names[k]);
        }
        for (Tensor w : new Tensor[] {null, x}) {
            Tensor sh = Check.t(be, var, nc), sf = Check.t(be, var, nc);
            be.channelSum(dy, w, sh, true);
            be.channelSum(dyf, w == null ? null : xf, sf, true);
            assertArrayEquals(be.read(sf), be.read(sh), what + "channelSum" + (w == null ? "" : " weighted"));
        }
    }

    /**
     * The plain loops (the oracles, which {@code -Dlocallearn.plainOps=true} selects for every
     * shape) on bf16 tiles against the same loops on the widened floats, with the statistics of
     * the float forward for both backwards: the same bits, outputs rounded once.
     */
    @Test void batchNormPlainLoops() {
        for (int[] dims : new int[][] {{3, 7}, {3, 1031}, {1, 3, 3, 5}, {3, 7, 33, 33}}) {
            String what = "plain batch norm " + new Shape(dims) + ": ";
            Random r = new Random(what.hashCode());
            int nb = dims[0], nc = dims[1], inner = new Shape(dims).sizeFrom(2);
            Tensor x = bf16(r, dims), dy = bf16(r, dims), y = be.allocateLike(x), dx = be.allocateLike(x);
            float[] xf = be.read(x), dyf = be.read(dy), yf = new float[xf.length], dxf = new float[xf.length];
            float[] gamma = Check.rand(r, nc), beta = Check.rand(r, nc);
            float[][] stats = new float[8][nc]; // saveMean, saveInvStd, runningMean, runningVar, dgamma, dbeta, sum, weighted sum: half, float
            float[][] statsF = new float[8][nc];
            BatchNorm.forwardTrainPlain(Elements.of(x), gamma, beta, stats[2], stats[3], 0.1f, 1e-5f, Elements.of(y), stats[0], stats[1], nb, nc, inner);
            BatchNorm.forwardTrainPlain(Elements.of(xf), gamma, beta, statsF[2], statsF[3], 0.1f, 1e-5f, Elements.of(yf), statsF[0], statsF[1], nb, nc, inner);
            BatchNorm.backwardPlain(Elements.of(x), Elements.of(dy), gamma, statsF[0], statsF[1], Elements.of(dx), stats[4], stats[5], false, nb, nc, inner);
            BatchNorm.backwardPlain(Elements.of(xf), Elements.of(dyf), gamma, statsF[0], statsF[1], Elements.of(dxf), statsF[4], statsF[5], false, nb, nc, inner);
            BatchNorm.channelSumPlain(Elements.of(dy), null, stats[6], false, nb, nc, inner);
            BatchNorm.channelSumPlain(Elements.of(dyf), null, statsF[6], false, nb, nc, inner);
            BatchNorm.channelSumPlain(Elements.of(dy), Elements.of(x), stats[7], false, nb, nc, inner);
            BatchNorm.channelSumPlain(Elements.of(dyf), Elements.of(xf), statsF[7], false, nb, nc, inner);
            assertArrayEquals(Check.rounded(yf), be.read(y), what + "y");
            assertArrayEquals(Check.rounded(dxf), be.read(dx), what + "dx");
            for (int k = 0; k < stats.length; k++) assertArrayEquals(statsF[k], stats[k], what + "statistic " + k);
        }
    }

    private Tensor copyOf(Tensor t) {
        Tensor c = be.allocateLike(t);
        be.copy(t, c);
        return c;
    }

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
