package locallearn.backend.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Not a test: a GFLOP/s probe run by hand (java -cp ... GemmSpeedProbe N). Prints wall-clock
 * GFLOP/s and, for a single thread (-Dlocallearn.threads=1), GFLOP/s per CPU-second of the
 * calling thread, which stays comparable while other processes load the machine.
 */
final class GemmSpeedProbe {
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < a.length; i++) { a[i] = r.nextFloat(); b[i] = r.nextFloat(); }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double best = 1e9, bestCpu = 1e9;
        for (int it = 0; it < 30; it++) {
            long t = System.nanoTime(), cpu = mx.getCurrentThreadCpuTime();
            Gemm.gemmFast(false, false, n, n, n, 1f, a, 0, b, 0, 0f, c, 0);
            double s = (System.nanoTime() - t) / 1e9, cs = (mx.getCurrentThreadCpuTime() - cpu) / 1e9;
            if (it >= 5) { best = Math.min(best, s); bestCpu = Math.min(bestCpu, cs); }
        }
        double f = 2.0 * n * n * n / 1e9;
        System.out.printf("gemm %d^3 threads %d: best %.4f s %.1f GFLOP/s wall; %.1f GFLOP/s per CPU-second of the caller%n",
                n, Parallel.threads(), best, f / best, f / bestCpu);
    }
}
