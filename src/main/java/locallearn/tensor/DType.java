package locallearn.tensor;

/**
 * What a tensor's elements are stored as. Arithmetic is always float32: a bfloat16 element is
 * widened on load (exactly: its 16 bits are a float's upper half) and rounded to nearest even on
 * store, as the GPU's {@code __float2bfloat16_rn} does. So bf16 costs precision only where a value
 * is stored, and half the bytes there.
 */
public enum DType {
    F32(4), BF16(2);

    /** Bytes per element: what the allocator accounts. */
    public final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    /** The float a bfloat16 bit pattern stands for. */
    public static float widen(short bf16) { return Float.intBitsToFloat(bf16 << 16); }

    /**
     * The bfloat16 nearest to {@code f}, ties to even; NaN stays a (quiet) NaN, overflow past the
     * largest bf16 becomes infinity, as IEEE rounding says.
     */
    public static short round(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) 0x7fff;
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** {@code f} rounded through bfloat16 and back: what storing it in a bf16 tensor keeps. */
    public static float roundTrip(float f) { return widen(round(f)); }
}
