package locallearn.data;

import java.util.Arrays;
import locallearn.backend.Philox;

/**
 * The order in which one epoch visits the training set: batches are consecutive slices of
 * {@link #epochOrder(int)} of {@code batchSize} indices (the last one may be shorter).
 *
 * <p><b>Plain shuffling</b>: a Fisher-Yates permutation whose random numbers are Philox4x32-10 of
 * (seed, stream {@code STREAM_BASE + epoch}), so an epoch's order is a pure function of the seed and
 * the epoch number: the same on every machine, and an interrupted run resumes with the same
 * batches without saving any generator state.
 *
 * <p><b>Classes per batch</b> (the reference's NClassRandomSampler, used for CIFAR-100 sim and
 * predsim with K = 20): the shuffled order is cut into batches one at a time. A batch starts with
 * the next K examples; while it holds fewer than 10 classes, the next examples of unseen classes are
 * pulled in, giving up after passing 10*K examples of classes already in; then the batch is filled
 * with the next examples of classes already in it, and if those run out, with whatever comes next.
 * Unlike the reference, no batch grows past {@code batchSize} (there, K + 9 > batchSize would shift
 * every later batch), so the batches stay aligned with slices of the order.
 * Examples not taken keep their place for later batches. This applies to epochs 1 to
 * {@code classesPerBatchUntilEpoch} (0 = all epochs), then plain shuffling, as in the reference.
 * Epochs count from 1, as in the reference and the trainer's logs.
 */
public final class Sampler {
    /** Philox stream of epoch e's order is STREAM_BASE + e: apart from the streams that init and dropout use. */
    static final long STREAM_BASE = 0x534D_504C_0000_0000L;  // "SMPL"
    /** The reference pulls in unseen classes until a batch holds this many. */
    static final int MIN_CLASSES = 10;

    private final int[] labels;
    private final long seed;
    private final int batchSize, classesPerBatch, classesPerBatchUntilEpoch;

    /**
     * @param labels  the training labels (only read when classesPerBatch > 0)
     * @param classesPerBatch  K of {@code --classes-per-batch}; 0 = plain shuffling always
     * @param classesPerBatchUntilEpoch  {@code --classes-per-batch-until-epoch}; 0 = every epoch
     */
    public Sampler(int[] labels, long seed, int batchSize, int classesPerBatch, int classesPerBatchUntilEpoch) {
        if (batchSize <= 0) throw new IllegalArgumentException("Sampler: batch size must be > 0, got " + batchSize);
        if (classesPerBatch < 0 || classesPerBatchUntilEpoch < 0)
            throw new IllegalArgumentException("Sampler: classes per batch " + classesPerBatch + " and until-epoch "
                    + classesPerBatchUntilEpoch + " must be >= 0");
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0) throw new IllegalArgumentException("Sampler: label " + labels[i] + " at index " + i + " is negative");
        }
        this.labels = labels.clone();
        this.seed = seed;
        this.batchSize = batchSize;
        this.classesPerBatch = classesPerBatch;
        this.classesPerBatchUntilEpoch = classesPerBatchUntilEpoch;
    }

    /** Plain shuffling of {@code size} examples. */
    public static Sampler shuffling(int size, long seed, int batchSize) {
        return new Sampler(new int[size], seed, batchSize, 0, 0);
    }

    public int size() { return labels.length; }

    public int batchSize() { return batchSize; }

    /** Does this epoch use the classes-per-batch order? */
    public boolean classesPerBatchIn(int epoch) {
        return classesPerBatch > 0 && (classesPerBatchUntilEpoch == 0 || epoch <= classesPerBatchUntilEpoch);
    }

    /** Every index of the training set once, in this epoch's order. */
    public int[] epochOrder(int epoch) {
        int[] order = permutation(labels.length, seed, STREAM_BASE + epoch);
        return classesPerBatchIn(epoch) ? classesPerBatch(order) : order;
    }

    /**
     * A uniform permutation of 0..n-1 by Fisher-Yates; draw i (for position n-1-i) takes 32 Philox
     * bits and maps them to [0, j] by multiply-shift, whose bias (at most j / 2^32) does not matter here.
     */
    static int[] permutation(int n, long seed, long stream) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        int[] block = null;
        for (int i = 0, j = n - 1; j > 0; i++, j--) {
            if ((i & 3) == 0) block = Philox.block(seed, stream, i >>> 2);
            int r = (int) (((block[i & 3] & 0xFFFFFFFFL) * (j + 1)) >>> 32);
            int t = p[j]; p[j] = p[r]; p[r] = t;
        }
        return p;
    }

    /** Reorders a shuffled order into classes-per-batch batches (class javadoc). */
    int[] classesPerBatch(int[] shuffled) {
        int n = shuffled.length;
        // the examples not yet taken, as a doubly linked list over positions in `shuffled`, so taking
        // one from the middle is O(1) (the reference pops from a Python list, O(n) each)
        int[] next = new int[n + 1], prev = new int[n + 1];
        int head = n;  // sentinel
        for (int i = 0; i <= n; i++) { next[i] = i + 1 > n ? head : i + 1; prev[i] = i - 1 < 0 ? head : i - 1; }
        next[head] = n > 0 ? 0 : head;
        prev[head] = n > 0 ? n - 1 : head;
        int maxClass = 0;
        for (int y : labels) maxClass = Math.max(maxClass, y);
        boolean[] inBatch = new boolean[maxClass + 1];
        int[] out = new int[n];
        int written = 0;
        while (next[head] != head) {
            int start = written, classes = 0;
            // 1) the next K examples
            for (int c = next[head]; c != head && written - start < Math.min(classesPerBatch, batchSize); ) {
                int after = next[c];
                int y = labels[shuffled[c]];
                if (!inBatch[y]) { inBatch[y] = true; classes++; }
                out[written++] = shuffled[c];
                unlink(c, next, prev);
                c = after;
            }
            // 2) pull in unseen classes until 10 are in, giving up after 10*K examples of seen ones
            int passed = 0;
            for (int c = next[head]; c != head && classes < MIN_CLASSES && passed < MIN_CLASSES * classesPerBatch
                    && written - start < batchSize; ) {
                int after = next[c];
                int y = labels[shuffled[c]];
                if (!inBatch[y]) {
                    inBatch[y] = true;
                    classes++;
                    out[written++] = shuffled[c];
                    unlink(c, next, prev);
                } else {
                    passed++;
                }
                c = after;
            }
            // 3) fill with examples of classes already in the batch
            for (int c = next[head]; c != head && written - start < batchSize; ) {
                int after = next[c];
                if (inBatch[labels[shuffled[c]]]) {
                    out[written++] = shuffled[c];
                    unlink(c, next, prev);
                }
                c = after;
            }
            // 4) none left of those classes: whatever comes next
            for (int c = next[head]; c != head && written - start < batchSize; ) {
                int after = next[c];
                out[written++] = shuffled[c];
                unlink(c, next, prev);
                c = after;
            }
            for (int i = start; i < written; i++) inBatch[labels[out[i]]] = false;
        }
        return written == n ? out : Arrays.copyOf(out, written);
    }

    private static void unlink(int c, int[] next, int[] prev) {
        next[prev[c]] = next[c];
        prev[next[c]] = prev[c];
    }
}
