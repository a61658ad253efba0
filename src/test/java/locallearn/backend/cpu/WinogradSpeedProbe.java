package locallearn.backend.cpu;

import locallearn.backend.ConvGeom;

/**
 * Not a test: GFLOP/s (direct-convolution flops over time) of im2col + GEMM against Winograd
 * F(2x2) and F(4x4) on the VGG geometries, forward, backward-data and backward-filter, best of a
 * few runs. Arguments: batch (default 32), then optionally geometries as C,K,H.
 */
final class WinogradSpeedProbe {
    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int[][] geoms = {{3, 128, 32}, {128, 256, 32}, {256, 256, 16}, {256, 512, 16}, {512, 512, 8}, {512, 512, 4}, {512, 512, 2}};
        if (args.length > 1) {
            geoms = new int[args.length - 1][];
            for (int i = 1; i < args.length; i++) geoms[i - 1] = java.util.Arrays.stream(args[i].split(",")).mapToInt(Integer::parseInt).toArray();
        }
        System.out.printf("batch %d, %d threads, %d-bit vectors; GFLOP/s direct / F2 / F4%n", batch, Parallel.threads(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        for (int[] gm : geoms) {
            ConvGeom g = new ConvGeom(batch, gm[0], gm[2], gm[2], gm[1], 3, 3, 1, 1);
            java.util.Random r = new java.util.Random(1);
            float[] x = Check.rand(r, batch * gm[0] * gm[2] * gm[2]), w = Check.rand(r, gm[1] * gm[0] * 9), dy = Check.rand(r, batch * gm[1] * gm[2] * gm[2]);
            float[] y = new float[dy.length], dx = new float[x.length], dw = new float[w.length], bias = new float[gm[1]], db = new float[gm[1]];
            double gf = 2.0 * g.macs() / 1e9;
            StringBuilder line = new StringBuilder(String.format("%4d->%-4d @%2dx%-2d", gm[0], gm[1], gm[2], gm[2]));
            String[] ops = {"fwd", "bwd-data", "bwd-filter"};
            for (int op = 0; op < 3; op++) {
                int o = op;
                line.append(String.format("  %s", ops[op]));
                for (int alg = 0; alg < 3; alg++) {
                    Winograd.Tile f = alg == 0 ? null : alg == 1 ? Winograd.F2 : Winograd.F4;
                    Runnable run = switch (o) {
                        case 0 -> () -> { if (f == null) Conv.forward(x, w, bias, y, g, false); else Winograd.forward(x, w, bias, y, g, f, false); };
                        case 1 -> () -> { if (f == null) Conv.backwardData(dy, w, dx, g, false); else Winograd.backwardData(dy, w, dx, g, f, false); };
                        default -> () -> { if (f == null) Conv.backwardFilter(x, dy, dw, db, g, false, false); else Winograd.backwardFilter(x, dy, dw, db, g, false, f, false); };
                    };
                    run.run();
                    double best = 1e9, spent = 0;
                    for (int it = 0; it < 5 && (it < 2 || spent < 1.0); it++) {
                        long t0 = System.nanoTime();
                        run.run();
                        double s = (System.nanoTime() - t0) / 1e9;
                        spent += s;
                        best = Math.min(best, s);
                    }
                    line.append(String.format(" %6.1f", gf / best));
                }
            }
            System.out.println(line);
        }
    }
}
