// A stand-in CUDA driver (libcuda.so.1) that RUNS our kernels on the CPU, for EmulatedGpuTest:
// "device memory" is host memory, and cuLaunchKernel executes the kernel of kernels/*.cu, compiled
// here by g++, with the launch's grid and block. Each CUDA thread of a block is a fiber (ucontext);
// __syncthreads and warp shuffles are barriers that switch fibers, so block reductions, shared
// memory tiles and shuffles behave as on a GPU (one block at a time, which a correct kernel cannot
// tell apart). Kernel arguments are unpacked from cuLaunchKernel's kernelParams by the kernel's
// own C++ signature, so an argument the Java side passes in the wrong order or with the wrong
// width shows up as a wrong result. The .maxntid of each PTX entry is enforced like the driver does.
//
// Streams and events run eagerly, in the order the host issues work, under one lock (the pipeline's
// stage threads call in at once), but their order is CHECKED: each stream keeps a vector clock of
// the work of every stream it is ordered after (its own, a waited event's, the legacy stream's
// implicit barrier with blocking streams, host synchronisations), and every device block remembers
// its last write and the reads since. A kernel (its pointer parameters: const ones read, others
// written), copy or memset that touches a block last used on another stream it is not ordered
// after fails with CUDA_ERROR_ILLEGAL_STATE and a line on stderr naming both streams: a missing
// hand-off wait, or an allocator that handed a block to another stream without an event, cannot
// pass unseen. emu_report() tells which streams each host thread launched on. EMU_FAIL_LAUNCH=S:N
// fails the N-th launch on stream S (1 = the first stream created) with CUDA_ERROR_LAUNCH_FAILED.
//
// Several devices (EMU_DEVICES=N, default 1): a primary context per device, current per host thread
// as in the driver, and every block and stream belongs to the device whose context made it. A
// launch, copy or memset in device k's context that touches another device's block fails with
// CUDA_ERROR_ILLEGAL_ADDRESS and a line on stderr, except cuMemcpyPeerAsync between two contexts
// with peer access enabled (cuCtxEnablePeerAccess); EMU_NO_PEER=1 makes cuDeviceCanAccessPeer
// say no, so the host path is what runs; EMU_OLD_DEVICE=k gives device k compute capability 7.0. Each device has its own legacy stream (id 0 for device
// 0, 1000 + k for device k), and cuCtxSynchronize waits for the current device's streams only.
//
// Build: g++ -std=c++20 -O1 -U_FORTIFY_SOURCE -shared -fPIC -fvisibility=hidden -I kernels -o libcuda.so.1 this.cpp
// (no _FORTIFY_SOURCE: its longjmp check refuses the jumps between fiber stacks)
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <setjmp.h>
#include <ucontext.h>
#include <cmath>
#include <map>
#include <mutex>
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

// cuda_bf16.h's type and the conversions common.cuh uses, bit for bit its host path: a float's
// upper half, rounded to nearest even; any NaN becomes the quiet 0x7fff, as cvt.rn.bf16.f32 does.
struct __nv_bfloat16 { unsigned short x; };
static inline float __bfloat162float(__nv_bfloat16 h) { return __uint_as_float((uint32_t) h.x << 16); }
static inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {0x7fff};
    uint32_t rest = u << 16, r = u >> 16;
    if (rest > 0x80000000u || (rest == 0x80000000u && (r & 1u))) r++;
    return {(unsigned short) r};
}

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
#include "fa.cu"

// ---- kernel table: name -> a call that unpacks kernelParams by the kernel's signature -------------
template <class... A, size_t... I>
static void unpack(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<A>*>(p[I])...);
}
template <class... A>
static void call(void (*f)(A...), void** p) { unpack(f, p, std::index_sequence_for<A...>{}); }

// the device blocks a launch touches: every pointer parameter, written unless it points to const
typedef std::vector<std::pair<uintptr_t, bool>> Uses;
template <class A>
static void use(void* slot, Uses& out) {
    typedef std::remove_cv_t<A> T;
    if constexpr (std::is_pointer_v<T>) out.push_back({(uintptr_t) *(void**) slot, !std::is_const_v<std::remove_pointer_t<T>>});
}
template <class... A, size_t... I>
static void usesOf(void (*)(A...), void** p, Uses& out, std::index_sequence<I...>) { (use<A>(p[I], out), ...); }
template <class... A>
static void uses(void (*f)(A...), void** p, Uses& out) { usesOf(f, p, out, std::index_sequence_for<A...>{}); }

struct Entry { void (*run)(void**); void (*uses)(void**, Uses&); bool sync; };
#define PLAIN(k) {#k, Entry{[](void** p) { call(k, p); }, [](void** p, Uses& u) { uses(k, p, u); }, false}}
#define SYNC(k) {#k, Entry{[](void** p) { call(k, p); }, [](void** p, Uses& u) { uses(k, p, u); }, true}}
static const std::map<std::string, Entry> KERNELS = {
    PLAIN(axpy), PLAIN(scale), PLAIN(multiply), SYNC(sum), SYNC(count_correct), PLAIN(leaky_relu_forward), PLAIN(leaky_relu_backward),
    PLAIN(bias_add), SYNC(bias_backward),
    SYNC(batch_norm_forward_train), PLAIN(batch_norm_forward_eval), SYNC(batch_norm_backward), SYNC(channel_sum),
    PLAIN(dropout_forward), PLAIN(dropout_backward),
    PLAIN(max_pool_forward), PLAIN(max_pool_backward), PLAIN(avg_pool_forward), PLAIN(avg_pool_backward),
    SYNC(cross_entropy_forward), PLAIN(cross_entropy_backward), SYNC(bce_with_logits_forward), PLAIN(bce_with_logits_backward),
    SYNC(mse_forward), PLAIN(mse_backward), SYNC(fa_bce_backward),
    SYNC(similarity_normalize), PLAIN(similarity_clamp), PLAIN(similarity_backward_gram), SYNC(similarity_backward_rows),
    SYNC(feature_map_std_forward), SYNC(feature_map_std_backward), PLAIN(adam_step), PLAIN(sgd_step),
    PLAIN(channel_affine), PLAIN(random_crop_flip), PLAIN(cutout), SYNC(gemm), PLAIN(im2col), PLAIN(col2im),
    // bf16 instantiations (common.cuh's naming rule) and the conversions between dtypes
    PLAIN(axpy_bf16), PLAIN(scale_bf16), PLAIN(multiply_bf16), SYNC(sum_bf16), SYNC(count_correct_bf16), PLAIN(leaky_relu_forward_bf16),
    PLAIN(leaky_relu_backward_bf16), PLAIN(bias_add_bf16), SYNC(bias_backward_bf16), PLAIN(convert_f32_bf16), PLAIN(convert_bf16_f32),
    SYNC(batch_norm_forward_train_bf16), PLAIN(batch_norm_forward_eval_bf16), SYNC(batch_norm_backward_bf16), SYNC(channel_sum_bf16),
    PLAIN(dropout_forward_bf16), PLAIN(dropout_backward_bf16),
    PLAIN(max_pool_forward_bf16), PLAIN(max_pool_backward_bf16), PLAIN(avg_pool_forward_bf16), PLAIN(avg_pool_backward_bf16),
    SYNC(cross_entropy_forward_bf16), PLAIN(cross_entropy_backward_bf16), SYNC(bce_with_logits_forward_bf16), PLAIN(bce_with_logits_backward_bf16),
    SYNC(mse_forward_bf16), PLAIN(mse_backward_bf16), SYNC(fa_bce_backward_bf16), SYNC(similarity_normalize_bf16), SYNC(similarity_backward_rows_bf16),
    SYNC(feature_map_std_forward_bf16), SYNC(feature_map_std_backward_bf16),
    PLAIN(channel_affine_bf16), PLAIN(random_crop_flip_bf16), PLAIN(cutout_bf16),
    SYNC(gemm_bf16), SYNC(gemm_bf16_f32), SYNC(gemm_f32_bf16), PLAIN(im2col_bf16), PLAIN(col2im_bf16),
};

// ---- the driver API that the runtime calls ------------------------------------------------------
typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum { OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_CONTEXT = 201, INVALID_PTX = 218, INVALID_HANDLE = 400, ILLEGAL_STATE = 401,
       NOT_FOUND = 500, ILLEGAL_ADDRESS = 700, LAUNCH_FAILED = 719, PEER_ACCESS_UNSUPPORTED = 217, PEER_ACCESS_ALREADY_ENABLED = 704 };
static const size_t TOTAL = 4ull << 30;
static size_t used;
static thread_local void* currentContext; // per host thread, as the driver's

// ---- several devices: contexts and peer access ------------------------------------------------------
static const int MAX_DEVICES = 8;
struct Context { int device; };
static Context contexts[MAX_DEVICES] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
static bool peerEnabled[MAX_DEVICES][MAX_DEVICES]; // [from][to]: from's context may copy to and from to's memory
static int deviceCount() {
    const char* n = getenv("EMU_DEVICES");
    int d = n == nullptr ? 1 : atoi(n);
    return d < 1 ? 1 : d > MAX_DEVICES ? MAX_DEVICES : d;
}
static int here() { return currentContext == nullptr ? 0 : ((Context*) currentContext)->device; } // the calling thread's device
static bool peersRefused() { const char* v = getenv("EMU_NO_PEER"); return v != nullptr && strcmp(v, "1") == 0; }

struct Function { std::string name; const Entry* entry; unsigned maxThreads; };
struct Module { std::map<std::string, unsigned> maxThreads; };

// ---- streams, events and the order check ----------------------------------------------------------
namespace order {
typedef std::map<int, long> Clock; // stream id -> how many of its ops are ordered before
struct Stream { int id; bool blocking; long pos = 0; Clock knows; int device = 0; };
struct Event { Clock clock; int stream = -1; int device = 0; };
struct Use { int stream = -1; long pos = 0; };
struct Block { size_t bytes; Use write; std::map<int, long> reads; int device = 0; };
static std::recursive_mutex lock; // the API is called from every pipeline stage's thread
static Stream legacies[MAX_DEVICES];
static Stream* legacyOf(int device) {
    Stream* l = &legacies[device];
    if (!l->blocking) *l = Stream{device == 0 ? 0 : 1000 + device, true, 0, {}, device};
    return l;
}
static std::map<void*, Stream*> streams;
static int nextStream = 1;
static Clock host; // what host-side synchronisation has seen finish: work issued later comes after it
static std::map<uintptr_t, Block> blocks;
static std::map<unsigned long, std::map<int, long>> launchesByThread; // host thread -> stream id -> launches
static long waits, crossWaits, hazards, peerCopies;
static int failStream = -1;
static long failAt = -1, launchesOnFailStream;

static void merge(Clock& a, const Clock& b) {
    for (auto& [k, v] : b) if (a[k] < v) a[k] = v;
}
static Stream* of(void* h) {
    if (h == nullptr) return legacyOf(here());
    auto it = streams.find(h);
    return it == streams.end() ? nullptr : it->second;
}
// queues one op on s: first what it is ordered after (the legacy stream and blocking streams wait for each other)
static long issue(Stream* s) {
    merge(s->knows, host);
    Stream* legacy = legacyOf(s->device);
    if (s == legacy) {
        for (auto& [h, t] : streams)
            if (t->blocking && t->device == s->device) {
                merge(s->knows, t->knows);
                if (s->knows[t->id] < t->pos) s->knows[t->id] = t->pos;
            }
    } else if (s->blocking) {
        merge(s->knows, legacy->knows);
        if (s->knows[legacy->id] < legacy->pos) s->knows[legacy->id] = legacy->pos;
    }
    s->knows[s->id] = ++s->pos;
    return s->pos;
}
static bool after(const Stream* s, int other, long pos) {
    if (other < 0 || other == s->id) return true;
    auto it = s->knows.find(other);
    return it != s->knows.end() && it->second >= pos;
}
static Block* blockAt(uintptr_t p) {
    auto it = blocks.upper_bound(p);
    if (it == blocks.begin()) return nullptr;
    --it;
    return p < it->first + it->second.bytes ? &it->second : nullptr;
}
static bool unordered(const char* op, const Stream* s, uintptr_t p, const char* how, int other) {
    hazards++;
    fprintf(stderr, "emulated driver: %s on stream %d touches device block %#lx, %s on stream %d, without waiting for it"
            " (no event wait or synchronisation orders them)\n", op, s->id, (unsigned long) p, how, other);
    return false;
}
// op (on s, its position p) reads or writes the block at address ptr: false if that races with another stream
static bool touch(const char* op, Stream* s, long p, uintptr_t ptr, bool write) {
    Block* b = blockAt(ptr);
    if (b == nullptr) return true; // not device memory (a null optional pointer)
    if (!after(s, b->write.stream, b->write.pos)) return unordered(op, s, ptr, "last written", b->write.stream);
    if (write) {
        for (auto& [r, q] : b->reads) if (!after(s, r, q)) return unordered(op, s, ptr, "still read", r);
        b->write = {s->id, p};
        b->reads.clear();
    } else if (b->reads[s->id] < p) {
        b->reads[s->id] = p;
    }
    return true;
}
static void syncAll() { // the current device's streams, as cuCtxSynchronize
    Stream* legacy = legacyOf(here());
    for (auto& [h, t] : streams) if (t->device == legacy->device) merge(host, t->knows);
    merge(host, legacy->knows);
}
// an op in the current device's context touches the block at ptr: false (and a line) if it is another device's
static bool onDevice(const char* op, uintptr_t ptr, int device) {
    Block* b = blockAt(ptr);
    if (b == nullptr || b->device == device) return true;
    hazards++;
    fprintf(stderr, "emulated driver: %s in device %d's context touches device %d's block %#lx\n", op, device, b->device, (unsigned long) ptr);
    return false;
}
static void syncStream(Stream* s) {
    merge(host, s->knows);
    if (host[s->id] < s->pos) host[s->id] = s->pos;
}
}  // namespace order
#define LOCKED std::lock_guard<std::recursive_mutex> locked(order::lock)

#define API extern "C" __attribute__((visibility("default")))
API CUresult cuInit(unsigned) { return OK; }
API CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
API CUresult cuDeviceGetCount(int* n) { *n = deviceCount(); return OK; }
API CUresult cuDeviceGet(int* d, int ordinal) {
    *d = ordinal;
    return ordinal >= 0 && ordinal < deviceCount() ? OK : 101;
}
API CUresult cuDeviceGetName(char* name, int len, int) { snprintf(name, (size_t) len, "Emulated GPU"); return OK; }
API CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = TOTAL; return OK; }
// compute capability 9.0; EMU_OLD_DEVICE=k makes device k a 7.0 (no TF32/bf16 tensor cores)
API CUresult cuDeviceGetAttribute(int* v, int attribute, int device) {
    const char* old = getenv("EMU_OLD_DEVICE");
    *v = attribute == 75 ? (old != nullptr && atoi(old) == device ? 7 : 9) : 0;
    return OK;
}
API CUresult cuDevicePrimaryCtxRetain(void** ctx, int device) {
    if (device < 0 || device >= deviceCount()) return 101;
    *ctx = &contexts[device];
    return OK;
}
API CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
API CUresult cuCtxSetCurrent(void* ctx) { currentContext = ctx; return OK; }
API CUresult cuCtxGetCurrent(void** ctx) { *ctx = currentContext; return OK; }
API CUresult cuCtxSynchronize(void) {
    LOCKED;
    order::syncAll();
    return OK;
}
API CUresult cuGetErrorString(CUresult, const char** s) { *s = "emulated"; return OK; }
API CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
    LOCKED;
    if (n == 0) return INVALID_VALUE;
    if (n > TOTAL - used) return OUT_OF_MEMORY;
    size_t* b = (size_t*) aligned_alloc(256, 256 + (n + 255) / 256 * 256);
    b[0] = n;
    used += n;
    // uninitialised device memory is rarely zero: NaN bits catch a kernel that reads before writing
    memset((char*) b + 256, 0xFF, (n + 255) / 256 * 256);
    *p = (CUdeviceptr) ((char*) b + 256);
    order::blocks[(uintptr_t) *p] = order::Block{n, {}, {}, here()};
    return OK;
}
API CUresult cuMemFree_v2(CUdeviceptr p) {
    LOCKED;
    order::blocks.erase((uintptr_t) p);
    size_t* b = (size_t*) ((char*) p - 256);
    used -= b[0];
    free(b);
    return OK;
}
API CUresult cuMemGetInfo_v2(size_t* freeBytes, size_t* total) { *freeBytes = TOTAL - used; *total = TOTAL; return OK; }
// a copy or fill queued on stream h: checked against the other streams, then done at once
static CUresult copyOn(void* h, const char* op, uintptr_t src, uintptr_t dst) {
    order::Stream* s = order::of(h);
    if (s == nullptr || s->device != here()) return INVALID_HANDLE;
    if ((src != 0 && !order::onDevice(op, src, here())) || (dst != 0 && !order::onDevice(op, dst, here()))) return ILLEGAL_ADDRESS;
    long p = order::issue(s);
    if ((src != 0 && !order::touch(op, s, p, src, false)) || (dst != 0 && !order::touch(op, s, p, dst, true))) return ILLEGAL_STATE;
    return OK;
}
API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
    LOCKED;
    CUresult r = copyOn(nullptr, "cuMemcpyHtoD", 0, dst);
    if (r != OK) return r;
    memcpy((void*) dst, src, n);
    order::syncStream(order::of(nullptr)); // returns when the copy is done
    return OK;
}
API CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
    LOCKED;
    CUresult r = copyOn(nullptr, "cuMemcpyDtoH", src, 0);
    if (r != OK) return r;
    memcpy(dst, (void*) src, n);
    order::syncStream(order::of(nullptr));
    return OK;
}
API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void* h) {
    LOCKED;
    CUresult r = copyOn(h, "cuMemcpyHtoDAsync", 0, dst);
    if (r == OK) memcpy((void*) dst, src, n);
    return r;
}
API CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void* h) {
    LOCKED;
    CUresult r = copyOn(h, "cuMemcpyDtoHAsync", src, 0);
    if (r == OK) memcpy(dst, (void*) src, n);
    return r;
}
API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void* h) {
    LOCKED;
    CUresult r = copyOn(h, "cuMemcpyDtoDAsync", src, dst);
    if (r == OK) memcpy((void*) dst, (void*) src, n);
    return r;
}
API CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t n, void* h) {
    LOCKED;
    CUresult r = copyOn(h, "cuMemsetD32Async", 0, dst);
    if (r != OK) return r;
    for (size_t i = 0; i < n; i++) ((unsigned*) dst)[i] = value;
    return OK;
}
API CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t n, void* h) {
    LOCKED;
    CUresult r = copyOn(h, "cuMemsetD16Async", 0, dst);
    if (r != OK) return r;
    for (size_t i = 0; i < n; i++) ((unsigned short*) dst)[i] = value;
    return OK;
}
API CUresult cuMemAllocHost_v2(void** p, size_t n) {
    *p = aligned_alloc(256, (n + 255) / 256 * 256);
    return *p == nullptr ? OUT_OF_MEMORY : OK;
}
API CUresult cuMemFreeHost(void* p) {
    free(p);
    return OK;
}
// ---- several devices: peer access and peer copies ------------------------------------------------------
API CUresult cuDeviceCanAccessPeer(int* can, int device, int peer) {
    if (device < 0 || device >= deviceCount() || peer < 0 || peer >= deviceCount()) return 101;
    *can = device != peer && !peersRefused();
    return OK;
}
API CUresult cuCtxEnablePeerAccess(void* peerContext, unsigned) {
    LOCKED;
    int from = here(), to = ((Context*) peerContext)->device;
    if (from == to || peersRefused()) return PEER_ACCESS_UNSUPPORTED;
    if (peerEnabled[from][to]) return PEER_ACCESS_ALREADY_ENABLED;
    peerEnabled[from][to] = true;
    return OK;
}
// queued on stream h of the current context; the other side's device must be a peer the current context enabled
API CUresult cuMemcpyPeerAsync(CUdeviceptr dst, void* dstContext, CUdeviceptr src, void* srcContext, size_t n, void* h) {
    LOCKED;
    order::Stream* s = order::of(h);
    if (s == nullptr || s->device != here() || dstContext == nullptr || srcContext == nullptr) return INVALID_HANDLE;
    int dd = ((Context*) dstContext)->device, sd = ((Context*) srcContext)->device;
    for (int other : {dd, sd})
        if (other != here() && !peerEnabled[here()][other]) {
            order::hazards++;
            fprintf(stderr, "emulated driver: cuMemcpyPeerAsync in device %d's context reaches device %d without peer access enabled\n", here(), other);
            return ILLEGAL_ADDRESS;
        }
    if (!order::onDevice("cuMemcpyPeerAsync (source)", src, sd) || !order::onDevice("cuMemcpyPeerAsync (destination)", dst, dd)) return ILLEGAL_ADDRESS;
    long p = order::issue(s);
    if (!order::touch("cuMemcpyPeerAsync", s, p, src, false) || !order::touch("cuMemcpyPeerAsync", s, p, dst, true)) return ILLEGAL_STATE;
    memcpy((void*) dst, (void*) src, n);
    order::peerCopies++;
    return OK;
}

// streams: flags 0 is a blocking stream (ordered with the legacy stream), 1 (CU_STREAM_NON_BLOCKING) is not
API CUresult cuStreamCreate(void** h, unsigned flags) {
    LOCKED;
    order::Stream* s = new order::Stream{order::nextStream++, (flags & 1) == 0, 0, {}, here()};
    *h = s;
    order::streams[s] = s;
    return OK;
}
API CUresult cuStreamDestroy_v2(void* h) {
    LOCKED;
    order::Stream* s = order::of(h);
    if (s == nullptr || h == nullptr) return INVALID_HANDLE;
    order::streams.erase(h);
    delete s;
    return OK;
}
API CUresult cuStreamDestroy(void* h) { return cuStreamDestroy_v2(h); }
API CUresult cuStreamSynchronize(void* h) {
    LOCKED;
    order::Stream* s = order::of(h);
    if (s == nullptr) return INVALID_HANDLE;
    if (h == nullptr) order::syncAll();
    else order::syncStream(s);
    return OK;
}
API CUresult cuEventCreate(void** e, unsigned) {
    order::Event* ev = new order::Event();
    ev->device = here();
    *e = ev;
    return OK;
}
API CUresult cuEventDestroy_v2(void* e) {
    LOCKED;
    delete (order::Event*) e;
    return OK;
}
API CUresult cuEventDestroy(void* e) { return cuEventDestroy_v2(e); }
API CUresult cuEventRecord(void* e, void* h) {
    LOCKED;
    order::Stream* s = order::of(h);
    if (s == nullptr || e == nullptr || ((order::Event*) e)->device != s->device) return INVALID_HANDLE; // one context for both, as the driver wants
    order::issue(s);
    ((order::Event*) e)->clock = s->knows;
    ((order::Event*) e)->stream = s->id;
    return OK;
}
API CUresult cuStreamWaitEvent(void* h, void* e, unsigned) {
    LOCKED;
    order::Stream* s = order::of(h);
    if (s == nullptr || e == nullptr) return INVALID_HANDLE;
    order::Event* ev = (order::Event*) e;
    order::merge(s->knows, ev->clock);
    order::waits++;
    if (ev->stream != s->id) order::crossWaits++;
    return OK;
}
API CUresult cuEventQuery(void* e) { // done at once: the host now knows what it marks is finished
    LOCKED;
    order::merge(order::host, ((order::Event*) e)->clock);
    return OK;
}
API CUresult cuEventSynchronize(void* e) { return cuEventQuery(e); }
// starts the counts of emu_report afresh
API void emu_reset_report(void) {
    LOCKED;
    order::waits = order::crossWaits = order::hazards = order::peerCopies = 0;
    order::launchesByThread.clear();
}
// "waits=W cross_waits=C hazards=H peer_copies=P" then, per host thread that launched kernels, " | stream:launches ..."
API int emu_report(char* buf, int len) {
    LOCKED;
    int n = snprintf(buf, (size_t) len, "waits=%ld cross_waits=%ld hazards=%ld peer_copies=%ld", order::waits, order::crossWaits, order::hazards,
                     order::peerCopies);
    for (auto& [thread, perStream] : order::launchesByThread) {
        n += snprintf(buf + n, (size_t) (len > n ? len - n : 0), " |");
        for (auto& [stream, count] : perStream) n += snprintf(buf + n, (size_t) (len > n ? len - n : 0), " %d:%ld", stream, count);
    }
    return n;
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
                            unsigned shared, void* h, void** kernelParams, void**) {
    LOCKED;
    Function* f = (Function*) fp;
    order::Stream* s = order::of(h);
    if (s == nullptr || s->device != here()) return INVALID_HANDLE;
    unsigned threads = bx * by * bz;
    if (threads == 0 || threads > 1024 || gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) return INVALID_VALUE;
    if (f->maxThreads != 0 && threads > f->maxThreads) return INVALID_VALUE;
    if (f->entry->sync && threads % 32 != 0) return INVALID_VALUE; // our reductions need whole warps
    if (order::failStream < 0) {
        const char* fail = getenv("EMU_FAIL_LAUNCH");
        order::failStream = 0;
        if (fail != nullptr && sscanf(fail, "%d:%ld", &order::failStream, &order::failAt) != 2) order::failStream = 0;
    }
    order::launchesByThread[(unsigned long) pthread_self()][s->id]++;
    long p = order::issue(s);
    if (s->id == order::failStream && ++order::launchesOnFailStream == order::failAt) {
        order::failStream = 0; // once
        fprintf(stderr, "emulated driver: EMU_FAIL_LAUNCH fails launch %ld of stream %d (%s)\n", order::failAt, s->id, f->name.c_str());
        return LAUNCH_FAILED;
    }
    Uses touched;
    f->entry->uses(kernelParams, touched);
    for (auto& [ptr, write] : touched)
        if (!order::onDevice(f->name.c_str(), ptr, s->device)) return ILLEGAL_ADDRESS;
    for (auto& [ptr, write] : touched)
        if (!order::touch(f->name.c_str(), s, p, ptr, write)) return ILLEGAL_STATE;
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
