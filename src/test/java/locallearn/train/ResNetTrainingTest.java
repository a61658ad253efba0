package locallearn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import locallearn.backend.cpu.CpuBackend;
import locallearn.config.LossConfig;
import locallearn.config.ModelConfig;
import locallearn.config.TrainingMode;
import locallearn.data.Dataset;
import locallearn.data.DatasetSpec;
import locallearn.tensor.Scope;
import org.junit.jupiter.api.Test;

/**
 * The residual models train in every mode they have: narrow ResNets on 32 images of the
 * embedded Fashion-MNIST sample (28 px), Wide ResNets on 8 random 3x32x32 images (its pooling
 * needs 29 to 60 px), each three epochs of two steps over the same images, so the training loss of the
 * last epoch must be below the first's. The shortcut projection learns from its unit's last
 * block in the local mode.
 */
class ResNetTrainingTest {
    private static final Dataset FASHION = TrainerTest.DATA.train().limit(32);
    private static final Dataset RANDOM = Bench.synthetic(8, 3, 32, 32, 10, 5);
    private static final DatasetSpec RANDOM_SPEC = Bench.syntheticSpec(3, 32, 32, 10);

    private static List<EpochMetrics> train(ModelConfig m, Dataset d, DatasetSpec spec) {
        TrainConfig c = TrainConfig.of(m, 3).withBatchSize(d.size() / 2).withLr(2e-3f).withLrDecay(0.25f);
        try (var be = new CpuBackend(); Trainer t = new Trainer(be, c, d, d.limit(4), spec)) {
            return t.fit(3, List.of(), null);
        }
    }

    private static void assertTrains(List<EpochMetrics> m, String what) {
        EpochMetrics first = m.get(0), last = m.get(2);
        assertTrue(last.trainLoss() < first.trainLoss(), what + ": train loss " + first.trainLoss() + " -> " + last.trainLoss());
        for (double l : last.layerLoss()) assertTrue(Double.isNaN(l) || Double.isFinite(l), what + ": layer loss " + l);
    }

    private static ModelConfig resnet(String name, TrainingMode mode) {
        return ModelConfig.named(name).withFeatMult(1f / 16).withMode(mode);
    }

    @Test void resnet18TrainsLocallyAndGlobally() {
        List<EpochMetrics> local = train(resnet("resnet18", TrainingMode.local()), FASHION, TrainerTest.SPEC);
        assertTrains(local, "local");
        assertEquals(17, local.get(0).layers().size());
        assertEquals("layer4.1.conv2", local.get(0).layers().get(16));
        // predsim: every block has a local loss and a local error (its pred head)
        assertTrue(Arrays.stream(local.get(2).layerError()).allMatch(e -> e >= 0 && e <= 1), Arrays.toString(local.get(2).layerError()));
        assertTrains(train(resnet("resnet18", TrainingMode.global()), FASHION, TrainerTest.SPEC), "global");
        assertTrains(train(resnet("resnet18", TrainingMode.globalAndLocal()), FASHION, TrainerTest.SPEC), "global+local");
    }

    @Test void preActResnet18AndABottleneckResnetTrain() {
        assertTrains(train(resnet("resnet18", TrainingMode.local()).withPreAct(true).withDropout(0.1f), FASHION, TrainerTest.SPEC), "pre-act local");
        assertTrains(train(resnet("resnet18", TrainingMode.global()).withPreAct(true), FASHION, TrainerTest.SPEC), "pre-act global");
        assertTrains(train(resnet("resnet50", TrainingMode.local()).withLoss(LossConfig.sim()), FASHION, TrainerTest.SPEC), "resnet50 sim");
        assertTrains(train(resnet("resnet50", TrainingMode.global()), FASHION, TrainerTest.SPEC), "resnet50 global");
    }

    @Test void wideResnetTrainsLocallyAndGloballyWithDropout() {
        ModelConfig wrn = ModelConfig.named("wresnet16-4").withDropout(0.1f);
        assertTrains(train(wrn.withMode(TrainingMode.local()), RANDOM, RANDOM_SPEC), "wrn local");
        assertTrains(train(wrn.withMode(TrainingMode.global()), RANDOM, RANDOM_SPEC), "wrn global");
        // adapted: Dropout2d inside each conv instead of dropout between them, max-pool before linear
        assertTrains(train(ModelConfig.named("wresnet16-4a").withDropout(0.1f).withMode(TrainingMode.local()), RANDOM, RANDOM_SPEC), "wrn adapted local");
    }

    @Test void theShortcutProjectionLearnsFromItsUnitsLastBlock() {
        TrainConfig c = TrainConfig.of(resnet("resnet18", TrainingMode.local()), 1).withBatchSize(16).withLr(2e-3f).withLrDecay(0.25f);
        try (var be = new CpuBackend(); Trainer t = new Trainer(be, c, FASHION, FASHION, TrainerTest.SPEC)) {
            var shortcut = t.net().state("").get("layer2.0.shortcut.0.weight").data();
            float[] before = be.read(shortcut);
            try (Scope s = Scope.open()) {
                t.trainStep(t.batch(FASHION, null, 0, 16, false, 0), c.lr());
            }
            float[] after = be.read(shortcut);
            assertFalse(Arrays.equals(before, after), "layer2.0.shortcut.0.weight did not move");
            assertEquals(1, t.net().localOptimizers().get("layer2.0.shortcut.").steps());
        }
    }
}
