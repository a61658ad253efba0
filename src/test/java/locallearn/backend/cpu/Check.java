package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import locallearn.tensor.DType;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/** Test helpers: random data, tensors from arrays, tolerant comparison, central differences. */
final class Check {
    private Check() {}

    static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() * 2 - 1;
        return a;
    }

    /** n distinct values at least 0.05 apart, shuffled: no ties or near-ties for max pooling and ReLU kinks. */
    static float[] spread(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (i - n / 2) * 0.05f + 0.025f;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            float t = a[i]; a[i] = a[j]; a[j] = t;
        }
        return a;
    }

    static Tensor t(CpuBackend be, float[] data, int... dims) {
        Tensor t = be.allocate(dims);
        be.write(t, data);
        return t;
    }

    /** A bf16 tensor of the given values, rounded to nearest even. */
    static Tensor bf16(CpuBackend be, float[] values, int... dims) {
        Tensor t = be.allocate(new Shape(dims), DType.BF16);
        be.write(t, values);
        return t;
    }

    /** The float32 tensor of t's (widened) values. */
    static Tensor wide(CpuBackend be, Tensor t) {
        Tensor f = be.allocate(t.shape());
        be.copy(t, f);
        return f;
    }

    /** Each value rounded through bf16: what a bf16 tensor stores of it. */
    static float[] rounded(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) out[i] = DType.roundTrip(out[i]);
        return out;
    }

    /** Fails with the first mismatches (index, expected, got) where |e - g| > atol + rtol |e|. */
    static void near(String what, double[] expected, float[] got, double atol, double rtol) {
        if (expected.length != got.length) fail(what + ": length " + got.length + ", expected " + expected.length);
        StringBuilder bad = new StringBuilder();
        int count = 0;
        for (int i = 0; i < got.length; i++) {
            double e = expected[i], g = got[i];
            if (!(Math.abs(e - g) <= atol + rtol * Math.abs(e))) {
                if (count++ < 5) bad.append(String.format(" [%d] expected %.7g got %.7g;", i, e, g));
            }
        }
        if (count > 0) fail(what + ": " + count + " of " + got.length + " mismatches:" + bad);
    }

    static void near(String what, float[] expected, float[] got, double atol, double rtol) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) e[i] = expected[i];
        near(what, e, got, atol, rtol);
    }

    /** d loss / d x[i] by central differences with step h; x is restored afterwards. */
    static double[] numericGrad(float[] x, float h, ToDoubleFunction<float[]> loss) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float keep = x[i];
            x[i] = keep + h;
            double up = loss.applyAsDouble(x);
            x[i] = keep - h;
            double down = loss.applyAsDouble(x);
            x[i] = keep;
            g[i] = (up - down) / (2.0 * h);
        }
        return g;
    }

    /** sum of out[i] * r[i] in double: the scalar whose gradient with respect to out is r. */
    static double dot(float[] out, float[] r) {
        double s = 0;
        for (int i = 0; i < out.length; i++) s += (double) out[i] * r[i];
        return s;
    }
}
