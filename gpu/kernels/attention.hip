/* attention.hip: causal attention with sinks and the optional sliding window
 * (docs/MODEL.md §2), over a token-major batch: token i carries (slot, pos) and attends
 * to its slot's cached positions t <= pos (window > 0: also t > pos - window).
 * Decode (one token per slot) and prefill (many tokens of one slot, whose K/V
 * the rope kernel has already written) are the same launch.
 *
 * The tile kernel (every build; G <= 8 query heads per KV head, bf16 mode):
 * flash decoding over the port's matrix tile (tile.h), one source for MFMA and
 * mma.sync. One block of ATT_WAVES waves per (token, KV head); wave w takes
 * the 32-position tiles w, w + ATT_WAVES, ... of the token's visible range, so
 * the split over the context is fixed (it never depends on the batch). Per
 * tile, K and V rows go from global memory straight to registers (K a tile
 * ahead) in the lanes' operand layout:
 *   S (16 x TILE_N positions) = Q (16 x 64 dims) K^T, TILE_K / TILE_N times,
 *   O (16 x 64 dims)        += P (16 x 32 positions) V.
 * The G query heads are A rows 0..7; rows 8..15 carry the low part of the
 * same operand (q = hi + lo, p = hi + lo, both bf16), so the products keep
 * ~16 mantissa bits (fp32-grade) at no extra instruction; C rows h and h + 8
 * are summed (tile_c_fold). S's C tiles become P's A operand through
 * port_tile_chain.h (registers on mma.sync, the wave's LDS on MFMA), which
 * also fixes which position each k of the P V step takes, and V is loaded in
 * that order (the dims of O are permuted: block c, column n = dim NB n + c).
 * The online softmax (running max m per C row, per-lane partial sums l)
 * starts from the sink (m = sink, l = 1 once per row in wave 0) so the sink
 * takes its share of the mass and adds no value. The waves' partials are
 * combined through shared memory in wave order.
 *
 * NVIDIA extra (attention_mma.hip, the fast build): the same algorithm written
 * directly in mma.sync fragments, 16-position tiles, both K and V a tile ahead.
 *
 * The scalar kernel (G = 16, precise mode): one block per (token, KV head),
 * K and V tiles converted to fp32 in shared memory (precise: hi + lo), thread
 * (h, t) computes one score in fp32.
 * Every kernel: a token's result depends on its own (slot, pos) alone.
 */
#include "attention_common.h" // ATT_HD, ATT_TILE, the kernel choice
#include "tile.h"             // TileA/B/C, tile_mma, the lane maps
#include "port_tile_chain.h"  // C -> A, fold, row reductions
#include "extras.h"           // attention_extra
#include "gpu_check.h"

/* ATT_G query heads per KV head; the block is ATT_G * ATT_TPH threads. */
template <int ATT_G>
__global__ void __launch_bounds__(ATT_G * ATT_TPH)
f32q_bf16kv_attention(uint16_t *out, uint16_t *out_lo, const float *q, const uint16_t *k_cache,
                      const uint16_t *v_cache, const uint16_t *k_lo, const uint16_t *v_lo,
                      int cap, KvStrides st, const int32_t *slot, const int32_t *pos,
                      const float *sinks, int window, int n_heads) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    constexpr int ATT_THREADS = ATT_G * ATT_TPH;
    __shared__ float q_s[ATT_G][ATT_HD];
    __shared__ float k_s[ATT_TILE][ATT_HD + 1]; // +1: conflict-free column reads
    __shared__ float v_s[ATT_TILE][ATT_HD];
    __shared__ float p_s[ATT_G][ATT_TILE];
    const int i = blockIdx.x, g = blockIdx.y, tid = threadIdx.x;
    const int h = tid / ATT_TPH, lane = tid % ATT_TPH;
    const int dq = n_heads * ATT_HD;
    const int p = pos[i];
    const int lo = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    const int64_t base = slot[i] * st.slot + (int64_t)g * st.head; // KV head g, position 0
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
            const int64_t off = base + (int64_t)((t0 + lr) % cap) * st.pos + lc;
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

/* ---- the tile kernel: flash decoding over the port's matrix tile ---- */
#define ATT_WAVES 4              // waves per (token, KV head) block; fixed: the split never changes
#define ATT_PT TILE_K            // positions per wave tile: one 32-step of O += P V
#define ATT_NB (ATT_HD / TILE_N) // O blocks: block c, column n holds dim ATT_NB * n + c
#define ATT_MINB 3 // blocks per SM (AMD: waves per SIMD): <= 168 registers a lane under nvcc, no spills
static_assert(ATT_NB == 4 || ATT_NB == 8, "V rows are loaded as 8 or 16 bytes");
static_assert(ATT_CHUNK % (ATT_PT * ATT_WAVES) == 0, "a wave's tiles continue across a chunk boundary");

/* ATT_NB consecutive bf16 of one V row. */
struct AttVRow {
    uint32_t w[ATT_NB / 2];
};
/* One wave tile in registers: K (S tile j's B operand, k-step ks: K row
 * t0 + j TILE_N + tile_b_row(), dims 32 ks + tile_k_off() .. +7) and V (the
 * lane's B operands of O += P V: v[e] = V row t0 + tile_chain_pos(tile_k_off()
 * + e), dims ATT_NB tile_b_row() ..). Positions past p load 0s. K is fetched a
 * tile ahead, V at the top of its own tile (its latency hides behind S and the
 * softmax): both a tile ahead would not fit the 168 registers of 3 blocks per
 * SM under nvcc. */
struct AttTileK {
    uint4 k[TILE_CHAIN_NS][2];
};
struct AttTileV {
    AttVRow v[8];
};

__device__ __forceinline__ void att_load_k(AttTileK *kt, const uint16_t *kc, int cap, int ps, int t0,
                                           int p) {
    const int br = tile_b_row(), ko = tile_k_off();
#pragma unroll
    for (int j = 0; j < TILE_CHAIN_NS; j++) {
        const int t = t0 + j * TILE_N + br;
#pragma unroll
        for (int ks = 0; ks < 2; ks++)
            kt->k[j][ks] = t <= p ? *(const uint4 *)(kc + (int64_t)(t % cap) * ps + 32 * ks + ko)
                                  : make_uint4(0u, 0u, 0u, 0u);
    }
}
__device__ __forceinline__ void att_load_v(AttTileV *vt, const uint16_t *vc, int cap, int ps, int t0,
                                           int p) {
    const int br = tile_b_row(), ko = tile_k_off();
#pragma unroll
    for (int e = 0; e < 8; e++) {
        const int t = t0 + tile_chain_pos(ko + e);
        const uint16_t *src = vc + (int64_t)(t % cap) * ps + ATT_NB * br;
#if ATT_NB == 8
        const uint4 x = t <= p ? *(const uint4 *)src : make_uint4(0u, 0u, 0u, 0u);
        vt->v[e].w[0] = x.x, vt->v[e].w[1] = x.y, vt->v[e].w[2] = x.z, vt->v[e].w[3] = x.w;
#else
        const uint2 x = t <= p ? *(const uint2 *)src : make_uint2(0u, 0u);
        vt->v[e].w[0] = x.x, vt->v[e].w[1] = x.y;
#endif
    }
}

/* bf16 pair (element c of row a, element c of row b): B word of block c. */
__device__ __forceinline__ uint32_t att_pick(const AttVRow &a, const AttVRow &b, int c) {
    const uint32_t x = a.w[c >> 1], y = b.w[c >> 1];
    return (c & 1) ? (x >> 16) | (y & 0xffff0000u) : (x & 0xffffu) | (y << 16);
}
__device__ __forceinline__ float att_bf16_round(float x) { return __uint_as_float(port_pack_bf16x2(x, 0.0f) << 16); }

/* The lane's C items: att_own(i) is the item whose value item i repeats (the
 * fold partner in the same lane: rows r and r + 8 hold one head), att_state(i)
 * the item that keeps the softmax state (m, l, alpha) of item i's row. Both are
 * constants once unrolled. */
__device__ __forceinline__ int att_own(int i) {
    return TILE_C_FOLD_ITEM(i) >= 0 && TILE_C_FOLD_ITEM(i) < i ? TILE_C_FOLD_ITEM(i) : i;
}
__device__ __forceinline__ int att_state(int i) { return TILE_C_ROW_ITEM(att_own(i)); }

template <int ATT_G>
__global__ void __launch_bounds__(ATT_WAVES * GETP_WAVE, ATT_MINB)
f32q_bf16kv_attention_tile(uint16_t *out, const float *q, const uint16_t *k_cache,
                           const uint16_t *v_cache, int cap, KvStrides st, const int32_t *slot,
                           const int32_t *pos, const float *sinks, int window, int n_heads, AttSplit sp) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    static_assert(ATT_G >= 1 && ATT_G <= 8, "query heads sit in A rows 0..7 (hi) and 8..15 (lo)");
    constexpr int NS = TILE_CHAIN_NS;
    __shared__ AttWaves<ATT_G, ATT_WAVES> ws; // each wave's running state over its chunks
    __shared__ TileChainLds ch_s[ATT_WAVES];
    const int i = blockIdx.x, kvh = blockIdx.y, w = threadIdx.x / GETP_WAVE;
    const int dq = n_heads * ATT_HD;
    const int p = pos[i];
    const int lo = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    int nch, clen;
    att_chunks(lo, p, &nch, &clen);
    if ((int)blockIdx.z >= nch) return; // a block a chunk: this token has fewer
    const int64_t base = slot[i] * st.slot + (int64_t)kvh * st.head; // this KV head, position 0
    const uint16_t *kc = k_cache + base, *vc = v_cache + base;

    /* Q scaled by 1/sqrt(64) (exact) as the A operand of S = Q K^T, two k-steps
     * of 32 dims: row h < 8 = bf16(q_h), row h + 8 = bf16(q_h - bf16(q_h)). */
    TileA qa[2];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++) {
        const int row = tile_a_row(r), h = row & 7;
#pragma unroll
        for (int ks = 0; ks < 2; ks++) {
            const float *src = q + (int64_t)i * dq + ((int64_t)kvh * ATT_G + h) * ATT_HD + 32 * ks + tile_k_off();
            float x[8];
#pragma unroll
            for (int e = 0; e < 8; e += 4) {
                const float4 f = h < ATT_G ? *(const float4 *)(src + e) : make_float4(0.f, 0.f, 0.f, 0.f);
                x[e] = f.x * 0.125f, x[e + 1] = f.y * 0.125f, x[e + 2] = f.z * 0.125f, x[e + 3] = f.w * 0.125f;
            }
            uint32_t wd[4];
#pragma unroll
            for (int e = 0; e < 4; e++) {
                uint32_t hi, lw;
                att_split2(x[2 * e], x[2 * e + 1], &hi, &lw);
                wd[e] = row < 8 ? hi : lw;
            }
            qa[ks].v[r] = make_uint4(wd[0], wd[1], wd[2], wd[3]);
        }
    }
    /* K's tile in flight runs on across chunk boundaries (clen is a multiple of
     * the waves' stride: a wave's tiles of the next chunk continue its sequence),
     * so a walking block streams its token's range as one pass; loads mask at p. */
    AttTileK cur, nxt;
    {
        const int t0 = lo + (int)blockIdx.z * clen + ATT_PT * w;
        if (t0 <= p) att_load_k(&cur, kc, cap, st.pos, t0, p);
    }
    for (int ch = blockIdx.z; ch < nch; ch += gridDim.z) { // the walking block: every chunk in order
        const int c0 = lo + ch * clen, pe = min(p, c0 + clen - 1); // this chunk: [c0, pe]
        const int pf = gridDim.z == 1 ? p : pe; // how far ahead loads may run
        /* Online softmax per C row (state in item att_state(i)): it starts from the
         * sink (m = sink; l = 1 once per row: chunk 0, wave 0, column 0), so the sink takes
         * its share of the mass and adds no value. */
        float m[4], l[4];
#pragma unroll
        for (int it = 0; it < 4; it++) {
            const int h = tile_c_row(it) & 7;
            m[it] = h < ATT_G ? sinks[kvh * ATT_G + h] : 0.0f;
            l[it] = (ch == 0 && w == 0 && tile_c_col(it) == 0) ? 1.0f : 0.0f;
        }
        TileC o[ATT_NB];
#pragma unroll
        for (int c = 0; c < ATT_NB; c++) tile_zero(&o[c]);

        AttTileV vt;
        int t0 = c0 + ATT_PT * w;
        for (; t0 <= pe; t0 += ATT_PT * ATT_WAVES) {
            const int t1 = t0 + ATT_PT * ATT_WAVES;
            att_load_v(&vt, vc, cap, st.pos, t0, p);
            if (t1 <= pf) att_load_k(&nxt, kc, cap, st.pos, t1, p); // in flight meanwhile
            /* scores: C tile j = positions t0 + j TILE_N + column; rows r and r + 8 summed */
            float sc[NS][4];
#pragma unroll
            for (int j = 0; j < NS; j++) {
                TileC s;
                tile_zero(&s);
                TileB b;
                b.v = cur.k[j][0];
                tile_mma(&s, &qa[0], &b);
                b.v = cur.k[j][1];
                tile_mma(&s, &qa[1], &b);
#pragma unroll
                for (int it = 0; it < 4; it++) {
                    const float f = s.c[it] + tile_c_fold(&s, it);
                    sc[j][it] = t0 + j * TILE_N + tile_c_col(it) <= pe ? f : -INFINITY;
                }
            }
            float mx[4], alpha[4], pr[NS][4];
#pragma unroll
            for (int it = 0; it < 4; it++) mx[it] = -INFINITY;
#pragma unroll
            for (int j = 0; j < NS; j++)
#pragma unroll
                for (int it = 0; it < 4; it++)
                    if (att_own(it) == it) mx[att_state(it)] = fmaxf(mx[att_state(it)], sc[j][it]);
#pragma unroll
            for (int it = 0; it < 4; it++) {
                if (att_state(it) != it) continue;
                const float m_new = fmaxf(m[it], tile_c_row_max(mx[it]));
                alpha[it] = expf(m[it] - m_new);
                m[it] = m_new;
                l[it] *= alpha[it];
            }
#pragma unroll
            for (int j = 0; j < NS; j++)
#pragma unroll
                for (int it = 0; it < 4; it++)
                    if (att_own(it) == it) {
                        pr[j][it] = expf(sc[j][it] - m[att_state(it)]);
                        l[att_state(it)] += pr[j][it];
                    }
            /* P as the A operand: row h < 8 = bf16(pe), row h + 8 = bf16(pe - bf16(pe)) */
            float av[NS][4];
#pragma unroll
            for (int j = 0; j < NS; j++)
#pragma unroll
                for (int it = 0; it < 4; it++) {
                    const float pv = pr[j][att_own(it)];
                    av[j][it] = tile_c_row(it) < 8 ? pv : pv - att_bf16_round(pv);
                }
            TileA pa;
            tile_c_to_a(&pa, av, &ch_s[w]);
#pragma unroll
            for (int c = 0; c < ATT_NB; c++) {
                TileB bv;
                bv.v = make_uint4(att_pick(vt.v[0], vt.v[1], c), att_pick(vt.v[2], vt.v[3], c),
                                  att_pick(vt.v[4], vt.v[5], c), att_pick(vt.v[6], vt.v[7], c));
#pragma unroll
                for (int it = 0; it < 4; it++) o[c].c[it] *= alpha[att_state(it)];
                tile_mma(&o[c], &pa, &bv);
            }
            cur = nxt;
        }
        /* this wave's chunk partial (head h = rows h and h + 8 of O summed) folded
         * into its running state in ws: num in ws.o (each element's one owner
         * lane), M and den in ws.m / ws.l (below); the first chunk copied */
        const bool first = ch == (int)blockIdx.z;
#pragma unroll
        for (int it = 0; it < 4; it++)
            if (att_state(it) == it) l[it] = tile_c_row_sum(l[it]);
        /* M and den live in ws (written by the row's column-0 lane): every lane
         * reads its rows' M (state items), the row's lanes meet in a shuffle,
         * then the owner writes; the other items take their row's weights */
        float fa[4], fb[4], Mn[4];
#pragma unroll
        for (int it = 0; it < 4; it++) {
            const int row = tile_c_row(it);
            Mn[it] = m[it], fa[it] = 0.0f, fb[it] = 1.0f;
            if (att_state(it) == it && !first && row < ATT_G) {
                Mn[it] = ws.m[w][row];
                att_coef(Mn[it], m[it], fa[it], fb[it]);
            }
        }
#pragma unroll
        for (int it = 0; it < 4; it++) fa[it] = fa[att_state(it)], fb[it] = fb[att_state(it)];
#pragma unroll
        for (int c = 0; c < ATT_NB; c++)
#pragma unroll
            for (int it = 0; it < 4; it++) {
                const float v = o[c].c[it] + tile_c_fold(&o[c], it);
                const int row = tile_c_row(it);
                if (row < ATT_G) {
                    float &acc = ws.o[w][row][ATT_NB * tile_c_col(it) + c];
                    acc = first ? v : fmaf(fb[it], v, fa[it] * acc);
                }
            }
#pragma unroll
        for (int it = 0; it < 4; it++) {
            if (att_state(it) != it) continue;
            const float M = tile_c_row_max(Mn[it]); // all equal: the row's lanes meet here
            const int row = tile_c_row(it);
            if (row < ATT_G && tile_c_col(it) == 0) {
                ws.m[w][row] = M;
                float &den = ws.l[w][row];
                den = first ? l[it] : fmaf(fb[it], l[it], fa[it] * den);
            }
        }
    }
    att_finish(ws, out + (int64_t)i * dq + (int64_t)kvh * ATT_G * ATT_HD, sp, i * gridDim.y + kvh,
               blockIdx.z, nch);
}

/* The chunks' mapping to blocks (attention_common.h), by T alone: a block a
 * chunk while T x KV heads <= ATT_SPLIT_PAIRS and a token can have more than
 * one chunk (no window, or one past ATT_CHUNK), else a block walks its chunks.
 * attention_set_chunk_blocks: 0 that choice, 1 always walk, 2 a block a chunk
 * wherever the scratch allows (the self-test's A/B of the two: the same bits).
 * The scratch (35 MB) is allocated at the first launch that needs it, which
 * is not in graph capture (the engine runs a shape once before capturing it). */
static int att_chunk_mode = 0;
static AttSplit att_scratch = {NULL, NULL};

void attention_set_chunk_blocks(int mode) { att_chunk_mode = mode; }

AttSplit att_split_for(const AttnArgs *a) {
    const AttSplit none = {NULL, NULL};
    const int pairs = a->tok.T * a->n_kv_heads, G = a->n_heads / a->n_kv_heads;
    if (att_chunk_mode == 1 || pairs > ATT_SPLIT_PAIRS || G > 8) return none;
    if (att_chunk_mode == 0 && a->window > 0 && a->window <= ATT_CHUNK) return none; // one chunk always
    if (!att_scratch.scr) {
        GPU_CHECK(hipMalloc((void **)&att_scratch.scr,
                            sizeof(float) * (size_t)ATT_SPLIT_PAIRS * ATT_MAX_CHUNKS * ATT_SCR_MAX));
        GPU_CHECK(hipMalloc((void **)&att_scratch.count, sizeof(unsigned) * ATT_SPLIT_PAIRS));
        GPU_CHECK(hipMemset(att_scratch.count, 0, sizeof(unsigned) * ATT_SPLIT_PAIRS));
    }
    return att_scratch;
}

/* G <= 8 query heads per KV head, bf16 mode. */
static bool att_tile_launch(const AttnArgs *a, hipStream_t stream) {
    const int G = a->n_heads / a->n_kv_heads;
    if (G > 8 || a->kv.k_lo || a->out_lo) return false;
    const AttSplit sp = att_split_for(a);
    dim3 grid(a->tok.T, a->n_kv_heads, sp.scr ? ATT_MAX_CHUNKS : 1);
#define ATT_TILE_LAUNCH(GG)                                                                      \
    port_launch(f32q_bf16kv_attention_tile<GG>, grid, ATT_WAVES * GETP_WAVE, 0, stream,                  \
        a->out, a->q, a->kv.k, a->kv.v, a->kv.cap, a->kv.st, a->tok.slot, a->tok.pos, a->sinks,   \
        a->window, a->n_heads, sp)
    switch (G) {
    case 1: ATT_TILE_LAUNCH(1); break;
    case 2: ATT_TILE_LAUNCH(2); break;
    case 4: ATT_TILE_LAUNCH(4); break;
    case 8: ATT_TILE_LAUNCH(8); break;
    default: return false; // the scalar kernel refuses it with its message
    }
#undef ATT_TILE_LAUNCH
    return true;
}

static bool att_scalar_launch(const AttnArgs *a, hipStream_t stream) {
    const KvLayer kv = a->kv;
    const int G = a->n_heads / a->n_kv_heads;
    dim3 grid(a->tok.T, a->n_kv_heads);
#define ATT_LAUNCH(GG)                                                                           \
    port_launch(f32q_bf16kv_attention<GG>, grid, GG * ATT_TPH, 0, stream,                               \
        a->out, a->out_lo, a->q, kv.k, kv.v, kv.k_lo, kv.v_lo, kv.cap, kv.st, a->tok.slot,        \
        a->tok.pos, a->sinks, a->window, a->n_heads)
    switch (G) {
    case 1: ATT_LAUNCH(1); break;
    case 2: ATT_LAUNCH(2); break;
    case 4: ATT_LAUNCH(4); break;
    case 8: ATT_LAUNCH(8); break;
    case 16: ATT_LAUNCH(16); break;
    default: fatal("attention: %d query heads per KV head unsupported (1, 2, 4, 8, 16)", G);
    }
#undef ATT_LAUNCH
    return true;
}

bool attention_f32q_bf16kv_by(const AttnArgs *a, int which, hipStream_t stream) {
    const KvLayer kv = a->kv;
    CHECK(a->head_dim == ATT_HD && a->n_kv_heads > 0 && a->n_heads % a->n_kv_heads == 0);
    CHECK(kv.cap > 0 && a->tok.T >= 0 && a->window >= 0 && !kv.k_lo == !kv.v_lo);
    CHECK(which >= ATT_AUTO && which <= ATT_SCALAR);
    if (a->tok.T == 0) return true;
    bool done = false;
    if (which == ATT_AUTO || which == ATT_EXTRA) done = attention_extra(a, stream);
    if (!done && (which == ATT_AUTO || which == ATT_TILED)) done = att_tile_launch(a, stream);
    if (!done && (which == ATT_AUTO || which == ATT_SCALAR)) done = att_scalar_launch(a, stream);
    if (done) GPU_CHECK_LAUNCH();
    return done;
}

void attention_f32q_bf16kv(const AttnArgs *a, hipStream_t stream) {
    attention_f32q_bf16kv_by(a, ATT_AUTO, stream);
}
