// g++ host emulation of the few CUDA features our kernels use: one std::thread per CUDA thread.
#pragma once
#include <cstdint>
#include <cmath>
#include <thread>
#include <barrier>
#include <vector>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <cstring>
using std::isnan; using std::min; using std::max;
struct uint3_ { unsigned x = 0, y = 0, z = 0; };
struct uint4 { uint32_t x, y, z, w; };
inline uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {a, b, c, d}; }
inline thread_local uint3_ threadIdx, blockIdx;
inline uint3_ blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(x)
inline std::barrier<>* g_bar;
inline std::vector<std::unique_ptr<std::barrier<>>> g_warp;
inline float g_wbuf[32][32];
inline void __syncthreads() { g_bar->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned, float v, int o) {
    int w = threadIdx.x / 32, l = threadIdx.x % 32;
    g_wbuf[w][l] = v;
    g_warp[w]->arrive_and_wait();
    float r = g_wbuf[w][l ^ o];
    g_warp[w]->arrive_and_wait();
    return r;
}
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
template <class F> void launch(unsigned gx, unsigned gy, unsigned gz, unsigned bx, F f) {
    blockDim = {bx, 1, 1};
    gridDim = {gx, gy, gz};
    for (unsigned z = 0; z < gz; z++) for (unsigned y = 0; y < gy; y++) for (unsigned x = 0; x < gx; x++) {
        std::barrier<> bar(bx);
        g_bar = &bar;
        g_warp.clear();
        for (unsigned w = 0; w < bx / 32; w++) g_warp.emplace_back(new std::barrier<>(32));
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < bx; t++) ts.emplace_back([&, t, x, y, z] { threadIdx = {t, 0, 0}; blockIdx = {x, y, z}; f(); });
        for (auto& th : ts) th.join();
    }
}
