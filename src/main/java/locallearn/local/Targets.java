package locallearn.local;

import locallearn.backend.Backend;
import locallearn.tensor.Tensor;

/**
 * What the local losses compare against, made once per batch: the labels (B), their one-hot
 * rows (B, K) and the similarity matrix of the one-hot rows (B, B), used by every sim head.
 * Tensors belong to the scope open when it was made (the step's).
 */
public record Targets(Tensor labels, Tensor onehot, Tensor similarity) {

    /** Uploads the labels and their one-hot rows; computes S(onehot) on the device. */
    public static Targets of(Backend be, int[] labels, int classes, boolean needSimilarity) {
        int nb = labels.length;
        float[] l = new float[nb], oh = new float[nb * classes];
        for (int i = 0; i < nb; i++) {
            l[i] = labels[i];
            oh[i * classes + labels[i]] = 1f;
        }
        Tensor lt = be.allocate(nb), ot = be.allocate(nb, classes);
        be.write(lt, l);
        be.write(ot, oh);
        Tensor s = null;
        if (needSimilarity) s = similarityOf(be, ot);
        return new Targets(lt, ot, s);
    }

    static Tensor similarityOf(Backend be, Tensor x) {
        int nb = x.dim(0);
        Tensor s = be.allocate(nb, nb), xc = be.allocate(x.shape()), norm = be.allocate(nb);
        be.similarityForward(x, s, xc, norm);
        xc.close();
        norm.close();
        return s;
    }
}
