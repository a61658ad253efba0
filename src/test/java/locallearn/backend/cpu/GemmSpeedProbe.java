package locallearn.backend.cpu;

/** Not a test: a quick GFLOP/s probe run by hand (java -cp ... GemmSpeedProbe N). */
final class GemmSpeedProbe {
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < a.length; i++) { a[i] = r.nextFloat(); b[i] = r.nextFloat(); }
        double best = 1e9;
        for (int it = 0; it < 30; it++) {
            long t = System.nanoTime();
            Gemm.gemmFast(false, false, n, n, n, 1f, a, 0, b, 0, 0f, c, 0);
            double s = (System.nanoTime() - t) / 1e9;
            if (it >= 5) best = Math.min(best, s);
        }
        System.out.printf("gemm %d^3 best %.4f s %.1f GFLOP/s (threads %d)%n", n, best, 2.0 * n * n * n / best / 1e9, Parallel.threads());
    }
}
