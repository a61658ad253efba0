package locallearn.bench;

import java.util.concurrent.TimeUnit;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.backend.ConvAlgorithm;
import locallearn.config.Precision;
import locallearn.data.Dataset;
import locallearn.train.Bench;
import locallearn.train.TrainConfig;
import locallearn.train.Trainer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * One training step (forward, local or global backward, every optimizer update) of the paper's
 * networks on synthetic data, local modes against global backprop. Beside the time per step,
 * JMH's JSON carries two secondary results from the allocator's exact accounting, with the
 * meaning of {@code ./locallearn bench --model} and {@code shared/bench/torch_ref.py}:
 * {@code stateBytes}, what stays allocated between steps, and {@code peakActivationBytes},
 * the most a step allocates on top of that.
 *
 * <p>The time is steady-state: the average over as many steps as fit in 3 seconds (at least one),
 * after a warm-up that runs steps until {@link Run#WARMUP_NANOS} have passed (at least one, the
 * step whose memory is measured). A step of a few milliseconds is timed over hundreds of runs,
 * once the JIT has compiled it; a 20-second vgg step is timed once after one warm-up step, as
 * a longer warm-up would only cost minutes. The warm-up is in the trial's setup rather than a JMH
 * warm-up iteration, so the memory step doubles as the first warm-up step.
 *
 * <p>Default run, all 30 configurations (under 10 minutes on 2 cores): {@code ./locallearn jmh
 * TrainStepBench}. A GPU run: {@code ./locallearn jmh TrainStepBench -p device=cuda}, with TF32
 * tensor-op math {@code -p precision=tf32}; bf16 activations on the CPU {@code -p precision=bf16}
 * (its memory counters then count 2 bytes an activation); longer and steadier numbers:
 * {@code -wi 3 -i 5 -f 2}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
@Warmup(iterations = 0)
@Measurement(iterations = 1, time = 3)
public class TrainStepBench {

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class Run {
        @Param({"mlp", "vgg8b", "vgg11b"}) public String model;
        @Param({"32", "128"}) public int batch;
        @Param({"pred", "sim", "predsim", "predsim-bpf", "global"}) public String mode;
        @Param({"cpu"}) public String device;
        @Param({"fp32"}) public String precision;

        /** Warm-up steps run until this much time has passed. */
        static final long WARMUP_NANOS = 2_000_000_000L;

        Backend be;
        Trainer trainer;
        Dataset data;
        long stateBytes, peakActivationBytes, steps;

        @Setup(Level.Trial) public void setUp() {
            be = Backends.create(device, ConvAlgorithm.fromProperty(), Precision.parse(precision), msg -> {});
            int[] chw = model.equals("mlp") ? new int[] {1, 28, 28} : new int[] {3, 32, 32};
            TrainConfig config = Bench.config(model, mode, batch).withPrecision(be.precision());
            data = Bench.synthetic(batch, chw[0], chw[1], chw[2], 10, config.seed());
            trainer = new Trainer(be, config, data, data, Bench.syntheticSpec(chw[0], chw[1], chw[2], 10));
            long t0 = System.nanoTime();
            // the first step, with its memory measured: state before it, peak during it (as bench --model)
            Bench.StepMemory m = Bench.measuredStep(trainer, data);
            stateBytes = m.stateBytes();
            peakActivationBytes = m.peakActivationBytes();
            while (System.nanoTime() - t0 < WARMUP_NANOS) step();
        }

        /** One training step, synchronised so a GPU step is timed to its end. */
        void step() {
            Bench.step(trainer, data, steps++);
            be.synchronize();
        }

        @TearDown(Level.Trial) public void tearDown() {
            trainer.close();
            be.close();
        }
    }

    /**
     * The memory figures of the trial's first step as JMH secondary results. JMH adds EVENTS
     * counters over the measurement iterations and forks, so each iteration reports its share.
     */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(org.openjdk.jmh.annotations.Scope.Thread)
    public static class Memory {
        public double stateBytes, peakActivationBytes;
        private double share;

        @Setup(Level.Trial) public void setUp(BenchmarkParams params) {
            share = 1.0 / (params.getMeasurement().getCount() * Math.max(1, params.getForks()));
        }

        @Setup(Level.Iteration) public void reset() {
            stateBytes = 0;
            peakActivationBytes = 0;
        }

        void record(Run r) {
            stateBytes = r.stateBytes * share;
            peakActivationBytes = r.peakActivationBytes * share;
        }
    }

    @Benchmark public void trainStep(Run run, Memory memory) {
        run.step();
        memory.record(run);
    }
}
