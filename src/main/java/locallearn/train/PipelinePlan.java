package locallearn.train;

import java.util.Arrays;

/**
 * How a local run's hidden blocks are split into pipeline stages ({@code train --pipeline S} or
 * {@code --stages 0-2,3-5,6-7}): S contiguous stages balanced by the blocks' measured step
 * times, or the ranges given; and how many batches may wait between two stages. The output
 * layer trains in the last stage. Results do not depend on the plan: stage s trains batch t with
 * its blocks as batch t - 1 left them, which is what training in sequence does.
 *
 * @param stages     the number of stages, at least 2
 * @param firstBlock the first block of each stage and then the block count (stages + 1 entries),
 *                   or null to balance by measured times
 * @param depth      batches a queue between two stages holds, 1 or 2
 */
public record PipelinePlan(int stages, int[] firstBlock, int depth) {

    public PipelinePlan {
        if (stages < 2) throw new IllegalArgumentException("pipeline: at least 2 stages, got " + stages + " (one stage is the run in sequence)");
        if (depth < 1 || depth > 2) throw new IllegalArgumentException("pipeline-depth must be 1 or 2, got " + depth);
        if (firstBlock != null) {
            firstBlock = firstBlock.clone();
            if (firstBlock.length != stages + 1 || firstBlock[0] != 0)
                throw new IllegalArgumentException("stages must start at block 0, got " + Arrays.toString(firstBlock));
            for (int s = 0; s < stages; s++)
                if (firstBlock[s + 1] <= firstBlock[s]) throw new IllegalArgumentException("stages must be non-empty block ranges in order");
        }
    }

    /** S stages, split where the blocks' measured step times balance best; queues of one batch. */
    public static PipelinePlan balanced(int stages) { return new PipelinePlan(stages, null, 1); }

    /** Explicit ranges of blocks, {@code "0-2,3-5,6-7"} (a single block may stand alone: {@code "0,1-3"}); queues of one batch. */
    public static PipelinePlan parse(String ranges) {
        String[] parts = ranges.split(",", -1);
        int[] first = new int[parts.length + 1];
        int next = 0;
        for (int s = 0; s < parts.length; s++) {
            String[] ab = parts[s].trim().split("-", -1);
            int a, b;
            try {
                a = Integer.parseInt(ab[0].trim());
                b = ab.length == 1 ? a : Integer.parseInt(ab[1].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("stages must be block ranges like 0-2,3-5,6-7, got '" + ranges + "'");
            }
            if (ab.length > 2 || a != next || b < a)
                throw new IllegalArgumentException("stages must be block ranges in order from block 0, like 0-2,3-5,6-7, got '" + ranges + "'");
            first[s] = a;
            next = b + 1;
        }
        first[parts.length] = next;
        return new PipelinePlan(parts.length, first, 1);
    }

    public PipelinePlan withDepth(int d) { return new PipelinePlan(stages, firstBlock, d); }

    /** Are the stages given, not to be balanced by measurement? */
    public boolean explicit() { return firstBlock != null; }

    /**
     * The first block of each stage and then {@code blocks}, for a network of that many blocks
     * whose step times are {@code costs} (only read when balancing): the contiguous split whose
     * slowest stage is fastest.
     */
    int[] split(int blocks, double[] costs) {
        int[] every = new int[blocks + 1];
        for (int i = 0; i <= blocks; i++) every[i] = i;
        return split(every, costs);
    }

    /**
     * The same where a stage may only start at the first block of a group: {@code groupFirst}
     * holds each group's first block and then the block count (a residual unit's blocks are one
     * group, which a stage boundary cannot cut).
     */
    int[] split(int[] groupFirst, double[] costs) {
        int groups = groupFirst.length - 1, blocks = groupFirst[groups];
        if (stages > groups) throw new IllegalArgumentException("pipeline: " + stages + " stages but the model has " + groups
                + (groups == blocks ? " blocks" : " units (a residual unit's blocks stay in one stage)"));
        if (firstBlock != null) {
            if (firstBlock[stages] != blocks)
                throw new IllegalArgumentException("stages must cover blocks 0-" + (blocks - 1) + ", got 0-" + (firstBlock[stages] - 1));
            for (int s = 1; s < stages; s++)
                if (Arrays.binarySearch(groupFirst, firstBlock[s]) < 0)
                    throw new IllegalArgumentException("stages: block " + firstBlock[s] + " is inside a residual unit; a stage starts at a unit's first block");
            return firstBlock.clone();
        }
        double[] prefix = new double[groups + 1];
        for (int g = 0; g < groups; g++) {
            double c = 0;
            for (int i = groupFirst[g]; i < groupFirst[g + 1]; i++) c += costs[i];
            prefix[g + 1] = prefix[g] + c;
        }
        int[] cutGroups = splitGroups(groups, prefix);
        int[] first = new int[stages + 1];
        for (int s = 0; s <= stages; s++) first[s] = groupFirst[cutGroups[s]];
        return first;
    }

    /** The balanced cut of {@code n} items with cost prefix sums {@code prefix}: each stage's first item, then n. */
    private int[] splitGroups(int n, double[] prefix) {
        // best[s][i]: the least slowest-stage time for items [0, i) in s stages; cut[s][i] where the last of them starts
        double[][] best = new double[stages + 1][n + 1];
        int[][] cut = new int[stages + 1][n + 1];
        for (double[] row : best) Arrays.fill(row, Double.POSITIVE_INFINITY);
        best[0][0] = 0;
        for (int s = 1; s <= stages; s++)
            for (int i = s; i <= n; i++)
                for (int j = s - 1; j < i; j++) {
                    double t = Math.max(best[s - 1][j], prefix[i] - prefix[j]);
                    if (t < best[s][i]) {
                        best[s][i] = t;
                        cut[s][i] = j;
                    }
                }
        int[] first = new int[stages + 1];
        first[stages] = n;
        for (int s = stages, i = n; s > 0; s--) i = first[s - 1] = cut[s][i];
        return first;
    }
}
