/* ops_gpu.h: host launchers of the non-GEMM kernels of the GPU backend (the
 * GEMMs are in matmul.h and moe.h). Every launcher checks its preconditions,
 * launches on `stream` and checks the launch. Pointers are device pointers;
 * the shape comment says (rows, cols) and element type. T is the number of
 * tokens of a step (token-major: row i of every activation is token i).
 *
 * Activations: residual stream x fp32; norm outputs and attention outputs
 * bf16 (they feed bf16 GEMMs); q after RoPE fp32; KV cache bf16.
 *
 * Precise mode (GpuOptions.precise) keeps each bf16 activation as a pair
 * hi + lo: hi = bf16(v), lo = bf16(v - hi), together ~16 mantissa bits. A
 * GEMM then runs twice (W hi, then W lo accumulated), since the bf16 weights
 * times either part are exact products. The `lo` outputs below are NULL in
 * the default (fast) mode.
 */
#ifndef GETP_OPS_GPU_H
#define GETP_OPS_GPU_H

#include "gpu_port.h"
#include <stdint.h>

/* x(T, H) fp32 = emb[tok[i]] (rows of a (V, H) bf16 table). */
void embed_bf16w_f32out(float *x, const uint16_t *emb, const int32_t *tok, int T, int H,
                        hipStream_t stream);

/* out(T, H) bf16 = rmsnorm(x[rows[i]]) * w, eps; rows NULL = identity;
 * lo(T, H) bf16 (or NULL) = the remainder. */
void rmsnorm_f32_bf16out(uint16_t *out, uint16_t *lo, const float *x, const float *w,
                         const int32_t *rows, int T, int H, float eps, hipStream_t stream);

/* The KV cache of one layer: (n_slots, cap, Dkv) bf16 for K and for V;
 * position p of slot s lives in row s*cap + p % cap (a ring when cap is
 * shorter than the sequence: sliding-window layers). */
typedef struct {
    uint16_t *k; // (n_slots, cap, Dkv) bf16
    uint16_t *v; // (n_slots, cap, Dkv) bf16
    int cap;
    uint16_t *k_lo, *v_lo; // precise mode: the remainders, same layout; else NULL
} KvLayer;

/* qkv(T, Dq+2Dkv) fp32 (GEMM output, bias added) -> q(T, Dq) fp32 rotated,
 * and k (rotated), v written as bf16 to the cache rows of (slot[i], pos[i])
 * (and their remainders to k_lo, v_lo when set).
 * inv_freq (head_dim/2) fp32, angles and cos/sin in double. */
void rope_qkv_kvwrite(float *q, const float *qkv, KvLayer kv, const int32_t *slot,
                      const int32_t *pos, const float *inv_freq, float concentration, int T,
                      int n_heads, int n_kv_heads, int head_dim, hipStream_t stream);

/* Attention with sinks: token i (slot[i], pos[i]) attends to its slot's cache
 * positions t <= pos[i] (window > 0: also t > pos[i] - window). q (T, Dq)
 * fp32, sinks (n_heads) fp32, out (T, Dq) bf16. Precise mode (kv.k_lo set):
 * K = k + k_lo, V = v + v_lo in fp32 arithmetic, out_lo (T, Dq) = remainder. */
void attention_f32q_bf16kv(uint16_t *out, uint16_t *out_lo, const float *q, KvLayer kv,
                           const int32_t *slot,
                           const int32_t *pos, const float *sinks, int window, int T,
                           int n_heads, int n_kv_heads, int head_dim, hipStream_t stream);

/* logits (T, E) fp32 -> ids (T, k) in descending order (ties: lower id) and
 * w (T, k) = softmax over the k picked logits. */
void router_topk_f32(int32_t *ids, float *w, const float *logits, int T, int E, int k,
                     hipStream_t stream);

/* ids(S) = argmax of each row of logits (S, V) fp32; ties to the lower id. */
void argmax_rows_f32(int32_t *ids, const float *logits, int S, int V, hipStream_t stream);

/* Weight conversions used by the loader (n elements). */
void convert_f32_to_bf16(uint16_t *dst, const float *src, int64_t n, hipStream_t stream);
void convert_bf16_to_f32(float *dst, const uint16_t *src, int64_t n, hipStream_t stream);
/* Encode n_groups groups of 32 values (src fp32 if src_is_f32 else bf16) to
 * MXFP4 blocks (16 B/group) and scales (1 B/group); sets *bad = 1 if any
 * group is not exactly representable. */
void encode_mxfp4(uint8_t *blocks, uint8_t *scales, const void *src, int src_is_f32,
                  int64_t n_groups, int *bad, hipStream_t stream);

#endif
