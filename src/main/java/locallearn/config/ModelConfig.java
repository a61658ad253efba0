package locallearn.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;



/**
 * What a network is and how its blocks learn: its name (mlp, a VGG of {@link #vggLayers}, a
 * ResNet of {@link #resNet} or a Wide ResNet of {@link #wideResNet}), the
 * width of its blocks, their local loss and the training mode. The input it sees is the
 * dataset's, given when the network is built ({@link ModelInput}). Start from {@link #mlp} or
 * {@link #vgg} (the paper's defaults: batch norm, no dropout, predsim, local training) and change
 * what differs: {@code ModelConfig.mlp(3, 1024).withDropout(0.025f)}.
 *
 * @param numLayers fc blocks: the mlp's hidden layers, or those of a VGG's classifier
 * @param featMult  multiplies every conv block's channel count (the paper's narrower/wider VGGs;
 *                  the ResNets' too, the Wide ResNets' not, as in the reference)
 * @param slope     slope of the leaky ReLU for negative inputs, 0 is ReLU; NaN: the paper's choice
 *                  (leaky ReLU 0.01 for sim and predsim with local losses, ReLU otherwise), which
 *                  {@link #slope()} resolves
 * @param preAct    the ResNets' pre-activation order (the reference's --pre-act): batch norm and
 *                  the nonlinearity before each conv of a BasicBlock
 */
public record ModelConfig(String name, int numLayers, int numHidden, float featMult, float dropout, boolean batchNorm, float slope,
                          LossConfig loss, TrainingMode mode, boolean preAct) {

    /** Conv block channel counts (before feat-mult); 0 is a 2x2 max-pool ('M' in the reference). */
    private static final Map<String, int[]> VGG = new LinkedHashMap<>();
    static {
        VGG.put("vgg6a", new int[] {128, 0, 256, 0, 512, 0, 512});
        VGG.put("vgg6b", new int[] {128, 0, 256, 0, 512, 0, 512, 0});
        VGG.put("vgg8", new int[] {64, 0, 128, 0, 256, 0, 512, 0, 512, 0});
        VGG.put("vgg8a", new int[] {128, 256, 0, 256, 512, 0, 512, 0, 512});
        VGG.put("vgg8b", new int[] {128, 256, 0, 256, 512, 0, 512, 0, 512, 0});
        VGG.put("vgg11", new int[] {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0});
        VGG.put("vgg11b", new int[] {128, 128, 128, 256, 0, 256, 512, 0, 512, 512, 0, 512, 0});
        VGG.put("vgg13", new int[] {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0});
        VGG.put("vgg16", new int[] {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0});
        VGG.put("vgg19", new int[] {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0});
    }

    /** The reference's ResNets: Bottleneck units or BasicBlock ones, and the units of each of the four layers. */
    public record ResNetShape(boolean bottleneck, int[] units) {}

    private static final Map<String, ResNetShape> RESNET = new LinkedHashMap<>();
    static {
        RESNET.put("resnet18", new ResNetShape(false, new int[] {2, 2, 2, 2}));
        RESNET.put("resnet34", new ResNetShape(false, new int[] {3, 4, 6, 3}));
        RESNET.put("resnet50", new ResNetShape(true, new int[] {3, 4, 6, 3}));
        RESNET.put("resnet101", new ResNetShape(true, new int[] {3, 4, 23, 3}));
        RESNET.put("resnet152", new ResNetShape(true, new int[] {3, 8, 36, 3}));
    }

    /** A Wide ResNet of the reference: depth 6n + 4, widen factor k, "adapted" (the names ending in a). */
    public record WideResNetShape(int depth, int widen, boolean adapted) {}

    private static final Map<String, WideResNetShape> WRN = new LinkedHashMap<>();
    static {
        int[][] dk = {{10, 8}, {16, 4}, {16, 8}, {28, 10}, {40, 10}};
        for (int[] p : dk) {
            WRN.put("wresnet" + p[0] + "-" + p[1], new WideResNetShape(p[0], p[1], false));
            WRN.put("wresnet" + p[0] + "-" + p[1] + "a", new WideResNetShape(p[0], p[1], true));
        }
    }

    public ModelConfig {
        if (!name.equals("mlp") && !VGG.containsKey(name) && !RESNET.containsKey(name) && !WRN.containsKey(name))
            throw new IllegalArgumentException("unknown model '" + name + "' (known: " + String.join(", ", names()) + ")");
        if (numLayers < 0) throw new IllegalArgumentException("num-layers must be >= 0, got " + numLayers);
        if (numHidden < 1) throw new IllegalArgumentException("num-hidden must be >= 1, got " + numHidden);
        if (!(featMult > 0)) throw new IllegalArgumentException("feat-mult must be > 0, got " + featMult);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        if (!(slope >= 0) && !Float.isNaN(slope)) throw new IllegalArgumentException("slope must be >= 0, got " + slope);
        if (loss == null || mode == null) throw new IllegalArgumentException("model: a loss and a training mode are needed");
        if (preAct && !RESNET.containsKey(name)) throw new IllegalArgumentException("--pre-act applies to the resnet models only, not to " + name);
        if ((RESNET.containsKey(name) || WRN.containsKey(name)) && mode instanceof TrainingMode.Greedy)
            throw new IllegalArgumentException("--greedy is not built for " + name + ": the blocks of a residual unit share its input and shortcut;"
                    + " train it in the local or a global mode");
    }

    /** The paper's mlp: {@code layers} hidden blocks of {@code hidden} units. */
    public static ModelConfig mlp(int layers, int hidden) {
        return new ModelConfig("mlp", layers, hidden, 1f, 0f, true, Float.NaN, LossConfig.predsim(), TrainingMode.local(), false);
    }

    /** A VGG of the reference by name (vgg8b, vgg11b, ...), with one fc block of 1024 units before the output layer. */
    public static ModelConfig vgg(String name) {
        if (name.equals("mlp")) throw new IllegalArgumentException("vgg: 'mlp' is not a VGG; use ModelConfig.mlp");
        if (RESNET.containsKey(name) || WRN.containsKey(name)) throw new IllegalArgumentException("vgg: '" + name + "' is not a VGG; use ModelConfig.named");
        return new ModelConfig(name, 1, 1024, 1f, 0f, true, Float.NaN, LossConfig.predsim(), TrainingMode.local(), false);
    }

    /**
     * mlp, a VGG, a ResNet or a Wide ResNet by name, with the defaults of {@link #mlp} (one block
     * of 1024) and {@link #vgg}; the residual models have no fc blocks (numLayers and numHidden
     * are not read).
     */
    public static ModelConfig named(String name) {
        if (name.equals("mlp")) return mlp(1, 1024);
        return new ModelConfig(name, 1, 1024, 1f, 0f, true, Float.NaN, LossConfig.predsim(), TrainingMode.local(), false);
    }

    public ModelConfig withNumLayers(int n) { return new ModelConfig(name, n, numHidden, featMult, dropout, batchNorm, slope, loss, mode, preAct); }

    public ModelConfig withNumHidden(int n) { return new ModelConfig(name, numLayers, n, featMult, dropout, batchNorm, slope, loss, mode, preAct); }

    public ModelConfig withFeatMult(float f) { return new ModelConfig(name, numLayers, numHidden, f, dropout, batchNorm, slope, loss, mode, preAct); }

    public ModelConfig withDropout(float p) { return new ModelConfig(name, numLayers, numHidden, featMult, p, batchNorm, slope, loss, mode, preAct); }

    public ModelConfig withBatchNorm(boolean b) { return new ModelConfig(name, numLayers, numHidden, featMult, dropout, b, slope, loss, mode, preAct); }

    /** Leaky ReLU with this negative slope; 0 is ReLU. */
    public ModelConfig withSlope(float s) { return new ModelConfig(name, numLayers, numHidden, featMult, dropout, batchNorm, s, loss, mode, preAct); }

    public ModelConfig withLoss(LossConfig l) { return new ModelConfig(name, numLayers, numHidden, featMult, dropout, batchNorm, slope, l, mode, preAct); }

    public ModelConfig withMode(TrainingMode m) { return new ModelConfig(name, numLayers, numHidden, featMult, dropout, batchNorm, slope, loss, m, preAct); }

    /** The ResNets' pre-activation order (--pre-act). */
    public ModelConfig withPreAct(boolean p) { return new ModelConfig(name, numLayers, numHidden, featMult, dropout, batchNorm, slope, loss, mode, p); }

    /** The slope in use: the one given, or the paper's choice (see the record's Javadoc). */
    @Override public float slope() {
        if (!Float.isNaN(slope)) return slope;
        return mode.hasLocalLosses() && loss.kind() != LossConfig.Kind.PRED ? 0.01f : 0f;
    }

    /** Do the blocks have a pred head (decoder_y)? */
    public boolean hasPredHead() { return mode.hasLocalLosses() && loss.hasPred(); }

    /** Do the blocks have a sim loss? */
    public boolean hasSimLoss() { return mode.hasLocalLosses() && loss.hasSim(); }

    /** Scale of the output layer's cross-entropy: 1 - beta in predsim with local losses, as the reference. */
    public float outputWeight() { return mode.hasLocalLosses() && loss.kind() == LossConfig.Kind.PREDSIM ? 1 - loss.beta() : 1; }

    /**
     * The loss and mode in one word, as bench, bench-memory and JMH name a case and as runs are
     * described: {@code global}, a loss ({@code predsim}, {@code sim-bpf}: local training),
     * {@code predsim-greedy}, or {@code global+predsim} (global and local losses together).
     */
    public String method() {
        return switch (mode) {
            case TrainingMode.Global g -> "global";
            case TrainingMode.GlobalAndLocal g -> "global+" + loss.text();
            case TrainingMode.Greedy g -> loss.text() + "-greedy";
            case TrainingMode.Local l -> loss.text();
        };
    }

    /** The same network with the loss and mode that {@link #method()} names (the memory strategy kept where it applies). */
    public ModelConfig withMethod(String method) {
        String usage = "mode must be global, a loss (pred, sim, predsim, each optionally -bpf), LOSS-greedy or global+LOSS; got '" + method + "'";
        if (method.equals("global")) return withMode(TrainingMode.global());
        TrainingMode m = mode;
        String l = method;
        if (l.startsWith("global+")) {
            l = l.substring("global+".length());
            m = TrainingMode.globalAndLocal();
        } else if (l.endsWith("-greedy")) {
            l = l.substring(0, l.length() - "-greedy".length());
            m = new TrainingMode.Greedy(mode.detached() ? mode.memoryChunks() : TrainingMode.AUTO_MEMORY_CHUNKS);
        } else {
            m = new TrainingMode.Local(mode.detached() ? mode.memoryChunks() : TrainingMode.AUTO_MEMORY_CHUNKS);
        }
        boolean bio = l.endsWith("-bpf");
        LossConfig.Kind kind;
        try {
            kind = LossConfig.Kind.parse(bio ? l.substring(0, l.length() - 4) : l);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(usage);
        }
        LossConfig lc = kind == loss.kind() ? loss : LossConfig.of(kind);
        if (bio && !lc.bio()) lc = lc.backpropFree();
        else if (!bio && lc.bio()) lc = LossConfig.of(kind);
        return withLoss(lc).withMode(m);
    }

    /** A VGG's layers in order: each conv block's channel count before feat-mult, 0 for a 2x2 max-pool. */
    public int[] vggLayers() {
        if (!VGG.containsKey(name)) throw new IllegalStateException(name + " is not a VGG");
        return VGG.get(name).clone();
    }

    /** A ResNet's shape (resnet18 ... resnet152), or null for another model. */
    public ResNetShape resNet() { return RESNET.get(name); }

    /** A Wide ResNet's shape (wresnet16-4, wresnet28-10a, ...), or null for another model. */
    public WideResNetShape wideResNet() { return WRN.get(name); }

    /** A ResNet or a Wide ResNet: units of local blocks joined by shortcuts. */
    public boolean residual() { return RESNET.containsKey(name) || WRN.containsKey(name); }

    public static List<String> names() {
        var l = new java.util.ArrayList<String>();
        l.add("mlp");
        l.addAll(VGG.keySet());
        l.addAll(RESNET.keySet());
        l.addAll(WRN.keySet());
        return l;
    }
}
