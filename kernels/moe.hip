/* moe.hip: the mixture-of-experts block as a grouped GEMM (moe.h).
 *
 * moe_sort groups the M*k (token, j) pairs by expert with a stable counting
 * sort in one block. The two expert GEMMs then run over all experts in one
 * launch each: a block takes a tile of up to BM consecutive sorted pairs of
 * one expert (its slot is found from expert_offsets, so the grid is an upper
 * bound, ceil(P / BM) + E slots, and spare blocks exit) times a range of
 * output columns. MXFP4 weights are dequantized on the fly (exact: every
 * MXFP4 value is a bf16), bias and SwiGLU (mlp1) are fused in the epilogue.
 *
 * Like matmul.hip, each output element is one warp's tile_mma chain over
 * k-steps of 32 in order, so the small-M kernel (few pairs per expert: a
 * GEMV that streams each expert's weights once, 16 pairs a pass) and the
 * tiled one (shared-memory tiles) give bit-identical rows: a pair's result
 * never depends on how many other pairs its expert got. On NVIDIA, MXFP4
 * weights at 4..32 pairs per expert on average (the 120b's 128 experts at a
 * few hundred rows) take moe_mid_mx (cp.async stream, decode in registers),
 * bit-identical too.
 */
#include "moe.h"  // moe_sort, moe_mlp1_swiglu, moe_mlp2, moe_combine
#include "tile.h" // TileA/B/C, tile_mma
#include "gpu_check.h"
#include "gpu_util.h" // bf16 <-> f32

#include <stdlib.h> // getenv
#include <string.h>

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
 * `twice` of mx_bf16, times mx_scale the same product, bit for bit. AMD keeps
 * mx_bf16 (its denormal mode is not checked on a device here). */
#if defined(GETP_SM80_MMA)
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

/* ---- arguments shared by both expert GEMMs ---- */

enum { MOE_MLP1 = 1, MOE_MLP2 = 2 };

struct MoeArgs {
    const uint16_t *act;        // mlp1: t (M, K) by token; mlp2: h (P, K) by sorted position
    const uint8_t *blocks;      // (E, N, K/32, 16)
    const uint8_t *scales;      // (E, N, K/32)
    const uint16_t *wbf16;      // (E, N, K)
    const float *bias;          // (E, N)
    const int32_t *offsets;     // (E+1)
    const int32_t *pairs;       // (P) pair ids by sorted position
    uint16_t *h;                // mlp1 out (P, N/2)
    float *ypair;               // mlp2 out (P, N) by pair id
    int M, k, E, N, K;
    float limit;
    float *y1;                  // precise mlp1: pre-activation out (P, N) by sorted position
    int acc;                    // precise: add to y1 / ypair instead of the bias
};

/* Slot s -> (expert, first sorted position, end). Returns 0 if s is spare. */
__device__ __forceinline__ int moe_slot(const MoeArgs &a, int s, int bm, int *e_out, int *p0,
                                        int *p1) {
    for (int e = 0; e < a.E; e++) {
        int lo = a.offsets[e], hi = a.offsets[e + 1];
        int tiles = (hi - lo + bm - 1) / bm;
        if (s < tiles) {
            *e_out = e;
            *p0 = lo + s * bm;
            *p1 = hi;
            return 1;
        }
        s -= tiles;
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
        uint32_t bytes = *(const uint32_t *)(a.blocks + g * 16 + koff / 2);
        return mx_dequant8(bytes, mx_scale(a.scales[g]));
    }
    return *(const uint4 *)(a.wbf16 + erow * a.K + (size_t)step * TILE_K + koff);
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

/* ---- few pairs per expert: GEMV over 16 pairs, weights streamed ---- */

#define MOE_GEMV_THREADS 128
#define MOE_GEMV_BM TILE_M

template <int EPI, bool MX, int NT, int U>
__global__ void __launch_bounds__(MOE_GEMV_THREADS)
moe_gemv(MoeArgs a) {
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, MOE_GEMV_BM, &e, &p0, &p1)) return;
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = (blockIdx.y * (MOE_GEMV_THREADS / GETP_WAVE) + warp) * NT * TILE_N;
    if (n0 >= a.N) return;
    const int nsteps = a.K / TILE_K, koff = tile_k_off();
    const uint16_t *arow[TILE_A_ROWS];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++)
        arow[r] = moe_act_row<EPI>(a, min(p0 + tile_a_row(r), p1 - 1)) + koff;
    size_t brow[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        brow[t] = (size_t)e * a.N + min(n0 + t * TILE_N + tile_b_row(), a.N - 1);

    TileC acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    for (int s0 = 0; s0 < nsteps; s0 += U) {
        TileB b[U][NT];
        TileA x[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s0 + u < nsteps) {
#pragma unroll
                for (int t = 0; t < NT; t++) b[u][t].v = moe_load_b<MX>(a, brow[t], s0 + u, koff);
#pragma unroll
                for (int r = 0; r < TILE_A_ROWS; r++)
                    x[u].v[r] = *(const uint4 *)(arow[r] + (size_t)(s0 + u) * TILE_K);
            }
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s0 + u < nsteps) {
#pragma unroll
                for (int t = 0; t < NT; t++) tile_mma(&acc[t], &x[u], &b[u][t]);
            }
    }
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float partner = tile_c_partner(&acc[t], i);
            int pos = p0 + tile_c_row(i), n = n0 + t * TILE_N + tile_c_col(i);
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[t].c[i], partner);
        }
}

/* ---- many pairs per expert: BM x 128 tiles through shared memory ---- */

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

__device__ __forceinline__ int moe_swz(int r, int c) { return r * 4 + (c ^ ((r >> 1) & 3)); }

template <int EPI, bool MX, int WARPS_M, int MT>
__global__ void __launch_bounds__(256, 2)
moe_tiled(MoeArgs a) {
    typedef MoeTiled<WARPS_M, MT> C;
    __shared__ uint4 smem[2 * C::STAGE];
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, C::BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int n0 = blockIdx.y * C::BN;
    const int nsteps = a.K / TILE_K;

    /* A: THREADS/4 rows a pass, chunk lc of 4. B: 2 threads a row, 2 chunks each. */
    constexpr int RPP = C::THREADS / 4, PA = C::BM / RPP;
    const int lrow = tid / 4, lc = tid % 4, brow_l = tid / 2, bh = tid % 2;
    const uint16_t *srca[PA];
#pragma unroll
    for (int p = 0; p < PA; p++)
        srca[p] = moe_act_row<EPI>(a, min(p0 + p * RPP + lrow, p1 - 1)) + lc * 8;
    const size_t erow = (size_t)e * a.N + min(n0 + brow_l, a.N - 1);
    uint4 ra[PA], rb[2];
    auto load_step = [&](int step) {
#pragma unroll
        for (int p = 0; p < PA; p++) ra[p] = *(const uint4 *)(srca[p] + (size_t)step * TILE_K);
        if (MX) {
            size_t g = erow * (size_t)(a.K / 32) + step;
            uint2 bytes = *(const uint2 *)(a.blocks + g * 16 + bh * 8);
            float sc = mx_scale(a.scales[g]);
            rb[0] = mx_dequant8(bytes.x, sc);
            rb[1] = mx_dequant8(bytes.y, sc);
        } else {
            const uint16_t *src = a.wbf16 + erow * a.K + (size_t)step * TILE_K + bh * 16;
            rb[0] = *(const uint4 *)src;
            rb[1] = *(const uint4 *)(src + 8);
        }
    };
    auto store_step = [&](int buf) {
        uint4 *sa = smem + buf * C::STAGE, *sb = sa + C::BM * 4;
#pragma unroll
        for (int p = 0; p < PA; p++) sa[moe_swz(p * RPP + lrow, lc)] = ra[p];
        sb[moe_swz(brow_l, 2 * bh)] = rb[0];
        sb[moe_swz(brow_l, 2 * bh + 1)] = rb[1];
    };

    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    const int kc = tile_k_off() / 8;
    load_step(0);
    store_step(0);
    __syncthreads();
    for (int s = 0; s < nsteps; s++) {
        const int buf = s & 1;
        if (s + 1 < nsteps) load_step(s + 1);
        const uint4 *sa = smem + buf * C::STAGE, *sb = sa + C::BM * 4;
        TileB b[C::NT];
#pragma unroll
        for (int j = 0; j < C::NT; j++)
            b[j].v = sb[moe_swz(wn * (C::NT * TILE_N) + j * TILE_N + tile_b_row(), kc)];
#pragma unroll
        for (int i = 0; i < MT; i++) {
            TileA x;
#pragma unroll
            for (int r = 0; r < TILE_A_ROWS; r++)
                x.v[r] = sa[moe_swz(wm * (MT * TILE_M) + i * TILE_M + tile_a_row(r), kc)];
#pragma unroll
            for (int j = 0; j < C::NT; j++) tile_mma(&acc[i][j], &x, &b[j]);
        }
        if (s + 1 < nsteps) store_step(buf ^ 1);
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++)
#pragma unroll
            for (int q = 0; q < 4; q++) {
                float partner = tile_c_partner(&acc[i][j], q);
                int pos = p0 + wm * (MT * TILE_M) + i * TILE_M + tile_c_row(q);
                int n = n0 + wn * (C::NT * TILE_N) + j * TILE_N + tile_c_col(q);
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[i][j].c[q], partner);
            }
}

#if defined(GETP_CUDA) || defined(__CUDACC__)
#define MOE_ASYNC_HOST 1
/* The MXFP4 tiled kernel with a MOE_NS-stage cp.async pipeline (NVIDIA): per
 * k-step, the A rows (gathered bf16) and the raw MXFP4 bytes of the BN weight
 * rows go to shared memory without passing through registers. The weight
 * tile is then dequantized ONCE per block (each thread: 16 codes of one row)
 * into a double-buffered bf16 tile in shared memory, one k-step ahead of the
 * mma loop, so no two warps decode the same columns and the warps' B
 * fragments are plain 16-byte loads like A. A stage is MOE_KS k-steps, and
 * one barrier per stage orders everything: at stage s the block decodes
 * stage s+1 and multiplies stage s.
 * The values are those of mx_dequant8 (exact), the k-steps run in the same
 * order through the same tile_mma chain: rows stay bit-identical to every
 * other path. 16-row sub-tiles past the expert's last pair skip their mma. */
#define MOE_NS 4 // raw stages: stage s+1 must have landed at step s (decode runs one ahead)
#ifndef MOE_KS
#define MOE_KS 2 // k-steps per stage (one barrier each)
#endif

/* Byte b (codes c0 = low nibble, c1 = high) -> bf16x2 of |c| * 2^-126 with the
 * codes' signs: e1 e0 m go to bf16 exponent bits 8..7 and mantissa bit 6 (a
 * denormal for e = 0), the sign to bit 15; w = b | b << 12 lines up both
 * halves for one shift each. Lookup-free, no conversions. */
__device__ __forceinline__ uint32_t mx_bits2(uint32_t b) {
    const uint32_t w = b * 4097u;
    return ((w << 6) & 0x01C001C0u) | ((w << 12) & 0x80008000u);
}

/* bf16x2 product (exact here: powers of two times 2-bit mantissas); fma with
 * -0 keeps the sign of zero products. bf16 arithmetic keeps denormals. */
__device__ __forceinline__ uint32_t mx_bmul2(uint32_t x, uint32_t y) {
    uint32_t d;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;\n" : "=r"(d) : "r"(x), "r"(y), "r"(0x80008000u));
    return d;
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

static_assert(MOE_NS >= 3, "decode one step ahead needs 3 raw stages or more");

/* The raw stages of the two MXFP4 stage kernels (moe_tiled_mx_async,
 * moe_wgmma_mx): MOE_NS stages of KS k-steps in shared memory, a k-step being
 * BM gathered A rows (4 swizzled 16-byte chunks each, moe_swz) followed by BN
 * raw weight rows (16 bytes = 32 codes each), all filled by cp.async; plus
 * the E8M0 scales of the thread's decoder row, loaded a stage ahead. Stage st
 * is multiplied while st+1 is decoded and st+2 .. st+MOE_NS-1 are in flight. */
template <int EPI, int BM, int BN, int KS>
struct MoeStages {
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
        srcb = a.blocks + ((size_t)e * a.N + min(n0 + tid % BN, a.N - 1)) * KG * 16;
        dsc = a.scales + ((size_t)e * a.N + min(n0 + drow, a.N - 1)) * KG;
    }
    __device__ __forceinline__ int stages(void) const { return (nsteps + KS - 1) / KS; }
    /* k-step ks of stage st: A chunks at [0, SA), raw weight rows at [SA, SA + SB). */
    __device__ __forceinline__ uint4 *step(int st, int ks) const {
        return smem + (st % MOE_NS) * SR + ks * (SA + SB);
    }
    __device__ __forceinline__ void issue(int st) const {
        const int tid = (int)threadIdx.x;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const int k = st * KS + ks;
            if (k >= nsteps) break;
            uint4 *sa = step(st, ks), *sb = sa + SA;
#pragma unroll
            for (int p = 0; p < PA; p++) // rows p * RPP + tid / 4: RPP is a multiple of 8, same swizzle
                tile_cp_async16(&sa[p * RPP * 4 + moe_swz(tid / 4, tid % 4)], srca[p] + (size_t)k * TILE_K);
            if (tid < BN) tile_cp_async16(&sb[tid], srcb + (size_t)k * 16);
        }
    }
    __device__ __forceinline__ void load_scales(int st) {
#pragma unroll
        for (int ks = 0; ks < KS; ks++) sc[ks] = st * KS + ks < nsteps ? dsc[st * KS + ks] : 0u;
    }
    /* Stages 0 .. MOE_NS-2 in flight, scales of stage 0 loaded, stage 0 landed for all. */
    __device__ __forceinline__ void start(void) {
#pragma unroll
        for (int st = 0; st < MOE_NS - 1; st++) {
            if (st < stages()) issue(st);
            tile_cp_commit();
        }
        load_scales(0);
        tile_cp_wait<MOE_NS - 2>();
        __syncthreads();
    }
    /* Top of stage st: stage st+1 has landed (and st was decoded) for every
     * thread, every warp is done with stage st-1, whose buffer takes st+MOE_NS-1. */
    __device__ __forceinline__ void advance(int st) const {
        tile_cp_wait<MOE_NS - 3>();
        __syncthreads();
        if (st + MOE_NS - 1 < stages()) issue(st + MOE_NS - 1);
        tile_cp_commit();
    }
};

template <int WARPS_M, int MT, int KS>
constexpr size_t moe_async_smem(void) {
    typedef MoeTiled<WARPS_M, MT> C;
    return (size_t)(MOE_NS * KS * (C::BM * 4 + C::BN) + 2 * KS * C::BN * 4) * sizeof(uint4);
}

/* KS k-steps a stage (one barrier per KS k-steps; KS = 1 is the original). */
template <int EPI, int WARPS_M, int MT, int KS>
__global__ void __launch_bounds__(256, 2)
moe_tiled_mx_async(MoeArgs a) {
    typedef MoeTiled<WARPS_M, MT> C;
    typedef MoeStages<EPI, C::BM, C::BN, KS> S;
    constexpr int SD = KS * C::BN * 4;          // uint4 per decoded bf16 B stage
    extern __shared__ uint4 smem[]; // MOE_NS * S::SR + 2 * SD (moe_async_smem)
    uint4 *sdec = smem + MOE_NS * S::SR;
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, C::BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int n0 = blockIdx.y * C::BN;
    /* Decoder role: thread tid -> weight row tid / 2, codes 16 * (tid % 2) .. +15. */
    const int drow = tid / 2, dh = tid % 2;
    S stages(a, smem, e, p0, p1, n0, drow);
    const int nst = stages.stages();
    auto decode = [&](int st) {
        uint4 *d = sdec + (st & 1) * SD;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            if (st * KS + ks >= stages.nsteps) break;
            const uint2 bytes = ((const uint2 *)(stages.step(st, ks) + S::SA + drow))[dh];
            const uint32_t sc2 = mx_scale_b2(stages.sc[ks]);
            d[ks * C::BN * 4 + moe_swz(drow, 2 * dh)] = mx_dequant8_b(bytes.x, sc2);
            d[ks * C::BN * 4 + moe_swz(drow, 2 * dh + 1)] = mx_dequant8_b(bytes.y, sc2);
        }
    };
    static_assert(C::BN * 2 == C::THREADS, "decoder split");
    stages.start();
    decode(0);
    if (nst > 1) stages.load_scales(1);

    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    const int kc = tile_k_off() / 8;
    const int mrow0 = wm * (MT * TILE_M);
    /* Fragment rows differ by multiples of 8, which moe_swz maps alike: one base each. */
    const int aoff = moe_swz(mrow0 + tile_a_row(0), kc);
    const int boff = moe_swz(wn * (C::NT * TILE_N) + tile_b_row(), kc);
    static_assert(TILE_N % 8 == 0 && TILE_M % 8 == 0, "swizzle period");
    for (int st = 0; st < nst; st++) {
        stages.advance(st);
        if (st + 1 < nst) {
            decode(st + 1);
            if (st + 2 < nst) stages.load_scales(st + 2);
        }
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            if (st * KS + ks >= stages.nsteps) break;
            const uint4 *sa = stages.step(st, ks);
            const uint4 *sb = sdec + (st & 1) * SD + ks * C::BN * 4;
            TileB b[C::NT];
#pragma unroll
            for (int j = 0; j < C::NT; j++) b[j].v = sb[boff + j * TILE_N * 4];
#pragma unroll
            for (int i = 0; i < MT; i++) {
                if (p0 + mrow0 + i * TILE_M >= p1) break; // warp-uniform: no pairs left
                TileA x;
#pragma unroll
                for (int r = 0; r < TILE_A_ROWS; r++)
                    x.v[r] = sa[aoff + (i * TILE_M + tile_a_row(r) - tile_a_row(0)) * 4];
#pragma unroll
                for (int j = 0; j < C::NT; j++) tile_mma(&acc[i][j], &x, &b[j]);
            }
        }
    }
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++)
#pragma unroll
            for (int q = 0; q < 4; q++) {
                float partner = tile_c_partner(&acc[i][j], q);
                int pos = p0 + mrow0 + i * TILE_M + tile_c_row(q);
                int n = n0 + wn * (C::NT * TILE_N) + j * TILE_N + tile_c_col(q);
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[i][j].c[q], partner);
            }
}

#if defined(GETP_WGMMA)
/* ---- NVIDIA sm_90a, MXFP4, many pairs per expert: warpgroup MMA ----
 * moe_wgmma_mx: the tiles of moe_tiled_mx_async (BM = 128 sorted pairs of
 * one expert x BN = 128 columns, raw MXFP4 bytes and gathered A rows by
 * cp.async, MOE_KS k-steps a stage, weights decoded once per block into
 * shared memory), multiplied by wgmma.mma_async m64n128k16: warpgroup g of 2
 * owns rows 64g..64g+63, A comes from registers (the same TileA loads as
 * tile_mma) and B straight from the decoded tile in shared memory, so the
 * warps no longer load B fragments at all.
 *
 * Same bits as tile_mma: wgmma's A fragment is mma.sync m16n8k16's, and the
 * decoded tile stores each row's k-step in the hardware k order that the
 * B fragments of tile_mma have (its instruction 1 takes logical k
 * {0,1,8,9,16,17,24,25 | 2,3,10,11,18,19,26,27}, instruction 2 the same +4):
 * 16-byte chunk c of a row is codes 2j, 2j+1 of raw bytes j = c, c+4, c+8,
 * c+12, one byte permute before the decoder. Chunks sit in the no-swizzle
 * canonical layout (8 rows x 16 bytes per core matrix; LBO = 128 bytes to
 * the next core matrix along k, SBO = 256 to the next 8 rows). */
#ifndef MOE_WG_BN
#define MOE_WG_BN 128
#endif

__device__ __forceinline__ uint64_t wg_desc(const void *smem, uint32_t lbo, uint32_t sbo) {
    const uint32_t a = (uint32_t)__cvta_generic_to_shared(smem);
    return (uint64_t)((a & 0x3FFFFu) >> 4) | ((uint64_t)(lbo >> 4) << 16) |
           ((uint64_t)(sbo >> 4) << 32); // layout type 0: no swizzle
}

__device__ __forceinline__ void wg_fence(void) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wg_commit(void) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wg_wait0(void) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
#endif
}
/* Generic-proxy shared-memory writes made visible to wgmma (async proxy). */
__device__ __forceinline__ void wg_fence_proxy(void) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

/* d (64xN f32 per warpgroup) += A (regs a0..a3) * B (descriptor), k16. */
__device__ __forceinline__ void wg_mma_128(float *d, uint32_t a0, uint32_t a1, uint32_t a2,
                                           uint32_t a3, uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc), "r"(1));
#else
    (void)d, (void)a0, (void)a1, (void)a2, (void)a3, (void)desc;
    __trap();
#endif
}

__device__ __forceinline__ void wg_mma_256(float *d, uint32_t a0, uint32_t a1, uint32_t a2,
                                           uint32_t a3, uint64_t desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, {%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc), "r"(1));
#else
    (void)d, (void)a0, (void)a1, (void)a2, (void)a3, (void)desc;
    __trap();
#endif
}

template <int BN>
__device__ __forceinline__ void wg_mma(float *d, uint32_t a0, uint32_t a1, uint32_t a2,
                                       uint32_t a3, uint64_t desc) {
    if (BN == 128) wg_mma_128(d, a0, a1, a2, a3, desc);
    else wg_mma_256(d, a0, a1, a2, a3, desc);
}

template <int BN>
constexpr size_t moe_wgmma_smem(void) {
    return (size_t)(MOE_NS * MOE_KS * (128 * 4 + BN) + 2 * MOE_KS * BN * 4) * sizeof(uint4);
}

/* BN = 128 or 256 columns; NFAST: blockIdx.x walks the columns, so the blocks
 * in flight share their A rows (gathered activations, read by every column
 * block) in L2 instead of streaming all A once per column wave. */
template <int EPI, int BN, bool NFAST>
__global__ void __launch_bounds__(256, BN == 128 ? 2 : 1)
moe_wgmma_mx(MoeArgs a) {
    constexpr int BM = 128, KS = MOE_KS, THREADS = 256, CPT = BN * 4 / THREADS;
    static_assert(BN == 128 || BN == 256, "wgmma n128 / n256");
    typedef MoeStages<EPI, BM, BN, KS> S;
    constexpr int SD = KS * BN * 4;       // uint4 per decoded stage
    extern __shared__ uint4 smem[];       // MOE_NS * S::SR + 2 * SD (moe_wgmma_smem)
    uint4 *sdec = smem + MOE_NS * S::SR;
    int e, p0, p1;
    if (!moe_slot(a, NFAST ? blockIdx.y : blockIdx.x, BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / 32, wg = warp / 4;
    const int n0 = (NFAST ? blockIdx.x : blockIdx.y) * BN;
    /* Decoder: thread -> row tid % BN, chunks CPT * h .. + CPT - 1 (h = tid / BN). */
    const int drow = tid % BN, dh = tid / BN;
    S stages(a, smem, e, p0, p1, n0, drow);
    const int nst = stages.stages();
    auto decode = [&](int st) {
        uint4 *d = sdec + (st & 1) * SD;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            if (st * KS + ks >= stages.nsteps) break;
            const uint4 raw = stages.step(st, ks)[S::SA + drow];
            const uint32_t sc2 = mx_scale_b2(stages.sc[ks]);
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) {
                const int c = CPT * dh + cc;
                /* bytes c, c+4, c+8, c+12 of the row's 16 */
                const uint32_t lo = __byte_perm(raw.x, raw.y, (uint32_t)(c | (c + 4) << 4));
                const uint32_t hi = __byte_perm(raw.z, raw.w, (uint32_t)(c | (c + 4) << 4));
                const uint32_t w = __byte_perm(lo, hi, 0x5410);
                d[ks * BN * 4 + (c >> 1) * BN * 2 + (drow >> 3) * 16 + (c & 1) * 8 + (drow & 7)] =
                    mx_dequant8_b(w, sc2);
            }
        }
        wg_fence_proxy();
    };
    stages.start();
    decode(0);
    if (nst > 1) stages.load_scales(1);

    float d[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; i++) d[i] = 0.0f;
    const bool live = p0 + wg * 64 < p1; // warpgroup-uniform: any pair in my 64 rows
    const int kc = tile_k_off() / 8;
    const int arow = wg * 64 + (warp % 4) * 16 + tile_a_row(0);
    const int aoff0 = moe_swz(arow, kc), aoff1 = moe_swz(arow + 8, kc);
    for (int st = 0; st < nst; st++) {
        stages.advance(st);
        /* No branch around the wgmma chain (ptxas serializes wgmma on divergent
         * paths): KS divides the k-steps (moe_gemm checks), and a warpgroup
         * whose rows are all past the expert's pairs multiplies clamped rows
         * whose results are never stored. */
        uint4 x0[KS], x1[KS];
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const uint4 *sa = stages.step(st, ks);
            x0[ks] = sa[aoff0];
            x1[ks] = sa[aoff1];
        }
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const uint4 *sb = sdec + (st & 1) * SD + ks * BN * 4;
            wg_mma<BN>(d, x0[ks].x, x1[ks].x, x0[ks].y, x1[ks].y, wg_desc(sb, 128, 256));
            wg_mma<BN>(d, x0[ks].z, x1[ks].z, x0[ks].w, x1[ks].w, wg_desc(sb + BN * 2, 128, 256));
        }
        wg_commit();
        if (st + 1 < nst) {
            decode(st + 1);
            if (st + 2 < nst) stages.load_scales(st + 2);
        }
        wg_wait0();
    }
    if (!live) return;
#pragma unroll
    for (int j = 0; j < BN / 8; j++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const float v = d[4 * j + q], partner = d[4 * j + (q ^ 1)];
            const int pos = p0 + wg * 64 + (warp % 4) * 16 + tile_c_row(q);
            const int n = n0 + j * 8 + tile_c_col(q);
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, v, partner);
        }
}
#endif

/* ---- NVIDIA, MXFP4, a few to 32 pairs per expert: weights streamed once ----
 * moe_mid_mx: a block owns up to MID_BM = 32 sorted pairs of one expert (two
 * 16-row sub-tiles; the second is skipped when empty) and BN = 64 * NT output
 * columns (8 warps x NT tiles of 8; production NT = 2: 128, so 64 registers
 * and 4 blocks = 32 warps per SM: run 18 measured it 4-5% faster than NT = 4
 * at 2 blocks per SM, the kernel being issue-bound on the decode). The raw MXFP4
 * bytes (16 per row and k-step) and the gathered activation rows go to shared
 * memory by 16-byte cp.async, KS k-steps a stage, NS stages deep (~12 KB of
 * weights in flight per block, 48 KB per SM), one barrier per stage. Each lane then reads
 * its 4 raw bytes of a B fragment (8 codes of one row) and decodes them in
 * registers (mx_dequant8_b: the bits of mx_dequant8), so the decoded tile
 * never goes through shared memory. Scales (KS bytes per row and stage) are
 * loaded by the lanes one stage ahead, after an L2 prefetch of the block's
 * scale rows. k-steps run in order through the same tile_mma chain as every
 * other path: rows are bit-identical to the GEMV and tiled kernels. Rows of a
 * sub-tile past the expert's last pair are not loaded (stale shared memory;
 * their results are never stored and an mma row depends only on its own A row).
 * Playground knobs (bench_moe.cu; the defaults are production): NT, NS, MINB
 * (blocks per SM the registers must allow). Tried and dropped (run 18): an L2
 * prefetch-size hint on the weight cp.async (no gain: not memory-bound), one
 * bf16 multiply by 2^(s-1) instead of two (slower with its warp vote). */
#define MOE_MID_THREADS 256
#define MOE_MID_BM 32
#define MOE_MID_NT 2
#define MOE_MID_MINB 4
#define MOE_MID_BN_OF(nt) ((MOE_MID_THREADS / 32) * (nt) * 8)
#define MOE_MID_BN MOE_MID_BN_OF(MOE_MID_NT)
#define MOE_MID_NS 4

template <int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS>
constexpr size_t moe_mid_smem(void) {
    return (size_t)NS * KS * (MOE_MID_BM * 4 + MOE_MID_BN_OF(NT)) * sizeof(uint4);
}

/* moe_slot by one warp's scan of 32 experts at a time (every warp computes it). */
__device__ __forceinline__ int moe_slot_warp(const MoeArgs &a, int s, int bm, int *e_out,
                                             int *p0, int *p1) {
    const int lane = threadIdx.x % 32;
    for (int base = 0; base < a.E; base += 32) {
        const int e = base + lane;
        int lo = 0, hi = 0;
        if (e < a.E) {
            lo = a.offsets[e];
            hi = a.offsets[e + 1];
        }
        const int t = (hi - lo + bm - 1) / bm;
        int inc = t;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1) {
            int v = __shfl_up_sync(~0u, inc, d);
            if (lane >= d) inc += v;
        }
        const int total = __shfl_sync(~0u, inc, 31);
        if (s < total) {
            const int L = __ffs(__ballot_sync(~0u, inc > s)) - 1;
            const int before = __shfl_sync(~0u, inc - t, L);
            *e_out = base + L;
            *p0 = __shfl_sync(~0u, lo, L) + (s - before) * bm;
            *p1 = __shfl_sync(~0u, hi, L);
            return 1;
        }
        s -= total;
    }
    return 0;
}

template <int EPI, int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS, int MINB = MOE_MID_MINB>
__global__ void __launch_bounds__(MOE_MID_THREADS, MINB)
moe_mid_mx(MoeArgs a) {
    constexpr int BM = MOE_MID_BM, BN = MOE_MID_BN_OF(NT);
    constexpr int MT = BM / TILE_M;
    constexpr int SA = KS * BM * 4, SB = KS * BN, ST = SA + SB; // uint4 per stage
    static_assert(KS <= 4 && NS >= 2, "KS scale bytes in a word");
    extern __shared__ uint4 smem[];                             // NS * ST
    int e, p0, p1;
    if (!moe_slot_warp(a, blockIdx.x, BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int n0 = blockIdx.y * BN;
    const int KG = a.K / 32, nst = KG / KS;
    const int cnt = min(BM, p1 - p0);

    /* L2 prefetch of the block's scale rows (BN x KG bytes, contiguous). */
    {
        const uint8_t *s0 = a.scales + ((size_t)e * a.N + n0) * KG;
        const size_t bytes = (size_t)(min(n0 + BN, a.N) - n0) * KG;
        for (size_t off = (size_t)tid * 128; off < bytes; off += (size_t)MOE_MID_THREADS * 128)
            asm volatile("prefetch.global.L2 [%0];\n" ::"l"(s0 + off));
    }
    /* Loader roles, fixed for the block: thread tid copies A chunks tid + h * THREADS
     * (if any) and B chunks tid + h * THREADS (a row's k-steps go to neighbours). */
    constexpr int AI = (SA + MOE_MID_THREADS - 1) / MOE_MID_THREADS;
    constexpr int BI = (SB + MOE_MID_THREADS - 1) / MOE_MID_THREADS;
    const uint16_t *asrc[AI];
#pragma unroll
    for (int h = 0; h < AI; h++) {
        const int i = tid + h * MOE_MID_THREADS;
        const int j = i / (BM * 4), r = (i / 4) % BM, c = i % 4;
        asrc[h] = i < SA && r < cnt ? moe_act_row<EPI>(a, p0 + r) + j * TILE_K + c * 8 : NULL;
    }
    /* 32-bit offsets from the expert's base pointers: fewer registers (MINB > 2) */
    const uint8_t *bbase = a.blocks + (size_t)e * a.N * KG * 16;
    uint32_t bsrc[BI]; // ~0u: no chunk (past the stage, or a column past N)
    int bdst[BI];
#pragma unroll
    for (int h = 0; h < BI; h++) {
        const int i = tid + h * MOE_MID_THREADS, n = i / KS, j = i % KS;
        bdst[h] = j * BN + n;
        bsrc[h] = i < SB && n0 + n < a.N ? (uint32_t)(((n0 + n) * KG + j) * 16) : ~0u;
    }
    auto issue = [&](int st, int buf) {
        uint4 *sa = smem + buf * ST, *sb = sa + SA;
#pragma unroll
        for (int h = 0; h < AI; h++)
            if (asrc[h]) tile_cp_async16(&sa[tid + h * MOE_MID_THREADS], asrc[h] + (size_t)st * KS * TILE_K);
#pragma unroll
        for (int h = 0; h < BI; h++)
            if (bsrc[h] != ~0u) tile_cp_async16(&sb[bdst[h]], bbase + bsrc[h] + st * KS * 16);
    };
#pragma unroll
    for (int st = 0; st < NS - 1; st++) {
        if (st < nst) issue(st, st);
        tile_cp_commit();
    }

    /* Lane's B rows (local column index) and their scale pointers. */
    const int g = lane / 4, q = lane % 4;
    int ncol[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) ncol[t] = warp * (NT * 8) + t * 8 + g;
    /* scale row of tile t at sbase + min(srow0 + t * 8 * KG, slast) (columns past N: row N-1) */
    const uint8_t *sbase = a.scales + (size_t)e * a.N * KG;
    const uint32_t srow0 = (uint32_t)((n0 + ncol[0]) * KG), slast = (uint32_t)((a.N - 1) * KG);
    auto load_sc = [&](int st, uint32_t *sc) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            const uint8_t *row = sbase + min(srow0 + (uint32_t)(t * 8 * KG), slast);
            if (KS == 2) sc[t] = *(const uint16_t *)(row + st * 2);
            else {
                sc[t] = 0;
#pragma unroll
                for (int j = 0; j < KS; j++) sc[t] |= (uint32_t)row[st * KS + j] << (8 * j);
            }
        }
    };
    uint32_t sc_cur[NT], sc_nxt[NT] = {};
    load_sc(0, sc_cur);

    TileC acc[MT][NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int t = 0; t < NT; t++) tile_zero(&acc[i][t]);
    const int mt_used = (cnt + TILE_M - 1) / TILE_M;

    for (int st = 0; st < nst; st++) {
        tile_cp_wait<NS - 2>();
        __syncthreads(); // stage st landed for all; stage st-1 consumed by every warp
        if (st + NS - 1 < nst) issue(st + NS - 1, (st + NS - 1) % NS);
        tile_cp_commit();
        if (st + 1 < nst) load_sc(st + 1, sc_nxt);
        const uint4 *sa = smem + (st % NS) * ST;
        const uint32_t *sb = (const uint32_t *)(sa + SA);
#pragma unroll
        for (int j = 0; j < KS; j++) {
            TileA x[MT];
#pragma unroll
            for (int i = 0; i < MT; i++)
                if (i < mt_used) {
#pragma unroll
                    for (int r = 0; r < TILE_A_ROWS; r++)
                        x[i].v[r] = sa[(j * BM + i * TILE_M + tile_a_row(r)) * 4 + q];
                }
#pragma unroll
            for (int t = 0; t < NT; t++) {
                TileB b;
                const uint32_t bytes = sb[(j * BN + ncol[t]) * 4 + q];
                b.v = mx_dequant8_b(bytes, mx_scale_b2((sc_cur[t] >> (8 * j)) & 0xffu));
#pragma unroll
                for (int i = 0; i < MT; i++)
                    if (i < mt_used) tile_mma(&acc[i][t], &x[i], &b);
            }
        }
#pragma unroll
        for (int t = 0; t < NT; t++) sc_cur[t] = sc_nxt[t];
    }
    tile_cp_wait<0>();
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int t = 0; t < NT; t++)
#pragma unroll
            for (int qq = 0; qq < 4; qq++) {
                float partner = tile_c_partner(&acc[i][t], qq);
                int pos = p0 + i * TILE_M + tile_c_row(qq);
                int n = n0 + warp * (NT * 8) + t * 8 + tile_c_col(qq);
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[i][t].c[qq], partner);
            }
}
#endif

/* ---- sort and combine ---- */

#define MOE_SORT_THREADS 1024
#define MOE_SORT_MAX_E 256

/* One block: counts, exclusive scan, then a stable scatter chunk by chunk
 * (rank inside a wave by shuffles, across waves by per-wave counts). */
__global__ void __launch_bounds__(MOE_SORT_THREADS)
moe_sort_kernel(const int32_t *ids, int P, int E, int32_t *offsets, int32_t *sorted) {
    constexpr int NW = MOE_SORT_THREADS / GETP_WAVE;
    __shared__ int cnt[MOE_SORT_MAX_E], run[MOE_SORT_MAX_E];
    __shared__ int wcnt[NW][MOE_SORT_MAX_E];
    const int tid = threadIdx.x, lane = tid % GETP_WAVE, wv = tid / GETP_WAVE;
    for (int e = tid; e < E; e += MOE_SORT_THREADS) cnt[e] = 0;
    __syncthreads();
    for (int p = tid; p < P; p += MOE_SORT_THREADS) atomicAdd(&cnt[ids[p]], 1);
    __syncthreads();
    if (tid == 0) {
        int acc = 0;
        for (int e = 0; e < E; e++) {
            offsets[e] = acc;
            run[e] = acc;
            acc += cnt[e];
        }
        offsets[E] = acc;
    }
    __syncthreads();
    for (int base = 0; base < P; base += MOE_SORT_THREADS) {
        for (int i = tid; i < NW * E; i += MOE_SORT_THREADS) wcnt[i / E][i % E] = 0;
        __syncthreads();
        const int p = base + tid;
        const int e = p < P ? ids[p] : -1;
        int rank = 0;
        for (int l = 0; l < GETP_WAVE; l++) {
            int o = GETP_SHFL(e, l);
            rank += (l < lane && o == e) ? 1 : 0;
        }
        if (e >= 0) atomicAdd(&wcnt[wv][e], 1);
        __syncthreads();
        if (e >= 0) {
            int before = 0;
            for (int w = 0; w < wv; w++) before += wcnt[w][e];
            sorted[run[e] + before + rank] = p;
        }
        __syncthreads();
        for (int x = tid; x < E; x += MOE_SORT_THREADS) {
            int tot = 0;
            for (int w = 0; w < NW; w++) tot += wcnt[w][x];
            run[x] += tot;
        }
        __syncthreads();
    }
}

__global__ void moe_combine_kernel(float *x, const float *ypair, const float *topk_w, int M,
                                   int k, int H) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * H) return;
    size_t m = i / H, c = i % H;
    float s = x[i];
    for (int j = 0; j < k; j++) s += topk_w[m * k + j] * ypair[(m * k + j) * H + c];
    x[i] = s;
}

/* ---- launchers ---- */

void moe_sort(const int32_t *topk_ids, int M, int k, int E, int32_t *expert_offsets,
              int32_t *sorted_pairs, int32_t *scratch_counts, hipStream_t stream) {
    (void)scratch_counts;
    CHECK(M >= 1 && k >= 1 && E >= 1 && E <= MOE_SORT_MAX_E);
    moe_sort_kernel<<<1, MOE_SORT_THREADS, 0, stream>>>(topk_ids, M * k, E, expert_offsets,
                                                          sorted_pairs);
    GPU_CHECK_LAUNCH();
}

#if defined(MOE_ASYNC_HOST)
/* More than 48 KB of shared memory needs the function's dynamic limit raised
 * (per device: set on every launch, a cheap host call). */
template <int EPI, int WARPS_M, int MT, int KS>
static void moe_launch_async(dim3 grid, const MoeArgs &a, hipStream_t stream) {
    constexpr size_t smem = moe_async_smem<WARPS_M, MT, KS>();
    GPU_CHECK(cudaFuncSetAttribute(moe_tiled_mx_async<EPI, WARPS_M, MT, KS>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    moe_tiled_mx_async<EPI, WARPS_M, MT, KS>
        <<<grid, MoeTiled<WARPS_M, MT>::THREADS, smem, stream>>>(a);
}

#if defined(GETP_WGMMA)
template <int EPI, int BN, bool NFAST>
static void moe_launch_wgmma(const MoeArgs &a, hipStream_t stream) {
    constexpr size_t smem = moe_wgmma_smem<BN>();
    GPU_CHECK(cudaFuncSetAttribute(moe_wgmma_mx<EPI, BN, NFAST>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const unsigned slots = (unsigned)((a.M * a.k + 127) / 128 + a.E), cols = (unsigned)((a.N + BN - 1) / BN);
    const dim3 grid = NFAST ? dim3(cols, slots) : dim3(slots, cols);
    moe_wgmma_mx<EPI, BN, NFAST><<<grid, 256, smem, stream>>>(a);
}
#endif

/* grid: (slots, columns / MOE_MID_BN_OF(NT)). */
template <int EPI, int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS, int MINB = MOE_MID_MINB>
static void moe_launch_mid(dim3 grid, const MoeArgs &a, hipStream_t stream) {
    constexpr size_t smem = moe_mid_smem<KS, NT, NS>();
    GPU_CHECK(cudaFuncSetAttribute(moe_mid_mx<EPI, KS, NT, NS, MINB>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    moe_mid_mx<EPI, KS, NT, NS, MINB><<<grid, MOE_MID_THREADS, smem, stream>>>(a);
}
#endif

#if defined(GETP_WGMMA)
/* GETP_NO_WGMMA=1 turns the warpgroup kernel off (A/B runs; same bits either way). */
static bool moe_wgmma_on(void) {
    static int on = -1;
    if (on < 0) {
        const char *env = getenv("GETP_NO_WGMMA");
        on = !(env && *env && strcmp(env, "0") != 0);
    }
    return on != 0;
}
#endif

template <int EPI, bool MX>
static void moe_gemm(const MoeArgs &a, hipStream_t stream) {
    const int P = a.M * a.k;
#if defined(MOE_ASYNC_HOST)
    /* 4..32 pairs per expert on average (the 120b's 128 experts at a few hundred
     * rows): the streaming mma kernel. Any kernel gives the same bits. */
    if (MX && P >= a.E * 4 && P <= a.E * MOE_MID_BM) {
        dim3 grid((P + MOE_MID_BM - 1) / MOE_MID_BM + a.E, (a.N + MOE_MID_BN - 1) / MOE_MID_BN);
        if ((a.K / 32) % 2 == 0 && (uintptr_t)a.scales % 2 == 0) moe_launch_mid<EPI, 2>(grid, a, stream);
        else moe_launch_mid<EPI, 1, MOE_MID_NT, MOE_MID_NS, 3>(grid, a, stream); // 4/SM spills
        GPU_CHECK_LAUNCH();
        return;
    }
#endif
    if (P <= a.E * MOE_GEMV_BM) {  // few pairs per expert: stream the weights
        constexpr int NT = 2, U = 4;
        int cols = (MOE_GEMV_THREADS / GETP_WAVE) * NT * TILE_N;
        dim3 grid((P + MOE_GEMV_BM - 1) / MOE_GEMV_BM + a.E, (a.N + cols - 1) / cols);
        moe_gemv<EPI, MX, NT, U><<<grid, MOE_GEMV_THREADS, 0, stream>>>(a);
    } else if (P <= a.E * 64) {
        typedef MoeTiled<1, 4> C;
        dim3 grid((P + C::BM - 1) / C::BM + a.E, (a.N + C::BN - 1) / C::BN);
#if defined(MOE_ASYNC_HOST)
        if (MX)
            moe_launch_async<EPI, 1, 4, MOE_KS>(grid, a, stream);
        else
#endif
            moe_tiled<EPI, MX, 1, 4><<<grid, C::THREADS, 0, stream>>>(a);
    } else {
        typedef MoeTiled<2, 4> C;
        dim3 grid((P + C::BM - 1) / C::BM + a.E, (a.N + C::BN - 1) / C::BN);
#if defined(GETP_WGMMA)
        if (MX && (a.K / 32) % MOE_KS == 0 && moe_wgmma_on())
            /* block order measured (RESULTS run 14): mlp1 slot-fastest, mlp2 column-fastest */
            moe_launch_wgmma<EPI, MOE_WG_BN, EPI == MOE_MLP2>(a, stream);
        else
#endif
#if defined(MOE_ASYNC_HOST)
        if (MX)
            moe_launch_async<EPI, 2, 4, MOE_KS>(grid, a, stream);
        else
#endif
            moe_tiled<EPI, MX, 2, 4><<<grid, C::THREADS, 0, stream>>>(a);
    }
    GPU_CHECK_LAUNCH();
}

static void moe_check(const ExpertWeights *w, const void *act, int K, int N) {
    CHECK(K % TILE_K == 0 && N % 2 == 0 && ((uintptr_t)act % 16) == 0);
    if (w->is_mxfp4) CHECK(w->blocks && w->scales && ((uintptr_t)w->blocks % 16) == 0);
    else CHECK(w->bf16 && ((uintptr_t)w->bf16 % 16) == 0);
}

void moe_mlp1_swiglu(uint16_t *h, const uint16_t *t, const ExpertWeights *w1, const float *b1,
                     const int32_t *expert_offsets, const int32_t *sorted_pairs, int M, int k,
                     int E, int H, int I, float limit, hipStream_t stream) {
    moe_check(w1, t, H, 2 * I);
    MoeArgs a = {t, w1->blocks, w1->scales, w1->bf16, b1, expert_offsets, sorted_pairs,
                 h, NULL, M, k, E, 2 * I, H, limit, NULL, 0};
    if (w1->is_mxfp4) moe_gemm<MOE_MLP1, true>(a, stream);
    else moe_gemm<MOE_MLP1, false>(a, stream);
}

void moe_mlp1_linear(float *y1, const uint16_t *t, const ExpertWeights *w1, const float *b1,
                     const int32_t *expert_offsets, const int32_t *sorted_pairs, int M, int k,
                     int E, int H, int I, int accumulate, hipStream_t stream) {
    moe_check(w1, t, H, 2 * I);
    MoeArgs a = {t, w1->blocks, w1->scales, w1->bf16, b1, expert_offsets, sorted_pairs,
                 NULL, NULL, M, k, E, 2 * I, H, 0.0f, y1, accumulate};
    if (w1->is_mxfp4) moe_gemm<MOE_MLP1, true>(a, stream);
    else moe_gemm<MOE_MLP1, false>(a, stream);
}

/* The SwiGLU of moe_store, from y1 (bias included) to h = hi + lo. */
__global__ void moe_swiglu_split_kernel(uint16_t *h, uint16_t *h_lo, const float *y1, size_t n,
                                        float limit) {
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = y1[2 * i], l = y1[2 * i + 1];
    g = fminf(g, limit);
    l = fminf(fmaxf(l, -limit), limit);
    const float hv = g / (1.0f + expf(-1.702f * g)) * (l + 1.0f);
    bf16_store_pair_dev(h, h_lo, (int64_t)i, hv);
}

void moe_swiglu_split(uint16_t *h, uint16_t *h_lo, const float *y1, int P, int I, float limit,
                      hipStream_t stream) {
    CHECK(P >= 0 && I >= 1);
    const size_t n = (size_t)P * I;
    if (n == 0) return;
    moe_swiglu_split_kernel<<<(unsigned)((n + 255) / 256), 256, 0, stream>>>(h, h_lo, y1, n, limit);
    GPU_CHECK_LAUNCH();
}

void moe_mlp2(float *ypair, const uint16_t *h, const ExpertWeights *w2, const float *b2,
              const int32_t *expert_offsets, const int32_t *sorted_pairs, int M, int k, int E,
              int H, int I, int accumulate, hipStream_t stream) {
    moe_check(w2, h, I, H);
    MoeArgs a = {h, w2->blocks, w2->scales, w2->bf16, b2, expert_offsets, sorted_pairs,
                 NULL, ypair, M, k, E, H, I, 0.0f, NULL, accumulate};
    if (w2->is_mxfp4) moe_gemm<MOE_MLP2, true>(a, stream);
    else moe_gemm<MOE_MLP2, false>(a, stream);
}

void moe_combine(float *x, const float *ypair, const float *topk_w, int M, int k, int H,
                 hipStream_t stream) {
    size_t n = (size_t)M * H;
    moe_combine_kernel<<<(unsigned)((n + 255) / 256), 256, 0, stream>>>(x, ypair, topk_w, M, k,
                                                                      H);
    GPU_CHECK_LAUNCH();
}
