/* test_gemm.cu: op tests of the matrix kernels (gpu/kernels/matmul*.hip, moe*.hip)
 * against double-precision CPU references on fresh random inputs.
 *
 * Bounds: operands are bf16 (exact in the reference too), products are exact
 * in fp32, so the only error is fp32 accumulation over K <= 4096 terms:
 * relative RMS ~ 1e-6..1e-5, NMSE bound 1e-8 (relative RMS 1e-4). SwiGLU
 * output h is rounded to bf16 (relative 2^-9): NMSE bound 2e-5. NaN fails.
 * Outputs are poisoned (NaN) before each run, so unwritten elements fail.
 * Batch invariance is checked bit for bit (M=1 vs a batch, across kernels).
 * Built by cmake/gpu.cmake (ctest gpu_gemm) against the getp_gpu library. */
#include "kernels.h"    // matmul_*, moe_*
#include "bench_util.h" // random bf16 data, double-precision error (gpu/bench_util.h)
#include <algorithm>

static int n_pass = 0, n_fail = 0;
static void report(bool ok, const char *what, double v) {
    printf("%s %-58s %.3g\n", ok ? "PASS" : "FAIL", what, v);
    (ok ? n_pass : n_fail)++;
}
static void poison(void *p, size_t bytes) { GPU_CHECK(hipMemset(p, 0xff, bytes)); }

/* ---------------- dense ---------------- */

static void ref_matmul(std::vector<double> &y, const std::vector<uint16_t> &x,
                       const std::vector<uint16_t> &w, const std::vector<float> &bias,
                       const std::vector<float> &res, int M, int N, int K) {
    y.assign((size_t)M * N, 0);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += bu_f(x[(size_t)m * K + k]) * bu_f(w[(size_t)n * K + k]);
            if (!bias.empty()) s += bias[n];
            if (!res.empty()) s += res[(size_t)m * N + n];
            y[(size_t)m * N + n] = s;
        }
}

static void test_matmul_shape(int M, int N, int K, bool with_bias, bool with_res, bool inplace) {
    std::vector<uint16_t> x((size_t)M * K), w((size_t)N * K);
    bu_fill_bf16(x, 1.0f); bu_fill_bf16(w, 0.05f);
    std::vector<float> bias, res;
    if (with_bias) { bias.resize(N); for (auto &b : bias) b = bu_uniform(); }
    if (with_res) { res.resize((size_t)M * N); for (auto &r : res) r = bu_uniform(); }
    std::vector<double> ref; ref_matmul(ref, x, w, bias, res, M, N, K);
    uint16_t *dx = bu_dev(x), *dw = bu_dev(w);
    float *db = with_bias ? bu_dev(bias) : NULL, *dr = with_res ? bu_dev(res) : NULL, *dy;
    if (inplace) dy = dr;
    else { GPU_CHECK(hipMalloc((void **)&dy, (size_t)M * N * 4)); poison(dy, (size_t)M * N * 4); }
    matmul_bf16_bf16w(dy, dx, dw, db, dr, M, N, K, 0);
    std::vector<float> y = bu_host(dy, (size_t)M * N);
    BuErr e; for (size_t i = 0; i < y.size(); i++) e.add(y[i], ref[i]);
    char what[128];
    snprintf(what, sizeof what, "matmul M=%d N=%d K=%d bias=%d res=%d inplace=%d NMSE", M, N, K,
             with_bias, with_res, inplace);
    report(e.ok(1e-8), what, e.nmse());
    GPU_CHECK(hipFree(dx)); GPU_CHECK(hipFree(dw));
    if (db) GPU_CHECK(hipFree(db));
    if (dr) GPU_CHECK(hipFree(dr));
    if (!inplace) GPU_CHECK(hipFree(dy));
}

/* Row r of a batch of M must equal the same row computed alone (M=1), bitwise. */
static void test_matmul_invariance(int N, int K) {
    const int MB = 300;
    std::vector<uint16_t> x((size_t)MB * K), w((size_t)N * K);
    bu_fill_bf16(x, 1.0f); bu_fill_bf16(w, 0.05f);
    std::vector<float> bias(N); for (auto &b : bias) b = bu_uniform();
    uint16_t *dx = bu_dev(x), *dw = bu_dev(w);
    float *db = bu_dev(bias), *dy;
    GPU_CHECK(hipMalloc((void **)&dy, (size_t)MB * N * 4));
    const int Ms[] = {300, 100, 16, 3};
    std::vector<std::vector<float>> outs;
    for (int M : Ms) {
        poison(dy, (size_t)MB * N * 4);
        matmul_bf16_bf16w(dy, dx, dw, db, NULL, M, N, K, 0);
        outs.push_back(bu_host(dy, (size_t)M * N));
    }
    long bad = 0;
    const int rows[] = {0, 1, 2};
    for (int r : rows) {
        poison(dy, (size_t)N * 4);
        matmul_bf16_bf16w(dy, dx + (size_t)r * K, dw, db, NULL, 1, N, K, 0);
        std::vector<float> one = bu_host(dy, N);
        for (size_t v = 0; v < outs.size(); v++)
            bad += memcmp(one.data(), outs[v].data() + (size_t)r * N, N * 4) != 0;
    }
    // rows beyond the small batches: 300 vs 100 for row 99, 300 vs 16 for row 15
    bad += memcmp(outs[0].data() + 99 * (size_t)N, outs[1].data() + 99 * (size_t)N, N * 4) != 0;
    bad += memcmp(outs[0].data() + 15 * (size_t)N, outs[2].data() + 15 * (size_t)N, N * 4) != 0;
    char what[128];
    snprintf(what, sizeof what, "matmul batch invariance N=%d K=%d (M=1/3/16/100/300) mismatches", N, K);
    report(bad == 0, what, (double)bad);
    GPU_CHECK(hipFree(dx)); GPU_CHECK(hipFree(dw)); GPU_CHECK(hipFree(db)); GPU_CHECK(hipFree(dy));
}

/* The split of K changes the bits (another summation order) for most
 * elements: a run with it on must differ from one with it off, at M = 1
 * (the split GEMV) and M = 300 (the tiles); else the switch did nothing. A
 * vocabulary-wide W (N >= MM_SPLIT_MAX_N) is never split: there the two runs
 * must agree bit for bit (split = false). */
static void test_split_bits(int N, int K, bool split) {
    const int M = 300;
    std::vector<uint16_t> x((size_t)M * K), w((size_t)N * K);
    bu_fill_bf16(x, 1.0f); bu_fill_bf16(w, 0.05f);
    uint16_t *dx = bu_dev(x), *dw = bu_dev(w);
    float *dy;
    GPU_CHECK(hipMalloc((void **)&dy, (size_t)M * N * 4));
    long same = 0;
    const int Ms[] = {1, M};
    for (int m : Ms) {
        std::vector<float> out[2];
        for (int on = 0; on < 2; on++) {
            matmul_set_ksplit(on);
            poison(dy, (size_t)M * N * 4);
            matmul_bf16_bf16w(dy, dx, dw, NULL, NULL, m, N, K, 0);
            out[on] = bu_host(dy, (size_t)m * N);
        }
        long eq = 0;
        for (size_t i = 0; i < out[0].size(); i++) eq += memcmp(&out[0][i], &out[1][i], 4) == 0;
        if (split) same += eq * 2 > (long)out[0].size(); // more than half the same bits: not split
        else same += eq != (long)out[0].size();           // any bit changed: split
    }
    matmul_set_ksplit(0);
    char what[128];
    snprintf(what, sizeof what, split ? "dense split of K reaches the kernels N=%d K=%d (M=1/300 mostly equal)"
                                      : "vocabulary-wide W stays one chain N=%d K=%d (M=1/300 not equal)", N, K);
    report(same == 0, what, (double)same);
    GPU_CHECK(hipFree(dx)); GPU_CHECK(hipFree(dw)); GPU_CHECK(hipFree(dy));
}

static void test_argmax(int M, int N, int K, bool ties) {
    std::vector<uint16_t> x((size_t)M * K), w((size_t)N * K);
    bu_fill_bf16(x, 1.0f); bu_fill_bf16(w, 0.05f);
    const int t0 = 5, t1 = 6, t2 = N - 1000;  // tie rows: same block, other block
    if (ties) {
        for (int m = 1; m < M; m++) memcpy(&x[(size_t)m * K], &x[0], K * 2);
        for (int k = 0; k < K; k++) {
            uint16_t v = bu_bf16(bu_f(x[k]) > 0 ? 0.5f : -0.5f);
            w[(size_t)t0 * K + k] = w[(size_t)t1 * K + k] = w[(size_t)t2 * K + k] = v;
        }
    }
    uint16_t *dx = bu_dev(x), *dw = bu_dev(w);
    float *dy; int32_t *dids;
    GPU_CHECK(hipMalloc((void **)&dy, (size_t)M * N * 4));
    GPU_CHECK(hipMalloc((void **)&dids, (size_t)M * 4));
    poison(dids, (size_t)M * 4);
    matmul_argmax_bf16_bf16w(dids, dx, dw, M, N, K, 0);
    matmul_bf16_bf16w(dy, dx, dw, NULL, NULL, M, N, K, 0);
    std::vector<int32_t> ids = bu_host(dids, M);
    std::vector<float> y = bu_host(dy, (size_t)M * N);
    long bad = 0;
    for (int m = 0; m < M; m++) {
        int best = 0;
        for (int n = 1; n < N; n++)
            if (y[(size_t)m * N + n] > y[(size_t)m * N + best]) best = n;
        if (ids[m] != best || (ties && ids[m] != t0)) bad++;
    }
    char what[128];
    snprintf(what, sizeof what, "argmax M=%d N=%d K=%d ties=%d mismatches", M, N, K, ties);
    report(bad == 0, what, (double)bad);
    GPU_CHECK(hipFree(dx)); GPU_CHECK(hipFree(dw)); GPU_CHECK(hipFree(dy)); GPU_CHECK(hipFree(dids));
}

/* ---------------- MoE ---------------- */

static double mx_value(uint8_t code, uint8_t scale) {
    static const double lut[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    double v = lut[code & 7] * ldexp(1.0, (int)scale - 127);
    return (code & 8) ? -v : v;
}

struct MoeCase {
    int E, k, H, I;
    std::vector<uint8_t> b1, s1, b2, s2;        // MXFP4
    std::vector<uint16_t> w1, w2;               // the same values as bf16
    std::vector<float> bias1, bias2;
    uint8_t *db1, *ds1, *db2, *ds2; uint16_t *dw1, *dw2; float *dbias1, *dbias2;
};

/* lo_every > 0: about one scale byte in lo_every is 0 or 1 (outside
 * mx_int_ok: the integer table decodes of moe_gemv and the staged kernels
 * fall back to the float decode there; tiny values, so no overflow). */
static void mx_random(std::vector<uint8_t> &b, std::vector<uint8_t> &s, std::vector<uint16_t> &wf,
                      int E, int R, int C, int lo_every) {
    b.resize((size_t)E * R * C / 2); s.resize((size_t)E * R * C / 32); wf.resize((size_t)E * R * C);
    for (auto &v : b) v = (uint8_t)bu_u32();
    for (auto &v : s) v = (uint8_t)(118 + bu_u32() % 6);
    if (lo_every > 0)
        for (auto &v : s)
            if (bu_u32() % lo_every == 0) v = (uint8_t)(bu_u32() % 2);
    for (size_t i = 0; i < wf.size(); i++) {
        uint8_t byte = b[i / 2], code = (i & 1) ? byte >> 4 : byte & 15;
        wf[i] = bu_bf16((float)mx_value(code, s[i / 32]));
    }
}

static void moe_case_init(MoeCase &c, int E, int k, int H, int I, int lo_every = 0) {
    c.E = E; c.k = k; c.H = H; c.I = I;
    mx_random(c.b1, c.s1, c.w1, E, 2 * I, H, lo_every);
    mx_random(c.b2, c.s2, c.w2, E, H, I, lo_every);
    c.bias1.resize((size_t)E * 2 * I); c.bias2.resize((size_t)E * H);
    for (auto &v : c.bias1) v = bu_uniform() * ((bu_u32() % 8) == 0 ? 12.0f : 1.0f);  // hit the clamps
    for (auto &v : c.bias2) v = bu_uniform();
    c.db1 = bu_dev(c.b1); c.ds1 = bu_dev(c.s1); c.db2 = bu_dev(c.b2); c.ds2 = bu_dev(c.s2);
    c.dw1 = bu_dev(c.w1); c.dw2 = bu_dev(c.w2); c.dbias1 = bu_dev(c.bias1); c.dbias2 = bu_dev(c.bias2);
}

struct MoeOut { std::vector<int32_t> off, sorted; std::vector<uint16_t> h; std::vector<float> ypair, x; };

static MoeOut moe_run(MoeCase &c, const std::vector<uint16_t> &t, const std::vector<int32_t> &ids,
                      const std::vector<float> &tw, const std::vector<float> &x0, int M, bool mx) {
    const int P = M * c.k, E = c.E;
    uint16_t *dt = bu_dev(t), *dh; int32_t *dids = bu_dev(ids), *doff, *dsorted, *dscr;
    float *dtw = bu_dev(tw), *dx = bu_dev(x0), *dyp;
    GPU_CHECK(hipMalloc((void **)&doff, (E + 1) * 4)); GPU_CHECK(hipMalloc((void **)&dsorted, P * 4));
    GPU_CHECK(hipMalloc((void **)&dscr, E * 4));
    GPU_CHECK(hipMalloc((void **)&dh, (size_t)P * c.I * 2)); GPU_CHECK(hipMalloc((void **)&dyp, (size_t)P * c.H * 4));
    poison(doff, (E + 1) * 4); poison(dsorted, P * 4); poison(dh, (size_t)P * c.I * 2); poison(dyp, (size_t)P * c.H * 4);
    ExpertWeights w1 = {mx ? 1 : 0, c.db1, c.ds1, c.dw1}, w2 = {mx ? 1 : 0, c.db2, c.ds2, c.dw2};
    moe_sort(dids, M, c.k, E, doff, dsorted, dscr, 0);
    const MoeArgs m1 = {dt, w1, c.dbias1, doff, dsorted, dh, NULL, M, c.k, E, 2 * c.I, c.H, 7.0f, NULL, 0};
    const MoeArgs m2 = {dh, w2, c.dbias2, doff, dsorted, NULL, dyp, M, c.k, E, c.H, c.I, 0.0f, NULL, 0};
    moe_mlp1_swiglu(&m1, 0);
    moe_mlp2(&m2, 0);
    moe_combine(dx, dyp, dtw, M, c.k, c.H, 0);
    MoeOut o;
    o.off = bu_host(doff, E + 1); o.sorted = bu_host(dsorted, P); o.h = bu_host(dh, (size_t)P * c.I);
    o.ypair = bu_host(dyp, (size_t)P * c.H); o.x = bu_host(dx, (size_t)M * c.H);
    GPU_CHECK(hipFree(dt)); GPU_CHECK(hipFree(dh)); GPU_CHECK(hipFree(dids)); GPU_CHECK(hipFree(doff));
    GPU_CHECK(hipFree(dsorted)); GPU_CHECK(hipFree(dscr)); GPU_CHECK(hipFree(dtw)); GPU_CHECK(hipFree(dx));
    GPU_CHECK(hipFree(dyp));
    return o;
}

/* skew: expert e drawn with weight (e + 1)^2, so the experts' pair counts
 * spread from a few to most tokens (the slot kinds of moe_wgmma_mx). */
static void moe_inputs(MoeCase &c, int M, std::vector<uint16_t> &t, std::vector<int32_t> &ids,
                       std::vector<float> &tw, std::vector<float> &x0, bool skew = false) {
    t.resize((size_t)M * c.H); bu_fill_bf16(t, 1.0f);
    ids.resize((size_t)M * c.k); tw.resize((size_t)M * c.k); x0.resize((size_t)M * c.H);
    const double wsum = (double)c.E * (c.E + 1) * (2 * c.E + 1) / 6;
    for (int m = 0; m < M; m++)
        for (int j = 0; j < c.k; j++) {
            int e, dup;
            do {
                e = (int)(bu_u32() % c.E); dup = 0;
                if (skew) {
                    double u = bu_uniform() * 0.5 + 0.5, acc = 0; // bu_uniform: [-1, 1)
                    for (e = 0; e < c.E - 1; e++) if ((acc += (double)(e + 1) * (e + 1) / wsum) > u) break;
                }
                for (int q = 0; q < j; q++) dup |= ids[(size_t)m * c.k + q] == e;
            } while (dup);
            ids[(size_t)m * c.k + j] = e; tw[(size_t)m * c.k + j] = bu_uniform() * 0.5f + 0.5f;
        }
    for (auto &v : x0) v = bu_uniform();
}

/* skew: the slot kinds of slots of bm pairs (128, or 64 under moe_set_w64). */
static void test_moe(MoeCase &c, int M, bool skew = false, int bm = 128) {
    const int P = M * c.k, E = c.E, H = c.H, I = c.I;
    std::vector<uint16_t> t; std::vector<int32_t> ids; std::vector<float> tw, x0;
    moe_inputs(c, M, t, ids, tw, x0, skew);
    MoeOut o = moe_run(c, t, ids, tw, x0, M, true);
    char what[128];
    // sort: stable counting sort
    std::vector<int32_t> off(E + 1, 0), sorted;
    for (int p = 0; p < P; p++) off[ids[p] + 1]++;
    for (int e = 0; e < E; e++) off[e + 1] += off[e];
    for (int e = 0; e < E; e++) for (int p = 0; p < P; p++) if (ids[p] == e) sorted.push_back(p);
    snprintf(what, sizeof what, "moe_sort M=%d k=%d E=%d (exact)", M, c.k, E);
    report(o.off == off && o.sorted == sorted, what, 0);
    // mlp1 + swiglu
    BuErr e1, e2, e3;
    for (int s = 0; s < P; s++) {
        int pair = sorted[s], tok = pair / c.k, ex = ids[pair];
        for (int j = 0; j < I; j++) {
            double u[2];
            for (int r = 0; r < 2; r++) {
                size_t row = (size_t)ex * 2 * I + 2 * j + r;
                double acc = c.bias1[row];
                for (int kk = 0; kk < H; kk++) acc += bu_f(t[(size_t)tok * H + kk]) * bu_f(c.w1[row * H + kk]);
                u[r] = acc;
            }
            double g = std::min(u[0], 7.0), l = std::min(std::max(u[1], -7.0), 7.0);
            double hv = g / (1 + exp(-1.702 * g)) * (l + 1);
            e1.add(bu_f(o.h[(size_t)s * I + j]), hv);
        }
    }
    snprintf(what, sizeof what, "moe_mlp1_swiglu M=%d H=%d I=%d NMSE", M, H, I);
    report(e1.ok(2e-5), what, e1.nmse());
    // mlp2 on the GPU's h
    for (int s = 0; s < P; s++) {
        int pair = sorted[s], ex = ids[pair];
        for (int n = 0; n < H; n++) {
            size_t row = (size_t)ex * H + n;
            double acc = c.bias2[row];
            for (int kk = 0; kk < I; kk++) acc += bu_f(o.h[(size_t)s * I + kk]) * bu_f(c.w2[row * I + kk]);
            e2.add(o.ypair[(size_t)pair * H + n], acc);
        }
    }
    snprintf(what, sizeof what, "moe_mlp2 M=%d NMSE", M);
    report(e2.ok(1e-8), what, e2.nmse());
    for (int m = 0; m < M; m++)
        for (int n = 0; n < H; n++) {
            double s = x0[(size_t)m * H + n];
            for (int j = 0; j < c.k; j++) s += (double)tw[m * c.k + j] * o.ypair[((size_t)m * c.k + j) * H + n];
            e3.add(o.x[(size_t)m * H + n], s);
        }
    snprintf(what, sizeof what, "moe_combine M=%d NMSE", M);
    report(e3.ok(1e-10), what, e3.nmse());
    // bf16 weights give the same bits (same values, same arithmetic)
    MoeOut ob = moe_run(c, t, ids, tw, x0, M, false);
    snprintf(what, sizeof what, "moe bf16-weight path == MXFP4 path M=%d (bitwise)", M);
    report(ob.h == o.h && ob.ypair == o.ypair, what, 0);
    if (skew) { // the 128-pair slots of moe_wgmma_mx: a last slot of 1..64 pairs after full
        // ones (its second warpgroup's rows all clamped), of 65..127, an expert of 1..64 only;
        // the 64-pair slots (both warpgroups on one slot's rows): the same at half the sizes
        int kinds = 0;
        for (int e = 0; e < E; e++) {
            const int n = off[e + 1] - off[e], r = n % bm;
            kinds |= (n > bm && r >= 1 && r <= bm / 2) << 0 | (r > bm / 2) << 1 | (n >= 1 && n <= bm / 2) << 2;
        }
        snprintf(what, sizeof what, "moe skewed routing M=%d reaches every %d-pair slot kind (mask 7)", M, bm);
        report(kinds == 7, what, kinds);
    }
    // batch invariance: tokens computed alone give the same bits (skew: every token)
    long bad = 0;
    std::vector<int> toks = {0, M / 2, M - 1};
    if (skew) { toks.resize(M); for (int tk = 0; tk < M; tk++) toks[tk] = tk; }
    for (int tk : toks) {
        std::vector<uint16_t> t1(t.begin() + (size_t)tk * H, t.begin() + (size_t)(tk + 1) * H);
        std::vector<int32_t> id1(ids.begin() + (size_t)tk * c.k, ids.begin() + (size_t)(tk + 1) * c.k);
        std::vector<float> tw1(tw.begin() + (size_t)tk * c.k, tw.begin() + (size_t)(tk + 1) * c.k);
        std::vector<float> x1(x0.begin() + (size_t)tk * H, x0.begin() + (size_t)(tk + 1) * H);
        MoeOut o1 = moe_run(c, t1, id1, tw1, x1, 1, true);
        bad += memcmp(o1.ypair.data(), o.ypair.data() + (size_t)tk * c.k * H, (size_t)c.k * H * 4) != 0;
        bad += memcmp(o1.x.data(), o.x.data() + (size_t)tk * H, (size_t)H * 4) != 0;
    }
    snprintf(what, sizeof what, "moe batch invariance M=%d vs M=1 mismatches", M);
    report(bad == 0, what, (double)bad);
}

int main(void) {
    int n_dev = 0;
    if (cudaGetDeviceCount(&n_dev) != cudaSuccess || n_dev == 0) {
        printf("test_gemm: skipped: no GPU visible\n");
        return 77;
    }
    bu_rng ^= 0x1234567ull;
    // dense: ragged shapes through every path (gemv M<=16, tiled 64, tiled 128),
    // first as one chain (GETP_KSPLIT=0), then under the split (the default) below
    matmul_set_ksplit(0);
    test_matmul_shape(1, 37, 64, true, false, false);
    test_matmul_shape(5, 130, 96, false, true, false);
    test_matmul_shape(16, 200, 2880, true, true, true);
    test_matmul_shape(17, 129, 160, true, false, false);
    test_matmul_shape(100, 300, 288, false, false, false);
    test_matmul_shape(300, 257, 320, true, true, false);
    test_matmul_shape(130, 32, 2880, true, false, false);
    test_matmul_invariance(520, 2880);
    test_matmul_invariance(130, 4096);
    test_matmul_invariance(32, 2880);  // the routers: the split kernel (one column tile a
    test_matmul_invariance(128, 2880); // block up to 64 rows, 32 columns past it)
    test_argmax(1, 5000, 256, false);
    test_argmax(3, 201088, 64, true);
    test_argmax(40, 201088, 64, true);
    test_argmax(300, 3001, 2880, false);
    test_argmax(300, 201088, 32, true);
    test_argmax(300, 100, 2880, false); // small N at M > 16: the row-grouped GEMV
    // the dense split of K (matmul_set_ksplit; W over 1 MB): every path of it
    // (the split GEMV M <= 8 / <= 16, 64- and 128-row tiles, the parts' totals
    // kept between whole stages), parts of 24/24/24/18 (K = 2880) and 32 x 4
    // (K = 4096); the argmax, split (N = 3001) and vocabulary-wide (one chain);
    // then checks that the switch reaches the kernels and leaves the vocabulary
    matmul_set_ksplit(1);
    test_matmul_shape(1, 520, 2880, true, false, false);
    test_matmul_shape(5, 300, 2048, false, true, false);
    test_matmul_shape(16, 200, 2880, true, true, true);
    test_matmul_shape(17, 260, 2880, true, false, false);
    test_matmul_shape(300, 257, 2880, true, true, false);
    test_matmul_invariance(520, 2880);
    test_matmul_invariance(130, 4096);
    test_argmax(1, 201088, 2880, false);
    test_argmax(3, 201088, 64, true);
    test_argmax(40, 201088, 64, true);
    test_argmax(300, 3001, 2880, false);
    test_split_bits(520, 2880, true);
    test_split_bits(MM_SPLIT_MAX_N, 2880, false);
    matmul_set_ksplit(1); // the default, for the rest
    // MoE: small shapes (the CPU reference is O(M k H I)); each path
    MoeCase c; moe_case_init(c, 8, 4, 320, 288);
    const int Ms[] = {1, 5, 40, 100, 300}; // 100: 50 pairs an expert (wgmma past 32 E)
    for (int M : Ms) test_moe(c, M);
    // scale bytes 0 and 1 here and there: moe_gemv's waves that meet one rerun
    // with the float decode, the others not (M = 1, 5), moe_mid_mx's table
    // decode (M = 40: two k-steps a stage in mlp1, one in mlp2's odd count),
    // the warpgroup kernel (M = 100, mlp1; mlp2's odd count takes the staged
    // kernel); "bf16-weight path == MXFP4 path" holds them to the bits
    MoeCase cl; moe_case_init(cl, 8, 4, 320, 288, 96);
    const int Ml[] = {1, 5, 40, 100};
    for (int M : Ml) test_moe(cl, M);
    // skewed routing past 64 pairs an expert, k-steps even for both GEMMs: the
    // warpgroup kernel's full and part-filled slots (sm_90a), every token against M = 1
    MoeCase cs; moe_case_init(cs, 8, 4, 320, 320);
    test_moe(cs, 300, true);
    // the warpgroup kernel's 64-pair slots (moe_set_w64: here 17..64 pairs an
    // expert on average; sm_90a builds, elsewhere the kernels above again): ~20
    // and ~50 pairs an expert, skewed routing at ~60, each against M = 1 bitwise
    // (the GEMV)
    int w64_lo, w64_hi;
    moe_get_w64(&w64_lo, &w64_hi);
    moe_set_w64(16, 64);
    test_moe(cs, 40);
    test_moe(cs, 100);
    test_moe(cs, 120, true, 64);
    moe_set_w64(w64_lo, w64_hi);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
