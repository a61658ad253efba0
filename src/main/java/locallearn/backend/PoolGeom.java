package locallearn.backend;

/**
 * A 2-d pooling window over (B, C, H, W): kernel kh x kw, stride sh x sw, zero padding ph x pw,
 * floor mode (ceil_mode=False) as in the reference. Average pooling counts the padding in the
 * divisor (count_include_pad=True, PyTorch's default, which the reference uses).
 */
public record PoolGeom(int batch, int channels, int inH, int inW, int kh, int kw, int sh, int sw, int ph, int pw) {
    public PoolGeom {
        if (batch < 1 || channels < 1 || inH < 1 || inW < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0)
            throw new IllegalArgumentException("pool: bad geometry " + this);
        if (ph > kh / 2 || pw > kw / 2)
            throw new IllegalArgumentException("pool: padding " + ph + "x" + pw + " exceeds half the kernel " + kh + "x" + kw);
        if (inH + 2 * ph < kh || inW + 2 * pw < kw)
            throw new IllegalArgumentException("pool: kernel " + kh + "x" + kw + " larger than padded input");
    }

    public static PoolGeom square(int batch, int channels, int inH, int inW, int k, int stride) {
        return new PoolGeom(batch, channels, inH, inW, k, k, stride, stride, 0, 0);
    }

    public int outH() { return (inH + 2 * ph - kh) / sh + 1; }

    public int outW() { return (inW + 2 * pw - kw) / sw + 1; }
}
