package locallearn.backend.cpu;

import java.util.Random;
import locallearn.backend.PoolGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;

/**
 * Not a test: timings of the CPU ops that are not GEMM or convolution, at the size of VGG8B's
 * largest activation (batch 32, 256 channels, 32x32: 8.4 M floats, 33.5 MB), run by hand. Each
 * line gives the best of several calls and the bytes it must move at least over that time, beside
 * a plain copy of the same tensor, the memory system's pace. Arguments: channels (256), a filter
 * on the op names, the calls per op (12).
 */
final class OpsSpeedProbe {
    interface Op { void run(); }

    /** Only ops whose name contains this (second argument), each run this many times (third). */
    static String only = "";
    static int runs = 12;

    static void time(String what, double bytes, Op op) {
        if (!what.contains(only)) return;
        double best = 1e9;
        for (int it = 0; it < runs; it++) {
            long t0 = System.nanoTime();
            op.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("%-34s %8.2f ms %7.1f GB/s%n", what, best * 1e3, bytes / best / 1e9);
    }

    public static void main(String[] args) {
        int nb = 32, nc = args.length > 0 ? Integer.parseInt(args[0]) : 256, hw = 32;
        if (args.length > 1) only = args[1];
        if (args.length > 2) runs = Integer.parseInt(args[2]);
        CpuBackend be = new CpuBackend();
        Random r = new Random(1);
        try (Scope s = Scope.open()) {
            Tensor x = Check.t(be, Check.rand(r, nb * nc * hw * hw), nb, nc, hw, hw), y = be.allocate(nb, nc, hw, hw), dy = Check.t(be, Check.rand(r, nb * nc * hw * hw), nb, nc, hw, hw);
            Tensor dx = be.allocate(nb, nc, hw, hw);
            double n = x.numel() * 4.0;
            Tensor gamma = be.allocate(nc), beta = be.allocate(nc), rm = be.allocate(nc), rv = be.allocate(nc), sm = be.allocate(nc), si = be.allocate(nc);
            be.fill(gamma, 1f); be.fill(beta, 0f); be.fill(rm, 0f); be.fill(rv, 1f);
            Tensor dg = be.allocate(nc), db = be.allocate(nc);
            PoolGeom pg = new PoolGeom(nb, nc, hw, hw, 2, 2, 2, 2, 0, 0);
            Tensor py = be.allocate(nb, nc, hw / 2, hw / 2), pdy = Check.t(be, Check.rand(r, nb * nc * hw * hw / 4), nb, nc, hw / 2, hw / 2);
            Tensor std = be.allocate(nb, nc), dstd = Check.t(be, Check.rand(r, nb * nc), nb, nc);
            Tensor m1 = be.allocate(x.shape()), m2 = be.allocate(x.shape()), m3 = be.allocate(x.shape());
            time("copy", 2 * n, () -> be.copy(x, y));
            time("fill", n, () -> be.fill(y, 0f));
            time("axpy", 3 * n, () -> be.axpy(0.5f, x, y));
            time("scale", 2 * n, () -> be.scale(y, 0.5f));
            time("leakyReluForward", 2 * n, () -> be.leakyReluForward(x, y, 0.01f));
            time("leakyReluForward in place", 2 * n, () -> be.leakyReluForward(y, y, 0.01f));
            time("leakyReluBackward", 3 * n, () -> be.leakyReluBackward(x, dy, dx, 0.01f));
            time("batchNormForwardTrain", 2 * n, () -> be.batchNormForwardTrain(x, gamma, beta, rm, rv, 0.1f, 1e-5f, y, sm, si));
            time("batchNormForwardEval", 2 * n, () -> be.batchNormForwardEval(x, gamma, beta, rm, rv, 1e-5f, y));
            time("batchNormBackward", 3 * n, () -> be.batchNormBackward(x, dy, gamma, sm, si, dx, dg, db, false));
            time("maxPoolForward 2x2", 1.25 * n, () -> be.maxPoolForward(x, py, pg));
            time("maxPoolBackward 2x2", 2.25 * n, () -> be.maxPoolBackward(x, pdy, dx, pg));
            time("avgPoolForward 2x2", 1.25 * n, () -> be.avgPoolForward(x, py, pg));
            time("avgPoolBackward 2x2", 1.25 * n, () -> be.avgPoolBackward(pdy, dx, pg));
            PoolGeom dg8 = new PoolGeom(nb, nc, hw, hw, 8, 8, 8, 8, 0, 0);
            Tensor dpy = be.allocate(nb, nc, hw / 8, hw / 8);
            time("avgPoolForward 8x8 (decoder)", n, () -> be.avgPoolForward(x, dpy, dg8));
            time("avgPoolBackward 8x8 (decoder)", n, () -> be.avgPoolBackward(dpy, dx, dg8));
            time("featureMapStdForward", n, () -> be.featureMapStdForward(x, std));
            time("featureMapStdBackward", 2 * n, () -> be.featureMapStdBackward(x, std, dstd, dx));
            time("dropoutForward p=0.25 inner=1", 2 * n, () -> be.dropoutForward(x, y, 0.25f, 1, 2, 1));
            time("dropoutForward p=0.25 inner=hw", 2 * n, () -> be.dropoutForward(x, y, 0.25f, 1, 2, hw * hw));
            be.fill(m1, 0f); be.fill(m2, 0f);
            int[] step = {0};
            time("adamStep (x as params)", 7 * n, () -> be.adamStep(y, dy, m1, m2, null, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, ++step[0]));
            time("adamStep amsgrad", 9 * n, () -> be.adamStep(y, dy, m1, m2, m3, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, ++step[0]));
            time("sgdStep momentum", 5 * n, () -> be.sgdStep(y, dy, m1, 1e-3f, 0.9f, 0f, false));
            time("channelAffine", 2 * n, () -> be.channelAffine(y, gamma, beta));
            Tensor out = be.allocate(1);
            time("sum", n, () -> be.sum(x, out, false));
            Tensor rows = x.view(nb, nc * hw * hw), ss = be.allocate(nb, nb), xc = be.allocate(rows.shape()), nrm = be.allocate(nb);
            Tensor dss = Check.t(be, Check.rand(r, nb * nb), nb, nb), drows = dx.view(nb, nc * hw * hw);
            time("similarityForward (B, C*H*W)", 3 * n, () -> be.similarityForward(rows, ss, xc, nrm));
            time("similarityBackward (B, C*H*W)", 3 * n, () -> be.similarityBackward(xc, nrm, ss, dss, drows));
            // the mlp's sizes: fc activations (128, 1024)
            Tensor fx = Check.t(be, Check.rand(r, 128 * 1024), 128, 1024), fs = be.allocate(128, 128), fxc = be.allocate(128, 1024), fn = be.allocate(128);
            Tensor fds = Check.t(be, Check.rand(r, 128 * 128), 128, 128), fdx = be.allocate(128, 1024), fb = Check.t(be, Check.rand(r, 1024), 1024);
            double fbytes = 128 * 1024 * 4.0;
            time("similarityForward (128, 1024)", 2 * fbytes, () -> be.similarityForward(fx, fs, fxc, fn));
            time("similarityBackward (128, 1024)", 2 * fbytes, () -> be.similarityBackward(fxc, fn, fs, fds, fdx));
            time("biasAdd (128, 1024)", 2 * fbytes, () -> be.biasAdd(fdx, fb));
            time("biasBackward (128, 1024)", fbytes, () -> be.biasBackward(fx, fb, false));
            Tensor lg = Check.t(be, Check.rand(r, 1024 * 10), 1024, 10), lb = be.allocate(1024), pr = be.allocate(1024, 10), lo = be.allocate(1);
            float[] l = new float[1024];
            for (int i = 0; i < l.length; i++) l[i] = i % 10;
            be.write(lb, l);
            time("crossEntropyForward (1024, 10)", 2 * 40960, () -> be.crossEntropyForward(lg, lb, lo, pr));
        }
    }
}
