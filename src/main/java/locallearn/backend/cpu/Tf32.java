package locallearn.backend.cpu;

/**
 * Float32 to TF32 as the GPU's tensor-op math takes its inputs, for the CPU twin of
 * {@code --precision tf32}. TF32 keeps float32's sign and 8 exponent bits and the top 10 of its 23
 * mantissa bits (11 significant bits with the implicit one). The value is rounded to the nearest
 * TF32 number, ties away from zero: half a TF32 ulp (bit 12) is added to the bit pattern and the
 * 13 low bits are cleared. That is PTX's {@code cvt.rna.tf32.f32} and CUTLASS's
 * {@code round_half_ulp_truncate} conversion to {@code tfloat32_t}, and {@code tf32_round} in
 * kernels/common.cuh does the same bits. A carry out of the mantissa steps the exponent, which is
 * right (and gives infinity above the largest TF32 number); infinities and NaN pass unchanged.
 * So |round(x) - x| <= 2^-11 |x|.
 */
final class Tf32 {
    private Tf32() {}

    static float round(float x) {
        int bits = Float.floatToRawIntBits(x);
        int rounded = (bits + 0x1000) & 0xffffe000;
        return (bits & 0x7f800000) == 0x7f800000 ? x : Float.intBitsToFloat(rounded);
    }

    /** a[from .. to) rounded in place. */
    static void round(float[] a, int from, int to) {
        for (int i = from; i < to; i++) a[i] = round(a[i]);
    }

    /** v itself for float32 inputs, round(v) for TF32: the packing loops take their inputs through here. */
    static float input(float v, boolean tf32) { return tf32 ? round(v) : v; }
}
