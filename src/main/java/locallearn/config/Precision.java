package locallearn.config;

import java.util.Locale;
import locallearn.tensor.DType;

/**
 * The arithmetic of a run, as {@code --precision} names it. FP32: float32 tensors and float32
 * products. TF32: float32 tensors, but GEMM and convolution round their inputs to TF32 (10
 * mantissa bits, 11 significant) as tensor cores do, and sum in float32. BF16: bfloat16
 * activations with float32 arithmetic. Weights in checkpoints are float32 in every precision.
 */
public enum Precision {
    FP32, TF32, BF16;

    /** "fp32", "tf32" or "bf16"; anything else is an IllegalArgumentException naming the choices. */
    public static Precision parse(String s) {
        for (Precision p : values()) if (p.flag().equals(s)) return p;
        throw new IllegalArgumentException("must be fp32, tf32 or bf16, got '" + s + "'");
    }

    /** The dtype a network's activations are stored in: bf16 for BF16, float32 otherwise. */
    public DType activations() { return this == BF16 ? DType.BF16 : DType.F32; }

    /** The lower-case name, as {@link #parse} takes it and checkpoints record it. */
    public String flag() { return name().toLowerCase(Locale.ROOT); }
}
