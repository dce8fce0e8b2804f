/* selftest_gpu_gemm.hip: op tests for the GEMM launchers (matmul.h, moe.h)
 * against cpu_matvec / cpu_expert_mlp, at shapes that are and are not
 * multiples of any tile, one token and many (harness: selftest_gpu.h).
 */
#include "selftest_gpu.h"
#include "gpu_check.h"
#include "matmul.h"  // matmul_bf16_bf16w, matmul_argmax_bf16_bf16w
#include "moe.h"     // moe_sort, moe_mlp1_swiglu, moe_mlp2, moe_combine
#include "ops_cpu.h" // cpu_matvec, cpu_expert_mlp

#include <math.h>

/* precise: x is fp32, given as hi + lo (matmul_pair_bf16_bf16w; TOL_PAIR). */
static void test_matmul(SelfTest *st, int M, int N, int K, int bias, int resid, int precise) {
    uint16_t *x = (uint16_t *)xmalloc(2 * (size_t)M * K), *w = (uint16_t *)xmalloc(2 * (size_t)N * K);
    uint16_t *xl = (uint16_t *)xmalloc(2 * (size_t)M * K);
    float *xf = (float *)xmalloc(4 * (size_t)M * K);
    if (precise) {
        st_fill_f32(st, xf, (size_t)M * K, 1.0f);
        st_split(xf, x, xl, (size_t)M * K);
    } else {
        st_fill_bf16(st, x, xf, (size_t)M * K, 1.0f);
    }
    st_fill_bf16(st, w, NULL, (size_t)N * K, 1.0f);
    float *b = (float *)xmalloc(4 * (size_t)N), *r = (float *)xmalloc(4 * (size_t)M * N);
    st_fill_f32(st, b, N, 1.0f);
    st_fill_f32(st, r, (size_t)M * N, 10.0f);
    float *ref = (float *)xmalloc(4 * (size_t)M * N), *got = (float *)xmalloc(4 * (size_t)M * N);
    Tensor wt = st_tensor(DT_BF16, w, 2, N, K, 0), bt = st_tensor(DT_F32, b, 1, N, 0, 0);
    for (int m = 0; m < M; m++) {
        float *o = ref + (size_t)m * N;
        cpu_matvec(o, &wt, 0, bias ? &bt : NULL, 0, xf + (size_t)m * K, N, K);
        if (resid)
            for (int n = 0; n < N; n++) o[n] += r[(size_t)m * N + n];
    }
    void *d_x = st_upload(x, 2 * (size_t)M * K), *d_w = st_upload(w, 2 * (size_t)N * K);
    void *d_xl = precise ? st_upload(xl, 2 * (size_t)M * K) : NULL;
    void *d_b = st_upload(b, 4 * (size_t)N);
    /* residual in place (y aliases residual), as the O projection uses it */
    float *d_y = resid ? (float *)st_upload(r, 4 * (size_t)M * N) : (float *)st_poisoned(4 * (size_t)M * N);
    matmul_pair_bf16_bf16w(d_y, (const uint16_t *)d_x, (const uint16_t *)d_xl, (const uint16_t *)d_w,
                           bias ? (const float *)d_b : NULL, resid ? d_y : NULL, M, N, K, st->stream);
    GPU_CHECK(hipStreamSynchronize(st->stream));
    st_download(got, d_y, 4 * (size_t)M * N);
    char name[96];
    snprintf(name, sizeof name, "matmul%s M=%d N=%d K=%d%s%s", precise ? " hi+lo" : "", M, N, K,
             bias ? " +bias" : "", resid ? " +residual" : "");
    st_report(st, name, st_nmse(got, ref, (size_t)M * N), precise ? TOL_PAIR : TOL_F32, 0);
    st_free(d_x), st_free(d_w), st_free(d_b), st_free(d_y);
    if (d_xl) st_free(d_xl);
    free(x), free(xl), free(w), free(xf), free(b), free(r), free(ref), free(got);
}

static void test_matmul_argmax(SelfTest *st, int M, int N, int K) {
    uint16_t *x = (uint16_t *)xmalloc(2 * (size_t)M * K), *w = (uint16_t *)xmalloc(2 * (size_t)N * K);
    float *xf = (float *)xmalloc(4 * (size_t)M * K), *ref = (float *)xmalloc(4 * (size_t)N);
    st_fill_bf16(st, x, xf, (size_t)M * K, 1.0f);
    st_fill_bf16(st, w, NULL, (size_t)N * K, 1.0f);
    Tensor wt = st_tensor(DT_BF16, w, 2, N, K, 0);
    void *d_x = st_upload(x, 2 * (size_t)M * K), *d_w = st_upload(w, 2 * (size_t)N * K);
    int32_t *d_id = (int32_t *)st_poisoned(4 * (size_t)M), *id = (int32_t *)xmalloc(4 * (size_t)M);
    matmul_argmax_bf16_bf16w(d_id, (const uint16_t *)d_x, (const uint16_t *)d_w, M, N, K, st->stream);
    st_download(id, d_id, 4 * (size_t)M);
    long bad = 0;
    for (int m = 0; m < M; m++) { // exact id unless two logits are within fp32 rounding
        cpu_matvec(ref, &wt, 0, NULL, 0, xf + (size_t)m * K, N, K);
        float mx = ref[0];
        for (int n = 1; n < N; n++) mx = fmaxf(mx, ref[n]);
        if (id[m] < 0 || id[m] >= N || ref[id[m]] < mx - 1e-5f * (fabsf(mx) + 1.0f)) bad++;
    }
    char name[96];
    snprintf(name, sizeof name, "matmul_argmax M=%d N=%d K=%d", M, N, K);
    st_report(st, name, 0.0, TOL_EXACT, bad);
    st_free(d_x), st_free(d_w), st_free(d_id);
    free(x), free(w), free(xf), free(ref), free(id);
}

/* Random expert weights (E, R, C): MXFP4 (random codes, scales near 2^-5) or bf16. */
static Tensor make_experts(SelfTest *st, int mx, int E, int R, int C, void **data, uint8_t **sc) {
    const size_t n = (size_t)E * R * C;
    if (mx) {
        uint8_t *blk = (uint8_t *)xmalloc(n / 2), *s = (uint8_t *)xmalloc(n / 32);
        for (size_t i = 0; i < n / 2; i++) blk[i] = (uint8_t)st_uniform(st, 0, 256);
        for (size_t i = 0; i < n / 32; i++) s[i] = (uint8_t)(118 + (int)st_uniform(st, 0, 4));
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
static void test_moe(SelfTest *st, int M, int E, int k, int H, int I, int mx, int precise) {
    Config c;
    memset(&c, 0, sizeof c);
    c.hidden = H, c.intermediate = I, c.n_experts = E, c.experts_per_token = k;
    c.swiglu_limit = 7.0f;
    LayerWeights lw;
    memset(&lw, 0, sizeof lw);
    void *w1d, *w2d;
    uint8_t *w1s, *w2s;
    lw.w1 = make_experts(st, mx, E, 2 * I, H, &w1d, &w1s);
    lw.w2 = make_experts(st, mx, E, H, I, &w2d, &w2s);
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
        moe_mlp1_linear(d_y1, d_t, &e1, d_b1, d_off, d_sorted, M, k, E, H, I, 0, st->stream);
        moe_mlp1_linear(d_y1, d_tl, &e1, d_b1, d_off, d_sorted, M, k, E, H, I, 1, st->stream);
        moe_swiglu_split(d_h, d_hl, d_y1, M * k, I, 7.0f, st->stream);
        moe_mlp2(d_yp, d_h, &e2, d_b2, d_off, d_sorted, M, k, E, H, I, 0, st->stream);
        moe_mlp2(d_yp, d_hl, &e2, d_b2, d_off, d_sorted, M, k, E, H, I, 1, st->stream);
    } else {
        moe_mlp1_swiglu(d_h, d_t, &e1, d_b1, d_off, d_sorted, M, k, E, H, I, 7.0f, st->stream);
        moe_mlp2(d_yp, d_h, &e2, d_b2, d_off, d_sorted, M, k, E, H, I, 0, st->stream);
    }
    moe_combine(d_x, d_yp, d_w, M, k, H, st->stream);
    st_download(got, d_x, 4 * (size_t)M * H);
    for (size_t i = 0; i < (size_t)M * H; i++) got[i] -= x[i]; // the MoE's contribution
    char name[96];
    snprintf(name, sizeof name, "moe%s %s M=%d E=%d k=%d H=%d I=%d", precise ? " hi+lo" : "",
             mx ? "mxfp4" : "bf16", M, E, k, H, I);
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

void selftest_gemm_ops(SelfTest *st) {
    test_matmul(st, 1, 5120, 2880, 1, 0, 0);   // QKV shape, one token
    test_matmul(st, 77, 5120, 2880, 1, 0, 0);  // QKV shape, many tokens
    test_matmul(st, 33, 2880, 4096, 1, 1, 0);  // O projection with residual
    test_matmul(st, 7, 32, 2880, 1, 0, 0);     // router
    test_matmul(st, 13, 1000, 224, 0, 0, 0);   // M, N not multiples of a tile; K = 7 k-steps
    test_matmul(st, 3, 201088, 2880, 0, 0, 0); // LM head
    test_matmul(st, 33, 2880, 4096, 1, 1, 1);  // precise: O projection with residual
    test_matmul(st, 13, 1000, 224, 1, 0, 1);
    test_matmul_argmax(st, 1, 201088, 2880);
    test_matmul_argmax(st, 5, 1003, 224);
    test_moe(st, 1, 32, 4, 2880, 2880, 1, 0);
    test_moe(st, 9, 32, 4, 2880, 2880, 1, 0);
    test_moe(st, 130, 8, 4, 224, 160, 1, 0);
    test_moe(st, 19, 8, 2, 224, 160, 0, 0);
    test_moe(st, 9, 32, 4, 2880, 2880, 1, 1);  // precise, few pairs per expert
    test_moe(st, 130, 8, 4, 224, 160, 1, 1);   // precise, tiled
}
