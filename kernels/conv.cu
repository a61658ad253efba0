// Fallback convolution (Backend family "conv") for machines where cuDNN cannot be loaded, or when
// the selftest asks for our own kernels: im2col / col2im around the gemm. For a chunk of nb images,
// col (nb, C*kh*kw, oH*oW) holds, for each output position, the input patch it sees, so
//   forward:         y[b] (K, P) = w (K, CKK) col[b]            (one strided-batched gemm, A shared)
//   backward-data:   dcol[b] (CKK, P) = w^T dy[b], then col2im   (one strided-batched gemm)
//   backward-filter: dw (K, CKK) (+)= sum_b dy[b] col[b]^T        (one gemm per image, beta = 1)
// with P = oH*oW and CKK = C*kh*kw; the Java side sizes the chunks so col stays small.
//
// Thread mapping:
//   im2col: a grid-stride loop over col elements (reads follow the output position, so a warp
//     reads one input row, nearly contiguous for stride 1).
//   col2im: a grid-stride loop over INPUT elements, each gathering the kh*kw column entries that
//     came from it: dx is overwritten, deterministically, without atomics.
// Precision: im2col copies x's storage type into col (a bf16 col is exact and half the bytes);
// dcol is always float, the gemm's float sums, so col2im rounds dx once, as the CPU twin does.
#include "common.cuh"

// col[b, (c kh + r) kw + s, oh oW + ow] = x[b, c, oh stride - pad + r, ow stride - pad + s] (0 in the padding)
template <class T>
__device__ __forceinline__ void im2col_body(const T* __restrict__ x, T* __restrict__ col, int nb, int C, int H, int W,
                                            int kh, int kw, int stride, int pad, int oH, int oW) {
    int P = oH * oW, ckk = C * kh * kw;
    long long n = (long long) nb * ckk * P;
    for (long long e = blockIdx.x * (long long) blockDim.x + threadIdx.x; e < n; e += (long long) blockDim.x * gridDim.x) {
        int p = (int) (e % P);
        long long rest = e / P;
        int q = (int) (rest % ckk);
        int b = (int) (rest / ckk);
        int s = q % kw, r = (q / kw) % kh, c = q / (kw * kh);
        int oh = p / oW, ow = p - oh * oW;
        int h = oh * stride - pad + r, w = ow * stride - pad + s;
        if (h >= 0 && h < H && w >= 0 && w < W) col[e] = x[(((long long) b * C + c) * H + h) * W + w];
        else st(col, e, 0.0f);
    }
}

#define CONV_GEOM int nb, int C, int H, int W, int kh, int kw, int stride, int pad, int oH, int oW
#define CONV_GEOM_ARGS nb, C, H, W, kh, kw, stride, pad, oH, oW
extern "C" __global__ void im2col(const float* __restrict__ x, float* __restrict__ col, CONV_GEOM) { im2col_body(x, col, CONV_GEOM_ARGS); }
extern "C" __global__ void im2col_bf16(const bf16* __restrict__ x, bf16* __restrict__ col, CONV_GEOM) { im2col_body(x, col, CONV_GEOM_ARGS); }

// dx[b, c, h, w] = sum over (r, s) with (h + pad - r) and (w + pad - s) on the stride grid of
// dcol[b, (c kh + r) kw + s, oh oW + ow].
template <class T>
__device__ __forceinline__ void col2im_body(const float* __restrict__ dcol, T* __restrict__ dx, int nb, int C, int H, int W,
                                            int kh, int kw, int stride, int pad, int oH, int oW) {
    int P = oH * oW, ckk = C * kh * kw;
    long long n = (long long) nb * C * H * W;
    for (long long e = blockIdx.x * (long long) blockDim.x + threadIdx.x; e < n; e += (long long) blockDim.x * gridDim.x) {
        int w = (int) (e % W), h = (int) ((e / W) % H);
        long long bc = e / ((long long) W * H);
        int c = (int) (bc % C), b = (int) (bc / C);
        const float* base = dcol + (long long) b * ckk * P;
        float sum = 0.0f;
        for (int r = 0; r < kh; r++) {
            int th = h + pad - r;
            if (th < 0 || th % stride != 0) continue;
            int oh = th / stride;
            if (oh >= oH) continue;
            for (int s = 0; s < kw; s++) {
                int tw = w + pad - s;
                if (tw < 0 || tw % stride != 0) continue;
                int ow = tw / stride;
                if (ow >= oW) continue;
                sum += base[(long long) ((c * kh + r) * kw + s) * P + oh * oW + ow];
            }
        }
        st(dx, e, sum);
    }
}
extern "C" __global__ void col2im(const float* __restrict__ dcol, float* __restrict__ dx, CONV_GEOM) { col2im_body(dcol, dx, CONV_GEOM_ARGS); }
extern "C" __global__ void col2im_bf16(const float* __restrict__ dcol, bf16* __restrict__ dx, CONV_GEOM) { col2im_body(dcol, dx, CONV_GEOM_ARGS); }
