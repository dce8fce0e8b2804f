/* tile.h: one warp-level (wave-level) bf16 matrix tile, fp32 accumulation.
 *
 * A "tile step" is C(TILE_M x TILE_N) += A(TILE_M x 32) * B(TILE_N x 32)^T with
 * both operands K-contiguous (A: activations (M, K) row-major; B: weights
 * (N, K) row-major, as in the checkpoint). The caller fetches the operands
 * itself (from shared or global memory, gathered or dequantized) and hands
 * each lane its piece: for every A row r < TILE_A_ROWS the lane owns row
 * tile_a_row(r) and the 8 consecutive k at tile_k_off() .. +7 of the 32-step
 * (one 16-byte load); for B the lane owns row tile_b_row() at the same k.
 *
 * The 8 k of a lane go into two instructions (k 0..3 of each lane's 8, then
 * 4..7), the same permutation for A and B, so the dot product is exact
 * math; the fixed order (step after step, instruction 1 then 2) is the one
 * reduction order every kernel uses, which keeps results batch-invariant
 * (a row's result depends only on that row, never on M or the tiling).
 *
 * Implementations, chosen once:
 *   GETP_SM80_MMA (NVIDIA sm_80+): mma.sync m16n8k16 bf16 via inline PTX.
 *   GETP_CDNA2    (AMD gfx90a):    v_mfma_f32_16x16x16bf16_1k.
 *   fallback (or GETP_TILE_FALLBACK=1): scalar FMA over the same fragments
 *     (NVIDIA's fragment layout, one 16x8 tile per 32 lanes), via shuffles.
 */
#ifndef GETP_TILE_H
#define GETP_TILE_H

#include "gpu_port.h"
#include <stdint.h>

#if defined(GETP_TILE_FALLBACK) && GETP_TILE_FALLBACK
#define GETP_TILE_IMPL_FALLBACK 1
#elif defined(GETP_SM80_MMA)
#define GETP_TILE_IMPL_MMA 1
#elif defined(GETP_CDNA2)
#define GETP_TILE_IMPL_MFMA 1
#else
#define GETP_TILE_IMPL_FALLBACK 1
#endif

#define TILE_M 16
#define TILE_K 32
/* TILE_N and TILE_A_ROWS are the same on host and device only per target;
 * host code must not use them (kernels size everything from them). */
#if defined(GETP_TILE_IMPL_MFMA)
#define TILE_N 16
#define TILE_A_ROWS 1
#else
#define TILE_N (8 * (GETP_WAVE / 32))
#define TILE_A_ROWS 2
#endif

typedef struct {
    uint4 v[TILE_A_ROWS];  // 8 bf16 of row tile_a_row(r), k = tile_k_off() .. +7
} TileA;
typedef struct {
    uint4 v;  // 8 bf16 of row tile_b_row(), k = tile_k_off() .. +7
} TileB;
typedef struct {
    float c[4];  // element i at (tile_c_row(i), tile_c_col(i))
} TileC;

__device__ __forceinline__ int tile_lane(void) { return (int)(threadIdx.x % GETP_WAVE); }

#if defined(GETP_TILE_IMPL_MFMA)
/* MFMA 16x16x16: A lane = row + 16 * (k / 4); B lane = col + 16 * (k / 4);
 * D lane = col + 16 * (row / 4), item row % 4. */
__device__ __forceinline__ int tile_a_row(int r) { (void)r; return tile_lane() % 16; }
__device__ __forceinline__ int tile_b_row(void) { return tile_lane() % 16; }
__device__ __forceinline__ int tile_k_off(void) { return (tile_lane() / 16) * 8; }
__device__ __forceinline__ int tile_c_row(int i) { return (tile_lane() / 16) * 4 + i; }
__device__ __forceinline__ int tile_c_col(int i) { (void)i; return tile_lane() % 16; }

typedef short tile_bf16x4 __attribute__((ext_vector_type(4)));
typedef float tile_f32x4 __attribute__((ext_vector_type(4)));

__device__ __forceinline__ tile_bf16x4 tile_pack4(uint32_t lo, uint32_t hi) {
    tile_bf16x4 r;
    r[0] = (short)(lo & 0xffffu);
    r[1] = (short)(lo >> 16);
    r[2] = (short)(hi & 0xffffu);
    r[3] = (short)(hi >> 16);
    return r;
}

__device__ __forceinline__ void tile_mma(TileC *acc, const TileA *a, const TileB *b) {
    tile_f32x4 c = {acc->c[0], acc->c[1], acc->c[2], acc->c[3]};
    c = __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(tile_pack4(a->v[0].x, a->v[0].y),
                                                  tile_pack4(b->v.x, b->v.y), c, 0, 0, 0);
    c = __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(tile_pack4(a->v[0].z, a->v[0].w),
                                                  tile_pack4(b->v.z, b->v.w), c, 0, 0, 0);
    acc->c[0] = c[0];
    acc->c[1] = c[1];
    acc->c[2] = c[2];
    acc->c[3] = c[3];
}

/* Value of the element in the same row, column col ^ 1 (all lanes must call). */
__device__ __forceinline__ float tile_c_partner(const TileC *acc, int i) {
    return GETP_SHFL_XOR(acc->c[i], 1);
}

#else
/* NVIDIA m16n8k16 layout (the fallback replicates it per 32 lanes):
 * g = lane / 4, q = lane % 4; A rows g and g + 8; B row g; k offset q * 8;
 * C: (g + 8 * (i / 2), 2q + i % 2). */
__device__ __forceinline__ int tile_a_row(int r) { return (tile_lane() % 32) / 4 + 8 * r; }
__device__ __forceinline__ int tile_b_row(void) {
    return (tile_lane() / 32) * 8 + (tile_lane() % 32) / 4;
}
__device__ __forceinline__ int tile_k_off(void) { return (tile_lane() % 4) * 8; }
__device__ __forceinline__ int tile_c_row(int i) { return (tile_lane() % 32) / 4 + 8 * (i / 2); }
__device__ __forceinline__ int tile_c_col(int i) {
    return (tile_lane() / 32) * 8 + 2 * (tile_lane() % 4) + (i % 2);
}
__device__ __forceinline__ float tile_c_partner(const TileC *acc, int i) { return acc->c[i ^ 1]; }

#if defined(GETP_TILE_IMPL_MMA)
__device__ __forceinline__ void tile_mma16(float *c, uint32_t a0, uint32_t a1, uint32_t a2,
                                           uint32_t a3, uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

/* Logical k (2q, 2q+1, 2q+8, 2q+9) of instruction 1 = the lane's k 0..3. */
__device__ __forceinline__ void tile_mma(TileC *acc, const TileA *a, const TileB *b) {
    tile_mma16(acc->c, a->v[0].x, a->v[1].x, a->v[0].y, a->v[1].y, b->v.x, b->v.y);
    tile_mma16(acc->c, a->v[0].z, a->v[1].z, a->v[0].w, a->v[1].w, b->v.z, b->v.w);
}

#else /* fallback: scalar FMA in the same layout, operands fetched by shuffles */
__device__ __forceinline__ float tile_bf_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float tile_bf_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }
__device__ __forceinline__ uint32_t tile_word(const uint4 &v, int w) {
    return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}

__device__ __forceinline__ void tile_mma(TileC *acc, const TileA *a, const TileB *b) {
    const int lane = tile_lane(), base = (lane / 32) * 32, g = (lane % 32) / 4, q = lane % 4;
    for (int half = 0; half < 2; half++) {      // instruction 1, then 2
        for (int src = 0; src < 4; src++) {     // k owned by lane q' = src
            for (int w = 2 * half; w < 2 * half + 2; w++) {
                uint32_t a0 = GETP_SHFL(tile_word(a->v[0], w), base + g * 4 + src);
                uint32_t a1 = GETP_SHFL(tile_word(a->v[1], w), base + g * 4 + src);
                uint32_t b0 = GETP_SHFL(tile_word(b->v, w), base + (2 * q) * 4 + src);
                uint32_t b1 = GETP_SHFL(tile_word(b->v, w), base + (2 * q + 1) * 4 + src);
                acc->c[0] = fmaf(tile_bf_lo(a0), tile_bf_lo(b0), acc->c[0]);
                acc->c[0] = fmaf(tile_bf_hi(a0), tile_bf_hi(b0), acc->c[0]);
                acc->c[1] = fmaf(tile_bf_lo(a0), tile_bf_lo(b1), acc->c[1]);
                acc->c[1] = fmaf(tile_bf_hi(a0), tile_bf_hi(b1), acc->c[1]);
                acc->c[2] = fmaf(tile_bf_lo(a1), tile_bf_lo(b0), acc->c[2]);
                acc->c[2] = fmaf(tile_bf_hi(a1), tile_bf_hi(b0), acc->c[2]);
                acc->c[3] = fmaf(tile_bf_lo(a1), tile_bf_lo(b1), acc->c[3]);
                acc->c[3] = fmaf(tile_bf_hi(a1), tile_bf_hi(b1), acc->c[3]);
            }
        }
    }
}
#endif
#endif

__device__ __forceinline__ void tile_zero(TileC *acc) {
    acc->c[0] = acc->c[1] = acc->c[2] = acc->c[3] = 0.0f;
}

/* Asynchronous 16-byte global -> shared copies (cp.async, sm_80+), in groups:
 * tile_cp_async16 issues, tile_cp_commit closes a group, tile_cp_wait<N>
 * waits until at most N groups are still in flight. Elsewhere a plain copy
 * (done at issue) and no-op commit/wait, so callers keep one code path. */
__device__ __forceinline__ void tile_cp_async16(void *smem, const void *gmem) {
#if defined(GETP_SM80_MMA)
    const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
#else
    *(uint4 *)smem = *(const uint4 *)gmem;
#endif
}
__device__ __forceinline__ void tile_cp_commit(void) {
#if defined(GETP_SM80_MMA)
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void tile_cp_wait(void) {
#if defined(GETP_SM80_MMA)
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

#endif
