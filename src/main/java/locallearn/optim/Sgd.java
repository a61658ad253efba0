package locallearn.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/** SGD with momentum and weight decay as torch.optim.SGD (dampening 0, not Nesterov). */
public final class Sgd implements Optimizer {
    private final Backend backend;
    private final List<Var> params;
    private final List<Tensor> buf = new ArrayList<>();
    private final float momentum, weightDecay;
    private int steps;

    Sgd(Backend backend, List<Var> params, float momentum, float weightDecay) {
        this.backend = backend;
        this.params = List.copyOf(params);
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        for (Var p : params) buf.add(momentum != 0 ? backend.zeros(p.data().shape().dims()) : null);
    }

    @Override public void step(float lr) {
        steps++;
        for (int i = 0; i < params.size(); i++) {
            Var p = params.get(i);
            if (p.grad() == null) continue;
            backend.sgdStep(p.data(), p.grad(), buf.get(i), lr, momentum, weightDecay, steps == 1);
            p.clearGrad();
        }
    }

    @Override public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) if (buf.get(i) != null) s.put(i + ".momentum_buffer", buf.get(i));
        return s;
    }

    @Override public int steps() { return steps; }

    @Override public void setSteps(int steps) { this.steps = steps; }

    @Override public void close() { for (Tensor t : buf) if (t != null) t.close(); }
}
