package locallearn.cli;

import locallearn.config.OptimizerKind;
import java.nio.file.Path;
import java.util.Arrays;
import locallearn.backend.ConvAlgorithm;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.config.ModelConfig;
import locallearn.train.TrainConfig;
import picocli.CommandLine.Option;

/** The flags of {@code train} (and the model flags that {@code bench} shares), turned into a {@link TrainConfig}. */
final class TrainOptions {
    @Option(names = "--model", description = "mlp, vgg6a, vgg6b, vgg8, vgg8a, vgg8b, vgg11, vgg11b, vgg13, vgg16, vgg19, resnet18, resnet34,"
            + " resnet50, resnet101, resnet152, wresnet10-8, wresnet16-4, wresnet16-8, wresnet28-10, wresnet40-10 (each also with an a: adapted)"
            + " (default ${DEFAULT-VALUE})")
    String model = "mlp";
    @Option(names = "--dataset", description = "mnist, fashion-mnist, kmnist, cifar10, cifar100, svhn, stl10 (default ${DEFAULT-VALUE})")
    String dataset = "fashion-mnist";
    @Option(names = "--data", description = "folder holding the dataset's files (default: $LOCALLEARN_DATA, ~/.locallearn/data/NAME, ...)")
    Path data;
    @Option(names = "--loss", description = "pred, sim or predsim (default ${DEFAULT-VALUE})")
    String loss = "predsim";
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
    @Option(names = "--lr-decay-milestones", split = ",", description = "percent of epochs (default 50,75,89,94)")
    int[] milestones = {50, 75, 89, 94};
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
    @Option(names = "--pre-act", description = "resnet models: batch norm and the nonlinearity before each conv of a BasicBlock (pre-activation)")
    boolean preAct;
    @Option(names = "--no-batch-norm", description = "no batch norm in the blocks")
    boolean noBatchNorm;
    @Option(names = "--cutout", description = "cut one square hole per training image")
    boolean cutout;
    @Option(names = "--length", description = "cutout side in pixels (default ${DEFAULT-VALUE})")
    int length = 16;
    @Option(names = "--classes-per-batch", description = "(default ${DEFAULT-VALUE}: plain shuffling)")
    int classesPerBatch = 0;
    @Option(names = "--classes-per-batch-until-epoch", description = "(default ${DEFAULT-VALUE}: all epochs)")
    int classesPerBatchUntilEpoch = 0;
    @Option(names = "--seed", description = "(default ${DEFAULT-VALUE})")
    long seed = 1;
    @Option(names = "--device", description = "auto, cpu or cuda (default ${DEFAULT-VALUE})")
    String device = "auto";
    @Option(names = "--cpu-conv", description = CPU_CONV_HELP)
    String cpuConv = "auto";

    static final String CPU_CONV_HELP = "CPU convolutions: auto (Winograd F(2x2,3x3) on the 3x3 stride-1 layers where it measured faster,"
            + " implicit GEMM elsewhere), direct (always implicit GEMM) or winograd (on every 3x3 stride-1 layer; other layers fall"
            + " back to direct) (default ${DEFAULT-VALUE}; ignored on CUDA)";

    /** --cpu-conv checked: the algorithm, or an error naming the flag. */
    static ConvAlgorithm cpuConv(String value) {
        try {
            return ConvAlgorithm.parse(value);
        } catch (IllegalArgumentException e) {
            throw new UserError("--cpu-conv " + e.getMessage());
        }
    }

    LossConfig lossConfig() {
        LossConfig l = LossConfig.of(LossConfig.Kind.parse(loss));
        if (bio) l = l.backpropFree();
        if (beta != null) l = l.withBeta(beta);
        return l.withDimInDecoder(dimInDecoder).withTargetProjSize(targetProjSize).withSimilarityStd(!noSimilarityStd);
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

    OptimizerKind optimizerKind() {
        return switch (optim) {
            case "adam" -> OptimizerKind.ADAM;
            case "amsgrad" -> OptimizerKind.AMSGRAD;
            case "sgd" -> OptimizerKind.SGD;
            default -> throw new IllegalArgumentException("--optim must be adam, amsgrad or sgd, got '" + optim + "'");
        };
    }

    TrainConfig trainConfig() {
        return TrainConfig.of(modelConfig(), epochs).withBatchSize(batchSize).withLr(lr).withLrDecay(lrDecayFact, milestones)
                .withOptimizer(optimizerKind()).withMomentum(momentum).withWeightDecay(weightDecay).withSeed(seed)
                .withCutout(cutout ? length : 0).withClassesPerBatch(classesPerBatch, classesPerBatchUntilEpoch);
    }

    @Override public String toString() { return model + " " + loss + " " + Arrays.toString(milestones); }
}
