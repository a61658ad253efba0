package locallearn.optim;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/** Adam (Kingma and Ba 2015) or AMSGrad, as torch.optim.Adam with betas (0.9, 0.999) and eps 1e-8. */
public final class Adam implements Optimizer {
    static final float BETA1 = 0.9f, BETA2 = 0.999f, EPS = 1e-8f;
    private final Backend backend;
    private final List<Var> params;
    private final Map<Var, Integer> index = new IdentityHashMap<>();
    private final List<Tensor> m = new ArrayList<>(), v = new ArrayList<>(), vmax = new ArrayList<>();
    private final boolean amsgrad;
    private final float weightDecay;
    private int steps;

    Adam(Backend backend, List<Var> params, boolean amsgrad, float weightDecay) {
        this.backend = backend;
        this.params = List.copyOf(params);
        this.amsgrad = amsgrad;
        this.weightDecay = weightDecay;
        for (Var p : params) {
            index.put(p, index.size());
            m.add(backend.zeros(p.data().shape().dims()));
            v.add(backend.zeros(p.data().shape().dims()));
            if (amsgrad) vmax.add(backend.zeros(p.data().shape().dims()));
        }
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

    /** Parameter i's update of step steps + 1, when it has a gradient. */
    private void update(int i, float lr) {
        Var p = params.get(i);
        if (p.grad() == null) return;
        backend.adamStep(p.data(), p.grad(), m.get(i), v.get(i), amsgrad ? vmax.get(i) : null, lr, BETA1, BETA2, EPS, weightDecay, steps + 1);
        p.clearGrad();
    }

    @Override public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            s.put(i + ".exp_avg", m.get(i));
            s.put(i + ".exp_avg_sq", v.get(i));
            if (amsgrad) s.put(i + ".max_exp_avg_sq", vmax.get(i));
        }
        return s;
    }

    @Override public int steps() { return steps; }

    @Override public void setSteps(int steps) { this.steps = steps; }

    @Override public void close() {
        m.forEach(Tensor::close);
        v.forEach(Tensor::close);
        vmax.forEach(Tensor::close);
    }
}
