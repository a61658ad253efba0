package locallearn.bench;

import java.util.concurrent.TimeUnit;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.backend.ConvAlgorithm;
import locallearn.config.Precision;
import locallearn.data.Dataset;
import locallearn.train.Bench;
import locallearn.train.PipelinePlan;
import locallearn.train.TrainConfig;
import locallearn.train.Trainer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Local predsim training steps with the blocks in sequence ({@code pipeline=0}) or as a
 * pipeline of 2 or 3 stages, each on a thread of its own sharing the cores (train --pipeline). A pipeline
 * only pays over many steps in flight, so one invocation is {@link #STEPS} steps and the time is
 * per step. The runs compute the same numbers; only their speed differs.
 *
 * <p>{@code ./locallearn jmh PipelineBench}; one model: {@code -p model=mlp -p batch=32}. On two
 * cores an invocation of vgg8b (16 steps) takes a minute and a half, so its default run takes
 * about half an hour; {@code -p model=mlp} takes four minutes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 3)
public class PipelineBench {
    static final int STEPS = 16;

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class Run {
        @Param({"mlp", "vgg8b"}) public String model;
        @Param({"32", "128"}) public int batch;
        @Param({"0", "2", "3"}) public int pipeline;
        @Param({"fp32"}) public String precision;

        Backend be;
        Trainer trainer;
        Dataset data;
        long next;

        @Setup(Level.Trial) public void setUp() {
            be = Backends.create("cpu", ConvAlgorithm.fromProperty(), Precision.parse(precision), msg -> {});
            int[] chw = model.equals("mlp") ? new int[] {1, 28, 28} : new int[] {3, 32, 32};
            TrainConfig config = Bench.config(model, "predsim", batch).withPrecision(be.precision());
            data = Bench.synthetic(batch, chw[0], chw[1], chw[2], 10, config.seed());
            trainer = new Trainer(be, config, data, data, Bench.syntheticSpec(chw[0], chw[1], chw[2], 10));
            if (pipeline > 0) trainer.pipelined(PipelinePlan.balanced(pipeline));
            Bench.step(trainer, data, next++); // warms up the blocks before the pipeline times them
            next = Bench.balance(trainer, data, next);
        }

        @TearDown(Level.Trial) public void tearDown() {
            trainer.close();
            be.close();
        }
    }

    @Benchmark @OperationsPerInvocation(STEPS) public void trainSteps(Run run) {
        Bench.steps(run.trainer, run.data, run.next, STEPS);
        run.next += STEPS;
    }
}
