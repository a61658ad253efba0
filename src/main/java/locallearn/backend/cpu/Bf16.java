package locallearn.backend.cpu;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import locallearn.tensor.DType;

/**
 * How the CPU runs an op on bfloat16 tensors with the float loops it has: each bf16 argument is
 * seen as a float array of the calling thread for the op ({@link #floats}); what the op reads is
 * widened into it first, and when the op is done ({@link #finish}, from
 * {@code CheckedBackend.finishOp}) what it wrote is rounded to nearest even back into the bf16
 * storage. So every op reads bf16 inputs as the GPU's kernels widen them and rounds its bf16
 * results exactly once, where those kernels store them: the twins differ by summation order only.
 * Arguments that share a block (in place, y == x) share one array.
 *
 * <p>The float arrays are scratch, not tensors: they live for one op, at most the arguments of
 * the largest op (a convolution's input and output), and up to {@link #SPARE_BYTES} of them stay
 * with the thread, by exact size, for the next op (a step asks for the same sizes every time).
 * The allocator's figures count the bf16 bytes, as on the GPU.
 */
final class Bf16 {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** Float arrays a thread keeps between ops. */
    static final long SPARE_BYTES = 64L << 20;

    /** A block's float array for the current op: elements [0, loaded) hold its values, [0, stored) are written back. */
    private static final class Open {
        final float[] f;
        int loaded, stored;

        Open(float[] f) { this.f = f; }
    }

    /** The bf16 blocks the current op of this thread uses, and spare float arrays by length. */
    private static final class Stage {
        final Map<CpuStorage, Open> open = new IdentityHashMap<>();
        final Map<Integer, ArrayDeque<float[]>> spare = new HashMap<>();
        long spareBytes;
    }

    private static final ThreadLocal<Stage> STAGE = ThreadLocal.withInitial(Stage::new);

    private Bf16() {}

    /**
     * The float array of {@code s}'s bf16 elements for the current op, the same however often
     * the op asks: with {@code load} its first n elements hold their values; with {@code store}
     * the op writes them (all n, when it does not also load) and they are rounded back after it.
     */
    static float[] floats(CpuStorage s, int n, boolean load, boolean store) {
        Stage st = STAGE.get();
        Open o = st.open.get(s);
        if (o == null) {
            short[] h = s.halves();
            ArrayDeque<float[]> q = st.spare.get(h.length);
            float[] f = q == null || q.isEmpty() ? null : q.pop();
            if (f == null) f = new float[h.length];
            else st.spareBytes -= 4L * f.length;
            st.open.put(s, o = new Open(f));
        }
        if (load && n > o.loaded) {
            widen(s.halves(), o.loaded, o.f, o.loaded, n - o.loaded);
            o.loaded = n;
        }
        if (store) o.stored = Math.max(o.stored, n);
        return o.f;
    }

    /** Rounds what the op wrote back into its storage and keeps the arrays for the next op. */
    static void finish() {
        Stage st = STAGE.get();
        if (st.open.isEmpty()) return;
        for (Map.Entry<CpuStorage, Open> e : st.open.entrySet()) {
            Open o = e.getValue();
            if (o.stored > 0) round(o.f, e.getKey().halves(), o.stored);
            if (st.spareBytes + 4L * o.f.length <= SPARE_BYTES) {
                st.spare.computeIfAbsent(o.f.length, k -> new ArrayDeque<>()).push(o.f);
                st.spareBytes += 4L * o.f.length;
            }
        }
        st.open.clear();
    }

    static void widen(short[] h, float[] f, int n) { widen(h, 0, f, 0, n); }

    static void round(float[] f, short[] h, int n) { round(f, 0, h, 0, n); }

    /** f[fo + i] = the float of bf16 h[ho + i] for i &lt; n, on all cores. */
    static void widen(short[] h, int ho, float[] f, int fo, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> {
            int i = from;
            if (Lanes.FAST) {
                for (int end = from + H.loopBound(to - from); i < end; i += H.length()) {
                    IntVector bits = (IntVector) ShortVector.fromArray(H, h, ho + i).convertShape(VectorOperators.S2I, I, 0);
                    bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(f, fo + i);
                }
            }
            for (; i < to; i++) f[fo + i] = DType.widen(h[ho + i]);
        });
    }

    /** h[ho + i] = f[fo + i] rounded to the nearest bf16 (ties to even; NaN stays NaN) for i &lt; n, on all cores. */
    static void round(float[] f, int fo, short[] h, int ho, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> {
            int i = from;
            if (Lanes.FAST) {
                for (int end = from + H.loopBound(to - from); i < end; i += H.length()) {
                    IntVector bits = FloatVector.fromArray(F, f, fo + i).reinterpretAsInts();
                    IntVector odd = bits.lanewise(VectorOperators.LSHR, 16).and(1);
                    IntVector r = bits.add(0x7fff).add(odd).lanewise(VectorOperators.LSHR, 16);
                    VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
                    r = r.blend(0x7fff, nan);
                    ((ShortVector) r.convertShape(VectorOperators.I2S, H, 0)).intoArray(h, ho + i);
                }
            }
            for (; i < to; i++) h[ho + i] = DType.round(f[fo + i]);
        });
    }

    /** dst[do + i] = src[so + i] for i &lt; n: bf16 to bf16, no rounding. */
    static void copy(short[] src, int so, short[] dst, int dOff, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> System.arraycopy(src, so + from, dst, dOff + from, to - from));
    }
}
