package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Same seed, same numbers: the losses and errors in metrics.jsonl of small runs on the embedded
 * sample, one per way a step is walked (local held and sliced, global, global + local, greedy),
 * recorded on 2026-12-01 before the Trainer was split along its jobs. The comparison is exact:
 * the CPU backend gives the same bits at 512- and 256-bit vectors and up to 4 threads. A change
 * that alters the numerics on purpose re-records these lines in that change and says why (the
 * sliced line: SlicedStep rebuilds batch norm's xhat from h instead of the encoder's output,
 * which rounds it differently; the three vgg6b lines: the direct weight gradient of small maps
 * (4x4 at batch 32, 8x8 and 4x4 in the sliced step's slices of 8) became one GEMM over the
 * batch instead of four groups' partial sums, Conv.backwardFilterGemm, which adds the same
 * products in another order: the losses moved by 1e-6 to 5e-6 of themselves; and again, the
 * same three: Winograd's weight gradient became one sum over all tiles in tile order instead of
 * four ranges' partial gradients added after their output transforms, Winograd.backwardFilter:
 * the layer losses moved by 1e-7 to 3e-7 of themselves, global's test loss by 3e-6).
 */
class PinnedRunsTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
        mlp predsim, dropout | --model mlp --num-layers 2 --num-hidden 64 --epochs 2 --dropout 0.1 | {"epoch":1,"lr":5.0E-4,"train_loss":2.3070404529571533,"train_error":0.9140625,"test_loss":2.296914577484131,"test_error":0.90625,"layers":["layers.0","layers.1"],"layer_loss":[0.17996442317962646,0.2176247239112854],"layer_error":[0.8828125,0.8359375]} {"epoch":2,"lr":1.953125E-6,"train_loss":2.2961151599884033,"train_error":0.8671875,"test_loss":2.295928955078125,"test_error":0.890625,"layers":["layers.0","layers.1"],"layer_loss":[0.15402352809906006,0.19264745712280273],"layer_error":[0.875,0.734375]}
        mlp greedy | --model mlp --num-layers 2 --num-hidden 64 --epochs 2 --greedy | {"epoch":1,"lr":5.0E-4,"train_loss":null,"train_error":null,"test_loss":2.2991795539855957,"test_error":0.875,"layers":["layers.0","layers.1"],"layer_loss":[0.17996442317962646,null],"layer_error":[0.8828125,null]} {"epoch":2,"lr":1.953125E-6,"train_loss":null,"train_error":null,"test_loss":2.2991795539855957,"test_error":0.875,"layers":["layers.0","layers.1"],"layer_loss":[0.15402352809906006,null],"layer_error":[0.875,null]} {"epoch":3,"lr":5.0E-4,"train_loss":2.305306911468506,"train_error":0.90625,"test_loss":2.2952284812927246,"test_error":0.875,"layers":["layers.0","layers.1"],"layer_loss":[null,0.21414422988891602],"layer_error":[null,0.84375]} {"epoch":4,"lr":1.953125E-6,"train_loss":2.2929069995880127,"train_error":0.8515625,"test_loss":2.294379711151123,"test_error":0.859375,"layers":["layers.0","layers.1"],"layer_loss":[null,0.18311896920204163],"layer_error":[null,0.765625]}
        mlp global + local sim | --model mlp --num-layers 2 --num-hidden 64 --epochs 1 --no-detach --loss sim | {"epoch":1,"lr":5.0E-4,"train_loss":2.298184871673584,"train_error":0.9375,"test_loss":2.30106258392334,"test_error":0.921875,"layers":["layers.0","layers.1"],"layer_loss":[0.16065333783626556,0.19046515226364136],"layer_error":[null,null]}
        vgg6b predsim, sliced | --model vgg6b --epochs 1 | {"epoch":1,"lr":5.0E-4,"train_loss":2.2760844230651855,"train_error":0.8515625,"test_loss":2.2980077266693115,"test_error":0.90625,"layers":["features.0","features.2","features.4","features.6","classifier.layers.0"],"layer_loss":[0.479356586933136,0.36225026845932007,0.28018149733543396,0.34103283286094666,0.14949539303779602],"layer_error":[0.8125,0.8359375,0.890625,0.8984375,0.875]}
        vgg6b predsim, held | --model vgg6b --epochs 1 --memory-chunks 0 | {"epoch":1,"lr":5.0E-4,"train_loss":2.2760844230651855,"train_error":0.8515625,"test_loss":2.2980079650878906,"test_error":0.90625,"layers":["features.0","features.2","features.4","features.6","classifier.layers.0"],"layer_loss":[0.479356586933136,0.3622501790523529,0.28018152713775635,0.34103286266326904,0.14949537813663483],"layer_error":[0.8125,0.8359375,0.890625,0.8984375,0.875]}
        vgg6b global | --model vgg6b --epochs 1 --backprop | {"epoch":1,"lr":5.0E-4,"train_loss":1.766935110092163,"train_error":0.578125,"test_loss":2.19952130317688,"test_error":0.703125,"layers":["features.0","features.2","features.4","features.6","classifier.layers.0"],"layer_loss":[0.0,0.0,0.0,0.0,0.0],"layer_error":[null,null,null,null,null]}
        """)
    void metricsMatchTheRecordedRun(String name, String flags, String expected, @TempDir Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("train", "--data", TrainCliTest.SAMPLE, "--limit-train", "128", "--limit-test", "64",
                "--batch-size", "32", "--device", "cpu", "--out", dir.toString()));
        args.addAll(List.of(flags.trim().split(" +")));
        TrainCliTest.Run r = TrainCliTest.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl")))
            lines.add(line.replaceFirst(",\"images_per_s\".*}$", "}")); // speed, memory and time vary or are pinned elsewhere
        assertEquals(expected.trim(), String.join(" ", lines));
    }
}
