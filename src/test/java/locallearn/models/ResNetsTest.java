package locallearn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.LossConfig;
import locallearn.config.ModelConfig;
import locallearn.config.ModelInput;
import locallearn.config.OptimizerKind;
import locallearn.config.TrainingMode;
import locallearn.nn.Init;
import locallearn.optim.Optimizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The ResNets and Wide ResNets as train.py defines them: parameter counts, state_dict names and
 * shapes, where the optimizers sit, and the inputs they refuse. The expected counts are summed
 * by hand over train.py's definitions (LocalLossBlockConv: encoder, decoder_y of dim-in-decoder
 * inputs, conv_loss 3x3, bn_pre and bn of 2 per channel; shortcut conv and bn; bn1; linear).
 * Without local heads they are the well-known sizes: ResNet-18 11.17M, ResNet-50 23.52M.
 */
class ResNetsTest {
    private static final ModelInput CIFAR = new ModelInput(3, 32, 32, 10);
    private final Backend be = new CpuBackend();
    private Net net;

    @AfterEach void close() {
        if (net != null) net.close();
    }

    private Net build(ModelConfig mc, ModelInput in) {
        net = Models.build(mc.withSlope(0f), in, new Init(be, 1), p -> Optimizer.create(OptimizerKind.ADAM, be, p, 0f, 0f));
        return net;
    }

    private Net build(String name, TrainingMode mode) { return build(ModelConfig.named(name).withMode(mode), CIFAR); }

    private static long count(List<Var> params) {
        long n = 0;
        for (Var v : params) n += v.data().numel();
        return n;
    }

    private static int[] shape(Map<String, Var> s, String name) {
        assertTrue(s.containsKey(name), name + " missing");
        return s.get(name).data().shape().dims();
    }

    @Test void resnet18CountsAsTheReferenceWithAndWithoutLocalHeads() {
        // conv1 1,728 + bn 128; layer1 4 x (36,864 + 128); layer2 73,728 + 147,456 x 3 + 8,192 shortcut, ...; linear 5,130
        assertEquals(11_173_962, count(build("resnet18", TrainingMode.global()).parameters()));
        close();
        // + per conv: decoder_y (2048 x 10 + 10) and conv_loss (C x C x 9): 17 convs
        assertEquals(24_092_916, count(build("resnet18", TrainingMode.local()).parameters()));
    }

    @Test void preActResnet18HasBnPreAndOnlyTheLossesBn() {
        Net n = build(ModelConfig.named("resnet18").withPreAct(true).withMode(TrainingMode.local()), CIFAR);
        // pre-act: each BasicBlock conv gains bn_pre (2 x C_in); the stem keeps its bn for the loss
        assertEquals(24_099_700, count(n.parameters()));
        Map<String, Var> s = n.state("");
        assertArrayEquals(new int[] {64}, shape(s, "layer1.0.conv1.bn_pre.weight"));
        assertArrayEquals(new int[] {64}, shape(s, "layer1.0.conv1.bn.running_mean"));
        close();
        // global backprop: a pre-act conv's bn only ever served its local loss, so it is gone (train.py)
        n = build(ModelConfig.named("resnet18").withPreAct(true).withMode(TrainingMode.global()), CIFAR);
        assertEquals(11_173_066, count(n.parameters()));
        assertFalse(n.state("").containsKey("layer1.0.conv1.bn.weight"));
        assertTrue(n.state("").containsKey("conv1.bn.weight"));
    }

    @Test void resnetStateDictHasTheReferenceNames() {
        Map<String, Var> s = build("resnet18", TrainingMode.local()).state("");
        assertArrayEquals(new int[] {64, 3, 3, 3}, shape(s, "conv1.encoder.weight"));
        assertFalse(s.containsKey("conv1.encoder.bias"), "ResNet convs have no bias");
        assertArrayEquals(new int[] {64}, shape(s, "conv1.bn.running_mean"));
        assertArrayEquals(new int[] {64, 64, 3, 3}, shape(s, "layer1.0.conv1.encoder.weight"));
        assertArrayEquals(new int[] {128, 64, 1, 1}, shape(s, "layer2.0.shortcut.0.weight"));
        assertArrayEquals(new int[] {128}, shape(s, "layer2.0.shortcut.1.running_var"));
        assertFalse(s.containsKey("layer1.0.shortcut.0.weight"), "identity shortcut where stride and width stay");
        assertFalse(s.containsKey("layer2.1.shortcut.0.weight"));
        // layer2.0.conv1 makes 128 x 16 x 16, pooled 4x4 to 128 x 4 x 4 = 2048
        assertArrayEquals(new int[] {10, 2048}, shape(s, "layer2.0.conv1.decoder_y.weight"));
        assertArrayEquals(new int[] {512, 512, 3, 3}, shape(s, "layer4.1.conv2.conv_loss.weight"));
        assertArrayEquals(new int[] {10, 512}, shape(s, "linear.weight"));
        for (float v : be.read(s.get("linear.weight").data())) assertEquals(0f, v); // zero in the local modes (reference)
        assertEquals(17, net.blocks().size());
        assertEquals("layer2.0.conv2", net.blockNames().get(6)); // conv1, then two per unit
        // each conv and each shortcut projection (layer2-4) has an optimizer, the global one has linear only
        assertEquals(17 + 3, net.localOptimizers().size());
        assertNotNull(net.localOptimizers().get("layer3.0.shortcut."));
    }

    @Test void resnet18StateDictIsTheReferencesEntryForEntry() throws java.io.IOException {
        List<String> expected;
        try (var in = ResNetsTest.class.getResourceAsStream("/locallearn/models/resnet18-cifar10-predsim.state")) {
            expected = new String(in.readAllBytes()).lines().filter(l -> !l.startsWith("#")).toList();
        }
        List<String> ours = new java.util.ArrayList<>();
        build("resnet18", TrainingMode.local()).state("").forEach((k, v) -> {
            StringBuilder dims = new StringBuilder();
            for (int d : v.data().shape().dims()) dims.append(dims.isEmpty() ? "" : "x").append(d);
            ours.add(k + " " + dims);
        });
        ours.sort(java.util.Comparator.naturalOrder());
        assertEquals(expected, ours);
    }

    @Test void resnet34Counts() {
        assertEquals(21_282_122, count(build("resnet34", TrainingMode.global()).parameters()));
    }

    @Test void bottleneckResnetsCountAsTheReference() {
        assertEquals(23_520_842, count(build("resnet50", TrainingMode.global()).parameters()));
        close();
        // at 1/8 width with predsim heads (dim-in-decoder 2048) on every one of the 49 convs
        Net n = build(ModelConfig.named("resnet50").withFeatMult(0.125f).withMode(TrainingMode.local()), CIFAR);
        assertEquals(4_512_124, count(n.parameters()));
        Map<String, Var> s = n.state("");
        assertArrayEquals(new int[] {8, 8, 1, 1}, shape(s, "layer1.0.conv1.encoder.weight"));
        assertArrayEquals(new int[] {32, 8, 1, 1}, shape(s, "layer1.0.conv3.encoder.weight"));
        assertArrayEquals(new int[] {32, 8, 1, 1}, shape(s, "layer1.0.shortcut.0.weight")); // width 8 -> 32: projected
        assertArrayEquals(new int[] {10, 256}, shape(s, "linear.weight"));
        assertEquals(1 + 16 * 3, n.blocks().size());
        assertEquals("layer4.2.conv3", n.blockNames().get(48));
    }

    @Test void wideResnetsCountAsTheReference() {
        assertEquals(2_751_178, count(build("wresnet16-4", TrainingMode.global()).parameters()));
        close();
        assertEquals(6_120_012, count(build("wresnet16-4", TrainingMode.local()).parameters()));
        close();
        assertEquals(6_221_068, count(build("wresnet16-4a", TrainingMode.local()).parameters()));
    }

    @Test void wideResnetStateDictHasTheReferenceNames() {
        Map<String, Var> s = build("wresnet16-4", TrainingMode.local()).state("");
        assertArrayEquals(new int[] {16}, shape(s, "conv1.encoder.bias"));
        assertArrayEquals(new int[] {16}, shape(s, "conv1.bn.weight")); // for its local loss only: post_act=False
        assertArrayEquals(new int[] {16}, shape(s, "layer1.0.conv1.bn_pre.running_mean"));
        assertArrayEquals(new int[] {64, 16, 1, 1}, shape(s, "layer1.0.shortcut.0.weight"));
        assertArrayEquals(new int[] {64}, shape(s, "layer1.0.shortcut.0.bias"));
        assertFalse(s.containsKey("layer1.0.shortcut.1.weight"), "WRN shortcuts have no batch norm");
        assertFalse(s.containsKey("layer1.1.shortcut.0.weight"));
        assertArrayEquals(new int[] {256}, shape(s, "bn1.running_var"));
        assertArrayEquals(new int[] {10, 256}, shape(s, "linear.weight"));
        // bn1 is in no optimizer of the local modes: train.py's parameters() gives linear's only
        List<Var> trained = new java.util.ArrayList<>(net.globalOptimizer() != null ? net.output().parameters() : List.of());
        for (var b : net.blocks()) trained.addAll(b.parameters());
        assertFalse(trained.contains(s.get("bn1.weight")));
        close();
        // adapted: 64 channels from conv1 on, max-pool 2 leaves 4x4 for linear
        s = build("wresnet16-4a", TrainingMode.local()).state("");
        assertArrayEquals(new int[] {64, 3, 3, 3}, shape(s, "conv1.encoder.weight"));
        assertArrayEquals(new int[] {10, 256 * 16}, shape(s, "linear.weight"));
    }

    @Test void inputsTheFinalPoolingCannotTakeAreOneLine() {
        var e = assertThrows(IllegalArgumentException.class, () -> build(ModelConfig.named("wresnet16-4"), new ModelInput(1, 28, 28, 10)));
        assertEquals("wresnet16-4 cannot take 1x28x28 inputs: its last feature map is 7 px, and the avg-pool of 8 before its linear layer"
                + " must make it 1x1 (inputs of 29 to 60 px)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> build(ModelConfig.named("resnet18"), new ModelInput(3, 96, 96, 10)));
        assertTrue(e.getMessage().startsWith("resnet18 cannot take 3x96x96 inputs: its last feature map is 12 px") && e.getMessage().contains("25 to 56 px"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> build(ModelConfig.named("wresnet28-10a"), new ModelInput(3, 48, 48, 10)));
        assertTrue(e.getMessage().contains("max-pool of 2") && e.getMessage().contains("4x4 (inputs of 29 to 36 px)"), e.getMessage());
        // MNIST's 28 px: 28 -> 14 -> 7 -> 4, which avg-pool 4 takes (as in the reference)
        assertArrayEquals(new int[] {10, 512}, shape(build(ModelConfig.named("resnet18"), new ModelInput(1, 28, 28, 10)).state(""), "linear.weight"));
    }

    @Test void greedyAndPreActElsewhereAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.named("resnet18").withMode(TrainingMode.greedy()));
        assertTrue(e.getMessage().startsWith("--greedy is not built for resnet18"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.named("vgg8b").withPreAct(true));
        assertEquals("--pre-act applies to the resnet models only, not to vgg8b", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelConfig.vgg("resnet18"));
        assertTrue(ModelConfig.names().containsAll(List.of("resnet152", "wresnet10-8", "wresnet40-10a")));
        assertEquals(LossConfig.Kind.PREDSIM, ModelConfig.named("wresnet28-10").loss().kind());
    }
}
