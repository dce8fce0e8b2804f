/* kernels.h: the launchers of every kernel family of the GPU backend, and the
 * argument structs that host and device code share (a kernel takes the same
 * struct its launcher was given, so the two sides cannot disagree). Every
 * launcher checks its preconditions, launches on `stream` and checks the
 * launch. Pointers are device pointers; shape comments say (rows, cols) and
 * element type. T is the number of tokens of a step (token-major: row i of
 * every activation is token i).
 *
 * Activations: residual stream x fp32; norm outputs and attention outputs
 * bf16 (they feed bf16 GEMMs); q after RoPE fp32; KV cache bf16.
 *
 * Precise mode (GpuOptions.precise) keeps each bf16 activation as a pair
 * hi + lo: hi = bf16(v), lo = bf16(v - hi), together ~16 mantissa bits. A
 * GEMM then runs twice (W hi, then W lo accumulated), since the bf16 weights
 * times either part are exact products. The `lo` outputs below are NULL in
 * the default (fast) mode.
 *
 * Batch invariance: a row's result never depends on how many rows a step
 * holds or which others share it. Every GEMM accumulates each output in one
 * fixed k order (tile.h), norms and top-k are per row, attention splits a
 * token's context the same way whatever the batch.
 *
 * Files: embed.hip, norm.hip, rope.hip, attention.hip (+ attention_mma.hip),
 * router.hip, matmul.hip (+ matmul_async.hip), moe.hip (+ moe_tiles.hip,
 * moe_async.hip, moe_wgmma.hip), sample.hip, convert.hip. The "+" files are
 * vendor extras (extras.h).
 */
#ifndef GETP_KERNELS_H
#define GETP_KERNELS_H

#include "port.h" // hipStream_t
#include <stdint.h>

/* ---- embed.hip, norm.hip ---- */

/* x(T, H) fp32 = emb[tok[i]] (rows of a (V, H) bf16 table). */
void embed_bf16w_f32out(float *x, const uint16_t *emb, const int32_t *tok, int T, int H,
                        hipStream_t stream);

/* out(T, H) bf16 = rmsnorm(x[rows[i]]) * w, eps; rows NULL = identity;
 * lo(T, H) bf16 (or NULL) = the remainder. */
void rmsnorm_f32_bf16out(uint16_t *out, uint16_t *lo, const float *x, const float *w,
                         const int32_t *rows, int T, int H, float eps, hipStream_t stream);
/* moe_combine (x += sum_j topk_w ypair, below) then rmsnorm_f32_bf16out of
 * every row of x, in one launch: the same bits as the two calls. */
void combine_rmsnorm_f32_bf16out(float *x, const float *ypair, const float *topk_w, int k,
                                 uint16_t *out, uint16_t *lo, const float *w, int T, int H, float eps,
                                 hipStream_t stream);

/* ---- rope.hip, attention.hip ---- */

/* The KV cache of one layer: K and V, each n_slots x cap positions x n_kv
 * heads of head_dim bf16. Position p of slot s sits at p % cap (a ring when
 * cap is shorter than the sequence: sliding-window layers); the strides place
 * the row of (slot s, KV head h, position p) at element
 *   s * st.slot + h * st.head + (p % cap) * st.pos
 * of k (v, k_lo, v_lo alike). kv_strides() gives the two layouts:
 *   token-major (s, p, h): a position's heads side by side (the rope kernel's
 *     write is one run of n_kv * head_dim; an attention block, one KV head,
 *     reads head_dim of every n_kv * head_dim);
 *   head-major (s, h, p): a KV head's positions side by side (an attention
 *     block reads one contiguous run of its positions).
 * Every kernel takes the strides, so the bits never depend on the layout. */
typedef struct {
    int64_t slot; // elements between slots
    int head;     // between KV heads
    int pos;      // between positions (p % cap)
} KvStrides;
typedef struct {
    uint16_t *k; // n_slots * cap * n_kv * head_dim bf16, placed by st
    uint16_t *v; // the same
    int cap;
    uint16_t *k_lo, *v_lo; // precise mode: the remainders, same layout; else NULL
    KvStrides st;
} KvLayer;

static inline KvStrides kv_strides(int head_major, int cap, int n_kv, int head_dim) {
    KvStrides s;
    if (head_major) s.pos = head_dim, s.head = cap * head_dim, s.slot = (int64_t)n_kv * cap * head_dim;
    else s.pos = n_kv * head_dim, s.head = head_dim, s.slot = (int64_t)cap * n_kv * head_dim;
    return s;
}

/* Token i of a step: its slot (sequence) and position. */
typedef struct {
    const int32_t *slot; // (T)
    const int32_t *pos;  // (T)
    int T;
} StepTokens;

/* qkv(T, Dq+2Dkv) fp32 (GEMM output, bias added) -> q(T, Dq) fp32 rotated,
 * and k (rotated), v written as bf16 to the cache rows of (slot[i], pos[i])
 * (and their remainders to k_lo, v_lo when set).
 * inv_freq (head_dim/2) fp32, angles and cos/sin in double. */
typedef struct {
    float *q;              // (T, Dq) out
    const float *qkv;      // (T, Dq + 2 Dkv)
    KvLayer kv;
    StepTokens tok;
    const float *inv_freq; // (head_dim / 2)
    float concentration;
    int n_heads, n_kv_heads, head_dim;
} RopeArgs;
void rope_qkv_kvwrite(const RopeArgs *a, hipStream_t stream);

/* Attention with sinks: token i (slot[i], pos[i]) attends to its slot's cache
 * positions t <= pos[i] (window > 0: also t > pos[i] - window). Precise mode
 * (kv.k_lo set): K = k + k_lo, V = v + v_lo in fp32 arithmetic, out_lo =
 * remainder. */
typedef struct {
    uint16_t *out, *out_lo; // (T, Dq) bf16; out_lo NULL but in precise mode
    const float *q;         // (T, Dq) fp32
    KvLayer kv;
    StepTokens tok;
    const float *sinks;     // (n_heads) fp32
    int window;             // 0 = none
    int n_heads, n_kv_heads, head_dim;
} AttnArgs;
void attention_f32q_bf16kv(const AttnArgs *a, hipStream_t stream);

/* ---- router.hip, sample.hip ---- */

/* logits (T, E) fp32 -> ids (T, k) in descending order (ties: lower id) and
 * w (T, k) = softmax over the k picked logits. */
void router_topk_f32(int32_t *ids, float *w, const float *logits, int T, int E, int k,
                     hipStream_t stream);
/* router_topk_f32 then moe_sort (below), as one launch (one block) for
 * T <= ROUTE_FUSED_MAX_T tokens (one wave while T * k <= GETP_WAVE), the two
 * launches past it: the same outputs. */
#define ROUTE_FUSED_MAX_T 64
void route_topk_sort(int32_t *ids, float *w, const float *logits, int T, int E, int k,
                     int32_t *offsets, int32_t *sorted, int32_t *counts, hipStream_t stream);

/* ids(S) = argmax of each row of logits (S, V) fp32; ties to the lower id; -1
 * for a row that holds a NaN or an infinity. */
void argmax_rows_f32(int32_t *ids, const float *logits, int S, int V, hipStream_t stream);

/* The sampler (sample.hip; docs/MODEL.md "Sampling"): one row of full logits
 * per request that samples or wants logprobs. The settings of a row are
 * sampler.h's SampleSpec plus its uniform and its logprobs request. */
#define SAMPLE_MAX_TOP 20 // GETP_MAX_TOP_LOGPROBS
typedef struct {
    float inv_t;   // 1 / temperature; 0 = greedy (argmax)
    int32_t top_k; // 0 = off
    float top_p;   // 1 = off
    float min_x;   // log(min_p); -inf = off
    double u;      // the row's uniform number in [0, 1)
    int32_t n_top; // -1: no logprobs; else the alternatives wanted (<= SAMPLE_MAX_TOP)
    int32_t pad_;
} SampleRow;
typedef struct {
    int32_t id;      // the chosen id; -1: the row holds a NaN or an infinity
    float logprob;   // of id (n_top >= 0)
    int32_t top_ids[SAMPLE_MAX_TOP];
    float top_lps[SAMPLE_MAX_TOP];
} SampleOut;
/* out(R) from logits (R, V) fp32 and rows(R). */
void sample_rows_f32(SampleOut *out, const float *logits, const SampleRow *rows, int R, int V,
                     hipStream_t stream);
/* The same with the split path's chunks per row forced (0: chosen from R, as
 * sample_rows_f32 does; -1: every row by one block, the split path off) and,
 * when fast_rows is set, the number of rows the split path decided (this
 * synchronises the stream: tests and the playground only). The ids do not
 * depend on chunks. */
void sample_rows_f32_split(SampleOut *out, const float *logits, const SampleRow *rows, int R, int V,
                           int chunks, int *fast_rows, hipStream_t stream);

/* ---- matmul.hip: the dense GEMMs (QKV, attention output, router, unembedding) ---- */

/* y(M, N) = x(M, K) @ W(N, K)^T + bias(N) [+ residual(M, N)], weights (N, K)
 * row-major bf16 as in the checkpoint, fp32 accumulation and output.
 * bias and residual may be NULL; y may alias residual (in-place residual add). */
void matmul_bf16_bf16w(float *y, const uint16_t *x, const uint16_t *w, const float *bias,
                       const float *residual, int M, int N, int K, hipStream_t stream);

/* The dense split of K (matmul_common.h): on, every dense product (W over
 * 1 MB, fewer than MM_SPLIT_MAX_N columns: not the vocabulary) sums 4 fixed
 * parts of K, at every M (other bits than the single chain, the same at every
 * M). On by default; GETP_KSPLIT=0 in the environment turns it off at the
 * first product; tests set it here. */
#define MM_SPLIT_MAX_N 65536
void matmul_set_ksplit(int on);

/* Precise mode: x = x + x_lo as two bf16 parts, y = W x + bias [+ residual] in
 * two passes (the second accumulates into y: both passes are exact products in
 * fp32 sums). x_lo NULL: one pass, as matmul_bf16_bf16w. */
void matmul_pair_bf16_bf16w(float *y, const uint16_t *x, const uint16_t *x_lo, const uint16_t *w,
                            const float *bias, const float *residual, int M, int N, int K,
                            hipStream_t stream);

/* Unembedding fused with argmax: ids(M) = argmax_n (x(M,K) @ W(N,K)^T) with
 * ties to the lower id (-1 for a row with a NaN or an infinity); logits are
 * never written. */
void matmul_argmax_bf16_bf16w(int32_t *ids, const uint16_t *x, const uint16_t *w, int M, int N,
                              int K, hipStream_t stream);

/* ---- moe.hip: the mixture-of-experts block as a grouped GEMM ----
 * M tokens each pick k experts (router: topk_ids (M, k), topk_w (M, k)).
 * moe_sort groups the M*k (token, j) pairs by expert (counting sort, stable:
 * within an expert, pairs stay in increasing pair id = token*k + j), then two
 * grouped GEMMs run over all experts in one launch each:
 *   mlp1: h_p = swiglu(W1[e] @ t[token] + b1[e])        (I) bf16 per pair
 *   mlp2: y_p = W2[e] @ h_p + b2[e]                     (H) fp32, stored at pair id
 * and moe_combine adds x[token] += sum_{j=0..k-1} w[token, j] * y[token*k + j]
 * in that fixed order (batch-invariant; no atomics).
 * Expert weights are MXFP4 (blocks (E, R, C/32, 16) u8, scales (E, R, C/32)
 * u8, dequantized in the kernel) or, as a fallback for .bin files whose
 * experts are not MXFP4-representable, bf16 (E, R, C). */
typedef struct {
    int is_mxfp4;           // 1: blocks/scales valid; 0: bf16 valid
    const uint8_t *blocks;  // (E, R, C/32, 16)
    const uint8_t *scales;  // (E, R, C/32)
    const uint16_t *bf16;   // (E, R, C)
} ExpertWeights;

/* One expert GEMM over all experts: y = W[e] act + bias[e] for each pair p of
 * expert e (N output columns, K inputs). mlp1: N = 2I, K = H; mlp2: N = H, K = I. */
typedef struct {
    const uint16_t *act;    // mlp1: t (M, K) bf16 by token; mlp2: h (P, K) bf16 by sorted position
    ExpertWeights w;        // (E, N, K)
    const float *bias;      // (E, N) fp32
    const int32_t *offsets; // (E+1): pairs of expert e are pairs[offsets[e] .. offsets[e+1])
    const int32_t *pairs;   // (P = M*k) pair ids by sorted position
    uint16_t *h;            // mlp1 out: (P, N/2) bf16 by sorted position
    float *ypair;           // mlp2 out: (P, N) fp32 by pair id
    int M, k, E, N, K;
    float limit;            // mlp1: the SwiGLU clamp
    float *y1;              // precise mlp1 out: (P, N) fp32 pre-activation by sorted position
    int acc;                // precise: add to y1 / ypair instead of adding the bias
} MoeArgs;

/* expert_offsets (E+1), sorted_pairs (M*k); scratch_counts: (E) ints of device scratch. */
void moe_sort(const int32_t *topk_ids, int M, int k, int E, int32_t *expert_offsets,
              int32_t *sorted_pairs, int32_t *scratch_counts, hipStream_t stream);

/* mlp1 with the SwiGLU fused: a->h = swiglu(W1 t + b1), clamp a->limit. */
void moe_mlp1_swiglu(const MoeArgs *a, hipStream_t stream);

/* Precise mode: mlp1 without its epilogue, a->y1 = W1 t + b1 (a->acc: y1 +=
 * W1 t, for the lo part of t), then the SwiGLU to h = h + h_lo (both (P, I)
 * bf16) from y1 (P, 2I). */
void moe_mlp1_linear(const MoeArgs *a, hipStream_t stream);
void moe_swiglu_split(uint16_t *h, uint16_t *h_lo, const float *y1, int P, int I, float limit,
                      hipStream_t stream);

/* a->ypair = W2 h + b2 (a->acc: ypair += W2 h, no bias: precise mode's second pass). */
void moe_mlp2(const MoeArgs *a, hipStream_t stream);

/* The 64-pair slots of the warpgroup-MMA expert GEMMs (sm_90a fast builds;
 * elsewhere nothing reads it): products whose average of pairs an expert is in
 * (lo, hi] take them (lo >= hi: none). The same bits at every range.
 * GETP_MOE_W64 ("0" off, or "LO-HI") sets the range at the first MoE product
 * unless moe_set_w64 did first; tests set it here and read it back. */
void moe_set_w64(int lo, int hi);
void moe_get_w64(int *lo, int *hi);

/* x (M, H) += sum_j topk_w[m, j] * ypair[m*k + j]. */
void moe_combine(float *x, const float *ypair, const float *topk_w, int M, int k, int H,
                 hipStream_t stream);

/* ---- convert.hip: weight conversions used by the loader (n elements) ---- */
void convert_f32_to_bf16(uint16_t *dst, const float *src, int64_t n, hipStream_t stream);
void convert_bf16_to_f32(float *dst, const uint16_t *src, int64_t n, hipStream_t stream);
/* Encode n_groups groups of 32 values (src fp32 if src_is_f32 else bf16) to
 * MXFP4 blocks (16 B/group) and scales (1 B/group); sets *bad = 1 if any
 * group is not exactly representable. */
void encode_mxfp4(uint8_t *blocks, uint8_t *scales, const void *src, int src_is_f32,
                  int64_t n_groups, int *bad, hipStream_t stream);

#endif
