package locallearn.backend;

/**
 * A 2-d convolution: input (B, C, H, W), weight (K, C, kh, kw), output (B, K, outH, outW),
 * cross-correlation as PyTorch's Conv2d, zero padding, no dilation or groups.
 */
public record ConvGeom(int batch, int inC, int inH, int inW, int outC, int kh, int kw, int stride, int pad) {
    public ConvGeom {
        if (batch < 1 || inC < 1 || inH < 1 || inW < 1 || outC < 1 || kh < 1 || kw < 1 || stride < 1 || pad < 0)
            throw new IllegalArgumentException("conv2d: bad geometry " + this);
        if (inH + 2 * pad < kh || inW + 2 * pad < kw)
            throw new IllegalArgumentException("conv2d: kernel " + kh + "x" + kw + " larger than padded input " + (inH + 2 * pad) + "x" + (inW + 2 * pad));
    }

    public int outH() { return (inH + 2 * pad - kh) / stride + 1; }

    public int outW() { return (inW + 2 * pad - kw) / stride + 1; }

    /** Multiply-adds of the forward pass; backward-data and backward-filter cost the same. */
    public long macs() { return (long) batch * outC * outH() * outW() * inC * kh * kw; }
}
