package locallearn.backend.cuda.kernels;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.backend.BadArguments;
import locallearn.backend.ConvAlgorithm;
import locallearn.config.Precision;
import locallearn.backend.Backend;
import locallearn.backend.Philox;
import locallearn.backend.SelfTest;
import locallearn.backend.cpu.CpuBackend;
import locallearn.backend.cuda.CudaBackend;
import locallearn.cli.Main;
import locallearn.local.LocalBlock;
import locallearn.config.LossConfig;
import locallearn.config.TrainingMode;
import locallearn.local.Targets;
import locallearn.nn.BatchNorm;
import locallearn.nn.Conv2d;
import locallearn.nn.Init;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;
import locallearn.train.SafeTensors;

/**
 * The child JVM of {@link EmulatedGpuTest}: the whole selftest, CPU against CudaBackend, where
 * libcuda.so.1 is the emulating stand-in, its tf32 cases (CPU twin against our kernels in TF32)
 * and its bf16 cases (the CPU twin on bf16 tensors against our bf16 kernels), then local steps of
 * a small conv block on both (the ops composed as training uses them), in float32 and on a bf16
 * input, one residual block's local step with its shortcut on both, then every wrong call of
 * BadArguments on both,
 * whose messages must be equal. Prints one line per case and a last line "done N".
 */
public final class EmulatedGpuMain {
    private EmulatedGpuMain() {}

    public static void main(String[] args) throws IOException {
        SelfTest test = new SelfTest(Long.parseLong(args[0]));
        // our gemm and conv kernels: there is no cuBLAS or cuDNN behind a stand-in driver
        try (CudaBackend gpu = CudaBackend.open(0, true)) {
            System.out.println("device: " + gpu.describe());
            List<SelfTest.Line> lines = test.run(new CpuBackend(), gpu, op -> true, l -> System.out.println(l.format()));
            // TF32: our gemm kernel rounds its inputs as the CPU twin, so they sum the same products
            List<SelfTest.Line> tf32;
            try (CudaBackend gpuTf32 = gpu.withPrecision(Precision.TF32)) {
                tf32 = SelfTest.tf32(Long.parseLong(args[0]), true).run(new CpuBackend(ConvAlgorithm.AUTO, Precision.TF32), gpuTf32, op -> true,
                        l -> System.out.println(l.format()));
            }
            // bf16: both sides widen the same bf16 inputs and round their bf16 outputs to nearest even
            List<SelfTest.Line> bf16;
            String bf16Step;
            try (CudaBackend gpuBf16 = gpu.withPrecision(Precision.BF16)) {
                CpuBackend cpuBf16 = new CpuBackend(ConvAlgorithm.AUTO, Precision.BF16);
                bf16 = SelfTest.bf16(Long.parseLong(args[0])).run(cpuBf16, gpuBf16, op -> true, l -> System.out.println(l.format()));
                bf16Step = bf16LocalStepCheck(cpuBf16, gpuBf16);
            }
            System.out.println(localStepsCheck(new CpuBackend(), gpu));
            System.out.println(bf16Step);
            System.out.println(bf16TrainCheck());
            System.out.println(residualStepCheck(new CpuBackend(), gpu));
            System.out.println(badArgumentsCheck(new CpuBackend(), gpu));
            System.out.println("done " + (lines.size() + tf32.size() + bf16.size() + 5));
        }
    }

    /** "ok   bad arguments ..." when every call of BadArguments fails on the GPU with the CPU's message, else the differences. */
    static String badArgumentsCheck(Backend cpu, Backend gpu) {
        List<String> a = BadArguments.messages(cpu), b = BadArguments.messages(gpu);
        List<String> differ = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) if (!a.get(i).equals(b.get(i))) differ.add("cpu '" + a.get(i) + "' cuda '" + b.get(i) + "'");
        return differ.isEmpty() ? "ok   bad arguments: " + a.size() + " wrong calls rejected with the same message on both"
                : "FAIL bad arguments: " + String.join("; ", differ);
    }

    /**
     * "ok   local steps ..." when h, the loss and every gradient agree on both backends for a
     * small conv block's step: sliced predsim, sliced predsim mixed with unsupervised sim, and
     * held predsim mixed with recon (decoder_x as a transposed convolution). Else the first difference.
     */
    static String localStepsCheck(Backend cpu, Backend gpu) {
        LossConfig predsim = LossConfig.predsim().withDimInDecoder(40).withTargetProjSize(8);
        LossConfig[] losses = {predsim, predsim.withUnsup(LossConfig.Unsup.SIM, 0.5f), predsim.withUnsup(LossConfig.Unsup.RECON, 0.5f)};
        int[] chunks = {3, 3, 0};
        int gradients = 0;
        for (int c = 0; c < losses.length; c++) {
            List<float[]> a = localStep(cpu, losses[c], chunks[c], DType.F32), b = localStep(gpu, losses[c], chunks[c], DType.F32);
            gradients += a.size() - 2;
            String d = firstDifference(a, b, FLOAT_STEP);
            if (d != null) return "FAIL local step (loss " + losses[c].text() + " unsup " + losses[c].unsup().text() + "): " + d;
        }
        return "ok   local steps (conv 3->5 on 7x3x6x6: predsim in 3 slices, with unsup sim in 3 slices, with recon held): h, loss and "
                + gradients + " gradients agree";
    }

    /**
     * "ok   bf16-activation local step ..." when h, the loss and every gradient of the small conv block's sliced
     * predsim step on a bf16 input (every activation bf16, as --precision bf16 runs it) agree on
     * both backends within {@link #BF16_STEP}, else the first difference.
     */
    static String bf16LocalStepCheck(Backend cpu, Backend gpu) {
        LossConfig predsim = LossConfig.predsim().withDimInDecoder(40).withTargetProjSize(8);
        List<float[]> a = localStep(cpu, predsim, 3, DType.BF16), b = localStep(gpu, predsim, 3, DType.BF16);
        String d = firstDifference(a, b, BF16_STEP);
        return d != null ? "FAIL bf16-activation local step (predsim in 3 slices): " + d
                : "ok   bf16-activation local step (conv 3->5 on 7x3x6x6: predsim in 3 slices): h, loss and " + (a.size() - 2) + " gradients agree";
    }

    /**
     * "ok   train --precision bf16: ..." when train --precision bf16 (mlp 2x8 predsim, 3 steps of 8 images)
     * on the CPU and on CUDA agree: train and test loss within 2^-5 relative (a few bf16 ulps:
     * the activations round as in {@link #BF16_STEP}, and the weights they come from drift apart
     * as below), every checkpoint weight within 2 lr per step absolute (Adam's first steps move
     * each weight by about lr times the sign of its gradient, which a bf16 ulp may flip where the
     * gradient is near 0) plus 2^-7 relative. Else the first difference.
     */
    static String bf16TrainCheck() throws IOException {
        Path dir = Files.createTempDirectory("bf16-train");
        try {
            return bf16TrainCheck(dir);
        } finally {
            try (var files = Files.walk(dir)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
            }
        }
    }

    private static String bf16TrainCheck(Path dir) throws IOException {
        PrintStream out = System.out, err = System.err;
        int[] codes = new int[2];
        try {
            // the runs' description and progress lines
            System.setOut(new PrintStream(OutputStream.nullOutputStream()));
            System.setErr(new PrintStream(OutputStream.nullOutputStream()));
            String[] devices = {"cpu", "cuda"};
            for (int i = 0; i < 2; i++)
                codes[i] = Main.run(new String[] {"train", "--data", EmulatedPipelineMain.SAMPLE, "--limit-train", "24", "--limit-test", "8",
                        "--batch-size", "8", "--epochs", "1", "--num-layers", "2", "--num-hidden", "8", "--seed", "3", "--precision", "bf16",
                        "--device", devices[i], "--out", dir.resolve(devices[i]).toString()});
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        if (codes[0] != 0 || codes[1] != 0) return "FAIL train --precision bf16: exit " + codes[0] + " on the CPU, " + codes[1] + " on CUDA";
        String a = Files.readString(dir.resolve("cpu/metrics.jsonl")), b = Files.readString(dir.resolve("cuda/metrics.jsonl"));
        for (String metric : new String[] {"train_loss", "test_loss"}) {
            double x = number(a, metric), y = number(b, metric);
            if (!(Math.abs(x - y) <= 0x1p-5 * Math.abs(x))) return "FAIL train --precision bf16: " + metric + " " + x + " on the CPU, " + y + " on CUDA";
        }
        double lr = 5e-4, steps = 3;
        Map<String, SafeTensors.Entry> wa = SafeTensors.read(dir.resolve("cpu/checkpoint.safetensors")).tensors(),
                wb = SafeTensors.read(dir.resolve("cuda/checkpoint.safetensors")).tensors();
        for (String k : wa.keySet()) {
            float[] u = wa.get(k).values(), v = wb.get(k).values();
            for (int j = 0; j < u.length; j++)
                if (!(Math.abs(u[j] - v[j]) <= 2 * lr * steps + 0x1p-7 * Math.abs(u[j])))
                    return "FAIL train --precision bf16: " + k + "[" + j + "] " + u[j] + " on the CPU, " + v[j] + " on CUDA";
        }
        return "ok   train --precision bf16: mlp 2x8, 3 steps of 8 images, on the CPU and on CUDA: losses and " + wa.size()
                + " checkpoint tensors agree";
    }

    /** The value of "name": in a metrics line. */
    private static double number(String json, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + name + "\":([-0-9.Ee]+)").matcher(json);
        if (!m.find()) throw new IllegalStateException("no " + name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    /** "ok   residual local step ..." when both orders' h, loss and gradients (the shortcut's too) agree, else the first difference. */
    static String residualStepCheck(Backend cpu, Backend gpu) {
        for (LocalBlock.Order order : new LocalBlock.Order[] {LocalBlock.Order.POST_ACT, LocalBlock.Order.PRE_ACT}) {
            List<float[]> a = residualStep(cpu, order), b = residualStep(gpu, order);
            String d = firstDifference(a, b, FLOAT_STEP);
            if (d != null) return "FAIL residual local step (" + (order.preAct() ? "pre-act" : "post-act") + "): " + d;
        }
        return "ok   residual local step (conv 4->5 stride 2 on 6x4x6x6 + shortcut conv and bn, predsim, post- and pre-act with dropout):"
                + " h, loss and gradients agree";
    }

    /** {atol, rtol} of a float32 step, as the sliced step: other float summation orders on the device, on values of order 1. */
    private static final double[] FLOAT_STEP = {1e-5, 1e-4};
    /**
     * {atol, rtol} of a bf16 step: one bf16 ulp (2^-7 relative, 8 significant bits), relative and
     * absolute on values of order 1. Where the two sides' float sums straddle a bf16 rounding
     * boundary a stored activation lands one ulp apart; what flows on from that element is diluted
     * by the sums it enters (the differences seen here stay below 2^-9). A wrong index or a
     * missing rounding in a bf16 kernel is an error of order 1e-1, or a bias of a whole ulp.
     */
    private static final double[] BF16_STEP = {0x1p-7, 0x1p-7};

    private static String firstDifference(List<float[]> a, List<float[]> b, double[] tol) {
        for (int i = 0; i < a.size(); i++)
            for (int j = 0; j < a.get(i).length; j++) {
                float x = a.get(i)[j], y = b.get(i)[j];
                if (!(Math.abs(x - y) <= tol[0] + tol[1] * Math.abs(x))) return "output " + i + " element " + j + ": cpu " + x + ", cuda " + y;
            }
        return null;
    }

    /**
     * {h after dropout, loss, each gradient} of the last block of a residual unit taking its local
     * step as the trainer runs it: the shortcut (1x1 conv stride 2, batch norm) of the unit's input
     * on the block's tape, the block's input pre-activated (with Dropout2d 0.25 when pre-act).
     */
    private static List<float[]> residualStep(Backend be, LocalBlock.Order order) {
        LossConfig loss = LossConfig.predsim().withDimInDecoder(20);
        Init init = new Init(be, 7);
        LocalBlock blk = LocalBlock.residual(init, new Conv2d(init, 4, 5, 3, 2, 1, false), 4, 6, 6, order, true, 0.01f, order.preAct() ? 0.25f : 0f,
                loss, new TrainingMode.Local(0), 3);
        Conv2d projection = new Conv2d(init, 4, 5, 1, 2, 0, false);
        BatchNorm projectionBn = new BatchNorm(init, 5);
        List<Var> params = new ArrayList<>(blk.parameters());
        params.addAll(projection.parameters());
        params.addAll(projectionBn.parameters());
        long stream = 1;
        for (Var p : params) be.write(p.data(), centred(stream++, p.data().numel()));
        List<float[]> out = new ArrayList<>();
        try (Scope s = Scope.open()) {
            Tensor x = be.allocate(6, 4, 6, 6), lossSum = be.zeros(1);
            be.write(x, centred(99, x.numel()));
            Targets targets = Targets.of(be, new int[] {0, 2, 1, 1, 0, 2}, 3, true);
            Tape t = new Tape(be, true, true, 1, 1);
            Var in = Var.constant(x), shortcut = projectionBn.forward(t, projection.forward(t, in));
            Var h = blk.localStep(t, blk.preActivation(t, in, 3), shortcut, targets, lossSum, null);
            out.add(be.read(blk.dropout(t.withoutGrad(), h, 3).data()));
            out.add(be.read(lossSum));
            for (Var p : params) out.add(be.read(p.grad()));
        }
        blk.close();
        projection.close();
        projectionBn.close();
        return out;
    }

    /** {h, loss, each parameter's gradient} of one local step with Philox-drawn weights and an input of dtype {@code input}. */
    private static List<float[]> localStep(Backend be, LossConfig loss, int chunks, DType input) {
        LocalBlock blk = LocalBlock.conv(new Init(be, 7), 3, 6, 6, 5, 3, 1, 1, true, 0.01f, 0f, loss, new TrainingMode.Local(chunks), 3, false);
        long stream = 1;
        for (Var p : blk.parameters()) be.write(p.data(), centred(stream++, p.data().numel()));
        List<float[]> out = new ArrayList<>();
        try (Scope s = Scope.open()) {
            Tensor x = be.allocate(new Shape(7, 3, 6, 6), input), lossSum = be.zeros(1);
            be.write(x, centred(99, x.numel()));
            Targets targets = Targets.of(be, new int[] {0, 2, 1, 1, 0, 2, 2}, 3, true);
            Var h = blk.localStep(new Tape(be, true, true, 1, 1), Var.constant(x), targets, lossSum, null);
            out.add(be.read(h.data()));
            out.add(be.read(lossSum));
            for (Var p : blk.parameters()) out.add(be.read(p.grad()));
        }
        blk.close();
        return out;
    }

    private static float[] centred(long stream, int n) {
        float[] v = new float[n];
        Philox.uniforms(5, stream, v, 0, n);
        for (int i = 0; i < n; i++) v[i] = v[i] - 0.5f;
        return v;
    }
}
