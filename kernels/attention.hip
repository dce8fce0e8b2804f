/* attention.hip: causal attention with sinks and the optional sliding window
 * (SPEC 2), over a token-major batch: token i carries (slot, pos) and attends
 * to its slot's cached positions t <= pos (window > 0: also t > pos - window).
 * Decode (one token per slot) and prefill (many tokens of one slot, whose K/V
 * the rope kernel has already written) are the same launch.
 *
 * One block per (token, KV head): the G = n_heads / n_kv_heads query heads
 * (a template parameter; gpt-oss has 8)
 * that share a KV head (GQA) share each K/V tile load. Per tile of ATT_TILE
 * positions: K and V go to shared memory as fp32; thread (h, t) computes
 * score q_h . k_t; the ATT_TPH threads of head h (a sub-group of one wave)
 * update the online softmax (running max m, running sum l); then thread
 * (h, dims d..d+1) accumulates sum_t p_t v_t. The sink starts the softmax
 * (m = sink, l = 1) so it takes its share of the mass and adds no value.
 * Each token's result depends on its own (slot, pos) alone: tiles start at
 * its first visible position, whatever else is in the batch.
 */
#include "ops_gpu.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define ATT_HD 64                         // head_dim this kernel is written for
#define ATT_TILE 32                       // positions per tile
#define ATT_TPH ATT_TILE                  // threads per query head: one score each per tile
#define ATT_DPT (ATT_HD / ATT_TPH)        // output dims per thread (2)
static_assert(ATT_TPH <= GETP_WAVE && GETP_WAVE % ATT_TPH == 0, "a head's lanes sit in one wave");
static_assert(ATT_DPT == 2, "the output loop below handles two dims per thread");

/* ATT_G query heads per KV head; the block is ATT_G * ATT_TPH threads. */
template <int ATT_G>
__global__ void __launch_bounds__(ATT_G * ATT_TPH)
f32q_bf16kv_attention(uint16_t *out, const float *q, const uint16_t *k_cache,
                      const uint16_t *v_cache, int cap, const int32_t *slot, const int32_t *pos,
                      const float *sinks, int window, int n_heads, int n_kv) {
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
            uint4 kr = *(const uint4 *)(k_cache + row * dkv + g * ATT_HD + lc);
            uint4 vr = *(const uint4 *)(v_cache + row * dkv + g * ATT_HD + lc);
            const uint16_t *kh = (const uint16_t *)&kr, *vh = (const uint16_t *)&vr;
#pragma unroll
            for (int j = 0; j < 8; j++) {
                k_s[lr][lc + j] = bf16_to_f32_dev(kh[j]);
                v_s[lr][lc + j] = bf16_to_f32_dev(vh[j]);
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
    uint16_t *o = out + (int64_t)i * dq + ((int64_t)g * ATT_G + h) * ATT_HD + d0; // bf16
    o[0] = f32_to_bf16_dev(acc0 * inv_l);
    o[1] = f32_to_bf16_dev(acc1 * inv_l);
}

void attention_f32q_bf16kv(uint16_t *out, const float *q, KvLayer kv, const int32_t *slot,
                           const int32_t *pos, const float *sinks, int window, int T,
                           int n_heads, int n_kv_heads, int head_dim, hipStream_t stream) {
    CHECK(head_dim == ATT_HD && n_kv_heads > 0 && n_heads % n_kv_heads == 0);
    CHECK(kv.cap > 0 && T >= 0 && window >= 0);
    if (T == 0) return;
    const int G = n_heads / n_kv_heads;
    dim3 grid(T, n_kv_heads);
#define ATT_LAUNCH(GG)                                                                           \
    f32q_bf16kv_attention<GG><<<grid, GG * ATT_TPH, 0, stream>>>(out, q, kv.k, kv.v, kv.cap, slot, \
                                                                 pos, sinks, window, n_heads,    \
                                                                 n_kv_heads)
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
