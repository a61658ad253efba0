package locallearn.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Times one op on a device so a user sees what the machine gives: warm-up runs, then timed runs;
 * reports the median time and the GFLOP/s it implies (2 flops per multiply-add).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Time an op (--op gemm|conv) and print seconds and GFLOP/s, or training steps of a model"
        + " (--model M --input CxHxW --mode predsim|pred|sim|global) and print images/s and peak, state and activation bytes.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--op", description = "gemm or conv") String op;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu (default) or cuda; with --pipeline a list cuda:0,cuda:1,... puts the stages on those GPUs") String device;
    @Option(names = "--json", description = "print one JSON line") boolean json;
    @Option(names = "--cpu-conv", defaultValue = "auto", description = TrainOptions.CPU_CONV_HELP) String cpuConv;
    @Option(names = "--precision", defaultValue = "fp32", description = TrainOptions.PRECISION_HELP) String precision;
    @Option(names = "--warmup", defaultValue = "3", description = "untimed runs first (default ${DEFAULT-VALUE})") int warmup;
    @Option(names = "--iterations", defaultValue = "10", description = "timed runs (default ${DEFAULT-VALUE})") int iterations;

    @Option(names = "--m", defaultValue = "1024", description = "gemm: rows of C") int m;
    @Option(names = "--n", defaultValue = "1024", description = "gemm: columns of C") int n;
    @Option(names = "--k", defaultValue = "1024", description = "gemm: inner dimension") int k;

    @Option(names = "--input", defaultValue = "128x32x32", description = "conv or model: input CxHxW (default ${DEFAULT-VALUE})") String input;

    @Option(names = "--model", description = "model: time training steps of this network (mlp, vgg8b, resnet18, wresnet16-4, ...)") String model;
    @Option(names = "--mode", defaultValue = "predsim", description = "model: predsim, pred, sim, global, a backprop-free pred-bpf, sim-bpf, predsim-bpf, a loss + -greedy, or global+ a loss (no detach)"
            + " (greedy layer-wise; the timed steps cycle through the blocks) (default ${DEFAULT-VALUE})") String mode;
    @Option(names = "--classes", defaultValue = "10", description = "model: classes (default ${DEFAULT-VALUE})") int classes;
    @Option(names = "--steps", defaultValue = "5", description = "model: timed training steps (default ${DEFAULT-VALUE})") int steps;
    @Option(names = "--num-layers", description = "model: fc blocks (default 3 for mlp, 1 for vgg)") Integer numLayers;
    @Option(names = "--pipeline", description = "model: time the steps with the blocks as a pipeline of S stages (local modes; see train --pipeline)") Integer pipeline;
    @Option(names = "--pipeline-depth", defaultValue = "1", description = "model: batches between two pipeline stages, 1 or 2 (default ${DEFAULT-VALUE})") int pipelineDepth;
    @Option(names = "--num-hidden", defaultValue = "1024", description = "model: fc width (default ${DEFAULT-VALUE})") int numHidden;
    @Option(names = "--memory-chunks", defaultValue = "auto", description = "model: local conv blocks hold only their input and output and rebuild the rest in N slices of the batch; 0 holds more and runs faster; auto: on the CPU 16 slices of at least 8 images (batch 32: 4), 0 on CUDA (default ${DEFAULT-VALUE})") String memoryChunks;
    @Option(names = "--out-channels", defaultValue = "256", description = "conv: output channels") int outChannels;
    @Option(names = "--batch", defaultValue = "32", description = "conv: batch size") int batch;
    @Option(names = "--kernel", defaultValue = "3", description = "conv: square kernel size") int kernel;
    @Option(names = "--stride", defaultValue = "1", description = "conv: stride") int stride;
    @Option(names = "--pad", defaultValue = "1", description = "conv: zero padding") int pad;

    @Override public Integer call() {
        if (warmup < 0 || iterations < 1) throw new UserError("--warmup must be >= 0 and --iterations >= 1");
        if (model != null) {
            try (Backend be = backend()) {
                print(model(be));
            }
            return 0;
        }
        if (op != null) {
            try (Backend be = backend()) {
                Map<String, Object> result = switch (op) {
                    case "gemm" -> gemm(be);
                    case "conv" -> conv(be);
                    default -> throw new UserError("unknown --op '" + op + "' (gemm or conv)");
                };
                print(result);
            }
            return 0;
        }
        throw new UserError("nothing to measure; give --op gemm, --op conv or --model M");
    }

    /** With --pipeline, a device list "cuda:0,cuda:1,..." puts the stages on those GPUs, as train does. */
    private Backend backend() {
        var cpu = TrainOptions.cpuConv(cpuConv);
        var p = TrainOptions.precision(precision);
        java.util.function.Consumer<String> notice = msg -> System.err.println("locallearn: " + msg);
        return pipeline != null ? locallearn.backend.Backends.forPipeline(device, cpu, p, notice) : locallearn.backend.Backends.create(device, cpu, p, notice);
    }

    private void print(Map<String, Object> r) {
        if (json) {
            System.out.println(Json.object(r));
        } else {
            r.forEach((key, v) -> System.out.printf("%-24s %s%n", key, v instanceof Double d ? String.format("%.6g", d) : v));
        }
    }

    private Map<String, Object> header(Backend be, String name) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("op", name);
        r.put("device", be.name());
        r.put("describe", be.describe());
        r.put("precision", be.precision().flag());
        return r;
    }

    private static Tensor random(Backend be, Random rnd, int... dims) {
        Tensor t = be.allocate(dims);
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        be.write(t, v);
        return t;
    }

    /** Median seconds of {@code iterations} timed runs after {@code warmup} untimed ones. */
    private double time(Backend be, Runnable run) {
        for (int i = 0; i < warmup; i++) run.run();
        be.synchronize();
        double[] s = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            run.run();
            be.synchronize();
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(s);
        return s[iterations / 2];
    }

    private Map<String, Object> gemm(Backend be) {
        if (m < 1 || n < 1 || k < 1) throw new UserError("--m, --n and --k must be >= 1 (got " + m + ", " + n + ", " + k + ")");
        Map<String, Object> r = header(be, "gemm");
        r.put("m", m);
        r.put("n", n);
        r.put("k", k);
        try (Scope _ = Scope.open()) {
            Random rnd = new Random(1);
            Tensor a = random(be, rnd, m, k), b = random(be, rnd, k, n), c = be.allocate(m, n);
            double sec = time(be, () -> be.gemm(false, false, m, n, k, 1f, a, b, 0f, c));
            r.put("seconds", sec);
            r.put("gflops", 2.0 * m * n * k / sec / 1e9);
        }
        return r;
    }

    /** Training steps of a model on synthetic data: the JSON line of shared/bench/torch_ref.py. */
    private Map<String, Object> model(Backend be) {
        if (steps < 1 || batch < 2) throw new UserError("--steps must be >= 1 and --batch >= 2");
        var tc = locallearn.train.Bench.config(model, mode, batch, numLayers, numHidden, locallearn.config.TrainingMode.parseMemoryChunks(memoryChunks))
                .withPrecision(be.precision());
        locallearn.train.PipelinePlan plan = null;
        if (pipeline != null) {
            if (pipeline < 2) throw new UserError("--pipeline must be >= 2 stages, got " + pipeline + " (leave it out to time the blocks in sequence)");
            plan = locallearn.train.PipelinePlan.balanced(pipeline).withDepth(pipelineDepth);
        }
        var res = locallearn.train.Bench.run(be, tc, input(), warmup, steps, plan);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impl", "locallearn");
        r.put("model", model);
        r.put("mode", mode);
        r.put("batch", batch);
        r.put("images_per_s", res.imagesPerSecond());
        r.put("peak_bytes", res.peakBytes());
        r.put("state_bytes", res.stateBytes());
        r.put("peak_activation_bytes", res.peakActivationBytes());
        r.put("device", be.name());
        r.put("precision", be.precision().flag());
        r.put("steps", steps);
        if (res.pipeline() != null) {
            var p = res.pipeline();
            r.put("pipeline", p.stages());
            r.put("stage_blocks", p.blockRanges());
            r.put("stage_devices", p.devices());
            r.put("stage_busy_s", Arrays.stream(p.busySeconds()).boxed().toList());
            r.put("stage_idle_s", Arrays.stream(p.idleSeconds()).boxed().toList());
        }
        return r;
    }

    /** --input (and --classes) checked: the synthetic images. */
    private locallearn.config.ModelInput input() {
        try {
            return locallearn.train.Bench.parseInput(input, classes);
        } catch (IllegalArgumentException e) {
            throw new UserError("--" + e.getMessage());
        }
    }

    private Map<String, Object> conv(Backend be) {
        var in = input();
        ConvGeom g = new ConvGeom(batch, in.channels(), in.height(), in.width(), outChannels, kernel, kernel, stride, pad);
        Map<String, Object> r = header(be, "conv");
        r.put("batch", batch);
        r.put("input", input);
        r.put("out_channels", outChannels);
        r.put("kernel", kernel);
        r.put("stride", stride);
        r.put("pad", pad);
        double flops = 2.0 * g.macs();
        try (Scope _ = Scope.open()) {
            Random rnd = new Random(1);
            Tensor x = random(be, rnd, batch, g.inC(), g.inH(), g.inW()), w = random(be, rnd, g.outC(), g.inC(), kernel, kernel);
            Tensor bias = random(be, rnd, g.outC()), y = be.allocate(batch, g.outC(), g.outH(), g.outW());
            Tensor dy = random(be, rnd, batch, g.outC(), g.outH(), g.outW()), dx = be.allocate(batch, g.inC(), g.inH(), g.inW());
            Tensor dw = be.allocate(g.outC(), g.inC(), kernel, kernel), db = be.allocate(g.outC());
            double f = time(be, () -> be.conv2dForward(x, w, bias, y, g));
            double bd = time(be, () -> be.conv2dBackwardData(dy, w, dx, g));
            double bf = time(be, () -> be.conv2dBackwardFilter(x, dy, dw, db, g, false));
            r.put("forward_seconds", f);
            r.put("backward_data_seconds", bd);
            r.put("backward_filter_seconds", bf);
            r.put("seconds", f + bd + bf);
            r.put("forward_gflops", flops / f / 1e9);
            r.put("backward_data_gflops", flops / bd / 1e9);
            r.put("backward_filter_gflops", flops / bf / 1e9);
            r.put("gflops", 3 * flops / (f + bd + bf) / 1e9);
        }
        return r;
    }
}
