package locallearn.backend.cpu;

import locallearn.backend.ConvAlgorithm;
import static locallearn.backend.cpu.Check.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import locallearn.backend.ConvGeom;
import locallearn.tensor.Scope;
import locallearn.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Which convolution algorithm the CPU backend runs: the fixed rule, the override, the fallback. */
class ConvAlgorithmTest {
    static ConvGeom vgg(int c, int k, int hw) { return new ConvGeom(32, c, hw, hw, k, 3, 3, 1, 1); }

    @Test void autoTakesWinogradOnWideLayersWithEnoughTiles() {
        assertSame(Winograd.F2, CpuBackend.winogradTile(vgg(128, 256, 32), ConvAlgorithm.AUTO));
        // 32 x 4 x 4 = 512 tiles of 2x2 at 8x8; 128 at 4x4
        assertSame(Winograd.F2, CpuBackend.winogradTile(vgg(512, 512, 8), ConvAlgorithm.AUTO), "512 tiles");
        assertNull(CpuBackend.winogradTile(vgg(512, 512, 4), ConvAlgorithm.AUTO), "128 tiles");
        assertNull(CpuBackend.winogradTile(new ConvGeom(8, 512, 8, 8, 512, 3, 3, 1, 1), ConvAlgorithm.AUTO), "batch 8 at 8x8: 128 tiles");
        assertSame(Winograd.F2, CpuBackend.winogradTile(new ConvGeom(8, 256, 15, 15, 256, 3, 3, 1, 1), ConvAlgorithm.AUTO), "8 x 8 x 8 tiles, odd map");
        assertNull(CpuBackend.winogradTile(vgg(3, 128, 32), ConvAlgorithm.AUTO), "3 input channels");
        assertNull(CpuBackend.winogradTile(new ConvGeom(32, 128, 32, 32, 128, 3, 3, 2, 1), ConvAlgorithm.AUTO), "stride 2");
        assertNull(CpuBackend.winogradTile(vgg(128, 256, 32), ConvAlgorithm.DIRECT));
        assertSame(Winograd.F2, CpuBackend.winogradTile(vgg(3, 128, 2), ConvAlgorithm.WINOGRAD));
    }

    @Test void forcedWinogradFallsBackToDirectWhereItCannot() {
        Random rnd = new Random(3);
        ConvGeom g = new ConvGeom(2, 3, 9, 8, 4, 5, 5, 2, 2);
        float[] x = rand(rnd, 2 * 3 * 72), w = rand(rnd, 4 * 3 * 25);
        float[][] y = new float[2][];
        for (int i = 0; i < 2; i++) {
            CpuBackend be = new CpuBackend(i == 0 ? ConvAlgorithm.DIRECT : ConvAlgorithm.WINOGRAD);
            try (Scope _ = Scope.open()) {
                Tensor out = be.allocate(2, 4, g.outH(), g.outW());
                be.conv2dForward(Check.t(be, x, 2, 3, 9, 8), Check.t(be, w, 4, 3, 5, 5), null, out, g);
                y[i] = be.read(out);
            }
        }
        assertArrayEquals(y[0], y[1]);
    }

    @Test void describeNamesTheAlgorithmAndBadNamesAreRefused() {
        assertTrue(new CpuBackend(ConvAlgorithm.WINOGRAD).describe().contains("conv winograd"), new CpuBackend(ConvAlgorithm.WINOGRAD).describe());
        assertTrue(new CpuBackend(ConvAlgorithm.AUTO).describe().contains("conv auto"));
        assertEquals(ConvAlgorithm.DIRECT, ConvAlgorithm.parse("direct"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("fft"));
        assertEquals("must be auto, direct or winograd, got 'fft'", e.getMessage());
    }
}
