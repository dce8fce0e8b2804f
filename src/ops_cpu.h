/* ops_cpu.h: the operations of the gpt-oss forward pass (docs/MODEL.md §2) on
 * the CPU, in fp32 arithmetic. forward_cpu.c composes them into the reference engine;
 * the GPU op tests (and `getp --selftest`) call them one by one as the oracle
 * for each GPU kernel. Weights come in as Tensor views (f32, bf16 or MXFP4). */
#ifndef GETP_OPS_CPU_H
#define GETP_OPS_CPU_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out = rmsnorm(x) * w, mean of squares over n, eps 1e-5. out may alias x. */
void cpu_rmsnorm(float *out, const float *x, const Tensor *w, int n);

/* out(rows) = W(rows, cols) @ x(cols) + b(rows). W rows start at row0 (so an
 * expert's slice of a (E, R, C) tensor is row0 = e*R). b may be NULL; b is
 * indexed from b_row0. Parallel over rows (OpenMP). */
void cpu_matvec(float *out, const Tensor *w, int64_t row0, const Tensor *b, int64_t b_row0,
                const float *x, int64_t rows, int64_t cols);

/* Rotate n_heads heads of head_dim each at position pos, in place, half-split
 * pairing (i, i + head_dim/2). */
void cpu_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq,
              float concentration);

/* Attention of one query position `pos` against a cache holding positions
 * 0..pos: k_cache, v_cache are (>= pos+1, Dkv) fp32 rows by position. window
 * > 0 restricts to t > pos - window. sinks (n_heads) as f32. out is (Dq). */
void cpu_attention(float *out, const float *q, const float *k_cache, const float *v_cache,
                   int pos, int window, const float *sinks, const Config *c);

/* Top-k of router logits g (E): ids in descending logit order (ties: lower
 * id first) and softmax weights over the k picked logits. */
void cpu_router_topk(const float *g, int E, int k, int32_t *idx, float *w);

/* SwiGLU with clamps: h[j] from u[2j] (gate) and u[2j+1] (linear), j < I. */
void cpu_swiglu(float *h, const float *u, int I, float limit);

/* One expert: y(H) = W2[e] @ swiglu(W1[e] @ t + b1[e]) + b2[e]. scratch holds
 * 3*I floats. h_bf16: round the SwiGLU output to bf16 values first (what the
 * GPU stores between its two expert GEMMs). */
void cpu_expert_mlp(float *y, const LayerWeights *lw, int e, const float *t, const Config *c,
                    float *scratch, int h_bf16);

#ifdef __cplusplus
}
#endif
#endif
