package locallearn.backend.cpu;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import locallearn.tensor.DType;
import locallearn.tensor.Tensor;

/**
 * How the CPU runs an op on bfloat16 tensors with the float loops it has, in one of two ways;
 * either way every op reads bf16 inputs as the GPU's kernels widen them and rounds its bf16
 * results exactly once, where those kernels store them: the twins differ by summation order only.
 *
 * <p>Ops whose outputs at a unit (an element, or a plane) come from their inputs at that unit
 * alone stream ({@link #stream}): pointwise ones (leaky ReLU, axpy, scale, multiply, fill) and
 * the pools. A thread widens a run of units, about {@link #CHUNK} elements, of each argument into
 * small float tiles that stay in L1, runs the op's float loop on them and rounds what it wrote
 * back, so a bf16 op moves half the bytes of the float one.
 *
 * <p>Batch norm (training and evaluation forward, backward, the channel sums) visits a channel's
 * planes across the batch, a statistics pass before the normalising one, so it cannot stream by
 * units; it takes its activations as {@link Elements} and loads and stores the runs each pass
 * visits itself, through tiles of the same size: runs of planes of one image (one plane when a
 * plane is longer than a tile) or a row's channels.
 *
 * <p>A product's B, for the mlp a 1M-element weight copy, is widened as GEMM packs it
 * ({@code Gemm.halves}). Every other op (a product's A and the convolutions, whose packing reads
 * each element many times, so a copy costs them little; dropout, the bias, the feature-map std, the losses and the
 * similarity matrix, which visit their elements in orders of their own and whose conversions a
 * JFR profile of vgg8b's bf16 step hardly shows) sees each bf16 argument as a float array of the
 * calling thread for the op ({@link #floats}); what the op reads is widened into it first, and
 * when the op is done ({@link #finish}, from {@code CheckedBackend.finishOp}) what it wrote is
 * rounded to nearest even back into the bf16 storage. Arguments that share a block (in place,
 * y == x) share one array. Those arrays are scratch, not tensors: they live for one op, at most
 * the arguments of the largest op (a convolution's input and output). They stay with the thread
 * for the next op, which takes the shortest spare at least as long as it needs (its tail past
 * the block is never read), up to {@link #SPARE_BYTES} or the most the thread's largest op has
 * held at once, whichever is more: so they never hold more than that op needs anyway (vgg8b at
 * batch 32 in global mode: the second convolution's maps of 4M and 8M elements, about 50 MiB,
 * within the bound). Past the bound the shortest spares go first, since a long one serves any
 * op. A step asks for the same sizes every time, so in steady state no op allocates.
 * The allocator's figures count the bf16 bytes, as on the GPU.
 */
final class Bf16 {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** Float arrays a thread keeps between ops, unless one op held more at once. */
    static final long SPARE_BYTES = 64L << 20;
    /** Elements a streamed op converts at a time, about: four float tiles and their bf16 runs take 24 KB, within any L1. */
    static final int CHUNK = 1024;

    /** A block's float array for the current op: elements [0, loaded) hold its values, [0, stored) are written back. */
    private static final class Open {
        final float[] f;
        int loaded, stored;

        Open(float[] f) { this.f = f; }
    }

    /** Spare float arrays by length: at most {@code bound} bytes of them, or the most one op has held at once when that is more. */
    static final class Spares {
        private final TreeMap<Integer, ArrayDeque<float[]>> byLength = new TreeMap<>();
        private long bound, bytes;

        Spares(long bound) { this.bound = bound; }

        /** Lets the spares hold what an op just held at once, so that the next such op finds all its arrays. */
        void held(long opBytes) { bound = Math.max(bound, opBytes); }

        /** The shortest spare of at least n elements, or a new array of n. */
        float[] take(int n) {
            Map.Entry<Integer, ArrayDeque<float[]>> e = byLength.ceilingEntry(n);
            return e == null ? new float[n] : pop(e);
        }

        /** Keeps f for later, then drops the shortest spares while they hold more than the bound. */
        void keep(float[] f) {
            byLength.computeIfAbsent(f.length, k -> new ArrayDeque<>()).push(f);
            bytes += 4L * f.length;
            while (bytes > bound) pop(byLength.firstEntry());
        }

        long bytes() { return bytes; }

        private float[] pop(Map.Entry<Integer, ArrayDeque<float[]>> e) {
            float[] f = e.getValue().pop();
            if (e.getValue().isEmpty()) byLength.remove(e.getKey());
            bytes -= 4L * f.length;
            return f;
        }
    }

    /** The bf16 blocks the current op of this thread uses, and the thread's spare arrays. */
    private static final class Stage {
        final Map<CpuStorage, Open> open = new IdentityHashMap<>();
        final Spares spares = new Spares(SPARE_BYTES);
    }

    private static final ThreadLocal<Stage> STAGE = ThreadLocal.withInitial(Stage::new);

    private Bf16() {}

    /**
     * The float array of {@code s}'s bf16 elements for the current op, the same however often
     * the op asks: with {@code load} its first n elements hold their values; with {@code store}
     * the op writes them (all n, when it does not also load) and they are rounded back after it.
     * The array may be longer than the block.
     */
    static float[] floats(CpuStorage s, int n, boolean load, boolean store) {
        Stage st = STAGE.get();
        Open o = st.open.get(s);
        if (o == null) st.open.put(s, o = new Open(st.spares.take(s.halves().length)));
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
        long held = 0;
        for (Open o : st.open.values()) held += 4L * o.f.length;
        st.spares.held(held);
        for (Map.Entry<CpuStorage, Open> e : st.open.entrySet()) {
            Open o = e.getValue();
            if (o.stored > 0) round(o.f, e.getKey().halves(), o.stored);
            st.spares.keep(o.f);
        }
        st.open.clear();
    }

    /** An argument of a streamed op: its tensor, and whether the op reads it, writes it, or both. */
    record Arg(Tensor tensor, boolean load, boolean store) {
        CpuStorage storage() { return (CpuStorage) tensor.storage(); }
    }

    /**
     * A streamed op's float loop over units [from, to) of its arguments' arrays, all indexed
     * alike, in the order of its arguments: elements for a pointwise op, planes (b, c) for a pool.
     */
    interface Loop { void run(float[][] a, int from, int to); }

    /**
     * Runs loop over the units of bf16 arguments (each argument's elements split evenly among
     * them), in parallel ranges of at least {@code grain} units, each a run of units at a time on
     * tiles of about {@link #CHUNK} elements (see the class comment): the loop sees units
     * [0, len) of the tiles. Arguments on one block share a tile, so an op in place reads each
     * element before it overwrites it, as on float arrays. The loop must write every element of
     * the units it is given of an argument it writes but does not read.
     */
    static void stream(int units, int grain, Loop loop, Arg... args) {
        int[] per = new int[args.length];
        int widest = 1;
        for (int k = 0; k < args.length; k++) widest = Math.max(widest, per[k] = args[k].tensor().numel() / Math.max(1, units));
        int run = Math.max(1, CHUNK / widest);
        Parallel.range(units, grain, 1, (from, to) -> {
            float[][] tiles = new float[args.length][];
            for (int k = 0; k < args.length; k++) {
                for (int j = 0; j < k && tiles[k] == null; j++) if (args[j].storage() == args[k].storage()) tiles[k] = tiles[j];
                if (tiles[k] == null) tiles[k] = new float[Math.min(run, to - from) * per[k]];
            }
            for (int u = from; u < to; u += run) {
                int len = Math.min(run, to - u);
                for (int k = 0; k < args.length; k++)
                    if (loads(args, k)) widenRun(args[k].storage().halves(), u * per[k], tiles[k], 0, len * per[k]);
                loop.run(tiles, 0, len);
                for (int k = 0; k < args.length; k++)
                    if (stores(args, k)) roundRun(tiles[k], 0, args[k].storage().halves(), u * per[k], len * per[k]);
            }
        });
    }

    /** Whether argument k is the first on its block and the op reads that block through any argument. */
    private static boolean loads(Arg[] args, int k) { return first(args, k) && any(args, k, true); }

    private static boolean stores(Arg[] args, int k) { return first(args, k) && any(args, k, false); }

    private static boolean first(Arg[] args, int k) {
        for (int j = 0; j < k; j++) if (args[j].storage() == args[k].storage()) return false;
        return true;
    }

    private static boolean any(Arg[] args, int k, boolean load) {
        for (Arg a : args) if (a.storage() == args[k].storage() && (load ? a.load() : a.store())) return true;
        return false;
    }

    static void widen(short[] h, float[] f, int n) { widen(h, 0, f, 0, n); }

    static void round(float[] f, short[] h, int n) { round(f, 0, h, 0, n); }

    /** f[fo + i] = the float of bf16 h[ho + i] for i &lt; n, on all cores. */
    static void widen(short[] h, int ho, float[] f, int fo, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> widenRun(h, ho + from, f, fo + from, to - from));
    }

    /** h[ho + i] = f[fo + i] rounded to the nearest bf16 (ties to even; NaN stays NaN) for i &lt; n, on all cores. */
    static void round(float[] f, int fo, short[] h, int ho, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> roundRun(f, fo + from, h, ho + from, to - from));
    }

    /** {@link #widen} on the calling thread. */
    static void widenRun(short[] h, int ho, float[] f, int fo, int n) {
        int i = 0;
        if (Lanes.FAST) {
            for (int end = H.loopBound(n); i < end; i += H.length()) {
                IntVector bits = (IntVector) ShortVector.fromArray(H, h, ho + i).convertShape(VectorOperators.S2I, I, 0);
                bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(f, fo + i);
            }
        }
        for (; i < n; i++) f[fo + i] = DType.widen(h[ho + i]);
    }

    /** {@link #round} on the calling thread. */
    static void roundRun(float[] f, int fo, short[] h, int ho, int n) {
        int i = 0;
        if (Lanes.FAST) {
            for (int end = H.loopBound(n); i < end; i += H.length()) {
                IntVector bits = FloatVector.fromArray(F, f, fo + i).reinterpretAsInts();
                IntVector odd = bits.lanewise(VectorOperators.LSHR, 16).and(1);
                IntVector r = bits.add(0x7fff).add(odd).lanewise(VectorOperators.LSHR, 16);
                VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
                r = r.blend(0x7fff, nan);
                ((ShortVector) r.convertShape(VectorOperators.I2S, H, 0)).intoArray(h, ho + i);
            }
        }
        for (; i < n; i++) h[ho + i] = DType.round(f[fo + i]);
    }

    /** dst[do + i] = src[so + i] for i &lt; n: bf16 to bf16, no rounding. */
    static void copy(short[] src, int so, short[] dst, int dOff, int n) {
        Parallel.range(n, CpuBackend.GRAIN, 1, (from, to) -> System.arraycopy(src, so + from, dst, dOff + from, to - from));
    }
}
