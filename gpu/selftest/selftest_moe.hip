/* selftest_moe.hip: the MoE block (gpu/kernels/moe*.hip) against the CPU
 * oracle's expert MLP, routing and combine included. */
#include "selftest.h"
#include "gpu_check.h"
#include "ops_cpu.h" // cpu_matvec, cpu_expert_mlp
#include "kernels.h" // the launchers under test
#include "moe_common.h" // mx_table, mx_dequant8_t, mx_dequant8 (the decode check)

#include <math.h>

/* lo_every > 0: about one scale byte in lo_every is 0 or 1, outside the
 * integer table's range (mx_int_ok): moe_gemv's shared table holds the float
 * decode's entries for those (a table built by integer adds there would
 * decode garbage). */
static Tensor make_experts(SelfTest *st, int mx, int E, int R, int C, void **data, uint8_t **sc,
                           int lo_every) {
    const size_t n = (size_t)E * R * C;
    if (mx) {
        uint8_t *blk = (uint8_t *)xmalloc(n / 2), *s = (uint8_t *)xmalloc(n / 32);
        for (size_t i = 0; i < n / 2; i++) blk[i] = (uint8_t)st_uniform(st, 0, 256);
        for (size_t i = 0; i < n / 32; i++) s[i] = (uint8_t)(118 + (int)st_uniform(st, 0, 4));
        if (lo_every > 0)
            for (size_t i = 0; i < n / 32; i++)
                if ((int)st_uniform(st, 0, (float)lo_every) == 0) s[i] = (uint8_t)((int)st_uniform(st, 0, 2) & 1);
        *data = blk, *sc = s;
        Tensor t = st_tensor(DT_MXFP4, blk, 3, E, R, C);
        t.scales = s;
        return t;
    }
    uint16_t *w = (uint16_t *)xmalloc(2 * n);
    st_fill_bf16(st, w, NULL, n, 0.1f);
    *data = w, *sc = NULL;
    return st_tensor(DT_BF16, w, 3, E, R, C);
}

static ExpertWeights upload_experts(const Tensor *t, int E, int R, int C) {
    ExpertWeights ew;
    memset(&ew, 0, sizeof ew);
    const size_t n = (size_t)E * R * C;
    ew.is_mxfp4 = t->dtype == DT_MXFP4;
    if (ew.is_mxfp4) {
        ew.blocks = (const uint8_t *)st_upload(t->data, n / 2);
        ew.scales = (const uint8_t *)st_upload(t->scales, n / 32);
    } else {
        ew.bf16 = (const uint16_t *)st_upload(t->data, 2 * n);
    }
    return ew;
}

/* Distinct random experts per token, weights that sum to 1. */
static void random_routes(SelfTest *st, int M, int k, int E, int32_t *ids, float *w) {
    for (int m = 0; m < M; m++) {
        float sum = 0.0f;
        for (int j = 0; j < k; j++) {
            int e, dup;
            do {
                e = (int)st_uniform(st, 0, (float)E) % E;
                dup = 0;
                for (int q = 0; q < j; q++) dup |= ids[m * k + q] == e;
            } while (dup);
            ids[m * k + j] = e;
            w[m * k + j] = st_uniform(st, 0.1f, 1.0f);
            sum += w[m * k + j];
        }
        for (int j = 0; j < k; j++) w[m * k + j] /= sum;
    }
}

/* The MoE chain: sort, mlp1 + SwiGLU, mlp2, combine into the residual. Compares
 * the residual's change with sum_j w_j * cpu_expert_mlp(e_j). precise: t is
 * fp32 as hi + lo, and the chain is precise mode's (moe_mlp1_linear twice,
 * moe_swiglu_split, moe_mlp2 twice); bound TOL_PAIR. */
static void test_moe(SelfTest *st, int M, int E, int k, int H, int I, int mx, int precise,
                     int lo_every = 0) {
    Config c;
    memset(&c, 0, sizeof c);
    c.hidden = H, c.intermediate = I, c.n_experts = E, c.experts_per_token = k;
    c.swiglu_limit = 7.0f;
    LayerWeights lw;
    memset(&lw, 0, sizeof lw);
    void *w1d, *w2d;
    uint8_t *w1s, *w2s;
    lw.w1 = make_experts(st, mx, E, 2 * I, H, &w1d, &w1s, lo_every);
    lw.w2 = make_experts(st, mx, E, H, I, &w2d, &w2s, lo_every);
    float *b1 = (float *)xmalloc(4 * (size_t)E * 2 * I), *b2 = (float *)xmalloc(4 * (size_t)E * H);
    st_fill_f32(st, b1, (size_t)E * 2 * I, 0.5f);
    st_fill_f32(st, b2, (size_t)E * H, 0.5f);
    lw.b1 = st_tensor(DT_F32, b1, 2, E, 2 * I, 0);
    lw.b2 = st_tensor(DT_F32, b2, 2, E, H, 0);
    uint16_t *t = (uint16_t *)xmalloc(2 * (size_t)M * H), *tl = (uint16_t *)xmalloc(2 * (size_t)M * H);
    float *tf = (float *)xmalloc(4 * (size_t)M * H), *x = (float *)xmalloc(4 * (size_t)M * H);
    if (precise) {
        st_fill_f32(st, tf, (size_t)M * H, 1.0f);
        st_split(tf, t, tl, (size_t)M * H);
    } else {
        st_fill_bf16(st, t, tf, (size_t)M * H, 1.0f);
    }
    st_fill_f32(st, x, (size_t)M * H, 1.0f);
    int32_t *ids = (int32_t *)xmalloc(4 * (size_t)M * k);
    float *w = (float *)xmalloc(4 * (size_t)M * k);
    random_routes(st, M, k, E, ids, w);
    float *ref = (float *)xcalloc((size_t)M * H, 4), *got = (float *)xmalloc(4 * (size_t)M * H);
    float *y = (float *)xmalloc(4 * (size_t)H), *scratch = (float *)xmalloc(4 * 3 * (size_t)I);
    for (int m = 0; m < M; m++)
        for (int j = 0; j < k; j++) {
            cpu_expert_mlp(y, &lw, ids[m * k + j], tf + (size_t)m * H, &c, scratch, 0);
            for (int h = 0; h < H; h++) ref[(size_t)m * H + h] += w[m * k + j] * y[h];
        }
    ExpertWeights e1 = upload_experts(&lw.w1, E, 2 * I, H), e2 = upload_experts(&lw.w2, E, H, I);
    float *d_b1 = (float *)st_upload(b1, 4 * (size_t)E * 2 * I), *d_b2 = (float *)st_upload(b2, 4 * (size_t)E * H);
    uint16_t *d_t = (uint16_t *)st_upload(t, 2 * (size_t)M * H);
    float *d_x = (float *)st_upload(x, 4 * (size_t)M * H);
    int32_t *d_ids = (int32_t *)st_upload(ids, 4 * (size_t)M * k);
    float *d_w = (float *)st_upload(w, 4 * (size_t)M * k);
    int32_t *d_off = (int32_t *)st_poisoned(4 * (size_t)(E + 1)), *d_sorted = (int32_t *)st_poisoned(4 * (size_t)M * k);
    int32_t *d_cnt = (int32_t *)st_poisoned(4 * (size_t)E);
    uint16_t *d_h = (uint16_t *)st_poisoned(2 * (size_t)M * k * I);
    float *d_yp = (float *)st_poisoned(4 * (size_t)M * k * H);
    uint16_t *d_tl = NULL, *d_hl = NULL;
    float *d_y1 = NULL;
    moe_sort(d_ids, M, k, E, d_off, d_sorted, d_cnt, st->stream);
    if (precise) {
        d_tl = (uint16_t *)st_upload(tl, 2 * (size_t)M * H);
        d_hl = (uint16_t *)st_poisoned(2 * (size_t)M * k * I);
        d_y1 = (float *)st_poisoned(4 * (size_t)M * k * 2 * I);
        MoeArgs m1 = {d_t, e1, d_b1, d_off, d_sorted, NULL, NULL, M, k, E, 2 * I, H, 7.0f, d_y1, 0};
        moe_mlp1_linear(&m1, st->stream);
        m1.act = d_tl;
        m1.acc = 1;
        moe_mlp1_linear(&m1, st->stream);
        moe_swiglu_split(d_h, d_hl, d_y1, M * k, I, 7.0f, st->stream);
        MoeArgs m2 = {d_h, e2, d_b2, d_off, d_sorted, NULL, d_yp, M, k, E, H, I, 0.0f, NULL, 0};
        moe_mlp2(&m2, st->stream);
        m2.act = d_hl;
        m2.acc = 1;
        moe_mlp2(&m2, st->stream);
    } else {
        MoeArgs m1 = {d_t, e1, d_b1, d_off, d_sorted, d_h, NULL, M, k, E, 2 * I, H, 7.0f, NULL, 0};
        moe_mlp1_swiglu(&m1, st->stream);
        MoeArgs m2 = {d_h, e2, d_b2, d_off, d_sorted, NULL, d_yp, M, k, E, H, I, 0.0f, NULL, 0};
        moe_mlp2(&m2, st->stream);
    }
    moe_combine(d_x, d_yp, d_w, M, k, H, st->stream);
    st_download(got, d_x, 4 * (size_t)M * H);
    for (size_t i = 0; i < (size_t)M * H; i++) got[i] -= x[i]; // the MoE's contribution
    char name[96];
    snprintf(name, sizeof name, "moe%s %s%s M=%d E=%d k=%d H=%d I=%d", precise ? " hi+lo" : "",
             mx ? "mxfp4" : "bf16", lo_every ? " (scales 0/1)" : "", M, E, k, H, I);
    st_report(st, name, st_nmse(got, ref, (size_t)M * H), precise ? TOL_PAIR : TOL_MOE, 0);
    if (precise) st_free(d_tl), st_free(d_hl), st_free(d_y1);
    st_free((void *)(mx ? (const void *)e1.blocks : (const void *)e1.bf16));
    st_free((void *)(mx ? (const void *)e2.blocks : (const void *)e2.bf16));
    if (mx) st_free((void *)e1.scales), st_free((void *)e2.scales);
    st_free(d_b1), st_free(d_b2), st_free(d_t), st_free(d_x), st_free(d_ids), st_free(d_w);
    st_free(d_off), st_free(d_sorted), st_free(d_cnt), st_free(d_h), st_free(d_yp);
    free(w1d), free(w2d), free(w1s), free(w2s), free(b1), free(b2), free(t), free(tl), free(tf), free(x);
    free(ids), free(w), free(ref), free(got), free(y), free(scratch);
}

/* The integer MXFP4 decode of moe_gemv, moe_mid_mx, moe_wgmma_mx and the register-staged kernel
 * (mx_table + mx_dequant8_t: byte permutes, tests/gpu/test_mxint.cpp checks
 * its algorithm on the host) against mx_dequant8 on this device: every scale
 * byte (the fallback range included) times every 16-bit pattern of codes in
 * the low half of a word (the high half an odd-multiplier bijection of it:
 * every code at every position). Counts the words that differ. */
__global__ void mx_decode_check_kernel(unsigned long long *bad) {
    const uint32_t s = blockIdx.y, x = blockIdx.x * blockDim.x + threadIdx.x;
    const uint32_t w = x | ((x * 0x9E37u + 0x1234u) & 0xFFFFu) << 16;
    const uint4 got = mx_dequant8_t(w, mx_table(s)), want = mx_dequant8(w, mx_scale(s));
    if (got.x != want.x || got.y != want.y || got.z != want.z || got.w != want.w) atomicAdd(bad, 1ull);
}

static void test_mx_decode(SelfTest *st) {
    unsigned long long *d_bad = (unsigned long long *)st_poisoned(sizeof(unsigned long long)), bad = 0;
    GPU_CHECK(hipMemsetAsync(d_bad, 0, sizeof bad, st->stream));
    mx_decode_check_kernel<<<dim3(65536 / 256, 256), 256, 0, st->stream>>>(d_bad);
    GPU_CHECK_LAUNCH();
    st_download(&bad, d_bad, sizeof bad);
    st_report(st, "mxfp4 table decode, 256 scales x 64K words", 0.0, 0.0, (long)bad);
    st_free(d_bad);
}

void selftest_moe_ops(SelfTest *st) {
    test_mx_decode(st);
    test_moe(st, 1, 32, 4, 2880, 2880, 1, 0);
    test_moe(st, 9, 32, 4, 2880, 2880, 1, 0);
    test_moe(st, 4, 32, 4, 2880, 2880, 1, 0);   // a few pairs a slot
    test_moe(st, 1, 32, 4, 2880, 2880, 1, 1);   // precise, one token
    test_moe(st, 3, 128, 4, 224, 160, 1, 0);    // 120b expert count, a few tokens
    test_moe(st, 1, 128, 4, 224, 160, 1, 0);    // 120b expert count: slots past the first wave
    test_moe(st, 5, 128, 4, 224, 160, 0, 0);    // the same, bf16 experts
    test_moe(st, 600, 128, 4, 224, 160, 1, 0);  // 120b experts, tiled
    test_moe(st, 130, 8, 4, 224, 160, 1, 0);
    test_moe(st, 19, 8, 2, 224, 160, 0, 0);
    test_moe(st, 9, 32, 4, 2880, 2880, 1, 1);  // precise, few pairs per expert
    test_moe(st, 130, 8, 4, 224, 160, 1, 1);   // precise, tiled
    test_moe(st, 1, 32, 4, 2880, 2880, 1, 0, 96); // scale bytes 0/1: moe_gemv's float-decoded table entries
    test_moe(st, 5, 128, 4, 224, 160, 1, 0, 24);  // the same, 120b expert count
    test_moe(st, 300, 8, 4, 256, 256, 1, 0);    // ~150 pairs an expert, even k-steps: sm_90a's
                                                // warpgroup kernel, full and part-filled slots
    test_moe(st, 100, 8, 4, 256, 256, 1, 0);    // ~50 pairs an expert: the warpgroup kernel's
                                                // lower range (past 32 E), slots under half full
    test_moe(st, 48, 8, 4, 256, 256, 1, 0);     // ~24 pairs an expert, even k-steps: moe_mid_mx
                                                // two k-steps a stage (its table decode)
    test_moe(st, 48, 8, 4, 256, 256, 1, 0, 24); // the same with scale bytes 0/1
    int w64_lo, w64_hi;                         // sm_90a: the warpgroup kernel's 64-pair
    moe_get_w64(&w64_lo, &w64_hi);              // slots, here for 17..64 pairs an expert
    moe_set_w64(16, 64);
    test_moe(st, 48, 8, 4, 256, 256, 1, 0);     // ~24 pairs an expert
    test_moe(st, 100, 8, 4, 256, 192, 1, 0);    // ~50
    moe_set_w64(w64_lo, w64_hi);
}
