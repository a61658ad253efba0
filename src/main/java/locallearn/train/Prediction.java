package locallearn.train;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * What the model says about one image: the predicted class (the argmax of the logits), the
 * softmax of the logits, and the logits themselves (what the ONNX export's {@code logits} output
 * gives for the same image).
 */
public record Prediction(int label, float[] probabilities, float[] logits) {

    public Prediction {
        if (probabilities.length != logits.length || label < 0 || label >= logits.length)
            throw new IllegalArgumentException("prediction: class " + label + " of " + logits.length + " logits and "
                    + probabilities.length + " probabilities");
        probabilities = probabilities.clone();
        logits = logits.clone();
    }

    /** The prediction for one row of logits: argmax (the first on ties, as countCorrect) and softmax in double. */
    static Prediction of(float[] logits) {
        int best = 0;
        for (int k = 1; k < logits.length; k++) if (logits[k] > logits[best]) best = k;
        double sum = 0;
        double[] e = new double[logits.length];
        for (int k = 0; k < logits.length; k++) sum += e[k] = Math.exp((double) logits[k] - logits[best]); // shifted: no overflow
        float[] p = new float[logits.length];
        for (int k = 0; k < p.length; k++) p[k] = (float) (e[k] / sum);
        return new Prediction(best, p, logits);
    }

    /** The probability of the predicted class. */
    public float probability() { return probabilities[label]; }

    /** The {@code k} most probable classes, most probable first (k is capped at the class count). */
    public int[] top(int k) {
        if (k < 1) throw new IllegalArgumentException("prediction: top needs k >= 1, got " + k);
        return IntStream.range(0, probabilities.length).boxed()
                .sorted(Comparator.comparingDouble((Integer c) -> -probabilities[c]).thenComparingInt(c -> c))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    @Override public float[] probabilities() { return probabilities.clone(); }

    @Override public float[] logits() { return logits.clone(); }

    @Override public boolean equals(Object o) {
        return o instanceof Prediction p && p.label == label && Arrays.equals(p.probabilities, probabilities) && Arrays.equals(p.logits, logits);
    }

    @Override public int hashCode() { return 31 * label + Arrays.hashCode(logits); }

    @Override public String toString() { return "Prediction[label=" + label + ", probability=" + probability() + "]"; }
}
