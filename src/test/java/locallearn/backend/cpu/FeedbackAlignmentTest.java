package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.near;
import static locallearn.backend.cpu.Check.t;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The CPU twin of kernels/fa.cu against the composition it replaced in the feedback-alignment
 * layer's backward: bceWithLogitsBackward into a (B, K) tensor, then dw (+)= e^T x and dx = e fb
 * as GEMMs and db (+)= biasBackward(e), the calls Ops.linear made. On odd shapes (B, K, D from 1,
 * 3, 7, 129), so every GEMM edge and the small-product path are reached, with and without
 * accumulation.
 */
class FeedbackAlignmentTest {
    private static final int[][] SHAPES = {{1, 1, 1}, {3, 7, 129}, {129, 3, 7}, {7, 129, 3}, {129, 129, 129}, {7, 1, 129}};
    private final CpuBackend be = new CpuBackend();
    private final Random rnd = new Random(12);

    /** Inputs of one case: logits, targets (hard and soft), x, fb, and earlier gradients to add into. */
    private record Case(int nb, int k, int d, float[] z, float[] t, float[] x, float[] fb, float[] dw0, float[] db0, float dloss) {}

    private Case draw(int[] s) {
        int nb = s[0], k = s[1], d = s[2];
        float[] z = Check.rand(rnd, nb * k), t = Check.rand(rnd, nb * k);
        for (int i = 0; i < z.length; i++) {
            z[i] *= 6;
            t[i] = i % 2 == 0 ? (t[i] < 0 ? 0f : 1f) : (t[i] + 1) / 2;
        }
        // dloss B K: e = 0.7 (sigmoid(z) - t) is of order 1, so the tolerances below are on that scale
        return new Case(nb, k, d, z, t, Check.rand(rnd, nb * d), Check.rand(rnd, k * d), Check.rand(rnd, k * d), Check.rand(rnd, k), 0.7f * nb * k);
    }

    /** dx, dw, db the way the layer's backward composed them before the fused op. */
    private float[][] composed(Case c, boolean accumulate) {
        try (Scope s = Scope.open()) {
            Tensor e = be.allocate(c.nb, c.k), dx = be.allocate(c.nb, c.d), dw = t(be, c.dw0, c.k, c.d), db = t(be, c.db0, c.k);
            be.bceWithLogitsBackward(t(be, c.z, c.nb, c.k), t(be, c.t, c.nb, c.k), t(be, new float[] {c.dloss}, 1), e);
            be.gemm(true, false, c.k, c.d, c.nb, 1f, e, t(be, c.x, c.nb, c.d), accumulate ? 1f : 0f, dw);
            be.biasBackward(e, db, accumulate);
            be.gemm(false, false, c.nb, c.d, c.k, 1f, e, t(be, c.fb, c.k, c.d), 0f, dx);
            return new float[][] {be.read(dx), be.read(dw), be.read(db)};
        }
    }

    private float[][] fused(Case c, boolean accumulate) {
        try (Scope s = Scope.open()) {
            Tensor dx = be.allocate(c.nb, c.d), dw = t(be, c.dw0, c.k, c.d), db = t(be, c.db0, c.k);
            be.faBceBackward(t(be, c.z, c.nb, c.k), t(be, c.t, c.nb, c.k), t(be, new float[] {c.dloss}, 1), t(be, c.x, c.nb, c.d),
                    t(be, c.fb, c.k, c.d), dx, dw, db, accumulate);
            return new float[][] {be.read(dx), be.read(dw), be.read(db)};
        }
    }

    @Test void theFastPathGivesTheComposedBackwardsBitsSoBioRunsDoNotChange() {
        for (int[] s : SHAPES) {
            Case c = draw(s);
            for (boolean acc : new boolean[] {false, true}) {
                float[][] want = composed(c, acc), got = fused(c, acc);
                String what = "B=" + c.nb + " K=" + c.k + " D=" + c.d + " accumulate=" + acc;
                assertArrayEquals(want[0], got[0], 0f, what + " dx");
                assertArrayEquals(want[1], got[1], 0f, what + " dw");
                assertArrayEquals(want[2], got[2], 0f, what + " db");
            }
        }
    }

    @Test void thePlainLoopsMatchTheComposedBackward() {
        for (int[] s : SHAPES) {
            Case c = draw(s);
            for (boolean acc : new boolean[] {false, true}) {
                float[][] want = composed(c, acc);
                float[] dx = new float[c.nb * c.d], dw = c.dw0.clone(), db = c.db0.clone();
                FeedbackAlignment.faBceBackwardPlain(c.z, c.t, c.dloss, c.x, c.fb, dx, dw, db, acc, c.nb, c.k, c.d);
                String what = "B=" + c.nb + " K=" + c.k + " D=" + c.d + " accumulate=" + acc;
                // the composition sums n products of |e| <= 0.7 and [-1, 1] values in float, the
                // plain loops in double: n * 1.2e-7 per unit of the output's scale (here at most
                // about sqrt(n)), and one rounding of the added earlier gradient
                near(what + " dx", want[0], dx, c.k * 1.2e-7 * Math.sqrt(c.k), 1e-6);
                near(what + " dw", want[1], dw, c.nb * 1.2e-7 * Math.sqrt(c.nb), 1e-6);
                near(what + " db", want[2], db, c.nb * 1.2e-7 * Math.sqrt(c.nb), 1e-6);
            }
        }
    }

    @Test void nullOutputsAreSkippedAndTheOthersUnchanged() {
        Case c = draw(new int[] {7, 3, 129});
        float[][] want = composed(c, true);
        try (Scope s = Scope.open()) {
            Tensor dx = be.allocate(c.nb, c.d), dw = t(be, c.dw0, c.k, c.d);
            Tensor z = t(be, c.z, c.nb, c.k), tg = t(be, c.t, c.nb, c.k), dl = t(be, new float[] {c.dloss}, 1), x = t(be, c.x, c.nb, c.d);
            Tensor fb = t(be, c.fb, c.k, c.d);
            be.faBceBackward(z, tg, dl, x, fb, dx, null, null, false);
            assertArrayEquals(want[0], be.read(dx), 0f, "dx alone");
            be.faBceBackward(z, tg, dl, x, fb, null, dw, null, true);
            assertArrayEquals(want[1], be.read(dw), 0f, "dw without db");
        }
    }
}
