/* A stand-in for libcudnn.so.9 with the signatures of the legacy convolution API that Cudnn binds:
 * descriptors remember what they were set to, and each convolution logs the dimensions of the
 * descriptors it received next to its pointers, so the test (FakeLibrariesTest) sees that every
 * call gets the right descriptor in the right place. cudnnCreate fails unless libcudnn_ops.so.9
 * was loaded before it, as NativeLibs.load promises for cuDNN 9's sub-libraries.
 *
 * Descriptors also keep their data type, and a convolution on CUDNN_DATA_BFLOAT16 descriptors
 * computes on host memory what cuDNN's PSEUDO_BFLOAT16_CONFIG does: widened inputs, a float32 sum,
 * alpha and beta in float32 (the output unread when beta is 0), the output rounded to the nearest
 * bf16, ties to even. As cuDNN, every call refuses descriptors of mixed types, and bf16 ones with
 * a convolution compute type other than float (CUDNN_STATUS_NOT_SUPPORTED). Float32 calls only
 * log (their tests pass made-up addresses). */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* kind: 't' tensor, 'f' filter, 'c' convolution; v: n,c,h,w (k,c,h,w) or pad h,w, stride h,w, dilation h,w;
   type: a tensor's or filter's cudnnDataType_t, a convolution's compute type */
typedef struct { char kind; int v[9]; int type; } desc;

enum { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_BFLOAT16 = 9, STATUS_NOT_SUPPORTED = 3000 };

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

/* fake_refuse_bf16(1): act as a cuDNN older than bfloat16, which refuses data type 9 as a bad parameter */
static int refuse_bf16;
void fake_refuse_bf16(int on) { refuse_bf16 = on; }

int cudnnSetTensor4dDescriptor(desc *d, int format, int type, int n, int c, int h, int w) {
    note("tensor format=%d type=%d %d,%d,%d,%d;", format, type, n, c, h, w);
    if (refuse_bf16 && type == CUDNN_DATA_BFLOAT16) return 2000;
    d->v[0] = n; d->v[1] = c; d->v[2] = h; d->v[3] = w; d->type = type;
    return 0;
}
int cudnnSetFilter4dDescriptor(desc *d, int type, int format, int k, int c, int h, int w) {
    note("filter type=%d format=%d %d,%d,%d,%d;", type, format, k, c, h, w);
    d->v[0] = k; d->v[1] = c; d->v[2] = h; d->v[3] = w; d->type = type;
    return 0;
}
int cudnnSetConvolution2dDescriptor(desc *d, int ph, int pw, int u, int v, int dh, int dw, int mode, int type) {
    note("conv pad=%d,%d stride=%d,%d dilation=%d,%d mode=%d type=%d;", ph, pw, u, v, dh, dw, mode, type);
    d->v[0] = ph; d->v[1] = pw; d->v[2] = u; d->v[3] = v; d->v[4] = dh; d->v[5] = dw; d->type = type;
    return 0;
}
int cudnnSetConvolutionMathType(desc *d, int math) { note("math=%d;", math); return 0; }

/* cudnnConvolution*AlgoPerf_t as cuDNN lays it out: 48 bytes */
typedef struct { int algo, status; float time; size_t memory; int determinism, math, reserved[3]; } perf;

/* the data descriptors of a call (three of a, b, c, d; conv the convolution) agree in type, and bf16 ones compute in float */
static int types(desc *a, desc *b, desc *c, desc *d) {
    desc *data[3];
    int n = 0;
    desc *conv = NULL;
    desc *all[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++) {
        if (all[i]->kind == 'c') conv = all[i];
        else data[n++] = all[i];
    }
    if (data[0]->type != data[1]->type || data[1]->type != data[2]->type) return STATUS_NOT_SUPPORTED;
    if (data[0]->type != CUDNN_DATA_FLOAT && data[0]->type != CUDNN_DATA_BFLOAT16) return STATUS_NOT_SUPPORTED;
    if (data[0]->type == CUDNN_DATA_BFLOAT16 && conv->type != CUDNN_DATA_FLOAT) return STATUS_NOT_SUPPORTED;
    return 0;
}

/* results fastest first: a tensor-op algorithm (TF32), one that failed, then the FMA one Cudnn must pick */
static int find(const char *what, desc *a, desc *b, desc *c, desc *d, int requested, int *returned, perf *p, int fma_algo) {
    note("%s %s %s %s %s requested=%d;", what, dims(a), dims(b), dims(c), dims(d), requested);
    if (types(a, b, c, d)) return STATUS_NOT_SUPPORTED;
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
    if (types(a, b, c, d)) return STATUS_NOT_SUPPORTED;
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

/* out = alpha sum + beta out, rounded into bf16 */
static void store(uint16_t *out, long at, float alpha, float sum, float beta) {
    out[at] = round_bf16(beta == 0 ? alpha * sum : alpha * sum + beta * widen(out[at]));
}

/* The geometry of a call from its descriptors: x (B, C, H, W), w (K, C, R, S), y (B, K, P, Q), conv pad, stride. */
typedef struct { int nb, c, h, w, k, r, s, p, q, pad_h, pad_w, str_h, str_w; } geom;

static geom geometry(const desc *x, const desc *w, const desc *y, const desc *conv) {
    geom g = {x->v[0], x->v[1], x->v[2], x->v[3], w->v[0], w->v[2], w->v[3], y->v[2], y->v[3],
              conv->v[0], conv->v[1], conv->v[2], conv->v[3]};
    return g;
}

/* NCHW offsets of x, w and y elements in the geometry g */
#define X(n_, c_, i_, j_) ((((long)(n_) * g.c + (c_)) * g.h + (i_)) * g.w + (j_))
#define W(k_, c_, i_, j_) ((((long)(k_) * g.c + (c_)) * g.r + (i_)) * g.s + (j_))
#define Y(n_, k_, i_, j_) ((((long)(n_) * g.k + (k_)) * g.p + (i_)) * g.q + (j_))

static void forward_bf16(geom g, float alpha, const uint16_t *x, const uint16_t *w, float beta, uint16_t *y) {
    for (int b = 0; b < g.nb; b++)
        for (int k = 0; k < g.k; k++)
            for (int oi = 0; oi < g.p; oi++)
                for (int oj = 0; oj < g.q; oj++) {
                    float sum = 0;
                    for (int c = 0; c < g.c; c++)
                        for (int i = 0; i < g.r; i++)
                            for (int j = 0; j < g.s; j++) {
                                int hi = oi * g.str_h - g.pad_h + i, wj = oj * g.str_w - g.pad_w + j;
                                if (hi >= 0 && hi < g.h && wj >= 0 && wj < g.w) sum += widen(x[X(b, c, hi, wj)]) * widen(w[W(k, c, i, j)]);
                            }
                    store(y, Y(b, k, oi, oj), alpha, sum, beta);
                }
}

static void backward_data_bf16(geom g, float alpha, const uint16_t *w, const uint16_t *dy, float beta, uint16_t *dx) {
    for (int b = 0; b < g.nb; b++)
        for (int c = 0; c < g.c; c++)
            for (int hi = 0; hi < g.h; hi++)
                for (int wj = 0; wj < g.w; wj++) {
                    float sum = 0;
                    for (int k = 0; k < g.k; k++)
                        for (int i = 0; i < g.r; i++)
                            for (int j = 0; j < g.s; j++) {
                                int ti = hi + g.pad_h - i, tj = wj + g.pad_w - j;
                                if (ti < 0 || tj < 0 || ti % g.str_h || tj % g.str_w) continue;
                                int oi = ti / g.str_h, oj = tj / g.str_w;
                                if (oi < g.p && oj < g.q) sum += widen(dy[Y(b, k, oi, oj)]) * widen(w[W(k, c, i, j)]);
                            }
                    store(dx, X(b, c, hi, wj), alpha, sum, beta);
                }
}

static void backward_filter_bf16(geom g, float alpha, const uint16_t *x, const uint16_t *dy, float beta, uint16_t *dw) {
    for (int k = 0; k < g.k; k++)
        for (int c = 0; c < g.c; c++)
            for (int i = 0; i < g.r; i++)
                for (int j = 0; j < g.s; j++) {
                    float sum = 0;
                    for (int b = 0; b < g.nb; b++)
                        for (int oi = 0; oi < g.p; oi++)
                            for (int oj = 0; oj < g.q; oj++) {
                                int hi = oi * g.str_h - g.pad_h + i, wj = oj * g.str_w - g.pad_w + j;
                                if (hi >= 0 && hi < g.h && wj >= 0 && wj < g.w) sum += widen(x[X(b, c, hi, wj)]) * widen(dy[Y(b, k, oi, oj)]);
                            }
                    store(dw, W(k, c, i, j), alpha, sum, beta);
                }
}

/* logs the call; checks types; algo 99 reports CUDNN_STATUS_NOT_SUPPORTED, for the error path */
static int run(const char *what, const float *alpha, desc *d1, const void *p1, desc *d2, const void *p2, desc *c, int algo,
               void *work, size_t work_bytes, const float *beta, desc *d3, void *p3) {
    note("%s alpha=%g %s@%lx %s@%lx %s algo=%d ws=%lx/%zu beta=%g %s@%lx;", what, *alpha, dims(d1), (unsigned long)p1, dims(d2),
         (unsigned long)p2, dims(c), algo, (unsigned long)work, work_bytes, *beta, dims(d3), (unsigned long)p3);
    if (types(d1, d2, c, d3)) return STATUS_NOT_SUPPORTED;
    return algo == 99 ? STATUS_NOT_SUPPORTED : 0;
}
int cudnnConvolutionForward(void *h, const float *alpha, desc *xd, const void *x, desc *wd, const void *w, desc *c, int algo,
                            void *ws, size_t wsb, const float *beta, desc *yd, void *y) {
    int r = run("fwd", alpha, xd, x, wd, w, c, algo, ws, wsb, beta, yd, y);
    if (r == 0 && xd->type == CUDNN_DATA_BFLOAT16) forward_bf16(geometry(xd, wd, yd, c), *alpha, x, w, *beta, y);
    return r;
}
int cudnnConvolutionBackwardData(void *h, const float *alpha, desc *wd, const void *w, desc *dyd, const void *dy, desc *c,
                                 int algo, void *ws, size_t wsb, const float *beta, desc *dxd, void *dx) {
    int r = run("bwdData", alpha, wd, w, dyd, dy, c, algo, ws, wsb, beta, dxd, dx);
    if (r == 0 && dxd->type == CUDNN_DATA_BFLOAT16) backward_data_bf16(geometry(dxd, wd, dyd, c), *alpha, w, dy, *beta, dx);
    return r;
}
int cudnnConvolutionBackwardFilter(void *h, const float *alpha, desc *xd, const void *x, desc *dyd, const void *dy, desc *c,
                                   int algo, void *ws, size_t wsb, const float *beta, desc *dwd, void *dw) {
    int r = run("bwdFilter", alpha, xd, x, dyd, dy, c, algo, ws, wsb, beta, dwd, dw);
    if (r == 0 && xd->type == CUDNN_DATA_BFLOAT16) backward_filter_bf16(geometry(xd, dwd, dyd, c), *alpha, x, dy, *beta, dw);
    return r;
}
