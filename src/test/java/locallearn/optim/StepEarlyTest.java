package locallearn.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.Philox;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.OptimizerKind;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A global step updates each layer during the backward, as soon as its gradients are final
 * (Tape.whenBackwardPasses, Optimizer.stepEarly), instead of holding every gradient until the
 * end. Two layers and a cross-entropy, three steps: the parameters must be the same bits as with
 * one step() after the backward, for every optimizer (Adam's bias correction and SGD's first
 * momentum step depend on the step number, which stepEarly must take from the coming step), and
 * the second layer must be updated while the first one's gradient does not exist yet.
 */
class StepEarlyTest {
    private static final int BATCH = 7, IN = 5, HIDDEN = 6, CLASSES = 3, STEPS = 3;

    /** The parameters after STEPS steps, each layer stepped in the backward when {@code early}. */
    private static List<float[]> train(OptimizerKind kind, boolean early) {
        try (CpuBackend be = new CpuBackend()) {
            Var w1 = param(be, 1, HIDDEN, IN), b1 = param(be, 2, HIDDEN), w2 = param(be, 3, CLASSES, HIDDEN), b2 = param(be, 4, CLASSES);
            List<Var> layer1 = List.of(w1, b1), layer2 = List.of(w2, b2), all = List.of(w1, b1, w2, b2);
            Optimizer opt = Optimizer.create(kind, be, all, 0.9f, 1e-3f);
            Tensor x = be.allocate(BATCH, IN), labels = be.allocate(BATCH);
            float[] xs = new float[BATCH * IN], ls = new float[BATCH];
            Philox.uniforms(5, 0, xs, 0, xs.length);
            for (int i = 0; i < BATCH; i++) ls[i] = i % CLASSES;
            be.write(x, xs);
            be.write(labels, ls);
            List<Boolean> firstLayerGradAtSecondsUpdate = new ArrayList<>();
            for (int s = 0; s < STEPS; s++) {
                Tape t = new Tape(be, true, true, 0, s);
                if (early) t.whenBackwardPasses(() -> opt.stepEarly(1e-2f, layer1));
                Var h = Ops.leakyRelu(t, Ops.linear(t, Var.constant(x), w1, b1), 0.1f, false);
                if (early) t.whenBackwardPasses(() -> {
                    firstLayerGradAtSecondsUpdate.add(w1.grad() != null);
                    assertEquals(true, w2.grad() != null, "layer 2's gradient is final when its mark runs");
                    opt.stepEarly(1e-2f, layer2);
                    assertEquals(null, w2.grad(), "stepEarly drops the gradient it used");
                });
                t.backward(Ops.crossEntropy(t, Ops.linear(t, h, w2, b2), labels));
                opt.step(1e-2f);
            }
            if (early) assertEquals(List.of(false, false, false), firstLayerGradAtSecondsUpdate, "layer 2 updated before layer 1's gradient exists");
            assertEquals(STEPS, opt.steps());
            List<float[]> out = new ArrayList<>();
            for (Var p : all) out.add(be.read(p.data()));
            opt.close();
            return out;
        }
    }

    private static Var param(CpuBackend be, int stream, int... dims) {
        Tensor t = be.allocate(dims);
        float[] v = new float[t.numel()];
        Philox.uniforms(9, stream, v, 0, v.length);
        for (int i = 0; i < v.length; i++) v[i] -= 0.5f;
        be.write(t, v);
        return new Var(t, true);
    }

    @Test void layersSteppedInTheBackwardEqualOneStepAfterIt() {
        for (OptimizerKind kind : OptimizerKind.values()) {
            List<float[]> late = train(kind, false), early = train(kind, true);
            for (int i = 0; i < late.size(); i++) assertArrayEquals(late.get(i), early.get(i), kind + " parameter " + i);
        }
    }
}
