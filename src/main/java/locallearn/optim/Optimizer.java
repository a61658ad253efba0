package locallearn.optim;

import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.config.OptimizerKind;
import locallearn.tensor.Tensor;

/**
 * Updates a fixed list of parameters from their gradients with one fused backend op each, then
 * drops the gradients (PyTorch's zero_grad(set_to_none=True)): a parameter's gradient exists
 * only between a backward and the step, so it is released with the block's other tensors.
 */
public sealed interface Optimizer permits Adam, Sgd {

    /** One update of every parameter that has a gradient, with learning rate {@code lr}. */
    void step(float lr);

    /**
     * Updates now those of {@code ready} that are this optimizer's and have a gradient, exactly as
     * the coming {@link #step} would (its step number, the same arithmetic), and drops their
     * gradients, so that step skips them. A global backward calls it as each layer's gradients
     * become final (Tape.whenBackwardPasses).
     */
    void stepEarly(float lr, List<Var> ready);

    /** The optimizer's state tensors by name (moment buffers), for exact resume. */
    Map<String, Tensor> state();

    /** Number of steps taken (Adam's bias correction depends on it). */
    int steps();

    void setSteps(int steps);

    void close();

    static Optimizer create(OptimizerKind kind, Backend backend, List<Var> params, float momentum, float weightDecay) {
        return switch (kind) {
            case ADAM -> new Adam(backend, params, false, weightDecay);
            case AMSGRAD -> new Adam(backend, params, true, weightDecay);
            case SGD -> new Sgd(backend, params, momentum, weightDecay);
        };
    }
}
