package locallearn.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Double-precision sums of float runs, sixteen at a time: the reductions behind batch norm's
 * statistics and the feature-map std. A plain {@code s += x[i]} in double waits on each add
 * (one element per add latency); here element j of a run goes to partial sum j % 16, the
 * partials are added in order 0..15 at the end, and the last n % 16 elements follow one by one.
 * That order is fixed by n alone, the same on every machine and thread count (four 4-lane double
 * vectors, which every AVX2 or AVX-512 core runs natively), so results stay bit-identical run to
 * run; they differ from the sequential sum only by double rounding, far below float precision.
 *
 * <p>{@link #FAST} is false when the hardware lacks 256-bit vectors or under
 * {@code -Dlocallearn.plainOps=true}: the families then run their plain loops (the oracles).
 */
final class Lanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_128;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_256;
    /** Elements per step: four vectors of D.length() = 4 partial sums. */
    static final int WIDTH = 16;

    /** The vector paths of the elementwise, batch-norm, pool and std families; false sends them to their plain loops. */
    static final boolean FAST = !Boolean.getBoolean("locallearn.plainOps")
            && DoubleVector.SPECIES_PREFERRED.vectorBitSize() >= 256;

    private Lanes() {}

    private static DoubleVector load(float[] x, int i) {
        return (DoubleVector) FloatVector.fromArray(F, x, i).convertShape(VectorOperators.F2D, D, 0);
    }

    /** The sixteen partials of a0..a3 (partial j = lane j % 4 of a[j / 4]) added in order. */
    private static double reduce(DoubleVector a0, DoubleVector a1, DoubleVector a2, DoubleVector a3) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += a0.lane(j);
        for (int j = 0; j < 4; j++) s += a1.lane(j);
        for (int j = 0; j < 4; j++) s += a2.lane(j);
        for (int j = 0; j < 4; j++) s += a3.lane(j);
        return s;
    }

    /** sum of x[o .. o + n) in double. */
    static double sum(float[] x, int o, int n) {
        DoubleVector a0 = DoubleVector.zero(D), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int end = n - n % WIDTH; i < end; i += WIDTH) {
            a0 = a0.add(load(x, o + i));
            a1 = a1.add(load(x, o + i + 4));
            a2 = a2.add(load(x, o + i + 8));
            a3 = a3.add(load(x, o + i + 12));
        }
        double s = reduce(a0, a1, a2, a3);
        for (; i < n; i++) s += x[o + i];
        return s;
    }

    /** sum of (x - mean)^2 over x[o .. o + n), in double: the second pass of a two-pass variance. */
    static double squaredDeviations(float[] x, int o, int n, double mean) {
        DoubleVector a0 = DoubleVector.zero(D), a1 = a0, a2 = a0, a3 = a0, m = DoubleVector.broadcast(D, mean);
        int i = 0;
        for (int end = n - n % WIDTH; i < end; i += WIDTH) {
            DoubleVector d0 = load(x, o + i).sub(m), d1 = load(x, o + i + 4).sub(m);
            DoubleVector d2 = load(x, o + i + 8).sub(m), d3 = load(x, o + i + 12).sub(m);
            a0 = a0.add(d0.mul(d0));
            a1 = a1.add(d1.mul(d1));
            a2 = a2.add(d2.mul(d2));
            a3 = a3.add(d3.mul(d3));
        }
        double s = reduce(a0, a1, a2, a3);
        for (; i < n; i++) {
            double d = x[o + i] - mean;
            s += d * d;
        }
        return s;
    }

    /**
     * Batch norm backward's two sums over a run: out[0] += sum dy, out[1] += sum dy * xhat with
     * xhat = (x - mean) * invStd rounded to float, as the forward normalised it.
     */
    static void gradientSums(float[] dy, float[] x, int o, int n, float mean, float invStd, double[] out) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = s0, s2 = s0, s3 = s0, p0 = s0, p1 = s0, p2 = s0, p3 = s0;
        FloatVector m = FloatVector.broadcast(F, mean), is = FloatVector.broadcast(F, invStd);
        int i = 0;
        for (int end = n - n % WIDTH; i < end; i += WIDTH) {
            DoubleVector g0 = load(dy, o + i), g1 = load(dy, o + i + 4), g2 = load(dy, o + i + 8), g3 = load(dy, o + i + 12);
            s0 = s0.add(g0);
            s1 = s1.add(g1);
            s2 = s2.add(g2);
            s3 = s3.add(g3);
            p0 = p0.add(g0.mul(xhat(x, o + i, m, is)));
            p1 = p1.add(g1.mul(xhat(x, o + i + 4, m, is)));
            p2 = p2.add(g2.mul(xhat(x, o + i + 8, m, is)));
            p3 = p3.add(g3.mul(xhat(x, o + i + 12, m, is)));
        }
        double sdy = reduce(s0, s1, s2, s3), sdyx = reduce(p0, p1, p2, p3);
        for (; i < n; i++) {
            sdy += dy[o + i];
            sdyx += dy[o + i] * (double) ((x[o + i] - mean) * invStd);
        }
        out[0] += sdy;
        out[1] += sdyx;
    }

    /**
     * sum of x * w over [o, o + n), each product exact in double: gradientSums' second sum with
     * w in place of xhat, so with w = xhat the same bits.
     */
    static double dot(float[] x, float[] w, int o, int n) {
        DoubleVector a0 = DoubleVector.zero(D), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int end = n - n % WIDTH; i < end; i += WIDTH) {
            a0 = a0.add(load(x, o + i).mul(load(w, o + i)));
            a1 = a1.add(load(x, o + i + 4).mul(load(w, o + i + 4)));
            a2 = a2.add(load(x, o + i + 8).mul(load(w, o + i + 8)));
            a3 = a3.add(load(x, o + i + 12).mul(load(w, o + i + 12)));
        }
        double s = reduce(a0, a1, a2, a3);
        for (; i < n; i++) s += x[o + i] * (double) w[o + i];
        return s;
    }

    private static DoubleVector xhat(float[] x, int i, FloatVector mean, FloatVector invStd) {
        return (DoubleVector) FloatVector.fromArray(F, x, i).sub(mean).mul(invStd).convertShape(VectorOperators.F2D, D, 0);
    }

    // ---- across a row: one running sum per column, the plain order kept per column ------------

    /** acc[j] += x[o + j] for j < n: row b of a (B, C) tensor added to per-channel sums, four channels a vector. */
    static void addRow(float[] x, int o, double[] acc, int n) {
        int j = 0;
        for (int end = n - n % 4; j < end; j += 4) DoubleVector.fromArray(D, acc, j).add(load(x, o + j)).intoArray(acc, j);
        for (; j < n; j++) acc[j] += x[o + j];
    }

    /** acc[j] += x[o + j] * w[o + j] for j < n, in double: addGradientRow's second sum with w in place of xhat. */
    static void addProductRow(float[] x, float[] w, int o, double[] acc, int n) {
        int j = 0;
        for (int end = n - n % 4; j < end; j += 4)
            DoubleVector.fromArray(D, acc, j).add(load(x, o + j).mul(load(w, o + j))).intoArray(acc, j);
        for (; j < n; j++) acc[j] += x[o + j] * (double) w[o + j];
    }

    /** acc[j] += (x[o + j] - mean[j])^2 for j < n, in double. */
    static void addSquaredDeviationsRow(float[] x, int o, double[] mean, double[] acc, int n) {
        int j = 0;
        for (int end = n - n % 4; j < end; j += 4) {
            DoubleVector d = load(x, o + j).sub(DoubleVector.fromArray(D, mean, j));
            DoubleVector.fromArray(D, acc, j).add(d.mul(d)).intoArray(acc, j);
        }
        for (; j < n; j++) {
            double d = x[o + j] - mean[j];
            acc[j] += d * d;
        }
    }

    /** sdy[j] += dy[o + j], sdyx[j] += dy[o + j] * xhat with xhat = (x[o + j] - mean[j]) * invStd[j] rounded to float. */
    static void addGradientRow(float[] dy, float[] x, int o, float[] mean, float[] invStd, double[] sdy, double[] sdyx, int n) {
        int j = 0;
        for (int end = n - n % 4; j < end; j += 4) {
            DoubleVector g = load(dy, o + j);
            FloatVector xv = FloatVector.fromArray(F, x, o + j);
            DoubleVector xh = (DoubleVector) xv.sub(FloatVector.fromArray(F, mean, j)).mul(FloatVector.fromArray(F, invStd, j))
                    .convertShape(VectorOperators.F2D, D, 0);
            DoubleVector.fromArray(D, sdy, j).add(g).intoArray(sdy, j);
            DoubleVector.fromArray(D, sdyx, j).add(g.mul(xh)).intoArray(sdyx, j);
        }
        for (; j < n; j++) {
            sdy[j] += dy[o + j];
            sdyx[j] += dy[o + j] * (double) ((x[o + j] - mean[j]) * invStd[j]);
        }
    }
}
