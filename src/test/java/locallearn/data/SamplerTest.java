package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

class SamplerTest {

    static void assertPermutation(int[] order, int n) {
        assertEquals(n, order.length);
        BitSet seen = new BitSet(n);
        for (int i : order) { assertFalse(seen.get(i), "index " + i + " twice"); seen.set(i); }
        assertEquals(n, seen.cardinality());
    }

    static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    @Test void shufflingIsAPermutationFixedBySeedAndEpoch() {
        Sampler s = Sampler.shuffling(1000, 7, 128);
        int[] e1 = s.epochOrder(1);
        assertPermutation(e1, 1000);
        assertArrayEquals(e1, Sampler.shuffling(1000, 7, 128).epochOrder(1));
        assertFalse(Arrays.equals(e1, s.epochOrder(2)));
        assertFalse(Arrays.equals(e1, Sampler.shuffling(1000, 8, 128).epochOrder(1)));
        assertFalse(Arrays.equals(e1, identity(1000)));
    }

    @Test void shufflingIsRoughlyUniform() {
        // where index 0 lands over 4000 epochs of 8 elements: each position expects 500, and a binomial
        // count's std is sqrt(4000 * 1/8 * 7/8) = 20.9, so 6 std (125) only fails for a broken shuffle
        int[] counts = new int[8];
        Sampler s = Sampler.shuffling(8, 3, 8);
        for (int e = 0; e < 4000; e++) {
            int[] o = s.epochOrder(e);
            for (int p = 0; p < 8; p++) if (o[p] == 0) counts[p]++;
        }
        for (int c : counts) assertEquals(500, c, 125, Arrays.toString(counts));
    }

    @Test void classesPerBatchFollowsTheReferenceStepsByHand() {
        // K=2, batch 4, shuffled order = identity. Batch 1: takes 0,1 (class 0); pulls in unseen 2 (class 1),
        // passes 3, pulls 4 (class 2): full. Batch 2: 3,5 (classes 1,0), pulls 6 (3), passes 7, pulls 8 (2).
        // Batch 3: 7,9 (1,2), pulls 10 (3), passes 11, then fills with 11 (class 3 is in).
        int[] labels = {0, 0, 1, 1, 2, 0, 3, 1, 2, 2, 3, 3};
        Sampler s = new Sampler(labels, 0, 4, 2, 0);
        assertArrayEquals(new int[] {0, 1, 2, 4, 3, 5, 6, 8, 7, 9, 10, 11}, s.classesPerBatch(identity(12)));
    }

    @Test void classesPerBatchGivesUpAfterTenTimesKSeenExamples() {
        // K=1, batch 3: after 0 (class 0) the scan passes 1..10 (class 0, 10 = 10*K) and gives up before 11
        // (class 7); the batch fills with 1, 2. Batch 2: 3, passes 4..10 (7 < 10), pulls 11, fills with 4.
        int[] labels = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
        Sampler s = new Sampler(labels, 0, 3, 1, 0);
        assertArrayEquals(new int[] {0, 1, 2, 3, 11, 4, 5, 6, 7, 8, 9, 10}, s.classesPerBatch(identity(12)));
    }

    @Test void classesPerBatchFillsWithAnyClassWhenItsOwnRunOut() {
        // K=10, batch 12: 0..9 are 10 classes, none of 10, 11, 12 shares one, so 10 and 11 fill the batch
        int[] labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        Sampler s = new Sampler(labels, 0, 12, 10, 0);
        assertArrayEquals(identity(13), s.classesPerBatch(identity(13)));
    }

    @Test void classesPerBatchOnCifar100LikeLabelsKeepsBatchesNarrow() {
        // 100 classes x 50 examples, K = 20 as the paper's CIFAR-100 runs, batch 128
        int[] labels = new int[5000];
        for (int i = 0; i < labels.length; i++) labels[i] = i % 100;
        Sampler s = new Sampler(labels, 1, 128, 20, 3);
        int[] order = s.epochOrder(1);
        assertPermutation(order, 5000);
        int full = 0, narrow = 0;
        for (int b = 0; b + 128 <= order.length; b += 128) {
            BitSet classes = new BitSet();
            for (int i = b; i < b + 128; i++) classes.set(labels[order[i]]);
            full++;
            // K = 20 random examples bring at most 20 classes, and 20 >= 10 so none are pulled in
            if (classes.cardinality() <= 20) narrow++;
        }
        // a plain shuffle would put about 72 classes in a batch of 128; late in the epoch the remaining
        // examples of the batch's classes run out and other classes fill in, so not every batch is narrow
        assertTrue(narrow >= full * 3 / 4, narrow + " of " + full + " batches have <= 20 classes");
        // after --classes-per-batch-until-epoch 3, epoch 4 is plain shuffling
        assertFalse(s.classesPerBatchIn(4));
        assertArrayEquals(Sampler.permutation(5000, 1, Sampler.STREAM_BASE + 4), s.epochOrder(4));
        assertTrue(s.classesPerBatchIn(3));
    }
}
