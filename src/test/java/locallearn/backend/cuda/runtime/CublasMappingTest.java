package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import locallearn.backend.cuda.Cublas;
import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major argument mapping of {@link Cublas#sgemm}, checked without a GPU:
 * a plain column-major SGEMM with BLAS semantics (what cuBLAS computes) is given the mapped
 * arguments and the row-major buffers, and must produce the row-major product.
 */
class CublasMappingTest {

    /** BLAS sgemm, column-major: C (m, n) = alpha op(A) op(B) + beta C, X(i, j) at x[i + j * ldx]. */
    static void columnMajorSgemm(int opA, int opB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb,
                                 float beta, float[] c, int ldc) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = opA == Cublas.OP_N ? a[i + p * lda] : a[p + i * lda];
                    float bv = opB == Cublas.OP_N ? b[p + j * ldb] : b[j + p * ldb];
                    s += (double) av * bv;
                }
                c[i + j * ldc] = (float) (alpha * s + beta * c[i + j * ldc]);
            }
        }
    }

    /** Row-major reference: C (m, n) = alpha op(A) op(B) + beta C. */
    static float[] rowMajor(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c) {
        float[] out = c.clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                out[i * n + j] = (float) (alpha * s + beta * c[i * n + j]);
            }
        return out;
    }

    @Test void allFourTransposeCasesGiveTheRowMajorProduct() {
        Random r = new Random(7);
        int m = 5, n = 3, k = 4; // all different, so a swapped dimension or leading dimension cannot pass
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                float[] a = random(r, m * k), b = random(r, k * n), c = random(r, m * n);
                float alpha = 1.5f, beta = -0.5f;
                float[] want = rowMajor(ta, tb, m, n, k, alpha, a, b, beta, c);
                Cublas.ColumnMajorGemm g = Cublas.columnMajor(ta, tb, m, n, k);
                float[] got = c.clone();
                // the first operand of the column-major call is B, the second A (see Cublas.columnMajor)
                columnMajorSgemm(g.opFirst(), g.opSecond(), g.m(), g.n(), g.k(), alpha, b, g.ldFirst(), a, g.ldSecond(), beta, got, g.ldc());
                // same products in float, summed in double by both: they differ by at most rounding of the last store
                assertArrayEquals(want, got, 1e-6f, "transA=" + ta + " transB=" + tb);
            }
    }

    @Test void mappingSwapsDimensionsAndTakesRowLengthsAsLeadingDimensions() {
        // C (2, 3) = A (2, 4) B (4, 3): column-major C^T (3, 2) = B^T (3, 4) A^T (4, 2)
        assertEquals(new Cublas.ColumnMajorGemm(Cublas.OP_N, Cublas.OP_N, 3, 2, 4, 3, 4, 3), Cublas.columnMajor(false, false, 2, 3, 4));
        // A stored (4, 2) and B stored (3, 4): lda 2, ldb 4
        assertEquals(new Cublas.ColumnMajorGemm(Cublas.OP_T, Cublas.OP_T, 3, 2, 4, 4, 2, 3), Cublas.columnMajor(true, true, 2, 3, 4));
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }
}
