/* bench_attention.cu: playground for decode attention at long context (issue
 * #20's io1k: run 50 measured the 20b's attention phase at 2.45 TB/s of KV, half
 * the HBM rate). Includes gpu/kernels/attention*.hip, so each kernel runs by
 * name (attention_f32q_bf16kv_by). The 20b's (and 120b's) shape: 64 query heads,
 * 8 KV heads of 64 dims. BENCH_T tokens (default 1,024), token i decoding in
 * slot i at a position drawn uniformly in [C/2, 3C/2) for each context C of
 * BENCH_CTX (default 128, 512, 1536, 4096), BENCH_WIN > 0: a sliding window.
 * The cache holds the same logical K/V in both layouts (kernels.h kv_strides),
 * filled on the GPU from a hash of (slot, head, position, dim), so each
 * version must give the bits of the first version run of the same kernel
 * (the mma kernel: v0, v1, v4, v5; the tile kernel: v2, v3; the two kernels
 * split the positions differently, so they round differently): "BITS DIFFER"
 * otherwise. Versions (BENCH_V, comma list; all by default):
 *   v0 auto, token-major (the engine's dispatch and default layout)
 *   v1 auto, head-major
 *   v2 tile kernel, token-major     v3 tile kernel, head-major
 *   v4 mma kernel two tiles ahead (LA = 2), token-major   v5 the same, head-major
 *   v6 mma kernel, one token a block (chunk mode 1), token-major
 *   v7 tile kernel, one token a block (chunk mode 1), token-major
 * BENCH_PREFILL=1: a prefill run instead: the T tokens in one slot at positions
 * C - T .. C - 1.
 * Timing: the median of 10 launches after 3 (bench_util.h bu_time; BENCH_TIMING
 * = queue: back to back). GB/s counts the K and V rows each token reads once.
 * Build: bench/device.sh "playground:attention". */
#include "../../gpu/kernels/attention.hip"
#include "../../gpu/kernels/attention_mma.hip"
#include "bench_util.h"

static __device__ __forceinline__ uint32_t ba_hash(uint64_t x) {
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull, x ^= x >> 33;
    return (uint32_t)x;
}
/* K (which = 0) or V (1) of every (slot, head, position < cap, dim) at its
 * place under st: bf16 of a uniform value in [-1, 1) from the logical index. */
__global__ void ba_fill(uint16_t *c, KvStrides st, int n_slots, int n_kv, int cap, int which) {
    const int64_t n = (int64_t)n_slots * n_kv * cap * ATT_HD;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        const int d = (int)(e % ATT_HD), p = (int)(e / ATT_HD % cap), h = (int)(e / ATT_HD / cap % n_kv);
        const int s = (int)(e / ATT_HD / cap / n_kv);
        const float f = (float)(ba_hash((uint64_t)e * 2 + which) >> 8) / 8388608.0f - 1.0f;
        c[s * st.slot + (int64_t)h * st.head + (int64_t)p * st.pos + d] = (uint16_t)(__float_as_uint(f) >> 16);
    }
}

int main(void) {
    const int n_heads = 64, n_kv = 8, dq = n_heads * ATT_HD;
    const std::vector<int> Ts = bu_env_list("BENCH_T", {1024});
    const std::vector<int> Cs = bu_env_list("BENCH_CTX", {128, 512, 1536, 4096});
    const std::vector<int> Ws = bu_env_list("BENCH_WIN", {0});
    std::vector<int> Vs = bu_env_list("BENCH_V", {0, 1, 2, 3, 4, 5});
    const int prefill = bu_env_list("BENCH_PREFILL", {0})[0];
    const int T = Ts[0], win = Ws[0];
    int cmax = 0;
    for (int c : Cs) cmax = std::max(cmax, c);
    const int cap = 3 * cmax / 2; // positions < 3C/2
    if (T < 1 || cmax < 2 || win < 0) { printf("BENCH_T >= 1, BENCH_CTX >= 2, BENCH_WIN >= 0\n"); return 1; }
    const size_t cache_n = (size_t)T * cap * n_kv * ATT_HD;
    printf("tokens %d, KV cache %d positions a slot, %.2f GB each of K and V a layout, window %d\n", T, cap,
           cache_n * 2 / 1e9, win);
    /* layout 0 token-major, 1 head-major: K and V each */
    uint16_t *kc[2], *vc[2];
    KvStrides st[2];
    for (int l = 0; l < 2; l++) {
        st[l] = kv_strides(l, cap, n_kv, ATT_HD);
        GPU_CHECK(hipMalloc((void **)&kc[l], cache_n * 2));
        GPU_CHECK(hipMalloc((void **)&vc[l], cache_n * 2));
        ba_fill<<<4096, 256>>>(kc[l], st[l], T, n_kv, cap, 0);
        ba_fill<<<4096, 256>>>(vc[l], st[l], T, n_kv, cap, 1);
    }
    std::vector<float> q((size_t)T * dq), sinks(n_heads);
    for (auto &x : q) x = bu_uniform() * 3.0f;
    for (auto &x : sinks) x = bu_uniform() * 2.0f;
    float *dqv = bu_dev(q), *ds = bu_dev(sinks);
    std::vector<int32_t> slot(T), pos(T);
    uint16_t *dout;
    GPU_CHECK(hipMalloc((void **)&dout, (size_t)T * dq * 2));
    /* which < 0: the mma kernel with -which tiles in flight (att_mma_launch); kernel: 0 = auto
     * (the mma kernel in the fast build), 1 = tile */
    struct Ver { const char *name; int which, layout, kernel, mode; } vers[] = {
        {"v0 auto token-major", ATT_AUTO, 0, 0, 0}, {"v1 auto head-major", ATT_AUTO, 1, 0, 0},
        {"v2 tile token-major", ATT_TILED, 0, 1, 0}, {"v3 tile head-major", ATT_TILED, 1, 1, 0},
        {"v4 mma LA2 token-major", -2, 0, 0, 0}, {"v5 mma LA2 head-major", -2, 1, 0, 0},
        {"v6 mma 1 token a block", ATT_AUTO, 0, 0, 1}, {"v7 tile 1 token a block", ATT_TILED, 0, 1, 1}};
    /* mode: attention_set_chunk_blocks's (1: a block walks its chunks) */
    auto run = [](const AttnArgs *a, int which, int mode) {
        attention_set_chunk_blocks(mode);
        const bool ok = which < 0 ? att_mma_launch(a, -which, 0) : attention_f32q_bf16kv_by(a, which, 0);
        attention_set_chunk_blocks(0);
        return ok;
    };
    printf("%-9s %-22s %9s %8s\n", "context", "version", "ms", "GB/s");
    for (int C : Cs) {
        double bytes = 0;
        for (int i = 0; i < T; i++) {
            slot[i] = prefill ? 0 : i;
            pos[i] = prefill ? std::max(0, C - T) + i : C / 2 + (int)(bu_u32() % (uint32_t)C);
            const int lo = win > 0 && pos[i] - win + 1 > 0 ? pos[i] - win + 1 : 0;
            bytes += (double)(pos[i] + 1 - lo) * n_kv * ATT_HD * 2 * 2;
        }
        int32_t *dslot = bu_dev(slot), *dpos = bu_dev(pos);
        std::vector<uint16_t> first[2]; // per kernel
        for (int v : Vs) {
            if (v < 0 || v >= (int)(sizeof vers / sizeof vers[0])) continue;
            const Ver &ve = vers[v];
            KvLayer kv = {kc[ve.layout], vc[ve.layout], cap, NULL, NULL, st[ve.layout]};
            const AttnArgs a = {dout, NULL, dqv, kv, {dslot, dpos, T}, ds, win, n_heads, n_kv, ATT_HD};
            GPU_CHECK(hipMemset(dout, 0xff, (size_t)T * dq * 2));
            if (!run(&a, ve.which, ve.mode)) { printf("ctx %-5d %-22s declined\n", C, ve.name); continue; }
            std::vector<uint16_t> got = bu_host(dout, (size_t)T * dq);
            std::vector<uint16_t> &ref = first[ve.kernel];
            if (ref.empty()) ref = got;
            else if (memcmp(ref.data(), got.data(), got.size() * 2))
                printf("BITS DIFFER: %s vs the first version of its kernel\n", ve.name);
            const float ms = bu_time([&](int) { run(&a, ve.which, ve.mode); }, 3, 10);
            printf("ctx %-5d %-22s %9.4f %8.0f\n", C, ve.name, ms, bytes / ms / 1e6);
        }
        GPU_CHECK(hipFree(dslot)); GPU_CHECK(hipFree(dpos));
    }
    GPU_CHECK_LAUNCH();
    return 0;
}
