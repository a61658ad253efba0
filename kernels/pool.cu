// Max and average pooling over x (B, C, H, W) with PoolGeom semantics (Backend family "pool"):
// kernel kh x kw, stride sh x sw, zero padding ph x pw, floor mode; average pooling divides by
// kh * kw (count_include_pad: with floor mode and pad <= k/2 a window never leaves the padded
// input, so every window has kh * kw slots). Max pooling ignores padding and takes the FIRST
// maximum in row-major window order, like the CPU twin.
//
// Thread mapping:
//   forward: one thread per output element (grid-stride), looping over its window.
//   backward: one thread per INPUT element (grid-stride), gathering from every output window that
//     covers it, so dx is overwritten without atomics and deterministically. Max pooling recomputes
//     each covering window's argmax from x to know whether this element received the gradient.
//     Windows are visited in the CPU twin's order (output rows, then columns), so the sums match it.
// Each kernel is a body over the storage type T of its tensors (common.cuh); a max pool stores a
// value it loaded, so on bf16 it is exact.
#include "common.cuh"

#define POOL_ARGS int B, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int oH, int oW

// Index in the plane of the first maximum of output window (oh, ow); -1 if the window holds only padding.
template <class T>
__device__ __forceinline__ int window_argmax(const T* plane, int H, int W, int kh, int kw, int sh, int sw,
                                             int ph, int pw, int oh, int ow) {
    int best = -1;
    float bestv = -INFINITY;
    int h0 = oh * sh - ph, w0 = ow * sw - pw;
    for (int r = 0; r < kh; r++) {
        int h = h0 + r;
        if (h < 0 || h >= H) continue;
        for (int s = 0; s < kw; s++) {
            int w = w0 + s;
            if (w < 0 || w >= W) continue;
            float v = ld(plane, h * W + w);
            // NaN wins, as in PyTorch and the CPU twin
            if (best < 0 || v > bestv || (isnan(v) && !isnan(bestv))) { bestv = v; best = h * W + w; }
        }
    }
    return best;
}

#define POOL_GEOM B, C, H, W, kh, kw, sh, sw, ph, pw, oH, oW

template <class T> __device__ __forceinline__ void max_pool_forward_body(const T* __restrict__ x, T* __restrict__ y, POOL_ARGS) {
    int n = B * C * oH * oW;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int ow = i % oW, oh = (i / oW) % oH, bc = i / (oW * oH);
        const T* plane = x + (long long) bc * H * W;
        int a = window_argmax(plane, H, W, kh, kw, sh, sw, ph, pw, oh, ow);
        st(y, i, a < 0 ? -INFINITY : ld(plane, a));
    }
}
extern "C" __global__ void max_pool_forward(const float* __restrict__ x, float* __restrict__ y, POOL_ARGS) { max_pool_forward_body(x, y, POOL_GEOM); }
extern "C" __global__ void max_pool_forward_bf16(const bf16* __restrict__ x, bf16* __restrict__ y, POOL_ARGS) { max_pool_forward_body(x, y, POOL_GEOM); }

// Output rows (or columns) whose window covers input position h: lo..hi inclusive.
__device__ __forceinline__ void covering(int h, int k, int s, int p, int o, int* lo, int* hi) {
    int top = h + p;                     // position in padded coordinates
    int first = top - k + 1;
    *lo = first <= 0 ? 0 : (first + s - 1) / s;
    *hi = min(top / s, o - 1);
}

template <class T>
__device__ __forceinline__ void max_pool_backward_body(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dx, POOL_ARGS) {
    int n = B * C * H * W;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int w = i % W, h = (i / W) % H, bc = i / (W * H);
        const T* plane = x + (long long) bc * H * W;
        const T* g = dy + (long long) bc * oH * oW;
        int ohLo, ohHi, owLo, owHi;
        covering(h, kh, sh, ph, oH, &ohLo, &ohHi);
        covering(w, kw, sw, pw, oW, &owLo, &owHi);
        float s = 0.0f;
        for (int oh = ohLo; oh <= ohHi; oh++)
            for (int ow = owLo; ow <= owHi; ow++)
                if (window_argmax(plane, H, W, kh, kw, sh, sw, ph, pw, oh, ow) == h * W + w) s += ld(g, oh * oW + ow);
        st(dx, i, s);
    }
}
extern "C" __global__ void max_pool_backward(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dx, POOL_ARGS) {
    max_pool_backward_body(x, dy, dx, POOL_GEOM);
}
extern "C" __global__ void max_pool_backward_bf16(const bf16* __restrict__ x, const bf16* __restrict__ dy, bf16* __restrict__ dx, POOL_ARGS) {
    max_pool_backward_body(x, dy, dx, POOL_GEOM);
}

template <class T> __device__ __forceinline__ void avg_pool_forward_body(const T* __restrict__ x, T* __restrict__ y, POOL_ARGS) {
    int n = B * C * oH * oW;
    float inv = 1.0f / (kh * kw);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int ow = i % oW, oh = (i / oW) % oH, bc = i / (oW * oH);
        const T* plane = x + (long long) bc * H * W;
        int h0 = oh * sh - ph, w0 = ow * sw - pw;
        float s = 0.0f;
        for (int r = 0; r < kh; r++) {
            int hh = h0 + r;
            if (hh < 0 || hh >= H) continue;
            for (int c = 0; c < kw; c++) {
                int ww = w0 + c;
                if (ww >= 0 && ww < W) s += ld(plane, hh * W + ww);
            }
        }
        st(y, i, s * inv);
    }
}
extern "C" __global__ void avg_pool_forward(const float* __restrict__ x, float* __restrict__ y, POOL_ARGS) { avg_pool_forward_body(x, y, POOL_GEOM); }
extern "C" __global__ void avg_pool_forward_bf16(const bf16* __restrict__ x, bf16* __restrict__ y, POOL_ARGS) { avg_pool_forward_body(x, y, POOL_GEOM); }

template <class T> __device__ __forceinline__ void avg_pool_backward_body(const T* __restrict__ dy, T* __restrict__ dx, POOL_ARGS) {
    int n = B * C * H * W;
    float inv = 1.0f / (kh * kw);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int w = i % W, h = (i / W) % H, bc = i / (W * H);
        const T* g = dy + (long long) bc * oH * oW;
        int ohLo, ohHi, owLo, owHi;
        covering(h, kh, sh, ph, oH, &ohLo, &ohHi);
        covering(w, kw, sw, pw, oW, &owLo, &owHi);
        float s = 0.0f;
        for (int oh = ohLo; oh <= ohHi; oh++)
            for (int ow = owLo; ow <= owHi; ow++) s += __fmul_rn(ld(g, oh * oW + ow), inv);
        st(dx, i, s);
    }
}
extern "C" __global__ void avg_pool_backward(const float* __restrict__ dy, float* __restrict__ dx, POOL_ARGS) { avg_pool_backward_body(dy, dx, POOL_GEOM); }
extern "C" __global__ void avg_pool_backward_bf16(const bf16* __restrict__ dy, bf16* __restrict__ dx, POOL_ARGS) { avg_pool_backward_body(dy, dx, POOL_GEOM); }
