package locallearn.train;

import java.util.List;
import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/**
 * An epoch's running sums, kept on the device so a step never waits for the host: the output
 * layer's loss and correct predictions, and each hidden block's local loss and its pred head's
 * correct predictions. Read once, at the end of the epoch.
 */
final class EpochSums implements AutoCloseable {
    private final Backend be;
    final Tensor outputLoss, outputCorrect;
    private final Tensor[] blockLoss, blockCorrect;

    EpochSums(Backend be, int blocks) {
        this.be = be;
        outputLoss = be.zeros(1);
        outputCorrect = be.zeros(1);
        blockLoss = new Tensor[blocks];
        blockCorrect = new Tensor[blocks];
        for (int i = 0; i < blocks; i++) {
            blockLoss[i] = be.zeros(1);
            blockCorrect[i] = be.zeros(1);
        }
    }

    Tensor blockLoss(int k) { return blockLoss[k]; }

    Tensor blockCorrect(int k) { return blockCorrect[k]; }

    int blocks() { return blockLoss.length; }

    void reset() {
        be.fill(outputLoss, 0f);
        be.fill(outputCorrect, 0f);
        for (int i = 0; i < blockLoss.length; i++) {
            be.fill(blockLoss[i], 0f);
            be.fill(blockCorrect[i], 0f);
        }
    }

    /** Mean of a sum over {@code batches} steps. */
    double meanLoss(Tensor sum, int batches) { return be.read(sum)[0] / batches; }

    /** 1 - correct / examples. */
    double error(Tensor correct, int examples) { return 1 - be.read(correct)[0] / examples; }

    @Override public void close() {
        for (Tensor t : List.of(outputLoss, outputCorrect)) t.close();
        for (Tensor t : blockLoss) t.close();
        for (Tensor t : blockCorrect) t.close();
    }
}
