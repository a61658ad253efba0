package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import locallearn.backend.ConvGeom;
import locallearn.backend.cuda.Cublas;
import locallearn.backend.cuda.CudaContext;
import locallearn.backend.cuda.CudaStorage;
import locallearn.backend.cuda.CudaUnavailableException;
import locallearn.backend.cuda.Cudnn;
import locallearn.backend.cuda.Kernel;
import locallearn.config.Precision;
import locallearn.tensor.MemoryStats;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The runtime on a real device: memory, copies, a hand-written PTX kernel
 * (src/test/resources/locallearn/kernels/runtimetest.ptx), cuBLAS and cuDNN against plain loops.
 * Skipped, with the probe's reason, where there is no GPU.
 */
class CudaRuntimeGpuTest {
    static CudaContext ctx;
    static String why;

    @BeforeAll static void open() {
        try {
            ctx = CudaContext.open(0);
        } catch (CudaUnavailableException e) {
            why = e.getMessage();
        }
    }

    @AfterAll static void close() {
        if (ctx != null) ctx.close();
    }

    static void needGpu() { Assumptions.assumeTrue(ctx != null, () -> "no GPU, skipped: " + why); }

    @Test void uploadCopyMemsetDownloadRoundTrip() {
        needGpu();
        int n = 1000;
        float[] x = random(new Random(1), n);
        CudaStorage a = ctx.allocator().acquire(4L * n), b = ctx.allocator().acquire(4L * n);
        ctx.upload(a, x, n);
        ctx.copy(a, b, 4L * n);
        ctx.memset(a, Float.floatToRawIntBits(2.5f), n / 2);
        float[] gotA = new float[n], gotB = new float[n];
        ctx.download(a, gotA, n);
        ctx.download(b, gotB, n);
        assertArrayEquals(x, gotB, 0f); // copies are exact
        for (int i = 0; i < n; i++) assertEquals(i < n / 2 ? 2.5f : x[i], gotA[i], 0f, "index " + i);
        ctx.allocator().release(a);
        ctx.allocator().release(b);
    }

    @Test void allocatorRoundsTo512AndAccounts() {
        needGpu();
        MemoryStats before = ctx.allocator().stats();
        CudaStorage s = ctx.allocator().acquire(1);
        assertEquals(512, s.bytes);
        assertEquals(0, s.address() % 256, "cuMemAlloc aligns to at least 256 bytes");
        assertEquals(before.current() + 512, ctx.allocator().stats().current());
        ctx.allocator().release(s);
        assertEquals(before.current(), ctx.allocator().stats().current());
        assertEquals(1024, ctx.allocator().acquire(513).bytes);
    }

    @Test void deviceOutOfMemorySaysAskedAndFree() {
        needGpu();
        long huge = ctx.totalBytes() * 4;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ctx.allocator().acquire(huge));
        assertTrue(e.getMessage().matches("out of GPU memory: asked " + huge + " bytes, \\d+ free; try a smaller --batch-size"), e.getMessage());
    }

    @Test void kernelTakesEveryArgumentType() {
        needGpu();
        int n = 1000;
        float[] x = random(new Random(2), n);
        CudaStorage s = ctx.allocator().acquire(4L * n);
        try (Tensor t = new Tensor(new Shape(n), s, ctx.allocator())) {
            ctx.upload(s, x, n);
            Kernel k = ctx.kernel("runtimetest", "runtime_axpb");
            assertSame(k, ctx.kernel("runtimetest", "runtime_axpb"), "kernels are cached");
            k.launch((n + 255) / 256, 1, 1, 256, 1, 1, 0, t, 1.5f, -0.25f, n, 5_000_000_000L, true);
            float[] got = new float[n];
            ctx.download(s, got, n);
            for (int i = 0; i < n; i++) {
                // the kernel does fma then one rounded add: the same IEEE operations as here, so exact
                float want = Math.fma(1.5f, x[i], -0.25f) + (float) (i + 5_000_000_000L);
                assertEquals(want, got[i], 0f, "index " + i);
            }
            k.launch((n + 255) / 256, 1, 1, 256, 1, 1, 0, s, 0f, 7f, n, 0L, false); // CudaStorage, flag false
            ctx.download(s, got, n);
            for (int i = 0; i < n; i++) assertEquals(7f, got[i], 0f);
        }
    }

    @Test void launchErrorsNameKernelGridAndBlock() {
        needGpu();
        CudaStorage s = ctx.allocator().acquire(4);
        Kernel k = ctx.kernel("runtimetest", "runtime_axpb");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> k.launch(1, 1, 1, 4096, 1, 1, 0, s, 1f, 0f, 1, 0L, false));
        assertEquals("cuLaunchKernel runtime_axpb grid=(1,1,1) block=(4096,1,1): CUDA_ERROR_INVALID_VALUE", e.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> k.launch(1, 1, 1, 1, 1, 1, 0, s, 1.0, 0f, 1, 0L, false));
        assertTrue(bad.getMessage().contains("argument 1 has unsupported type Double"), bad.getMessage());
        ctx.synchronize();
        ctx.allocator().release(s);
    }

    @Test void missingKernelsAreNamed() {
        needGpu();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ctx.kernel("runtimetest", "no_such_kernel"));
        assertTrue(e.getMessage().contains("no_such_kernel not found in kernels/runtimetest.ptx"), e.getMessage());
        IllegalStateException f = assertThrows(IllegalStateException.class, () -> ctx.kernel("no_such_family", "k"));
        assertTrue(f.getMessage().contains("no_such_family"), f.getMessage());
    }

    @Test void cublasMatchesPlainLoopsOnAllTransposesAndBatches() {
        needGpu();
        Cublas blas = ctx.cublas();
        Assumptions.assumeTrue(blas != null, () -> "no cuBLAS, skipped: " + ctx.providers());
        Random r = new Random(3);
        int m = 33, n = 17, k = 45, batch = 3;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                float[] a = random(r, batch * m * k), b = random(r, batch * k * n), c = random(r, batch * m * n);
                CudaStorage da = up(a), db = up(b), dc = up(c);
                blas.sgemm(ta, tb, m, n, k, 0.5f, da.address(), db.address(), 2f, dc.address(), batch, (long) m * k, (long) k * n, (long) m * n, false);
                float[] got = down(dc, c.length);
                for (int i = 0; i < batch; i++) {
                    float[] want = CublasMappingTest.rowMajor(ta, tb, m, n, k, 0.5f, slice(a, i, m * k), slice(b, i, k * n), 2f, slice(c, i, m * n));
                    // fp32 sums of 45 products of N(0,1) values (|sum| ~ 7): float rounding stays below 1e-4
                    assertArrayEquals(want, slice(got, i, m * n), 1e-4f, "transA=" + ta + " transB=" + tb + " batch " + i);
                }
                // batch 1 goes through cublasSgemm
                CudaStorage dc1 = up(c);
                blas.sgemm(ta, tb, m, n, k, 1f, da.address(), db.address(), 0f, dc1.address(), 1, 0, 0, 0, false);
                float[] want1 = CublasMappingTest.rowMajor(ta, tb, m, n, k, 1f, slice(a, 0, m * k), slice(b, 0, k * n), 0f, slice(c, 0, m * n));
                assertArrayEquals(want1, slice(down(dc1, c.length), 0, m * n), 1e-4f);
                for (CudaStorage s : new CudaStorage[] {da, db, dc, dc1}) ctx.allocator().release(s);
            }
    }

    @Test void cudnnMatchesPlainLoopsInAllThreeDirections() {
        needGpu();
        Cudnn dnn = ctx.cudnn();
        Assumptions.assumeTrue(dnn != null, () -> "no cuDNN, skipped: " + ctx.providers());
        Random r = new Random(4);
        for (ConvGeom g : new ConvGeom[] {new ConvGeom(2, 3, 7, 6, 4, 3, 3, 2, 1), new ConvGeom(3, 5, 9, 9, 6, 3, 3, 1, 1),
                new ConvGeom(2, 4, 8, 8, 3, 1, 1, 1, 0)}) {
            int xs = g.batch() * g.inC() * g.inH() * g.inW(), ws = g.outC() * g.inC() * g.kh() * g.kw();
            int ys = g.batch() * g.outC() * g.outH() * g.outW();
            float[] x = random(r, xs), w = random(r, ws), dy = random(r, ys), dw0 = random(r, ws);
            CudaStorage dx_ = up(x), dw_ = up(w), ddy = up(dy), y = ctx.allocator().acquire(4L * ys),
                    gx = ctx.allocator().acquire(4L * xs), gw = up(dw0);
            dnn.convForward(g, Precision.FP32, dx_.address(), dw_.address(), y.address());
            dnn.convBackwardData(g, Precision.FP32, ddy.address(), dw_.address(), gx.address());
            dnn.convBackwardFilter(g, Precision.FP32, dx_.address(), ddy.address(), gw.address(), true);
            float[] wantY = new float[ys], wantDx = new float[xs], wantDw = dw0.clone();
            conv(g, x, w, dy, wantY, wantDx, wantDw);
            // sums of at most 5*9*... N(0,1) products (<= 3*9*9*... terms for dw): fp32 FMA rounding stays below 2e-4
            assertArrayEquals(wantY, down(y, ys), 2e-4f, "forward " + g);
            assertArrayEquals(wantDx, down(gx, xs), 2e-4f, "backward data " + g);
            assertArrayEquals(wantDw, down(gw, ws), 2e-4f, "backward filter (accumulate) " + g);
            dnn.convBackwardFilter(g, Precision.FP32, dx_.address(), ddy.address(), gw.address(), false);
            float[] fresh = new float[ws];
            conv(g, x, w, dy, new float[ys], new float[xs], fresh);
            assertArrayEquals(fresh, down(gw, ws), 2e-4f, "backward filter (overwrite) " + g);
            for (CudaStorage s : new CudaStorage[] {dx_, dw_, ddy, y, gx, gw}) ctx.allocator().release(s);
        }
        assertTrue(ctx.providers().contains("cuDNN " + dnn.version()), ctx.providers());
    }

    /** Plain loops: y = conv(x, w); dx += conv^T(dy, w); dw += x (*) dy; cross-correlation, zero padding. */
    static void conv(ConvGeom g, float[] x, float[] w, float[] dy, float[] y, float[] dx, float[] dw) {
        int C = g.inC(), H = g.inH(), W = g.inW(), K = g.outC(), oH = g.outH(), oW = g.outW();
        for (int b = 0; b < g.batch(); b++)
            for (int k = 0; k < K; k++)
                for (int oh = 0; oh < oH; oh++)
                    for (int ow = 0; ow < oW; ow++) {
                        int yi = ((b * K + k) * oH + oh) * oW + ow;
                        double s = 0;
                        for (int c = 0; c < C; c++)
                            for (int i = 0; i < g.kh(); i++)
                                for (int j = 0; j < g.kw(); j++) {
                                    int h = oh * g.stride() - g.pad() + i, v = ow * g.stride() - g.pad() + j;
                                    if (h < 0 || h >= H || v < 0 || v >= W) continue;
                                    int xi = ((b * C + c) * H + h) * W + v, wi = ((k * C + c) * g.kh() + i) * g.kw() + j;
                                    s += (double) x[xi] * w[wi];
                                    dx[xi] += dy[yi] * w[wi];
                                    dw[wi] += dy[yi] * x[xi];
                                }
                        y[yi] = (float) s;
                    }
    }

    static CudaStorage up(float[] x) {
        CudaStorage s = ctx.allocator().acquire(4L * x.length);
        ctx.upload(s, x, x.length);
        return s;
    }

    static float[] down(CudaStorage s, int n) {
        float[] out = new float[n];
        ctx.download(s, out, n);
        return out;
    }

    static float[] slice(float[] a, int i, int len) { return java.util.Arrays.copyOfRange(a, i * len, (i + 1) * len); }

    static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }
}
