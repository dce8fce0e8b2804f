/* port_bf16.h: bf16 rounding in plain fp32 integer arithmetic, for vendors
 * (or targets) without a conversion instruction. Same rule as common.h on the
 * host: round to nearest even, NaN stays a quiet NaN. */
#ifndef GETP_PORT_BF16_H
#define GETP_PORT_BF16_H

__device__ __forceinline__ uint32_t port_f32_to_bf16_bits(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u; // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return u >> 16;
}

__device__ __forceinline__ uint32_t port_pack_bf16x2_soft(float lo, float hi) {
    return port_f32_to_bf16_bits(lo) | (port_f32_to_bf16_bits(hi) << 16);
}

#endif
