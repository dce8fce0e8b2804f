/* matmul.h: dense GEMMs of the forward pass (QKV, attention output, router,
 * unembedding), token-major: M tokens in flight, weights (N, K) row-major bf16
 * as in the checkpoint. Activations enter as bf16 (the output of a norm or of
 * attention), accumulation is fp32, output fp32.
 *
 * Batch invariance: a row's result must not depend on M or on the other rows
 * (one fixed reduction order over K whatever the tile choice).
 */
#ifndef GETP_MATMUL_H
#define GETP_MATMUL_H

#include "gpu_port.h"
#include <stdint.h>

/* y(M, N) = x(M, K) @ W(N, K)^T + bias(N) [+ residual(M, N)].
 * bias and residual may be NULL; y may alias residual (in-place residual add). */
void matmul_bf16_bf16w(float *y, const uint16_t *x, const uint16_t *w, const float *bias,
                       const float *residual, int M, int N, int K, hipStream_t stream);

/* Precise mode (ops_gpu.h): x = x + x_lo as two bf16 parts, y = W x + bias
 * [+ residual] in two passes (the second accumulates into y: both passes are
 * exact products in fp32 sums). x_lo NULL: one pass, as matmul_bf16_bf16w. */
void matmul_pair_bf16_bf16w(float *y, const uint16_t *x, const uint16_t *x_lo, const uint16_t *w,
                            const float *bias, const float *residual, int M, int N, int K,
                            hipStream_t stream);

/* Unembedding fused with argmax: ids(M) = argmax_n (x(M,K) @ W(N,K)^T) with
 * ties to the lower id; logits are never written. */
void matmul_argmax_bf16_bf16w(int32_t *ids, const uint16_t *x, const uint16_t *w, int M, int N,
                              int K, hipStream_t stream);

#endif
