package locallearn.backend;

import locallearn.tensor.Tensor;

/**
 * The shape checks every backend runs on an op's arguments before touching memory, so a wrong
 * shape fails with one message naming the op, the argument and both shapes, the same on every
 * device. Whether a tensor is alive and on the right device is each backend's own check.
 */
public final class Checks {
    private Checks() {}

    public static void expect(String op, String name, Tensor t, long numel, String what) {
        if (t.numel() != numel)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " has " + t.numel() + " elements, expected " + numel + " (" + what + ")");
    }

    public static void same(String op, String na, Tensor a, String nb, Tensor b) {
        if (a.numel() != b.numel())
            throw new IllegalArgumentException(op + ": " + na + " " + a.shape() + " and " + nb + " " + b.shape() + " differ in element count");
    }

    /** (B, C, inner) of a tensor of rank >= 2. */
    public static int[] bci(String op, String name, Tensor t) {
        if (t.rank() < 2) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must have rank >= 2 (B, C, ...)");
        return new int[] {t.dim(0), t.dim(1), t.shape().sizeFrom(2)};
    }

    /** (B, D) of a tensor of rank >= 1: rows are the first dimension, everything else is a row. */
    public static int[] rows(String op, String name, Tensor t) {
        if (t.rank() < 1 || t.dim(0) < 1) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be (B, D) with B >= 1");
        return new int[] {t.dim(0), t.shape().sizeFrom(1)};
    }

    public static void images(String op, String name, Tensor t) {
        if (t.rank() != 4) throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be (B, C, H, W)");
    }

    public static void conv(String op, String name, Tensor t, int b, int c, int h, int w, ConvGeom g) {
        if (t.numel() != (long) b * c * h * w)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " does not match geometry " + g + " (expected (" + b + ", " + c + ", " + h + ", " + w + "))");
    }

    public static void pool(String op, String name, Tensor t, int h, int w, PoolGeom g) {
        if (t.numel() != (long) g.batch() * g.channels() * h * w)
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " does not match geometry " + g + " (expected (" + g.batch() + ", " + g.channels() + ", " + h + ", " + w + "))");
    }

    /** {B, K} of logits (B, K) with one label per row. */
    public static int[] logitsBK(String op, Tensor logits, Tensor labels) {
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be (B, K)");
        int b = logits.dim(0), k = logits.dim(1);
        if (b < 1 || k < 1) throw new IllegalArgumentException(op + ": logits " + logits.shape() + " is empty");
        expect(op, "labels", labels, b, "one per row of logits " + logits.shape());
        return new int[] {b, k};
    }

    /** Dropout's probability and unit size (inner elements per unit) against the tensor it drops. */
    public static void dropout(String op, Tensor a, float p, int inner) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException(op + ": p = " + p + " is not in [0, 1]");
        if (inner < 1 || a.numel() % inner != 0)
            throw new IllegalArgumentException(op + ": inner = " + inner + " does not divide the " + a.numel() + " elements of " + a.shape());
    }
}
