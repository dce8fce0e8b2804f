/* moe_common.h: what the MoE kernel families share (gpu/kernels/moe.hip
 * dispatches between them): the MXFP4 decode, the device side of MoeArgs
 * (which expert and pairs a block owns, where its operand rows are, the
 * epilogue), the shared-memory swizzle, the block-tile shapes and the raw
 * MXFP4 stages of the staged kernels.
 *
 * Every family computes each output element as one wave's tile_mma chain
 * over k-steps of 32 in order, with the same decoded values: a pair's result
 * is bit-identical whichever kernel the dispatcher picks.
 */
#ifndef GETP_MOE_COMMON_H
#define GETP_MOE_COMMON_H

#include "kernels.h"      // MoeArgs, ExpertWeights
#include "moe_families.h" // MOE_MLP1, MOE_MLP2
#include "tile.h"     // TileA/B/C, tile_mma
#include "gpu_util.h" // bf16 <-> f32
#include "moe_mxint.h" // MxTable, the integer decode over PortBytes

/* ---- MXFP4 ---- */

/* 2^(s - 128) exactly (the 0.5 of the e2m1 grid folded in). */
__device__ __forceinline__ float mx_scale(uint32_t s) {
    return s >= 2 ? __uint_as_float((s - 1) << 23) : __uint_as_float(0x00200000u << s);
}

/* One e2m1 code times 2^(s-127), as bf16 bits (exact). */
__device__ __forceinline__ uint32_t mx_bf16(uint32_t code, float sc) {
    uint32_t mag = code & 7u;
    uint32_t twice = mag < 2u ? mag : (2u | (mag & 1u)) << ((mag >> 1) - 1u);  // 2 * |value|
    uint32_t bits = __float_as_uint((float)twice * sc) | ((code & 8u) << 28);
    return bits >> 16;
}

/* 4 bytes (8 codes, element 2j in byte j's low nibble) -> 8 bf16.
 * NVIDIA: no int->float conversion (a quarter-rate instruction that made the
 * dequantization as costly as the mma it feeds). A code's bits s|e1 e0|m go
 * straight into an fp32 (sign bit; e1 e0 m into exponent bits 24..23 and
 * mantissa bit 22), which is |value| * 2^-126 exactly (a denormal for e = 0,
 * so this needs IEEE denormals: no fast-math / ftz); times 2^127 that is the
 * `twice` of mx_bf16, times mx_scale the same product, bit for bit. Where the
 * port does not promise fp32 denormals (GETP_F32_DENORMALS 0: AMD), mx_bf16. */
#if GETP_F32_DENORMALS
__device__ __forceinline__ uint32_t mx_bf16x2(uint32_t byte, float sc) {
    const float lo = __uint_as_float(((byte & 7u) << 22) | ((byte & 8u) << 28)) * 0x1p127f * sc;
    const float hi = __uint_as_float(((byte & 0x70u) << 18) | ((byte & 0x80u) << 24)) * 0x1p127f * sc;
    return __byte_perm(__float_as_uint(lo), __float_as_uint(hi), 0x7632); // two upper halves
}
#else
__device__ __forceinline__ uint32_t mx_bf16x2(uint32_t byte, float sc) {
    return mx_bf16(byte & 15u, sc) | (mx_bf16((byte >> 4) & 15u, sc) << 16);
}
#endif

__device__ __forceinline__ uint4 mx_dequant8(uint32_t bytes, float sc) {
    return make_uint4(mx_bf16x2(bytes & 0xffu, sc), mx_bf16x2((bytes >> 8) & 0xffu, sc),
                      mx_bf16x2((bytes >> 16) & 0xffu, sc), mx_bf16x2(bytes >> 24, sc));
}

/* ---- MXFP4 by byte permutes (moe_mxint.h): moe_gemv, the register-staged kernel ----
 * A block's scale byte -> its 8-entry table: integer adds for 2 <= s <= 252,
 * else (denormal or overflowing products: never in the checkpoints) the 8
 * magnitudes by mx_bf16; the lookup is the same either way. */
__device__ __forceinline__ MxTable mx_table(uint32_t s) {
    if (__builtin_expect(mx_int_ok(s), 1)) return mx_table_int<PortBytes>(s);
    const float sc = mx_scale(s);
    uint32_t p[4];
#pragma unroll
    for (uint32_t j = 0; j < 4; j++) p[j] = mx_bf16(2 * j, sc) | mx_bf16(2 * j + 1, sc) << 16;
    return mx_table_pairs<PortBytes>(p[0], p[1], p[2], p[3]);
}

/* 8 codes -> 8 bf16 by the block's table: the bits of mx_dequant8. */
__device__ __forceinline__ uint4 mx_dequant8_t(uint32_t bytes, const MxTable &t) {
    uint32_t o[4];
    mx_lookup8<PortBytes>(bytes, t, o);
    return make_uint4(o[0], o[1], o[2], o[3]);
}

/* Every scale byte's table in shared memory, for kernels that meet many
 * scales (moe_gemv, moe_mid_mx): the block's nthreads threads fill stab[256]
 * (it depends on no data: before the kernel waits on its predecessor); the
 * caller orders it before the first lookup with a barrier. */
__device__ __forceinline__ void mx_table_fill(uint4 *stab, int nthreads) {
    for (uint32_t sc = threadIdx.x; sc < 256; sc += (uint32_t)nthreads) {
        const MxTable t = mx_table(sc);
        stab[sc] = make_uint4(t.lo0, t.lo1, t.hi0, t.hi1);
    }
}
/* 8 codes -> 8 bf16 through scale byte s's table in stab (one 16-byte load). */
__device__ __forceinline__ uint4 mx_dequant8_s(uint32_t bytes, const uint4 *stab, uint32_t s) {
    const uint4 tv = stab[s];
    const MxTable t = {tv.x, tv.y, tv.z, tv.w};
    return mx_dequant8_t(bytes, t);
}

/* ---- arguments shared by both expert GEMMs ---- */


/* Slot s -> (expert, first sorted position, end). Returns 0 if s is spare.
 * Every lane of the wave must call it (kernel entry, same s across the wave).
 * A wave reads GETP_WAVE experts' offsets at once and scans their tile counts
 * with shuffles: E / GETP_WAVE rounds of one load each. (Each lane walking the
 * experts in turn, as before, is a chain of E dependent loads before any work:
 * at batch 1 the 120b's 128 experts made its MoE phases 4x the 20b's per
 * layer, bench/RESULTS.md runs 24-25.) Same mapping as that walk: the slots
 * of expert e follow those of experts 0..e-1, bm pairs each. */
__device__ __forceinline__ int moe_slot(const MoeArgs &a, int s, int bm, int *e_out, int *p0,
                                        int *p1) {
    const int lane = threadIdx.x % GETP_WAVE;
    int base = 0; // slots of the experts before this round's
    for (int e0 = 0; e0 < a.E; e0 += GETP_WAVE) {
        const int e = e0 + lane;
        const int lo = e < a.E ? a.offsets[e] : 0, hi = e < a.E ? a.offsets[e + 1] : 0;
        const int t = (hi - lo + bm - 1) / bm;
        int incl = t; // inclusive scan of the tile counts across the wave
#pragma unroll
        for (int d = 1; d < GETP_WAVE; d <<= 1) {
            const int y = GETP_SHFL_UP(incl, d);
            if (lane >= d) incl += y;
        }
        const int total = GETP_SHFL(incl, GETP_WAVE - 1);
        if (s < base + total) {
            const int l = port_first_lane(base + incl > s); // the owner lane
            const int lo_l = GETP_SHFL(lo, l), hi_l = GETP_SHFL(hi, l), excl_l = GETP_SHFL(incl - t, l);
            *e_out = e0 + l;
            *p0 = lo_l + (s - base - excl_l) * bm;
            *p1 = hi_l;
            return 1;
        }
        base += total;
    }
    return 0;
}

/* Row of the activation operand for sorted position pos. */
template <int EPI>
__device__ __forceinline__ const uint16_t *moe_act_row(const MoeArgs &a, int pos) {
    size_t row = EPI == MOE_MLP1 ? (size_t)(a.pairs[pos] / a.k) : (size_t)pos;
    return a.act + row * a.K;
}

/* B piece of a lane: row n of expert e, k-step `step`, 8 values at koff. */
template <bool MX>
__device__ __forceinline__ uint4 moe_load_b(const MoeArgs &a, size_t erow, int step, int koff) {
    if (MX) {
        size_t g = erow * (size_t)(a.K / 32) + step;
        uint32_t bytes = *(const uint32_t *)(a.w.blocks + g * 16 + koff / 2);
        return mx_dequant8(bytes, mx_scale(a.w.scales[g]));
    }
    return *(const uint4 *)(a.w.bf16 + erow * a.K + (size_t)step * TILE_K + koff);
}

/* Epilogue for the element of (sorted position pos, column n); `partner` is
 * the value at column n ^ 1 of the same row (mlp1's gate/linear pair). */
template <int EPI>
__device__ __forceinline__ void moe_store(const MoeArgs &a, int e, int pos, int n, float v,
                                          float partner) {
    if (EPI == MOE_MLP1 && a.y1) { // precise mode: W1 t + b1, SwiGLU later (moe_swiglu_split)
        float *d = a.y1 + (size_t)pos * a.N + n;
        *d = v + (a.acc ? *d : a.bias[(size_t)e * a.N + n]);
    } else if (EPI == MOE_MLP1) {
        if (n & 1) return;
        float g = v + a.bias[(size_t)e * a.N + n];
        float l = partner + a.bias[(size_t)e * a.N + n + 1];
        g = fminf(g, a.limit);
        l = fminf(fmaxf(l, -a.limit), a.limit);
        float hv = g / (1.0f + expf(-1.702f * g)) * (l + 1.0f);
        a.h[(size_t)pos * (a.N / 2) + n / 2] = f32_to_bf16_dev(hv);
    } else {
        float *d = a.ypair + (size_t)a.pairs[pos] * a.N + n;
        *d = v + (a.acc ? *d : a.bias[(size_t)e * a.N + n]);
    }
}

/* chunk c (0..3) of row r lives at slot c ^ ((r >> 1) & 3) */
__device__ __forceinline__ int moe_swz(int r, int c) { return r * 4 + (c ^ ((r >> 1) & 3)); }

template <int WARPS_M, int MT>
struct MoeTiled {
    static constexpr int THREADS = 256;
    static constexpr int NWARP = THREADS / GETP_WAVE;
    static constexpr int WARPS_N = NWARP / WARPS_M;
    static constexpr int BM = WARPS_M * MT * TILE_M;
    static constexpr int BN = 128;
    static constexpr int NT = BN / WARPS_N / TILE_N;
    static constexpr int STAGE = (BM + BN) * 4;  // 16-byte chunks, one k-step
    static_assert(NT * WARPS_N * TILE_N == BN, "warp tiling");
    static_assert(BM % (THREADS / 4) == 0 && BN * 2 == THREADS, "loader split");
};

/* ---- MXFP4 decoded in bf16x2 arithmetic (the staged kernels) ---- */

/* The cp.async stage kernels' pipeline (moe_staged_mx and moe_wgmma_mx in
 * GETP_STAGE_ASYNC builds): MOE_NS raw stages of MOE_KS k-steps, 4 stages of
 * 2, stage s+1 landed while s is multiplied. Register-staging builds (AMD, the
 * portable build) run moe_tiles.hip's own pipeline instead (two k-steps of
 * loads in registers, decoded by mx_dequant8_t when stored). */
#if GETP_STAGE_ASYNC
#define MOE_NS 4
#ifndef MOE_KS
#define MOE_KS 2
#endif
#endif

/* Byte b (codes c0 = low nibble, c1 = high) -> bf16x2 of |c| * 2^-126 with the
 * codes' signs: e1 e0 m go to bf16 exponent bits 8..7 and mantissa bit 6 (a
 * denormal for e = 0), the sign to bit 15; w = b | b << 12 lines up both
 * halves for one shift each. Lookup-free, no conversions. */
__device__ __forceinline__ uint32_t mx_bits2(uint32_t b) {
    const uint32_t w = b * 4097u;
    return ((w << 6) & 0x01C001C0u) | ((w << 12) & 0x80008000u);
}

/* bf16x2 product (exact here: powers of two times 2-bit mantissas). bf16
 * arithmetic keeps denormals. Without bf16x2 arithmetic (GETP_HAS_BF16X2_FMA
 * 0) the same exact products in fp32, then back to bf16 bits (exact). */
__device__ __forceinline__ uint32_t mx_bmul2(uint32_t x, uint32_t y) {
#if GETP_HAS_BF16X2_FMA
    return port_bf16x2_mul(x, y);
#else
    const float lo = __uint_as_float(x << 16) * __uint_as_float(y << 16);
    const float hi = __uint_as_float(x & 0xffff0000u) * __uint_as_float(y & 0xffff0000u);
    return (__float_as_uint(lo) >> 16) | (__float_as_uint(hi) & 0xffff0000u);
#endif
}

/* 8 codes (4 bytes) -> 8 bf16, times 2^(s-127) given as bf16x2 sc2: the same
 * bits as mx_dequant8 for every code and s < 255. */
__device__ __forceinline__ uint4 mx_dequant8_b(uint32_t bytes, uint32_t sc2) {
    const uint32_t k126 = 0x7E807E80u; // 2^126 twice
    return make_uint4(mx_bmul2(mx_bmul2(mx_bits2(bytes & 0xffu), k126), sc2),
                      mx_bmul2(mx_bmul2(mx_bits2((bytes >> 8) & 0xffu), k126), sc2),
                      mx_bmul2(mx_bmul2(mx_bits2((bytes >> 16) & 0xffu), k126), sc2),
                      mx_bmul2(mx_bmul2(mx_bits2(bytes >> 24), k126), sc2));
}

/* E8M0 scale byte -> 2^(s-127) as bf16x2 (s = 0: the denormal 2^-127). */
__device__ __forceinline__ uint32_t mx_scale_b2(uint32_t s) {
    return (s ? s << 7 : 0x40u) * 0x10001u;
}

#if GETP_STAGE_ASYNC
/* The raw stages of the two cp.async MXFP4 stage kernels (moe_staged_mx,
 * moe_wgmma_mx): NS stages of KS k-steps in shared memory, a k-step being
 * BM gathered A rows (4 swizzled 16-byte chunks each, moe_swz) followed by BN
 * raw weight rows (16 bytes = 32 codes each); plus the E8M0 scales of the
 * thread's decoder row, loaded a stage ahead. Stage st is multiplied while
 * st+1 is decoded and st+2 .. st+NS-1 are on their way by cp.async.
 * Every kernel calls advance(st) at the top of stage st. NS: MOE_NS unless a
 * kernel's shared memory asks for fewer or affords more.
 * EVEN: KS divides the k-steps (the wgmma dispatch checks it), so a stage that
 * exists has all its k-steps and issue() has no bound a step: its copies are
 * straight-line code (and, where BN = THREADS, no bound on the thread either),
 * each with its own address registers (RESULTS run 90's ncusrc: the bounded
 * form's branches made ptxas reuse one pair, and each address waited for the
 * previous copy to read it; run 91: 1.02-1.04x). */
template <int EPI, int BM, int BN, int KS, int NS = MOE_NS, bool EVEN = false>
struct MoeStages {
    static_assert(NS >= 3, "decode one step ahead needs 3 raw stages or more");
    static constexpr int THREADS = 256, RPP = THREADS / 4, PA = BM / RPP;
    static constexpr int SA = BM * 4, SB = BN; // uint4 per k-step: A rows x 4, raw B rows x 1
    static constexpr int SR = KS * (SA + SB);  // uint4 per stage
    static_assert(BM % RPP == 0 && RPP % 8 == 0 && BN <= THREADS, "loader split, swizzle period");
    uint4 *smem;
    const uint16_t *srca[PA];
    const uint8_t *srcb, *dsc;
    int nsteps;
    uint32_t sc[KS]; // scales of the stage last given to load_scales, decoder row

    __device__ __forceinline__ MoeStages(const MoeArgs &a, uint4 *smem_, int e, int p0, int p1,
                                         int n0, int drow)
        : smem(smem_), nsteps(a.K / 32) {
        const int KG = a.K / 32, tid = (int)threadIdx.x;
#pragma unroll
        for (int p = 0; p < PA; p++)
            srca[p] = moe_act_row<EPI>(a, min(p0 + p * RPP + tid / 4, p1 - 1)) + (tid % 4) * 8;
        srcb = a.w.blocks + ((size_t)e * a.N + min(n0 + tid % BN, a.N - 1)) * KG * 16;
        dsc = a.w.scales + ((size_t)e * a.N + min(n0 + drow, a.N - 1)) * KG;
    }
    __device__ __forceinline__ int stages(void) const { return (nsteps + KS - 1) / KS; }
    /* k-step ks of stage st: A chunks at [0, SA), raw weight rows at [SA, SA + SB). */
    __device__ __forceinline__ uint4 *step(int st, int ks) const {
        return smem + (st % NS) * SR + ks * (SA + SB);
    }
    __device__ __forceinline__ void issue(int st) {
        const int tid = (int)threadIdx.x;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const int k = st * KS + ks;
            if (!EVEN && k >= nsteps) break;
            uint4 *sa = step(st, ks), *sb = sa + SA;
#pragma unroll
            for (int p = 0; p < PA; p++) // rows p * RPP + tid / 4: RPP is a multiple of 8, same swizzle
                port_cp_async16(&sa[p * RPP * 4 + moe_swz(tid / 4, tid % 4)], srca[p] + (size_t)k * TILE_K);
            if ((EVEN && BN >= THREADS) || tid < BN) port_cp_async16(&sb[tid], srcb + (size_t)k * 16);
        }
    }
    __device__ __forceinline__ void load_scales(int st) {
#pragma unroll
        for (int ks = 0; ks < KS; ks++) sc[ks] = EVEN || st * KS + ks < nsteps ? dsc[st * KS + ks] : 0u;
    }
    /* Stages 0 .. NS-2 on their way, scales of stage 0 loaded, stage 0
     * landed for all. */
    __device__ __forceinline__ void start(void) {
#pragma unroll
        for (int st = 0; st < NS - 1; st++) {
            if (st < stages()) issue(st);
            port_cp_commit();
        }
        load_scales(0);
        port_cp_wait<NS - 2>();
        __syncthreads();
    }
    /* Top of stage st: stage st+1 has landed (and st was decoded) for every
     * thread, every warp is done with stage st-1, whose buffer takes st+NS-1. */
    __device__ __forceinline__ void advance(int st) {
        port_cp_wait<(NS >= 3 ? NS - 3 : 0)>();
        __syncthreads();
        if (st + NS - 1 < stages()) issue(st + NS - 1);
        port_cp_commit();
    }
};
#endif // GETP_STAGE_ASYNC


#endif
