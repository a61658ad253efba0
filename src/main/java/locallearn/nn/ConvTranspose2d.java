package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/**
 * Square-kernel transposed convolution from {@code in} to {@code out} channels, weight (in, out,
 * k, k) as PyTorch's ConvTranspose2d, and its init: uniform +-1/sqrt(out * k * k) for weight
 * and bias (PyTorch counts the fan-in from the weight's second dimension). The recon loss's
 * decoder_x: it maps a conv block's output back to the block's input.
 */
public final class ConvTranspose2d extends Layer {
    final Var weight, bias;
    final int stride, pad;

    public ConvTranspose2d(Init init, int in, int out, int k, int stride, int pad) {
        float bound = (float) (1 / Math.sqrt((double) out * k * k));
        weight = param("weight", new Var(init.uniform(bound, in, out, k, k), true));
        bias = param("bias", new Var(init.uniform(bound, out), true));
        this.stride = stride;
        this.pad = pad;
    }

    /** Output side for an input side of {@code in} pixels. */
    public int outSize(int in) { return (in - 1) * stride - 2 * pad + weight.data().dim(2); }

    @Override public Var forward(Tape tape, Var x) { return Ops.convTranspose2d(tape, x, weight, bias, stride, pad); }
}
