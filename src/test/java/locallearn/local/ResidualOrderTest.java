package locallearn.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.local.LocalBlock.Order;
import locallearn.nn.Conv2d;
import locallearn.nn.Init;
import locallearn.tensor.Scope;
import org.junit.jupiter.api.Test;

/**
 * The residual blocks' orders against the same ops written out (train.py's LocalLossBlockConv):
 * what a block hands on, and what its local loss reads. Both sides run the same float ops in the
 * same order, so they agree to the bit.
 */
class ResidualOrderTest {
    private final Backend be = new CpuBackend();
    private static final float SLOPE = 0.01f;

    /** Uniform in [-1, 1), drawn from {@code seed}. */
    private Var random(long seed, int... dims) { return Var.constant(new Init(be, seed).uniform(1f, dims)); }

    private LocalBlock block(Order order) {
        Init init = new Init(be, 1);
        return LocalBlock.residual(init, new Conv2d(init, 4, 6, 3, 1, 1, false), 4, 5, 5, order, true, SLOPE, 0f, LossConfig.sim(), TrainingMode.local(), 3);
    }

    @Test void preActBlockHandsOnConvPlusShortcutAndItsLossReadsNonlinOfBnOfIt() {
        try (Scope s = Scope.open()) {
            LocalBlock b = block(Order.PRE_ACT);
            Var x = random(1, 6, 4, 5, 5), shortcut = random(2, 6, 6, 5, 5);
            Targets tg = Targets.of(be, new int[] {0, 1, 2, 0, 1, 2}, 3, true);
            Tape t = Tape.noGradTraining(be, 1, 1);
            Var in = b.preActivation(t, x, 0);
            Var h = b.forward(t, in, shortcut);
            Var loss = b.localLoss(t, in, h, tg, null, null);
            // by hand: bn_pre, leaky ReLU, conv, + shortcut; the loss on leaky ReLU(bn(h))
            Var a = Ops.leakyRelu(t, b.bnPre.forward(t, x), SLOPE, false);
            Var expectedH = Ops.add(t, b.encoder.forward(t, a), shortcut);
            Var expectedLoss = b.heads.localLoss(t, a, Ops.leakyRelu(t, b.bn.forward(t, expectedH), SLOPE, false), tg, null, null);
            assertArrayEquals(be.read(expectedH.data()), be.read(h.data()));
            assertEquals(be.read(expectedLoss.data())[0], be.read(loss.data())[0]);
            b.close();
        }
    }

    @Test void postActBlockAddsTheShortcutBeforeTheNonlinearity() {
        try (Scope s = Scope.open()) {
            LocalBlock b = block(Order.POST_ACT);
            Var x = random(1, 6, 4, 5, 5), shortcut = random(2, 6, 6, 5, 5);
            Tape t = Tape.noGradTraining(be, 1, 1);
            Var h = b.forward(t, b.preActivation(t, x, 0), shortcut);
            Var expected = Ops.leakyRelu(t, Ops.add(t, b.bn.forward(t, b.encoder.forward(t, x)), shortcut), SLOPE, false);
            assertArrayEquals(be.read(expected.data()), be.read(h.data()));
            b.close();
        }
    }
}
