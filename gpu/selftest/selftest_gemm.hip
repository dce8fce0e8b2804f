/* selftest_gemm.hip: op tests for the dense GEMM launchers (kernels.h,
 * gpu/kernels/matmul*.hip) against cpu_matvec, at shapes that are and are
 * not multiples of any tile, one token and many (harness: selftest.h).
 */
#include "selftest.h"
#include "gpu_check.h"
#include "ops_cpu.h" // cpu_matvec, cpu_expert_mlp
#include "kernels.h" // the launchers under test

#include <math.h>
#include <string.h> // memcmp

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

/* Rows 0..2 computed in batches of 1, 3, 16, 77 and 300 rows, and row 299
 * alone and in the batch of 300: the GEMV's variants (M <= 8, M <= 16), the
 * tiled kernels (64-row tiles up to M = 256, 128-row tiles past it; a row
 * block cut by M) must give the same bits. */
static void test_matmul_batch_bits(SelfTest *st, int N, int K) {
    const int MB = 300, Ms[] = {1, 3, 16, 77, 300};
    uint16_t *x = (uint16_t *)xmalloc(2 * (size_t)MB * K), *w = (uint16_t *)xmalloc(2 * (size_t)N * K);
    float *b = (float *)xmalloc(4 * (size_t)N), *first = (float *)xmalloc(4 * (size_t)3 * N);
    float *got = (float *)xmalloc(4 * (size_t)3 * N), *last = (float *)xmalloc(4 * (size_t)N);
    st_fill_bf16(st, x, NULL, (size_t)MB * K, 1.0f);
    st_fill_bf16(st, w, NULL, (size_t)N * K, 1.0f);
    st_fill_f32(st, b, N, 1.0f);
    void *d_x = st_upload(x, 2 * (size_t)MB * K), *d_w = st_upload(w, 2 * (size_t)N * K);
    void *d_b = st_upload(b, 4 * (size_t)N);
    float *d_y = (float *)st_poisoned(4 * (size_t)MB * N);
    long bad = 0;
    for (int i = 0; i < 5; i++) {
        const int M = Ms[i], rows = M < 3 ? M : 3;
        matmul_bf16_bf16w(d_y, (const uint16_t *)d_x, (const uint16_t *)d_w, (const float *)d_b, NULL,
                          M, N, K, st->stream);
        GPU_CHECK(hipStreamSynchronize(st->stream));
        st_download(i == 0 ? first : got, d_y, 4 * (size_t)rows * N);
        if (i == 0) { // row 0 alone; rows 1, 2 alone too, for the later batches
            for (int r = 1; r < 3; r++) {
                matmul_bf16_bf16w(d_y, (const uint16_t *)d_x + (size_t)r * K, (const uint16_t *)d_w,
                                  (const float *)d_b, NULL, 1, N, K, st->stream);
                GPU_CHECK(hipStreamSynchronize(st->stream));
                st_download(first + (size_t)r * N, d_y, 4 * (size_t)N);
            }
            continue;
        }
        bad += memcmp(got, first, 4 * (size_t)rows * N) != 0;
    }
    /* d_y holds the batch of 300: its last row (a row block cut by M) against that row alone */
    st_download(last, d_y + (size_t)(MB - 1) * N, 4 * (size_t)N);
    matmul_bf16_bf16w(d_y, (const uint16_t *)d_x + (size_t)(MB - 1) * K, (const uint16_t *)d_w,
                      (const float *)d_b, NULL, 1, N, K, st->stream);
    GPU_CHECK(hipStreamSynchronize(st->stream));
    st_download(got, d_y, 4 * (size_t)N);
    bad += memcmp(got, last, 4 * (size_t)N) != 0;
    char name[96];
    snprintf(name, sizeof name, "matmul N=%d K=%d: rows alone == in batches of 3/16/77/300 (bitwise)", N, K);
    st_report(st, name, 0.0, TOL_EXACT, bad);
    st_free(d_x), st_free(d_w), st_free(d_b), st_free(d_y);
    free(x), free(w), free(b), free(first), free(got), free(last);
}

/* Random expert weights (E, R, C): MXFP4 (random codes, scales near 2^-5) or bf16. */
void selftest_gemm_ops(SelfTest *st) {
    test_matmul(st, 1, 5120, 2880, 1, 0, 0);   // QKV shape, one token
    test_matmul(st, 77, 5120, 2880, 1, 0, 0);  // QKV shape, many tokens
    test_matmul(st, 33, 2880, 4096, 1, 1, 0);  // O projection with residual
    test_matmul(st, 300, 640, 2880, 1, 1, 0);  // past M = 256: the tiles for many rows
    test_matmul(st, 7, 32, 2880, 1, 0, 0);     // router (the split kernel)
    test_matmul(st, 300, 128, 2880, 1, 0, 0);  // 120b router, many tokens
    test_matmul(st, 5, 32, 2880, 1, 0, 1);     // precise router
    test_matmul(st, 13, 1000, 224, 0, 0, 0);   // M, N not multiples of a tile; K = 7 k-steps
    test_matmul(st, 3, 201088, 2880, 0, 0, 0); // LM head
    test_matmul(st, 33, 2880, 4096, 1, 1, 1);  // precise: O projection with residual
    test_matmul(st, 13, 1000, 224, 1, 0, 1);
    test_matmul_batch_bits(st, 5120, 2880);    // QKV shape: GEMVs, tiles
    test_matmul_batch_bits(st, 2880, 4096);    // O projection shape
    test_matmul_batch_bits(st, 32, 2880);      // routers: the split kernel's column groups
    test_matmul_batch_bits(st, 128, 2880);
    test_matmul_argmax(st, 1, 201088, 2880);
    test_matmul_argmax(st, 5, 1003, 224);
    test_matmul_argmax(st, 300, 1003, 256);  // past M = 256
}
