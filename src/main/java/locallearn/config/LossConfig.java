package locallearn.config;

/**
 * A hidden block's local loss (paper-summary.md, "Losses"): which one, whether it is the
 * backprop-free variant, its weighting and the sizes of its heads. Whether the blocks use it at
 * all is the {@link TrainingMode}'s business. Start from {@link #predsim()}, {@link #pred()} or
 * {@link #sim()} (the paper's defaults) and change what differs:
 * {@code LossConfig.predsim().withBeta(0.9f)}.
 *
 * @param kind           pred, sim or predsim
 * @param bio            the backprop-free variants: fixed random target projection, no learned sim head, FA decoder
 * @param beta           weight of sim in predsim (0.99, backprop-free 0.01); the output loss is scaled by 1-beta
 * @param dimInDecoder   the most inputs the pred head's decoder may have (sets the avg-pool of conv blocks)
 * @param targetProjSize width of the random target projection of the backprop-free variants
 * @param similarityStd  replace conv feature maps by their std before the similarity matrix
 * @param unsup          the unsupervised loss beside it: none, sim (h's similarity matrix against its input's) or recon
 *                       (decoder_x rebuilds the input from h; not in a network's first block)
 * @param alpha          the block's loss is alpha * unsup + (1 - alpha) * the loss above, as the reference, which
 *                       scales by 1 - alpha even without an unsupervised loss
 */
public record LossConfig(Kind kind, boolean bio, float beta, int dimInDecoder, int targetProjSize, boolean similarityStd,
                         Unsup unsup, float alpha) {

    public enum Kind {
        PRED, SIM, PREDSIM;

        /** The reference's --loss name: pred, sim or predsim. */
        public String text() { return name().toLowerCase(); }

        public static Kind parse(String text) {
            for (Kind k : values()) if (k.text().equals(text)) return k;
            throw new IllegalArgumentException("loss must be pred, sim or predsim, got '" + text + "'");
        }
    }

    /** The reference's --loss-unsup: none, sim or recon. */
    public enum Unsup {
        NONE, SIM, RECON;

        public String text() { return name().toLowerCase(); }

        public static Unsup parse(String text) {
            for (Unsup u : values()) if (u.text().equals(text)) return u;
            throw new IllegalArgumentException("loss-unsup must be none, sim or recon, got '" + text + "'");
        }
    }

    public LossConfig {
        if (kind == null) throw new IllegalArgumentException("loss kind must be pred, sim or predsim");
        if (unsup == null) throw new IllegalArgumentException("loss-unsup must be none, sim or recon");
        if (!(alpha >= 0 && alpha <= 1)) throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        if (!(beta >= 0 && beta <= 1)) throw new IllegalArgumentException("beta must be in [0, 1], got " + beta);
        if (dimInDecoder < 1) throw new IllegalArgumentException("dim-in-decoder must be >= 1, got " + dimInDecoder);
        if (targetProjSize < 1) throw new IllegalArgumentException("target-proj-size must be >= 1, got " + targetProjSize);
    }

    /** The paper's defaults for a kind: beta 0.99, decoder inputs at most 2048, target projection 128, std before the similarity. */
    public static LossConfig of(Kind kind) { return new LossConfig(kind, false, 0.99f, 2048, 128, true, Unsup.NONE, 0f); }

    public static LossConfig predsim() { return of(Kind.PREDSIM); }

    public static LossConfig pred() { return of(Kind.PRED); }

    public static LossConfig sim() { return of(Kind.SIM); }

    /** The backprop-free variant, with its beta of 0.01 (set another with withBeta afterwards). */
    public LossConfig backpropFree() { return new LossConfig(kind, true, 0.01f, dimInDecoder, targetProjSize, similarityStd, unsup, alpha); }

    public LossConfig withBeta(float b) { return new LossConfig(kind, bio, b, dimInDecoder, targetProjSize, similarityStd, unsup, alpha); }

    public LossConfig withDimInDecoder(int d) { return new LossConfig(kind, bio, beta, d, targetProjSize, similarityStd, unsup, alpha); }

    public LossConfig withTargetProjSize(int p) { return new LossConfig(kind, bio, beta, dimInDecoder, p, similarityStd, unsup, alpha); }

    public LossConfig withSimilarityStd(boolean s) { return new LossConfig(kind, bio, beta, dimInDecoder, targetProjSize, s, unsup, alpha); }

    /** With an unsupervised loss mixed in by alpha: {@code withUnsup(Unsup.RECON, 0.5f)}. */
    public LossConfig withUnsup(Unsup u, float a) { return new LossConfig(kind, bio, beta, dimInDecoder, targetProjSize, similarityStd, u, a); }

    /** Is the block's loss a mix (alpha * unsup + (1 - alpha) * sup) rather than the supervised loss alone? */
    public boolean mixesUnsup() { return unsup != Unsup.NONE || alpha != 0; }

    /** "predsim", or "predsim-bpf" for the backprop-free variant. */
    public String text() { return kind.text() + (bio ? "-bpf" : ""); }

    /** Does the loss have a pred term (a decoder_y head)? */
    public boolean hasPred() { return kind != Kind.SIM; }

    /** Does the loss have a sim term? */
    public boolean hasSim() { return kind != Kind.PRED; }

    /** Weight of the pred loss in a block's loss. */
    public float predWeight() { return kind == Kind.PREDSIM ? 1 - beta : 1; }

    /** Weight of the sim loss in a block's loss. */
    public float simWeight() { return kind == Kind.PREDSIM ? beta : 1; }
}
