package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.ConvGeom;

/** Square-kernel convolution, PyTorch's init: uniform +-1/sqrt(in * k * k) for weight and bias. */
public final class Conv2d extends Layer {
    final Var weight, bias;
    final int stride, pad;

    public Conv2d(Init init, int in, int out, int k, int stride, int pad, boolean bias) {
        float bound = (float) (1 / Math.sqrt((double) in * k * k));
        weight = param("weight", new Var(init.uniform(bound, out, in, k, k), true));
        this.bias = bias ? param("bias", new Var(init.uniform(bound, out), true)) : null;
        this.stride = stride;
        this.pad = pad;
    }

    public Var weight() { return weight; }

    /** The bias, or null for a layer without one. */
    public Var bias() { return bias; }

    public int stride() { return stride; }

    public int pad() { return pad; }

    public int outChannels() { return weight.data().dim(0); }

    /** Output side for an input side of {@code in} pixels. */
    public int outSize(int in) { return (in + 2 * pad - weight.data().dim(2)) / stride + 1; }

    /** The convolution of a (batch, in, h, w) input by this layer. */
    public ConvGeom geometry(int batch, int h, int w) {
        var wd = weight.data();
        return new ConvGeom(batch, wd.dim(1), h, w, wd.dim(0), wd.dim(2), wd.dim(3), stride, pad);
    }

    @Override public Var forward(Tape tape, Var x) { return Ops.conv2d(tape, x, weight, bias, stride, pad); }
}
