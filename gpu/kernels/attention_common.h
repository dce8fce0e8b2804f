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

/* ---- the split over the context (chunks) ----
 * A token's visible range [lo, p] is cut into chunks by (lo, p) alone: chunks
 * of clen = ATT_CHUNK x ceil(len / (ATT_CHUNK x ATT_MAX_CHUNKS)) positions, the
 * last shorter, n = ceil(len / clen) <= ATT_MAX_CHUNKS of them; len <= 1,024 (and
 * every sliding-window layer of gpt-oss) is one chunk. Each chunk is a flash-
 * decoding pass of its own, its NW waves interleaved over the chunk from its
 * start (the sink's l = 1 in chunk 0, wave 0 only). Each wave folds its chunk
 * partials in chunk order into a running (M, num, den) of its own (att_coef:
 * the first chunk copies); at the end the NW waves' states are combined in wave
 * order (att_combine) and the output is num / den. With one chunk that is the
 * plain flash-decoding arithmetic. It is fixed by the position; how chunks map
 * to blocks is not part of it: the launcher picks by T alone either a block a
 * chunk (grid.z = ATT_MAX_CHUNKS, each block's wave partials through scratch,
 * the last block of a (token, KV head) folding them) or a block walking its
 * token's chunks in order (grid.z = 1; each wave folds in place, no barrier
 * between chunks): the same bits. */
#define ATT_CHUNK 1024
#define ATT_MAX_CHUNKS 16
#define ATT_SPLIT_PAIRS 256 // (token, KV head) pairs up to which chunks get blocks of their own

__device__ __forceinline__ void att_chunks(int lo, int p, int *n, int *clen) {
    const int len = p - lo + 1, span = ATT_CHUNK * ATT_MAX_CHUNKS;
    *clen = ATT_CHUNK * ((len + span - 1) / span);
    *n = (len + *clen - 1) / *clen;
}

/* The fold of a chunk partial whose maximum is Mc into a running state whose
 * maximum is M: M becomes the new maximum, a and b the old state's and the
 * partial's weights (num = fmaf(b, nc, a num), den likewise). */
__device__ __forceinline__ void att_coef(float &M, float Mc, float &a, float &b) {
    const float Mn = fmaxf(M, Mc);
    a = expf(M - Mn);
    b = expf(Mc - Mn);
    M = Mn;
}
__device__ __forceinline__ void att_merge(float &M, float &num, float &den, float Mc, float nc, float dc) {
    float a, b;
    att_coef(M, Mc, a, b);
    num = fmaf(b, nc, a * num);
    den = fmaf(b, dc, a * den);
}

/* A block's per-wave running states: wave v's num (G x ATT_HD), M and den (G).
 * Each element of o has one owner lane in wave v (read-modify-write without a
 * barrier); m and l hold the running M and den: the mma kernel keeps them in
 * registers and writes them once after its last chunk, the tile kernel folds
 * them here at every chunk (its lane count makes registers dear). One chunk's
 * copy is a block-a-chunk block's partial in scratch. */
template <int G, int NW>
struct AttWaves {
    float o[NW][G][ATT_HD];
    float m[NW][G], l[NW][G];
};
#define ATT_SCR_MAX (4 * 8 * (ATT_HD + 2)) // floats a (pair, chunk) of scratch: NW <= 4, G <= 8

/* The NW waves' states of output element (h, d) combined in wave order. */
template <int G, int NW>
__device__ __forceinline__ float att_combine(const float (&M)[NW], const float (&nu)[NW], const float (&de)[NW]) {
    float mm = M[0];
#pragma unroll
    for (int v = 1; v < NW; v++) mm = fmaxf(mm, M[v]);
    float n = 0.0f, d = 0.0f;
#pragma unroll
    for (int v = 0; v < NW; v++) { // wave order: fixed
        const float f = expf(M[v] - mm);
        n = fmaf(f, nu[v], n);
        d = fmaf(f, de[v], d);
    }
    return n / d;
}

/* Scratch of the block-a-chunk mapping: (pair, chunk) -> an AttWaves copy; a
 * counter a pair. */
struct AttSplit {
    float *scr;        // ATT_SPLIT_PAIRS x ATT_MAX_CHUNKS x ATT_SCR_MAX floats; NULL: grid.z = 1
    unsigned *count;   // ATT_SPLIT_PAIRS, zero between launches
};
/* attention.hip: the mapping for this launch (scr NULL: a block walks its chunks) */
AttSplit att_split_for(const AttnArgs *a);
/* 0: by T (the default); 1: blocks always walk their chunks; 2: a block a chunk
 * wherever the scratch allows. The same bits either way (the self-test checks). */
void attention_set_chunk_blocks(int mode);

/* The end of a (token, KV head) block after its chunks (ws holds every wave's
 * state; each lane wrote only its own elements): one chunk or the walking block
 * (sp.scr NULL) combines the waves and writes the output; a block a chunk
 * copies ws to scratch and the last of the pair's n blocks folds the chunks in
 * order for each wave, combines the waves and writes (and zeroes the counter
 * for the next launch). Every thread of the block calls it. */
template <int G, int NW>
__device__ __forceinline__ void att_finish(const AttWaves<G, NW> &ws, uint16_t *out, const AttSplit &sp,
                                           int pair, int chunk, int n) {
    constexpr int NT = NW * GETP_WAVE, SCR = sizeof(AttWaves<G, NW>) / sizeof(float);
    static_assert(SCR <= ATT_SCR_MAX, "a block's partial fits its scratch slot");
    __syncthreads(); // every wave's state visible
    if (n == 1 || !sp.scr) {
        for (int e = threadIdx.x; e < G * ATT_HD; e += NT) {
            const int h = e / ATT_HD, d = e % ATT_HD;
            float M[NW], nu[NW], de[NW];
#pragma unroll
            for (int v = 0; v < NW; v++) M[v] = ws.m[v][h], nu[v] = ws.o[v][h][d], de[v] = ws.l[v][h];
            out[e] = f32_to_bf16_dev(att_combine<G, NW>(M, nu, de));
        }
        return;
    }
    float *base = sp.scr + (size_t)pair * ATT_MAX_CHUNKS * ATT_SCR_MAX;
    const float *src = (const float *)&ws;
    for (int e = threadIdx.x; e < SCR; e += NT) base[(size_t)chunk * ATT_SCR_MAX + e] = src[e];
    __threadfence();
    __syncthreads();
    __shared__ int last;
    if (threadIdx.x == 0) {
        last = atomicAdd(&sp.count[pair], 1u) == (unsigned)n - 1;
        if (last) sp.count[pair] = 0u;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    for (int e = threadIdx.x; e < G * ATT_HD; e += NT) {
        const int h = e / ATT_HD, d = e % ATT_HD;
        float M[NW], nu[NW], de[NW];
#pragma unroll
        for (int v = 0; v < NW; v++) {
            const volatile AttWaves<G, NW> *s = (const volatile AttWaves<G, NW> *)base;
            M[v] = s->m[v][h], nu[v] = s->o[v][h][d], de[v] = s->l[v][h];
            for (int c = 1; c < n; c++) {
                s = (const volatile AttWaves<G, NW> *)(base + (size_t)c * ATT_SCR_MAX);
                att_merge(M[v], nu[v], de[v], s->m[v][h], s->o[v][h][d], s->l[v][h]);
            }
        }
        out[e] = f32_to_bf16_dev(att_combine<G, NW>(M, nu, de));
    }
}

#endif
