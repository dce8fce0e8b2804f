/* selftest_rows.hip: the row-wise ops (embedding gather, rmsnorm, router
 * top-k, argmax) and the MXFP4 encoder against the CPU oracle (harness: selftest.h). */
#include "selftest.h"
#include "gpu_check.h"
#include "ops_cpu.h"  // cpu_rmsnorm, cpu_router_topk (the oracle)
#include "kernels.h"  // the ops under test
#include "sampler.h"  // argmax_f32

#include <math.h>
#include <string.h>

static void test_embed(SelfTest *st, int T, int V, int H) {
    uint16_t *emb = (uint16_t *)xmalloc(2 * (size_t)V * H);
    st_fill_bf16(st, emb, NULL, (size_t)V * H, 1.0f);
    int32_t *tok = (int32_t *)xmalloc(4 * (size_t)T);
    for (int i = 0; i < T; i++) tok[i] = (int32_t)(st_uniform(st, 0, 1) * V) % V;
    float *ref = (float *)xmalloc(4 * (size_t)T * H), *got = (float *)xmalloc(4 * (size_t)T * H);
    for (int i = 0; i < T; i++)
        for (int c = 0; c < H; c++) ref[(size_t)i * H + c] = bf16_to_f32(emb[(size_t)tok[i] * H + c]);
    void *d_emb = st_upload(emb, 2 * (size_t)V * H), *d_tok = st_upload(tok, 4 * (size_t)T);
    float *d_x = (float *)st_poisoned(4 * (size_t)T * H);
    embed_bf16w_f32out(d_x, (const uint16_t *)d_emb, (const int32_t *)d_tok, T, H, st->stream);
    st_download(got, d_x, 4 * (size_t)T * H);
    char name[96];
    snprintf(name, sizeof name, "embed T=%d V=%d H=%d", T, V, H);
    st_report(st, name, st_nmse(got, ref, (size_t)T * H), TOL_EXACT, 0);
    st_free(d_emb), st_free(d_tok), st_free(d_x);
    free(emb), free(tok), free(ref), free(got);
}

/* precise: the output as hi + lo against the oracle's fp32 (TOL_PAIR). */
static void test_rmsnorm(SelfTest *st, int T, int H, int gather, int precise) {
    const int R = gather ? T + 3 : T; // rows of x; gather picks T of them
    float *x = (float *)xmalloc(4 * (size_t)R * H), *w = (float *)xmalloc(4 * (size_t)H);
    st_fill_f32(st, x, (size_t)R * H, 3.0f);
    st_fill_f32(st, w, H, 2.0f);
    int32_t *rows = (int32_t *)xmalloc(4 * (size_t)T);
    for (int i = 0; i < T; i++) rows[i] = gather ? (i * 7 + 2) % R : i;
    float *ref = (float *)xmalloc(4 * (size_t)T * H), *got = (float *)xmalloc(4 * (size_t)T * H);
    Tensor wt = st_tensor(DT_F32, w, 1, H, 0, 0);
    for (int i = 0; i < T; i++) cpu_rmsnorm(ref + (size_t)i * H, x + (size_t)rows[i] * H, &wt, H);
    void *d_x = st_upload(x, 4 * (size_t)R * H), *d_w = st_upload(w, 4 * (size_t)H);
    void *d_rows = st_upload(rows, 4 * (size_t)T);
    uint16_t *d_o = (uint16_t *)st_poisoned(2 * (size_t)T * H);
    uint16_t *d_lo = precise ? (uint16_t *)st_poisoned(2 * (size_t)T * H) : NULL;
    rmsnorm_f32_bf16out(d_o, d_lo, (const float *)d_x, (const float *)d_w,
                        gather ? (const int32_t *)d_rows : NULL, T, H, MODEL_RMS_EPS, st->stream);
    uint16_t *o = (uint16_t *)xmalloc(2 * (size_t)T * H), *lo = (uint16_t *)xmalloc(2 * (size_t)T * H);
    st_download(o, d_o, 2 * (size_t)T * H);
    if (precise) {
        st_download(lo, d_lo, 2 * (size_t)T * H);
        st_pair_to_f32(got, o, lo, (size_t)T * H);
    } else {
        st_bf16_to_f32(got, o, (size_t)T * H);
    }
    char name[96];
    snprintf(name, sizeof name, "rmsnorm%s T=%d H=%d%s", precise ? " hi+lo" : "", T, H,
             gather ? " gathered rows" : "");
    st_report(st, name, st_nmse(got, ref, (size_t)T * H), precise ? TOL_PAIR : TOL_BF16, 0);
    st_free(d_x), st_free(d_w), st_free(d_rows), st_free(d_o);
    if (d_lo) st_free(d_lo);
    free(x), free(w), free(rows), free(ref), free(got), free(o), free(lo);
}

static void test_router(SelfTest *st, int T, int E, int k) {
    float *g = (float *)xmalloc(4 * (size_t)T * E);
    for (size_t i = 0; i < (size_t)T * E; i++) // coarse values: plenty of ties
        g[i] = (i % 3 == 0) ? floorf(st_uniform(st, -4, 4)) : st_uniform(st, -4, 4);
    int32_t *ref_id = (int32_t *)xmalloc(4 * (size_t)T * k), *id = (int32_t *)xmalloc(4 * (size_t)T * k);
    float *ref_w = (float *)xmalloc(4 * (size_t)T * k), *w = (float *)xmalloc(4 * (size_t)T * k);
    for (int i = 0; i < T; i++)
        cpu_router_topk(g + (size_t)i * E, E, k, ref_id + (size_t)i * k, ref_w + (size_t)i * k);
    void *d_g = st_upload(g, 4 * (size_t)T * E);
    int32_t *d_id = (int32_t *)st_poisoned(4 * (size_t)T * k);
    float *d_w = (float *)st_poisoned(4 * (size_t)T * k);
    router_topk_f32(d_id, d_w, (const float *)d_g, T, E, k, st->stream);
    st_download(id, d_id, 4 * (size_t)T * k);
    st_download(w, d_w, 4 * (size_t)T * k);
    long bad = 0;
    for (size_t i = 0; i < (size_t)T * k; i++) bad += id[i] != ref_id[i];
    char name[96];
    snprintf(name, sizeof name, "router_topk T=%d E=%d k=%d", T, E, k);
    st_report(st, name, st_nmse(w, ref_w, (size_t)T * k), 1e-12, bad);
    st_free(d_g), st_free(d_id), st_free(d_w);
    free(g), free(ref_id), free(id), free(ref_w), free(w);
}

/* route_topk_sort's one-launch path (T <= ROUTE_FUSED_MAX_T) against the two
 * kernels it replaces: ids, weights, expert offsets and the sorted pairs
 * equal bit for bit (the order inside an expert too). Coarse logits: ties. */
static void test_route_fused(SelfTest *st, int T, int E, int k) {
    const size_t TE = (size_t)T * E, P = (size_t)T * k;
    float *g = (float *)xmalloc(4 * TE);
    for (size_t i = 0; i < TE; i++) g[i] = (i % 3 == 0) ? floorf(st_uniform(st, -4, 4)) : st_uniform(st, -4, 4);
    void *d_g = st_upload(g, 4 * TE);
    int32_t *d_id[2], *d_off[2], *d_sorted[2], *d_cnt = (int32_t *)st_poisoned(4 * (size_t)E);
    float *d_w[2];
    for (int r = 0; r < 2; r++) {
        d_id[r] = (int32_t *)st_poisoned(4 * P), d_w[r] = (float *)st_poisoned(4 * P);
        d_off[r] = (int32_t *)st_poisoned(4 * (size_t)(E + 1)), d_sorted[r] = (int32_t *)st_poisoned(4 * P);
    }
    router_topk_f32(d_id[0], d_w[0], (const float *)d_g, T, E, k, st->stream);
    moe_sort(d_id[0], T, k, E, d_off[0], d_sorted[0], d_cnt, st->stream);
    route_topk_sort(d_id[1], d_w[1], (const float *)d_g, T, E, k, d_off[1], d_sorted[1], d_cnt, st->stream);
    const size_t bytes[4] = {4 * P, 4 * P, 4 * (size_t)(E + 1), 4 * P};
    void *const dev[2][4] = {{d_id[0], d_w[0], d_off[0], d_sorted[0]}, {d_id[1], d_w[1], d_off[1], d_sorted[1]}};
    long bad = 0;
    for (int b = 0; b < 4; b++) {
        char *h0 = (char *)xmalloc(bytes[b]), *h1 = (char *)xmalloc(bytes[b]);
        st_download(h0, dev[0][b], bytes[b]);
        st_download(h1, dev[1][b], bytes[b]);
        for (size_t i = 0; i < bytes[b]; i += 4) bad += memcmp(h0 + i, h1 + i, 4) != 0;
        free(h0), free(h1);
    }
    char name[96];
    snprintf(name, sizeof name, "route_topk_sort T=%d E=%d k=%d vs topk + sort (bitwise)", T, E, k);
    st_report(st, name, 0.0, TOL_EXACT, bad);
    st_free(d_g), st_free(d_cnt);
    for (int r = 0; r < 2; r++) st_free(d_id[r]), st_free(d_w[r]), st_free(d_off[r]), st_free(d_sorted[r]);
    free(g);
}

/* combine_rmsnorm_f32_bf16out against moe_combine then rmsnorm_f32_bf16out:
 * x, the norm's output (and lo) equal bit for bit; and the norm against the
 * CPU oracle on the combined x (TOL_BF16 / TOL_PAIR). */
static void test_combine_norm(SelfTest *st, int T, int H, int k, int precise) {
    const size_t TH = (size_t)T * H;
    float *x = (float *)xmalloc(4 * TH), *y = (float *)xmalloc(4 * TH * k), *tw = (float *)xmalloc(4 * (size_t)T * k);
    float *w = (float *)xmalloc(4 * (size_t)H);
    st_fill_f32(st, x, TH, 3.0f);
    st_fill_f32(st, y, TH * k, 2.0f);
    st_fill_f32(st, tw, (size_t)T * k, 1.0f);
    st_fill_f32(st, w, H, 2.0f);
    void *d_y = st_upload(y, 4 * TH * k), *d_tw = st_upload(tw, 4 * (size_t)T * k), *d_w = st_upload(w, 4 * (size_t)H);
    float *d_x[2];
    uint16_t *d_o[2], *d_lo[2];
    for (int r = 0; r < 2; r++) {
        d_x[r] = (float *)st_upload(x, 4 * TH);
        d_o[r] = (uint16_t *)st_poisoned(2 * TH);
        d_lo[r] = precise ? (uint16_t *)st_poisoned(2 * TH) : NULL;
    }
    moe_combine(d_x[0], (const float *)d_y, (const float *)d_tw, T, k, H, st->stream);
    rmsnorm_f32_bf16out(d_o[0], d_lo[0], d_x[0], (const float *)d_w, NULL, T, H, MODEL_RMS_EPS, st->stream);
    combine_rmsnorm_f32_bf16out(d_x[1], (const float *)d_y, (const float *)d_tw, k, d_o[1], d_lo[1],
                                (const float *)d_w, T, H, MODEL_RMS_EPS, st->stream);
    float *xs[2] = {(float *)xmalloc(4 * TH), (float *)xmalloc(4 * TH)};
    uint16_t *os[2] = {(uint16_t *)xmalloc(2 * TH), (uint16_t *)xmalloc(2 * TH)};
    uint16_t *los[2] = {(uint16_t *)xmalloc(2 * TH), (uint16_t *)xmalloc(2 * TH)};
    for (int r = 0; r < 2; r++) {
        st_download(xs[r], d_x[r], 4 * TH);
        st_download(os[r], d_o[r], 2 * TH);
        if (precise) st_download(los[r], d_lo[r], 2 * TH);
    }
    long bad = 0;
    for (size_t i = 0; i < TH; i++)
        bad += memcmp(&xs[0][i], &xs[1][i], 4) != 0 || os[0][i] != os[1][i] || (precise && los[0][i] != los[1][i]);
    /* the oracle on the combined rows (the fused kernel's own x) */
    float *ref = (float *)xmalloc(4 * TH), *got = (float *)xmalloc(4 * TH);
    Tensor wt = st_tensor(DT_F32, w, 1, H, 0, 0);
    for (int i = 0; i < T; i++) cpu_rmsnorm(ref + (size_t)i * H, xs[1] + (size_t)i * H, &wt, H);
    if (precise) st_pair_to_f32(got, os[1], los[1], TH);
    else st_bf16_to_f32(got, os[1], TH);
    /* and x itself against x + sum_j w_j y_j in double */
    double ex = 0.0, ss = 0.0;
    for (int i = 0; i < T; i++)
        for (int c = 0; c < H; c++) {
            double v = x[(size_t)i * H + c];
            for (int j = 0; j < k; j++) v += (double)tw[(size_t)i * k + j] * y[((size_t)i * k + j) * H + c];
            ex += (xs[1][(size_t)i * H + c] - v) * (xs[1][(size_t)i * H + c] - v), ss += v * v;
        }
    char name[112];
    snprintf(name, sizeof name, "combine+rmsnorm%s T=%d H=%d k=%d vs combine, rmsnorm (bitwise; norm vs oracle)",
             precise ? " hi+lo" : "", T, H, k);
    const double nmse = st_nmse(got, ref, TH);
    st_report(st, name, nmse > ex / ss ? nmse : ex / ss, precise ? TOL_PAIR : TOL_BF16, bad);
    st_free(d_y), st_free(d_tw), st_free(d_w);
    for (int r = 0; r < 2; r++) {
        st_free(d_x[r]), st_free(d_o[r]);
        if (d_lo[r]) st_free(d_lo[r]);
        free(xs[r]), free(os[r]), free(los[r]);
    }
    free(x), free(y), free(tw), free(w), free(ref), free(got);
}

static void test_argmax(SelfTest *st, int S, int V) {
    float *l = (float *)xmalloc(4 * (size_t)S * V);
    for (size_t i = 0; i < (size_t)S * V; i++) l[i] = floorf(st_uniform(st, -1000, 1000)); // ties
    int32_t *id = (int32_t *)xmalloc(4 * (size_t)S);
    void *d_l = st_upload(l, 4 * (size_t)S * V);
    int32_t *d_id = (int32_t *)st_poisoned(4 * (size_t)S);
    argmax_rows_f32(d_id, (const float *)d_l, S, V, st->stream);
    st_download(id, d_id, 4 * (size_t)S);
    long bad = 0;
    for (int s = 0; s < S; s++) bad += id[s] != argmax_f32(l + (size_t)s * V, V);
    char name[96];
    snprintf(name, sizeof name, "argmax S=%d V=%d (ties)", S, V);
    st_report(st, name, 0.0, TOL_EXACT, bad);
    st_free(d_l), st_free(d_id);
    free(l), free(id);
}

/* encode_mxfp4 (expert weights that arrive as f32 or bf16): exact groups
 * (random codes and scales, some all-zero) must decode back bit for bit
 * (the encoding may pick another but equal scale); one inexact value in a
 * call must raise the flag. */
static void test_encode_mxfp4(SelfTest *st, int64_t G, int src_f32) {
    const size_t n = (size_t)G * 32;
    float *v = (float *)xmalloc(4 * n);
    for (int64_t g = 0; g < G; g++) {
        const int k = (int)st_uniform(st, -20, 20), zero = g % 17 == 5;
        for (int j = 0; j < 32; j++) {
            const int c = (int)st_uniform(st, 0, 16) & 15;
            v[g * 32 + j] = zero ? 0.0f : ldexpf(MXFP4_VALUES[c], k);
        }
    }
    uint16_t *vb = (uint16_t *)xmalloc(2 * n);
    for (size_t i = 0; i < n; i++) vb[i] = f32_to_bf16(v[i]); // exact: 3 significant bits
    uint8_t *blocks = (uint8_t *)xmalloc(n / 2), *scales = (uint8_t *)xmalloc((size_t)G);
    void *d_src = src_f32 ? st_upload(v, 4 * n) : st_upload(vb, 2 * n);
    uint8_t *d_blocks = (uint8_t *)st_poisoned(n / 2), *d_scales = (uint8_t *)st_poisoned((size_t)G);
    int flag = 0;
    int *d_bad = (int *)st_upload(&flag, sizeof(int));
    encode_mxfp4(d_blocks, d_scales, d_src, src_f32, G, d_bad, st->stream);
    st_download(blocks, d_blocks, n / 2);
    st_download(scales, d_scales, (size_t)G);
    st_download(&flag, d_bad, sizeof(int));
    long bad = flag != 0;
    for (size_t i = 0; i < n; i++) {
        const int c = (blocks[i / 2] >> (4 * (i % 2))) & 15;
        const float d = ldexpf(MXFP4_VALUES[c], (int)scales[i / 32] - 127);
        bad += d != v[i];
    }
    /* one value off the grid: the flag goes up */
    v[n / 2] = ldexpf(1.25f, 3);
    vb[n / 2] = f32_to_bf16(v[n / 2]);
    st_free(d_src);
    d_src = src_f32 ? st_upload(v, 4 * n) : st_upload(vb, 2 * n);
    encode_mxfp4(d_blocks, d_scales, d_src, src_f32, G, d_bad, st->stream);
    st_download(&flag, d_bad, sizeof(int));
    bad += flag != 1;
    char name[96];
    snprintf(name, sizeof name, "encode_mxfp4 %s groups=%lld", src_f32 ? "f32" : "bf16", (long long)G);
    st_report(st, name, 0.0, TOL_EXACT, bad);
    st_free(d_src), st_free(d_blocks), st_free(d_scales), st_free(d_bad);
    free(v), free(vb), free(blocks), free(scales);
}

void selftest_row_ops(SelfTest *st) {
    test_embed(st, 1, 1000, 2880);
    test_embed(st, 37, 531, 104);
    test_rmsnorm(st, 1, 2880, 0, 0);
    test_rmsnorm(st, 37, 2880, 0, 0);
    test_rmsnorm(st, 5, 100, 1, 0);
    test_rmsnorm(st, 37, 2880, 0, 1);
    test_rmsnorm(st, 5, 100, 1, 1);
    test_router(st, 1, 32, 4);
    test_router(st, 77, 32, 4);
    test_router(st, 33, 128, 4);
    test_route_fused(st, 1, 32, 4);   // one wave (T * k <= GETP_WAVE) ...
    test_route_fused(st, 1, 128, 4);
    test_route_fused(st, 7, 128, 4);
    test_route_fused(st, GETP_WAVE / 4, 32, 4); // ... a wave of pairs exactly
    test_route_fused(st, 5, 32, 3);
    test_route_fused(st, 3, 32, 1);
    test_route_fused(st, GETP_WAVE / 4 + 1, 32, 4); // the block past it
    test_route_fused(st, ROUTE_FUSED_MAX_T, 32, 4);
    test_route_fused(st, ROUTE_FUSED_MAX_T, 128, 4);
    test_route_fused(st, ROUTE_FUSED_MAX_T + 1, 32, 4); // past it: the two kernels themselves
    test_combine_norm(st, 1, 2880, 4, 0);
    test_combine_norm(st, 37, 2880, 4, 0);
    test_combine_norm(st, 5, 100, 4, 1);
    test_combine_norm(st, 3, 2880, 4, 1);
    test_argmax(st, 1, 201088);
    test_argmax(st, 3, 1001);
    test_encode_mxfp4(st, 4099, 1);
    test_encode_mxfp4(st, 1000, 0);
}

