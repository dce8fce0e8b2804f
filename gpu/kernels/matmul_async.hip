/* matmul_async.hip: the NVIDIA extra of the dense GEMMs (extras.h; the fast
 * NVIDIA build only): the tiles of matmul.hip's mm_tiled fed by an NS-stage
 * cp.async pipeline. */
#include "matmul_common.h" // MmArgs, MmTiled, mm_kstep, mm_epilogue
#include "extras.h"        // mm_gemm_extra
#include "gpu_check.h"

/* NVIDIA: the same tiles fed by an NS-stage cp.async pipeline (KSUB k-steps a
 * stage, one barrier a stage): the operands go global -> shared without
 * passing through registers, NS - 1 stages in flight while the warps
 * multiply. Same k-step chain (mm_kstep) as mm_tiled: bit-identical rows. */
/* FOLD: how a split of K (MmArgs.klen) keeps the finished parts' total:
 * 0 no split; 1 a second accumulator set in registers (at 2 blocks an SM
 * the 128 x 128 tiles spill: 1.28-1.37x the time, run 82); 2 in shared
 * memory past the stages (MmFold, matmul_common.h: the registers of the
 * unsplit tile; 1.03-1.05x). */
template <int WARPS_M, int MT, int KSUB, int NS, int FOLD = 0>
struct MmAsync : MmTiled<WARPS_M, MT, KSUB> {
    typedef MmTiled<WARPS_M, MT, KSUB> T;
    static constexpr size_t STAGES = (size_t)NS * T::STAGE * 16;
    static constexpr size_t SMEM = STAGES + (FOLD == 2 ? (size_t)T::BM * T::BN * 4 : 0);
    static constexpr int MINB = SMEM <= 113 * 1024 ? 2 : 1; // 2 x (113 + 1 reserved) KB <= 228 KB an SM
};

/* MFAST: blockIdx.x walks the row blocks, so the blocks in flight share
 * their weight columns in L2 and the weights stream from memory once (the
 * unembedding's 1.2 GB would otherwise be read once per row block). */
/* MINB_ > 0 overrides the blocks an SM the registers are bounded for (the
 * playground's split 128 x 128 tiles at 1: no spill of the parts' total). */
template <int WARPS_M, int MT, int KSUB, int NS, bool ARGMAX, bool MFAST, int FOLD, int MINB_ = 0>
__global__ void __launch_bounds__(256, (MINB_ > 0 ? MINB_ : MmAsync<WARPS_M, MT, KSUB, NS, FOLD>::MINB))
mm_async_bf16_bf16w(MmArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MmAsync<WARPS_M, MT, KSUB, NS, FOLD> C;
    extern __shared__ uint4 smem[];
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int m0 = (MFAST ? blockIdx.x : blockIdx.y) * C::BM;
    const int n0 = (MFAST ? blockIdx.y : blockIdx.x) * C::BN;
    const int nsteps = a.K / TILE_K, nstages = (nsteps + C::KSUB - 1) / C::KSUB;
    constexpr int RPP = C::THREADS / 4, PA = C::BM / RPP, PB = C::BN / RPP;
    const int lrow = tid / 4, lc = tid % 4;
    const uint16_t *srca[PA], *srcb[PB];
#pragma unroll
    for (int p = 0; p < PA; p++)
        srca[p] = a.x + (size_t)min(m0 + p * RPP + lrow, a.M - 1) * a.K + lc * 8;
#pragma unroll
    for (int p = 0; p < PB; p++)
        srcb[p] = a.w + (size_t)min(n0 + p * RPP + lrow, a.N - 1) * a.K + lc * 8;
    auto issue = [&](int st) {
        uint4 *sa = smem + (st % NS) * C::STAGE, *sb = sa + C::A_CHUNKS;
#pragma unroll
        for (int ks = 0; ks < C::KSUB; ks++) {
            const int step = st * C::KSUB + ks;
            if (step < nsteps) {
#pragma unroll
                for (int p = 0; p < PA; p++)
                    port_cp_async16(&sa[ks * C::BM * 4 + mm_swz(p * RPP + lrow, lc)],
                                    srca[p] + (size_t)step * TILE_K);
#pragma unroll
                for (int p = 0; p < PB; p++)
                    port_cp_async16(&sb[ks * C::BN * 4 + mm_swz(p * RPP + lrow, lc)],
                                    srcb[p] + (size_t)step * TILE_K);
            }
        }
    };
    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    MmFold<MT, C::NT, FOLD, C::THREADS> fold((float *)(smem + C::STAGES / 16), a.klen);
#pragma unroll
    for (int st = 0; st < NS - 1; st++) {
        if (st < nstages) issue(st);
        port_cp_commit();
    }
    int st = 0;
    for (int s0 = 0; s0 < nsteps;) { // a part of K at a time (one part unless SPLIT)
        const int s1 = fold.end(s0, nsteps), st1 = (s1 + C::KSUB - 1) / C::KSUB;
        for (; st < st1; st++) {
            port_cp_wait<NS - 2>(); // this thread's copies of stage st have landed
            __syncthreads();        // everyone's have; stage st - 1 is consumed by all warps
            if (st + NS - 1 < nstages) issue(st + NS - 1); // into stage st - 1's buffer
            port_cp_commit();
            const uint4 *buf = smem + (st % NS) * C::STAGE;
#pragma unroll
            for (int ks = 0; ks < C::KSUB; ks++) {
                if (st * C::KSUB + ks >= nsteps) break;
                mm_kstep<C>(acc, buf + ks * C::BM * 4, buf + C::A_CHUNKS + ks * C::BN * 4, wm, wn);
            }
        }
        if (s1 < nsteps) fold.add(s0 == 0, acc);
        s0 = s1;
    }
    fold.finish(nsteps, acc);
    port_cp_wait<0>();
    __syncthreads(); // the epilogue may reuse the stage buffers
    mm_epilogue<C, ARGMAX>(a, acc, smem, m0, n0, wm, wn);
}

/* ---- launcher and the NVIDIA choice ---- */

template <int WARPS_M, int MT, int KSUB, int NS, bool ARGMAX, bool MFAST, int FOLD, int MINB_ = 0>
static void mm_launch_async_as(const MmArgs &a, hipStream_t stream) {
    typedef MmAsync<WARPS_M, MT, KSUB, NS, FOLD> C;
    CHECK(!FOLD || a.klen % KSUB == 0); // parts of whole stages (mm_dense_klen)
    const void *fn = (const void *)mm_async_bf16_bf16w<WARPS_M, MT, KSUB, NS, ARGMAX, MFAST, FOLD, MINB_>;
    GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)C::SMEM));
    const unsigned nb = (unsigned)((a.N + C::BN - 1) / C::BN), mb = (unsigned)((a.M + C::BM - 1) / C::BM);
    const dim3 grid = MFAST ? dim3(mb, nb) : dim3(nb, mb);
    port_launch(mm_async_bf16_bf16w<WARPS_M, MT, KSUB, NS, ARGMAX, MFAST, FOLD, MINB_>,
        grid, C::THREADS, C::SMEM, stream, a);
    GPU_CHECK_LAUNCH();
}
template <int WARPS_M, int MT, int KSUB, int NS, bool ARGMAX, bool MFAST = true>
static void mm_launch_async(const MmArgs &a, hipStream_t stream) {
    static_assert(NS > 2, "the split runs a stage fewer");
    if (mm_is_split(a)) mm_launch_async_as<WARPS_M, MT, KSUB, NS - 1, ARGMAX, MFAST, 2>(a, stream);
    else mm_launch_async_as<WARPS_M, MT, KSUB, NS, ARGMAX, MFAST, 0>(a, stream);
}

/* Every shape the portable dispatcher would tile: 64x128 tiles, 2 k-steps a
 * stage up to M = 256, 128x128 with 1 past it, 4 stages. */
bool mm_gemm_extra(const MmArgs &a, bool argmax, hipStream_t stream) {
    if (a.M <= 256) argmax ? mm_launch_async<1, 4, 2, 4, true>(a, stream) : mm_launch_async<1, 4, 2, 4, false>(a, stream);
    else argmax ? mm_launch_async<2, 4, 1, 4, true>(a, stream) : mm_launch_async<2, 4, 1, 4, false>(a, stream);
    return true;
}
