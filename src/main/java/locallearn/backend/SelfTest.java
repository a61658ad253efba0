package locallearn.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntToDoubleFunction;
import java.util.function.Predicate;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * Every {@link Backend} op run on two backends from the same inputs and compared element by
 * element: the reference (the CPU twin) and a device backend (the GPU). Shapes are random-valued
 * and deliberately odd (1, 3, 7, 129, 1000, 100003...) so partial tiles, partial warps and
 * grid-stride tails are all exercised. One {@link Line} per case; a case that throws on either
 * side is reported as a failure with the exception, and the next case runs.
 *
 * <p>An element passes when |got - expected| &lt;= atol * max(1, max|expected|) + rtol * |expected|
 * (NaN only matches NaN). The atol is scaled by the output's largest magnitude so one rule fits
 * outputs of any size. Each case states its tolerance and why:
 * <ul>
 * <li>0 (bit for bit): copies, single multiplies or adds, Philox-driven dropout and
 *     augmentation, arg-max decisions. Both sides round each IEEE operation the same way.</li>
 * <li>1e-6: a few float operations in a different order or fused into an FMA by nvcc.</li>
 * <li>reductions over n terms: the CPU sums in double, the GPU in float with a tree, so the GPU's
 *     error grows like n * eps (eps = 2^-24) in the worst case: atol = n * 1.2e-7.</li>
 * <li>GEMM and convolution with k terms per output: k * eps per unit of |a||b| (inputs are in
 *     [-1, 1]): atol = k * 1.2e-7, rtol 1e-5.</li>
 * </ul>
 * {@link #tf32} builds the GEMM and convolution cases again for backends opened in TF32, whose
 * inputs are rounded to TF32 (11 significant bits: within 2^-11 |x| of x when rounded to
 * nearest, within 2^-10 |x| when truncated, which tensor cores do to operands nobody rounded;
 * products of two 11-bit significands are exact in float32, and both sides sum in float32):
 * <ul>
 * <li>against a device that rounds as the twin (our kernels: tf32_round is Tf32.round bit for
 *     bit) both sides sum the same rounded products, so only the order differs: the float32
 *     tolerance above, which TF32 rounding left out on either side exceeds for small k.</li>
 * <li>against cuBLAS and cuDNN, whose rounding of the inputs is theirs (nearest or truncation,
 *     Winograd or FFT transforms in between), each input may differ from the twin's by 2^-10 |x|,
 *     each product by 2 * 2^-10 |a||b| &lt;= 2^-9 for inputs in [-1, 1], so a sum of k of them by
 *     k * 2^-9 whatever its size: atol = k * (2^-9 + 1.2e-7), not scaled by M.</li>
 * </ul>
 * {@link #bf16} builds the cases again with their activations (inputs and outputs the CPU twin
 * would hold in bf16 in a --precision bf16 step) as bf16 tensors, parameters, statistics and
 * losses float32. Both sides are written the same bf16 inputs (rounded once on the host), widen
 * them exactly and compute in float, so before the store they differ as in float32; bf16 keeps 8
 * significant bits, so two floats within the float32 tolerance may round to neighbouring bf16
 * values, one bf16 ulp apart: at most 2^-7 |ref| (2^-7 (1 + 2^-7) |ref| with the ulp of the
 * larger side). A bf16 output adds that to its rtol; float32 outputs keep the float32 tolerance,
 * and exact cases stay exact (equal floats round to equal bf16).
 * A wrong index, a missing term or a wrong factor gives errors of order 1e-1 and fails any of them.
 */
public final class SelfTest {
    /** Ops whose device implementation goes through the GEMM or convolution provider (faBceBackward on its large shapes). */
    public static final Predicate<String> USES_PROVIDERS = op -> op.startsWith("gemm") || op.startsWith("conv2d") || op.startsWith("similarity")
            || op.equals("faBceBackward");

    private static final double EPS_K = 1.2e-7; // about 2^-23: one rounding per term
    /** Neighbouring bf16 values differ by 2^-7 of the smaller one at most: a bf16 output's added rtol (see the class comment). */
    private static final double BF16_STORE = 0x1p-7 * (1 + 0x1p-7);

    /** What {@link Line#format} prints before the first line: how to read the tolerance column. */
    public static final String LEGEND = "tolerance per element: atol*M + rtol*|ref|, M = max(1, largest |ref| of that output), or atol + rtol*|ref|"
            + " where no M is shown; exact = bit for bit";

    /** The result of one case: op, its shapes, the largest error over its outputs, the tolerance, and what failed. */
    public record Line(String op, String shape, boolean ok, double maxAbsError, double atol, double rtol, boolean absolute, String detail) {
        public String format() {
            String tol = atol == 0 && rtol == 0 ? "exact" : String.format(absolute ? "%.1e+%.0e*|ref|" : "%.1e*M+%.0e*|ref|", atol, rtol);
            return String.format("%-4s %-22s %-46s max|err| %.2e  tol %-18s%s", ok ? "ok" : "FAIL", op, shape, maxAbsError, tol,
                    detail.isEmpty() ? "" : "  " + detail).stripTrailing();
        }
    }

    private record Out(String name, int[] dims, float[] values, boolean bf16) {}

    /** absolute: the tolerance is atol + rtol |ref|, atol not scaled by M (a bound on the sum itself, as the TF32 library cases'). */
    private record Case(String op, String shape, double atol, double rtol, boolean absolute, Function<Backend, List<Out>> body) {}

    private final List<Case> cases = new ArrayList<>();
    private final Random rnd;
    /** The atol of a GEMM-like output summing {@code k} products of inputs in [-1, 1] (see the class comment). */
    private final IntToDoubleFunction productTolerance;
    /** Put before each case's shape: "" in float32, "tf32 " in the TF32 cases, "bf16 " in the bf16 ones. */
    private final String tag;
    /** The product tolerance bounds the sum itself, not a multiple of M (the TF32 library cases). */
    private final boolean absoluteProducts;
    /** The dtype of the cases' activations: F32, or BF16 in the bf16 cases. */
    private final DType act;

    /** The cases, with inputs drawn from {@code seed}, for backends in float32. */
    public SelfTest(long seed) {
        this(seed, k -> (k + 2) * EPS_K, "", false, DType.F32);
        elementwise();
        gemm();
        conv();
        batchNorm();
        dropout();
        pooling();
        losses();
        similarity();
        featureStd();
        optimizers();
        augmentation();
        feedbackAlignment();
    }

    private SelfTest(long seed, IntToDoubleFunction productTolerance, String tag, boolean absoluteProducts, DType act) {
        rnd = new Random(seed);
        this.productTolerance = productTolerance;
        this.tag = tag;
        this.absoluteProducts = absoluteProducts;
        this.act = act;
    }

    /**
     * Every case but the optimizers' (parameters and their state are float32 only) with bf16
     * activations, for a reference and a device whose GEMM and convolution compute in float32
     * on bf16 operands (the CPU twin, our kernels); tolerances as the class comment derives them.
     */
    public static SelfTest bf16(long seed) {
        SelfTest t = new SelfTest(seed, k -> (k + 2) * EPS_K, "bf16 ", false, DType.BF16);
        t.elementwise();
        t.gemm();
        t.conv();
        t.batchNorm();
        t.dropout();
        t.pooling();
        t.losses();
        t.similarity();
        t.featureStd();
        t.augmentation();
        t.feedbackAlignment();
        return t;
    }

    /**
     * The GEMM and convolution cases (the float32 cases' shapes, odd ones among them, with their
     * own random inputs) for a reference and a device both opened in TF32. {@code sameRounding}:
     * the device rounds its inputs exactly as the CPU twin (our kernels), else it is cuBLAS and
     * cuDNN; the tolerances follow from the format as the class comment derives them.
     */
    public static SelfTest tf32(long seed, boolean sameRounding) {
        SelfTest t = sameRounding ? new SelfTest(seed, k -> (k + 2) * EPS_K, "tf32 ", false, DType.F32)
                : new SelfTest(seed, k -> k * (TF32_PRODUCT + EPS_K), "tf32 ", true, DType.F32);
        t.gemm();
        t.conv();
        return t;
    }

    /** The most a product of two inputs in [-1, 1] may differ between two TF32 roundings of them: 2 * 2^-10. */
    private static final double TF32_PRODUCT = 0x1p-9;

    /** Number of cases (a full run reports one line more: the allocator check). */
    public int size() { return cases.size(); }

    /**
     * Runs the cases whose op name passes {@code filter} on both backends and hands each line to
     * {@code sink} as soon as it is known; returns all lines. A last line, op "allocator", checks
     * that the device's live bytes are back where they were: every case allocates inside a scope,
     * so anything left is memory an op leaked (scratch it did not give back).
     */
    public List<Line> run(Backend reference, Backend device, Predicate<String> filter, Consumer<Line> sink) {
        List<Line> lines = new ArrayList<>();
        long before = device.memory().current();
        for (Case c : cases) {
            if (!filter.test(c.op)) continue;
            Line line = runCase(c, reference, device);
            lines.add(line);
            sink.accept(line);
        }
        long leaked = device.memory().current() - before;
        Line memory = new Line("allocator", "live bytes after the cases", leaked == 0, leaked, 0, 0, false,
                leaked == 0 ? "" : leaked + " bytes still allocated on " + device.name());
        lines.add(memory);
        sink.accept(memory);
        return lines;
    }

    private static Line runCase(Case c, Backend reference, Backend device) {
        List<Out> want, got;
        try {
            want = evaluate(c, reference);
        } catch (RuntimeException e) {
            return new Line(c.op, c.shape, false, Double.NaN, c.atol, c.rtol, c.absolute, "reference " + reference.name() + " threw " + oneLine(e));
        }
        try {
            got = evaluate(c, device);
            device.synchronize(); // a kernel fault is reported against this case, not a later one
        } catch (RuntimeException e) {
            return new Line(c.op, c.shape, false, Double.NaN, c.atol, c.rtol, c.absolute, device.name() + " threw " + oneLine(e));
        }
        double maxErr = 0, shownRtol = c.rtol; // the rtol of a bf16 output, where there is one
        StringBuilder detail = new StringBuilder();
        for (int o = 0; o < want.size(); o++) {
            Out w = want.get(o), g = got.get(o);
            if (w.values.length != g.values.length) {
                detail.append(w.name).append(": ").append(g.values.length).append(" values, expected ").append(w.values.length).append("; ");
                continue;
            }
            double maxRef = 1;
            if (!c.absolute) for (float v : w.values) if (Float.isFinite(v)) maxRef = Math.max(maxRef, Math.abs(v));
            boolean exact = c.atol == 0 && c.rtol == 0;
            double rtol = c.rtol + (w.bf16 && !exact ? BF16_STORE : 0);
            shownRtol = Math.max(shownRtol, rtol);
            int bad = 0;
            StringBuilder first = new StringBuilder();
            for (int i = 0; i < w.values.length; i++) {
                float e = w.values[i], a = g.values[i];
                double err = Math.abs((double) a - e);
                // equal infinities pass (their difference is NaN)
                boolean pass = Float.isNaN(e) ? Float.isNaN(a) : a == e || err <= c.atol * maxRef + rtol * Math.abs(e);
                if (a == e) err = 0;
                if (!Double.isNaN(err)) maxErr = Math.max(maxErr, err);
                else if (!pass) maxErr = Double.POSITIVE_INFINITY; // a NaN where a number was expected, or the reverse
                if (!pass && bad++ < 3)
                    first.append(" ").append(index(w.dims, i)).append(" expected ").append(e).append(" got ").append(a).append(";");
            }
            if (bad > 0) detail.append(w.name).append(": ").append(bad).append(" of ").append(w.values.length).append(" beyond tol;").append(first).append(" ");
        }
        return new Line(c.op, c.shape, detail.isEmpty(), maxErr, c.atol, shownRtol, c.absolute, detail.toString().trim());
    }

    private static List<Out> evaluate(Case c, Backend be) {
        Scope scope = Scope.open(); // every tensor of the case goes back to the pool when it ends
        try {
            return c.body.apply(be);
        } finally {
            scope.close();
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m.replace('\n', ' '));
    }

    /** "[b, c, h, w]" of flat index i in a row-major tensor of the given dims. */
    private static String index(int[] dims, int i) {
        int[] idx = new int[dims.length];
        for (int d = dims.length - 1; d >= 0; d--) {
            idx[d] = dims[d] == 0 ? 0 : i % dims[d];
            i = dims[d] == 0 ? i : i / dims[d];
        }
        return java.util.Arrays.toString(idx);
    }

    // ---- helpers for the cases ----------------------------------------------------------------

    private void add(String op, String shape, double atol, double rtol, Function<Backend, List<Out>> body) {
        cases.add(new Case(op, tag + shape, atol, rtol, false, body));
    }

    /** A GEMM or convolution case whose outputs sum {@code terms} products: the tolerance of this SelfTest's precision. */
    private void addProducts(String op, String shape, int terms, Function<Backend, List<Out>> body) {
        cases.add(new Case(op, tag + shape, productTolerance.applyAsDouble(terms), 1e-5, absoluteProducts, body));
    }

    /** A float32 input: a parameter, statistic, target, label or loss gradient. */
    private static Tensor in(Backend be, float[] v, int... dims) {
        Tensor t = be.allocate(dims);
        be.write(t, v);
        return t;
    }

    /** An activation input, in this SelfTest's activation dtype. */
    private Tensor activation(Backend be, float[] v, int... dims) {
        Tensor t = activation(be, dims);
        be.write(t, v);
        return t;
    }

    /** An activation output (or gradient of one), in this SelfTest's activation dtype. */
    private Tensor activation(Backend be, int... dims) { return be.allocate(new Shape(dims), act); }

    /** Pairs of (name, tensor) read back to the host. */
    private static List<Out> outs(Backend be, Object... pairs) {
        List<Out> out = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            Tensor t = (Tensor) pairs[i + 1];
            out.add(new Out((String) pairs[i], t.shape().dims(), be.read(t), t.dtype() == DType.BF16));
        }
        return out;
    }

    private static String dims(int... d) { return new locallearn.tensor.Shape(d).toString(); }

    private static int numel(int... d) {
        int n = 1;
        for (int v : d) n *= v;
        return n;
    }

    /** Uniform in [-1, 1). */
    private float[] u(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextFloat() * 2 - 1;
        return a;
    }

    /** Uniform in [lo, hi). */
    private float[] u(int n, float lo, float hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + rnd.nextFloat() * (hi - lo);
        return a;
    }

    private float[] labels(int b, int k) {
        float[] a = new float[b];
        for (int i = 0; i < b; i++) a[i] = rnd.nextInt(k);
        return a;
    }

    // ---- the cases ----------------------------------------------------------------------------

    private void elementwise() {
        for (int n : new int[] {1, 7, 1000}) {
            add("fill", dims(n), 0, 0, be -> {
                Tensor x = activation(be, n);
                be.fill(x, -2.5f);
                return outs(be, "x", x);
            });
            float[] x = u(n);
            // within a dtype and, in the bf16 cases, between the two (rounding to nearest even, widening)
            DType[][] pairs = act == DType.F32 ? new DType[][] {{act, act}} : new DType[][] {{act, act}, {DType.F32, act}, {act, DType.F32}};
            for (DType[] fromTo : pairs) {
                String types = act == DType.F32 ? "" : " " + fromTo[0] + " to " + fromTo[1];
                add("copy", dims(n) + types, 0, 0, be -> {
                    Tensor src = be.allocate(new Shape(n), fromTo[0]), y = be.allocate(new Shape(n), fromTo[1]);
                    be.write(src, x);
                    be.copy(src, y);
                    return outs(be, "dst", y);
                });
                add("copyRange", dims(n) + " into the middle of " + dims(n + 5) + types, 0, 0, be -> {
                    Tensor src = be.allocate(new Shape(n), fromTo[0]), y = be.allocate(new Shape(n + 5), fromTo[1]);
                    be.write(src, x);
                    be.fill(y, 0.25f);
                    be.copyRange(src, n / 2, y, 3, n - n / 2);
                    return outs(be, "dst", y);
                });
            }
        }
        if (act == DType.BF16) {
            // the edges of the format: ties to even (down, up, negative, a hair past the tie), NaN, the
            // infinities, overflow to infinity, a float subnormal, -0; the convert kernel against DType.round
            float[] edge = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, -(1 + 0x1p-8f), 1 + 0x1p-8f + 0x1p-20f, Float.NaN, Float.POSITIVE_INFINITY,
                            Float.NEGATIVE_INFINITY, Float.MAX_VALUE, 0x1p-130f, -0f};
            add("copy", dims(edge.length) + " edge values F32 to BF16", 0, 0, be -> {
                Tensor y = activation(be, edge.length);
                be.copy(in(be, edge, edge.length), y);
                return outs(be, "dst", y);
            });
        }
        for (int n : new int[] {1, 129, 100003}) {
            float[] x = u(n), y = u(n);
            // one multiply-add, which nvcc may fuse: 1e-6
            add("axpy", dims(n) + " a=1.7", 1e-6, 1e-6, be -> {
                Tensor ty = activation(be, y, n);
                be.axpy(1.7f, activation(be, x, n), ty);
                return outs(be, "y", ty);
            });
            add("scale", dims(n) + " a=-0.3", 0, 0, be -> {
                Tensor tx = activation(be, x, n);
                be.scale(tx, -0.3f);
                return outs(be, "x", tx);
            });
            // one float multiply (and add), rounded separately on both sides (__fmul_rn): bit for bit
            for (boolean acc : new boolean[] {false, true}) {
                add("multiply", dims(n) + (acc ? " accumulate" : ""), 0, 0, be -> {
                    Tensor out = activation(be, y, n);
                    be.multiply(activation(be, x, n), activation(be, y, n), out, acc);
                    return outs(be, "out", out);
                });
            }
            add("multiply", dims(n) + " in place (out is a)", 0, 0, be -> {
                Tensor a = activation(be, x, n);
                be.multiply(a, activation(be, y, n), a, false);
                return outs(be, "out", a);
            });
            // n terms summed in float on the GPU, in double on the CPU
            add("sum", dims(n) + " accumulate", n * EPS_K, 1e-6, be -> {
                Tensor out = in(be, new float[] {0.25f}, 1);
                be.sum(activation(be, x, n), out, true);
                return outs(be, "out", out);
            });
        }
        for (int[] bk : new int[][] {{1, 1}, {7, 3}, {129, 10}, {1000, 10}}) {
            int b = bk[0], k = bk[1];
            float[] logits = u(b * k), lab = labels(b, k);
            add("countCorrect", dims(b, k) + " accumulate", 0, 0, be -> {
                Tensor out = in(be, new float[] {3f}, 1);
                be.countCorrect(activation(be, logits, b, k), in(be, lab, b), out, true);
                return outs(be, "out", out);
            });
        }
        for (float slope : new float[] {0f, 0.01f}) {
            int n = 1000;
            float[] x = u(n), dy = u(n);
            add("leakyReluForward", dims(n) + " slope=" + slope + " in place", 0, 0, be -> {
                Tensor t = activation(be, x, n);
                be.leakyReluForward(t, t, slope);
                return outs(be, "y", t);
            });
            add("leakyReluBackward", dims(n) + " slope=" + slope, 0, 0, be -> {
                Tensor y = activation(be, n), dx = activation(be, n);
                be.leakyReluForward(activation(be, x, n), y, slope);
                be.leakyReluBackward(y, activation(be, dy, n), dx, slope);
                return outs(be, "dx", dx);
            });
        }
        for (int[] d : new int[][] {{3, 7, 129}, {129, 10}, {2, 3, 5, 7}, {1, 1}}) {
            int c = d[1], m = numel(d) / c;
            float[] y = u(numel(d)), bias = u(c), db = u(c);
            add("biasAdd", dims(d), 0, 0, be -> {
                Tensor t = activation(be, y, d);
                be.biasAdd(t, in(be, bias, c));
                return outs(be, "y", t);
            });
            for (boolean acc : new boolean[] {false, true}) {
                add("biasBackward", dims(d) + (acc ? " accumulate" : ""), (m + 1) * EPS_K, 1e-6, be -> {
                    Tensor t = in(be, db, c);
                    be.biasBackward(activation(be, y, d), t, acc);
                    return outs(be, "dbias", t);
                });
            }
        }
    }

    private void gemm() {
        int[][] sizes = {{1, 1, 1}, {7, 3, 129}, {129, 65, 33}, {64, 200, 1000}, {3, 1000, 7}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = u(m * k), b = u(k * n), c = u(m * n);
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                float beta = t == 3 ? 0.5f : 0f;
                String shape = "tA=" + (ta ? 1 : 0) + " tB=" + (tb ? 1 : 0) + " m=" + m + " n=" + n + " k=" + k + " beta=" + beta;
                addProducts("gemm", shape, k, be -> {
                    Tensor tc = activation(be, c, m, n);
                    be.gemm(ta, tb, m, n, k, 1.5f, activation(be, a, m * k), activation(be, b, k * n), beta, tc);
                    return outs(be, "c", tc);
                });
                // a weight gradient: bf16 operands, a float32 c
                if (act == DType.BF16) addProducts("gemm", shape + " c F32", k, be -> {
                    Tensor tc = in(be, c, m, n);
                    be.gemm(ta, tb, m, n, k, 1.5f, activation(be, a, m * k), activation(be, b, k * n), beta, tc);
                    return outs(be, "c", tc);
                });
            }
        }
        // strided batch with gaps between the operands (strides larger than the matrices)
        int m = 5, n = 7, k = 9, batch = 3;
        long sa = m * k + 3, sb = k * n + 1, sc = m * n + 2;
        float[] a = u((int) (sa * batch)), b = u((int) (sb * batch)), c = u((int) (sc * batch));
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            addProducts("gemm", "batch=3 tA=" + (ta ? 1 : 0) + " tB=" + (tb ? 1 : 0) + " m=5 n=7 k=9 strides+gap", k, be -> {
                Tensor tc = activation(be, c, c.length);
                be.gemm(ta, tb, m, n, k, -0.5f, activation(be, a, a.length), activation(be, b, b.length), 1f, tc, batch, sa, sb, sc);
                return outs(be, "c", tc);
            });
        }
    }

    private void conv() {
        ConvGeom[] geoms = {
            new ConvGeom(2, 3, 7, 7, 5, 3, 3, 1, 1),
            new ConvGeom(3, 4, 9, 8, 6, 5, 3, 2, 2),
            new ConvGeom(1, 1, 1, 1, 1, 1, 1, 1, 0),
            new ConvGeom(2, 3, 13, 11, 8, 1, 1, 2, 0),
            new ConvGeom(4, 16, 16, 16, 32, 3, 3, 1, 1),
        };
        for (ConvGeom g : geoms) {
            int[] xd = {g.batch(), g.inC(), g.inH(), g.inW()}, wd = {g.outC(), g.inC(), g.kh(), g.kw()},
                    yd = {g.batch(), g.outC(), g.outH(), g.outW()};
            float[] x = u(numel(xd)), w = u(numel(wd)), bias = u(g.outC()), dy = u(numel(yd)), dw0 = u(numel(wd)), db0 = u(g.outC());
            String shape = "x" + dims(xd) + " w" + dims(wd) + " s" + g.stride() + " p" + g.pad();
            // cuDNN may pick a Winograd or FFT algorithm, whose transforms round like a sum of a few
            // dozen terms even when k is small: no tolerance below 64 terms' worth
            int k = Math.max(64, g.inC() * g.kh() * g.kw());
            addProducts("conv2dForward", shape + " +bias", k, be -> {
                Tensor y = activation(be, yd);
                be.conv2dForward(activation(be, x, xd), activation(be, w, wd), in(be, bias, g.outC()), y, g);
                return outs(be, "y", y);
            });
            // each input element gathers outC * kh * kw / stride^2 terms at most
            addProducts("conv2dBackwardData", shape, Math.max(64, g.outC() * g.kh() * g.kw()), be -> {
                Tensor dx = activation(be, xd);
                be.conv2dBackwardData(activation(be, dy, yd), activation(be, w, wd), dx, g);
                return outs(be, "dx", dx);
            });
            // each weight gradient sums B * oH * oW terms
            int terms = Math.max(64, g.batch() * g.outH() * g.outW());
            for (boolean acc : new boolean[] {false, true}) {
                addProducts("conv2dBackwardFilter", shape + (acc ? " accumulate" : "") + " +dbias", terms, be -> {
                    Tensor dw = in(be, dw0, wd), db = in(be, db0, g.outC());
                    be.conv2dBackwardFilter(activation(be, x, xd), activation(be, dy, yd), dw, db, g, acc);
                    return outs(be, "dw", dw, "dbias", db);
                });
            }
        }
    }

    private void batchNorm() {
        for (int[] d : new int[][] {{7, 3, 129}, {129, 10}, {4, 16, 8, 8}, {2, 1}}) {
            int c = d[1], m = numel(d) / c, n = numel(d);
            float[] x = u(n, -2f, 3f), gamma = u(c, 0.5f, 1.5f), beta = u(c), rm = u(c), rv = u(c, 0.5f, 2f), dy = u(n), dg = u(c), db = u(c);
            // statistics over m values: float tree sums on the GPU against double on the CPU
            double tol = 1e-6 + m * EPS_K;
            add("batchNormForwardTrain", dims(d), tol, 1e-5, be -> {
                Tensor y = activation(be, d), sm = be.allocate(c), si = be.allocate(c), trm = in(be, rm, c), trv = in(be, rv, c);
                be.batchNormForwardTrain(activation(be, x, d), in(be, gamma, c), in(be, beta, c), trm, trv, 0.1f, 1e-5f, y, sm, si);
                return outs(be, "y", y, "runningMean", trm, "runningVar", trv, "saveMean", sm, "saveInvStd", si);
            });
            add("batchNormForwardTrain", dims(d) + " in place", tol, 1e-5, be -> {
                Tensor xy = activation(be, x, d), sm = be.allocate(c), si = be.allocate(c);
                be.batchNormForwardTrain(xy, in(be, gamma, c), in(be, beta, c), in(be, rm, c), in(be, rv, c), 0.1f, 1e-5f, xy, sm, si);
                return outs(be, "y", xy, "saveMean", sm, "saveInvStd", si);
            });
            add("batchNormForwardEval", dims(d), 1e-6, 1e-6, be -> {
                Tensor y = activation(be, d);
                be.batchNormForwardEval(activation(be, x, d), in(be, gamma, c), in(be, beta, c), in(be, rm, c), in(be, rv, c), 1e-5f, y);
                return outs(be, "y", y);
            });
            add("batchNormForwardEval", dims(d) + " in place", 1e-6, 1e-6, be -> {
                Tensor xy = activation(be, x, d);
                be.batchNormForwardEval(xy, in(be, gamma, c), in(be, beta, c), in(be, rm, c), in(be, rv, c), 1e-5f, xy);
                return outs(be, "y", xy);
            });
            for (boolean acc : new boolean[] {false, true}) {
                // dx = k (m dy - sum dy - xhat sum dy xhat) cancels sums of m terms
                add("batchNormBackward", dims(d) + (acc ? " accumulate" : ""), 4 * tol, 1e-5, be -> {
                    Tensor tx = activation(be, x, d), y = activation(be, d), sm = be.allocate(c), si = be.allocate(c);
                    be.batchNormForwardTrain(tx, in(be, gamma, c), in(be, beta, c), in(be, rm, c), in(be, rv, c), 0.1f, 1e-5f, y, sm, si);
                    Tensor dx = activation(be, d), tdg = in(be, dg, c), tdb = in(be, db, c);
                    be.batchNormBackward(tx, activation(be, dy, d), in(be, gamma, c), sm, si, dx, tdg, tdb, acc);
                    return outs(be, "dx", dx, "dgamma", tdg, "dbeta", tdb);
                });
            }
            channelSumCases(d, dy, x, db);
        }
        // maps of 2..15 elements: the CPU's plain order
        int[] d = {3, 5, 7};
        channelSumCases(d, u(numel(d)), u(numel(d), -2f, 3f), u(d[1]));
    }

    /** channelSum of x alone and weighted by w (values up to 3), into out0 or added to it. */
    private void channelSumCases(int[] d, float[] x, float[] w, float[] out0) {
        int c = d[1], m = numel(d) / c;
        for (boolean weighted : new boolean[] {false, true})
            for (boolean acc : new boolean[] {false, true}) {
                // m terms (of size up to 3 when weighted) summed in float on the GPU, in double on the CPU
                double atol = (weighted ? 3 : 1) * (m + 1) * EPS_K;
                add("channelSum", dims(d) + (weighted ? " weighted" : "") + (acc ? " accumulate" : ""), atol, 1e-6, be -> {
                    Tensor out = in(be, out0, c);
                    be.channelSum(activation(be, x, d), weighted ? activation(be, w, d) : null, out, acc);
                    return outs(be, "out", out);
                });
            }
    }

    private void dropout() {
        // seeds and streams with both 32-bit halves set exercise the whole Philox key and counter
        long seed = 0x9E3779B97F4A7C15L, stream = 12345678901L;
        Object[][] configs = {{new int[] {1000}, 1, 0.3f}, {new int[] {4, 6, 7, 7}, 49, 0.5f}, {new int[] {3, 129}, 1, 0f},
                              {new int[] {3, 129}, 3, 1f}, {new int[] {100003}, 1, 0.1f}};
        for (Object[] cfg : configs) {
            int[] d = (int[]) cfg[0];
            int inner = (Integer) cfg[1];
            float p = (Float) cfg[2];
            float[] x = u(numel(d)), dy = u(numel(d));
            String shape = dims(d) + " p=" + p + " inner=" + inner;
            add("dropoutForward", shape, 0, 0, be -> {
                Tensor y = activation(be, d);
                be.dropoutForward(activation(be, x, d), y, p, seed, stream, inner);
                return outs(be, "y", y);
            });
            add("dropoutBackward", shape, 0, 0, be -> {
                Tensor dx = activation(be, d);
                be.dropoutBackward(activation(be, dy, d), dx, p, seed, stream, inner);
                return outs(be, "dx", dx);
            });
        }
    }

    private void pooling() {
        PoolGeom[] geoms = {
            PoolGeom.square(2, 3, 7, 7, 2, 2),
            new PoolGeom(2, 3, 9, 9, 3, 3, 2, 2, 1, 1),
            new PoolGeom(1, 2, 8, 8, 3, 3, 1, 1, 1, 1),
            new PoolGeom(3, 2, 5, 6, 5, 6, 1, 1, 2, 3),
            PoolGeom.square(8, 16, 32, 32, 2, 2),
        };
        for (PoolGeom g : geoms) {
            int[] xd = {g.batch(), g.channels(), g.inH(), g.inW()}, yd = {g.batch(), g.channels(), g.outH(), g.outW()};
            float[] x = u(numel(xd)), dy = u(numel(yd));
            String shape = "x" + dims(xd) + " k" + g.kh() + "x" + g.kw() + " s" + g.sh() + "x" + g.sw() + " p" + g.ph() + "x" + g.pw();
            int window = g.kh() * g.kw();
            add("maxPoolForward", shape, 0, 0, be -> {
                Tensor y = activation(be, yd);
                be.maxPoolForward(activation(be, x, xd), y, g);
                return outs(be, "y", y);
            });
            // an input element collects dy from up to kh*kw overlapping windows, in another order
            add("maxPoolBackward", shape, window * EPS_K, 1e-6, be -> {
                Tensor dx = activation(be, xd);
                be.maxPoolBackward(activation(be, x, xd), activation(be, dy, yd), dx, g);
                return outs(be, "dx", dx);
            });
            add("avgPoolForward", shape, window * EPS_K, 1e-6, be -> {
                Tensor y = activation(be, yd);
                be.avgPoolForward(activation(be, x, xd), y, g);
                return outs(be, "y", y);
            });
            add("avgPoolBackward", shape, window * EPS_K, 1e-6, be -> {
                Tensor dx = activation(be, xd);
                be.avgPoolBackward(activation(be, dy, yd), dx, g);
                return outs(be, "dx", dx);
            });
        }
    }

    private void losses() {
        float[] dloss = {0.7f};
        for (int[] bk : new int[][] {{1, 1}, {7, 3}, {129, 10}, {3, 1000}}) {
            int b = bk[0], k = bk[1];
            float[] logits = u(b * k, -4f, 4f), lab = labels(b, k);
            // expf/logf (2 ulp) against double exp/log, then a mean over B rows
            add("crossEntropyForward", dims(b, k), 1e-6 + (b + k) * EPS_K, 1e-5, be -> {
                Tensor loss = be.allocate(1), probs = be.allocate(b, k);
                be.crossEntropyForward(activation(be, logits, b, k), in(be, lab, b), loss, probs);
                return outs(be, "loss", loss, "probs", probs);
            });
            add("crossEntropyBackward", dims(b, k), 1e-6, 1e-5, be -> {
                Tensor loss = be.allocate(1), probs = be.allocate(b, k), dx = activation(be, b, k), tl = in(be, lab, b);
                be.crossEntropyForward(activation(be, logits, b, k), tl, loss, probs);
                be.crossEntropyBackward(probs, tl, in(be, dloss, 1), dx);
                return outs(be, "dlogits", dx);
            });
        }
        for (int n : new int[] {1, 1000, 129 * 129}) {
            float[] x = u(n, -6f, 6f), t = u(n, 0f, 1f), a = u(n), b = u(n);
            for (int i = 0; i < n; i += 2) t[i] = t[i] < 0.5f ? 0f : 1f; // hard and soft targets
            add("bceWithLogitsForward", dims(n), 1e-6, 1e-5, be -> {
                Tensor loss = be.allocate(1);
                be.bceWithLogitsForward(activation(be, x, n), in(be, t, n), loss);
                return outs(be, "loss", loss);
            });
            add("bceWithLogitsBackward", dims(n), 1e-6, 1e-5, be -> {
                Tensor dx = activation(be, n);
                be.bceWithLogitsBackward(activation(be, x, n), in(be, t, n), in(be, dloss, 1), dx);
                return outs(be, "dlogits", dx);
            });
            add("mseForward", dims(n), 1e-6, 1e-5, be -> {
                Tensor loss = be.allocate(1);
                be.mseForward(activation(be, a, n), activation(be, b, n), loss);
                return outs(be, "loss", loss);
            });
            add("mseBackward", dims(n), 1e-6, 1e-6, be -> {
                Tensor da = activation(be, n);
                be.mseBackward(activation(be, a, n), activation(be, b, n), in(be, dloss, 1), da);
                return outs(be, "da", da);
            });
        }
    }

    private void similarity() {
        for (int[] d : new int[][] {{7, 129}, {129, 10}, {1, 3}, {32, 8, 4, 4}, {5, 6}}) {
            int b = d[0], dd = numel(d) / b;
            float[] x = u(numel(d)), ds = u(b * b);
            if (d[0] == 5) java.util.Arrays.fill(x, 2 * dd, 3 * dd, 0.375f); // a constant row: norm 0, xn 0
            // the Gram entries are dot products of unit rows over D terms: |error| <= D eps
            add("similarityForward", dims(d), 1e-6 + dd * EPS_K, 1e-5, be -> {
                Tensor s = be.allocate(b, b), xc = activation(be, d), norm = be.allocate(b);
                be.similarityForward(activation(be, x, d), s, xc, norm);
                return outs(be, "s", s, "xc", xc, "norm", norm);
            });
            // back through two products (B and D terms) and the row normalisation
            add("similarityBackward", dims(d), 1e-6 + 4 * (b + dd) * EPS_K, 1e-4, be -> {
                Tensor s = be.allocate(b, b), xc = activation(be, d), norm = be.allocate(b), dx = activation(be, d);
                be.similarityForward(activation(be, x, d), s, xc, norm);
                be.similarityBackward(xc, norm, s, in(be, ds, b, b), dx);
                return outs(be, "dx", dx);
            });
        }
    }

    private void featureStd() {
        for (int[] d : new int[][] {{3, 7, 49}, {2, 5, 2}, {4, 16, 32, 32}, {1, 1, 3, 3}}) {
            int maps = d[0] * d[1], inner = numel(d) / maps;
            float[] x = u(numel(d)), dy = u(maps);
            add("featureMapStdForward", dims(d), 1e-6 + inner * EPS_K, 1e-5, be -> {
                Tensor y = be.allocate(d[0], d[1]);
                be.featureMapStdForward(activation(be, x, d), y);
                return outs(be, "y", y);
            });
            add("featureMapStdBackward", dims(d), 1e-6 + inner * EPS_K, 1e-5, be -> {
                Tensor tx = activation(be, x, d), y = be.allocate(d[0], d[1]), dx = activation(be, d);
                be.featureMapStdForward(tx, y);
                be.featureMapStdBackward(tx, y, in(be, dy, d[0], d[1]), dx);
                return outs(be, "dx", dx);
            });
        }
    }

    private void optimizers() {
        for (int n : new int[] {1, 1000}) {
            float[] p = u(n), g1 = u(n), g2 = u(n), g3 = u(n);
            for (boolean ams : new boolean[] {false, true}) {
                float wd = ams ? 1e-4f : 0f;
                // three steps: a few float operations per step, sqrt and division included
                add("adamStep", dims(n) + (ams ? " amsgrad wd=1e-4" : "") + " steps 1-3", 1e-6, 1e-5, be -> {
                    Tensor tp = in(be, p, n), m = be.zeros(n), v = be.zeros(n), vmax = ams ? be.zeros(n) : null;
                    float[][] grads = {g1, g2, g3};
                    for (int s = 1; s <= 3; s++)
                        be.adamStep(tp, in(be, grads[s - 1], n), m, v, vmax, 1e-3f, 0.9f, 0.999f, 1e-8f, wd, s);
                    return ams ? outs(be, "param", tp, "m", m, "v", v, "vmax", vmax) : outs(be, "param", tp, "m", m, "v", v);
                });
            }
            for (float momentum : new float[] {0f, 0.9f}) {
                add("sgdStep", dims(n) + " momentum=" + momentum + " wd=5e-4 steps 1-3", 1e-6, 1e-6, be -> {
                    Tensor tp = in(be, p, n), buf = momentum != 0 ? be.allocate(n) : null;
                    float[][] grads = {g1, g2, g3};
                    for (int s = 1; s <= 3; s++) be.sgdStep(tp, in(be, grads[s - 1], n), buf, 0.05f, momentum, 5e-4f, s == 1);
                    return buf != null ? outs(be, "param", tp, "momentumBuf", buf) : outs(be, "param", tp);
                });
            }
        }
    }

    private void feedbackAlignment() {
        // (B, K, D): single elements, partial tiles of every output, more than one row tile of dx
        // (B 129) and of dw (K 129), the paper's head (B = K = 128) at an odd D
        // (B 128, K 128, D 4097) is past CudaBackend.FUSED_FA_MAX_WORK: with cuBLAS it takes the GEMM path
        for (int[] s : new int[][] {{1, 1, 1}, {3, 7, 129}, {129, 3, 7}, {7, 129, 65}, {128, 128, 515}, {128, 128, 4097}}) {
            int b = s[0], k = s[1], d = s[2];
            float[] z = u(b * k, -6f, 6f), t = u(b * k, 0f, 1f), x = u(b * d), fb = u(k * d), dw0 = u(k * d), db0 = u(k);
            for (int i = 0; i < t.length; i += 2) t[i] = t[i] < 0.5f ? 0f : 1f; // hard and soft targets
            // dloss B K makes e = 0.7 (sigmoid(z) - t) of order 1, so the atol below is relative to the outputs
            float[] dloss = {0.7f * b * k};
            // sums of max(B, K) products of e and [-1, 1] values, in float on the GPU; expf's 2 ulp in
            // each e add about as much again: 3 eps per term
            double atol = 1e-6 + 3 * Math.max(b, k) * EPS_K;
            add("faBceBackward", "B=" + b + " K=" + k + " D=" + d, atol, 1e-5, be -> {
                Tensor dx = activation(be, b, d), dw = be.allocate(k, d), db = be.allocate(k);
                be.faBceBackward(activation(be, z, b, k), in(be, t, b, k), in(be, dloss, 1), activation(be, x, b, d), in(be, fb, k, d), dx, dw, db, false);
                return outs(be, "dx", dx, "dw", dw, "db", db);
            });
            if (b != 3) continue;
            add("faBceBackward", "B=" + b + " K=" + k + " D=" + d + " accumulate", atol, 1e-5, be -> {
                Tensor dx = activation(be, b, d), dw = in(be, dw0, k, d), db = in(be, db0, k);
                be.faBceBackward(activation(be, z, b, k), in(be, t, b, k), in(be, dloss, 1), activation(be, x, b, d), in(be, fb, k, d), dx, dw, db, true);
                return outs(be, "dx", dx, "dw", dw, "db", db);
            });
            add("faBceBackward", "B=" + b + " K=" + k + " D=" + d + " dw only", atol, 1e-5, be -> {
                Tensor dw = be.allocate(k, d);
                be.faBceBackward(activation(be, z, b, k), in(be, t, b, k), in(be, dloss, 1), activation(be, x, b, d), in(be, fb, k, d), null, dw, null, false);
                return outs(be, "dw", dw);
            });
            add("faBceBackward", "B=" + b + " K=" + k + " D=" + d + " dx only", atol, 1e-5, be -> {
                Tensor dx = activation(be, b, d);
                be.faBceBackward(activation(be, z, b, k), in(be, t, b, k), in(be, dloss, 1), activation(be, x, b, d), in(be, fb, k, d), dx, null, null, false);
                return outs(be, "dx", dx);
            });
        }
    }

    private void augmentation() {
        long seed = 0x1234_5678_9ABC_DEF0L, stream = (7L << 32) | 3;
        for (int[] d : new int[][] {{5, 3, 7, 9}, {2, 1, 1, 1}, {16, 3, 32, 32}}) {
            float[] x = u(numel(d), 0f, 1f), scale = u(d[1], 2f, 5f), shift = u(d[1]);
            add("channelAffine", dims(d), 0, 0, be -> {
                Tensor t = activation(be, x, d);
                be.channelAffine(t, in(be, scale, d[1]), in(be, shift, d[1]));
                return outs(be, "x", t);
            });
            add("channelAffine", dims(d) + " no shift", 0, 0, be -> {
                Tensor t = activation(be, x, d);
                be.channelAffine(t, in(be, scale, d[1]), null);
                return outs(be, "x", t);
            });
            for (int pad : new int[] {0, 2, 4}) {
                boolean flip = pad != 0;
                add("randomCropFlip", dims(d) + " pad=" + pad + " flip=" + flip, 0, 0, be -> {
                    Tensor y = activation(be, d);
                    be.randomCropFlip(activation(be, x, d), y, pad, flip, seed, stream);
                    return outs(be, "y", y);
                });
            }
            for (int[] lh : new int[][] {{0, 1}, {3, 1}, {4, 1}, {16, 1}, {3, 5}, {4, 3}, {16, 2}}) {
                add("cutout", dims(d) + " length=" + lh[0] + " holes=" + lh[1], 0, 0, be -> {
                    Tensor t = activation(be, x, d);
                    be.cutout(t, lh[0], lh[1], seed, stream);
                    return outs(be, "x", t);
                });
            }
        }
    }
}
