package locallearn.optim;

import java.util.ArrayList;
import java.util.IdentityHashMap;
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
    private final Map<Var, Integer> index = new IdentityHashMap<>();
    private final List<Tensor> buf = new ArrayList<>();
    private final float momentum, weightDecay;
    private int steps;

    Sgd(Backend backend, List<Var> params, float momentum, float weightDecay) {
        this.backend = backend;
        this.params = List.copyOf(params);
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        for (Var p : params) index.put(p, index.size());
        for (Var p : params) buf.add(momentum != 0 ? backend.zeros(p.data().shape().dims()) : null);
    }

    @Override public void step(float lr) {
        for (int i = 0; i < params.size(); i++) update(i, lr);
        steps++;
    }

    @Override public void stepEarly(float lr, List<Var> ready) {
        for (Var p : ready) {
            Integer i = index.get(p);
            if (i != null) update(i, lr);
        }
    }

    /** Parameter i's update of step steps + 1 (the first fills the momentum buffer), when it has a gradient. */
    private void update(int i, float lr) {
        Var p = params.get(i);
        if (p.grad() == null) return;
        backend.sgdStep(p.data(), p.grad(), buf.get(i), lr, momentum, weightDecay, steps == 0);
        p.clearGrad();
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
