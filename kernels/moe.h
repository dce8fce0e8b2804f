/* moe.h: the mixture-of-experts block as a grouped GEMM.
 *
 * M tokens each pick k experts (router: topk_ids (M, k), topk_w (M, k)).
 * moe_sort groups the M*k (token, j) pairs by expert (counting sort, stable:
 * within an expert, pairs stay in increasing pair id = token*k + j), then two
 * grouped GEMMs run over all experts in one launch each:
 *   mlp1: h_p = swiglu(W1[e] @ t[token] + b1[e])        (I) bf16 per pair
 *   mlp2: y_p = W2[e] @ h_p + b2[e]                     (H) fp32, stored at pair id
 * and moe_combine adds x[token] += sum_{j=0..k-1} w[token, j] * y[token*k + j]
 * in that fixed order (batch-invariant; no atomics).
 *
 * Expert weights are MXFP4 (blocks (E, R, C/32, 16) u8, scales (E, R, C/32)
 * u8, dequantized in the kernel) or, as a fallback for .bin files whose
 * experts are not MXFP4-representable, bf16 (E, R, C).
 */
#ifndef GETP_MOE_H
#define GETP_MOE_H

#include "gpu_port.h"
#include <stdint.h>

typedef struct {
    int is_mxfp4;           // 1: blocks/scales valid; 0: bf16 valid
    const uint8_t *blocks;  // (E, R, C/32, 16)
    const uint8_t *scales;  // (E, R, C/32)
    const uint16_t *bf16;   // (E, R, C)
} ExpertWeights;

/* expert_offsets (E+1): pairs of expert e are sorted_pairs[off[e] .. off[e+1]).
 * sorted_pairs (M*k): pair ids. scratch_counts: (E) ints of device scratch. */
void moe_sort(const int32_t *topk_ids, int M, int k, int E, int32_t *expert_offsets,
              int32_t *sorted_pairs, int32_t *scratch_counts, hipStream_t stream);

/* h (M*k, I) bf16, indexed by sorted position; t (M, H) bf16 normed activations. */
void moe_mlp1_swiglu(uint16_t *h, const uint16_t *t, const ExpertWeights *w1, const float *b1,
                     const int32_t *expert_offsets, const int32_t *sorted_pairs, int M, int k,
                     int E, int H, int I, float limit, hipStream_t stream);

/* Precise mode (ops_gpu.h): mlp1 without its epilogue, y1 (M*k, 2I) fp32 by
 * sorted position = W1[e] t + b1[e] (accumulate: y1 += W1[e] t, for the lo
 * part of t), then the SwiGLU to h = h + h_lo (both (M*k, I) bf16). */
void moe_mlp1_linear(float *y1, const uint16_t *t, const ExpertWeights *w1, const float *b1,
                     const int32_t *expert_offsets, const int32_t *sorted_pairs, int M, int k,
                     int E, int H, int I, int accumulate, hipStream_t stream);
void moe_swiglu_split(uint16_t *h, uint16_t *h_lo, const float *y1, int P, int I, float limit,
                      hipStream_t stream);

/* ypair (M*k, H) fp32, indexed by pair id; h as written by moe_mlp1_swiglu.
 * accumulate: ypair += W2[e] h (no bias; precise mode's second pass). */
void moe_mlp2(float *ypair, const uint16_t *h, const ExpertWeights *w2, const float *b2,
              const int32_t *expert_offsets, const int32_t *sorted_pairs, int M, int k, int E,
              int H, int I, int accumulate, hipStream_t stream);

/* x (M, H) += sum_j topk_w[m, j] * ypair[m*k + j]. */
void moe_combine(float *x, const float *ypair, const float *topk_w, int M, int k, int H,
                 hipStream_t stream);

#endif
