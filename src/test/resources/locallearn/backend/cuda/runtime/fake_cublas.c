/* A stand-in for libcublas.so.13 with the signatures of the cuBLAS v2 functions that Cublas binds:
 * each call appends what it received to a log that the test reads through fake_log(), so the
 * FFM binding's argument order and the row-major -> column-major mapping are checked without a
 * GPU (FakeLibrariesTest). cublasCreate_v2 fails unless libcublasLt.so.13 was loaded before it,
 * as NativeLibs.load promises. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>

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
