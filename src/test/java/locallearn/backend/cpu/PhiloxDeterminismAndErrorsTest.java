package locallearn.backend.cpu;

import static locallearn.backend.cpu.Check.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.function.Supplier;
import locallearn.backend.ConvGeom;
import locallearn.backend.Philox;
import locallearn.backend.PoolGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Storage;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Philox known answers, bit-identical reruns of the multi-threaded ops, and the messages of bad input. */
class PhiloxDeterminismAndErrorsTest {
    final CpuBackend be = new CpuBackend();
    Scope scope;

    @BeforeEach void open() { scope = Scope.open(); }

    @AfterEach void close() { scope.close(); }

    /** The known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds). */
    @Test void philoxKnownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, Philox.block(0L, 0L, 0L));
        // counter all ones = block index 2^64-1 and stream 2^64-1; key all ones = seed 2^64-1
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, Philox.block(-1L, -1L, -1L));
    }

    /** Runs op twice on fresh copies of the same inputs and demands identical bits. */
    private static void sameBits(String what, Supplier<float[]> op) {
        float[] first = op.get(), second = op.get();
        assertEquals(first.length, second.length, what);
        for (int i = 0; i < first.length; i++)
            if (Float.floatToRawIntBits(first[i]) != Float.floatToRawIntBits(second[i]))
                fail(what + ": run 2 differs at " + i + ": " + first[i] + " vs " + second[i]);
    }

    @Test void multiThreadedOpsAreBitIdenticalRunToRun() {
        Random r = new Random(11);
        ConvGeom g = new ConvGeom(8, 16, 12, 12, 32, 3, 3, 1, 1);
        float[] x = rand(r, 8 * 16 * 144), w = rand(r, 32 * 16 * 9), dy = rand(r, 8 * 32 * 144);
        int[] xd = {8, 16, 12, 12}, wd = {32, 16, 3, 3}, yd = {8, 32, 12, 12};
        sameBits("conv2dForward", () -> {
            Tensor y = be.allocate(yd);
            be.conv2dForward(t(be, x, xd), t(be, w, wd), t(be, rand(new Random(1), 32), 32), y, g);
            return be.read(y);
        });
        sameBits("conv2dBackwardData", () -> {
            Tensor dx = be.allocate(xd);
            be.conv2dBackwardData(t(be, dy, yd), t(be, w, wd), dx, g);
            return be.read(dx);
        });
        sameBits("conv2dBackwardFilter", () -> {
            Tensor dw = be.allocate(wd), db = be.allocate(32);
            be.conv2dBackwardFilter(t(be, x, xd), t(be, dy, yd), dw, db, g, false);
            return be.read(dw);
        });
        float[] a = rand(r, 300 * 257), b = rand(r, 257 * 301);
        sameBits("gemm 300x301x257", () -> {
            Tensor c = be.allocate(300, 301);
            be.gemm(false, false, 300, 301, 257, 1f, t(be, a, 300, 257), t(be, b, 257, 301), 0f, c);
            return be.read(c);
        });
        float[] bx = rand(r, 16 * 32 * 256);
        sameBits("batchNormForwardTrain", () -> {
            Tensor y = be.allocate(16, 32, 256);
            be.batchNormForwardTrain(t(be, bx, 16, 32, 256), be.zeros(32), be.zeros(32), be.zeros(32), be.zeros(32), 0.1f, 1e-5f, y,
                    be.allocate(32), be.allocate(32));
            return be.read(y);
        });
        // (8, 64, 1024): channels in two ranges, one per thread on a 2-core machine
        float[] cx = rand(r, 8 * 64 * 1024), cw = rand(r, 8 * 64 * 1024);
        sameBits("channelSum", () -> {
            Tensor out = be.allocate(64);
            be.channelSum(t(be, cx, 8, 64, 1024), t(be, cw, 8, 64, 1024), out, false);
            return be.read(out);
        });
        sameBits("dropoutForward", () -> {
            Tensor y = be.allocate(bx.length);
            be.dropoutForward(t(be, bx, bx.length), y, 0.5f, 3, 4, 1);
            return be.read(y);
        });
        float[] sx = rand(r, 128 * 513);
        sameBits("similarityForward", () -> {
            Tensor s = be.allocate(128, 128);
            be.similarityForward(t(be, sx, 128, 513), s, be.allocate(128, 513), be.allocate(128));
            return be.read(s);
        });
    }

    private static void message(Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should contain '" + p + "'");
    }

    @Test void badInputNamesTheOpAndTheShapes() {
        ConvGeom g = new ConvGeom(2, 3, 8, 8, 4, 3, 3, 1, 1);
        message(() -> be.conv2dForward(be.allocate(2, 3, 8, 7), be.allocate(4, 3, 3, 3), null, be.allocate(2, 4, 8, 8), g),
                "conv2dForward", "x (2, 3, 8, 7)", "does not match geometry", "(2, 3, 8, 8)");
        message(() -> be.conv2dBackwardFilter(be.allocate(2, 3, 8, 8), be.allocate(2, 4, 8, 8), be.allocate(4, 2, 3, 3), null, g, false),
                "conv2dBackwardFilter", "dw (4, 2, 3, 3)", "(4, 3, 3, 3)");
        message(() -> be.gemm(false, false, 4, 5, 6, 1f, be.allocate(4, 5), be.allocate(6, 5), 0f, be.allocate(4, 5)),
                "gemm", "a (4, 5)", "m=4 n=5 k=6");
        message(() -> be.axpy(1f, be.allocate(3), be.allocate(4)), "axpy", "x (3,)", "y (4,)");
        message(() -> be.biasAdd(be.allocate(2, 5, 3), be.allocate(4)), "biasAdd", "bias (4,)", "(2, 5, 3)");
        message(() -> be.maxPoolForward(be.allocate(1, 2, 5, 5), be.allocate(1, 2, 3, 3), PoolGeom.square(1, 2, 5, 5, 2, 2)),
                "maxPoolForward", "y (1, 2, 3, 3)", "(1, 2, 2, 2)");
        message(() -> be.crossEntropyForward(be.allocate(4, 10), be.allocate(3), be.allocate(1), be.allocate(4, 10)),
                "crossEntropyForward", "labels (3,)", "(4, 10)");
        Tensor labels = t(be, new float[] {1, 10}, 2);
        message(() -> be.crossEntropyForward(be.allocate(2, 10), labels, be.allocate(1), be.allocate(2, 10)),
                "crossEntropyForward", "label 10.0 at row 1", "[0, 10)");
        message(() -> be.similarityForward(be.allocate(4, 3), be.allocate(3, 3), be.allocate(4, 3), be.allocate(4)),
                "similarityForward", "s (3, 3)", "x (4, 3)");
        message(() -> be.featureMapStdForward(be.allocate(2, 3, 1, 1), be.allocate(2, 3)), "featureMapStdForward", "(2, 3, 1, 1)");
        message(() -> be.batchNormForwardTrain(be.allocate(1, 3), be.allocate(3), be.allocate(3), be.allocate(3), be.allocate(3), 0.1f,
                1e-5f, be.allocate(1, 3), be.allocate(3), be.allocate(3)), "batchNormForwardTrain", "x (1, 3)");
        message(() -> be.dropoutForward(be.allocate(10), be.allocate(10), 0.5f, 1, 1, 3), "dropoutForward", "inner = 3", "(10,)");
        message(() -> be.dropoutForward(be.allocate(10), be.allocate(10), 1.5f, 1, 1, 1), "dropoutForward", "p = 1.5");
        message(() -> be.adamStep(be.allocate(5), be.allocate(5), be.allocate(5), be.allocate(5), null, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0),
                "adamStep", "step 0");
        message(() -> be.write(be.allocate(2, 2), new float[3]), "write", "(2, 2)", "3");
        Tensor same = be.allocate(1, 1, 4, 4);
        message(() -> be.randomCropFlip(same, same, 1, true, 1, 1), "randomCropFlip", "in place");
    }

    @Test void useAfterReleaseAndForeignStorageAreRejected() {
        Tensor x = be.allocate(3);
        x.close();
        message(() -> be.fill(x, 1f), "fill", "x (3,)", "after release");
        Storage foreign = new Storage(12) {};
        locallearn.tensor.PooledAllocator<Storage> alloc = new locallearn.tensor.PooledAllocator<>() {
            @Override protected Storage create(long bytes) { return foreign; }

            @Override protected void destroy(Storage s) {}
        };
        Tensor gpuLike = new Tensor(locallearn.tensor.Shape.of(3), alloc.acquire(12), alloc);
        message(() -> be.scale(gpuLike, 2f), "scale", "x (3,)", "not a CPU tensor");
    }

    @Test void allocatorAccountsTheBytesOfCpuTensors() {
        be.resetPeakMemory();
        long before = be.memory().current();
        try (Scope s = Scope.open()) {
            be.allocate(10, 10);   // 400 bytes
            be.allocate(3);        // 12 bytes
            assertEquals(before + 412, be.memory().current());
        }
        assertEquals(before, be.memory().current());
        assertEquals(before + 412, be.memory().peak());
    }
}
