package locallearn.backend;

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
 * counter-based generator behind init, dropout masks and augmentation on both backends. A random
 * number is a pure function of (seed, stream, index): no state to carry, so a GPU thread computes
 * the number of its element directly and gets the same value as this class.
 *
 * <p>Layout, mirrored by {@code kernels/common.cuh}: key = (seed low word, seed high word); counter
 * = (index / 4 low word, index / 4 high word, stream low word, stream high word); the number for
 * {@code index} is lane {@code index % 4} of the output block.
 */
public final class Philox {
    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    private Philox() {}

    /** The four 32-bit outputs for one counter block. */
    public static int[] block(long seed, long stream, long blockIndex) {
        int[] out = new int[4];
        block(seed, stream, blockIndex, out);
        return out;
    }

    /** The block into out[0..3]: for loops that draw many blocks without allocating one array each. */
    public static void block(long seed, long stream, long blockIndex, int[] out) {
        int c0 = (int) blockIndex, c1 = (int) (blockIndex >>> 32), c2 = (int) stream, c3 = (int) (stream >>> 32);
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0; c1 = n1; c2 = n2; c3 = n3;
            k0 += W0; k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** 32 random bits for element {@code index} of {@code stream}. */
    public static int bits(long seed, long stream, long index) {
        return block(seed, stream, index >>> 2)[(int) (index & 3)];
    }

    /** Uniform in [0, 1) with 24 bits, exactly representable as a float. */
    public static float uniform(long seed, long stream, long index) {
        return (bits(seed, stream, index) >>> 8) * 0x1.0p-24f;
    }

    /** Fills {@code out} with uniforms for indices 0..n-1 of {@code stream}, four per block. */
    public static void uniforms(long seed, long stream, float[] out, int offset, int n) {
        int[] b = new int[4];
        for (int i = 0; i < n; i += 4) {
            block(seed, stream, i >>> 2, b);
            for (int j = 0; j < 4 && i + j < n; j++) out[offset + i + j] = (b[j] >>> 8) * 0x1.0p-24f;
        }
    }
}
