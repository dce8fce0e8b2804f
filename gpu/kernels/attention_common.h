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

#endif
