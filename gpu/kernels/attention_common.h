/* attention_common.h: the shape constants the attention kernels share
 * (attention.hip, attention_mma.hip), and the kernel choice by name (the
 * self-test runs every kernel the dispatcher can pick, in every build). */
#ifndef GETP_ATTENTION_COMMON_H
#define GETP_ATTENTION_COMMON_H

#include "kernels.h"  // AttnArgs, KvLayer
#include "gpu_util.h" // bf16 <-> f32, group reductions

#define ATT_HD 64                         // head_dim this kernel is written for
#define ATT_TILE 32                       // positions per tile
#define ATT_TPH ATT_TILE                  // threads per query head: one score each per tile
#define ATT_DPT (ATT_HD / ATT_TPH)        // output dims per thread (2)
static_assert(ATT_TPH <= GETP_WAVE && GETP_WAVE % ATT_TPH == 0, "a head's lanes sit in one wave");
static_assert(ATT_DPT == 2, "the output loop below handles two dims per thread");

/* The attention kernels attention_f32q_bf16kv() chooses from, in its order:
 * the vendor extra (extras.h; none outside the fast NVIDIA build), the tile
 * kernel (flash decoding over the port's matrix tile, up to 8 query heads per
 * KV head, bf16 mode), the scalar kernel (any shape, precise mode). */
enum { ATT_AUTO = 0, ATT_EXTRA, ATT_TILED, ATT_SCALAR };
/* Runs kernel `which` (ATT_AUTO: the dispatcher's choice); false if that kernel
 * declines the shape (nothing launched). */
bool attention_f32q_bf16kv_by(const AttnArgs *a, int which, hipStream_t stream);

/* x = hi + lo, both bf16 pairs: hi = bf16(x), lo = bf16(x - hi). */
__device__ __forceinline__ void att_split2(float x0, float x1, uint32_t *hi, uint32_t *lo) {
    *hi = port_pack_bf16x2(x0, x1);
    const float r0 = x0 - __uint_as_float(*hi << 16), r1 = x1 - __uint_as_float(*hi & 0xffff0000u);
    *lo = port_pack_bf16x2(r0, r1);
}

/* The end of a flash-decoding block: the NW waves' partials (running max m,
 * sum l, unnormalised output o of each of the G heads) combined in wave order,
 * out = sum_v e^(m_v - M) o_v / sum_v e^(m_v - M) l_v, M the largest m_v, to
 * the G heads' bf16 rows at out (a token's G x ATT_HD block). After the
 * barrier that made the partials visible; every thread of the block calls it. */
template <int G, int NW>
__device__ __forceinline__ void att_combine_waves(uint16_t *out, const float (&o_s)[NW][G][ATT_HD],
                                                  const float (&m_s)[NW][G], const float (&l_s)[NW][G]) {
    for (int e = threadIdx.x; e < G * ATT_HD; e += NW * GETP_WAVE) {
        const int h = e / ATT_HD, d = e % ATT_HD;
        float mm = m_s[0][h];
#pragma unroll
        for (int v = 1; v < NW; v++) mm = fmaxf(mm, m_s[v][h]);
        float num = 0.0f, den = 0.0f;
#pragma unroll
        for (int v = 0; v < NW; v++) { // wave order: fixed
            const float f = expf(m_s[v][h] - mm);
            num += f * o_s[v][h][d];
            den += f * l_s[v][h];
        }
        out[h * ATT_HD + d] = f32_to_bf16_dev(num / den);
    }
}

#endif
