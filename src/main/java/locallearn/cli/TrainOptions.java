package locallearn.cli;

import locallearn.config.OptimizerKind;
import locallearn.config.Precision;
import java.nio.file.Path;
import java.util.function.Predicate;
import locallearn.backend.ConvAlgorithm;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.optim.LrMilestones;
import locallearn.train.Checkpoints;
import locallearn.train.PipelinePlan;
import locallearn.train.TrainConfig;
import picocli.CommandLine.Option;

/** The flags of {@code train} (and the model flags that {@code bench} shares), turned into a {@link TrainConfig}. */
final class TrainOptions {
    @Option(names = "--model", description = "mlp, vgg6a, vgg6b, vgg8, vgg8a, vgg8b, vgg11, vgg11b, vgg13, vgg16, vgg19, resnet18, resnet34,"
            + " resnet50, resnet101, resnet152, wresnet10-8, wresnet16-4, wresnet16-8, wresnet28-10, wresnet40-10 (each also with an a: adapted)"
            + " (default ${DEFAULT-VALUE})")
    String model = "mlp";
    @Option(names = "--dataset", description = "mnist, fashion-mnist, kmnist, cifar10, cifar100, svhn, stl10, folder, imagenet, in any case; the"
            + " reference's MNIST, FashionMNIST, KuzushijiMNIST, CIFAR10, CIFAR100, SVHN, STL10, ImageNet too (default ${DEFAULT-VALUE})")
    String dataset = "fashion-mnist";
    @Option(names = "--data", description = "folder holding the dataset's files (default: $LOCALLEARN_DATA, ~/.locallearn/data/NAME, ...);"
            + " for folder and imagenet: the folder holding train/CLASS/* and val/CLASS/*")
    Path data;
    @Option(names = "--image-size", description = "folder: the size images are cached and trained at, N (square) or HxW"
            + " (default: the first training image's); scaled to cover it, then centre-cropped")
    String imageSize;
    @Option(names = {"--loss", "--loss-sup"}, description = "pred, sim or predsim (default ${DEFAULT-VALUE})")
    String loss = "predsim";
    @Option(names = "--loss-unsup", description = "unsupervised local loss mixed in by --alpha: none, sim (h's similarity matrix against the"
            + " block input's) or recon (decoder_x rebuilds the block's input; not in the first block) (default ${DEFAULT-VALUE})")
    String lossUnsup = "none";
    @Option(names = "--alpha", description = "a block's loss is alpha * unsup + (1 - alpha) * the supervised loss (default ${DEFAULT-VALUE})")
    float alpha = 0f;
    @Option(names = "--backprop", description = "global backprop instead of local losses")
    boolean backprop;
    @Option(names = "--no-detach", description = "global and local losses together, no detach between blocks")
    boolean noDetach;
    @Option(names = "--bio", description = "the backprop-free variants (random target projection, feedback alignment)")
    boolean bio;
    @Option(names = "--target-proj-size", description = "width of the random target projection with --bio (default ${DEFAULT-VALUE})")
    int targetProjSize = 128;
    @Option(names = "--epochs", description = "(default ${DEFAULT-VALUE})")
    int epochs = 1;
    @Option(names = "--batch-size", description = "(default ${DEFAULT-VALUE})")
    int batchSize = 128;
    @Option(names = "--lr", description = "(default ${DEFAULT-VALUE})")
    float lr = 5e-4f;
    @Option(names = "--lr-decay-milestones", split = ",", arity = "1..*", paramLabel = "EPOCH", description = "epochs at which the lr is"
            + " multiplied by --lr-decay-fact, as the reference: 100 150 175 188 or 100,150,175,188 (default: --lr-decay-percent)")
    int[] milestoneEpochs;
    @Option(names = "--lr-decay-percent", split = ",", arity = "1..*", paramLabel = "PERCENT", description = "the milestones in percent of"
            + " --epochs, rounded down, so they follow a run of any length (default 50,75,89,94: of 400 epochs 200 300 356 376)")
    int[] milestonePercents;
    @Option(names = "--lr-decay-fact", description = "(default ${DEFAULT-VALUE})")
    float lrDecayFact = 0.25f;
    @Option(names = "--optim", description = "adam, amsgrad or sgd (default ${DEFAULT-VALUE})")
    String optim = "adam";
    @Option(names = "--momentum", description = "for sgd (default ${DEFAULT-VALUE})")
    float momentum = 0.9f;
    @Option(names = "--weight-decay", description = "(default ${DEFAULT-VALUE})")
    float weightDecay = 0f;
    @Option(names = "--dropout", description = "(default ${DEFAULT-VALUE})")
    float dropout = 0f;
    @Option(names = "--nonlin", description = "leakyrelu or relu (default: leakyrelu for sim/predsim, relu otherwise, as the paper)")
    String nonlin;
    @Option(names = "--num-layers", description = "fc blocks: the mlp's hidden layers, the VGG classifier's (default ${DEFAULT-VALUE}; the paper's mlp is 3)")
    int numLayers = 1;
    @Option(names = "--num-hidden", description = "(default ${DEFAULT-VALUE})")
    int numHidden = 1024;
    @Option(names = "--dim-in-decoder", description = "(default ${DEFAULT-VALUE})")
    int dimInDecoder = 2048;
    @Option(names = "--feat-mult", description = "(default ${DEFAULT-VALUE})")
    float featMult = 1f;
    @Option(names = "--beta", description = "sim weight in predsim (default 0.99, 0.01 with --bio)")
    Float beta;
    @Option(names = "--no-similarity-std", description = "flatten conv maps for the similarity matrix instead of their std")
    boolean noSimilarityStd;
    @Option(names = "--memory-chunks", description = "local conv blocks hold only their input and output and rebuild the rest"
            + " in N slices of the batch; 0 holds more and runs faster; auto: on the CPU 16 slices of at least 8 images (batch 32: 4), 0 on CUDA;"
            + " the residual models' blocks always hold (default ${DEFAULT-VALUE})")
    String memoryChunks = "auto";
    @Option(names = "--greedy", description = "greedy layer-wise: train the blocks one after the other, --epochs each,"
            + " earlier blocks frozen; the output layer trains with the last block")
    boolean greedy;
    @Option(names = "--pipeline", description = "train the blocks as a pipeline of S stages, each on a thread of its own sharing the cores (on CUDA its own stream; with --device cuda:0,cuda:1 its own GPU) and its own"
            + " batch, split where the blocks' step times (timed in steps 2 to 4, in sequence) balance; the same results as without (local mode only)")
    Integer pipeline;
    @Option(names = "--stages", description = "the pipeline's stages as block ranges, e.g. 0-2,3-5,6-7 (instead of --pipeline S)")
    String stages;
    @Option(names = "--pipeline-depth", description = "batches that may wait between two pipeline stages, 1 or 2 (default ${DEFAULT-VALUE})")
    int pipelineDepth = 1;
    @Option(names = "--pre-act", description = "resnet models: batch norm and the nonlinearity before each conv of a BasicBlock (pre-activation)")
    boolean preAct;
    @Option(names = "--no-batch-norm", description = "no batch norm in the blocks")
    boolean noBatchNorm;
    @Option(names = "--cutout", description = "cut square holes out of each training image (after normalisation)")
    boolean cutout;
    @Option(names = "--length", description = "cutout side in pixels (default ${DEFAULT-VALUE})")
    int length = 16;
    @Option(names = {"--n-holes", "--n_holes"}, description = "cutout holes per image, centres drawn independently, may overlap (default ${DEFAULT-VALUE})")
    int nHoles = 1;
    @Option(names = "--classes-per-batch", description = "(default ${DEFAULT-VALUE}: plain shuffling)")
    int classesPerBatch = 0;
    @Option(names = "--classes-per-batch-until-epoch", description = "(default ${DEFAULT-VALUE}: all epochs)")
    int classesPerBatchUntilEpoch = 0;
    @Option(names = "--seed", description = "(default ${DEFAULT-VALUE})")
    long seed = 1;
    @Option(names = "--device", description = "auto, cpu, cuda (cuda:N), or with --pipeline/--stages a list cuda:0,cuda:1,...: stage i on the i-th GPU"
            + " (fewer GPUs than stages: consecutive stages share one; more: refused) (default ${DEFAULT-VALUE})")
    String device = "auto";
    @Option(names = "--no-cuda", description = "the reference's spelling of --device cpu")
    boolean noCuda;
    @Option(names = "--defaults", description = "locallearn or reference: with reference, every flag not given takes train.py's default"
            + " (--model vgg8b --dataset CIFAR10 --epochs 400 --lr-decay-milestones 200 300 350 375 --dim-in-decoder 4096 --momentum 0"
            + " --nonlin relu --beta 0.99 --progress never), so a line of its run_experiments.sh is the same run (default ${DEFAULT-VALUE})")
    String defaults = "locallearn";
    @Option(names = "--cpu-conv", description = CPU_CONV_HELP)
    String cpuConv = "auto";
    @Option(names = "--precision", description = PRECISION_HELP)
    String precision = "fp32";

    static final String PRECISION_HELP = "fp32, tf32 (gemm and convolution inputs rounded to TF32, 10 mantissa bits: tensor-op math on the GPU,"
            + " compute capability 8.0+, the same rounding on the CPU) or bf16 (activations and their gradients stored as bfloat16,"
            + " float32 arithmetic; on the GPU compute capability 8.0+) (default fp32)";

    /** --precision checked: the precision, or one line naming the flag. */
    static Precision precision(String value) { return parse("--precision", value, Precision::parse); }

    /** eval's and predict's --precision: as given, else the one the checkpoint was trained in, so they repeat its numbers. */
    static Precision precision(String value, Path checkpoint) {
        return value != null ? precision(value) : Checkpoints.precision(Checkpoints.metadata(checkpoint), checkpoint.toString());
    }

    static final String CPU_CONV_HELP = "CPU convolutions: auto (Winograd F(2x2,3x3) on the 3x3 stride-1 layers where it measured faster,"
            + " implicit GEMM elsewhere), direct (always implicit GEMM) or winograd (on every 3x3 stride-1 layer; other layers fall"
            + " back to direct) (default ${DEFAULT-VALUE}; ignored on CUDA)";

    /** --cpu-conv checked: the algorithm, or an error naming the flag. */
    static ConvAlgorithm cpuConv(String value) { return parse("--cpu-conv", value, ConvAlgorithm::parse); }

    /** A flag's value parsed, or one line naming the flag ("--cpu-conv must be auto, direct or winograd, got 'x'"). */
    private static <T> T parse(String flag, String value, java.util.function.Function<String, T> parse) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            throw new UserError(flag + " " + e.getMessage());
        }
    }

    /** Percentages of our recipe when no milestones are given (the paper's 50, 75, 89 and 94% of training). */
    private static final int[] DEFAULT_PERCENTS = {50, 75, 89, 94};

    /**
     * --defaults reference: train.py's argparse defaults, compared with ours one by one, for every
     * flag the command line did not give ({@code given} tells, by option name). The flags whose
     * defaults agree (batch 128, lr 5e-4, factor 0.25, adam, one fc block of 1024, feat-mult 1,
     * cutout length 16 and one hole, seed 1, ...) are left alone; README, "The reference's command
     * lines", lists the differences.
     */
    void applyDefaults(Predicate<String> given) {
        switch (defaults) {
            case "locallearn" -> { return; }
            case "reference" -> { }
            default -> throw new UserError("--defaults must be locallearn or reference, got '" + defaults + "'");
        }
        if (!given.test("--model")) model = "vgg8b";
        if (!given.test("--dataset")) dataset = "CIFAR10";
        if (!given.test("--epochs")) epochs = 400;
        if (!given.test("--lr-decay-milestones") && !given.test("--lr-decay-percent")) {
            milestoneEpochs = new int[] {200, 300, 350, 375};
            referenceMilestones = true;
        }
        if (!given.test("--dim-in-decoder")) dimInDecoder = 4096;
        if (!given.test("--momentum")) momentum = 0f;
        if (!given.test("--nonlin")) nonlin = "relu";   // ours: leaky ReLU for sim and predsim
        if (!given.test("--beta")) beta = 0.99f;       // ours: 0.01 with --bio
    }

    private boolean referenceMilestones; // the milestones are --defaults reference's, not the user's

    /** --lr-decay-milestones (epochs) or --lr-decay-percent, at most one; neither: our percentages. */
    LrMilestones lrDecayMilestones() {
        if (milestoneEpochs != null && milestonePercents != null)
            throw new UserError("--lr-decay-milestones (epochs) and --lr-decay-percent exclude each other");
        return milestoneEpochs != null ? LrMilestones.epochs(milestoneEpochs) : LrMilestones.percent(milestonePercents != null ? milestonePercents : DEFAULT_PERCENTS);
    }

    /** --device, or cpu with the reference's --no-cuda. */
    String device() {
        if (noCuda && !device.equals("auto") && !device.equals("cpu")) throw new UserError("--no-cuda and --device " + device + " contradict each other");
        return noCuda ? "cpu" : device;
    }

    LossConfig lossConfig() {
        LossConfig l = LossConfig.of(LossConfig.Kind.parse(loss));
        if (bio) l = l.backpropFree();
        if (beta != null) l = l.withBeta(beta);
        return l.withDimInDecoder(dimInDecoder).withTargetProjSize(targetProjSize).withSimilarityStd(!noSimilarityStd)
                .withUnsup(LossConfig.Unsup.parse(lossUnsup), alpha);
    }

    /** --backprop, --no-detach and --greedy (at most one) and --memory-chunks: the training mode. */
    TrainingMode mode() {
        int set = (backprop ? 1 : 0) + (noDetach ? 1 : 0) + (greedy ? 1 : 0);
        if (set > 1) throw new IllegalArgumentException("--backprop, --no-detach and --greedy exclude each other");
        TrainingMode m = backprop ? TrainingMode.global() : noDetach ? TrainingMode.globalAndLocal() : greedy ? TrainingMode.greedy() : TrainingMode.local();
        return m.withMemoryChunks(TrainingMode.parseMemoryChunks(memoryChunks));
    }

    ModelConfig modelConfig() {
        ModelConfig m = ModelConfig.named(model).withNumLayers(numLayers).withNumHidden(numHidden).withFeatMult(featMult).withDropout(dropout)
                .withBatchNorm(!noBatchNorm).withLoss(lossConfig()).withPreAct(preAct).withMode(mode());
        if (nonlin == null) return m;
        return m.withSlope(switch (nonlin) {
            case "leakyrelu" -> 0.01f;
            case "relu" -> 0f;
            default -> throw new IllegalArgumentException("--nonlin must be leakyrelu or relu, got '" + nonlin + "'");
        });
    }

    /** --pipeline or --stages (not both) with --pipeline-depth, or null for the run in sequence. */
    PipelinePlan pipelinePlan() {
        if (pipeline != null && stages != null) throw new IllegalArgumentException("--pipeline and --stages exclude each other");
        if (pipeline == null && stages == null) return null;
        if (pipeline != null && pipeline < 2)
            throw new IllegalArgumentException("--pipeline must be >= 2 stages, got " + pipeline + " (leave it out to train in sequence)");
        return (pipeline != null ? PipelinePlan.balanced(pipeline) : PipelinePlan.parse(stages)).withDepth(pipelineDepth);
    }

    OptimizerKind optimizerKind() {
        return switch (optim) {
            case "adam" -> OptimizerKind.ADAM;
            case "amsgrad" -> OptimizerKind.AMSGRAD;
            case "sgd" -> OptimizerKind.SGD;
            default -> throw new IllegalArgumentException("--optim must be adam, amsgrad or sgd, got '" + optim + "'");
        };
    }

    TrainConfig trainConfig() {
        if (nHoles < 1) throw new UserError("--n-holes must be >= 1, got " + nHoles);
        if (referenceMilestones && milestoneEpochs[milestoneEpochs.length - 1] >= epochs)
            throw new UserError("--defaults reference decays the lr at epochs 200 300 350 375 (train.py's default), not all before --epochs "
                    + epochs + "; give --lr-decay-milestones in epochs or --lr-decay-percent");
        return TrainConfig.of(modelConfig(), epochs).withBatchSize(batchSize).withLr(lr).withLrDecay(lrDecayFact, lrDecayMilestones())
                .withOptimizer(optimizerKind()).withMomentum(momentum).withWeightDecay(weightDecay).withSeed(seed)
                .withCutout(cutout ? length : 0, nHoles).withClassesPerBatch(classesPerBatch, classesPerBatchUntilEpoch)
                .withPrecision(precision(precision));
    }

    /** --image-size as {height, width}; {0, 0} when not given. */
    static int[] imageSize(String value) {
        if (value == null) return new int[] {0, 0};
        String[] p = value.split("x", -1);
        try {
            int h = Integer.parseInt(p[0].trim()), w = p.length == 2 ? Integer.parseInt(p[1].trim()) : h;
            if (p.length <= 2 && h >= 1 && w >= 1 && (long) h * w <= 1 << 22) return new int[] {h, w};
        } catch (NumberFormatException e) {
            // the message below says what is expected
        }
        throw new UserError("--image-size must be N or HxW with positive sizes (at most 4M pixels), got '" + value + "'");
    }

    @Override public String toString() { return model + " " + loss + " " + lrDecayMilestones(); }
}
