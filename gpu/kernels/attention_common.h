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
 * decoding pass of its own (the block's waves interleaved over the chunk from
 * its start; the sink's l = 1 in chunk 0 only), its waves' partials combined
 * in wave order to (M_c, num_c, den_c); the chunks are merged in chunk order
 * (att_merge) and the output is num / den. That arithmetic is fixed by the
 * position; how chunks map to blocks is not part of it: the launcher picks by
 * T alone either a block a chunk (grid.z = ATT_MAX_CHUNKS, the partials through
 * scratch, the last block of a (token, KV head) merging them) or a block
 * walking its token's chunks in order (grid.z = 1): the same bits. */
#define ATT_CHUNK 1024
#define ATT_MAX_CHUNKS 16
#define ATT_SPLIT_PAIRS 256 // (token, KV head) pairs up to which chunks get blocks of their own

__device__ __forceinline__ void att_chunks(int lo, int p, int *n, int *clen) {
    const int len = p - lo + 1, span = ATT_CHUNK * ATT_MAX_CHUNKS;
    *clen = ATT_CHUNK * ((len + span - 1) / span);
    *n = (len + *clen - 1) / *clen;
}

/* The merge of chunk partial (Mc, nc, dc) into the running (M, num, den). */
__device__ __forceinline__ void att_merge(float &M, float &num, float &den, float Mc, float nc, float dc) {
    const float Mn = fmaxf(M, Mc), a = expf(M - Mn), b = expf(Mc - Mn);
    num = fmaf(b, nc, a * num);
    den = fmaf(b, dc, a * den);
    M = Mn;
}

/* Scratch of the block-a-chunk mapping: (pair, chunk) -> G x ATT_HD num, then
 * G M, then G den; a counter a pair. */
struct AttSplit {
    float *scr;        // ATT_SPLIT_PAIRS x ATT_MAX_CHUNKS x ATT_SCR floats; NULL: grid.z = 1
    unsigned *count;   // ATT_SPLIT_PAIRS, zero between launches
};
#define ATT_SCR(G) ((G) * (ATT_HD + 2))
/* attention.hip: the mapping for this launch (scr NULL: a block walks its chunks) */
AttSplit att_split_for(const AttnArgs *a);
/* 0: by T (the default); 1: blocks always walk their chunks; 2: a block a chunk
 * wherever the scratch allows. The same bits either way (the self-test checks). */
void attention_set_chunk_blocks(int mode);

/* A block's running merge over the chunks it takes, in shared memory (held
 * in registers across the chunk loop it made the tile kernel spill): thread x
 * owns elements x, x + NT, ... of the G x ATT_HD output block, M, num and den
 * each (r[0], r[1], r[2]). */
template <int G, int NW>
struct AttRun {
    static constexpr int NT = NW * GETP_WAVE, KE = (G * ATT_HD + NT - 1) / NT;
    float (&r)[3][G * ATT_HD];
    __device__ __forceinline__ explicit AttRun(float (&r_)[3][G * ATT_HD]) : r(r_) {}

    /* chunk partial from the NW waves' partials (after the barrier that made
     * them visible), in wave order; first: it starts the running merge */
    __device__ __forceinline__ void add(bool first, const float (&o_s)[NW][G][ATT_HD],
                                        const float (&m_s)[NW][G], const float (&l_s)[NW][G]) {
#pragma unroll
        for (int k = 0; k < KE; k++) {
            const int e = threadIdx.x + k * NT;
            if (e >= G * ATT_HD) break;
            const int h = e / ATT_HD, d = e % ATT_HD;
            float mm = m_s[0][h];
#pragma unroll
            for (int v = 1; v < NW; v++) mm = fmaxf(mm, m_s[v][h]);
            float nu = 0.0f, de = 0.0f;
#pragma unroll
            for (int v = 0; v < NW; v++) { // wave order: fixed
                const float f = expf(m_s[v][h] - mm);
                nu = fmaf(f, o_s[v][h][d], nu);
                de = fmaf(f, l_s[v][h], de);
            }
            if (!first) att_merge(r[0][e], r[1][e], r[2][e], mm, nu, de);
            else r[0][e] = mm, r[1][e] = nu, r[2][e] = de;
        }
    }
    __device__ __forceinline__ void write(uint16_t *out) const { // a token's G x ATT_HD block
        for (int e = threadIdx.x; e < G * ATT_HD; e += NT) out[e] = f32_to_bf16_dev(r[1][e] / r[2][e]);
    }
    __device__ __forceinline__ void store(float *scr) const {
        for (int e = threadIdx.x; e < G * ATT_HD; e += NT) {
            scr[e] = r[1][e];
            if (e % ATT_HD == 0) scr[G * ATT_HD + e / ATT_HD] = r[0][e], scr[G * ATT_HD + G + e / ATT_HD] = r[2][e];
        }
    }
    /* the n chunks' partials at scr (ATT_SCR(G) apart), merged in chunk order */
    __device__ __forceinline__ void merge_all(const volatile float *scr, int n) {
        for (int e = threadIdx.x; e < G * ATT_HD; e += NT) {
            const int h = e / ATT_HD;
            float M = scr[G * ATT_HD + h], nu = scr[e], de = scr[G * ATT_HD + G + h];
            for (int c = 1; c < n; c++) {
                const volatile float *s = scr + (size_t)c * ATT_SCR(G);
                att_merge(M, nu, de, s[G * ATT_HD + h], s[e], s[G * ATT_HD + G + h]);
            }
            r[0][e] = M, r[1][e] = nu, r[2][e] = de;
        }
    }
};

/* The end of a (token, KV head) block after its chunks: one chunk or the
 * walking block (sp.scr NULL) writes the output; a block a chunk stores its
 * partial and the last of the pair's n blocks merges them all (and zeroes the
 * counter for the next launch). Every thread of the block calls it. */
template <int G, int NW>
__device__ __forceinline__ void att_finish(AttRun<G, NW> &run, uint16_t *out, const AttSplit &sp,
                                           int pair, int chunk, int n) {
    if (n == 1 || !sp.scr) {
        run.write(out);
        return;
    }
    float *base = sp.scr + (size_t)pair * ATT_MAX_CHUNKS * ATT_SCR(G);
    run.store(base + (size_t)chunk * ATT_SCR(G));
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
    run.merge_all(base, n);
    run.write(out);
}

#endif
