package locallearn.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The standalone layers: values by hand, init bounds, eval-mode behaviour. */
class LayersTest {
    private final Backend be = new CpuBackend();

    private Var v(float[] vals, int... dims) {
        Tensor t = be.allocate(dims);
        be.write(t, vals);
        return Var.constant(t);
    }

    @Test void leakyReluAndReluByHand() {
        try (Scope s = Scope.open()) {
            Tape t = Tape.noGrad(be);
            Var x = v(new float[] {-2, 0, 3}, 1, 3);
            assertArrayEquals(new float[] {-0.02f, 0, 3}, be.read(new LeakyReLU(0.01f).forward(t, x).data()), 1e-7f);
            assertArrayEquals(new float[] {0, 0, 3}, be.read(LeakyReLU.relu().forward(t, x).data()), 0f);
        }
    }

    @Test void dropoutIsIdentityInEvalAndScalesKeptUnitsInTraining() {
        try (Scope s = Scope.open()) {
            float[] ones = new float[4 * 8 * 9];
            java.util.Arrays.fill(ones, 1f);
            Var x = v(ones, 4, 8, 3, 3);
            assertEquals(x, new Dropout(0.5f, true, 3).forward(Tape.noGrad(be), x));
            float[] y = be.read(new Dropout(0.5f, true, 3).forward(new Tape(be, false, true, 1, 2), x).data());
            int kept = 0;
            for (int c = 0; c < 32; c++) {
                // Dropout2d: a channel's 9 values are all dropped (0) or all kept and scaled by 1 / (1 - p) = 2
                for (int i = 1; i < 9; i++) assertEquals(y[c * 9], y[c * 9 + i], 0f);
                assertEquals(y[c * 9] == 0f ? 0f : 2f, y[c * 9], 0f);
                if (y[c * 9] != 0f) kept++;
            }
            assertNotEquals(0, kept);
            assertNotEquals(32, kept);
        }
    }

    @Test void flattenKeepsTheBatchAxis() {
        try (Scope s = Scope.open()) {
            Var x = v(new float[24], 2, 3, 2, 2);
            assertArrayEquals(new int[] {2, 12}, new Flatten().forward(Tape.noGrad(be), x).data().shape().dims());
        }
    }

    @Test void linearAndConvInitStayWithinOneOverSqrtFanIn() {
        Init init = new Init(be, 1);
        float[] w = be.read(new Linear(init, 100, 50, true).weight().data());
        float max = 0;
        for (float f : w) max = Math.max(max, Math.abs(f));
        // bound 1/sqrt(100) = 0.1; 5000 uniform draws come within 1% of it
        assertEquals(0.1f, max, 0.001f);
        Conv2d c = new Conv2d(init, 4, 8, 3, 1, 1, true);
        float cmax = 0;
        for (float f : be.read(c.weight.data())) cmax = Math.max(cmax, Math.abs(f));
        assertEquals(true, cmax <= 1 / 6f, "conv bound 1/sqrt(4*3*3) = 1/6, got " + cmax);
    }

    @Test void batchNormStartsAtWeightOneBiasZeroAndUsesRunningStatsInEval() {
        try (Scope s = Scope.open()) {
            BatchNorm bn = new BatchNorm(new Init(be, 1), 2);
            assertArrayEquals(new float[] {1, 1}, be.read(bn.weight.data()), 0f);
            assertArrayEquals(new float[] {0, 0}, be.read(bn.bias.data()), 0f);
            // eval with running mean 0, var 1: y = x / sqrt(1 + 1e-5)
            float[] y = be.read(bn.forward(Tape.noGrad(be), v(new float[] {1, 2, 3, 4}, 2, 2)).data());
            assertArrayEquals(new float[] {0.999995f, 1.99999f, 2.999985f, 3.99998f}, y, 1e-6f);
        }
    }
}
