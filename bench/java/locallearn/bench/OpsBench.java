package locallearn.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.ConvAlgorithm;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.Precision;
import locallearn.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU backend's heavy ops: square SGEMM (2 n^3 flops per call) and a convolution layer's
 * forward, backward-data and backward-filter (2 B K C kh kw oH oW flops each; the default is
 * VGG8B's second layer, 128 -> 256 channels at 32x32, batch 32) by each algorithm: the
 * implicit-GEMM direct convolution and Winograd F(2x2, 3x3) ({@code -p algorithm=auto} runs
 * what the backend's rule picks), and the feedback-alignment backward fused and composed.
 * Average time per call; GFLOP/s = flops / time. Run:
 * {@code ./locallearn jmh OpsBench -f 1 -wi 1 -i 1}; other layers with e.g.
 * {@code -p inChannels=512 -p outChannels=512 -p size=8}; {@code -p precision=tf32} rounds the
 * inputs as the GPU's tensor cores (fp32 by default).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class OpsBench {

    static Tensor random(Backend be, Random rnd, int... dims) {
        Tensor t = be.allocate(dims);
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        be.write(t, v);
        return t;
    }

    @State(Scope.Benchmark)
    public static class GemmState {
        @Param({"256", "1024"}) public int size;
        @Param({"fp32"}) public String precision;
        Backend be;
        Tensor a, b, c;

        @Setup(Level.Trial) public void setUp() {
            be = new CpuBackend(ConvAlgorithm.fromProperty(), Precision.parse(precision));
            Random rnd = new Random(1);
            a = random(be, rnd, size, size);
            b = random(be, rnd, size, size);
            c = be.allocate(size, size);
        }

        @TearDown(Level.Trial) public void tearDown() {
            a.close();
            b.close();
            c.close();
        }
    }

    @Benchmark public void gemm(GemmState s) {
        s.be.gemm(false, false, s.size, s.size, s.size, 1f, s.a, s.b, 0f, s.c);
    }

    @State(Scope.Benchmark)
    public static class ConvState {
        @Param({"32"}) public int batch;
        @Param({"128"}) public int inChannels;
        @Param({"256"}) public int outChannels;
        @Param({"32"}) public int size;
        @Param({"direct", "winograd"}) public String algorithm;
        @Param({"fp32"}) public String precision;
        Backend be;
        ConvGeom g;
        Tensor x, w, bias, y, dy, dx, dw, db;

        @Setup(Level.Trial) public void setUp() {
            be = new CpuBackend(ConvAlgorithm.parse(algorithm), Precision.parse(precision));
            g = new ConvGeom(batch, inChannels, size, size, outChannels, 3, 3, 1, 1);
            Random rnd = new Random(1);
            x = random(be, rnd, batch, inChannels, size, size);
            w = random(be, rnd, outChannels, inChannels, 3, 3);
            bias = random(be, rnd, outChannels);
            y = be.allocate(batch, outChannels, g.outH(), g.outW());
            dy = random(be, rnd, batch, outChannels, g.outH(), g.outW());
            dx = be.allocate(batch, inChannels, size, size);
            dw = be.allocate(outChannels, inChannels, 3, 3);
            db = be.allocate(outChannels);
        }

        @TearDown(Level.Trial) public void tearDown() {
            for (Tensor t : new Tensor[] {x, w, bias, y, dy, dx, dw, db}) t.close();
        }
    }

    @Benchmark public void convForward(ConvState s) {
        s.be.conv2dForward(s.x, s.w, s.bias, s.y, s.g);
    }

    @Benchmark public void convBackwardData(ConvState s) {
        s.be.conv2dBackwardData(s.dy, s.w, s.dx, s.g);
    }

    @Benchmark public void convBackwardFilter(ConvState s) {
        s.be.conv2dBackwardFilter(s.x, s.dy, s.dw, s.db, s.g, false);
    }

    /**
     * The feedback-alignment head's backward (the bio pred loss; 4 B K D flops in its two
     * products) at batch 128 and the paper's 128 projections, D = the head's inputs (1024: an mlp
     * block, 2048: the default dim-in-decoder): the fused op against the calls it replaced.
     */
    @State(Scope.Benchmark)
    public static class FaState {
        @Param({"1024", "2048"}) public int d;
        final int nb = 128, k = 128;
        Backend be;
        Tensor logits, targets, dloss, x, fb, dx, dw, db;

        @Setup(Level.Trial) public void setUp() {
            be = new CpuBackend();
            Random rnd = new Random(1);
            logits = random(be, rnd, nb, k);
            targets = random(be, rnd, nb, k);
            dloss = be.allocate(1);
            be.fill(dloss, 1f);
            x = random(be, rnd, nb, d);
            fb = random(be, rnd, k, d);
            dx = be.allocate(nb, d);
            dw = be.allocate(k, d);
            db = be.allocate(k);
        }

        @TearDown(Level.Trial) public void tearDown() {
            for (Tensor t : new Tensor[] {logits, targets, dloss, x, fb, dx, dw, db}) t.close();
        }
    }

    @Benchmark public void faBceBackward(FaState s) {
        s.be.faBceBackward(s.logits, s.targets, s.dloss, s.x, s.fb, s.dx, s.dw, s.db, false);
    }

    /** What Ops.linear's backward did before the fused op: the logits' gradient as a tensor, then two GEMMs and the bias sum. */
    @Benchmark public void faBceBackwardComposed(FaState s) {
        try (Tensor e = s.be.allocate(s.nb, s.k)) {
            s.be.bceWithLogitsBackward(s.logits, s.targets, s.dloss, e);
            s.be.gemm(true, false, s.k, s.d, s.nb, 1f, e, s.x, 0f, s.dw);
            s.be.biasBackward(e, s.db, false);
            s.be.gemm(false, false, s.nb, s.d, s.k, 1f, e, s.fb, 0f, s.dx);
        }
    }
}
