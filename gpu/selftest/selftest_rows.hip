/* selftest_rows.hip: the row-wise ops (embedding gather, rmsnorm, router
 * top-k, the fused router GEMM + top-k, argmax) and the MXFP4 encoder against the CPU oracle (harness: selftest.h). */
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

/* router_fused on a batch of rows of t (T, H), row i of the batch = token
 * rows[i] of the pool: ids, w, logits downloaded into (T, .) arrays. Returns
 * the mismatches of router_fused_sort (T <= 16; it must sort when T <= 8):
 * its ids and w against router_fused's, bitwise, and its expert offsets and
 * sorted pairs against moe_sort's on the same ids. */
static long router_fused_run(SelfTest *st, const uint16_t *hi, const uint16_t *lo, const int *rows,
                             int T, int E, int H, int k, const void *d_W, const void *d_b,
                             int32_t *id, float *w, float *lg) {
    uint16_t *bh = (uint16_t *)xmalloc(2 * (size_t)T * H), *bl = (uint16_t *)xmalloc(2 * (size_t)T * H);
    for (int i = 0; i < T; i++) {
        memcpy(bh + (size_t)i * H, hi + (size_t)rows[i] * H, 2 * (size_t)H);
        if (lo) memcpy(bl + (size_t)i * H, lo + (size_t)rows[i] * H, 2 * (size_t)H);
    }
    void *d_t = st_upload(bh, 2 * (size_t)T * H), *d_lo = lo ? st_upload(bl, 2 * (size_t)T * H) : NULL;
    int32_t *d_id = (int32_t *)st_poisoned(4 * (size_t)T * k);
    float *d_w = (float *)st_poisoned(4 * (size_t)T * k), *d_lg = (float *)st_poisoned(4 * (size_t)T * E);
    router_fused(d_id, d_w, d_lg, (const uint16_t *)d_t, (const uint16_t *)d_lo, (const uint16_t *)d_W,
                 (const float *)d_b, T, E, H, k, st->stream);
    st_download(id, d_id, 4 * (size_t)T * k);
    st_download(w, d_w, 4 * (size_t)T * k);
    st_download(lg, d_lg, 4 * (size_t)T * E);
    long bad = 0;
    if (T <= TILE_M) {
        const size_t P = (size_t)T * k;
        int32_t *d_id2 = (int32_t *)st_poisoned(4 * P), *d_off = (int32_t *)st_poisoned(4 * (size_t)(E + 1));
        int32_t *d_srt = (int32_t *)st_poisoned(4 * P), *d_off2 = (int32_t *)st_poisoned(4 * (size_t)(E + 1));
        int32_t *d_srt2 = (int32_t *)st_poisoned(4 * P), *d_cnt = (int32_t *)st_poisoned(4 * (size_t)E);
        float *d_w2 = (float *)st_poisoned(4 * P);
        const int sorted = router_fused_sort(d_id2, d_w2, NULL, (const uint16_t *)d_t, (const uint16_t *)d_lo,
                                             (const uint16_t *)d_W, (const float *)d_b, T, E, H, k, d_off,
                                             d_srt, st->stream);
        bad += T <= TILE_M / 2 && !sorted;
        int32_t *v = (int32_t *)xmalloc(4 * (P + E + 1)), *v2 = (int32_t *)xmalloc(4 * (P + E + 1));
        float *w2 = (float *)xmalloc(4 * P);
        st_download(v, d_id2, 4 * P);
        st_download(w2, d_w2, 4 * P);
        bad += memcmp(v, id, 4 * P) != 0;
        bad += memcmp(w2, w, 4 * P) != 0;
        if (sorted) {
            moe_sort(d_id2, T, k, E, d_off2, d_srt2, d_cnt, st->stream);
            st_download(v, d_off, 4 * (size_t)(E + 1));
            st_download(v2, d_off2, 4 * (size_t)(E + 1));
            bad += memcmp(v, v2, 4 * (size_t)(E + 1)) != 0;
            st_download(v, d_srt, 4 * P);
            st_download(v2, d_srt2, 4 * P);
            bad += memcmp(v, v2, 4 * P) != 0;
        }
        st_free(d_id2), st_free(d_off), st_free(d_srt), st_free(d_off2), st_free(d_srt2);
        st_free(d_cnt), st_free(d_w2);
        free(v), free(v2), free(w2);
    }
    st_free(d_t), st_free(d_id), st_free(d_w), st_free(d_lg);
    if (d_lo) st_free(d_lo);
    free(bh), free(bl);
    return bad;
}

/* router_fused (the GEMM + top-k in one launch) on a pool of NP tokens:
 *  (1) against a double reference: logits (NMSE, TOL_F32), the j-th picked
 *      id's reference logit equal to the j-th largest reference logit up to
 *      the error bound of an fp32 sum of exact bf16 products, gamma_n *
 *      sum |W t| with gamma_n = n 2^-24 / (1 - n 2^-24) (n = H, twice that
 *      in precise mode): only near-ties may swap; ids distinct and in range;
 *      weights within 1e-5 relative of the softmax of the reference logits of
 *      the ids picked;
 *  (2) batch invariance, bitwise: every row of T = 1, 5, 16, 17 (tokens
 *      taken from the pool at shifted positions, wrapping) equals the row of
 *      the same token in the T = NP run (logits, ids, weights);
 *  (3) router_fused_sort at T <= 16: see router_fused_run. */
static void test_router_fused(SelfTest *st, int E, int H, int k, int precise) {
    const int NP = 300;
    const size_t n = (size_t)NP * H;
    float *tf = (float *)xmalloc(4 * n), *Wf = (float *)xmalloc(4 * (size_t)E * H);
    uint16_t *hi = (uint16_t *)xmalloc(2 * n), *lo = (uint16_t *)xmalloc(2 * n);
    uint16_t *W = (uint16_t *)xmalloc(2 * (size_t)E * H);
    float *bias = (float *)xmalloc(4 * (size_t)E);
    st_fill_f32(st, tf, n, 1.0f); // logits ~0.35: weights well conditioned
    if (precise) {
        st_split(tf, hi, lo, n);
    } else {
        for (size_t i = 0; i < n; i++) hi[i] = f32_to_bf16(tf[i]);
    }
    st_fill_bf16(st, W, Wf, (size_t)E * H, 0.02f);
    st_fill_f32(st, bias, E, 0.1f);
    /* the reference: logits in double of the bf16 operands, and their bounds */
    double *ref = (double *)xmalloc(8 * (size_t)NP * E), *bound = (double *)xmalloc(8 * (size_t)NP * E);
    const double nu = (precise ? 2.0 : 1.0) * H * ldexp(1.0, -24), gam = nu / (1.0 - nu);
    for (int i = 0; i < NP; i++)
        for (int e = 0; e < E; e++) {
            double s = 0.0, a = 0.0;
            for (int h = 0; h < H; h++) {
                const double x = (double)bf16_to_f32(hi[(size_t)i * H + h]) +
                                 (precise ? (double)bf16_to_f32(lo[(size_t)i * H + h]) : 0.0);
                s += (double)Wf[(size_t)e * H + h] * x;
                a += fabs((double)Wf[(size_t)e * H + h] * x);
            }
            ref[(size_t)i * E + e] = s + bias[e];
            bound[(size_t)i * E + e] = gam * (a + fabs(bias[e])) + 1e-30;
        }
    void *d_W = st_upload(W, 2 * (size_t)E * H), *d_b = st_upload(bias, 4 * (size_t)E);
    int *rows = (int *)xmalloc(sizeof(int) * NP);
    int32_t *id0 = (int32_t *)xmalloc(4 * (size_t)NP * k), *id = (int32_t *)xmalloc(4 * (size_t)NP * k);
    float *w0 = (float *)xmalloc(4 * (size_t)NP * k), *w = (float *)xmalloc(4 * (size_t)NP * k);
    float *lg0 = (float *)xmalloc(4 * (size_t)NP * E), *lg = (float *)xmalloc(4 * (size_t)NP * E);
    float *rf = (float *)xmalloc(4 * (size_t)NP * E);
    for (int i = 0; i < NP; i++) rows[i] = i;
    long sortbad = router_fused_run(st, hi, precise ? lo : NULL, rows, NP, E, H, k, d_W, d_b, id0, w0, lg0);
    for (size_t i = 0; i < (size_t)NP * E; i++) rf[i] = (float)ref[i];
    const double nmse = st_nmse(lg0, rf, (size_t)NP * E);
    long bad = 0, ties = 0;
    int *sorted = (int *)xmalloc(sizeof(int) * (size_t)E);
    for (int i = 0; i < NP; i++) {
        const double *L = ref + (size_t)i * E, *B = bound + (size_t)i * E;
        int taken[512] = {0};
        for (int j = 0; j < k; j++) { // j-th largest reference logit, ties to the lower id
            int best = -1;
            for (int e = 0; e < E; e++)
                if (!taken[e] && (best < 0 || L[e] > L[best])) best = e;
            taken[best] = 1;
            sorted[j] = best;
        }
        const int32_t *g = id0 + (size_t)i * k;
        double ex[16], sum = 0.0;
        for (int j = 0; j < k; j++) {
            ex[j] = 0.0;
            const int r = sorted[j];
            if (g[0] < 0 || g[0] >= E || g[j] < 0 || g[j] >= E) {
                bad++;
                continue;
            }
            for (int q = 0; q < j; q++) bad += g[q] == g[j];
            if (g[j] != r) {
                ties++;
                bad += fabs(L[g[j]] - L[r]) > B[g[j]] + B[r];
            }
            ex[j] = exp(L[g[j]] - L[g[0]]);
            sum += ex[j];
        }
        for (int j = 0; j < k; j++) {
            const double wr = ex[j] / sum;
            bad += !(fabs((double)w0[(size_t)i * k + j] - wr) <= 1e-5 * wr);
        }
    }
    /* invariance: T = 1, 5, 16, 17 at shifted positions of the pool */
    const int Ts[4] = {1, 5, 16, 17}, start[4] = {123, 297, 7, 290};
    long diff = 0;
    for (int c = 0; c < 4; c++) {
        const int T = Ts[c];
        for (int i = 0; i < T; i++) rows[i] = (start[c] + i) % NP;
        sortbad += router_fused_run(st, hi, precise ? lo : NULL, rows, T, E, H, k, d_W, d_b, id, w, lg);
        for (int i = 0; i < T; i++) {
            const int r = rows[i];
            diff += memcmp(lg + (size_t)i * E, lg0 + (size_t)r * E, 4 * (size_t)E) != 0;
            diff += memcmp(id + (size_t)i * k, id0 + (size_t)r * k, 4 * (size_t)k) != 0;
            diff += memcmp(w + (size_t)i * k, w0 + (size_t)r * k, 4 * (size_t)k) != 0;
        }
    }
    char name[192];
    snprintf(name, sizeof name,
             "router_fused%s E=%d H=%d k=%d T=1,5,16,17,%d (%ld near-ties, %ld not invariant, %ld sort)",
             precise ? " precise" : "", E, H, k, NP, ties, diff, sortbad);
    st_report(st, name, nmse, TOL_F32, bad + diff + sortbad);
    st_free(d_W), st_free(d_b);
    free(tf), free(Wf), free(hi), free(lo), free(W), free(bias), free(ref), free(bound), free(rows);
    free(id0), free(id), free(w0), free(w), free(lg0), free(lg), free(rf), free(sorted);
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
    for (int precise = 0; precise <= 1; precise++) {
        test_router_fused(st, 32, 2880, 4, precise);
        test_router_fused(st, 128, 2880, 4, precise);
        test_router_fused(st, 32, 96, 4, precise);  // 3 k-steps: parts left empty
        test_router_fused(st, 128, 352, 4, precise); // 11 k-steps: parts of 1 and 2
    }
    test_argmax(st, 1, 201088);
    test_argmax(st, 3, 1001);
    test_encode_mxfp4(st, 4099, 1);
    test_encode_mxfp4(st, 1000, 0);
}

