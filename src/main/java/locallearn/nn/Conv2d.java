package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

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

    public int outChannels() { return weight.data().dim(0); }

    /** Output side for an input side of {@code in} pixels. */
    public int outSize(int in) { return (in + 2 * pad - weight.data().dim(2)) / stride + 1; }

    @Override public Var forward(Tape tape, Var x) { return Ops.conv2d(tape, x, weight, bias, stride, pad); }

    /** The forward of examples [from, from + n) of x (B, C, H, W) into out (n, K, oH, oW), recording nothing. */
    public void forwardRows(locallearn.backend.Backend be, locallearn.tensor.Tensor x, int from, int n, locallearn.tensor.Tensor out) {
        var w = weight.data();
        int c = x.dim(1), h = x.dim(2), wi = x.dim(3), row = c * h * wi;
        try (var xc = be.allocate(n, c, h, wi)) {
            be.copyRange(x, from * row, xc, 0, n * row);
            be.conv2dForward(xc, w, bias == null ? null : bias.data(), out,
                    new locallearn.backend.ConvGeom(n, c, h, wi, w.dim(0), w.dim(2), w.dim(3), stride, pad));
        }
    }

    /**
     * featureMapStd(forward(x)), {@code chunk} examples at a time, without ever holding the whole
     * conv output (Ops.convFeatureMapStd): what a local block's sim head reads. No bias allowed
     * (a bias shifts each map and leaves its std unchanged, so the sim head has none).
     */
    public Var forwardFeatureMapStd(Tape tape, Var x, int chunk) {
        if (bias != null) throw new IllegalArgumentException("conv2d: forwardFeatureMapStd needs a layer without bias");
        return Ops.convFeatureMapStd(tape, x, weight, stride, pad, chunk);
    }
}
