/* moe.hip: the mixture-of-experts block as a grouped GEMM (kernels.h).
 *
 * moe_sort groups the M*k (token, j) pairs by expert with a stable counting
 * sort in one block. The two expert GEMMs then run over all experts in one
 * launch each: a block takes a tile of up to BM consecutive sorted pairs of
 * one expert (its slot is found from expert_offsets, so the grid is an upper
 * bound, ceil(P / BM) + E slots, and spare blocks exit) times a range of
 * output columns. MXFP4 weights are dequantized on the fly (exact: every
 * MXFP4 value is a bf16), bias and SwiGLU (mlp1) are fused in the epilogue.
 *
 * The kernel families, one file each, all giving the same bits for a pair
 * (moe_common.h): moe_tiles.hip (portable: moe_gemv, moe_tiled), and the
 * vendor extras behind moe_gemm_extra (NVIDIA: moe_async.hip's cp.async
 * kernels and moe_wgmma.hip's warpgroup MMA; other builds: extras_none.hip).
 * This file dispatches, sorts, combines and holds the public launchers.
 */
#include "kernels.h"       // moe_sort, moe_mlp1_swiglu, moe_mlp2, moe_combine
#include "moe_families.h"  // moe_launch_gemv, moe_launch_tiled
#include "extras.h"        // moe_gemm_extra
#include "tile.h"          // TILE_K
#include "gpu_check.h"
#include "gpu_util.h"      // bf16_store_pair_dev, moe_combine_at4
#include "moe_sort.h"      // moe_sort_block

/* ---- sort and combine ---- */

/* One block (moe_sort.h's moe_sort_block). */
__global__ void __launch_bounds__(MOE_SORT_THREADS)
moe_sort_kernel(const int32_t *ids, int P, int E, int32_t *offsets, int32_t *sorted) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    moe_sort_block(ids, P, E, offsets, sorted);
}

/* Four columns a thread (H % 4 == 0, moe_combine checks). */
__global__ void moe_combine_kernel(float *x, const float *ypair, const float *topk_w, int M,
                                   int k, int H) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    const size_t i = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) * 4;
    if (i >= (size_t)M * H) return;
    float4 *p = (float4 *)(x + i);
    *p = moe_combine_at4(*p, ypair, topk_w, i / H, k, H, i % H);
}

/* ---- dispatch ---- */

/* moe_set_w64's range; unset (lo < 0) until the first product reads
 * GETP_MOE_W64 or takes MOE_W64_LO..MOE_W64_HI. */
static int moe_w64_lo = -1, moe_w64_hi = 0;

void moe_get_w64(int *lo, int *hi) {
    if (moe_w64_lo < 0) {
        int l = MOE_W64_LO, h = MOE_W64_HI;
        env_range("GETP_MOE_W64", &l, &h, 128,
                  "0 (off) or LO-HI, averages of pairs an expert in (LO, HI], 0 <= LO < HI <= 128");
        moe_w64_lo = l, moe_w64_hi = h;
    }
    *lo = moe_w64_lo, *hi = moe_w64_hi;
}

void moe_set_w64(int lo, int hi) { moe_w64_lo = lo, moe_w64_hi = hi; }

/* Few pairs per expert: stream the weights (moe_gemv); more: tiles. The
 * vendor's extras choose first (extras_none.hip declines everything). */
static void moe_gemm(const MoeArgs &a, int epi, hipStream_t stream) {
    const int P = a.M * a.k;
    if (!moe_gemm_extra(a, epi, stream)) {
        if (P <= a.E * MOE_GEMV_BM) moe_launch_gemv(a, epi, stream);
        else moe_launch_tiled(a, epi, P <= a.E * 64 ? 1 : 2, stream);
    }
    GPU_CHECK_LAUNCH();
}

/* ---- launchers ---- */

void moe_sort(const int32_t *topk_ids, int M, int k, int E, int32_t *expert_offsets,
              int32_t *sorted_pairs, int32_t *scratch_counts, hipStream_t stream) {
    (void)scratch_counts;
    CHECK(M >= 1 && k >= 1 && E >= 1 && E <= MOE_SORT_MAX_E);
    port_launch(moe_sort_kernel, 1, MOE_SORT_THREADS, 0, stream, topk_ids, M * k, E, expert_offsets,
                                                          sorted_pairs);
    GPU_CHECK_LAUNCH();
}

static void moe_check(const MoeArgs *a, int mlp1) {
    const ExpertWeights *w = &a->w;
    CHECK(a->M >= 1 && a->k >= 1 && a->E >= 1 && a->K % TILE_K == 0 && a->N % 2 == 0);
    CHECK(((uintptr_t)a->act % 16) == 0 && a->bias && a->offsets && a->pairs);
    if (w->is_mxfp4) CHECK(w->blocks && w->scales && ((uintptr_t)w->blocks % 16) == 0);
    else CHECK(w->bf16 && ((uintptr_t)w->bf16 % 16) == 0);
    CHECK(mlp1 ? (a->y1 != NULL || a->h != NULL) : a->ypair != NULL);
}

void moe_mlp1_swiglu(const MoeArgs *a, hipStream_t stream) {
    moe_check(a, 1);
    CHECK(a->h && !a->y1);
    moe_gemm(*a, MOE_MLP1, stream);
}

void moe_mlp1_linear(const MoeArgs *a, hipStream_t stream) {
    moe_check(a, 1);
    CHECK(a->y1 != NULL);
    moe_gemm(*a, MOE_MLP1, stream);
}

/* The SwiGLU of moe_store, from y1 (bias included) to h = hi + lo. */
__global__ void moe_swiglu_split_kernel(uint16_t *h, uint16_t *h_lo, const float *y1, size_t n,
                                        float limit) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
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
    port_launch(moe_swiglu_split_kernel, (unsigned)((n + 255) / 256), 256, 0, stream, h, h_lo, y1, n, limit);
    GPU_CHECK_LAUNCH();
}

void moe_mlp2(const MoeArgs *a, hipStream_t stream) {
    moe_check(a, 0);
    moe_gemm(*a, MOE_MLP2, stream);
}

void moe_combine(float *x, const float *ypair, const float *topk_w, int M, int k, int H,
                 hipStream_t stream) {
    CHECK(H % 4 == 0);
    const size_t n = (size_t)M * H / 4;
    port_launch(moe_combine_kernel, (unsigned)((n + 255) / 256), 256, 0, stream, x, ypair, topk_w, M, k,
                                                                      H);
    GPU_CHECK_LAUNCH();
}
