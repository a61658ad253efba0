package locallearn.tensor;

import java.util.Arrays;

/**
 * The dimensions of a row-major tensor. Letters used across the project: B batch, C channels,
 * H/W spatial, D features, K classes; images are (B, C, H, W).
 */
public record Shape(int... dims) {

    public Shape {
        dims = dims.clone();
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("shape: negative size in " + Arrays.toString(dims));
        }
        long n = 1;
        for (int d : dims) n *= d;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape: " + Arrays.toString(dims) + " has more than 2^31-1 elements");
    }

    public static Shape of(int... dims) { return new Shape(dims); }

    public int rank() { return dims.length; }

    public int dim(int i) { return dims[i < 0 ? dims.length + i : i]; }

    public int numel() {
        int n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    /** Product of the dimensions from {@code from} on: the row length of a (dim0, rest) view. */
    public int sizeFrom(int from) {
        int n = 1;
        for (int i = from; i < dims.length; i++) n *= dims[i];
        return n;
    }

    @Override public int[] dims() { return dims.clone(); }

    @Override public boolean equals(Object o) { return o instanceof Shape s && Arrays.equals(dims, s.dims); }

    @Override public int hashCode() { return Arrays.hashCode(dims); }

    @Override public String toString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ", ").append(dims[i]);
        return b.append(dims.length == 1 ? ",)" : ")").toString();
    }
}
