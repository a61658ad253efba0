/* A stand-in for the CUDA driver (libcuda.so.1) for FakeDriverTest: "device memory" is host
 * memory, and the one kernel it knows, runtime_axpb of runtimetest.ptx, runs on the CPU from the
 * kernelParams array exactly as the GPU would receive it. JCuda's JNI library binds to it as to
 * the real driver, so the test checks, without a GPU, that CudaContext, CudaAllocator and Kernel
 * drive JCuda right: which driver functions run, with which sizes, and how every kernel argument
 * type is laid out. FAKE_CUDA=nodevice makes cuInit fail, FAKE_CUDA=zero reports no devices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum { OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NO_DEVICE = 100, INVALID_DEVICE = 101, INVALID_PTX = 218,
       UNSUPPORTED_PTX_VERSION = 222, INVALID_CONTEXT = 201, NOT_FOUND = 500 };

static const size_t TOTAL = 1u << 30; /* a 1 GiB device */
static size_t used;
static __thread void *current;        /* the driver's current context is per thread */
static int retained;

static const char *mode(void) { const char *m = getenv("FAKE_CUDA"); return m ? m : ""; }

CUresult cuInit(unsigned flags) { return strcmp(mode(), "nodevice") == 0 ? NO_DEVICE : OK; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int *n) { *n = strcmp(mode(), "zero") == 0 ? 0 : 1; return OK; }
CUresult cuDeviceGet(int *d, int ordinal) { if (ordinal != 0) return INVALID_DEVICE; *d = 0; return OK; }
CUresult cuDeviceGetName(char *name, int len, int d) { snprintf(name, (size_t)len, "Fake GPU"); return OK; }
CUresult cuDeviceTotalMem_v2(size_t *bytes, int d) { *bytes = TOTAL; return OK; }
CUresult cuDeviceGetAttribute(int *v, int attribute, int d) {
    *v = attribute == 75 ? 9 : attribute == 76 ? 0 : 0; /* compute capability 9.0 */
    return OK;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) { *ctx = (void *)0xC0; retained++; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int d) { retained--; printf("driver: primary context released, %d retained\n", retained); return OK; }
CUresult cuCtxSetCurrent(void *ctx) { current = ctx; return OK; }
CUresult cuCtxGetCurrent(void **ctx) { *ctx = current; return OK; }
CUresult cuCtxSynchronize(void) { return current ? OK : INVALID_CONTEXT; }
CUresult cuGetErrorString(CUresult r, const char **s) { *s = "fake"; return OK; }

/* memory: a header before each block keeps its size, so cuMemFree and cuMemGetInfo can account */
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
    if (!current) return INVALID_CONTEXT;
    if (n == 0) return INVALID_VALUE;
    if (n > TOTAL - used) return OUT_OF_MEMORY;
    size_t *b = aligned_alloc(256, 256 + ((n + 255) / 256) * 256);
    b[0] = n;
    used += n;
    *p = (CUdeviceptr)((char *)b + 256);
    return OK;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    size_t *b = (size_t *)((char *)p - 256);
    used -= b[0];
    free(b);
    return OK;
}
CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) { *free_bytes = TOTAL - used; *total = TOTAL; return OK; }
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) { memcpy((void *)dst, src, n); return OK; }
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) { memcpy(dst, (void *)src, n); return OK; }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *stream) {
    memcpy((void *)dst, (void *)src, n);
    return OK;
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t n, void *stream) {
    unsigned *p = (unsigned *)dst;
    for (size_t i = 0; i < n; i++) p[i] = value;
    return OK;
}

/* modules: PTX must be NUL-terminated text holding an entry; ".version 99" stands for too new an ISA */
CUresult cuModuleLoadData(void **module, const void *image) {
    const char *text = image;
    if (strstr(text, ".version 99")) return UNSUPPORTED_PTX_VERSION;
    if (!strstr(text, ".entry")) return INVALID_PTX;
    *module = (void *)0xAA;
    return OK;
}
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *options, void **values) {
    return cuModuleLoadData(module, image);
}
CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
    if (strcmp(name, "runtime_axpb") != 0) return NOT_FOUND;
    *f = (void *)0xF1;
    return OK;
}

/* runtime_axpb(float* x, float a, float b, int n, long offset, int flag), as runtimetest.ptx computes it */
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **params, void **extra) {
    if (bx * by * bz > 1024 || gx == 0 || bx == 0) return INVALID_VALUE;
    float *x = *(float **)params[0];
    float a = *(float *)params[1], b = *(float *)params[2];
    unsigned n = *(unsigned *)params[3];
    long long offset = *(long long *)params[4];
    int flag = *(int *)params[5];
    for (unsigned i = 0; i < n && i < gx * bx; i++) {
        float v = fmaf(a, x[i], b);
        x[i] = flag ? v + (float)(long long)(i + offset) : v;
    }
    return OK;
}
