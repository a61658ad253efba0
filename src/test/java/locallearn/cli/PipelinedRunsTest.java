package locallearn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import locallearn.train.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * train --pipeline against the same run in sequence, on the CPU: every loss and error of
 * metrics.jsonl (timing, memory and the stage fields aside) and every tensor of the checkpoint
 * and of train_state (the optimizers' moments) equal bit for bit, for block counts that the
 * stages do not divide, balanced and explicit splits, residual units kept whole, queues of one
 * and two batches, each stage's device named (cpu) in metrics.jsonl and the epoch line; and a
 * pipelined run resumed in the middle equals a straight one.
 */
class PipelinedRunsTest {
    private static List<String> args(Path out, String flags) {
        List<String> a = new ArrayList<>(List.of("train", "--data", TrainCliTest.SAMPLE, "--limit-train", "256", "--limit-test", "64",
                "--batch-size", "32", "--device", "cpu", "--seed", "3", "--out", out.toString()));
        a.addAll(List.of(flags.trim().split(" +")));
        return a;
    }

    private static TrainCliTest.Run train(Path out, String flags) {
        TrainCliTest.Run r = TrainCliTest.run(args(out, flags).toArray(String[]::new));
        assertEquals(0, r.code(), flags + ": " + r.err());
        return r;
    }

    /** The metrics lines without timing, memory and stage fields. */
    private static List<String> metrics(Path dir) throws Exception {
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("metrics.jsonl"))) lines.add(l.replaceFirst(",\"images_per_s\".*}$", "}"));
        return lines;
    }

    private static void assertSameTensors(Path a, Path b) throws Exception {
        for (String file : new String[] {"checkpoint.safetensors", "train_state.safetensors"}) {
            Map<String, SafeTensors.Entry> x = SafeTensors.read(a.resolve(file)).tensors(), y = SafeTensors.read(b.resolve(file)).tensors();
            assertEquals(x.keySet(), y.keySet(), file);
            for (String k : x.keySet()) assertArrayEquals(x.get(k).values(), y.get(k).values(), file + " " + k);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
        mlp 3x64, 3 blocks  | --num-layers 3 --num-hidden 64 --dropout 0.1 --epochs 2 | --pipeline 2
        mlp 3x64, 3 blocks  | --num-layers 3 --num-hidden 64 --dropout 0.1 --epochs 2 | --pipeline 3 --pipeline-depth 2
        vgg6b, 5 blocks     | --model vgg6b --feat-mult 0.25 --dropout 0.1          | --pipeline 2
        vgg6b, 5 blocks     | --model vgg6b --feat-mult 0.25 --dropout 0.1          | --pipeline 3
        vgg6b, 5 blocks     | --model vgg6b --feat-mult 0.25 --memory-chunks 0      | --stages 0-1,2,3-4 --pipeline-depth 2
        resnet18, 9 units   | --model resnet18 --feat-mult 0.0625 --dropout 0.1      | --pipeline 3
        resnet18, 9 units   | --model resnet18 --feat-mult 0.0625 --pre-act          | --stages 0,1-8,9-16
        """)
    void pipelineEqualsSequence(String name, String flags, String pipeline, @TempDir Path dir) throws Exception {
        train(dir.resolve("seq"), flags);
        String epochLines = train(dir.resolve("pipe"), flags + " " + pipeline).out();
        assertEquals(metrics(dir.resolve("seq")), metrics(dir.resolve("pipe")));
        assertSameTensors(dir.resolve("seq"), dir.resolve("pipe"));
        String line = Files.readAllLines(dir.resolve("pipe/metrics.jsonl")).get(0);
        int stages = pipeline.contains("--stages") ? pipeline.split(",").length : Integer.parseInt(pipeline.replaceAll(".*--pipeline (\\d+).*", "$1"));
        assertTrue(line.contains("\"stage_blocks\":[") && line.split("\"stage_blocks\":\\[")[1].split("]")[0].split(",").length == stages, line);
        assertTrue(line.contains("\"stage_busy_s\":[") && line.contains("\"stage_idle_s\":[") && line.contains("\"stage_peak_bytes\":["), line);
        assertTrue(line.contains("\"stage_devices\":[" + String.join(",", java.util.Collections.nCopies(stages, "\"cpu\"")) + "]"), line);
        for (int s = 0; s < stages; s++) assertTrue(epochLines.contains("stage " + s + " on cpu, blocks "), epochLines);
    }

    @Test void aPipelinedRunResumedInTheMiddleEqualsAStraightOne(@TempDir Path dir) throws Exception {
        String flags = "--num-layers 3 --num-hidden 64 --dropout 0.1 --pipeline 2";
        train(dir.resolve("straight"), flags + " --epochs 2");
        train(dir.resolve("resumed"), flags + " --epochs 1");
        List<String> a = args(dir.resolve("resumed"), flags + " --epochs 2 --resume " + dir.resolve("resumed/checkpoint.safetensors"));
        TrainCliTest.Run r = TrainCliTest.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertEquals(metrics(dir.resolve("straight")), metrics(dir.resolve("resumed")));
        assertSameTensors(dir.resolve("straight"), dir.resolve("resumed"));
    }

    @Test void benchTimesThePipelineAndNamesItsStages() {
        TrainCliTest.Run r = TrainCliTest.run("bench", "--model", "vgg6b", "--input", "3x16x16", "--batch", "4", "--warmup", "1", "--steps", "4",
                "--num-hidden", "16", "--mode", "predsim", "--pipeline", "3", "--json");
        assertEquals(0, r.code(), r.err());
        String line = r.out().strip();
        assertTrue(line.contains("\"pipeline\":3") && line.contains("\"stage_blocks\":[") && line.contains("\"stage_busy_s\":["), line);
        assertTrue(line.contains("\"stage_devices\":[\"cpu\",\"cpu\",\"cpu\"]"), line);
        TrainCliTest.Run bad = TrainCliTest.run("bench", "--model", "mlp", "--input", "1x8x8", "--pipeline", "2", "--mode", "global");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("local training"), bad.err());
    }

    @Test void badPipelinesAreOneLineAndExitTwo(@TempDir Path dir) {
        String[][] bad = {
            {"--pipeline 2 --backprop", "local training"}, {"--pipeline 2 --no-detach", "local training"}, {"--pipeline 2 --greedy", "local training"},
            {"--pipeline 1", "--pipeline must be >= 2"}, {"--pipeline 4", "the model has 1 block"}, {"--pipeline 2 --stages 0,1", "exclude each other"},
            {"--num-layers 3 --stages 0,2", "block ranges in order"}, {"--num-layers 3 --stages 0,1", "cover blocks 0-2"},
            {"--num-layers 3 --pipeline 2 --pipeline-depth 3", "pipeline-depth must be 1 or 2"},
            {"--model resnet18 --feat-mult 0.0625 --stages 0-1,2-16", "block 2 is inside a residual unit"},
        };
        for (String[] b : bad) {
            TrainCliTest.Run r = TrainCliTest.run(args(dir, b[0]).toArray(String[]::new));
            assertEquals(2, r.code(), b[0] + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), b[0] + ": " + r.err());
            assertTrue(r.err().contains(b[1]), b[0] + ": " + r.err());
        }
        assertTrue(Files.notExists(dir.resolve("checkpoint.safetensors")), "nothing trained");
    }

    @Test void aStageOutOfMemoryIsOneLineExitTwoAndNothingSaved(@TempDir Path dir) throws Exception {
        // explicit stages: the first step already runs in the stage threads, where 512 images of vgg6b's 128x28x28 maps (196 MiB) do not fit
        Object[] r = OutOfMemoryCliTest.runWithHeap("160m","train", "--data", TrainCliTest.SAMPLE, "--limit-train", "1024", "--limit-test", "64",
                "--batch-size", "512", "--device", "cpu", "--model", "vgg6b", "--stages", "0-1,2-4", "--out", dir.toString());
        String err = ((String) r[1]).lines().filter(l -> !l.startsWith("WARNING: Using incubator")).reduce("", (a, b) -> a + b + "\n");
        assertEquals(2, r[0], err);
        assertEquals(2, err.lines().count(), err); // the run's description, then the one error line
        assertTrue(err.contains("out of memory") && err.contains("-Xmx"), err);
        assertTrue(Files.notExists(dir.resolve("checkpoint.safetensors")), "nothing saved");
    }
}
