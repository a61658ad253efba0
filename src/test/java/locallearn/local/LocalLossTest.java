package locallearn.local;

import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.nn.Init;
import locallearn.nn.LinearFA;
import locallearn.nn.Pool2d;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The local losses on small fixed inputs, against numbers computed by hand (in the comments). */
class LocalLossTest {
    private final Backend be = new CpuBackend();

    private Tensor t(float[] v, int... dims) {
        Tensor x = be.allocate(dims);
        be.write(x, v);
        return x;
    }

    private Tape tape() { return new Tape(be, true, true, 1, 1); }

    /** Float32 sums of a handful of terms: 1e-6 absolute is tight and still above rounding. */
    private static final float TOL = 1e-6f;

    @Test void simLossIsZeroWhenRepresentationMatchesLabels() {
        try (Scope s = Scope.open()) {
            // rows [1,0] and [0,1] centre to [.5,-.5] and [-.5,.5]: S = [[1,-1],[-1,1]] = S(onehot of labels 0, 1)
            Targets tg = Targets.of(be, new int[] {0, 1}, 2, true);
            Var x = new Var(t(new float[] {1, 0, 0, 1}, 2, 2), true);
            Tape tp = tape();
            Var loss = Ops.mse(tp, Ops.similarity(tp, x), tg.similarity());
            assertEquals(0f, be.read(loss.data())[0], TOL);
            tp.backward(loss);
            assertArrayEquals(new float[4], be.read(x.grad()), TOL);
        }
    }

    @Test void simLossOfCollinearRowsAgainstTwoClassesIsTwo() {
        try (Scope s = Scope.open()) {
            // rows [1,2] and [3,5] centre to [-.5,.5] and [-1,1], both normalise to [-.7071,.7071]:
            // S = all ones; S(onehot) = [[1,-1],[-1,1]]; mse = (0 + 4 + 4 + 0) / 4 = 2
            Targets tg = Targets.of(be, new int[] {0, 1}, 2, true);
            Var x = new Var(t(new float[] {1, 2, 3, 5}, 2, 2), true);
            Tape tp = tape();
            assertEquals(2f, be.read(Ops.mse(tp, Ops.similarity(tp, x), tg.similarity()).data())[0], 1e-5f);
        }
    }

    @Test void predLossValueAndGradientByHand() {
        try (Scope s = Scope.open()) {
            // logits [0, 0, 0] and [ln 2, 0, 0] (as 0.6931472), labels 2 and 0:
            // row 0: -log(1/3) = 1.0986123; row 1: softmax = [.5, .25, .25], -log(.5) = 0.6931472
            // mean = 0.8958797; dlogits = (softmax - onehot) / 2
            Var x = new Var(t(new float[] {0, 0, 0, 0.6931472f, 0, 0}, 2, 3), true);
            Tensor labels = t(new float[] {2, 0}, 2);
            Tape tp = tape();
            Var loss = Ops.crossEntropy(tp, x, labels);
            assertEquals(0.8958797f, be.read(loss.data())[0], 1e-6f);
            tp.backward(loss);
            float third = 1f / 3 / 2;
            assertArrayEquals(new float[] {third, third, third - 0.5f, -0.25f, 0.125f, 0.125f}, be.read(x.grad()), 1e-6f);
        }
    }

    @Test void bpfPredLossIsBinaryCrossEntropyAgainstTheSignTargets() {
        try (Scope s = Scope.open()) {
            // logits 0 everywhere: each term is log 2 = 0.6931472; gradient (sigmoid(0) - t) / n = (0.5 - t) / 4
            Var x = new Var(t(new float[4], 2, 2), true);
            Tensor target = t(new float[] {1, 0, 0, 1}, 2, 2);
            Tape tp = tape();
            Var loss = Ops.bceWithLogits(tp, x, target);
            assertEquals(0.6931472f, be.read(loss.data())[0], 1e-6f);
            tp.backward(loss);
            assertArrayEquals(new float[] {-0.125f, 0.125f, 0.125f, -0.125f}, be.read(x.grad()), 1e-6f);
        }
    }

    @Test void predsimWeighsPredByOneMinusBetaAndSimByBeta() {
        try (Scope s = Scope.open()) {
            // 0.01 * 0.8958797 + 0.99 * 2 = 1.988958797; gradients scale the same way
            Var pred = new Var(t(new float[] {0.8958797f}, 1), true), sim = new Var(t(new float[] {2f}, 1), true);
            Tape tp = tape();
            LossConfig c = LossConfig.predsim();
            Var total = Ops.weightedSum(tp, c.predWeight(), pred, c.simWeight(), sim);
            assertEquals(1.9889588f, be.read(total.data())[0], 1e-6f);
            tp.backward(total);
            assertEquals(0.01f, be.read(pred.grad())[0], 1e-7f);
            assertEquals(0.99f, be.read(sim.grad())[0], 1e-7f);
            assertEquals(0.01f, locallearn.config.ModelConfig.mlp(1, 8).withLoss(c).outputWeight(), 1e-7f);
            assertEquals(1f, locallearn.config.ModelConfig.mlp(1, 8).withLoss(c).withMode(TrainingMode.global()).outputWeight(), "global: plain cross-entropy");
            assertEquals(0.01f, LossConfig.predsim().backpropFree().beta());
        }
    }

    /** A 2 -> 2 feedback-alignment layer without bias: W = [[1, 2], [3, 4]], B = [[-1, 0], [0.5, 2]]. */
    private LinearFA fixedFa() {
        LinearFA fa = new LinearFA(new Init(be, 5), 2, 2, false);
        be.write(fa.weight().data(), new float[] {1, 2, 3, 4});
        be.write(fa.feedback().data(), new float[] {-1, 0, 0.5f, 2});
        return fa;
    }

    @Test void linearFaSendsTheErrorThroughTheFixedMatrixNotTheWeight() {
        try (Scope s = Scope.open()) {
            LinearFA fa = fixedFa();
            Var x = new Var(t(new float[] {1, 1}, 1, 2), true);
            Tape tp = tape();
            Var y = fa.forward(tp, x); // y = x W^T = [3, 7]
            assertArrayEquals(new float[] {3, 7}, be.read(y.data()), TOL);
            Var loss = Ops.mse(tp, y, t(new float[] {2, 7}, 1, 2)); // dy = 2 (y - t) / 2 = [1, 0]
            tp.backward(loss);
            // dx = dy B = [1, 0] [[-1, 0], [0.5, 2]] = [-1, 0]; through W it would be [1, 2]
            assertArrayEquals(new float[] {-1, 0}, be.read(x.grad()), TOL);
            // the weight still learns from dy^T x = [[1, 1], [0, 0]]
            assertArrayEquals(new float[] {1, 1, 0, 0}, be.read(fa.weight().grad()), TOL);
        }
    }

    @Test void linearFaBceSendsTheLogitsGradientThroughTheFixedMatrix() {
        try (Scope s = Scope.open()) {
            LinearFA fa = fixedFa();
            Var x = new Var(t(new float[] {1, 1}, 1, 2), true);
            Tape tp = tape();
            // logits x W^T = [3, 7] against targets [1, 0]: (log(1 + e^-3) + 7 + log(1 + e^-7)) / 2
            Var loss = fa.bceWithLogits(tp, x, t(new float[] {1, 0}, 1, 2));
            assertEquals(3.5247494f, be.read(loss.data())[0], 1e-6f);
            tp.backward(loss);
            // e = (sigmoid([3, 7]) - [1, 0]) / 2 = [-0.0237129, 0.4995445]; dx = e B, not e W (= [1.4749, 1.9508])
            assertArrayEquals(new float[] {0.2734852f, 0.9990889f}, be.read(x.grad()), 1e-6f);
            // dw = e^T x
            assertArrayEquals(new float[] {-0.0237129f, -0.0237129f, 0.4995445f, 0.4995445f}, be.read(fa.weight().grad()), 1e-6f);
        }
    }

    @Test void decoderPoolShrinksConvMapsToDimInDecoder() {
        // vgg8b's first block: 128 x 32 x 32 = 131072 inputs; doubling kh then kw until
        // 128 * ceil(32/kh) * ceil(32/kw) <= 2048 gives an 8x8 kernel and 4x4 outputs
        Pool2d p = LocalBlock.decoderPool(128, 32, 32, 2048);
        assertEquals(8, p.outH(32) * 2);
        assertEquals(4, p.outW(32));
        // 512 x 2 x 2 = 2048 needs no pooling
        assertNull(LocalBlock.decoderPool(512, 2, 2, 2048));
        // 256 x 7 x 7 (28 px after two pools): kh 2 -> 256*4*7 = 7168, kw 2 -> 4096, kh 4 -> 256*2*4 = 2048;
        // padding centres the ceil-sized output: (4 * (2 - 7/4)) / 2 = 2, (2 * (4 - 7/2)) / 2 = 1
        Pool2d q = LocalBlock.decoderPool(256, 7, 7, 2048);
        assertEquals(2, q.outH(7));
        assertEquals(4, q.outW(7));
        assertEquals(2048, 256 * q.outH(7) * q.outW(7));
    }
}
