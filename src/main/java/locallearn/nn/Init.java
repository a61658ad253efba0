package locallearn.nn;

import locallearn.backend.Backend;
import locallearn.backend.Philox;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * Parameter initialisation as PyTorch's defaults, drawn from Philox with the run's seed: every
 * tensor gets the next stream, so the same seed and the same model give the same numbers on
 * every device and every run. Tensors made here live until the model is closed.
 */
public final class Init {
    private final Backend backend;
    private final long seed;
    private long nextStream = 1_000_000; // far from the streams of dropout and augmentation

    public Init(Backend backend, long seed) {
        this.backend = backend;
        this.seed = seed;
    }

    public Backend backend() { return backend; }

    /** Uniform in [-bound, bound): PyTorch's Linear/Conv2d default for weight and bias is bound = 1/sqrt(fan_in). */
    public Tensor uniform(float bound, int... dims) {
        Shape s = new Shape(dims);
        float[] v = new float[s.numel()];
        Philox.uniforms(seed, nextStream++, v, 0, v.length);
        for (int i = 0; i < v.length; i++) v[i] = (2f * v[i] - 1f) * bound;
        Tensor t = backend.allocate(s);
        backend.write(t, v);
        return t;
    }

    public Tensor constant(float value, int... dims) {
        nextStream++; // keep later streams independent of whether a tensor was random or constant
        Tensor t = backend.allocate(new Shape(dims));
        backend.fill(t, value);
        return t;
    }
}
