package locallearn.models;

import locallearn.config.ModelConfig;
import locallearn.config.OptimizerKind;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.config.ModelInput;
import locallearn.nn.Init;
import locallearn.optim.Optimizer;
import org.junit.jupiter.api.Test;

/** The networks' structure: state_dict names and shapes as the reference, zero-initialised heads, one table for VGG. */
class ModelsTest {
    private final Backend be = new CpuBackend();

    private Net build(String name, int c, int hw, TrainingMode mode, boolean bio, float featMult) {
        LossConfig loss = bio ? LossConfig.predsim().backpropFree() : LossConfig.predsim();
        ModelConfig mc = ModelConfig.named(name).withNumHidden(64).withFeatMult(featMult).withSlope(0.01f).withLoss(loss).withMode(mode);
        return Models.build(mc, new ModelInput(c, hw, hw, 10), new Init(be, 1), p -> Optimizer.create(OptimizerKind.ADAM, be, p, 0f, 0f));
    }

    private static int[] shape(Map<String, Var> s, String name) {
        assertTrue(s.containsKey(name), name + " missing from " + s.keySet());
        return s.get(name).data().shape().dims();
    }

    @Test void mlpHasTheReferenceStateDictNames() {
        Net net = Models.build(ModelConfig.mlp(2, 32), new ModelInput(1, 28, 28, 10), new Init(be, 1),
                p -> Optimizer.create(OptimizerKind.ADAM, be, p, 0f, 0f));
        Map<String, Var> s = net.state("");
        assertEquals(List.of("layers.0.encoder.weight", "layers.0.encoder.bias", "layers.0.bn.weight", "layers.0.bn.bias",
                "layers.0.bn.running_mean", "layers.0.bn.running_var", "layers.0.linear_loss.weight", "layers.0.decoder_y.weight",
                "layers.0.decoder_y.bias"), List.copyOf(s.keySet()).subList(0, 9));
        assertArrayEquals(new int[] {32, 784}, shape(s, "layers.0.encoder.weight"));
        assertArrayEquals(new int[] {10, 32}, shape(s, "layers.1.decoder_y.weight"));
        assertArrayEquals(new int[] {10}, shape(s, "layer_out.bias"));
        // local modes start the output layer and decoder_y at zero (reference)
        for (float v : be.read(s.get("layer_out.weight").data())) assertEquals(0f, v);
        for (float v : be.read(s.get("layers.0.decoder_y.weight").data())) assertEquals(0f, v);
        assertEquals(2, net.blocks().size());
    }

    @Test void vgg8bHasFeaturesWithPoolIndicesAndAClassifier() {
        Net net = build("vgg8b", 3, 32, TrainingMode.local(), false, 0.25f);
        Map<String, Var> s = net.state("");
        // cfg 128 256 M 256 512 M 512 M 512 M, x 0.25: index 2 is a max-pool, index 3 the third conv
        assertArrayEquals(new int[] {64, 64, 3, 3}, shape(s, "features.3.conv_loss.weight"));
        assertArrayEquals(new int[] {32, 3, 3, 3}, shape(s, "features.0.encoder.weight"));
        // features.0: 32 x 32 x 32 = 32768 inputs pooled 4x4 -> 32 * 8 * 8 = 2048 (dim-in-decoder)
        assertArrayEquals(new int[] {10, 2048}, shape(s, "features.0.decoder_y.weight"));
        // after four pools: 128 x 2 x 2 = 512 inputs to the classifier's fc block
        assertArrayEquals(new int[] {64, 512}, shape(s, "classifier.layers.0.encoder.weight"));
        assertArrayEquals(new int[] {10, 64}, shape(s, "classifier.layer_out.weight"));
        assertEquals(7, net.blocks().size()); // six conv blocks and one fc block
    }

    @Test void largeInputsStartWithAStrideTwoSevenBySevenConv() {
        Net net = build("vgg8b", 3, 96, TrainingMode.local(), false, 0.125f);
        assertArrayEquals(new int[] {16, 3, 7, 7}, shape(net.state(""), "features.0.encoder.weight"));
        assertArrayEquals(new int[] {16, 48, 48}, net.blocks().get(0).outShape());
    }

    @Test void backpropFreeBlocksHaveAFeedbackDecoderAndAFixedProjection() {
        Net net = build("vgg6a", 3, 16, TrainingMode.local(), true, 0.125f);
        Map<String, Var> s = net.state("");
        assertArrayEquals(new int[] {128, 10}, shape(s, "features.0.proj_y.weight"));
        // 16 x 16 x 16 = 4096 inputs pooled 2x1 -> 16 * 8 * 16 = 2048
        assertArrayEquals(new int[] {128, 2048}, shape(s, "features.0.decoder_y.weight_fa"));
        assertTrue(!s.containsKey("features.0.conv_loss.weight"), "no learned sim head in the backprop-free variant");
        // the fixed projection and feedback matrix are not trained
        assertTrue(!net.blocks().get(0).parameters().contains(s.get("features.0.proj_y.weight")));
    }

    @Test void globalBackpropHasNoLocalHeads() {
        Net net = build("vgg6a", 3, 16, TrainingMode.global(), false, 0.125f);
        assertTrue(net.state("").keySet().stream().noneMatch(k -> k.contains("decoder_y") || k.contains("conv_loss")));
        assertEquals(net.parameters().size(), 4 * 4 + 4 + 2);
    }

    @Test void unknownModelNamesTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> build("vgg7", 3, 32, TrainingMode.local(), false, 1f));
        assertTrue(e.getMessage().contains("vgg8b") && e.getMessage().contains("vgg7"), e.getMessage());
    }
}
