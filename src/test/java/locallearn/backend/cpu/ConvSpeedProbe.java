package locallearn.backend.cpu;

import locallearn.backend.ConvGeom;

/** Not a test: a quick conv timing probe run by hand (VGG8B's second layer by default). */
final class ConvSpeedProbe {
    public static void main(String[] args) {
        ConvGeom g = new ConvGeom(32, 128, 32, 32, 256, 3, 3, 1, 1);
        float[] x = new float[32 * 128 * 32 * 32], w = new float[256 * 128 * 9], y = new float[32 * 256 * 32 * 32];
        float[] dx = new float[x.length], dw = new float[w.length], db = new float[256];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < w.length; i++) w[i] = r.nextFloat();
        double bf = 1e9, bd = 1e9, bw = 1e9;
        for (int it = 0; it < 6; it++) {
            long t0 = System.nanoTime();
            Conv.forward(x, w, null, y, g, false);
            long t1 = System.nanoTime();
            Conv.backwardData(y, w, dx, g, false);
            long t2 = System.nanoTime();
            Conv.backwardFilter(x, y, dw, db, g, false, false);
            long t3 = System.nanoTime();
            if (it >= 1) { bf = Math.min(bf, (t1 - t0) / 1e9); bd = Math.min(bd, (t2 - t1) / 1e9); bw = Math.min(bw, (t3 - t2) / 1e9); }
        }
        float[] col = new float[128 * 9 * 1024];
        double bi = 1e9, bc = 1e9;
        for (int it = 0; it < 5; it++) {
            long t0 = System.nanoTime();
            for (int b = 0; b < 32; b++) Conv.im2col(x, b * 128 * 1024, g, col);
            long t1 = System.nanoTime();
            for (int b = 0; b < 32; b++) Conv.col2im(col, 0, 1024, g, dx, b * 128 * 1024);
            long t2 = System.nanoTime();
            bi = Math.min(bi, (t1 - t0) / 1e9);
            bc = Math.min(bc, (t2 - t1) / 1e9);
        }
        System.out.printf("single-thread im2col of the batch %.4f s, col2im %.4f s%n", bi, bc);
        double gf = 2.0 * g.macs() / 1e9;
        System.out.printf("conv fwd %.4f s (%.1f GFLOP/s) bwd-data %.4f s (%.1f) bwd-filter %.4f s (%.1f) total %.4f s%n",
                bf, gf / bf, bd, gf / bd, bw, gf / bw, bf + bd + bw);
    }
}
