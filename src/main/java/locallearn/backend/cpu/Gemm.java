package locallearn.backend.cpu;

/**
 * Family "gemm": C = alpha op(A) op(B) + beta C on row-major float arrays with offsets.
 * op(A) is (m, k), op(B) is (k, n), C is (m, n). With beta = 0, C is overwritten without being
 * read (BLAS convention: NaN in an uninitialised C does not leak).
 */
final class Gemm {
    private Gemm() {}

    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob,
                     float beta, float[] c, int oc) {
        gemmPlain(transA, transB, m, n, k, alpha, a, oa, b, ob, beta, c, oc);
    }

    /** The straightforward version, kept as the test oracle: row i of C gathers k rank-1 updates in order p = 0..k-1. */
    static void gemmPlain(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int oa, float[] b, int ob,
                          float beta, float[] c, int oc) {
        float[] row = new float[n];
        for (int i = 0; i < m; i++) {
            java.util.Arrays.fill(row, 0f);
            for (int p = 0; p < k; p++) {
                float aip = transA ? a[oa + p * m + i] : a[oa + i * k + p];
                if (transB) {
                    for (int j = 0; j < n; j++) row[j] += aip * b[ob + j * k + p];
                } else {
                    int bo = ob + p * n;
                    for (int j = 0; j < n; j++) row[j] += aip * b[bo + j];
                }
            }
            int co = oc + i * n;
            if (beta == 0f) {
                for (int j = 0; j < n; j++) c[co + j] = alpha * row[j];
            } else {
                for (int j = 0; j < n; j++) c[co + j] = alpha * row[j] + beta * c[co + j];
            }
        }
    }
}
