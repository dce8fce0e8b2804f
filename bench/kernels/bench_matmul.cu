/* bench_matmul.cu: playground for the dense GEMMs. Includes gpu/kernels/matmul*.hip
 * so every variant (template instance) can be launched directly. For each
 * real shape and M: validate 1024 sampled outputs against a double reference
 * (NMSE <= 1e-8, see tests/gpu/test_gemm.cu for the bound), then time the
 * median of 20 runs after 5 warm-ups, rotating weight copies so that the
 * weights streamed exceed L2. Versions:
 *   v1 gemv<1,8>  v2 gemv<2,4>   (M <= 16: one warp per 8 / 16 weight rows)
 *   v3 tiled<1,4,2> (64x128, 2 k-steps a stage)  v4 tiled<2,4,1> (128x128)
 *   v5 tiled<2,4,2> (128x128, 2 k-steps, 1 block/SM)
 *   v7..v10 async<WARPS_M,MT,KSUB,NS>: cp.async pipeline, NS stages of KSUB k-steps,
 *   row blocks fastest (blocks in flight share weights); v11, v12: columns fastest
 *   v13 auto: the dispatcher (mm_dispatch); v14 gemv<1,8> at any M (16-row groups on
 *   grid.y; W <= 64 MB only: it re-reads W per 16 rows); v15 / v16 gemv with one A row a lane
 *   (M <= 8) and U = 16 / 8 k-steps in flight; with v14 on small N the argmax
 *   ids of the row-grouped GEMV are also checked against the 64x128 tiles'. For N <= 8192
 *   every version's output must equal the first one's bitwise ("BITS DIFFER" otherwise).
 *   v17..v22 split-K GEMV (session 8): S = ceil(K/32 / KP) warps per 8-row tile, each a
 *   part of KP k-steps, parts summed in order (other bits than v1: a different order)
 *   v23 / v24: v9 with 5 / 6 stages (80 / 96 KB: still 2 blocks an SM)
 *   v25 mm_split: the production split of K for small W (the routers, W <= 1 MB) at
 *   every M; v13 dispatches it there, so on the router shapes v13 and v25 print BITS
 *   DIFFER against v1 (their own order) and must agree with each other
 *   v26..v29 the dense split of K (MmArgs.klen = mm_dense_klen: 4 parts of whole
 *   stages; none for the vocabulary): v26 the dispatcher (split GEMV at M <= 16, tiles
 *   past it), v27 / v28 the 128- / 64-row cp.async tiles as production runs them split
 *   (the parts' total in shared memory, MmFold's FOLD 2, a stage fewer), v29 the total in
 *   registers (MmFold) bounded for 1 block an SM; v33 / v34 the 128- / 64-row tiles
 *   with the total in registers at 2 blocks (spilling), v35 the shared-memory total
 *   with 4 stages (1 block an SM); they print BITS DIFFER against v1 and must agree
 *   with each other (compared with the first split version). v36: v9 with 3 stages
 *   (what the split's stage fewer costs unsplit). v37 / v38: the portable (AMD) tiles
 *   under the split, 64- / 128-row, the total in registers (against v3 / v4 unsplit: which
 *   tile the portable dispatcher should take past M = 256 under the split); v39 / v40 the
 *   same bounded for 1 block an SM (no spill on sm_90a: at 2 blocks 256 threads get 128
 *   registers and the total spills 156 / 908 bytes; v39 / v40 are what the portable dispatcher
 *   runs since run 84, GETP_MINB_WIDE, on NVIDIA; v37 / v38 / v41 keep the 2-block bound)
 *   v30..v32 v15 / v16 in blocks of 1 or 2 warps (the grid spread evenly over the SMs:
 *   qkv's 160 blocks of 4 warps put 2 on 28 of 132 SMs, o's 90 leave 42 idle). (Run 78
 *   timed a GEMV with its k-steps in flight in shared memory, cp.async into a per-lane
 *   ring: 0.6x at M = 1, even at M = 8; removed.)
 * Shapes: qkv, o, router (N=32, 20b), router128 (N=128, 120b), unembed. Args: shape
 * (all); env BENCH_M: comma list of M (default 1, 8, 64, 256, 342, 1024, 2048, 4096);
 * BENCH_V: comma list of version numbers (all).
 * Build: bench/device.sh does it (nvcc -x cu with -Igpu -Igpu/kernels -Igpu/port -Isrc). */
#include "../../gpu/kernels/matmul.hip"
#include "../../gpu/kernels/matmul_async.hip"
#include "bench_util.h"

/* Split-K experiment (session 8): one block per 8-row tile and 16-row group,
 * S = ceil(nsteps / KP) warps, warp p running k-steps [p*KP, (p+1)*KP) as its
 * own chain from zero; the block sums the parts in part order through shared
 * memory (sum = 0; sum += part 0; sum += part 1; ...), the order a tiled
 * kernel could reproduce with a second accumulator. S times the warps of mm_gemv. */
template <int KP, int U, bool HALF>
__global__ void __launch_bounds__(512)
mm_gemv_split(MmArgs a) {
    extern __shared__ float sred[];  // [S][4][wave]
    port_dep_enter();
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = blockIdx.x * TILE_N, m0 = blockIdx.y * TILE_M;
    const int s0 = warp * KP, nsteps = min(KP, a.K / TILE_K - s0), koff = tile_k_off() + s0 * TILE_K;
    const uint16_t *xrow[TILE_A_ROWS];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++)
        xrow[r] = a.x + (size_t)min(m0 + tile_a_row(r), a.M - 1) * a.K + koff;
    const uint16_t *wrow = a.w + (size_t)min(n0 + tile_b_row(), a.N - 1) * a.K + koff;
    TileC acc;
    tile_zero(&acc);
    TileB b[U];
    TileA x[U];
    auto load = [&](int u, int s) {
        b[u].v = *(const uint4 *)(wrow + (size_t)s * TILE_K);
#pragma unroll
        for (int r = 0; r < (HALF ? 1 : TILE_A_ROWS); r++)
            x[u].v[r] = *(const uint4 *)(xrow[r] + (size_t)s * TILE_K);
    };
    auto step = [&](int u) {
#pragma unroll
        for (int r = 1; r < (HALF ? TILE_A_ROWS : 1); r++) x[u].v[r] = x[u].v[0];
        tile_mma(&acc, &x[u], &b[u]);
    };
    tile_ring<U>(nsteps, load, step);
    if (!bu_split_sum(&acc, sred)) return;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int m = m0 + tile_c_row(i), n = n0 + tile_c_col(i);
        if (m < a.M && n < a.N) mm_store(a, m, n, acc.c[i]);
    }
}

template <int KP, int U, bool HALF>
static void bench_launch_split(const MmArgs &a, hipStream_t stream) {
    const int S = (a.K / TILE_K + KP - 1) / KP;
    dim3 grid((a.N + TILE_N - 1) / TILE_N, (a.M + TILE_M - 1) / TILE_M);
    mm_gemv_split<KP, U, HALF><<<grid, S * GETP_WAVE, S * 4 * GETP_WAVE * 4, stream>>>(a);
    GPU_CHECK_LAUNCH();
}

typedef void (*Launch)(const MmArgs &, hipStream_t);
struct Ver { const char *name; Launch f; int max_m; size_t max_w = (size_t)1 << 62; bool ksplit = false; };
static const Ver vers[] = {
    {"v1 gemv<1,8>", mm_launch_gemv<1, 8, false>, 16},
    {"v2 gemv<2,4>", mm_launch_gemv<2, 4, false>, 16},
    {"v3 tiled64", mm_launch_tiled<1, 4, 2, false>, 1 << 30},
    {"v4 tiled128k1", mm_launch_tiled<2, 4, 1, false>, 1 << 30},
    {"v5 tiled128k2", mm_launch_tiled<2, 4, 2, false>, 1 << 30},
    {"v6 argmax(disp)", NULL, 1 << 30},
    {"v7 async128k2s3", mm_launch_async<2, 4, 2, 3, false>, 1 << 30},
    {"v8 async64k2s4", mm_launch_async<1, 4, 2, 4, false>, 1 << 30},
    {"v9 async128k1s4", mm_launch_async<2, 4, 1, 4, false>, 1 << 30},
    {"v10 async128k2s4", mm_launch_async<2, 4, 2, 4, false>, 1 << 30},
    {"v11 v9 n-fast", mm_launch_async<2, 4, 1, 4, false, false>, 1 << 30},
    {"v12 v7 n-fast", mm_launch_async<2, 4, 2, 3, false, false>, 1 << 30},
    {"v13 auto", mm_dispatch<false>, 1 << 30},
    {"v14 gemv rows", mm_launch_gemv<1, 8, false>, 1 << 30, (size_t)64 << 20},
    {"v15 gemv half U16", mm_launch_gemv<1, 16, false, true>, 8},
    {"v16 gemv half U8", mm_launch_gemv<1, 8, false, true>, 8},
    {"v17 split24 U8h", bench_launch_split<24, 8, true>, 8},
    {"v18 split12 U8h", bench_launch_split<12, 8, true>, 8},
    {"v19 split8 U8h", bench_launch_split<8, 8, true>, 8},
    {"v20 split12 U12h", bench_launch_split<12, 12, true>, 8},
    {"v21 split24 U8", bench_launch_split<24, 8, false>, 16},
    {"v22 split12 U8", bench_launch_split<12, 8, false>, 16},
    {"v23 async128k1s5", mm_launch_async<2, 4, 1, 5, false>, 1 << 30},
    {"v24 async128k1s6", mm_launch_async<2, 4, 1, 6, false>, 1 << 30},
    {"v25 mm_split", mm_launch_split<false>, 1 << 30, MM_GEMV_L2_BYTES},
    {"v26 ksplit auto", mm_dispatch<false>, 1 << 30, (size_t)1 << 62, true},
    {"v27 ksplit async128", mm_launch_async<2, 4, 1, 4, false>, 1 << 30, (size_t)1 << 62, true},
    {"v28 ksplit async64", mm_launch_async<1, 4, 2, 4, false>, 1 << 30, (size_t)1 << 62, true},
    {"v29 ksplit async128 1/SM", mm_launch_async_as<2, 4, 1, 4, false, true, 1, 1>, 1 << 30,
     (size_t)1 << 62, true},
    {"v30 gemv half U16 1w", mm_launch_gemv<1, 16, false, true, 1>, 8},
    {"v31 gemv half U16 2w", mm_launch_gemv<1, 16, false, true, 2>, 8},
    {"v32 gemv half U8 1w", mm_launch_gemv<1, 8, false, true, 1>, 8},
    {"v33 ksplit async128 regs", mm_launch_async_as<2, 4, 1, 4, false, true, 1>, 1 << 30, (size_t)1 << 62, true},
    {"v34 ksplit async64 regs", mm_launch_async_as<1, 4, 2, 4, false, true, 1>, 1 << 30, (size_t)1 << 62, true},
    {"v35 ksplit async128 smem s4", mm_launch_async_as<2, 4, 1, 4, false, true, 2>, 1 << 30, (size_t)1 << 62, true},
    {"v36 async128k1s3", mm_launch_async<2, 4, 1, 3, false>, 1 << 30},
    {"v37 ksplit tiled64", mm_launch_tiled_as<1, 4, 2, false, true, 2>, 1 << 30, (size_t)1 << 62, true},
    {"v38 ksplit tiled128k1", mm_launch_tiled_as<2, 4, 1, false, true, 2>, 1 << 30, (size_t)1 << 62, true},
    {"v39 ksplit tiled64 1/SM", mm_launch_tiled_as<1, 4, 2, false, true, 1>, 1 << 30, (size_t)1 << 62, true},
    {"v40 ksplit tiled128k1 1/SM", mm_launch_tiled_as<2, 4, 1, false, true, 1>, 1 << 30, (size_t)1 << 62, true},
    {"v41 ksplit tiled64k1", mm_launch_tiled_as<1, 4, 1, false, true, 2>, 1 << 30, (size_t)1 << 62, true},
    {"v42 tiled64k1", mm_launch_tiled_as<1, 4, 1, false, false>, 1 << 30},
};

/* argmax ids through launcher f (the steps of matmul_argmax_bf16_bf16w). */
static std::vector<int32_t> argmax_ids(Launch f, MmArgs a, unsigned long long *keys, int32_t *ids) {
    GPU_CHECK(hipMemset(keys, 0, (size_t)a.M * 8));
    a.y = NULL; a.bias = NULL; a.residual = NULL; a.keys = keys;
    f(a, 0);
    mm_argmax_finish<<<(a.M + 255) / 256, 256>>>(ids, keys, a.M);
    GPU_CHECK_LAUNCH();
    return bu_host(ids, a.M);
}


int main(int argc, char **argv) {
    struct Shape { const char *name; int N, K; } shapes[] = {
        {"qkv", 5120, 2880}, {"o", 2880, 4096}, {"router", 32, 2880}, {"router128", 128, 2880},
        {"unembed", 201088, 2880}};
    const std::vector<int> Ms = bu_env_list("BENCH_M", {1, 8, 64, 256, 342, 1024, 2048, 4096});
    for (int M : Ms) if (M < 1 || M > 4096) { printf("BENCH_M: 1..4096\n"); return 1; }
    const std::vector<int> Vs = bu_env_list("BENCH_V", {}); // version numbers (all)
    const char *only = argc > 1 ? argv[1] : NULL;
    printf("%-8s %5s %-16s %9s %8s %8s %9s\n", "shape", "M", "version", "ms", "TFLOP/s", "GB/s", "NMSE");
    for (auto &sh : shapes) {
        if (only && strcmp(only, sh.name)) continue;
        const int N = sh.N, K = sh.K, Mmax = 4096;
        size_t wbytes = (size_t)N * K * 2;
        int ncopy = (int)std::min<size_t>(8, std::max<size_t>(1, (200u << 20) / wbytes));
        std::vector<uint16_t> x((size_t)Mmax * K), w(wbytes / 2);
        bu_fill_bf16(x, 1.0f); bu_fill_bf16(w, 0.05f);
        std::vector<float> bias(N); for (auto &b : bias) b = bu_uniform();
        uint16_t *dx = bu_dev(x); float *db = bu_dev(bias), *dy;
        std::vector<uint16_t *> dw(ncopy);
        for (auto &p : dw) p = bu_dev(w);
        GPU_CHECK(hipMalloc((void **)&dy, (size_t)Mmax * N * 4));
        int32_t *dids; GPU_CHECK(hipMalloc((void **)&dids, Mmax * 4));
        unsigned long long *dkeys; GPU_CHECK(hipMalloc((void **)&dkeys, Mmax * 8));
        for (int M : Ms) {
            std::vector<float> first[2];  // the first version's y (N <= 8192), per ksplit
            const char *first_name[2] = {"", ""};
            for (auto &v : vers) {
                if (M > v.max_m || wbytes > v.max_w) continue;
                if (v.ksplit && wbytes <= MM_GEMV_L2_BYTES) continue; // the routers: their own split
                if (!Vs.empty() && std::find(Vs.begin(), Vs.end(), (int)(&v - vers) + 1) == Vs.end()) continue;
                bool am = v.f == NULL;
                if (am && strcmp(sh.name, "unembed")) continue;
                MmArgs a = {dy, dx, dw[0], db, NULL, NULL, M, N, K, v.ksplit ? mm_dense_klen(N, K / TILE_K) : 0};
                double err = 0;
                if (!am) {
                    GPU_CHECK(hipMemset(dy, 0xff, (size_t)M * N * 4));
                    v.f(a, 0);
                    GPU_CHECK(hipDeviceSynchronize());
                    BuErr e;
                    for (int s = 0; s < 1024; s++) {
                        int m = (int)(bu_u32() % M), n = (int)(bu_u32() % N);
                        double r = bias[n];
                        for (int k = 0; k < K; k++) r += bu_f(x[(size_t)m * K + k]) * bu_f(w[(size_t)n * K + k]);
                        float o; GPU_CHECK(hipMemcpy(&o, dy + (size_t)m * N + n, 4, hipMemcpyDeviceToHost));
                        e.add(o, r);
                    }
                    err = e.nmse();
                    if (!e.ok(1e-8)) printf("VALIDATION FAILED %s M=%d %s nmse=%g nan=%ld\n", sh.name, M, v.name, err, e.nan);
                    if (N <= 8192) {
                        std::vector<float> y = bu_host(dy, (size_t)M * N);
                        const int q = v.ksplit;
                        if (first[q].empty()) { first[q] = y; first_name[q] = v.name; }
                        else if (memcmp(y.data(), first[q].data(), y.size() * 4))
                            printf("BITS DIFFER %s M=%d %s vs %s\n", sh.name, M, v.name, first_name[q]);
                    }
                    if (&v == &vers[13] && N <= 8192 &&
                        argmax_ids(mm_launch_gemv<1, 8, true>, a, dkeys, dids) !=
                            argmax_ids(mm_launch_async<1, 4, 2, 4, true>, a, dkeys, dids))
                        printf("ARGMAX DIFFERS %s M=%d gemv rows vs tiled\n", sh.name, M);
                }
                float ms = bu_time([&](int i) {
                    MmArgs b = a; b.w = dw[i % ncopy];
                    if (am) matmul_argmax_bf16_bf16w(dids, dx, b.w, M, N, K, 0);
                    else v.f(b, 0);
                }, 5, 20);
                double flop = 2.0 * M * N * K, bytes = wbytes + (double)M * K * 2 + (am ? 0 : (double)M * N * 4);
                printf("%-8s %5d %-16s %9.4f %8.1f %8.0f %9.2e\n", sh.name, M, v.name, ms, flop / ms / 1e9,
                       bytes / ms / 1e6, err);
            }
        }
        for (auto p : dw) GPU_CHECK(hipFree(p));
        GPU_CHECK(hipFree(dx)); GPU_CHECK(hipFree(db)); GPU_CHECK(hipFree(dy)); GPU_CHECK(hipFree(dids));
        GPU_CHECK(hipFree(dkeys));
    }
    return 0;
}
