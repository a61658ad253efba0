/* A stand-in for libcublas.so.13 with the signatures of the cuBLAS v2 functions that Cublas binds:
 * each call appends what it received to a log that the test reads through fake_log(), so the
 * FFM binding's argument order and the row-major -> column-major mapping are checked without a
 * GPU (FakeLibrariesTest). cublasCreate_v2 fails unless libcublasLt.so.13 was loaded before it,
 * as NativeLibs.load promises.
 *
 * The bf16 entry points (cublasGemmEx, cublasGemmStridedBatchedEx) also compute, on host memory,
 * what cuBLAS documents for bf16 A and B in CUBLAS_COMPUTE_32F: widened inputs, a float32 sum,
 * alpha and beta in float32 (C unread when beta is 0), C stored as float32 or rounded to the
 * nearest bf16, ties to even. They reject data types, compute types and algorithms that Cublas
 * does not mean to send (CUBLAS_STATUS_NOT_SUPPORTED) and leading dimensions that cuBLAS would
 * (CUBLAS_STATUS_INVALID_VALUE), so a wrong enum or a bad mapping fails the test. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "fake_bf16.h"

static char log_buf[16384];
static size_t log_len;

static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(log_buf + log_len, sizeof log_buf - log_len, fmt, ap);
    va_end(ap);
    if (n > 0 && log_len + (size_t)n < sizeof log_buf) log_len += (size_t)n;
}

const char *fake_log(void) { return log_buf; }
void fake_reset(void) { log_len = 0; log_buf[0] = 0; }

int cublasCreate_v2(void **handle) {
    if (dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_NOLOAD) == NULL) return 1; /* CUBLAS_STATUS_NOT_INITIALIZED */
    *handle = (void *)0x1234;
    note("create;");
    return 0;
}

int cublasDestroy_v2(void *handle) { note("destroy %lx;", (unsigned long)handle); return 0; }

int cublasSetMathMode(void *handle, int mode) { note("math %lx %d;", (unsigned long)handle, mode); return 0; }

int cublasSetStream_v2(void *handle, void *stream) { note("stream %lx %lx;", (unsigned long)handle, (unsigned long)stream); return 0; }

int cublasGetProperty(int type, int *value) {
    static const int version[] = {13, 1, 2};
    if (type < 0 || type > 2) return 7;
    *value = version[type];
    return 0;
}

/* k == 99 reports CUBLAS_STATUS_EXECUTION_FAILED, for the error path */
int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                   const float *b, int ldb, const float *beta, float *c, int ldc) {
    note("sgemm %lx ta=%d tb=%d m=%d n=%d k=%d alpha=%g A=%lx lda=%d B=%lx ldb=%d beta=%g C=%lx ldc=%d;", (unsigned long)h,
         ta, tb, m, n, k, *alpha, (unsigned long)a, lda, (unsigned long)b, ldb, *beta, (unsigned long)c, ldc);
    return k == 99 ? 13 : 0;
}

int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                              long long sa, const float *b, int ldb, long long sb, const float *beta, float *c, int ldc,
                              long long sc, int batch) {
    note("batched %lx ta=%d tb=%d m=%d n=%d k=%d alpha=%g A=%lx lda=%d sA=%lld B=%lx ldb=%d sB=%lld beta=%g C=%lx ldc=%d"
         " sC=%lld batch=%d;", (unsigned long)h, ta, tb, m, n, k, *alpha, (unsigned long)a, lda, sa, (unsigned long)b, ldb,
         sb, *beta, (unsigned long)c, ldc, sc, batch);
    return 0;
}

/* cudaDataType_t, cublasComputeType_t, cublasGemmAlgo_t: the values Cublas must send (library_types.h, cublas_api.h) */
enum { CUDA_R_32F = 0, CUDA_R_16BF = 14, CUBLAS_COMPUTE_32F = 68, CUBLAS_GEMM_DEFAULT = -1 };
enum { STATUS_INVALID_VALUE = 7, STATUS_NOT_SUPPORTED = 15 };

static int max1(int v) { return v > 1 ? v : 1; }

/* one column-major product C (m, n) = alpha op(A) op(B) + beta C on host memory */
static void gemm_bf16(int ta, int tb, int m, int n, int k, float alpha, const uint16_t *a, int lda, const uint16_t *b, int ldb,
                      float beta, void *c, int ctype, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float sum = 0;
            for (int p = 0; p < k; p++) {
                float av = widen(ta == 0 ? a[i + (long)p * lda] : a[p + (long)i * lda]);
                float bv = widen(tb == 0 ? b[p + (long)j * ldb] : b[j + (long)p * ldb]);
                sum += av * bv;
            }
            long at = i + (long)j * ldc;
            if (ctype == CUDA_R_32F) {
                float *cf = c;
                cf[at] = beta == 0 ? alpha * sum : alpha * sum + beta * cf[at];
            } else {
                uint16_t *ch = c;
                ch[at] = round_bf16(beta == 0 ? alpha * sum : alpha * sum + beta * widen(ch[at]));
            }
        }
}

static int check_ex(int ta, int tb, int m, int n, int k, int atype, int lda, int btype, int ldb, int ctype, int ldc, int compute,
                    int algo) {
    if (atype != CUDA_R_16BF || btype != CUDA_R_16BF || (ctype != CUDA_R_16BF && ctype != CUDA_R_32F) ||
        compute != CUBLAS_COMPUTE_32F || algo != CUBLAS_GEMM_DEFAULT)
        return STATUS_NOT_SUPPORTED;
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1) || m < 0 || n < 0 || k < 0 || lda < max1(ta == 0 ? m : k) ||
        ldb < max1(tb == 0 ? k : n) || ldc < max1(m))
        return STATUS_INVALID_VALUE;
    return 0;
}

int cublasGemmEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *a, int atype, int lda,
                 const void *b, int btype, int ldb, const float *beta, void *c, int ctype, int ldc, int compute, int algo) {
    note("gemmEx %lx ta=%d tb=%d m=%d n=%d k=%d alpha=%g Atype=%d lda=%d Btype=%d ldb=%d beta=%g Ctype=%d ldc=%d compute=%d algo=%d;",
         (unsigned long)h, ta, tb, m, n, k, *alpha, atype, lda, btype, ldb, *beta, ctype, ldc, compute, algo);
    int r = check_ex(ta, tb, m, n, k, atype, lda, btype, ldb, ctype, ldc, compute, algo);
    if (r == 0) gemm_bf16(ta, tb, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ctype, ldc);
    return r;
}

int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *a, int atype, int lda,
                               long long sa, const void *b, int btype, int ldb, long long sb, const float *beta, void *c, int ctype,
                               int ldc, long long sc, int batch, int compute, int algo) {
    note("batchedEx %lx ta=%d tb=%d m=%d n=%d k=%d alpha=%g Atype=%d lda=%d sA=%lld Btype=%d ldb=%d sB=%lld beta=%g Ctype=%d ldc=%d"
         " sC=%lld batch=%d compute=%d algo=%d;", (unsigned long)h, ta, tb, m, n, k, *alpha, atype, lda, sa, btype, ldb, sb, *beta,
         ctype, ldc, sc, batch, compute, algo);
    int r = check_ex(ta, tb, m, n, k, atype, lda, btype, ldb, ctype, ldc, compute, algo);
    if (r == 0 && (batch < 1 || sa < 0 || sb < 0 || sc < 0)) r = STATUS_INVALID_VALUE;
    if (r != 0) return r;
    size_t csize = ctype == CUDA_R_32F ? 4 : 2;
    for (int i = 0; i < batch; i++)
        gemm_bf16(ta, tb, m, n, k, *alpha, (const uint16_t *)a + i * sa, lda, (const uint16_t *)b + i * sb, ldb, *beta,
                  (char *)c + (size_t)(i * sc) * csize, ctype, ldc);
    return 0;
}
