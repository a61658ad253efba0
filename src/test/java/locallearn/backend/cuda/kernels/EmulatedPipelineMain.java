package locallearn.backend.cuda.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import locallearn.backend.Backend;
import locallearn.backend.cuda.CudaBackend;
import locallearn.backend.cuda.CudaStorage;
import locallearn.cli.Main;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import locallearn.train.SafeTensors;

/**
 * The child JVM of {@link EmulatedGpuTest}'s pipeline test, on the emulated driver, whose order
 * check fails any op that touches a block last used on another stream it was not ordered after.
 * Mode "streams": the two orderings by event, each shown on two lanes: a hand-off left unawaited
 * is refused and an awaited one passes; a block one lane released is reused by another lane after
 * one cross-stream wait, and again by that lane with none. Then train --stages on CUDA, mlp and
 * vgg6b with two and three stages, against the same run in sequence: metrics and checkpoints
 * within the tolerance below, and each stage thread launched on one stream of its own.
 * Mode "fail DIR": one pipelined run whose launch EMU_FAIL_LAUNCH fails; exits with its code.
 * Then, on several GPUs (EMU_DEVICES=3), it checks by hand that the driver refuses a copy of
 * another device's tensor and a kernel is refused one, and that moveHere brings it over, and
 * runs GPU_RUNS against the same runs in sequence (by peer copies). Mode "host DIR" (after
 * streams in DIR, with EMU_NO_PEER=1) runs HOST_RUNS against them, through the host; mode "fail-gpu DIR" trains
 * the mlp in sequence for one epoch into DIR/seq, then two epochs on two GPUs into DIR/failed,
 * where EMU_FAIL_LAUNCH fails a launch of the stage on GPU 1; mode "bad DIR" runs BAD, each one line and
 * exit 2 (EMU_OLD_DEVICE=1: GPU 1 has no tensor cores).
 * Prints one line per check, "ok ..." or "FAIL ...".
 */
@SuppressWarnings("restricted")
public final class EmulatedPipelineMain {
    private EmulatedPipelineMain() {}

    static final String SAMPLE = "src/main/resources/locallearn/data/fashion-mnist-sample";
    /**
     * The runs: model flags, explicit stages, and whether the run in sequence is new (else the
     * previous one's). Small, since the emulator runs a block of 1024 threads as 1024 fibers:
     * the mlp and vgg6b (4 conv blocks and an fc one) with 2 and 3 stages, and the mlp in bf16.
     */
    static final String[][] RUNS = {
        {"--num-layers 3 --num-hidden 8 --dropout 0.1", "0,1-2", "new"},
        {"--num-layers 3 --num-hidden 8 --dropout 0.1", "0,1,2", "same"},
        {"--model vgg6b --feat-mult 0.0625 --num-hidden 16 --dropout 0.1", "0-1,2-4", "new"},
        {"--model vgg6b --feat-mult 0.0625 --num-hidden 16 --dropout 0.1", "0,1-2,3-4", "same"},
        {"--num-layers 3 --num-hidden 8 --dropout 0.1 --precision bf16", "0,1-2", "new"},
    };

    static final String MLP = RUNS[0][0], VGG = RUNS[2][0], MLP_BF16 = RUNS[4][0];
    /**
     * Pipelines on several GPUs: model flags, stages, device list, and the stages' devices that
     * metrics.jsonl must name. Stage i on GPU i, and three stages on two GPUs (0 and 1 on the
     * first); block counts the stages do not divide.
     */
    static final String[][] GPU_RUNS = {
        {MLP, "0,1-2", "cuda:0,cuda:1", "cuda:0,cuda:1"}, {MLP, "0,1,2", "cuda:0,cuda:1,cuda:2", "cuda:0,cuda:1,cuda:2"},
        {MLP, "0,1,2", "cuda:0,cuda:1", "cuda:0,cuda:0,cuda:1"}, {VGG, "0-1,2-4", "cuda:0,cuda:1", "cuda:0,cuda:1"},
        {MLP_BF16, "0,1-2", "cuda:0,cuda:1", "cuda:0,cuda:1"},
    };
    /** The same without peer access: through the host. */
    static final String[][] HOST_RUNS = {{MLP, "0,1-2", "cuda:0,cuda:1", "cuda:0,cuda:1"}, {MLP_BF16, "0,1-2", "cuda:0,cuda:1", "cuda:0,cuda:1"}};
    /**
     * Bad device lists (flags, what the one line says), on three emulated GPUs, the second without
     * tensor cores: a list without a pipeline, a GPU twice, one that is not there, more GPUs than
     * stages, tf32 or bf16 where a GPU has no tensor cores.
     */
    static final String[][] BAD = {
        {"--device cuda:0,cuda:1", "is for a pipeline (--pipeline S, or train --stages)"},
        {"--stages 0,1-2 --device cuda:1,cuda:1", "names cuda:1 twice"},
        {"--stages 0,1-2 --device cuda:0,cuda:5", "no CUDA device 5"},
        {"--stages 0,1-2 --device cuda:0,cuda:1,cuda:2", "list at most 2"},
        {"--stages 0,1-2 --device cuda:0,cuda:1 --precision tf32", "Emulated GPU (cuda:1) is sm_70"},
        {"--stages 0,1-2 --device cuda:0,cuda:1 --precision bf16", "Emulated GPU (cuda:1) is sm_70"},
    };

    public static void main(String[] args) throws Throwable {
        if (args[0].equals("fail")) {
            System.exit(Main.run(trainArgs(Path.of(args[1]), RUNS[0][0] + " --stages " + RUNS[0][1])));
        }
        if (args[0].equals("fail-gpu")) { // the run in sequence opens no lane, so no stream of EMU_FAIL_LAUNCH's count
            if (Main.run(trainArgs(Path.of(args[1]).resolve("seq"), MLP)) != 0) throw new IllegalStateException("sequential run failed");
            System.exit(Main.run(trainArgs(Path.of(args[1]).resolve("failed"), MLP + " --epochs 2 --stages 0,1-2", "cuda:0,cuda:1")));
        }
        if (args[0].equals("bad")) {
            for (String[] b : BAD) System.out.println(badRun(Path.of(args[1]), b[0], b[1]));
            return;
        }
        if (args[0].equals("host")) {
            gpuRuns(Path.of(args[1]), HOST_RUNS, false);
            return;
        }
        System.out.println(handOffCheck());
        System.out.println(reuseCheck());
        Path dir = Path.of(args[1]);
        for (int i = 0; i < RUNS.length; i++) {
            Path seq = dir.resolve("seq" + i), pipe = dir.resolve("pipe" + i);
            if (RUNS[i][2].equals("same")) seq = dir.resolve("seq" + (i - 1));
            else if (Main.run(trainArgs(seq, RUNS[i][0])) != 0) throw new IllegalStateException("sequential run failed: " + RUNS[i][0]);
            reset();
            int code = Main.run(trainArgs(pipe, RUNS[i][0] + " --stages " + RUNS[i][1]));
            String report = report();
            if (code != 0) {
                System.out.println("FAIL pipeline " + RUNS[i][1] + ": exit " + code);
                continue;
            }
            System.out.println(compare(RUNS[i][0] + " --stages " + RUNS[i][1], seq, pipe, onOneGpu(RUNS[i][1]), report));
        }
        System.out.println(deviceCheck());
        gpuRuns(dir, GPU_RUNS, true);
        System.out.println(benchOnGpus());
    }

    /** bench --pipeline 2 with its stages on two GPUs: runs, reports both stages, and copies between the GPUs. */
    private static String benchOnGpus() throws Throwable {
        reset();
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream out = System.out;
        int code;
        System.setOut(new java.io.PrintStream(buf, true));
        try {
            code = Main.run(new String[] {"bench", "--model", "mlp", "--num-layers", "3", "--num-hidden", "8", "--input", "1x28x28", "--batch", "8",
                    "--steps", "4", "--pipeline", "2", "--device", "cuda:0,cuda:1", "--json"});
        } finally {
            System.setOut(out);
        }
        String json = buf.toString().trim(), run = "bench --pipeline 2 --device cuda:0,cuda:1";
        long copies = counter(report(), "peer_copies");
        if (code != 0) return "FAIL " + run + ": exit " + code;
        if (!json.contains("\"pipeline\"") || copies == 0) return "FAIL " + run + ": " + copies + " peer copies, " + json;
        if (!json.contains("\"stage_devices\":[\"cuda:0\",\"cuda:1\"]")) return "FAIL " + run + ": stages not named on cuda:0 and cuda:1 in " + json;
        return "ok   " + run + ": " + copies + " peer copies";
    }

    /** Each of {@code runs} on its GPUs against the run in sequence in {@code dir}, by peer copies or (not {@code peer}) through the host. */
    private static void gpuRuns(Path dir, String[][] runs, boolean peer) throws Throwable {
        for (int i = 0; i < runs.length; i++) {
            Path pipe = dir.resolve((peer ? "gpus" : "host") + i);
            reset();
            String run = runs[i][0] + " --stages " + runs[i][1] + " --device " + runs[i][2];
            int code = Main.run(trainArgs(pipe, runs[i][0] + " --stages " + runs[i][1], runs[i][2]));
            String report = report();
            if (code != 0) {
                System.out.println("FAIL pipeline " + run + ": exit " + code);
                continue;
            }
            String result = compare(run, dir.resolve(sequence(runs[i][0])), pipe, runs[i][3], report);
            long copies = counter(report, "peer_copies");
            if (result.startsWith("ok") && peer != copies > 0)
                result = "FAIL pipeline " + run + ": " + copies + " peer copies " + (peer ? "with" : "without") + " peer access";
            System.out.println(result + (result.startsWith("ok") ? ", " + copies + " peer copies" : ""));
        }
    }

    /** The stages' devices that metrics.jsonl names for {@code stages} ("0,1-2") on one GPU, --device cuda: "cuda:0,cuda:0". */
    static String onOneGpu(String stages) { return String.join(",", java.util.Collections.nCopies(stages.split(",").length, "cuda:0")); }

    static String[] trainArgs(Path out, String flags) { return trainArgs(out, flags, "cuda"); }

    static String[] trainArgs(Path out, String flags, String device) {
        List<String> a = new ArrayList<>(List.of("train", "--data", SAMPLE, "--limit-train", "24", "--limit-test", "8", "--batch-size", "8",
                "--device", device, "--seed", "3", "--out", out.toString()));
        if (!flags.contains("--epochs")) a.addAll(List.of("--epochs", "1"));
        a.addAll(List.of(flags.split(" +")));
        return a.toArray(String[]::new);
    }

    /** The folder of the run in sequence on one GPU that a pipeline of {@code model} is compared with: mode streams' first of the model. */
    private static String sequence(String model) { return model.equals(MLP) ? "seq0" : model.equals(VGG) ? "seq2" : "seq4"; }

    /** "ok ..." when train with {@code flags} (a device list among them) exits 2 with one line on stderr that contains {@code says}. */
    static String badRun(Path dir, String flags, String says) {
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true));
        int code;
        try {
            List<String> a = new ArrayList<>(List.of("train", "--data", SAMPLE, "--limit-train", "24", "--limit-test", "8", "--batch-size", "8",
                    "--epochs", "1", "--seed", "3", "--out", dir.toString()));
            a.addAll(List.of((MLP + " " + flags).split(" +")));
            code = Main.run(a.toArray(String[]::new));
        } finally {
            System.setErr(err);
        }
        List<String> lines = captured.toString().strip().lines().toList();
        if (code != 2 || lines.size() != 1 || !lines.get(0).contains(says))
            return "FAIL bad " + flags + ": exit " + code + ", stderr " + lines;
        return "ok   bad " + flags + ": " + lines.get(0);
    }

    /**
     * On two GPUs: a copy in GPU 1's context of a tensor on GPU 0 is refused by the driver, a
     * kernel on GPU 0 is refused a tensor of GPU 1 by Kernel, and moveHere on GPU 1's lane brings
     * the tensor over (by a peer copy) with its values, which the home thread then reads.
     */
    static String deviceCheck() throws Exception {
        try (CudaBackend gpus = CudaBackend.open(new int[] {0, 1}, true, locallearn.config.Precision.FP32); Scope s = Scope.open()) {
            if (!gpus.describe().contains("peer copies between them")) return "FAIL devices: " + gpus.describe();
            Tensor a = gpus.allocate(1000);
            gpus.fill(a, 3f);
            Backend.HandOff filled = gpus.handOff();
            String copied = onLane(gpus, 1, () -> {
                try (Scope inner = Scope.open()) {
                    gpus.copy(a, gpus.allocate(1000));
                }
            });
            if (copied == null || !copied.contains("CUDA_ERROR_ILLEGAL_ADDRESS"))
                return "FAIL devices: GPU 1 copied GPU 0's tensor and the driver said " + copied;
            String moved = onLane(gpus, 1, () -> {
                filled.await();
                gpus.moveHere(a);
                gpus.scale(a, 2f);
            });
            if (moved != null) return "FAIL devices: moveHere on GPU 1: " + moved;
            if (gpus.read(a)[999] != 6f) return "FAIL devices: GPU 0 read " + gpus.read(a)[999] + " of the moved tensor, want 6";
            String launched = onLane(gpus, 0, () -> gpus.scale(a, 2f));
            if (launched == null || !launched.contains("is on GPU 1, the launch on GPU 0"))
                return "FAIL devices: a kernel on GPU 0 took GPU 1's tensor and said " + launched;
            return "ok   devices: the driver refused another GPU's memory (" + copied + "), moveHere brought it over, a kernel refused it ("
                    + launched + ")";
        }
    }

    // ---- the emulator's report (emu_report, emu_reset_report in emulated_libcuda.cpp) -------------------

    /** The emulator's own calls, bound on first use (only the child JVM has the emulator). */
    private static final class Emu {
        static final SymbolLookup LIB = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        static final MethodHandle REPORT = Linker.nativeLinker().downcallHandle(LIB.find("emu_report").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle RESET = Linker.nativeLinker().downcallHandle(LIB.find("emu_reset_report").orElseThrow(),
                FunctionDescriptor.ofVoid());
    }

    /** "waits=W cross_waits=C hazards=H | stream:launches ... | ..." (one | per host thread that launched). */
    static String report() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1 << 14);
            int n = (int) Emu.REPORT.invokeExact(buf, 1 << 14);
            return buf.getString(0).substring(0, Math.min(n, (1 << 14) - 1));
        }
    }

    static void reset() throws Throwable { Emu.RESET.invokeExact(); }

    static long counter(String report, String name) {
        Matcher m = Pattern.compile("\\b" + name + "=(\\d+)").matcher(report);
        if (!m.find()) throw new IllegalStateException("no " + name + " in '" + report + "'");
        return Long.parseLong(m.group(1));
    }

    /**
     * Null when the host threads that launched on lane streams are {@code stages}, each on one
     * stream of its own and on no other, else what differs.
     */
    static String ownStreams(String report, int stages) {
        String[] threads = report.split("\\|");
        Set<String> laneStreams = new HashSet<>();
        int laneThreads = 0;
        for (int i = 1; i < threads.length; i++) {
            String[] used = threads[i].trim().split(" ");
            boolean onLane = false;
            for (String u : used) if (!u.startsWith("0:")) onLane = true;
            if (!onLane) continue;
            laneThreads++;
            if (used.length != 1) return "a stage thread launched on streams " + threads[i].trim();
            laneStreams.add(used[0].split(":")[0]);
        }
        if (laneThreads != stages || laneStreams.size() != stages)
            return laneThreads + " threads launched on " + laneStreams.size() + " lane streams, want " + stages + " on " + stages + ": " + report;
        return null;
    }

    // ---- the two orderings, by hand ------------------------------------------------------------

    /** Runs {@code body} on a thread bound to lane {@code lane} of 2 and waits for it; returns its failure's message or null. */
    private static String onLane(Backend be, int lane, Runnable body) throws InterruptedException {
        String[] failure = {null};
        Thread t = new Thread(() -> {
            try (Backend.Lane l = be.openLane(lane, 2)) {
                body.run();
            } catch (IllegalStateException e) {
                failure[0] = e.getMessage();
            }
        });
        t.start();
        t.join();
        return failure[0];
    }

    /** Lane 0 fills a tensor and marks it; lane 1 scales it, once without awaiting the mark, once awaiting it. */
    static String handOffCheck() throws Exception {
        try (CudaBackend gpu = CudaBackend.open(0, true); Scope s = Scope.open()) {
            String[] results = new String[2];
            for (int await = 0; await < 2; await++) {
                Tensor x = gpu.allocate(1000);
                Backend.HandOff[] mark = {null};
                onLane(gpu, 0, () -> {
                    gpu.fill(x, 3f);
                    mark[0] = gpu.handOff();
                });
                boolean awaits = await == 1;
                results[await] = onLane(gpu, 1, () -> {
                    if (awaits) mark[0].await();
                    gpu.scale(x, 2f);
                });
                if (awaits && results[1] == null && gpu.read(x)[999] != 6f) return "FAIL hand-off: lane 1 read " + gpu.read(x)[999] + ", want 6";
            }
            if (results[0] == null || !results[0].contains("CUDA_ERROR_ILLEGAL_STATE"))
                return "FAIL hand-off: lane 1 wrote lane 0's tensor without awaiting its mark and the order check said " + results[0];
            if (results[1] != null) return "FAIL hand-off: awaited, lane 1 still failed: " + results[1];
            return "ok   hand-off: unawaited refused by the order check (" + results[0] + "), awaited passes";
        }
    }

    /** Lane 0 fills and frees a block; lane 1 gets it back after one cross-stream wait, then again with none. */
    static String reuseCheck() throws Throwable {
        try (CudaBackend gpu = CudaBackend.open(0, true)) {
            long[] address = new long[3];
            onLane(gpu, 0, () -> {
                try (Scope s = Scope.open()) {
                    Tensor x = gpu.allocate(777);
                    gpu.fill(x, 1f);
                    address[0] = ((CudaStorage) x.storage()).address();
                }
            });
            reset();
            long[] waits = new long[2];
            String failed = onLane(gpu, 1, () -> {
                try {
                    for (int i = 0; i < 2; i++) {
                        try (Scope s = Scope.open()) {
                            Tensor y = gpu.allocate(777);
                            gpu.fill(y, 2f);
                            address[1 + i] = ((CudaStorage) y.storage()).address();
                            waits[i] = counter(report(), "cross_waits");
                        }
                    }
                } catch (Throwable e) {
                    throw new IllegalStateException(e);
                }
            });
            if (failed != null) return "FAIL reuse: " + failed;
            if (address[1] != address[0] || address[2] != address[0]) return "FAIL reuse: lane 1 did not get lane 0's block back";
            if (waits[0] != 1 || waits[1] != 1)
                return "FAIL reuse: cross-stream waits after the first reuse " + waits[0] + " (want 1), after the second " + waits[1] + " (want still 1)";
            return "ok   reuse: lane 1 took lane 0's freed block after 1 cross-stream wait, its own again with none";
        }
    }

    // ---- a pipelined run against the run in sequence ----------------------------------------------

    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?|NaN");

    /**
     * Within 1e-5 + 1e-4 |x| (the local steps' tolerance of EmulatedGpuMain, for float sums in
     * another order): on one device with the same kernels the pipeline runs every stage's ops in
     * the sequence's order, so the emulator gives equal bits; a GPU whose lanes pick other cuDNN
     * algorithms (each lane times its own) may differ in the last bits.
     */
    private static boolean close(double a, double b) {
        return Double.isNaN(a) ? Double.isNaN(b) : Math.abs(a - b) <= 1e-5 + 1e-4 * Math.abs(a);
    }

    /**
     * "ok ..." when the pipelined run's metrics and tensors match the sequence's, its metrics name
     * the stages' {@code devices} ("cuda:0,cuda:0,cuda:1"), and (with the emulator's report) each
     * stage launched on a stream of its own; else "FAIL ...".
     */
    static String compare(String run, Path seq, Path pipe, String devices, String report) throws java.io.IOException {
        int stages = devices.split(",").length;
        String named = "\"stage_devices\":[\"" + devices.replace(",", "\",\"") + "\"]";
        List<String> a = Files.readAllLines(seq.resolve("metrics.jsonl")), b = Files.readAllLines(pipe.resolve("metrics.jsonl"));
        if (a.size() != b.size()) return "FAIL pipeline " + run + ": " + a.size() + " metrics lines against " + b.size();
        boolean exact = true;
        for (int i = 0; i < a.size(); i++) {
            String x = a.get(i).replaceFirst(",\"images_per_s\".*}$", "}"), y = b.get(i).replaceFirst(",\"images_per_s\".*}$", "}");
            Matcher mx = NUMBER.matcher(x), my = NUMBER.matcher(y);
            while (mx.find()) {
                if (!my.find()) return "FAIL pipeline " + run + ": metrics differ: " + x + " / " + y;
                double u = Double.parseDouble(mx.group()), v = Double.parseDouble(my.group());
                if (!close(u, v)) return "FAIL pipeline " + run + ": metric " + u + " against " + v + " in " + y;
                exact &= u == v || Double.isNaN(u);
            }
            if (!b.get(i).contains("\"stage_busy_s\":[") || !b.get(i).contains("\"stage_peak_bytes\":["))
                return "FAIL pipeline " + run + ": no stage figures in " + b.get(i);
            if (!b.get(i).contains(named)) return "FAIL pipeline " + run + ": want " + named + " in " + b.get(i);
        }
        int tensors = 0;
        for (String file : new String[] {"checkpoint.safetensors", "train_state.safetensors"}) {
            Map<String, SafeTensors.Entry> x = SafeTensors.read(seq.resolve(file)).tensors(), y = SafeTensors.read(pipe.resolve(file)).tensors();
            if (!x.keySet().equals(y.keySet())) return "FAIL pipeline " + run + ": " + file + " holds other tensors";
            for (String k : x.keySet()) {
                float[] u = x.get(k).values(), v = y.get(k).values();
                for (int j = 0; j < u.length; j++) {
                    if (!close(u[j], v[j])) return "FAIL pipeline " + run + ": " + file + " " + k + "[" + j + "] " + u[j] + " against " + v[j];
                    exact &= Float.floatToRawIntBits(u[j]) == Float.floatToRawIntBits(v[j]);
                }
                tensors++;
            }
        }
        String result = "ok   pipeline " + run + ": metrics and " + tensors + " tensors " + (exact ? "equal bit for bit" : "within 1e-5 + 1e-4|x|");
        if (report == null) return result; // a real GPU: no emulator to report streams
        String streams = ownStreams(report, stages);
        if (streams != null) return "FAIL pipeline " + run + ": " + streams;
        if (counter(report, "cross_waits") == 0) return "FAIL pipeline " + run + ": no stream waited for another: " + report;
        return result + "; " + stages + " stage threads on a stream each, " + counter(report, "cross_waits") + " cross-stream waits";
    }
}
