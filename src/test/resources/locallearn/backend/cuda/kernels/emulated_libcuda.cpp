// A stand-in CUDA driver (libcuda.so.1) that RUNS our kernels on the CPU, for EmulatedGpuTest:
// "device memory" is host memory, and cuLaunchKernel executes the kernel of kernels/*.cu, compiled
// here by g++, with the launch's grid and block. Each CUDA thread of a block is a fiber (ucontext);
// __syncthreads and warp shuffles are barriers that switch fibers, so block reductions, shared
// memory tiles and shuffles behave as on a GPU (one block at a time, which a correct kernel cannot
// tell apart). Kernel arguments are unpacked from cuLaunchKernel's kernelParams by the kernel's
// own C++ signature, so an argument the Java side passes in the wrong order or with the wrong
// width shows up as a wrong result. The .maxntid of each PTX entry is enforced like the driver does.
//
// Build: g++ -std=c++20 -O1 -U_FORTIFY_SOURCE -shared -fPIC -fvisibility=hidden -I kernels -o libcuda.so.1 this.cpp
// (no _FORTIFY_SOURCE: its longjmp check refuses the jumps between fiber stacks)
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <ucontext.h>
#include <cmath>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// ---- the device side: CUDA's built-ins over fibers ------------------------------------------------
using std::isnan;
using std::max;
using std::min;
struct uint3_ { unsigned x = 0, y = 0, z = 0; };
struct uint4 { uint32_t x, y, z, w; };
static inline uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {a, b, c, d}; }
static uint3_ threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(x)
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline uint32_t __float_as_uint(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
static inline float __uint_as_float(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }
static inline float __fadd_rn(float a, float b) { return a + b; }

namespace emu {
// A fiber is entered once through setcontext (its own stack), then switched with _setjmp and
// _longjmp, which unlike swapcontext make no system call: a block of 1024 threads passes a
// barrier in microseconds.
struct Fiber { ucontext_t ctx; jmp_buf jb; bool started, done; };
static jmp_buf scheduler;
static std::vector<Fiber> fibers;
static std::vector<char> stacks;
static const size_t STACK = 64 * 1024;
static unsigned current;
static bool fibered;          // false: threads run one after another and must not wait
static long progress;         // arrivals, releases and completions, to detect a deadlock
static const char* kernelName;
static void (*body)(void**);
static void** params;

static void yield() {
    if (!fibered) {
        fprintf(stderr, "emulated driver: kernel %s waits at a barrier but is not marked as synchronising\n", kernelName);
        abort();
    }
    if (!_setjmp(fibers[current].jb)) _longjmp(scheduler, 1);
}

struct Barrier { int expected = 0, arrived = 0; unsigned generation = 0; };
static void arrive_and_wait(Barrier& b) {
    unsigned g = b.generation;
    progress++;
    if (++b.arrived == b.expected) {
        b.arrived = 0;
        b.generation++;
        return;
    }
    while (b.generation == g) yield();
}
static Barrier block;
static Barrier warps[32];
static float exchange[32][32];

static void fiberMain() {
    body(params);
    fibers[current].done = true;
    progress++;
    _longjmp(scheduler, 1); // never return: the context has no successor
}

static void setThread(unsigned t) {
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

static void runBlock(unsigned threads) {
    if (!fibered) {
        for (unsigned t = 0; t < threads; t++) {
            current = t;
            setThread(t);
            body(params);
        }
        return;
    }
    fibers.assign(threads, Fiber{});
    if (stacks.size() < threads * STACK) stacks.resize(threads * STACK);
    block = Barrier{(int) threads};
    for (unsigned w = 0; w < 32; w++) warps[w] = Barrier{32};
    for (unsigned t = 0; t < threads; t++) {
        getcontext(&fibers[t].ctx);
        fibers[t].ctx.uc_stack.ss_sp = stacks.data() + t * STACK;
        fibers[t].ctx.uc_stack.ss_size = STACK;
        fibers[t].ctx.uc_link = nullptr;
        makecontext(&fibers[t].ctx, fiberMain, 0);
    }
    unsigned left = threads;
    while (left > 0) {
        long before = progress;
        for (unsigned t = 0; t < threads; t++) {
            if (fibers[t].done) continue;
            current = t;
            setThread(t);
            if (!_setjmp(scheduler)) {
                if (!fibers[t].started) {
                    fibers[t].started = true;
                    setcontext(&fibers[t].ctx);
                }
                _longjmp(fibers[t].jb, 1);
            }
            if (fibers[t].done) left--;
        }
        if (left > 0 && progress == before) {
            fprintf(stderr, "emulated driver: kernel %s deadlocked (threads wait at different barriers)\n", kernelName);
            abort();
        }
    }
}
}  // namespace emu

static inline void __syncthreads() { emu::arrive_and_wait(emu::block); }
static inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
    unsigned w = emu::current / 32, l = emu::current % 32;
    emu::exchange[w][l] = v;
    emu::arrive_and_wait(emu::warps[w]);
    float r = emu::exchange[w][l ^ lane_mask];
    emu::arrive_and_wait(emu::warps[w]);
    return r;
}

#include "elementwise.cu"
#include "batchnorm.cu"
#include "dropout.cu"
#include "pool.cu"
#include "loss.cu"
#include "similarity.cu"
#include "featstd.cu"
#include "optim.cu"
#include "augment.cu"
#include "gemm.cu"
#include "conv.cu"

// ---- kernel table: name -> a call that unpacks kernelParams by the kernel's signature -------------
template <class... A, size_t... I>
static void unpack(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<A>*>(p[I])...);
}
template <class... A>
static void call(void (*f)(A...), void** p) { unpack(f, p, std::index_sequence_for<A...>{}); }

struct Entry { void (*run)(void**); bool sync; };
#define PLAIN(k) {#k, Entry{[](void** p) { call(k, p); }, false}}
#define SYNC(k) {#k, Entry{[](void** p) { call(k, p); }, true}}
static const std::map<std::string, Entry> KERNELS = {
    PLAIN(axpy), PLAIN(scale), PLAIN(multiply), SYNC(sum), SYNC(count_correct), PLAIN(leaky_relu_forward), PLAIN(leaky_relu_backward),
    PLAIN(bias_add), SYNC(bias_backward),
    SYNC(batch_norm_forward_train), PLAIN(batch_norm_forward_eval), SYNC(batch_norm_backward), SYNC(channel_sum),
    PLAIN(dropout_forward), PLAIN(dropout_backward),
    PLAIN(max_pool_forward), PLAIN(max_pool_backward), PLAIN(avg_pool_forward), PLAIN(avg_pool_backward),
    SYNC(cross_entropy_forward), PLAIN(cross_entropy_backward), SYNC(bce_with_logits_forward), PLAIN(bce_with_logits_backward),
    SYNC(mse_forward), PLAIN(mse_backward),
    SYNC(similarity_normalize), PLAIN(similarity_clamp), PLAIN(similarity_backward_gram), SYNC(similarity_backward_rows),
    SYNC(feature_map_std_forward), SYNC(feature_map_std_backward), PLAIN(adam_step), PLAIN(sgd_step),
    PLAIN(channel_affine), PLAIN(random_crop_flip), PLAIN(cutout), SYNC(gemm), PLAIN(im2col), PLAIN(col2im),
};

// ---- the driver API that the runtime calls ------------------------------------------------------
typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum { OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_CONTEXT = 201, INVALID_PTX = 218, NOT_FOUND = 500 };
static const size_t TOTAL = 4ull << 30;
static size_t used;
static void* currentContext;

struct Function { std::string name; const Entry* entry; unsigned maxThreads; };
struct Module { std::map<std::string, unsigned> maxThreads; };

#define API extern "C" __attribute__((visibility("default")))
API CUresult cuInit(unsigned) { return OK; }
API CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
API CUresult cuDeviceGetCount(int* n) { *n = 1; return OK; }
API CUresult cuDeviceGet(int* d, int ordinal) { *d = 0; return ordinal == 0 ? OK : 101; }
API CUresult cuDeviceGetName(char* name, int len, int) { snprintf(name, (size_t) len, "Emulated GPU"); return OK; }
API CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = TOTAL; return OK; }
API CUresult cuDeviceGetAttribute(int* v, int attribute, int) { *v = attribute == 75 ? 9 : 0; return OK; }
API CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*) 0xC0; return OK; }
API CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
API CUresult cuCtxSetCurrent(void* ctx) { currentContext = ctx; return OK; }
API CUresult cuCtxGetCurrent(void** ctx) { *ctx = currentContext; return OK; }
API CUresult cuCtxSynchronize(void) { return OK; }
API CUresult cuGetErrorString(CUresult, const char** s) { *s = "emulated"; return OK; }
API CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
    if (n == 0) return INVALID_VALUE;
    if (n > TOTAL - used) return OUT_OF_MEMORY;
    size_t* b = (size_t*) aligned_alloc(256, 256 + (n + 255) / 256 * 256);
    b[0] = n;
    used += n;
    // uninitialised device memory is rarely zero: NaN bits catch a kernel that reads before writing
    memset((char*) b + 256, 0xFF, (n + 255) / 256 * 256);
    *p = (CUdeviceptr) ((char*) b + 256);
    return OK;
}
API CUresult cuMemFree_v2(CUdeviceptr p) {
    size_t* b = (size_t*) ((char*) p - 256);
    used -= b[0];
    free(b);
    return OK;
}
API CUresult cuMemGetInfo_v2(size_t* freeBytes, size_t* total) { *freeBytes = TOTAL - used; *total = TOTAL; return OK; }
API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) { memcpy((void*) dst, src, n); return OK; }
API CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) { memcpy(dst, (void*) src, n); return OK; }
API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void*) { memcpy((void*) dst, (void*) src, n); return OK; }
API CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t n, void*) {
    for (size_t i = 0; i < n; i++) ((unsigned*) dst)[i] = value;
    return OK;
}
// modules: the PTX text gives each entry's .maxntid (0: no bound)
API CUresult cuModuleLoadData(void** module, const void* image) {
    std::string text((const char*) image);
    if (text.find(".entry") == std::string::npos) return INVALID_PTX;
    Module* m = new Module();
    for (size_t at = text.find(".entry "); at != std::string::npos; at = text.find(".entry ", at + 1)) {
        size_t open = text.find('(', at);
        std::string name = text.substr(at + 7, open - at - 7);
        size_t body = text.find('{', open), bound = text.find(".maxntid", open);
        m->maxThreads[name] = bound != std::string::npos && bound < body ? (unsigned) atoi(text.c_str() + bound + 9) : 0;
    }
    *module = m;
    return OK;
}
API CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned, int*, void**) { return cuModuleLoadData(module, image); }
API CUresult cuModuleGetFunction(void** f, void* module, const char* name) {
    Module* m = (Module*) module;
    auto k = KERNELS.find(name);
    auto b = m->maxThreads.find(name);
    if (k == KERNELS.end() || b == m->maxThreads.end()) return NOT_FOUND;
    *f = new Function{name, &k->second, b->second};
    return OK;
}
API CUresult cuLaunchKernel(void* fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                            unsigned shared, void*, void** kernelParams, void**) {
    Function* f = (Function*) fp;
    unsigned threads = bx * by * bz;
    if (threads == 0 || threads > 1024 || gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) return INVALID_VALUE;
    if (f->maxThreads != 0 && threads > f->maxThreads) return INVALID_VALUE;
    if (f->entry->sync && threads % 32 != 0) return INVALID_VALUE; // our reductions need whole warps
    blockDim = {bx, by, bz};
    gridDim = {gx, gy, gz};
    emu::kernelName = f->name.c_str();
    emu::body = f->entry->run;
    emu::params = kernelParams;
    emu::fibered = f->entry->sync;
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                blockIdx = {x, y, z};
                emu::runBlock(threads);
            }
    return OK;
}
