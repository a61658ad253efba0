package locallearn.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import locallearn.backend.Philox;

/**
 * Family "elementwise": the ops that need more than one line in CpuBackend. Each runs over
 * ranges of elements split by Parallel.range; every element is computed on its own, so the
 * split cannot change a result, and the vector paths do the plain loops' float arithmetic lane by
 * lane (selects, not branches), so they give the same bits.
 */
final class Elementwise {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Elementwise() {}

    /**
     * y = x > 0 ? x : slope * x over [from, to). The plain loop's branch follows the sign of each
     * activation, which is a coin flip the branch predictor loses half the time (20x slower than
     * memory allows on a 33 MB tensor); the vector path selects by a lane mask instead.
     */
    static void leakyReluForward(float[] x, float[] y, float slope, int from, int to) {
        int i = from;
        if (Lanes.FAST) {
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, x, i);
                v.mul(slope).blend(v, v.compare(VectorOperators.GT, 0f)).intoArray(y, i);
            }
        }
        for (; i < to; i++) {
            float v = x[i];
            y[i] = v > 0 ? v : slope * v;
        }
    }

    /** dx = y > 0 ? dy : slope * dy over [from, to); dx may be dy. */
    static void leakyReluBackward(float[] y, float[] dy, float[] dx, float slope, int from, int to) {
        int i = from;
        if (Lanes.FAST) {
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector g = FloatVector.fromArray(S, dy, i);
                g.mul(slope).blend(g, FloatVector.fromArray(S, y, i).compare(VectorOperators.GT, 0f)).intoArray(dx, i);
            }
        }
        for (; i < to; i++) dx[i] = y[i] > 0 ? dy[i] : slope * dy[i];
    }

    /** out = a * b, or out + a * b when accumulating, over [from, to): a float multiply (and add) per element; out may be a or b. */
    static void multiply(float[] a, float[] b, float[] out, boolean accumulate, int from, int to) {
        int i = from;
        if (Lanes.FAST) {
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector p = FloatVector.fromArray(S, a, i).mul(FloatVector.fromArray(S, b, i));
                (accumulate ? FloatVector.fromArray(S, out, i).add(p) : p).intoArray(out, i);
            }
        }
        if (accumulate) for (; i < to; i++) out[i] += a[i] * b[i];
        else for (; i < to; i++) out[i] = a[i] * b[i];
    }

    /** y[o + j] += b[j] for j < n: a bias row (a vector add of the plain loop's float add). */
    static void addRow(float[] y, int o, float[] b, int n) {
        int j = 0;
        if (Lanes.FAST) {
            for (int end = S.loopBound(n); j < end; j += S.length())
                FloatVector.fromArray(S, y, o + j).add(FloatVector.fromArray(S, b, j)).intoArray(y, o + j);
        }
        for (; j < n; j++) y[o + j] += b[j];
    }

    /** d[dOff + i] = s[sOff + i] for i < n, in parallel ranges when large (s and d distinct). */
    static void copy(float[] s, int sOff, float[] d, int dOff, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> System.arraycopy(s, sOff + from, d, dOff + from, to - from));
    }

    /**
     * y = x * keep / (1 - p) for x, y of n elements; unit u = i / inner is dropped when
     * Philox.uniform(seed, stream, u) < p. The scale is the float 1 / (1 - p), multiplied (a GPU
     * kernel that does the same matches bit for bit); p = 1 drops everything (y = 0).
     */
    static void dropout(float[] x, float[] y, int n, float p, long seed, long stream, int inner) {
        float scale = p < 1 ? 1f / (1f - p) : 0f;
        // ranges of units start at multiples of 4: one Philox block serves four units
        Parallel.range(n / inner, Math.max(4, CpuBackend.GRAIN / inner), 4, (from, to) -> {
            if (Lanes.FAST && inner == 1) dropoutElements(x, y, p, seed, stream, scale, from, to);
            else dropout(x, y, p, seed, stream, inner, scale, from, to);
        });
    }

    /** The plain loop, kept as the oracle: one unit at a time, whole units zeroed or scaled. */
    private static void dropout(float[] x, float[] y, float p, long seed, long stream, int inner, float scale, int from, int to) {
        int[] block = null;
        for (int u = from; u < to; u++) {
            if (block == null || (u & 3) == 0) block = Philox.block(seed, stream, u >>> 2);
            float r = (block[u & 3] >>> 8) * 0x1.0p-24f;
            int o = u * inner;
            if (r < p) {
                java.util.Arrays.fill(y, o, o + inner, 0f);
            } else {
                for (int i = 0; i < inner; i++) y[o + i] = x[o + i] * scale;
            }
        }
    }

    /**
     * Element dropout (inner = 1): one Philox block into a reused array per four elements, and a
     * select per element, not a branch (the drop is a coin flip a predictor cannot learn).
     */
    private static void dropoutElements(float[] x, float[] y, float p, long seed, long stream, float scale, int from, int to) {
        int[] block = new int[4];
        for (int u = from; u < to; u++) {
            if (u == from || (u & 3) == 0) Philox.block(seed, stream, u >>> 2, block);
            float r = (block[u & 3] >>> 8) * 0x1.0p-24f;
            y[u] = r < p ? 0f : x[u] * scale;
        }
    }

    /**
     * dbias[c] (+)= sum of dy over b and inner, in double, in the order b, i for each channel;
     * threads take whole channels. For fc gradients (inner = 1) rows are added to per-channel
     * sums, four channels a vector, which keeps that order.
     */
    static void biasBackward(float[] dy, float[] db, boolean accumulate, int nb, int nc, int inner) {
        Parallel.range(nc, Math.max(1, CpuBackend.GRAIN / (nb * inner)), 1, (c0, c1) -> {
            if (Lanes.FAST && inner == 1) {
                double[] s = new double[c1 - c0];
                for (int b = 0; b < nb; b++) Lanes.addRow(dy, b * nc + c0, s, c1 - c0);
                for (int c = c0; c < c1; c++) db[c] = accumulate ? (float) (db[c] + s[c - c0]) : (float) s[c - c0];
                return;
            }
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++)
                    for (int i = 0, o = (b * nc + c) * inner; i < inner; i++) s += dy[o + i];
                db[c] = accumulate ? (float) (db[c] + s) : (float) s;
            }
        });
    }
}
