/* selftest_rows.hip: the row-wise ops (embedding gather, rmsnorm, router
 * top-k, argmax) and the MXFP4 encoder against the CPU oracle (harness: selftest.h). */
#include "selftest.h"
#include "gpu_check.h"
#include "ops_cpu.h"  // cpu_rmsnorm, cpu_router_topk (the oracle)
#include "kernels.h"  // the ops under test
#include "sampler.h"  // argmax_f32

#include <math.h>

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
    test_argmax(st, 1, 201088);
    test_argmax(st, 3, 1001);
    test_encode_mxfp4(st, 4099, 1);
    test_encode_mxfp4(st, 1000, 0);
}

