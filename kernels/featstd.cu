// Feature-map standard deviation (Backend family "featstd"): y (B, C) = unbiased std over the
// inner = H*W elements of each map of x (B, C, inner), like torch.std, and its backward
// dx = dy (x - mean) / ((inner - 1) y), 0 where y is 0.
//
// Thread mapping: one warp per (b, c) map, 8 maps per 256-thread block; the warp strides over the
// map (two passes: mean, then squared deviations) and reduces with shuffles. Maps are small
// (inner up to a few thousand), so a warp per map keeps every lane busy without a block barrier.
// x and dx have the activations' storage type T (common.cuh); y and dy are float.
#include "common.cuh"

template <class T> __device__ __forceinline__ float map_mean(const T* m, int inner, int lane) {
    float s = 0.0f;
    for (int j = lane; j < inner; j += 32) s += ld(m, j);
    return warp_sum(s) / inner;
}

template <class T> __device__ __forceinline__ void feature_map_std_forward_body(const T* __restrict__ x, float* __restrict__ y, int maps, int inner) {
    int lane = threadIdx.x & 31;
    int map = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (map >= maps) return;
    const T* m = x + (long long) map * inner;
    float mean = map_mean(m, inner, lane);
    float q = 0.0f;
    for (int j = lane; j < inner; j += 32) {
        float d = ld(m, j) - mean;
        q += d * d;
    }
    q = warp_sum(q);
    // inner = 1 gives 0/0 = NaN, as torch.std of a single value
    if (lane == 0) y[map] = sqrtf(q / (inner - 1));
}
extern "C" __global__ void feature_map_std_forward(const float* __restrict__ x, float* __restrict__ y, int maps, int inner) {
    feature_map_std_forward_body(x, y, maps, inner);
}
extern "C" __global__ void feature_map_std_forward_bf16(const bf16* __restrict__ x, float* __restrict__ y, int maps, int inner) {
    feature_map_std_forward_body(x, y, maps, inner);
}

template <class T>
__device__ __forceinline__ void feature_map_std_backward_body(const T* __restrict__ x, const float* __restrict__ y,
                                                              const float* __restrict__ dy, T* __restrict__ dx, int maps, int inner) {
    int lane = threadIdx.x & 31;
    int map = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (map >= maps) return;
    const T* m = x + (long long) map * inner;
    T* d = dx + (long long) map * inner;
    float sd = y[map];
    if (sd == 0.0f) {
        for (int j = lane; j < inner; j += 32) st(d, j, 0.0f);
        return;
    }
    float mean = map_mean(m, inner, lane);
    float f = dy[map] / ((inner - 1) * sd);
    for (int j = lane; j < inner; j += 32) st(d, j, f * (ld(m, j) - mean));
}
extern "C" __global__ void feature_map_std_backward(const float* __restrict__ x, const float* __restrict__ y,
                                                    const float* __restrict__ dy, float* __restrict__ dx, int maps, int inner) {
    feature_map_std_backward_body(x, y, dy, dx, maps, inner);
}
extern "C" __global__ void feature_map_std_backward_bf16(const bf16* __restrict__ x, const float* __restrict__ y,
                                                         const float* __restrict__ dy, bf16* __restrict__ dx, int maps, int inner) {
    feature_map_std_backward_body(x, y, dy, dx, maps, inner);
}
