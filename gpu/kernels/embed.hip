/* embed.hip: the first op of the forward pass, x = embedding[token], for the
 * T tokens of a step. The table stays bf16 on the GPU (V x H is the largest
 * dense tensor); the residual stream is fp32, so rows are widened here. One
 * block per token, 8 bf16 (16 bytes) per thread per load.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define EMBED_THREADS 256

__global__ void bf16w_embed_f32out(float *x, const uint16_t *emb, const int32_t *tok, int H) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    const int i = blockIdx.x;
    const uint16_t *src = emb + (int64_t)tok[i] * H; // (H) bf16
    float *dst = x + (int64_t)i * H;                 // (H) fp32
    for (int c = threadIdx.x * 8; c < H; c += EMBED_THREADS * 8) {
        uint4 raw = *(const uint4 *)(src + c);
        const uint16_t *h = (const uint16_t *)&raw;
        float4 a = make_float4(bf16_to_f32_dev(h[0]), bf16_to_f32_dev(h[1]),
                               bf16_to_f32_dev(h[2]), bf16_to_f32_dev(h[3]));
        float4 b = make_float4(bf16_to_f32_dev(h[4]), bf16_to_f32_dev(h[5]),
                               bf16_to_f32_dev(h[6]), bf16_to_f32_dev(h[7]));
        *(float4 *)(dst + c) = a;
        *(float4 *)(dst + c + 4) = b;
    }
}

void embed_bf16w_f32out(float *x, const uint16_t *emb, const int32_t *tok, int T, int H,
                        hipStream_t stream) {
    CHECK(H % 8 == 0 && T >= 0);
    if (T == 0) return;
    port_launch(bf16w_embed_f32out, T, EMBED_THREADS, 0, stream, x, emb, tok, H);
    GPU_CHECK_LAUNCH();
}
