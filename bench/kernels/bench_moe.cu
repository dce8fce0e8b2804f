/* bench_moe.cu: playground for the MoE grouped GEMMs at gpt-oss-20b shape
 * (E=32, top-4, H=I=2880, MXFP4 experts). Includes kernels/moe.hip so each
 * variant can be forced. Validates 256 sampled outputs of mlp1 (h, NMSE
 * <= 2e-5: bf16 output) and mlp2 (NMSE <= 1e-8) against a double reference,
 * then times median of 20 after 5 warm-ups. GB/s counts the MXFP4 bytes of
 * the experts actually used once; the weights (400 MB) exceed L2.
 *   v1 gemv<2,4> (16 pairs a pass, weights streamed)  v2 tiled 64x128
 *   v3 tiled 128x128   auto = the dispatcher's choice
 *   v4 / v5 async 128x128 (cp.async, decode once per block), 1 / 2 k-steps a stage
 *   v6 async 64x128, 2 k-steps a stage
 *   v7 wgmma 128x128 (sm_90a, -DGETP_WGMMA=1): v5's stages, warpgroup MMA
 *   v8 v7 with column-fastest block order; v9 / v10: 128x256 tiles, slot / column fastest
 * Build: nvcc -arch=sm_90 -O2 -Ikernels -Isrc -x cu bench/kernels/bench_moe.cu */
#include "../../kernels/moe.hip"
#include "bench_util.h"

template <int EPI> static void run_ver(int v, const MoeArgs &a) {
    const int P = a.M * a.k;
    if (v == 0) { moe_gemm<EPI, true>(a, 0); return; }
    if (v == 1) {
        int cols = (MOE_GEMV_THREADS / GETP_WAVE) * 2 * TILE_N;
        dim3 grid((P + MOE_GEMV_BM - 1) / MOE_GEMV_BM + a.E, (a.N + cols - 1) / cols);
        moe_gemv<EPI, true, 2, 4><<<grid, MOE_GEMV_THREADS>>>(a);
    } else if (v == 2) {
        dim3 grid((P + 63) / 64 + a.E, (a.N + 127) / 128);
        moe_tiled<EPI, true, 1, 4><<<grid, 256>>>(a);
    } else if (v == 3) {
        dim3 grid((P + 127) / 128 + a.E, (a.N + 127) / 128);
        moe_tiled<EPI, true, 2, 4><<<grid, 256>>>(a);
    } else if (v == 4 || v == 5) {
        dim3 grid((P + 127) / 128 + a.E, (a.N + 127) / 128);
        if (v == 4) moe_launch_async<EPI, 2, 4, 1>(grid, a, 0);
        else moe_launch_async<EPI, 2, 4, 2>(grid, a, 0);
    } else if (v == 6) {
        dim3 grid((P + 63) / 64 + a.E, (a.N + 127) / 128);
        moe_launch_async<EPI, 1, 4, 2>(grid, a, 0);
    } else {
#if defined(GETP_WGMMA)
        if (v == 7) moe_launch_wgmma<EPI, 128, false>(a, 0);
        else if (v == 8) moe_launch_wgmma<EPI, 128, true>(a, 0);
        else if (v == 9) moe_launch_wgmma<EPI, 256, false>(a, 0);
        else moe_launch_wgmma<EPI, 256, true>(a, 0);
#endif
    }
    GPU_CHECK_LAUNCH();
}

static double mxv(uint8_t code, uint8_t s) {
    static const double lut[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    double v = lut[code & 7] * ldexp(1.0, (int)s - 127);
    return (code & 8) ? -v : v;
}
static double mxw(const std::vector<uint8_t> &b, const std::vector<uint8_t> &s, size_t row, int C, int c) {
    size_t i = row * C + c; uint8_t byte = b[i / 2];
    return mxv((i & 1) ? byte >> 4 : byte & 15, s[i / 32]);
}

int main(void) {
    const int E = 32, k = 4, H = 2880, I = 2880, Mmax = 4096;
    std::vector<uint8_t> b1((size_t)E * 2 * I * H / 2), s1((size_t)E * 2 * I * H / 32);
    std::vector<uint8_t> b2((size_t)E * H * I / 2), s2((size_t)E * H * I / 32);
    for (auto &v : b1) v = (uint8_t)bu_u32();
    for (auto &v : b2) v = (uint8_t)bu_u32();
    for (auto &v : s1) v = (uint8_t)(118 + bu_u32() % 6);
    for (auto &v : s2) v = (uint8_t)(118 + bu_u32() % 6);
    std::vector<float> bias1((size_t)E * 2 * I), bias2((size_t)E * H);
    for (auto &v : bias1) v = bu_uniform();
    for (auto &v : bias2) v = bu_uniform();
    std::vector<uint16_t> t((size_t)Mmax * H); bu_fill_bf16(t, 1.0f);
    std::vector<int32_t> ids((size_t)Mmax * k);
    for (int m = 0; m < Mmax; m++)
        for (int j = 0; j < k; j++) {
            int e, dup;
            do { e = (int)(bu_u32() % E); dup = 0; for (int q = 0; q < j; q++) dup |= ids[m * k + q] == e; } while (dup);
            ids[m * k + j] = e;
        }
    uint8_t *db1 = bu_dev(b1), *ds1 = bu_dev(s1), *db2 = bu_dev(b2), *ds2 = bu_dev(s2);
    float *dbias1 = bu_dev(bias1), *dbias2 = bu_dev(bias2), *dyp;
    uint16_t *dt = bu_dev(t), *dh; int32_t *dids = bu_dev(ids), *doff, *dsorted, *dscr;
    GPU_CHECK(hipMalloc((void **)&doff, (E + 1) * 4)); GPU_CHECK(hipMalloc((void **)&dsorted, Mmax * k * 4));
    GPU_CHECK(hipMalloc((void **)&dscr, E * 4));
    GPU_CHECK(hipMalloc((void **)&dh, (size_t)Mmax * k * I * 2)); GPU_CHECK(hipMalloc((void **)&dyp, (size_t)Mmax * k * H * 4));
    const char *vn[] = {"auto", "v1 gemv<2,4>", "v2 tiled64", "v3 tiled128", "v4 async128k1",
                        "v5 async128k2", "v6 async64k2", "v7 wgmma128", "v8 wgmma128nf", "v9 wgmma256",
                        "v10 wgmma256nf"};
    const int Ms[] = {1, 8, 64, 256, 1024, 2048, 4096};
    const double bytes_e1 = 2.0 * I * H * 17 / 32, bytes_e2 = (double)H * I * 17 / 32;
    printf("%-5s %5s %-14s %9s %8s %8s %9s\n", "op", "M", "version", "ms", "TFLOP/s", "GB/s", "NMSE");
    const int only_m = getenv("BENCH_M") ? atoi(getenv("BENCH_M")) : 0;  // e.g. for ncu
    const int only_v = getenv("BENCH_V") ? atoi(getenv("BENCH_V")) : -1;
    for (int M : Ms) {
        if (only_m && M != only_m) continue;
        const int P = M * k;
        int used = 0; { std::vector<int> u(E, 0); for (int p = 0; p < P; p++) u[ids[p]] = 1; for (int e : u) used += e; }
        float ms_sort = bu_time([&](int) { moe_sort(dids, M, k, E, doff, dsorted, dscr, 0); }, 3, 20);
        printf("%-5s %5d %-14s %9.4f\n", "sort", M, "", ms_sort);
        std::vector<int32_t> off = bu_host(doff, E + 1), sorted = bu_host(dsorted, P);
        for (int v = 0; v < 11; v++) {
            if (v == 1 && P > E * 64) continue;  // gemv re-reads weights per 16 pairs
            if (v >= 4 && P < E * 16) continue;  // tiles for many pairs per expert
            if (only_v >= 0 && v != only_v) continue;
            MoeArgs a1 = {dt, db1, ds1, NULL, dbias1, doff, dsorted, dh, NULL, M, k, E, 2 * I, H, 7.0f};
            MoeArgs a2 = {dh, db2, ds2, NULL, dbias2, doff, dsorted, NULL, dyp, M, k, E, H, I, 0.0f};
            GPU_CHECK(hipMemset(dh, 0xff, (size_t)P * I * 2)); GPU_CHECK(hipMemset(dyp, 0xff, (size_t)P * H * 4));
            run_ver<MOE_MLP1>(v, a1); run_ver<MOE_MLP2>(v, a2);
            std::vector<uint16_t> h = bu_host(dh, (size_t)P * I);
            std::vector<float> yp = bu_host(dyp, (size_t)P * H);
            BuErr e1, e2;
            for (int smp = 0; smp < 256; smp++) {
                int s = (int)(bu_u32() % P), pair = sorted[s], tok = pair / k, ex = ids[pair];
                int j = (int)(bu_u32() % I), n = (int)(bu_u32() % H);
                double u[2];
                for (int r = 0; r < 2; r++) {
                    size_t row = (size_t)ex * 2 * I + 2 * j + r; double acc = bias1[row];
                    for (int c = 0; c < H; c++) acc += bu_f(t[(size_t)tok * H + c]) * mxw(b1, s1, row, H, c);
                    u[r] = acc;
                }
                double g = std::min(u[0], 7.0), l = std::min(std::max(u[1], -7.0), 7.0);
                e1.add(bu_f(h[(size_t)s * I + j]), g / (1 + exp(-1.702 * g)) * (l + 1));
                size_t row = (size_t)ex * H + n; double acc = bias2[row];
                for (int c = 0; c < I; c++) acc += bu_f(h[(size_t)s * I + c]) * mxw(b2, s2, row, I, c);
                e2.add(yp[(size_t)pair * H + n], acc);
            }
            if (!e1.ok(2e-5) || !e2.ok(1e-8)) printf("VALIDATION FAILED M=%d %s %g %g\n", M, vn[v], e1.nmse(), e2.nmse());
            float ms1 = bu_time([&](int) { run_ver<MOE_MLP1>(v, a1); }, 5, 20);
            float ms2 = bu_time([&](int) { run_ver<MOE_MLP2>(v, a2); }, 5, 20);
            printf("%-5s %5d %-14s %9.4f %8.1f %8.0f %9.2e\n", "mlp1", M, vn[v], ms1, 2.0 * P * 2 * I * H / ms1 / 1e9,
                   used * bytes_e1 / ms1 / 1e6, e1.nmse());
            printf("%-5s %5d %-14s %9.4f %8.1f %8.0f %9.2e\n", "mlp2", M, vn[v], ms2, 2.0 * P * H * I / ms2 / 1e9,
                   used * bytes_e2 / ms2 / 1e6, e2.nmse());
        }
    }
    return 0;
}
