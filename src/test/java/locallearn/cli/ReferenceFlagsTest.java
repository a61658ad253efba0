package locallearn.cli;

import static locallearn.cli.ReferenceLinesTest.dryRun;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.train.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reference's flags as the reference means them, --defaults reference, --dry-run, and their bad values. */
class ReferenceFlagsTest {
    @Test void milestonesAreEpochsSpaceOrCommaSeparated() {
        for (String[] m : new String[][] {{"50", "75", "89", "94"}, {"50,75,89,94"}, {"50,75", "89", "94"}}) {
            List<String> a = new java.util.ArrayList<>(List.of("--epochs", "200", "--lr-decay-milestones"));
            a.addAll(List.of(m));
            Map<String, Object> c = dryRun(a.toArray(String[]::new));
            assertEquals(List.of(50, 75, 89, 94), c.get("lr_decay_epochs"), String.join(" ", m));
            assertFalse(c.containsKey("lr_decay_percent"));
        }
    }

    @Test void percentagesKeepOurDefaultSchedule() {
        Map<String, Object> byDefault = dryRun("--epochs", "400"), given = dryRun("--epochs", "400", "--lr-decay-percent", "50,75,89,94");
        assertEquals(List.of(200, 300, 356, 376), byDefault.get("lr_decay_epochs"));
        assertEquals(List.of(50, 75, 89, 94), byDefault.get("lr_decay_percent"));
        assertEquals(byDefault, given);
    }

    @Test void ourDefaultsStayTheDefaults() {
        Map<String, Object> c = dryRun();
        Map<String, Object> want = Map.of("defaults", "locallearn", "model", "mlp", "dataset", "fashion-mnist", "epochs", 1, "dim_in_decoder", 2048,
                "momentum", 0.9f, "nonlin", "leakyrelu", "beta", 0.99f, "lr_decay_epochs", List.of(), "progress", "auto");
        want.forEach((k, v) -> assertEquals(v, c.get(k), k));
    }

    @Test void referenceDefaultsFillWhatIsNotGiven() {
        Map<String, Object> c = dryRun("--defaults", "reference");
        Map<String, Object> want = Map.of("model", "vgg8b", "dataset", "cifar10", "epochs", 400, "lr_decay_epochs", List.of(200, 300, 350, 375),
                "dim_in_decoder", 4096, "momentum", 0f, "nonlin", "relu", "beta", 0.99f, "progress", "never", "lr", 5e-4f);
        want.forEach((k, v) -> assertEquals(v, c.get(k), k));
        assertEquals(0.99f, dryRun("--defaults", "reference", "--bio").get("beta")); // ours would be 0.01
    }

    @Test void explicitFlagsWinOverReferenceDefaults() {
        Map<String, Object> c = dryRun("--defaults", "reference", "--model", "mlp", "--dataset", "mnist", "--epochs", "10", "--lr-decay-milestones", "5",
                "--dim-in-decoder", "512", "--momentum", "0.5", "--nonlin", "leakyrelu", "--beta", "0.5", "--progress", "auto");
        Map<String, Object> want = Map.of("model", "mlp", "dataset", "mnist", "epochs", 10, "lr_decay_epochs", List.of(5), "dim_in_decoder", 512,
                "momentum", 0.5f, "nonlin", "leakyrelu", "beta", 0.5f, "progress", "auto");
        want.forEach((k, v) -> assertEquals(v, c.get(k), k));
        assertEquals(List.of(5, 7), dryRun("--defaults", "reference", "--epochs", "10", "--lr-decay-percent", "50,75").get("lr_decay_epochs"));
    }

    @Test void lossSupIsLoss() {
        assertEquals("sim", dryRun("--loss-sup", "sim").get("loss"));
        assertEquals("pred", dryRun("--loss", "pred").get("loss"));
    }

    @Test void datasetNamesAreCaseInsensitiveWithTheReferencesSpellings() {
        Map<String, String> names = Map.of("MNIST", "mnist", "FashionMNIST", "fashion-mnist", "KuzushijiMNIST", "kmnist", "CIFAR10", "cifar10",
                "CIFAR100", "cifar100", "SVHN", "svhn", "STL10", "stl10", "Cifar10", "cifar10", "fashion-mnist", "fashion-mnist");
        names.forEach((given, name) -> assertEquals(name, dryRun("--dataset", given).get("dataset"), given));
    }

    @Test void theReferencesOtherFlagsHaveTheirMeaning() {
        assertEquals("cpu", dryRun("--no-cuda").get("device"));
        assertEquals(Path.of("/tmp/results", "cifar10-vgg8b-pred").toString(),
                dryRun("--save-dir", "/tmp/results", "--dataset", "CIFAR10", "--model", "vgg8b", "--loss-sup", "pred").get("out"));
        assertEquals("always", dryRun("--progress-bar", "--defaults", "reference").get("progress"));
        assertEquals(false, dryRun("--no-print-stats").get("print_stats"));
    }

    @Test void severalCutoutHoles() {
        Map<String, Object> c = dryRun("--cutout", "--length", "8", "--n_holes", "3");
        assertEquals(8, c.get("cutout"));
        assertEquals(3, c.get("n_holes"));
        assertEquals(2, dryRun("--cutout", "--n-holes", "2").get("n_holes"));
    }

    @Test void dryRunReadsNoDataAndWritesNothing(@TempDir Path dir) {
        Path data = dir.resolve("no-such-folder"), out = dir.resolve("run");
        Map<String, Object> c = dryRun("--dataset", "cifar10", "--data", data.toString(), "--out", out.toString(), "--epochs", "3");
        assertNull(c.get("data"));
        assertEquals(List.of(data.toString()), c.get("data_looked_in"));
        assertEquals(out.toString(), c.get("out"));
        assertFalse(Files.exists(out));
        assertEquals(TrainCliTest.SAMPLE, dryRun("--data", TrainCliTest.SAMPLE).get("data"));
    }

    @Test void dryRunWithoutJsonIsOneLinePerSetting() {
        TrainCliTest.Run r = TrainCliTest.run("train", "--dry-run", "--defaults", "reference");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("lr_decay_epochs +\\[200, 300, 350, 375]")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("model +vgg8b")), r.out());
    }

    @Test void badFlagsAreOneLineAndExitTwo(@TempDir Path dir) {
        Map<String, String[]> cases = new LinkedHashMap<>();
        cases.put("must increase, got epochs 50 40", new String[] {"--epochs", "100", "--lr-decay-milestones", "50", "40"});
        cases.put("milestone 10 is not before the run's last epoch", new String[] {"--epochs", "10", "--lr-decay-milestones", "5", "10"});
        cases.put("epoch >= 1, got 0", new String[] {"--epochs", "10", "--lr-decay-milestones", "0"});
        cases.put("percentage in 1..99, got 100", new String[] {"--lr-decay-percent", "50,100"});
        cases.put("exclude each other", new String[] {"--lr-decay-milestones", "5", "--lr-decay-percent", "50", "--epochs", "10"});
        cases.put("--n-holes must be >= 1, got 0", new String[] {"--cutout", "--n-holes", "0"});
        cases.put("--defaults must be locallearn or reference, got 'paper'", new String[] {"--defaults", "paper"});
        cases.put("--defaults reference decays the lr at epochs 200 300 350 375", new String[] {"--defaults", "reference", "--epochs", "100"});
        cases.put("--no-cuda and --device cuda contradict each other", new String[] {"--no-cuda", "--device", "cuda"});
        cases.put("--out and --save-dir exclude each other", new String[] {"--out", "a", "--save-dir", "b"});
        cases.put("--progress-bar and --progress never contradict each other", new String[] {"--progress-bar", "--progress", "never"});
        cases.put("unknown dataset 'Places365'", new String[] {"--dataset", "Places365"});
        cases.put("--dry-run: an image folder", new String[] {"--dataset", "ImageNet"});
        cases.forEach((message, flags) -> {
            List<String> a = new java.util.ArrayList<>(List.of("train", "--dry-run"));
            a.addAll(List.of(flags));
            TrainCliTest.Run r = TrainCliTest.run(a.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", flags));
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("locallearn train: ") && r.err().contains(message), r.err());
        });
        // the same checks guard a real run, before any data is read
        TrainCliTest.Run r = TrainCliTest.run(TrainCliTest.train(dir, "--lr-decay-milestones", "1", "--epochs", "1"));
        assertEquals(2, r.code(), r.err());
        assertFalse(Files.exists(dir.resolve("metrics.jsonl")));
    }

    @Test void noPrintStatsLeavesOutTheLayerLines(@TempDir Path dir) {
        TrainCliTest.Run r = TrainCliTest.run(TrainCliTest.train(dir, "--no-print-stats"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("epoch 1") && !r.out().contains("local loss"), r.out());
    }

    /**
     * A checkpoint from before milestones could be epochs holds lr_decay_milestones in percent: it
     * resumes with our default (the same percentages), and a run that reads those numbers as
     * epochs is refused, saying what to give, with nothing written.
     */
    @Test void resumeOfAnOldCheckpointKeepsItsPercentSchedule(@TempDir Path dir) throws Exception {
        assertEquals(0, TrainCliTest.run(TrainCliTest.train(dir)).code());
        Path ck = dir.resolve("checkpoint.safetensors");
        SafeTensors.Contents c = SafeTensors.read(ck);
        Map<String, String> old = new LinkedHashMap<>(c.metadata());
        assertEquals("[50, 75, 89, 94]", old.remove("lr_decay_percent"));
        assertEquals("[]", old.remove("lr_decay_epochs"));
        old.put("lr_decay_milestones", "[50, 75, 89, 94]");
        SafeTensors.write(ck, c.tensors(), old);
        byte[] before = Files.readAllBytes(ck);

        TrainCliTest.Run refused = TrainCliTest.run(TrainCliTest.train(dir, "--epochs", "100", "--lr-decay-milestones", "50", "75", "89", "94",
                "--resume", ck.toString()));
        assertEquals(2, refused.code(), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(refused.err().contains("was trained with the lr decaying at 50 75 89 94 percent of the epochs, this run at epochs 50 75 89 94")
                && refused.err().contains("--lr-decay-percent 50,75,89,94"), refused.err());
        assertArrayEquals(before, Files.readAllBytes(ck));

        TrainCliTest.Run resumed = TrainCliTest.run(TrainCliTest.train(dir, "--epochs", "2", "--resume", ck.toString()));
        assertEquals(0, resumed.code(), resumed.err());
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertTrue(lines.get(1).startsWith("{\"epoch\":2,\"lr\":1.953125E-6,"), lines.get(1)); // 5e-4 * 0.25^4: all four percentages land on epoch 1 of 2
    }
}
