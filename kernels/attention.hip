/* attention.hip: causal attention with sinks and the optional sliding window
 * (SPEC 2), over a token-major batch: token i carries (slot, pos) and attends
 * to its slot's cached positions t <= pos (window > 0: also t > pos - window).
 * Decode (one token per slot) and prefill (many tokens of one slot, whose K/V
 * the rope kernel has already written) are the same launch.
 *
 * NVIDIA (sm_80+, G <= 8 query heads per KV head): flash-decoding on the
 * tensor cores. One block of ATT_NW warps per (token, KV head); warp w takes
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
 * Elsewhere (AMD, G = 16, or precise mode): one block per (token, KV head),
 * K and V tiles converted to fp32 in shared memory (precise: hi + lo), thread
 * (h, t) computes one score in fp32.
 * Either way a token's result depends on its own (slot, pos) alone.
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


#if defined(GETP_CUDA) || defined(__CUDACC__)
#define ATT_MMA_HOST 1 // the launcher picks the tensor-core kernel (sm_80+ device code)
#define ATT_NW 4       // warps per (token, KV head) block; fixed: results never depend on it changing
#define ATT_MT 16      // positions per warp tile

/* bf16x2 of (lo -> bits 0..15, hi -> bits 16..31), round to nearest even. */
__device__ __forceinline__ uint32_t att_pack_bf16x2(float lo, float hi) {
#if defined(GETP_SM80_MMA)
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
#else
    return (uint32_t)f32_to_bf16_dev(lo) | ((uint32_t)f32_to_bf16_dev(hi) << 16);
#endif
}

/* x = hi + lo, both bf16 pairs: hi = bf16(x), lo = bf16(x - hi). */
__device__ __forceinline__ void att_split2(float x0, float x1, uint32_t *hi, uint32_t *lo) {
    *hi = att_pack_bf16x2(x0, x1);
    const float r0 = x0 - __uint_as_float(*hi << 16), r1 = x1 - __uint_as_float(*hi & 0xffff0000u);
    *lo = att_pack_bf16x2(r0, r1);
}

__device__ __forceinline__ void att_mma(float *c, uint32_t a0, uint32_t a1, uint32_t a2,
                                        uint32_t a3, uint32_t b0, uint32_t b1) {
#if defined(GETP_SM80_MMA)
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
    (void)c, (void)a0, (void)a1, (void)a2, (void)a3, (void)b0, (void)b1;
    __trap();
#endif
}

__device__ __forceinline__ uint32_t att_word(const uint4 &v, int w) {
    return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}

/* One tile's K and V in registers. Lane (g = lane/4, q = lane%4):
 * k[j]: position t0 + 8j + g, dims 16q .. 16q+15 (two 16-byte loads);
 * v[r]: positions t0 + {2q, 2q+1, 2q+8, 2q+9}[r], dims 8g .. 8g+7. */
struct AttKV {
    uint4 k[2][2];
    uint4 v[4];
};

__device__ __forceinline__ void att_load(AttKV *kv, const uint16_t *kc, const uint16_t *vc,
                                         int64_t row0, int cap, int dkv, int t0, int p, int g,
                                         int q) {
    const uint4 z = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
    for (int j = 0; j < 2; j++) {
        const int t = t0 + 8 * j + g;
        if (t <= p) {
            const uint4 *src = (const uint4 *)(kc + (row0 + t % cap) * dkv + 16 * q);
            kv->k[j][0] = src[0];
            kv->k[j][1] = src[1];
        } else {
            kv->k[j][0] = kv->k[j][1] = z;
        }
    }
#pragma unroll
    for (int r = 0; r < 4; r++) {
        const int t = t0 + 2 * q + (r & 1) + 8 * (r >> 1);
        kv->v[r] = t <= p ? *(const uint4 *)(vc + (row0 + t % cap) * dkv + 8 * g) : z;
    }
}

template <int ATT_G>
__global__ void __launch_bounds__(ATT_NW * GETP_WAVE)
f32q_bf16kv_attention_mma(uint16_t *out, const float *q, const uint16_t *k_cache,
                          const uint16_t *v_cache, int cap, const int32_t *slot,
                          const int32_t *pos, const float *sinks, int window, int n_heads,
                          int n_kv) {
    static_assert(ATT_G >= 1 && ATT_G <= 8, "query heads per KV head sit in rows 0..7");
    __shared__ float o_s[ATT_NW][ATT_G][ATT_HD];
    __shared__ float m_s[ATT_NW][ATT_G], l_s[ATT_NW][ATT_G];
    const int i = blockIdx.x, kvh = blockIdx.y;
    const int w = threadIdx.x / GETP_WAVE, lane = threadIdx.x % GETP_WAVE;
    const int g = lane / 4, qq = lane % 4; // g: query head (A row) and K/V row; qq: k slice
    const int dq = n_heads * ATT_HD, dkv = n_kv * ATT_HD;
    const int p = pos[i];
    const int lo = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    const int64_t row0 = (int64_t)slot[i] * cap;
    const uint16_t *kc = k_cache + kvh * ATT_HD, *vc = v_cache + kvh * ATT_HD;

    /* Q (scaled by 1/sqrt(64), exact) as A fragments: row g = hi, row g + 8 = lo;
     * k-step kb holds dims 16qq + 4kb + {0,1} (k 2qq..) and {2,3} (k 2qq+8..). */
    uint32_t qa[4][4];
    {
        float qv[16];
        const float *qh = q + (int64_t)i * dq + ((int64_t)kvh * ATT_G + g) * ATT_HD + 16 * qq;
#pragma unroll
        for (int e = 0; e < 16; e += 4) {
            const float4 f = g < ATT_G ? *(const float4 *)(qh + e) : make_float4(0.f, 0.f, 0.f, 0.f);
            qv[e] = f.x * 0.125f, qv[e + 1] = f.y * 0.125f, qv[e + 2] = f.z * 0.125f;
            qv[e + 3] = f.w * 0.125f;
        }
#pragma unroll
        for (int kb = 0; kb < 4; kb++) {
            att_split2(qv[4 * kb], qv[4 * kb + 1], &qa[kb][0], &qa[kb][1]);
            att_split2(qv[4 * kb + 2], qv[4 * kb + 3], &qa[kb][2], &qa[kb][3]);
        }
    }
    float m = g < ATT_G ? sinks[kvh * ATT_G + g] : 0.0f;
    float l = (w == 0 && qq == 0 && g < ATT_G) ? 1.0f : 0.0f; // the sink: exp(sink - m) = 1
    float o[8][4];
#pragma unroll
    for (int c = 0; c < 8; c++) o[c][0] = o[c][1] = o[c][2] = o[c][3] = 0.0f;

    AttKV cur, nxt;
    int t0 = lo + ATT_MT * w;
    if (t0 <= p) att_load(&cur, kc, vc, row0, cap, dkv, t0, p, g, qq);
    for (; t0 <= p; t0 += ATT_MT * ATT_NW) {
        const int t1 = t0 + ATT_MT * ATT_NW;
        if (t1 <= p) att_load(&nxt, kc, vc, row0, cap, dkv, t1, p, g, qq); // in flight meanwhile
        /* scores: s[j][e] for positions t0 + 8j + 2qq + e (e = 0, 1) of head g */
        float s[2][2];
#pragma unroll
        for (int j = 0; j < 2; j++) {
            float c4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            const uint32_t *kw = (const uint32_t *)&cur.k[j][0]; // 8 words: dims 16qq + 2x
#pragma unroll
            for (int kb = 0; kb < 4; kb++)
                att_mma(c4, qa[kb][0], qa[kb][1], qa[kb][2], qa[kb][3], kw[2 * kb], kw[2 * kb + 1]);
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int t = t0 + 8 * j + 2 * qq + e;
                s[j][e] = t <= p ? c4[e] + c4[e + 2] : -INFINITY;
            }
        }
        float mx = fmaxf(fmaxf(s[0][0], s[0][1]), fmaxf(s[1][0], s[1][1]));
        mx = fmaxf(mx, GETP_SHFL_XOR(mx, 1));
        mx = fmaxf(mx, GETP_SHFL_XOR(mx, 2));
        const float m_new = fmaxf(m, mx);
        const float alpha = expf(m - m_new);
        m = m_new;
        float pr[2][2];
#pragma unroll
        for (int j = 0; j < 2; j++)
#pragma unroll
            for (int e = 0; e < 2; e++) pr[j][e] = expf(s[j][e] - m_new);
        l = l * alpha + ((pr[0][0] + pr[0][1]) + (pr[1][0] + pr[1][1]));
        /* P as the A fragment: k 2qq, 2qq+1 = block 0, k 2qq+8, 2qq+9 = block 1 */
        uint32_t pa[4];
        att_split2(pr[0][0], pr[0][1], &pa[0], &pa[1]);
        att_split2(pr[1][0], pr[1][1], &pa[2], &pa[3]);
#pragma unroll
        for (int c = 0; c < 8; c++) {
            /* n-block c: dim 8g + c of V rows 2qq, 2qq+1 (b0) and 2qq+8, 2qq+9 (b1) */
            const uint32_t sel = (c & 1) ? 0x7632u : 0x5410u;
            const uint32_t b0 = __byte_perm(att_word(cur.v[0], c >> 1), att_word(cur.v[1], c >> 1), sel);
            const uint32_t b1 = __byte_perm(att_word(cur.v[2], c >> 1), att_word(cur.v[3], c >> 1), sel);
#pragma unroll
            for (int e = 0; e < 4; e++) o[c][e] *= alpha;
            att_mma(o[c], pa[0], pa[1], pa[2], pa[3], b0, b1);
        }
        cur = nxt;
    }
    /* this warp's partial: head g, dims 16qq + c (o[c][0] + o[c][2]) and 16qq + 8 + c */
    l += GETP_SHFL_XOR(l, 1);
    l += GETP_SHFL_XOR(l, 2);
    if (g < ATT_G) {
#pragma unroll
        for (int c = 0; c < 8; c++) {
            o_s[w][g][16 * qq + c] = o[c][0] + o[c][2];
            o_s[w][g][16 * qq + 8 + c] = o[c][1] + o[c][3];
        }
        if (qq == 0) m_s[w][g] = m, l_s[w][g] = l;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < ATT_G * ATT_HD; e += ATT_NW * GETP_WAVE) {
        const int h = e / ATT_HD, d = e % ATT_HD;
        float mm = m_s[0][h];
#pragma unroll
        for (int v = 1; v < ATT_NW; v++) mm = fmaxf(mm, m_s[v][h]);
        float num = 0.0f, den = 0.0f;
#pragma unroll
        for (int v = 0; v < ATT_NW; v++) { // warp order: fixed
            const float f = expf(m_s[v][h] - mm);
            num += f * o_s[v][h][d];
            den += f * l_s[v][h];
        }
        out[(int64_t)i * dq + ((int64_t)kvh * ATT_G + h) * ATT_HD + d] = f32_to_bf16_dev(num / den);
    }
}
#endif

void attention_f32q_bf16kv(uint16_t *out, uint16_t *out_lo, const float *q, KvLayer kv,
                           const int32_t *slot, const int32_t *pos, const float *sinks,
                           int window, int T, int n_heads, int n_kv_heads, int head_dim,
                           hipStream_t stream) {
    CHECK(head_dim == ATT_HD && n_kv_heads > 0 && n_heads % n_kv_heads == 0);
    CHECK(kv.cap > 0 && T >= 0 && window >= 0 && !kv.k_lo == !kv.v_lo);
    if (T == 0) return;
    const int G = n_heads / n_kv_heads;
    dim3 grid(T, n_kv_heads);
#if defined(ATT_MMA_HOST)
#define ATT_MMA_LAUNCH(GG)                                                                       \
    f32q_bf16kv_attention_mma<GG><<<grid, ATT_NW * GETP_WAVE, 0, stream>>>(                     \
        out, q, kv.k, kv.v, kv.cap, slot, pos, sinks, window, n_heads, n_kv_heads)
    if (G <= 8 && !kv.k_lo && !out_lo) {
        switch (G) {
        case 1: ATT_MMA_LAUNCH(1); break;
        case 2: ATT_MMA_LAUNCH(2); break;
        case 4: ATT_MMA_LAUNCH(4); break;
        case 8: ATT_MMA_LAUNCH(8); break;
        default: fatal("attention: %d query heads per KV head unsupported (1, 2, 4, 8, 16)", G);
        }
        GPU_CHECK_LAUNCH();
        return;
    }
#undef ATT_MMA_LAUNCH
#endif
#define ATT_LAUNCH(GG)                                                                           \
    f32q_bf16kv_attention<GG><<<grid, GG * ATT_TPH, 0, stream>>>(                              \
        out, out_lo, q, kv.k, kv.v, kv.k_lo, kv.v_lo, kv.cap, slot, pos, sinks, window, n_heads,  \
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
