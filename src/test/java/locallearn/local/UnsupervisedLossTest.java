package locallearn.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.LossConfig;
import locallearn.config.LossConfig.Unsup;
import locallearn.config.TrainingMode;
import locallearn.nn.Init;
import locallearn.nn.Linear;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The unsupervised local losses (--loss-unsup sim|recon, --alpha): a block's loss against the
 * reference's formulas evaluated here in double precision from the block's own weights, what a
 * first block leaves out, and central differences of the whole block loss for every parameter.
 */
class UnsupervisedLossTest {
    private final Backend be = new CpuBackend();
    private static final int BATCH = 4, IN = 4, OUT = 3, CLASSES = 2;
    private static final int[] LABELS = {0, 1, 1, 0};
    private static final float SLOPE = 0.01f;

    private float[] random(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** An fc block 4 -> 3 without batch norm; decoder_y gets random weights (it starts at zero, which would hide the pred term). */
    private LocalBlock fc(LossConfig loss, boolean first) {
        LocalBlock b = LocalBlock.fc(new Init(be, 7), IN, OUT, false, SLOPE, 0f, loss, TrainingMode.local(), CLASSES, first);
        if (b.heads.decoder != null) for (Var p : b.heads.decoder.parameters()) be.write(p.data(), random(p.data().numel(), 11));
        return b;
    }

    private final float[] x = random(BATCH * IN, 3);

    /** The block's loss (lossSum) after one local step on the fixed batch. */
    private double step(LocalBlock b, float[] input, int... shape) { return step(b, null, input, shape); }

    /** The same, adding each parameter's gradient (zeros where it has none) to {@code grads} when not null, then clearing them. */
    private double step(LocalBlock b, List<float[]> grads, float[] input, int... shape) {
        try (Scope s = Scope.open()) {
            Tensor xt = be.allocate(shape), lossSum = be.zeros(1);
            be.write(xt, input);
            b.localStep(new Tape(be, true, true, 1, 1), Var.constant(xt), Targets.of(be, LABELS, CLASSES, true), lossSum, null);
            for (Var p : b.parameters()) {
                if (grads != null) grads.add(p.grad() == null ? new float[p.data().numel()] : be.read(p.grad()));
                p.clearGrad();
            }
            return be.read(lossSum)[0];
        }
    }

    // ---- the reference's formulas in double precision ----------------------------------------

    private static double[][] rows(float[] v, int n, int d) {
        double[][] r = new double[n][d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) r[i][j] = v[i * d + j];
        return r;
    }

    /** a (n, d) times w (k, d) transposed, plus bias (k) or null. */
    private static double[][] linear(double[][] a, float[] w, float[] bias, int k) {
        int d = a[0].length;
        double[][] y = new double[a.length][k];
        for (int i = 0; i < a.length; i++)
            for (int o = 0; o < k; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int j = 0; j < d; j++) s += a[i][j] * w[o * d + j];
                y[i][o] = s;
            }
        return y;
    }

    private static double[][] leaky(double[][] a) {
        double[][] y = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i].clone();
            for (int j = 0; j < y[i].length; j++) if (y[i][j] < 0) y[i][j] *= SLOPE;
        }
        return y;
    }

    /** The similarity matrix: rows centred, divided by 1e-8 + their norm, their products clamped to [-1, 1]. */
    private static double[][] similarity(double[][] a) {
        int n = a.length;
        double[][] u = new double[n][];
        for (int i = 0; i < n; i++) {
            double mean = 0, norm = 0;
            for (double v : a[i]) mean += v / a[i].length;
            u[i] = new double[a[i].length];
            for (int j = 0; j < u[i].length; j++) norm += (a[i][j] - mean) * (a[i][j] - mean);
            for (int j = 0; j < u[i].length; j++) u[i][j] = (a[i][j] - mean) / (1e-8 + Math.sqrt(norm));
        }
        double[][] s = new double[n][n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double d = 0;
                for (int q = 0; q < u[i].length; q++) d += u[i][q] * u[j][q];
                s[i][j] = Math.max(-1, Math.min(1, d));
            }
        return s;
    }

    private static double mse(double[][] a, double[][] b) {
        double s = 0;
        int n = 0;
        for (int i = 0; i < a.length; i++)
            for (int j = 0; j < a[i].length; j++, n++) s += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
        return s / n;
    }

    private static double crossEntropy(double[][] logits, int[] labels) {
        double s = 0;
        for (int i = 0; i < logits.length; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (double v : logits[i]) max = Math.max(max, v);
            for (double v : logits[i]) sum += Math.exp(v - max);
            s += max + Math.log(sum) - logits[i][labels[i]];
        }
        return s / logits.length;
    }

    private static double[][] onehot() {
        double[][] y = new double[BATCH][CLASSES];
        for (int i = 0; i < BATCH; i++) y[i][LABELS[i]] = 1;
        return y;
    }

    private float[] read(Var v) { return be.read(v.data()); }

    private double[][] h(LocalBlock b) {
        Linear enc = (Linear) b.encoder;
        return leaky(linear(rows(x, BATCH, IN), read(enc.weight()), read(enc.bias()), OUT));
    }

    /** Float32 forward of a few dozen terms against double: 1e-5 relative and absolute. */
    private static void assertClose(double want, double got) { assertEquals(want, got, 1e-5 + 1e-5 * Math.abs(want)); }

    // ---- the tests ---------------------------------------------------------------------------------

    @Test void simMixesTheInputsSimilarityByAlpha() {
        LocalBlock b = fc(LossConfig.sim().withUnsup(Unsup.SIM, 0.3f), false);
        double[][] rh = similarity(linear(h(b), read(((Linear) b.heads.simHead).weight()), null, OUT));
        double want = 0.3 * mse(rh, similarity(rows(x, BATCH, IN))) + 0.7 * mse(rh, similarity(onehot()));
        assertClose(want, step(b, x, BATCH, IN));
    }

    @Test void unsupervisedSimBesidePredMakesTheSimHeadForItAlone() {
        LocalBlock b = fc(LossConfig.pred().withUnsup(Unsup.SIM, 0.25f), false);
        assertNotNull(b.heads.simHead, "linear_loss exists for the unsupervised sim");
        Linear dec = (Linear) b.heads.decoder;
        double[][] h = h(b), rh = similarity(linear(h, read(((Linear) b.heads.simHead).weight()), null, OUT));
        double want = 0.25 * mse(rh, similarity(rows(x, BATCH, IN))) + 0.75 * crossEntropy(linear(h, read(dec.weight()), read(dec.bias()), CLASSES), LABELS);
        assertClose(want, step(b, x, BATCH, IN));
    }

    @Test void reconDecodesTheInputThroughTheNonlinearity() {
        LocalBlock b = fc(LossConfig.pred().withUnsup(Unsup.RECON, 0.4f), false);
        Linear dec = (Linear) b.heads.decoder, decX = (Linear) b.heads.decoderX;
        double[][] h = h(b), xHat = leaky(linear(h, read(decX.weight()), read(decX.bias()), IN));
        double want = 0.4 * mse(xHat, rows(x, BATCH, IN)) + 0.6 * crossEntropy(linear(h, read(dec.weight()), read(dec.bias()), CLASSES), LABELS);
        List<float[]> grads = new java.util.ArrayList<>();
        assertClose(want, step(b, grads, x, BATCH, IN));
        float[] g = grads.get(b.parameters().indexOf(decX.weight()));
        assertTrue(java.util.stream.IntStream.range(0, g.length).anyMatch(i -> g[i] != 0), "decoder_x trains");
    }

    @Test void aFirstBlockHasDecoderXButOnlyItsSupervisedLossScaledByOneMinusAlpha() {
        LocalBlock b = fc(LossConfig.pred().withUnsup(Unsup.RECON, 0.4f), true);
        Linear dec = (Linear) b.heads.decoder;
        assertTrue(b.state("").containsKey("decoder_x.weight"), "the reference's first block has decoder_x too: " + b.state("").keySet());
        List<float[]> grads = new java.util.ArrayList<>();
        assertClose(0.6 * crossEntropy(linear(h(b), read(dec.weight()), read(dec.bias()), CLASSES), LABELS), step(b, grads, x, BATCH, IN));
        for (Var p : b.heads.decoderX.parameters())
            assertTrue(java.util.Arrays.equals(new float[p.data().numel()], grads.get(b.parameters().indexOf(p))), "decoder_x of a first block gets no gradient");
    }

    @Test void alphaWithoutAnUnsupervisedLossScalesTheSupervisedOneAsTheReference() {
        LocalBlock b = fc(LossConfig.pred().withUnsup(Unsup.NONE, 0.5f), false);
        Linear dec = (Linear) b.heads.decoder;
        assertNull(b.heads.decoderX);
        assertClose(0.5 * crossEntropy(linear(h(b), read(dec.weight()), read(dec.bias()), CLASSES), LABELS), step(b, x, BATCH, IN));
    }

    @Test void aConvBlockWhoseTransposeMissesItsInputSizeIsRefusedUnlessFirst() {
        LossConfig recon = LossConfig.predsim().withUnsup(Unsup.RECON, 0.5f);
        // 3x3 stride 2 pad 1 takes 6x6 to 3x3, whose transpose is 5x5
        var e = assertThrows(IllegalArgumentException.class,
                () -> LocalBlock.conv(new Init(be, 7), 3, 6, 6, 4, 3, 2, 1, true, SLOPE, 0f, recon, TrainingMode.local(), CLASSES, false));
        assertTrue(e.getMessage().contains("decoder_x") && e.getMessage().contains("5x5"), e.getMessage());
        LocalBlock.conv(new Init(be, 7), 3, 6, 6, 4, 3, 2, 1, true, SLOPE, 0f, recon, TrainingMode.local(), CLASSES, true).close();
    }

    @Test void globalBackpropHasNoUnsupervisedHeads() {
        LocalBlock b = LocalBlock.fc(new Init(be, 7), IN, OUT, false, SLOPE, 0f, LossConfig.pred().withUnsup(Unsup.RECON, 0.5f),
                TrainingMode.global(), CLASSES, false);
        assertNull(b.heads.decoderX);
        assertNull(b.heads.simHead);
    }

    /**
     * Central differences of a conv block's own loss (batch norm, pooled pred head) for every
     * parameter, recon and unsupervised sim, held and (sim) sliced. Slope 1 keeps leaky ReLU's
     * kink out of the differences (see SlicedStepTest); the float32 loss of about 1 rounds at
     * ~1e-7, over 2 eps = 4e-3 that is 2.5e-5; curvature over eps: 2 % relative (at eps 1e-2 the
     * similarity's curvature put some differences 4 % off).
     */
    @Test void gradientsOfTheMixedLossesMatchFiniteDifferences() {
        LossConfig base = LossConfig.predsim().withDimInDecoder(24);
        checkConv(base.withUnsup(Unsup.RECON, 0.5f), 0);
        checkConv(base.withUnsup(Unsup.SIM, 0.5f), 0);
        checkConv(base.withUnsup(Unsup.SIM, 0.5f), 2);
    }

    private void checkConv(LossConfig loss, int chunks) {
        int in = 3, side = 5, out = 4;
        LocalBlock b = LocalBlock.conv(new Init(be, 7), in, side, side, out, 3, 1, 1, true, 1f, 0f, loss, new TrainingMode.Local(chunks), CLASSES, false);
        assertEquals(chunks > 0, b.slicesItsStep());
        for (Var p : b.heads.decoder.parameters()) be.write(p.data(), random(p.data().numel(), 11));
        float[] input = random(BATCH * in * side * side, 5);
        List<Var> params = b.parameters();
        List<float[]> grads = new java.util.ArrayList<>();
        step(b, grads, input, BATCH, in, side, side);
        for (int k = 0; k < params.size(); k++) {
            Var p = params.get(k);
            float[] w = be.read(p.data()), g = grads.get(k);
            for (int i = 0; i < w.length; i++) {
                float eps = 2e-3f, orig = w[i];
                w[i] = orig + eps;
                be.write(p.data(), w);
                double lp = step(b, input, BATCH, in, side, side);
                w[i] = orig - eps;
                be.write(p.data(), w);
                double lm = step(b, input, BATCH, in, side, side);
                w[i] = orig;
                be.write(p.data(), w);
                double fd = (lp - lm) / (2 * eps);
                assertEquals(fd, g[i], 1e-4 + 2e-2 * Math.abs(fd), loss.unsup() + " chunks " + chunks + ": element " + i + " of parameter " + k);
            }
        }
        b.close();
    }
}
