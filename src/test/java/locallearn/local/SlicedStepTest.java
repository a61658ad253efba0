package locallearn.local;

import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.nn.Init;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The sliced local step (SlicedStep) against the held one, which records every op on the tape
 * (each op finite-difference tested in OpsGradientTest), and against finite differences of its
 * own loss. A batch of 7 in slices of 3 leaves a partial last slice of 1.
 */
class SlicedStepTest {
    private final Backend be = new CpuBackend();
    private static final int BATCH = 7, IN = 3, SIDE = 6, OUT = 5, CLASSES = 3;
    private static final int[] LABELS = {0, 2, 1, 1, 0, 2, 2};

    /** A conv block 3 -> 5 channels on 6x6 inputs; dimInDecoder 40 makes the pred head average-pool (5x6x6 = 180 > 40). */
    private LocalBlock block(LossConfig.Kind kind, boolean bio, boolean batchNorm, int dimInDecoder, int chunks) {
        return block(kind, bio, batchNorm, dimInDecoder, chunks, 0.01f);
    }

    private LocalBlock block(LossConfig.Kind kind, boolean bio, boolean batchNorm, int dimInDecoder, int chunks, float slope) {
        return block(new LossConfig(kind, bio, bio ? 0.01f : 0.99f, dimInDecoder, 8, true, LossConfig.Unsup.NONE, 0f), batchNorm, chunks, slope);
    }

    private LocalBlock block(LossConfig loss, boolean batchNorm, int chunks, float slope) {
        LocalBlock b = LocalBlock.conv(new Init(be, 7), IN, SIDE, SIDE, OUT, 3, 1, 1, batchNorm, slope, 0f, loss, new TrainingMode.Local(chunks), CLASSES, false);
        // decoder_y starts at zero (the paper's init), which would leave the pred head's gradient to h zero
        if (b.heads.decoder != null) for (Var p : b.heads.decoder.parameters()) be.write(p.data(), random(p.data().numel(), 11));
        return b;
    }

    private float[] random(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** {loss, h, then each parameter's gradient} after one local step on the fixed batch. */
    private float[][] step(LocalBlock b) {
        try (Scope s = Scope.open()) {
            Tensor x = be.allocate(BATCH, IN, SIDE, SIDE), lossSum = be.zeros(1);
            be.write(x, random(x.numel(), 3));
            Targets targets = Targets.of(be, LABELS, CLASSES, true);
            Var h = b.localStep(new Tape(be, true, true, 1, 1), Var.constant(x), targets, lossSum, null);
            List<Var> params = b.parameters();
            float[][] out = new float[params.size() + 2][];
            out[0] = be.read(lossSum);
            out[1] = be.read(h.data());
            for (int i = 0; i < params.size(); i++) {
                Var p = params.get(i);
                out[i + 2] = p.grad() == null ? new float[p.data().numel()] : be.read(p.grad());
                p.clearGrad();
            }
            return out;
        }
    }

    private void assertSlicedEqualsHeld(LossConfig.Kind kind, boolean bio, boolean batchNorm, int dimInDecoder) {
        assertSlicedEqualsHeld(new LossConfig(kind, bio, bio ? 0.01f : 0.99f, dimInDecoder, 8, true, LossConfig.Unsup.NONE, 0f), batchNorm);
    }

    private void assertSlicedEqualsHeld(LossConfig loss, boolean batchNorm) { assertSlicedEqualsHeld(loss, batchNorm, 0.01f, null, null); }

    /** With gamma and beta set (when not null) in both blocks' batch norm before the step. */
    private void assertSlicedEqualsHeld(LossConfig loss, boolean batchNorm, float slope, float[] gamma, float[] beta) {
        String kind = loss.text() + (loss.mixesUnsup() ? " unsup " + loss.unsup().text() : "");
        float[][] held = step(withBatchNorm(block(loss, batchNorm, 0, slope), gamma, beta));
        for (int chunks : new int[] {1, 3, 7, 20}) {
            LocalBlock b = withBatchNorm(block(loss, batchNorm, chunks, slope), gamma, beta);
            assertTrue(b.slicesItsStep(), "takes the sliced step");
            float[][] sliced = step(b);
            for (int i = 0; i < held.length; i++)
                for (int j = 0; j < held[i].length; j++)
                    // the same float ops in another order (sums slice by slice, batch norm's dx as a dy + b z + c):
                    // rounding of terms that partly cancel, 1e-5 of the gradients' scale (about 1 here) plus 1e-4 relative
                    assertEquals(held[i][j], sliced[i][j], 1e-5 + 1e-4 * Math.abs(held[i][j]),
                            kind + (batchNorm ? "" : " no-bn") + " chunks " + chunks + ": output " + i + " element " + j);
        }
    }

    private LocalBlock withBatchNorm(LocalBlock b, float[] gamma, float[] beta) {
        if (gamma != null) be.write(b.bn.weight().data(), gamma);
        if (beta != null) be.write(b.bn.bias().data(), beta);
        return b;
    }

    /**
     * The three ways xhat is rebuilt: from h (gamma and beta away from 1 and 0, of both signs, so
     * that inverting leaky ReLU and the affine is not the identity) and from z = encoder(x) where
     * h does not tell xhat: a gamma of 0 (its channel's h is beta everywhere), beta far beyond
     * gamma (12 and 0.5: inverting would cost precision), and ReLU (slope 0 forgets the negatives).
     * Inverting where it cannot would give infinities or NaN, far off the held step.
     */
    @Test void xhatRebuiltFromHOrFromTheEncoder() {
        LossConfig predsim = new LossConfig(LossConfig.Kind.PREDSIM, false, 0.99f, 40, 8, true, LossConfig.Unsup.NONE, 0f);
        float[] beta = {0.3f, -0.7f, 0.1f, 1.2f, -0.2f};
        assertSlicedEqualsHeld(predsim, true, 0.01f, new float[] {1.3f, 0.6f, -0.8f, 1.1f, 0.9f}, beta);
        assertSlicedEqualsHeld(predsim, true, 0.01f, new float[] {1.3f, 0f, -0.8f, 1.1f, 0.9f}, beta);
        assertSlicedEqualsHeld(predsim, true, 0.01f, new float[] {1.3f, 0.6f, -0.8f, 1.1f, 0.5f}, new float[] {0.3f, -0.7f, 0.1f, 1.2f, 12f});
        assertSlicedEqualsHeld(predsim, true, 0f, new float[] {1.3f, 0.6f, -0.8f, 1.1f, 0.9f}, beta);
    }

    @Test void predsimWithPooledPredHead() { assertSlicedEqualsHeld(LossConfig.Kind.PREDSIM, false, true, 40); }

    @Test void predsimWithoutPooling() { assertSlicedEqualsHeld(LossConfig.Kind.PREDSIM, false, true, 2048); }

    @Test void predOnly() { assertSlicedEqualsHeld(LossConfig.Kind.PRED, false, true, 40); }

    @Test void simOnly() { assertSlicedEqualsHeld(LossConfig.Kind.SIM, false, true, 40); }

    @Test void withoutBatchNorm() { assertSlicedEqualsHeld(LossConfig.Kind.PREDSIM, false, false, 40); }

    /** Unsupervised sim reads the same per-map stds of conv_loss(h) as sim; its target, x's similarity, is made from the held x. */
    @Test void unsupervisedSimMixedIn() {
        assertSlicedEqualsHeld(LossConfig.predsim().withDimInDecoder(40).withTargetProjSize(8).withUnsup(LossConfig.Unsup.SIM, 0.5f), true);
        assertSlicedEqualsHeld(LossConfig.pred().withDimInDecoder(40).withUnsup(LossConfig.Unsup.SIM, 0.3f), true);
        assertSlicedEqualsHeld(LossConfig.sim().backpropFree().withTargetProjSize(8).withUnsup(LossConfig.Unsup.SIM, 0.5f), true);
    }

    @Test void reconTakesTheHeldStep() {
        assertFalse(block(LossConfig.predsim().withUnsup(LossConfig.Unsup.RECON, 0.5f), true, 3, 0.01f).slicesItsStep());
    }

    @Test void backpropFreeVariants() {
        assertSlicedEqualsHeld(LossConfig.Kind.PREDSIM, true, true, 40);
        assertSlicedEqualsHeld(LossConfig.Kind.SIM, true, true, 2048);
    }

    /**
     * Central differences of the step's own loss for every parameter the sliced backward computes.
     * With slope 1 (leaky ReLU as identity): at this size a perturbation of an encoder weight moves
     * about one pre-activation of the 1260 across 0, and that kink alone puts central differences
     * off by up to 0.03 (measured with slope 0.01 and 0.3); the tests above check the slope's sign
     * handling against the held step, whose leaky ReLU is checked on its own in OpsGradientTest.
     */
    @Test void gradientsMatchFiniteDifferences() {
        LocalBlock b = block(LossConfig.Kind.PREDSIM, false, true, 40, 3, 1f);
        float[][] g = step(b);
        List<Var> params = b.parameters();
        List<Var> checked = List.of(b.encoder.parameters().get(0), b.encoder.parameters().get(1), b.bn.weight(), b.bn.bias(),
                b.heads.simHead.parameters().get(0));
        for (Var p : checked) {
            float[] grad = g[params.indexOf(p) + 2], w = be.read(p.data());
            for (int i = 0; i < w.length; i++) {
                float eps = 1e-3f, orig = w[i];
                w[i] = orig + eps;
                be.write(p.data(), w);
                double lp = step(b)[0][0];
                w[i] = orig - eps;
                be.write(p.data(), w);
                double lm = step(b)[0][0];
                w[i] = orig;
                be.write(p.data(), w);
                double fd = (lp - lm) / (2 * eps);
                // the float32 loss (about 1) rounds at ~1e-6, over 2 eps that is 5e-4; curvature over eps: 2% relative
                assertEquals(fd, grad[i], 5e-4 + 2e-2 * Math.abs(fd), "element " + i + " of " + p);
            }
        }
    }
}
