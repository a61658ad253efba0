// Data augmentation and normalisation on the device (Backend family "augment"), so a batch goes
// to the GPU once as raw pixels. The random numbers are Philox uniforms with the exact index use of
// Backend.java (image b: crop/flip from indices 3b, 3b+1, 3b+2; its cutout hole k from 2(b*holes+k), +1), so the GPU
// produces the same images as the CPU for one seed. Products that pick a pixel are single float
// multiplies rounded like Java's (__fmul_rn keeps nvcc from fusing them), so they agree bit for bit.
//
// Thread mapping: a grid-stride loop over the elements of x (B, C, H, W); each thread recomputes
// the uniforms of its image (a few Philox blocks, cheaper than a round trip through memory).
// Images have the activations' storage type T (common.cuh); scale and shift are float.
#include "common.cuh"

// x (B, C, inner) = x * scale[c] + shift[c] (x * scale[c] when shift is null), in place; multiply then add,
// rounded separately as in Java.
template <class T>
__device__ __forceinline__ void channel_affine_body(T* x, const float* __restrict__ scale, const float* __restrict__ shift, int B, int C, int inner) {
    int n = B * C * inner;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int c = (i / inner) % C;
        float v = __fmul_rn(ld(x, i), scale[c]);
        st(x, i, shift ? __fadd_rn(v, shift[c]) : v);
    }
}
extern "C" __global__ void channel_affine(float* x, const float* __restrict__ scale, const float* __restrict__ shift, int B, int C, int inner) {
    channel_affine_body(x, scale, shift, B, C, inner);
}
extern "C" __global__ void channel_affine_bf16(bf16* x, const float* __restrict__ scale, const float* __restrict__ shift, int B, int C, int inner) {
    channel_affine_body(x, scale, shift, B, C, inner);
}

// y[b, c, i, j] = x[b, c, i + dy, jj + dx] (0 outside), jj = flip ? W-1-j : j.
template <class T>
__device__ __forceinline__ void random_crop_flip_body(const T* __restrict__ x, T* __restrict__ y, int B, int C, int H, int W,
                                                      int pad, int flip, long long seed, long long stream) {
    int n = B * C * H * W;
    float span = (float) (2 * pad + 1);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int j = i % W, r = (i / W) % H, b = i / (W * H * C);
        uint64_t base = 3ull * (uint64_t) b;
        int dy = (int) floorf(__fmul_rn(philox_uniform(seed, stream, base), span)) - pad;
        int dx = (int) floorf(__fmul_rn(philox_uniform(seed, stream, base + 1), span)) - pad;
        bool f = flip && philox_uniform(seed, stream, base + 2) < 0.5f;
        int jj = f ? W - 1 - j : j;
        int si = r + dy, sj = jj + dx;
        long long plane = (long long) (i / (W * H)) * H * W;
        if (si >= 0 && si < H && sj >= 0 && sj < W) y[i] = x[plane + (long long) si * W + sj];
        else st(y, i, 0.0f);
    }
}
#define CROP_PARAMS(T) const T* __restrict__ x, T* __restrict__ y, int B, int C, int H, int W, int pad, int flip, long long seed, long long stream
extern "C" __global__ void random_crop_flip(CROP_PARAMS(float)) { random_crop_flip_body(x, y, B, C, H, W, pad, flip, seed, stream); }
extern "C" __global__ void random_crop_flip_bf16(CROP_PARAMS(bf16)) { random_crop_flip_body(x, y, B, C, H, W, pad, flip, seed, stream); }

// `holes` square holes of side `length` per image (they may overlap), hole k's centre
// (floor(u0 H), floor(u1 W)) from uniforms 2(b*holes+k) and +1, rows and columns
// centre - length/2 .. centre + length/2 - 1 clipped at the borders, set to 0 in every channel.
// Each thread tests its pixel against every hole of its image.
template <class T>
__device__ __forceinline__ void cutout_body(T* x, int B, int C, int H, int W, int length, int holes, long long seed, long long stream) {
    int n = B * C * H * W;
    int half = length / 2;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        int j = i % W, r = (i / W) % H, b = i / (W * H * C);
        for (int k = 0; k < holes; k++) {
            uint64_t base = 2ull * ((uint64_t) b * (uint64_t) holes + (uint64_t) k);
            int cy = (int) floorf(__fmul_rn(philox_uniform(seed, stream, base), (float) H));
            int cx = (int) floorf(__fmul_rn(philox_uniform(seed, stream, base + 1), (float) W));
            if (r >= cy - half && r < cy + half && j >= cx - half && j < cx + half) {
                st(x, i, 0.0f);
                break;
            }
        }
    }
}
extern "C" __global__ void cutout(float* x, int B, int C, int H, int W, int length, int holes, long long seed, long long stream) {
    cutout_body(x, B, C, H, W, length, holes, seed, stream);
}
extern "C" __global__ void cutout_bf16(bf16* x, int B, int C, int H, int W, int length, int holes, long long seed, long long stream) {
    cutout_body(x, B, C, H, W, length, holes, seed, stream);
}
