package locallearn.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import locallearn.backend.ConvGeom;
import org.junit.jupiter.api.Test;

/**
 * The implicit GEMM's panels hold exactly the values of the column matrix: a GEMM whose B is
 * packed from the image equals, bit for bit, the same GEMM on the matrix im2col writes (the
 * packed path sums in one order either way). Geometries cover stride 1, 2 and 3, padding 0 to
 * 2, non-square kernels, maps narrower and wider than a panel (NR columns), several images side
 * by side, and a column count that leaves a partial panel.
 */
class PatchesTest {
    static final ConvGeom[] GEOMETRIES = {
            new ConvGeom(1, 1, 1, 1, 1, 1, 1, 1, 0), new ConvGeom(3, 3, 7, 7, 5, 3, 3, 1, 1), new ConvGeom(2, 5, 9, 6, 7, 3, 3, 2, 1),
            new ConvGeom(1, 3, 8, 8, 4, 5, 5, 1, 2), new ConvGeom(2, 16, 13, 11, 33, 3, 3, 1, 1), new ConvGeom(1, 2, 5, 5, 3, 2, 4, 3, 0),
            new ConvGeom(3, 7, 40, 37, 9, 3, 3, 1, 1), new ConvGeom(5, 4, 4, 4, 6, 3, 3, 1, 1), new ConvGeom(2, 3, 2, 2, 3, 3, 3, 1, 2)};

    final Random rnd = new Random(3);

    float[] rand(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return v;
    }

    @Test void forwardPanelsAreTheColumnMatrixOfSeveralImages() {
        for (ConvGeom g : GEOMETRIES) {
            int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC(), img = g.inC() * g.inH() * g.inW();
            float[] x = rand(g.batch() * img), w = rand(k * ckk);
            // images 1 .. batch-1 side by side (all of them when the batch is 1)
            int b0 = g.batch() > 1 ? 1 : 0, n = g.batch() - b0, cols = n * p;
            float[] col = new float[ckk * cols];
            for (int j = 0; j < n; j++) Conv.im2col(x, (b0 + j) * img, g, col, j * p, cols);
            float[] want = new float[k * cols], got = new float[k * cols];
            Gemm.gemmFast(false, false, k, cols, ckk, 1f, w, 0, col, 0, 0f, want, 0);
            Gemm.gemm(false, k, cols, ckk, 1f, w, 0, Patches.columns(x, g, b0), 0f, got, 0, false);
            assertArrayEquals(want, got, 0f, "forward panels " + g);
        }
    }

    @Test void transposedPanelsAreTheTransposedColumnMatrixOfSeveralImages() {
        for (ConvGeom g : GEOMETRIES) {
            int ckk = g.inC() * g.kh() * g.kw(), p = g.outH() * g.outW(), k = g.outC(), img = g.inC() * g.inH() * g.inW();
            int b0 = g.batch() > 1 ? 1 : 0, n = g.batch() - b0, rows = n * p;
            float[] x = rand(g.batch() * img), dy = rand(k * rows);
            float[] col = new float[ckk * rows];
            for (int j = 0; j < n; j++) Conv.im2col(x, (b0 + j) * img, g, col, j * p, rows);
            float[] want = rand(k * ckk), got = want.clone();
            // dy (K, n*P) col^T (n*P, C*kh*kw): col is op(B)'s transpose, stored as it is
            Gemm.gemmFast(false, true, k, ckk, rows, 1f, dy, 0, col, 0, 1f, want, 0);
            Gemm.gemm(false, k, ckk, rows, 1f, dy, 0, Patches.columnsTransposed(x, g, b0), 1f, got, 0, false);
            assertArrayEquals(want, got, 0f, "transposed panels " + g);
        }
    }
}
