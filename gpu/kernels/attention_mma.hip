/* attention_mma.hip: the NVIDIA extra of attention (extras.h; the fast
 * NVIDIA build only): flash decoding on the tensor cores, the algorithm of
 * attention.hip's tile kernel written directly in mma.sync m16n8k16 fragments:
 * 16-position tiles (S twice per tile), K and V both fetched LA tiles ahead
 * (production LA = 1; bench_attention.cu times LA = 2: the same bits, earlier
 * loads). Lane (g = lane/4, q = lane%4): query head g (A rows g: hi, g + 8: lo). */
#include "attention_common.h" // ATT_HD
#include "extras.h"           // attention_extra
#include "gpu_check.h"

#define ATT_NW 4       // warps per (token, KV head) block; fixed: results never depend on it changing
#define ATT_MT 16      // positions per warp tile
static_assert(ATT_CHUNK % (ATT_MT * ATT_NW) == 0, "a warp's tiles continue across a chunk boundary");

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

__device__ __forceinline__ void att_load(AttKV *kv, const uint16_t *kc, const uint16_t *vc, int cap,
                                         int ps, int t0, int p, int g, int q) {
    const uint4 z = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
    for (int j = 0; j < 2; j++) {
        const int t = t0 + 8 * j + g;
        if (t <= p) {
            const uint4 *src = (const uint4 *)(kc + (int64_t)(t % cap) * ps + 16 * q);
            kv->k[j][0] = src[0];
            kv->k[j][1] = src[1];
        } else {
            kv->k[j][0] = kv->k[j][1] = z;
        }
    }
#pragma unroll
    for (int r = 0; r < 4; r++) {
        const int t = t0 + 2 * q + (r & 1) + 8 * (r >> 1);
        kv->v[r] = t <= p ? *(const uint4 *)(vc + (int64_t)(t % cap) * ps + 8 * g) : z;
    }
}

template <int ATT_G, int LA = 1, int MINB = 1>
__global__ void __launch_bounds__(ATT_NW * GETP_WAVE, MINB)
f32q_bf16kv_attention_mma(uint16_t *out, const float *q, const uint16_t *k_cache,
                          const uint16_t *v_cache, int cap, KvStrides st, const int32_t *slot,
                          const int32_t *pos, const float *sinks, int window, int n_heads, AttSplit sp) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    static_assert(ATT_G >= 1 && ATT_G <= 8, "query heads per KV head sit in rows 0..7");
    static_assert(LA == 1 || LA == 2, "tiles in flight ahead of the one multiplied");
    constexpr int STRIDE = ATT_MT * ATT_NW; // a warp's next tile
    __shared__ AttWaves<ATT_G, ATT_NW> ws; // each warp's running state over its chunks
    const int i = blockIdx.x, kvh = blockIdx.y;
    const int w = threadIdx.x / GETP_WAVE, lane = threadIdx.x % GETP_WAVE;
    const int g = lane / 4, qq = lane % 4; // g: query head (A row) and K/V row; qq: k slice
    const int dq = n_heads * ATT_HD;
    const int p = pos[i];
    const int lo = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    int nch, clen;
    att_chunks(lo, p, &nch, &clen);
    if ((int)blockIdx.z >= nch) return; // a block a chunk: this token has fewer
    const int64_t base = slot[i] * st.slot + (int64_t)kvh * st.head; // this KV head, position 0
    const uint16_t *kc = k_cache + base, *vc = v_cache + base;

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
    float Mr = 0.0f, Lr = 0.0f; // the warp's running M and den over its chunks (set by chunk 1)
    /* The tiles in flight run on across chunk boundaries (clen is a multiple of
     * STRIDE: a warp's tiles of the next chunk continue its sequence), so a
     * walking block streams its token's range as one pass; loads mask at p. */
    AttKV cur, nxt, nx2; // tiles t0, t0 + STRIDE, t0 + 2 STRIDE (LA = 2)
    {
        const int t0 = lo + (int)blockIdx.z * clen + ATT_MT * w;
        if (t0 <= p) att_load(&cur, kc, vc, cap, st.pos, t0, p, g, qq);
        if (LA == 2 && t0 + STRIDE <= p) att_load(&nxt, kc, vc, cap, st.pos, t0 + STRIDE, p, g, qq);
    }
    for (int ch = blockIdx.z; ch < nch; ch += gridDim.z) { // the walking block: every chunk in order
        const int c0 = lo + ch * clen, pe = min(p, c0 + clen - 1); // this chunk: [c0, pe]
        const int pf = gridDim.z == 1 ? p : pe; // how far ahead loads may run
        float m = g < ATT_G ? sinks[kvh * ATT_G + g] : 0.0f;
        float l = (ch == 0 && w == 0 && qq == 0 && g < ATT_G) ? 1.0f : 0.0f; // the sink (chunk 0): exp(sink - m) = 1
        float o[8][4];
#pragma unroll
        for (int c = 0; c < 8; c++) o[c][0] = o[c][1] = o[c][2] = o[c][3] = 0.0f;

        int t0 = c0 + ATT_MT * w;
        for (; t0 <= pe; t0 += STRIDE) {
            const int t1 = t0 + LA * STRIDE;
            if (t1 <= pf) att_load(LA == 2 ? &nx2 : &nxt, kc, vc, cap, st.pos, t1, p, g, qq); // in flight meanwhile
            /* scores: s[j][e] for positions t0 + 8j + 2qq + e (e = 0, 1) of head g */
            float s[2][2];
#pragma unroll
            for (int j = 0; j < 2; j++) {
                float c4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                const uint32_t *kw = (const uint32_t *)&cur.k[j][0]; // 8 words: dims 16qq + 2x
#pragma unroll
                for (int kb = 0; kb < 4; kb++)
                    port_mma_16x8x16(c4, qa[kb][0], qa[kb][1], qa[kb][2], qa[kb][3], kw[2 * kb], kw[2 * kb + 1]);
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int t = t0 + 8 * j + 2 * qq + e;
                    s[j][e] = t <= pe ? c4[e] + c4[e + 2] : -INFINITY;
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
                port_mma_16x8x16(o[c], pa[0], pa[1], pa[2], pa[3], b0, b1);
            }
            cur = nxt;
            if (LA == 2) nxt = nx2;
        }
        /* this warp's chunk partial (head g, dims 16qq + c: o[c][0] + o[c][2]; 16qq + 8 + c:
         * o[c][1] + o[c][3]) folded into its running state: M and den in registers, num in
         * ws.o (lane (g, qq) owns those 16 elements), the first chunk copied */
        l += GETP_SHFL_XOR(l, 1);
        l += GETP_SHFL_XOR(l, 2);
        const bool first = ch == (int)blockIdx.z;
        float fa = 0.0f, fb = 1.0f;
        if (first) {
            Mr = m, Lr = l;
        } else {
            att_coef(Mr, m, fa, fb);
            Lr = fmaf(fb, l, fa * Lr);
        }
        if (g < ATT_G) {
#pragma unroll
            for (int c = 0; c < 8; c++) {
                float &a0 = ws.o[w][g][16 * qq + c], &a1 = ws.o[w][g][16 * qq + 8 + c];
                const float v0 = o[c][0] + o[c][2], v1 = o[c][1] + o[c][3];
                a0 = first ? v0 : fmaf(fb, v0, fa * a0);
                a1 = first ? v1 : fmaf(fb, v1, fa * a1);
            }
        }
    }
    if (g < ATT_G && qq == 0) ws.m[w][g] = Mr, ws.l[w][g] = Lr;
    att_finish(ws, out + (int64_t)i * dq + (int64_t)kvh * ATT_G * ATT_HD, sp, i * gridDim.y + kvh,
               blockIdx.z, nch);
}

/* GETP_NO_ATT_MMA=1 declines every shape, so the fast build runs the tile
 * kernel of attention.hip (A/B runs of the two flash-decoding kernels). */
static bool att_mma_on(void) {
    static int on = -1;
    if (on < 0) on = !env_flag("GETP_NO_ATT_MMA");
    return on != 0;
}
/* GETP_ATT_LA2=1: two tiles in flight (LA = 2; the same bits), for the
 * engine's A/B of what bench_attention.cu's v4/v5 time alone. */
static bool att_la2(void) {
    static int on = -1;
    if (on < 0) on = env_flag("GETP_ATT_LA2");
    return on != 0;
}

/* Blocks an SM the one-tile-ahead kernel is compiled for: 4 (<= 128 registers,
 * 16 warps an SM; a few bytes of spill). Run 73's ncu: at 3 blocks (142
 * registers, 12 warps) the kernel issued on 49% of cycles, its warps stalled on
 * fixed-latency dependencies (not memory). GETP_ATT_MINB=3 for the A/B: the
 * same bits (register allocation only). */
static int att_mma_minb(void) {
    static int v = -1;
    if (v < 0) v = env_digit("GETP_ATT_MINB", 4, 3, 4, "3 or 4");
    return v;
}

/* The tensor-core kernel with la tiles in flight (1 or 2), G <= 8 query heads
 * per KV head; false (nothing launched) for other G. attention_extra's launch,
 * and bench_attention.cu's for LA = 2. */
static bool att_mma_launch(const AttnArgs *a, int la, hipStream_t stream) {
    const AttSplit sp = att_split_for(a);
    dim3 grid(a->tok.T, a->n_kv_heads, sp.scr ? ATT_MAX_CHUNKS : 1);
#define ATT_MMA_LAUNCH(GG)                                                                       \
    port_launch(la == 2 ? f32q_bf16kv_attention_mma<GG, 2>                                         \
                : att_mma_minb() == 3 ? f32q_bf16kv_attention_mma<GG, 1, 3> : f32q_bf16kv_attention_mma<GG, 1, 4>, grid, \
        ATT_NW * GETP_WAVE, 0, stream, a->out, a->q, a->kv.k, a->kv.v, a->kv.cap, a->kv.st,        \
        a->tok.slot, a->tok.pos, a->sinks, a->window, a->n_heads, sp)
    switch (a->n_heads / a->n_kv_heads) {
    case 1: ATT_MMA_LAUNCH(1); break;
    case 2: ATT_MMA_LAUNCH(2); break;
    case 4: ATT_MMA_LAUNCH(4); break;
    case 8: ATT_MMA_LAUNCH(8); break;
    default: return false; // the portable kernel refuses it with its message
    }
#undef ATT_MMA_LAUNCH
    return true;
}

/* G <= 8 query heads per KV head, fast mode: the tensor-core kernel. */
bool attention_extra(const AttnArgs *a, hipStream_t stream) {
    const int G = a->n_heads / a->n_kv_heads;
    if (G > 8 || a->kv.k_lo || a->out_lo || !att_mma_on()) return false;
    return att_mma_launch(a, att_la2() ? 2 : 1, stream);
}
