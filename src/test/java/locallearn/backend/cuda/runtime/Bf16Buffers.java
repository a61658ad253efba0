package locallearn.backend.cuda.runtime;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import locallearn.tensor.DType;
import org.junit.jupiter.api.Assertions;

/**
 * Host buffers for the stand-in libraries' bf16 arithmetic (they stand in for device memory),
 * and the tolerance a bf16 product from them is held to against the CPU twin.
 *
 * <p>The tolerance. bf16 keeps 8 significant bits, so rounding to it errs by at most 2^-8 of the
 * value (unit roundoff u = 2^-8); two bf16 values multiply exactly in float32 (16 significant bits
 * of 24), so a product term carries no error and the two sides differ first in their float32
 * sums: in a different order each, each within (k - 1) 2^-24 M of the exact sum, where M is the
 * sum of |terms|, and alpha and beta add a float32 rounding each. That is at most k 2^-22 M
 * (twice the sum of both bounds, for slack). A bf16 output then rounds each side's float once:
 * |got - want| is at most that difference plus 2^-8 (|got| + |want|). A float32 output stays
 * within the first bound, far below one bf16 rounding, so a float32 C that had been rounded
 * through bf16 fails.
 */
final class Bf16Buffers {
    private Bf16Buffers() {}

    /** n Gaussian values, each exactly a bf16 (what a bf16 tensor holds). */
    static float[] bf16Values(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = DType.roundTrip((float) r.nextGaussian());
        return v;
    }

    static MemorySegment bf16(Arena arena, float[] v) {
        MemorySegment s = arena.allocate(JAVA_SHORT, Math.max(1, v.length));
        for (int i = 0; i < v.length; i++) s.setAtIndex(JAVA_SHORT, i, DType.round(v[i]));
        return s;
    }

    static MemorySegment f32(Arena arena, float[] v) {
        MemorySegment s = arena.allocate(JAVA_FLOAT, Math.max(1, v.length));
        for (int i = 0; i < v.length; i++) s.setAtIndex(JAVA_FLOAT, i, v[i]);
        return s;
    }

    static float[] readBf16(MemorySegment s, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = DType.widen(s.getAtIndex(JAVA_SHORT, i));
        return v;
    }

    static float[] readF32(MemorySegment s, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = s.getAtIndex(JAVA_FLOAT, i);
        return v;
    }

    static float[] abs(float[] v) {
        float[] a = new float[v.length];
        for (int i = 0; i < v.length; i++) a[i] = Math.abs(v[i]);
        return a;
    }

    /**
     * got against want element by element, within the class comment's bound: {@code magnitude}[i]
     * is M (|alpha| sum |a b| + |beta c|) of element i, {@code terms} the k of its sum.
     */
    static void assertClose(float[] want, float[] got, float[] magnitude, int terms, boolean bf16Out, String what) {
        Assertions.assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            double tol = Math.max(1, terms) * 0x1.0p-22 * magnitude[i] + (bf16Out ? 0x1.0p-8 * (Math.abs(got[i]) + Math.abs(want[i])) : 0);
            if (!(Math.abs(got[i] - want[i]) <= tol))
                Assertions.fail(what + ": element " + i + " is " + got[i] + ", the CPU twin's " + want[i] + " (tolerance " + tol + ")");
        }
    }
}
