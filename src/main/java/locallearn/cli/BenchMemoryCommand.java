package locallearn.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import locallearn.config.Precision;
import locallearn.config.TrainingMode;
import locallearn.config.ModelInput;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.Backends;
import locallearn.train.Bench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Peak activation memory of one training step, local modes against global backprop, for one
 * model or a list of them (the memory-versus-depth study): a table on stdout, and optionally a
 * CSV and an SVG chart. The figures come from the allocator's exact accounting, so they do not
 * depend on the machine's speed or load.
 */
@Command(name = "bench-memory", mixinStandardHelpOptions = true, description = "Peak activation and state bytes of one training step per model and mode;"
        + " with several models, the memory-versus-depth study (CSV and SVG chart).")
final class BenchMemoryCommand implements Callable<Integer> {
    @Option(names = "--model", split = ",", defaultValue = "vgg8b",
            description = "model(s), comma separated, e.g. vgg6b,vgg8b,vgg11b,vgg13,vgg16,vgg19 or resnet18,resnet34 (default ${DEFAULT-VALUE})")
    List<String> models;
    @Option(names = "--mode", split = ",", defaultValue = "global,predsim",
            description = "modes, comma separated: global, pred, sim, predsim, pred-bpf, sim-bpf, predsim-bpf, a loss + -greedy"
                    + " (greedy layer-wise: the largest step of any block), or global+ a loss (no detach) (default ${DEFAULT-VALUE})")
    List<String> modes;
    @Option(names = "--input", defaultValue = "3x32x32", description = "input CxHxW (default ${DEFAULT-VALUE})") String input;
    @Option(names = "--classes", defaultValue = "10", description = "classes (default ${DEFAULT-VALUE})") int classes;
    @Option(names = "--batch", defaultValue = "128", description = "batch size (default ${DEFAULT-VALUE})") int batch;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu (default), cuda or auto") String device;
    @Option(names = "--memory-chunks", defaultValue = "auto",
            description = "local conv blocks hold only their input and output and rebuild the rest in N slices of the batch; 0 holds more and runs faster; auto: on the CPU 16 slices of at least 8 images (batch 32: 4), 0 on CUDA (default ${DEFAULT-VALUE})")
    String memoryChunks;
    @Option(names = "--precision", defaultValue = "fp32",
            description = TrainOptions.PRECISION_HELP + "; bf16 measures each row in fp32 too and adds its peak and the ratio") String precision;
    @Option(names = "--csv", description = "write the table as CSV to this file") Path csv;
    @Option(names = "--svg", description = "draw peak activation MiB per model and mode as an SVG chart in this file") Path svg;

    @Override public Integer call() throws IOException {
        ModelInput in = Bench.parseInput(input, classes);
        var p = TrainOptions.precision(precision);
        if (batch < 2) throw new UserError("--batch must be >= 2, got " + batch);
        for (String mode : modes) config(models.get(0), mode); // validates names before any work
        for (String model : models) config(model, modes.get(0));
        // bf16 is measured beside float32 on the same device: the column the memory study adds for it
        boolean besideFp32 = p == Precision.BF16;
        StringBuilder table = new StringBuilder("model,mode,batch,state_bytes,peak_activation_bytes,ratio_to_global"
                + (besideFp32 ? ",fp32_peak_activation_bytes,ratio_to_fp32" : "") + "\n");
        Map<String, double[]> mib = new LinkedHashMap<>();
        for (String mode : modes) mib.put(mode, new double[models.size()]);
        if (besideFp32) for (String mode : modes) mib.put(mode + " fp32", new double[models.size()]);
        System.out.printf("%-12s %-15s %14s %14s %8s%s%n", "model", "mode", "state MiB", "activation MiB", "/global",
                besideFp32 ? String.format("%10s %8s", "fp32 MiB", "/fp32") : "");
        java.util.function.Consumer<String> notice = msg -> System.err.println("locallearn: " + msg);
        try (Backend be = Backends.create(device, locallearn.backend.ConvAlgorithm.fromProperty(), p, notice);
             Backend fp32 = besideFp32 ? Backends.create(be.name(), locallearn.backend.ConvAlgorithm.fromProperty(), Precision.FP32, notice) : null) {
            for (int i = 0; i < models.size(); i++) {
                String model = models.get(i);
                Map<String, Bench.Result> byMode = new LinkedHashMap<>(), baseline = new LinkedHashMap<>();
                for (String mode : modes) {
                    byMode.put(mode, Bench.run(be, config(model, mode).withPrecision(p), in, 0, 1));
                    if (besideFp32) baseline.put(mode, Bench.run(fp32, config(model, mode), in, 0, 1));
                }
                Bench.Result global = byMode.get("global");
                for (var e : byMode.entrySet()) {
                    Bench.Result r = e.getValue(), f = baseline.get(e.getKey());
                    String ratio = global == null ? "" : String.format(Locale.ROOT, "%.3f", (double) r.peakActivationBytes() / global.peakActivationBytes());
                    String toFp32 = f == null ? "" : String.format(Locale.ROOT, "%.3f", (double) r.peakActivationBytes() / f.peakActivationBytes());
                    System.out.printf(Locale.ROOT, "%-12s %-15s %14.1f %14.1f %8s%s%n", model, e.getKey(), r.stateBytes() / 1048576.0,
                            r.peakActivationBytes() / 1048576.0, ratio,
                            f == null ? "" : String.format(Locale.ROOT, "%10.1f %8s", f.peakActivationBytes() / 1048576.0, toFp32));
                    table.append(String.join(",", model, e.getKey(), String.valueOf(batch), String.valueOf(r.stateBytes()),
                            String.valueOf(r.peakActivationBytes()), ratio)).append(f == null ? "" : "," + f.peakActivationBytes() + "," + toFp32).append('\n');
                    mib.get(e.getKey())[i] = r.peakActivationBytes() / 1048576.0;
                    if (f != null) mib.get(e.getKey() + " fp32")[i] = f.peakActivationBytes() / 1048576.0;
                }
            }
        }
        if (csv != null) AtomicFile.write(csv, table.toString());
        if (svg != null) {
            List<SvgChart.Series> series = new ArrayList<>();
            for (var e : mib.entrySet()) {
                int c = series.size();
                // series after the second are dashed: one that coincides with an earlier one (greedy and predsim) still shows
                series.add(new SvgChart.Series(e.getKey(), SvgChart.color(c), c >= 2, SvgChart.indices(models.size()), e.getValue()));
            }
            AtomicFile.write(svg, SvgChart.lines("Peak activation memory of one training step (batch " + batch + ", " + input + ")",
                    SvgChart.Axis.categories("model (shallow to deep)", models), SvgChart.Axis.linear("peak activation (MiB)"), series, 720, 420));
        }
        return 0;
    }

    private locallearn.train.TrainConfig config(String model, String mode) {
        return Bench.config(model, mode, batch, null, 1024, TrainingMode.parseMemoryChunks(memoryChunks));
    }
}
