package locallearn.train;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.tensor.Scope;

/**
 * Not a test: where the wall time of a CPU training step goes, op by op. The CPU backend runs
 * every op synchronously, so timing each Backend call from outside (a proxy; nested calls such
 * as zeros -> fill count once, for the outer op) gives each op's wall time, serial parts
 * included, which a sampling profiler weighs by the threads busy instead. What is left of the
 * step is the host side: tape, scopes, Java code between ops. Last, a checksum of the bits of every
 * parameter and buffer, to compare runs and thread counts ({@code -Dlocallearn.threads}).
 *
 * <p>Run by hand: java -cp target/test-classes:target/classes:target/lib/* locallearn.train.StepProfileProbe
 * MODEL CxHxW BATCH MODE MEMORY_CHUNKS STEPS [NUM_LAYERS] (MEMORY_CHUNKS -1 is auto).
 */
final class StepProfileProbe {
    private static final class Timer implements InvocationHandler {
        final Backend inner;
        final Map<String, long[]> ops = new TreeMap<>(); // name -> {nanos, calls}
        int depth;
        boolean on;

        Timer(Backend inner) { this.inner = inner; }

        @Override public Object invoke(Object proxy, java.lang.reflect.Method m, Object[] args) throws Throwable {
            boolean outer = on && depth == 0;
            depth++;
            long t0 = System.nanoTime();
            try {
                return m.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                depth--;
                if (outer) {
                    long[] a = ops.computeIfAbsent(m.getName(), k -> new long[2]);
                    a[0] += System.nanoTime() - t0;
                    a[1]++;
                }
            }
        }
    }

    public static void main(String[] args) {
        String model = args[0], mode = args[3];
        int batch = Integer.parseInt(args[2]), chunks = Integer.parseInt(args[4]), steps = Integer.parseInt(args[5]);
        Integer layers = args.length > 6 ? Integer.valueOf(args[6]) : null;
        var in = Bench.parseInput(args[1], 10);
        Timer timer = new Timer(new CpuBackend());
        Backend be = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, timer);
        TrainConfig config = Bench.config(model, mode, batch, layers, 1024, chunks);
        var data = Bench.synthetic(batch, in.channels(), in.height(), in.width(), 10, config.seed());
        try (Trainer t = new Trainer(be, config, data, data, Bench.syntheticSpec(in.channels(), in.height(), in.width(), 10))) {
            for (int i = 0; i < 2; i++) step(t, data, i);
            timer.on = true;
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step(t, data, 2 + i);
            double total = (System.nanoTime() - t0) / 1e6 / steps;
            timer.on = false;
            double inOps = 0;
            System.out.printf("%s %s %s batch %d memory-chunks %d: %.1f ms per step (%d steps, %d threads)%n",
                    model, args[1], mode, batch, chunks, total, steps, CpuBackend.threads());
            var sorted = new java.util.ArrayList<>(timer.ops.entrySet());
            sorted.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
            for (var e : sorted) {
                double ms = e.getValue()[0] / 1e6 / steps;
                inOps += ms;
                System.out.printf("  %6.1f%%  %9.2f ms  %6d calls  %s%n", 100 * ms / total, ms, e.getValue()[1] / steps, e.getKey());
            }
            System.out.printf("  %6.1f%%  %9.2f ms  host side (tape, scopes, code between ops)%n", 100 * (total - inOps) / total, total - inOps);
            // the bits of every parameter and buffer after the steps: equal across runs and thread counts when the ops are deterministic
            long h = 1125899906842597L;
            for (var e : t.net().state("").entrySet()) for (float v : be.read(e.getValue().data())) h = 31 * h + Float.floatToRawIntBits(v);
            System.out.printf("  state checksum %016x%n", h);
        }
    }

    private static void step(Trainer t, locallearn.data.Dataset data, long index) {
        try (Scope s = Scope.open()) {
            t.trainStep(t.batch(data, null, 0, t.config().batchSize(), false, index), t.config().lr());
        }
    }
}
