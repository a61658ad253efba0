/* A stand-in for libcudnn.so.9 with the signatures of the legacy convolution API that Cudnn binds:
 * descriptors remember what they were set to, and each convolution logs the dimensions of the
 * descriptors it received next to its pointers, so the test (FakeLibrariesTest) sees that every
 * call gets the right descriptor in the right place. cudnnCreate fails unless libcudnn_ops.so.9
 * was loaded before it, as NativeLibs.load promises for cuDNN 9's sub-libraries. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct { char kind; int v[9]; } desc; /* kind: 't' tensor, 'f' filter, 'c' convolution */

static const char *dims(const desc *d) { /* "t(2,3,7,6)": kind and its four sizes */
    static char buf[4][64];
    static int next;
    char *b = buf[next++ & 3];
    snprintf(b, 64, "%c(%d,%d,%d,%d)", d->kind, d->v[0], d->v[1], d->v[2], d->v[3]);
    return b;
}

int cudnnCreate(void **h) {
    if (dlopen("libcudnn_ops.so.9", RTLD_NOW | RTLD_NOLOAD) == NULL) return 1001; /* CUDNN_STATUS_NOT_INITIALIZED */
    *h = (void *)0x5678;
    return 0;
}
int cudnnDestroy(void *h) { note("destroy;"); return 0; }
int cudnnSetStream(void *h, void *stream) { note("stream %lx %lx;", (unsigned long)h, (unsigned long)stream); return 0; }
size_t cudnnGetVersion(void) { return 91000; }
const char *cudnnGetErrorString(int status) {
    static char buf[64];
    snprintf(buf, sizeof buf, "CUDNN_STATUS_FAKE_%d", status);
    return buf;
}

static int create(void **d, char kind) {
    desc *x = calloc(1, sizeof(desc));
    x->kind = kind;
    *d = x;
    return 0;
}
int cudnnCreateTensorDescriptor(void **d) { return create(d, 't'); }
int cudnnCreateFilterDescriptor(void **d) { return create(d, 'f'); }
int cudnnCreateConvolutionDescriptor(void **d) { return create(d, 'c'); }
static int destroy(void *d) { free(d); note("free;"); return 0; }
int cudnnDestroyTensorDescriptor(void *d) { return destroy(d); }
int cudnnDestroyFilterDescriptor(void *d) { return destroy(d); }
int cudnnDestroyConvolutionDescriptor(void *d) { return destroy(d); }

int cudnnSetTensor4dDescriptor(desc *d, int format, int type, int n, int c, int h, int w) {
    note("tensor format=%d type=%d %d,%d,%d,%d;", format, type, n, c, h, w);
    d->v[0] = n; d->v[1] = c; d->v[2] = h; d->v[3] = w;
    return 0;
}
int cudnnSetFilter4dDescriptor(desc *d, int type, int format, int k, int c, int h, int w) {
    note("filter type=%d format=%d %d,%d,%d,%d;", type, format, k, c, h, w);
    d->v[0] = k; d->v[1] = c; d->v[2] = h; d->v[3] = w;
    return 0;
}
int cudnnSetConvolution2dDescriptor(desc *d, int ph, int pw, int u, int v, int dh, int dw, int mode, int type) {
    note("conv pad=%d,%d stride=%d,%d dilation=%d,%d mode=%d type=%d;", ph, pw, u, v, dh, dw, mode, type);
    d->v[0] = ph; d->v[1] = pw; d->v[2] = u; d->v[3] = v;
    return 0;
}
int cudnnSetConvolutionMathType(desc *d, int math) { note("math=%d;", math); return 0; }

/* cudnnConvolution*AlgoPerf_t as cuDNN lays it out: 48 bytes */
typedef struct { int algo, status; float time; size_t memory; int determinism, math, reserved[3]; } perf;

/* results fastest first: a tensor-op algorithm (TF32), one that failed, then the FMA one Cudnn must pick */
static int find(const char *what, desc *a, desc *b, desc *c, desc *d, int requested, int *returned, perf *p, int fma_algo) {
    note("%s %s %s %s %s requested=%d;", what, dims(a), dims(b), dims(c), dims(d), requested);
    memset(p, 0, sizeof(perf) * 3);
    p[0].algo = 1; p[0].status = 0; p[0].math = 1;
    p[1].algo = 2; p[1].status = 9; p[1].math = 3;
    p[2].algo = fma_algo; p[2].status = 0; p[2].math = 3;
    *returned = 3;
    return 0;
}
int cudnnFindConvolutionForwardAlgorithm(void *h, desc *x, desc *w, desc *c, desc *y, int n, int *r, perf *p) {
    return find("findFwd", x, w, c, y, n, r, p, 6);
}
int cudnnFindConvolutionBackwardDataAlgorithm(void *h, desc *w, desc *dy, desc *c, desc *dx, int n, int *r, perf *p) {
    return find("findBwdData", w, dy, c, dx, n, r, p, 4);
}
int cudnnFindConvolutionBackwardFilterAlgorithm(void *h, desc *x, desc *dy, desc *c, desc *dw, int n, int *r, perf *p) {
    return find("findBwdFilter", x, dy, c, dw, n, r, p, 5);
}

static int ws(const char *what, desc *a, desc *b, desc *c, desc *d, int algo, size_t *size) {
    note("%s %s %s %s %s algo=%d;", what, dims(a), dims(b), dims(c), dims(d), algo);
    *size = 0;
    return 0;
}
int cudnnGetConvolutionForwardWorkspaceSize(void *h, desc *x, desc *w, desc *c, desc *y, int algo, size_t *s) {
    return ws("wsFwd", x, w, c, y, algo, s);
}
int cudnnGetConvolutionBackwardDataWorkspaceSize(void *h, desc *w, desc *dy, desc *c, desc *dx, int algo, size_t *s) {
    return ws("wsBwdData", w, dy, c, dx, algo, s);
}
int cudnnGetConvolutionBackwardFilterWorkspaceSize(void *h, desc *x, desc *dy, desc *c, desc *dw, int algo, size_t *s) {
    return ws("wsBwdFilter", x, dy, c, dw, algo, s);
}

static int run(const char *what, const float *alpha, desc *d1, const void *p1, desc *d2, const void *p2, desc *c, int algo,
               void *work, size_t work_bytes, const float *beta, desc *d3, void *p3) {
    note("%s alpha=%g %s@%lx %s@%lx %s algo=%d ws=%lx/%zu beta=%g %s@%lx;", what, *alpha, dims(d1), (unsigned long)p1, dims(d2),
         (unsigned long)p2, dims(c), algo, (unsigned long)work, work_bytes, *beta, dims(d3), (unsigned long)p3);
    return algo == 99 ? 3000 : 0;
}
int cudnnConvolutionForward(void *h, const float *alpha, desc *xd, const void *x, desc *wd, const void *w, desc *c, int algo,
                            void *ws, size_t wsb, const float *beta, desc *yd, void *y) {
    return run("fwd", alpha, xd, x, wd, w, c, algo, ws, wsb, beta, yd, y);
}
int cudnnConvolutionBackwardData(void *h, const float *alpha, desc *wd, const void *w, desc *dyd, const void *dy, desc *c,
                                 int algo, void *ws, size_t wsb, const float *beta, desc *dxd, void *dx) {
    return run("bwdData", alpha, wd, w, dyd, dy, c, algo, ws, wsb, beta, dxd, dx);
}
int cudnnConvolutionBackwardFilter(void *h, const float *alpha, desc *xd, const void *x, desc *dyd, const void *dy, desc *c,
                                   int algo, void *ws, size_t wsb, const float *beta, desc *dwd, void *dw) {
    return run("bwdFilter", alpha, xd, x, dyd, dy, c, algo, ws, wsb, beta, dwd, dw);
}
