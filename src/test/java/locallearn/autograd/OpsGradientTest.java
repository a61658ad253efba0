package locallearn.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import locallearn.backend.Backend;
import locallearn.backend.Philox;
import locallearn.backend.PoolGeom;
import locallearn.backend.cpu.CpuBackend;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Every differentiable op against central finite differences through the tape: the op's output
 * is reduced to a scalar by an MSE against a fixed random target, and d loss / d input from
 * backward must match (L(x + e) - L(x - e)) / 2e for every input element.
 */
class OpsGradientTest {
    private final Backend be = new CpuBackend();

    private Tensor random(long stream, int... dims) {
        Tensor t = be.allocate(dims);
        float[] v = new float[t.numel()];
        Philox.uniforms(7, stream, v, 0, v.length);
        for (int i = 0; i < v.length; i++) v[i] = 2 * v[i] - 1;
        be.write(t, v);
        return t;
    }

    /**
     * Checks the gradient of every Var in {@code inputs}. Tolerance: float32 forward with
     * eps = 1e-2 gives central differences accurate to about 1e-3 relative for these smooth ops;
     * 2e-3 absolute + 2e-2 relative leaves room for the kinks of ReLU and max-pool away from ties.
     */
    private void check(Function<Tape, Var> f, Var... inputs) {
        try (Scope s = Scope.open()) {
            Tape tape = new Tape(be, true, true, 3, 5);
            Var loss = f.apply(tape);
            tape.backward(loss);
            for (Var in : inputs) {
                float[] g = be.read(in.grad());
                float[] x = be.read(in.data());
                for (int i = 0; i < x.length; i++) {
                    float eps = 1e-2f, orig = x[i];
                    x[i] = orig + eps;
                    be.write(in.data(), x);
                    double lp = be.read(f.apply(Tape.noGradTraining(be, 3, 5)).data())[0];
                    x[i] = orig - eps;
                    be.write(in.data(), x);
                    double lm = be.read(f.apply(Tape.noGradTraining(be, 3, 5)).data())[0];
                    x[i] = orig;
                    be.write(in.data(), x);
                    double fd = (lp - lm) / (2 * eps);
                    assertEquals(fd, g[i], 2e-3 + 2e-2 * Math.abs(fd), "element " + i + " of " + in);
                }
                in.clearGrad();
            }
        }
    }

    private Var param(long stream, int... dims) { return new Var(random(stream, dims), true); }

    @Test void linearGradientsOfInputWeightAndBias() {
        Var x = param(1, 3, 4), w = param(2, 5, 4), b = param(3, 5);
        Tensor target = random(4, 3, 5);
        check(t -> Ops.mse(t, Ops.linear(t, x, w, b), target), x, w, b);
    }

    @Test void conv2dGradientsWithStrideAndPadding() {
        Var x = param(1, 2, 3, 5, 4), w = param(2, 4, 3, 3, 3), b = param(3, 4);
        Tensor target = random(4, 2, 4, 3, 2);
        check(t -> Ops.mse(t, Ops.conv2d(t, x, w, b, 2, 1), target), x, w, b);
    }

    @Test void convTranspose2dGradientsWithStrideAndPadding() {
        // x (2, 4, 3, 2) through w (4 in, 3 out, 3, 3), stride 2, pad 1: y (2, 3, 5, 3)
        Var x = param(1, 2, 4, 3, 2), w = param(2, 4, 3, 3, 3), b = param(3, 3);
        Tensor target = random(4, 2, 3, 5, 3);
        check(t -> Ops.mse(t, Ops.convTranspose2d(t, x, w, b, 2, 1), target), x, w, b);
    }

    /** The transposed convolution's forward against its definition: each input pixel scatters w, scaled, into the output. */
    @Test void convTranspose2dForwardScattersTheKernel() {
        int nb = 2, k = 4, c = 3, ih = 3, iw = 2, kk = 3, stride = 2, pad = 1, oh = (ih - 1) * stride - 2 * pad + kk, ow = (iw - 1) * stride - 2 * pad + kk;
        try (Scope s = Scope.open()) {
            Tensor x = random(1, nb, k, ih, iw), w = random(2, k, c, kk, kk), b = random(3, c);
            float[] xv = be.read(x), wv = be.read(w), bv = be.read(b);
            double[] want = new double[nb * c * oh * ow];
            for (int n = 0; n < nb; n++)
                for (int o = 0; o < c; o++)
                    for (int i = 0; i < oh * ow; i++) want[(n * c + o) * oh * ow + i] = bv[o];
            for (int n = 0; n < nb; n++)
                for (int q = 0; q < k; q++)
                    for (int y = 0; y < ih; y++)
                        for (int z = 0; z < iw; z++)
                            for (int o = 0; o < c; o++)
                                for (int p = 0; p < kk; p++)
                                    for (int r = 0; r < kk; r++) {
                                        int i = y * stride - pad + p, j = z * stride - pad + r;
                                        if (i < 0 || i >= oh || j < 0 || j >= ow) continue;
                                        want[((n * c + o) * oh + i) * ow + j] += (double) xv[((n * k + q) * ih + y) * iw + z] * wv[((q * c + o) * kk + p) * kk + r];
                                    }
            Tensor y = Ops.convTranspose2d(Tape.noGrad(be), Var.constant(x), Var.constant(w), Var.constant(b), stride, pad).data();
            assertEquals(java.util.List.of(nb, c, oh, ow), java.util.Arrays.stream(y.shape().dims()).boxed().toList());
            float[] got = be.read(y);
            // sums of at most 4 * 9 products of numbers in [-1, 1]: float rounding well under 1e-5
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, "element " + i);
        }
    }

    @Test void addGradientsReachBothBranchesOfAResidualJoin() {
        // a residual unit's join: a conv branch plus the input itself, then the nonlinearity
        Var x = param(1, 2, 3, 4, 4), w = param(2, 3, 3, 3, 3), y = param(3, 2, 3, 4, 4);
        Tensor target = random(4, 2, 3, 4, 4);
        check(t -> Ops.mse(t, Ops.leakyRelu(t, Ops.add(t, Ops.conv2d(t, x, w, null, 1, 1), x), 0.1f, false), target), x, w);
        // both sides leaves, and one Var on both sides (its gradient counts twice)
        check(t -> Ops.mse(t, Ops.add(t, x, y), target), x, y);
        check(t -> Ops.mse(t, Ops.add(t, y, y), target), y);
    }

    @Test void batchNormGradientsInTraining() {
        Var x = param(1, 4, 3, 2, 2), g = param(2, 3), bt = param(3, 3);
        Tensor rm = be.zeros(3), rv = be.zeros(3), target = random(4, 4, 3, 2, 2);
        check(t -> Ops.mse(t, Ops.batchNorm(t, x, g, bt, rm, rv, 0.1f, 1e-5f), target), x, g, bt);
    }

    @Test void batchNormWithARecomputedInputHasTheSameGradients() {
        Var x = param(1, 4, 6), w = param(2, 3, 6), b = param(5, 3), g = param(6, 3), bt = param(7, 3);
        Tensor rm = be.zeros(3), rv = be.zeros(3), target = random(4, 4, 3);
        // the encoder's output is released after the forward and rebuilt for backward, which then writes dx over it
        check(t -> Ops.mse(t, Ops.batchNorm(t, Ops.linear(t, x, w, b), g, bt, rm, rv, 0.1f, 1e-5f,
                () -> Ops.linear(Tape.noGrad(be), x, w, b).data()), target), x, w, b, g, bt);
    }

    @Test void leakyReluGradientFromItsOutput() {
        Var x = param(1, 4, 6);
        Tensor target = random(4, 4, 6);
        check(t -> Ops.mse(t, Ops.leakyRelu(t, Ops.linear(t, x, param(9, 6, 6), null), 0.01f, true), target), x);
    }

    @Test void dropoutGradientRegeneratesTheMask() {
        Var x = param(1, 4, 10);
        Tensor target = random(4, 4, 10);
        check(t -> Ops.mse(t, Ops.dropout(t, x, 0.3f, 11, 1), target), x);
    }

    @Test void poolingGradients() {
        Var x = param(1, 2, 2, 5, 5);
        PoolGeom max = PoolGeom.square(2, 2, 5, 5, 2, 2);
        PoolGeom avg = new PoolGeom(2, 2, 5, 5, 4, 2, 4, 2, 1, 1);
        Tensor t1 = random(4, 2, 2, max.outH(), max.outW()), t2 = random(5, 2, 2, avg.outH(), avg.outW());
        check(t -> Ops.mse(t, Ops.maxPool(t, x, max), t1), x);
        check(t -> Ops.mse(t, Ops.avgPool(t, x, avg), t2), x);
    }

    @Test void similarityAndFeatureMapStdGradients() {
        Var x = param(1, 4, 5, 3, 3);
        Tensor target = random(4, 4, 4);
        check(t -> Ops.mse(t, Ops.similarity(t, Ops.featureMapStd(t, x)), target), x);
        Var y = param(2, 4, 6);
        check(t -> Ops.mse(t, Ops.similarity(t, y), target), y);
    }

    @Test void copyRangeMovesASliceAndChecksBounds() {
        Tensor src = be.allocate(6), dst = be.zeros(5);
        be.write(src, new float[] {1, 2, 3, 4, 5, 6});
        be.copyRange(src, 2, dst, 1, 3);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0, 3, 4, 5, 0}, be.read(dst));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> be.copyRange(src, 4, dst, 0, 3));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> be.copyRange(src, 0, dst, 3, 3));
    }

    @Test void crossEntropyBceAndWeightedSumGradients() {
        Var x = param(1, 4, 3);
        Tensor labels = be.allocate(4);
        be.write(labels, new float[] {0, 2, 1, 2});
        Tensor targets = random(5, 4, 3);
        be.fill(targets, 0.25f);
        check(t -> Ops.weightedSum(t, 0.3f, Ops.crossEntropy(t, x, labels), 0.7f, Ops.bceWithLogits(t, x, targets)), x);
    }

    @Test void linearFABceGradientsOfWeightAndBiasAndOfInputWhenTheFeedbackIsTheWeight() {
        // feedback alignment sends e fb to x, the true gradient only when fb = w; w's and b's
        // gradients are the true ones whatever fb is (the loss does not read fb)
        Var x = param(1, 4, 6), w = param(2, 3, 6), b = param(3, 3);
        Tensor targets = random(5, 4, 3), fb = be.allocate(3, 6);
        float[] t = be.read(targets);
        for (int i = 0; i < t.length; i++) t[i] = i % 2 == 0 ? (t[i] > 0 ? 1f : 0f) : (t[i] + 1) / 2; // hard and soft
        be.write(targets, t);
        be.copy(w.data(), fb);
        check(tp -> Ops.linearFABce(tp, x, w, b, fb, targets), x, w, b);
        be.copy(random(6, 3, 6), fb);
        check(tp -> Ops.linearFABce(tp, x, w, b, fb, targets), w, b);
    }

    @Test void linearFABceHasTheGradientsOfLinearFAThenBce() {
        Var x = param(1, 5, 7), w = param(2, 3, 7), b = param(3, 3);
        Tensor targets = random(5, 5, 3), fb = random(6, 3, 7);
        be.fill(targets, 0.25f);
        float[][] want = gradients(t -> Ops.bceWithLogits(t, Ops.linearFA(t, x, w, b, fb), targets), x, w, b);
        float[][] got = gradients(t -> Ops.linearFABce(t, x, w, b, fb, targets), x, w, b);
        for (int i = 0; i < want.length; i++) org.junit.jupiter.api.Assertions.assertArrayEquals(want[i], got[i], 0f, "input " + i + ": the same backend calls, the same bits");
    }

    /** The loss's value and the inputs' gradients after one backward (then cleared). */
    private float[][] gradients(Function<Tape, Var> f, Var... inputs) {
        try (Scope s = Scope.open()) {
            Tape tape = new Tape(be, true, true, 3, 5);
            Var loss = f.apply(tape);
            float[][] out = new float[inputs.length + 1][];
            out[0] = be.read(loss.data());
            tape.backward(loss);
            for (int i = 0; i < inputs.length; i++) {
                out[i + 1] = be.read(inputs[i].grad());
                inputs[i].clearGrad();
            }
            return out;
        }
    }

    @Test void flattenPassesTheGradientBack() {
        Var x = param(1, 2, 3, 2, 2), w = param(2, 4, 12);
        Tensor target = random(4, 2, 4);
        check(t -> Ops.mse(t, Ops.linear(t, Ops.flatten(t, x), w, null), target), x, w);
    }

    @Test void retainedTensorsSurviveBackward() {
        Var x = param(1, 8, 16), w = param(2, 16, 16);
        try (Scope s = Scope.open()) {
            Tape t = new Tape(be, true, true, 1, 1);
            Var h = Ops.leakyRelu(t, Ops.linear(t, x, w, null), 0.01f, true);
            t.retain(h);
            Var other = Ops.linear(t, h, w, null);
            t.backward(Ops.mse(t, other, random(4, 8, 16)));
            assertTrue(!h.data().isReleased());
            assertTrue(other.data().isReleased());
        }
    }

    @Test void backwardReleasesActivationGradientsAndScratch() {
        Var x = param(1, 8, 16), w = param(2, 16, 16);
        Tensor target = random(4, 8, 8);
        long before;
        try (Scope s = Scope.open()) {
            before = be.memory().current();
            Tape t = new Tape(be, true, true, 1, 1);
            Var loss = Ops.mse(t, Ops.similarity(t, Ops.linear(t, x, w, null)), target);
            t.backward(loss);
            // left after backward: only the gradients of x (8x16) and w (16x16); the forward outputs
            // (linear, similarity, loss), the similarity's scratch and every activation gradient are gone
            long expected = 4L * (8 * 16 + 16 * 16);
            assertEquals(expected, be.memory().current() - before);
            assertTrue(t.size() == 0);
        }
    }
}
