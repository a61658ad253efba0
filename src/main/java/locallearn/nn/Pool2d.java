package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.PoolGeom;

/** MaxPool2d or AvgPool2d (count_include_pad, floor mode) with kernel, stride and padding per axis. */
public final class Pool2d extends Layer {
    final boolean max;
    final int kh, kw, sh, sw, ph, pw;

    public Pool2d(boolean max, int kh, int kw, int sh, int sw, int ph, int pw) {
        this.max = max;
        this.kh = kh; this.kw = kw; this.sh = sh; this.sw = sw; this.ph = ph; this.pw = pw;
    }

    public static Pool2d max(int k, int stride) { return new Pool2d(true, k, k, stride, stride, 0, 0); }

    /** True for max pooling, false for average pooling. */
    public boolean isMax() { return max; }

    public PoolGeom geom(int batch, int channels, int h, int w) { return new PoolGeom(batch, channels, h, w, kh, kw, sh, sw, ph, pw); }

    public int outH(int h) { return (h + 2 * ph - kh) / sh + 1; }

    public int outW(int w) { return (w + 2 * pw - kw) / sw + 1; }

    @Override public Var forward(Tape tape, Var x) {
        var d = x.data();
        PoolGeom g = geom(d.dim(0), d.dim(1), d.dim(2), d.dim(3));
        return max ? Ops.maxPool(tape, x, g) : Ops.avgPool(tape, x, g);
    }
}
