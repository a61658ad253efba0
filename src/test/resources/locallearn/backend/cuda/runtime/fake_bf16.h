/* bfloat16 for the stand-in libraries (fake_cublas.c, fake_cudnn.c), bit for bit as DType: widening is exact, rounding
 * is to nearest, ties to even, NaN stays a quiet NaN (0x7fff). */
#ifndef FAKE_BF16_H
#define FAKE_BF16_H
#include <stdint.h>
#include <string.h>

static float widen(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t round_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fff;
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
#endif
