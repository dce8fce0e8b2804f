/* attention.hip: causal attention with sinks and the optional sliding window
 * (docs/MODEL.md §2), over a token-major batch: token i carries (slot, pos) and attends
 * to its slot's cached positions t <= pos (window > 0: also t > pos - window).
 * Decode (one token per slot) and prefill (many tokens of one slot, whose K/V
 * the rope kernel has already written) are the same launch.
 *
 * NVIDIA extra (attention_mma.hip; sm_80+, G <= 8 query heads per KV head):
 * flash-decoding on the tensor cores. One block of ATT_NW warps per (token, KV head); warp w takes
 * the 16-position tiles w, w + ATT_NW, ... of the token's visible range, so
 * the split over the context is fixed (it never depends on the batch). Per
 * tile, K and V rows go from global memory straight to registers as 16-byte
 * loads, in the layout mma.sync m16n8k16 wants (the dims of K and the
 * positions of V are permuted consistently, so the sums are exact math):
 *   S (heads x 8 positions) = Q (heads x 64) K^T, twice per tile,
 *   O (heads x 64 dims)    += P (heads x 16 positions) V.
 * The G query heads are rows 0..7 of the A operand; rows 8..15 carry the
 * low part of the same operand (q = hi + lo, p = hi + lo, both bf16), so
 * the products keep ~16 mantissa bits (fp32-grade, like the old kernel's
 * fp32 math) at no extra instruction. The online softmax (running max m,
 * per-lane partial sums l) starts from the sink (m = sink, l = 1 in warp 0)
 * so the sink takes its share of the mass and adds no value. The warps'
 * partials are combined through shared memory in warp order.
 *
 * The portable kernel (this file: AMD, the portable build, G = 16, precise
 * mode): one block per (token, KV head),
 * K and V tiles converted to fp32 in shared memory (precise: hi + lo), thread
 * (h, t) computes one score in fp32.
 * Either way a token's result depends on its own (slot, pos) alone.
 */
#include "attention_common.h" // ATT_HD, ATT_TILE
#include "extras.h"           // attention_extra
#include "gpu_check.h"

/* ATT_G query heads per KV head; the block is ATT_G * ATT_TPH threads. */
template <int ATT_G>
__global__ void __launch_bounds__(ATT_G * ATT_TPH)
f32q_bf16kv_attention(uint16_t *out, uint16_t *out_lo, const float *q, const uint16_t *k_cache,
                      const uint16_t *v_cache, const uint16_t *k_lo, const uint16_t *v_lo,
                      int cap, const int32_t *slot, const int32_t *pos, const float *sinks,
                      int window, int n_heads, int n_kv) {
    constexpr int ATT_THREADS = ATT_G * ATT_TPH;
    __shared__ float q_s[ATT_G][ATT_HD];
    __shared__ float k_s[ATT_TILE][ATT_HD + 1]; // +1: conflict-free column reads
    __shared__ float v_s[ATT_TILE][ATT_HD];
    __shared__ float p_s[ATT_G][ATT_TILE];
    const int i = blockIdx.x, g = blockIdx.y, tid = threadIdx.x;
    const int h = tid / ATT_TPH, lane = tid % ATT_TPH;
    const int dq = n_heads * ATT_HD, dkv = n_kv * ATT_HD;
    const int p = pos[i];
    const int lo = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    const int64_t slot_row0 = (int64_t)slot[i] * cap;
    const float *qg = q + (int64_t)i * dq + (int64_t)g * ATT_G * ATT_HD; // (G, HD) fp32
    for (int e = tid; e < ATT_G * ATT_HD; e += ATT_THREADS) q_s[e / ATT_HD][e % ATT_HD] = qg[e];

    const float scale = rsqrtf((float)ATT_HD);
    float m = sinks[g * ATT_G + h], l = 1.0f; // the sink: exp(sink - m) = 1
    float acc0 = 0.0f, acc1 = 0.0f;
    const int d0 = lane * ATT_DPT;
    for (int t0 = lo; t0 <= p; t0 += ATT_TILE) {
        const int n_t = min(ATT_TILE, p + 1 - t0);
        __syncthreads(); // previous tile fully consumed (and q_s written)
        for (int e = tid * 8; e < ATT_TILE * ATT_HD; e += ATT_THREADS * 8) { // 16-byte loads
            const int lr = e / ATT_HD, lc = e % ATT_HD;
            if (lr >= n_t) break;
            const int64_t row = slot_row0 + (t0 + lr) % cap;
            const int64_t off = row * dkv + g * ATT_HD + lc;
            uint4 kr = *(const uint4 *)(k_cache + off);
            uint4 vr = *(const uint4 *)(v_cache + off);
            const uint16_t *kh = (const uint16_t *)&kr, *vh = (const uint16_t *)&vr;
#pragma unroll
            for (int j = 0; j < 8; j++) {
                k_s[lr][lc + j] = bf16_to_f32_dev(kh[j]);
                v_s[lr][lc + j] = bf16_to_f32_dev(vh[j]);
            }
            if (k_lo) { // precise: hi + lo (exact in fp32)
                uint4 kl = *(const uint4 *)(k_lo + off), vl = *(const uint4 *)(v_lo + off);
                const uint16_t *klh = (const uint16_t *)&kl, *vlh = (const uint16_t *)&vl;
#pragma unroll
                for (int j = 0; j < 8; j++) {
                    k_s[lr][lc + j] += bf16_to_f32_dev(klh[j]);
                    v_s[lr][lc + j] += bf16_to_f32_dev(vlh[j]);
                }
            }
        }
        __syncthreads();
        float s = -INFINITY;
        if (lane < n_t) {
            float dot = 0.0f;
#pragma unroll 16
            for (int d = 0; d < ATT_HD; d++) dot += q_s[h][d] * k_s[lane][d];
            s = dot * scale;
        }
        const float m_new = fmaxf(m, group_max<ATT_TPH>(s));
        const float pr = lane < n_t ? expf(s - m_new) : 0.0f;
        const float alpha = expf(m - m_new);
        l = l * alpha + group_sum<ATT_TPH>(pr);
        m = m_new;
        p_s[h][lane] = pr;
        __syncthreads();
        acc0 *= alpha;
        acc1 *= alpha;
        for (int t = 0; t < n_t; t++) {
            const float pt = p_s[h][t];
            const float2 vv = *(const float2 *)&v_s[t][d0];
            acc0 += pt * vv.x;
            acc1 += pt * vv.y;
        }
    }
    const float inv_l = 1.0f / l;
    const int64_t oi = (int64_t)i * dq + ((int64_t)g * ATT_G + h) * ATT_HD + d0;
    bf16_store_pair_dev(out, out_lo, oi, acc0 * inv_l);
    bf16_store_pair_dev(out, out_lo, oi + 1, acc1 * inv_l);
}

void attention_f32q_bf16kv(const AttnArgs *a, hipStream_t stream) {
    const KvLayer kv = a->kv;
    CHECK(a->head_dim == ATT_HD && a->n_kv_heads > 0 && a->n_heads % a->n_kv_heads == 0);
    CHECK(kv.cap > 0 && a->tok.T >= 0 && a->window >= 0 && !kv.k_lo == !kv.v_lo);
    if (a->tok.T == 0) return;
    if (attention_extra(a, stream)) {
        GPU_CHECK_LAUNCH();
        return;
    }
    const int G = a->n_heads / a->n_kv_heads;
    dim3 grid(a->tok.T, a->n_kv_heads);
#define ATT_LAUNCH(GG)                                                                           \
    f32q_bf16kv_attention<GG><<<grid, GG * ATT_TPH, 0, stream>>>(                              \
        a->out, a->out_lo, a->q, kv.k, kv.v, kv.k_lo, kv.v_lo, kv.cap, a->tok.slot, a->tok.pos,   \
        a->sinks, a->window, a->n_heads, a->n_kv_heads)
    switch (G) {
    case 1: ATT_LAUNCH(1); break;
    case 2: ATT_LAUNCH(2); break;
    case 4: ATT_LAUNCH(4); break;
    case 8: ATT_LAUNCH(8); break;
    case 16: ATT_LAUNCH(16); break;
    default: fatal("attention: %d query heads per KV head unsupported (1, 2, 4, 8, 16)", G);
    }
#undef ATT_LAUNCH
    GPU_CHECK_LAUNCH();
}
