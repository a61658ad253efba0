package locallearn.backend.cuda.runtime;

import java.util.Random;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.CudaStorage;
import locallearn.backend.cuda.Kernel;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * Runs in a child JVM of {@link FakeDriverTest} with the stand-in libcuda.so.1 on its loader path
 * (a process that has loaded a driver keeps it, so the test's own JVM must not). Prints one line
 * per step; a wrong value throws, so the exit code is not 0.
 */
public final class FakeDriverMain {
    public static void main(String[] args) {
        System.out.println("probe: " + CudaContext.probe());
        if (args.length > 0 && args[0].equals("probe")) {
            try (CudaContext ctx = CudaContext.open(0)) {
                System.out.println("opened " + ctx.deviceName());
            } catch (IllegalStateException e) {
                System.out.println("open: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            return;
        }
        try (CudaContext ctx = CudaContext.open(0)) {
            System.out.println("device: " + ctx.describe() + ", free " + ctx.freeBytes());

            int n = 1000;
            float[] x = new float[n];
            Random r = new Random(5);
            for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
            CudaStorage a = ctx.allocator().acquire(4L * n), b = ctx.allocator().acquire(4L * n);
            ctx.upload(a, x, n);
            ctx.copy(a, b, 4L * n);
            ctx.memset(a, Float.floatToRawIntBits(2.5f), n / 2);
            float[] ga = new float[n], gb = new float[n];
            ctx.download(a, ga, n);
            ctx.download(b, gb, n);
            for (int i = 0; i < n; i++) {
                check(gb[i] == x[i], "copy " + i);
                check(ga[i] == (i < n / 2 ? 2.5f : x[i]), "memset " + i);
            }
            System.out.println("memory: upload, copy, memset, download ok; allocator " + ctx.allocator().stats()
                    + ", free " + ctx.freeBytes());

            try (Tensor t = new Tensor(new Shape(n), a, ctx.allocator())) {
                ctx.upload(a, x, n);
                Kernel k = ctx.kernel("runtimetest", "runtime_axpb");
                k.launch((n + 255) / 256, 1, 1, 256, 1, 1, 0, t, 1.5f, -0.25f, n, 5_000_000_000L, true);
                ctx.download(a, ga, n);
                for (int i = 0; i < n; i++) check(ga[i] == Math.fma(1.5f, x[i], -0.25f) + (float) (i + 5_000_000_000L), "kernel " + i);
                k.launch((n + 255) / 256, 1, 1, 256, 1, 1, 0, b, 0f, 7f, n, 0L, false);
                ctx.download(b, gb, n);
                for (int i = 0; i < n; i++) check(gb[i] == 7f, "kernel on CudaStorage " + i);
                System.out.println("kernel: Tensor, Float, Integer, Long, Boolean, CudaStorage arguments ok");
                report(() -> k.launch(1, 1, 1, 4096, 1, 1, 0, t, 1f, 0f, 1, 0L, false));
            }
            report(() -> ctx.kernel("runtimetest", "no_such_kernel"));
            report(() -> ctx.kernel("runtimetest_toonew", "too_new"));
            report(() -> ctx.allocator().acquire(2L << 30));
            System.out.println("providers: " + ctx.providers());
            ctx.allocator().release(b);
            ctx.synchronize();
            System.out.println("pool before close: " + ctx.allocator().stats());
        }
    }

    private static void report(Runnable r) {
        try {
            r.run();
            System.out.println("no error");
        } catch (RuntimeException e) {
            System.out.println("error: " + e.getMessage());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError("wrong value: " + what);
    }
}
