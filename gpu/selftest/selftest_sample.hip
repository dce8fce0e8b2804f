/* selftest_sample.hip: the GPU sampler (gpu/kernels/sample.hip) against the
 * CPU sampler (src/sampler.c) and against the definition (harness: selftest.h).
 *
 *  - agreement: rows of random logits (plain, quantized to force many equal
 *    logits, a dominant id, the real vocabulary size) under every filter and
 *    their combinations, each with its own uniform: the GPU's id must be the
 *    CPU's id, always. Both samplers take every deciding value from
 *    sampler_math.h and sum integer masses, so there is no rounding room: a
 *    single disagreement fails (no tolerance). The logprob of the id and the
 *    top ids must agree too: ids exactly, values within 1e-4 (the GPU sums
 *    exp in fp32 per thread, the CPU in double: ~1e-6 apart at V = 201088);
 *  - non-finite logits give id -1;
 *  - the split path (rows with a filter over several blocks, sample.hip): rows
 *    shaped like a model's (a bulk and a few leading ids), a top_k cut inside
 *    a group of tied logits, a top_p boundary reached exactly, a flat row (too
 *    many candidates: the one-block path), at V = 201088: all rows in one
 *    launch, each row alone with 1, 3, 17 and the default number of chunks,
 *    and every row by one block (the split path off) give the CPU sampler's
 *    id, every time; the split path must have decided the model-like and tied
 *    rows (else this would test the other path); rows with no filter (T 1,
 *    T 0.7) on every kind, which the split path draws from its chunks' masses
 *    on two chunks or more: each alone (the default chunks, 128 at this V on
 *    any GPU) the split path must decide every one of them;
 *  - distribution: 2^20 draws per filter on a 12-id vocabulary follow the
 *    double-precision definition (sample_probs_reference): ids outside the
 *    kept set never drawn, chi-square p > 0.001; with the split path and
 *    with one block per row.
 */
#include "selftest.h"
#include "gpu_check.h"
#include "kernels.h"  // sample_rows_f32
#include "sampler.h"  // the CPU sampler and the reference

#include <math.h>

typedef struct {
    const char *name;
    float T, top_p, min_p;
    int top_k, n_top;
} SampleCase;

static const SampleCase cases[] = {
    {"greedy + logprobs 5", 0.0f, 1.0f, 0.0f, 0, 5},
    {"T 1", 1.0f, 1.0f, 0.0f, 0, -1},
    {"T 0.7", 0.7f, 1.0f, 0.0f, 0, -1},
    {"T 1, top_k 1", 1.0f, 1.0f, 0.0f, 1, -1},
    {"T 1, top_k 50", 1.0f, 1.0f, 0.0f, 50, -1},
    {"T 0.8, top_p 0.9", 0.8f, 0.9f, 0.0f, 0, -1},
    {"T 1, top_p 1e-6", 1.0f, 1e-6f, 0.0f, 0, -1},
    {"T 1.3, min_p 0.05", 1.3f, 1.0f, 0.05f, 0, -1},
    {"T 0.7, top_k 50, top_p 0.95", 0.7f, 0.95f, 0.0f, 50, -1},
    {"T 0.6, top_k 40, top_p 0.8, min_p 0.1 + logprobs 20", 0.6f, 0.8f, 0.1f, 40, 20},
    {"T 1 + logprobs 0", 1.0f, 1.0f, 0.0f, 0, 0},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static SampleRow row_of(const SampleCase *c, double u) {
    const SampleSpec sp = sample_spec(c->T, c->top_k, c->top_p, c->min_p);
    SampleRow r = {sp.inv_t, sp.top_k, sp.top_p, sp.min_x, u, c->n_top, 0};
    return r;
}

/* kind 0: normal * 2; 1: quantized to 0.5 (many ties); 2: one dominant id; 3: flat */
static void fill_logits(SelfTest *st, float *l, int V, int kind) {
    for (int i = 0; i < V; i++) {
        float v = st_uniform(st, -1, 1) + st_uniform(st, -1, 1) + st_uniform(st, -1, 1);
        if (kind == 1) v = roundf(v * 2.0f) / 2.0f;
        if (kind == 3) v = 0.01f * v;
        l[i] = 2.0f * v;
    }
    if (kind == 2) l[(int)st_uniform(st, 0, (float)V)] = 25.0f;
}

/* rows_per_case rows of each case, vocabulary V: ids, logprobs and top ids. */
static void test_agreement(SelfTest *st, int V, int rows_per_case) {
    const int R = rows_per_case * N_CASES;
    float *l = (float *)xmalloc(sizeof(float) * (size_t)R * V);
    SampleRow *rows = (SampleRow *)xmalloc(sizeof(SampleRow) * (size_t)R);
    for (int r = 0; r < R; r++) {
        fill_logits(st, l + (size_t)r * V, V, r % 4);
        rows[r] = row_of(&cases[r / rows_per_case], st_uniform(st, 0, 1));
    }
    float *d_l = (float *)st_upload(l, sizeof(float) * (size_t)R * V);
    SampleRow *d_rows = (SampleRow *)st_upload(rows, sizeof(SampleRow) * (size_t)R);
    SampleOut *d_out = (SampleOut *)st_poisoned(sizeof(SampleOut) * (size_t)R);
    sample_rows_f32(d_out, d_l, d_rows, R, V, st->stream);
    SampleOut *out = (SampleOut *)xmalloc(sizeof(SampleOut) * (size_t)R);
    st_download(out, d_out, sizeof(SampleOut) * (size_t)R);
    SampleScratch ss;
    build_sample_scratch(&ss, V);
    for (int c = 0; c < N_CASES; c++) {
        long id_bad = 0, top_bad = 0;
        double lp_err = 0;
        for (int k = 0; k < rows_per_case; k++) {
            const int r = c * rows_per_case + k;
            const float *lr = l + (size_t)r * V;
            const SampleSpec sp = sample_spec(cases[c].T, cases[c].top_k, cases[c].top_p, cases[c].min_p);
            const int32_t want = sample_token(lr, V, &sp, rows[r].u, &ss);
            id_bad += out[r].id != want;
            if (cases[c].n_top >= 0 && out[r].id == want) {
                float lp, tlp[SAMPLE_MAX_TOP];
                int32_t tid[SAMPLE_MAX_TOP];
                token_logprobs(lr, V, want, cases[c].n_top, &lp, tid, tlp);
                lp_err = fmax(lp_err, fabs((double)out[r].logprob - lp));
                if (isnan(out[r].logprob)) lp_err = INFINITY;
                for (int j = 0; j < cases[c].n_top; j++) {
                    top_bad += out[r].top_ids[j] != tid[j];
                    lp_err = fmax(lp_err, fabs((double)out[r].top_lps[j] - tlp[j]));
                }
            }
        }
        char name[160];
        snprintf(name, sizeof name, "sample V=%d %s: %d rows, id == CPU sampler", V, cases[c].name,
                 rows_per_case);
        st_report(st, name, 0.0, TOL_EXACT, id_bad);
        if (cases[c].n_top >= 0) {
            snprintf(name, sizeof name, "sample V=%d %s: logprobs (max |err|, bound 1e-4)", V, cases[c].name);
            st_report(st, name, lp_err > 1e-4 ? INFINITY : 0.0, TOL_EXACT, top_bad);
        }
    }
    /* a NaN and an infinity: no id */
    l[7] = NAN;
    l[(size_t)V + 3] = INFINITY;
    st_free(d_l);
    d_l = (float *)st_upload(l, sizeof(float) * 2 * (size_t)V);
    sample_rows_f32(d_out, d_l, d_rows + rows_per_case, 2, V, st->stream); // two rows of case "T 1"
    st_download(out, d_out, sizeof(SampleOut) * 2);
    st_report(st, "sample: NaN / infinity in the logits -> id -1", 0.0, TOL_EXACT,
              (out[0].id != -1) + (out[1].id != -1));
    sample_rows_f32(d_out, d_l, d_rows + 4 * rows_per_case, 2, V, st->stream); // "T 1, top_k 50": split path
    st_download(out, d_out, sizeof(SampleOut) * 2);
    st_report(st, "sample: NaN / infinity in filtered rows -> id -1", 0.0, TOL_EXACT,
              (out[0].id != -1) + (out[1].id != -1));
    free_sample_scratch(&ss);
    st_free(d_l), st_free(d_rows), st_free(d_out);
    free(l), free(rows), free(out);
}

/* The split path against the CPU sampler and against itself under every split. */
static void test_split(SelfTest *st) {
    enum { V = 201088, KINDS = 4, SETS = 10 };
    /* kind 0: a bulk in [-6, 6] and 40 leading ids in [10, 18]; 1: ids ranked
     * 45..54 share one logit (top_k 50 cuts inside them, and they carry ~8% of
     * the kept mass), the bulk lower; 2: four
     * tied largest logits, the rest of zero mass at T 1 (top_p 0.5 / 0.75 end
     * exactly on a boundary); 3: flat (every id in one bin: the one-block path) */
    const SampleCase sets[SETS] = {
        {"T 0.7, top_k 50, top_p 0.95", 0.7f, 0.95f, 0.0f, 50, -1},
        {"T 1, top_k 50", 1.0f, 1.0f, 0.0f, 50, -1},
        {"T 1, top_p 0.5", 1.0f, 0.5f, 0.0f, 0, -1},
        {"T 1, top_p 0.75", 1.0f, 0.75f, 0.0f, 0, -1},
        {"T 1.3, min_p 0.05", 1.3f, 1.0f, 0.05f, 0, -1},
        {"T 0.6, top_k 40, top_p 0.8, min_p 0.1", 0.6f, 0.8f, 0.1f, 40, -1},
        {"T 1, top_k 3, top_p 0.5", 1.0f, 0.5f, 0.0f, 3, -1},
        {"T 1, top_p 0.9", 1.0f, 0.9f, 0.0f, 0, -1},
        {"T 1", 1.0f, 1.0f, 0.0f, 0, -1}, // no filter: the chunks' masses
        {"T 0.7", 0.7f, 1.0f, 0.0f, 0, -1},
    };
    float *base = (float *)xmalloc(sizeof(float) * (size_t)KINDS * V);
    for (int k = 0; k < KINDS; k++) {
        float *l = base + (size_t)k * V;
        for (int i = 0; i < V; i++) {
            const float v = st_uniform(st, -1, 1) + st_uniform(st, -1, 1) + st_uniform(st, -1, 1);
            l[i] = k == 0 ? 2.0f * v : k == 1 ? 2.0f * v - 5.0f : k == 2 ? v / 3.0f - 10.0f : 0.01f * v;
        }
        if (k == 0)
            for (int j = 0; j < 40; j++) l[(int)st_uniform(st, 0, (float)V)] = st_uniform(st, 10.0f, 18.0f);
        if (k == 1)
            for (int j = 0; j < 60; j++) // distinct ids: a stride through the vocabulary
                l[(7919 * (j + 1)) % V] =
                    j < 45 ? 20.0f - 0.01f * (float)j : j < 55 ? 19.5f : 19.4f - 0.01f * (float)(j - 55);
        if (k == 2)
            for (int j = 0; j < 4; j++) l[(104729 * (j + 3)) % V] = 20.0f;
    }
    /* rows: every kind x setting twice, and sweeps of u where the cut matters */
    int kind_of[256], set_of[256];
    double u_of[256];
    int R = 0;
    for (int k = 0; k < KINDS; k++)
        for (int c = 0; c < SETS; c++)
            for (int t = 0; t < 2; t++) kind_of[R] = k, set_of[R] = c, u_of[R++] = st_uniform(st, 0, 1);
    for (int t = 0; t < 32; t++) kind_of[R] = 1, set_of[R] = 1, u_of[R++] = (t + 0.5) / 32; // the tie cut
    for (int c = 2; c <= 3; c++) // the top_p boundary
        for (int t = 0; t < 8; t++) kind_of[R] = 2, set_of[R] = c, u_of[R++] = (t + 0.5) / 8;
    int must_fast = 0, n_plain = 0; // kinds 0 and 1: the split path decides every filtered row
    for (int r = 0; r < R; r++) {
        const SampleCase *c = &sets[set_of[r]];
        const int plain = c->top_k == 0 && c->top_p >= 1.0f && c->min_p == 0.0f;
        n_plain += plain;
        must_fast += kind_of[r] <= 1 && !plain;
    }
    float *l = (float *)xmalloc(sizeof(float) * (size_t)R * V);
    SampleRow *rows = (SampleRow *)xmalloc(sizeof(SampleRow) * (size_t)R);
    int32_t *want = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)R);
    SampleScratch ss;
    build_sample_scratch(&ss, V);
    for (int r = 0; r < R; r++) {
        memcpy(l + (size_t)r * V, base + (size_t)kind_of[r] * V, sizeof(float) * V);
        rows[r] = row_of(&sets[set_of[r]], u_of[r]);
        const SampleCase *c = &sets[set_of[r]];
        const SampleSpec sp = sample_spec(c->T, c->top_k, c->top_p, c->min_p);
        want[r] = sample_token(l + (size_t)r * V, V, &sp, u_of[r], &ss);
    }
    float *d_l = (float *)st_upload(l, sizeof(float) * (size_t)R * V);
    SampleRow *d_rows = (SampleRow *)st_upload(rows, sizeof(SampleRow) * (size_t)R);
    SampleOut *d_out = (SampleOut *)st_poisoned(sizeof(SampleOut) * (size_t)R);
    SampleOut *out = (SampleOut *)xmalloc(sizeof(SampleOut) * (size_t)R);
    const int splits[] = {0, 1, 3, 17};
    long bad[2 + 4] = {0};
    int fast = 0;
    sample_rows_f32_split(d_out, d_l, d_rows, R, V, 0, &fast, st->stream); // all rows, one launch
    st_download(out, d_out, sizeof(SampleOut) * (size_t)R);
    for (int r = 0; r < R; r++) bad[0] += out[r].id != want[r];
    GPU_CHECK(hipMemset(d_out, 0xff, sizeof(SampleOut) * (size_t)R));
    sample_rows_f32_split(d_out, d_l, d_rows, R, V, -1, NULL, st->stream); // one block per row
    st_download(out, d_out, sizeof(SampleOut) * (size_t)R);
    for (int r = 0; r < R; r++) bad[1] += out[r].id != want[r];
    int fast_alone = 0, must_alone = must_fast + n_plain; // alone, default chunks: filtered as above, every plain row
    for (int s = 0; s < 4; s++) { // each row alone: R = 1, the split forced
        GPU_CHECK(hipMemset(d_out, 0xff, sizeof(SampleOut) * (size_t)R));
        for (int r = 0; r < R; r++) {
            int f = 0;
            sample_rows_f32_split(d_out + r, d_l + (size_t)r * V, d_rows + r, 1, V, splits[s], s == 0 ? &f : NULL,
                                  st->stream);
            fast_alone += f;
        }
        st_download(out, d_out, sizeof(SampleOut) * (size_t)R);
        for (int r = 0; r < R; r++) bad[2 + s] += out[r].id != want[r];
    }
    const char *what[6] = {"all rows in one launch",  "one block per row",
                           "each row alone, default chunks", "each row alone, 1 chunk",
                           "each row alone, 3 chunks", "each row alone, 17 chunks"};
    char name[200];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "sample split V=%d, %d rows, %s: id == CPU sampler", V, R, what[i]);
        st_report(st, name, 0.0, TOL_EXACT, bad[i]);
    }
    snprintf(name, sizeof name, "sample split: the split path decided %d of %d rows (>= %d: model-like, tied)",
             fast, R, must_fast);
    st_report(st, name, 0.0, TOL_EXACT, fast >= must_fast ? 0 : must_fast - fast);
    snprintf(name, sizeof name,
             "sample split: each row alone, the split path decided %d of %d (>= %d: model-like, tied, no filter)",
             fast_alone, R, must_alone);
    st_report(st, name, 0.0, TOL_EXACT, fast_alone >= must_alone ? 0 : must_alone - fast_alone);
    free_sample_scratch(&ss);
    st_free(d_l), st_free(d_rows), st_free(d_out);
    free(base), free(l), free(rows), free(want), free(out);
}

/* 2^20 draws of one row (12 ids) per filter: the counts against the definition. */
static void test_distribution(SelfTest *st, int chunks) {
    enum { V = 12 };
    const int N = 1 << 20;
    const SampleCase dist[] = {
        {"no filter", 1.0f, 1.0f, 0.0f, 0, -1},     {"top_k 5", 0.8f, 1.0f, 0.0f, 5, -1},
        {"top_p 0.7", 1.2f, 0.7f, 0.0f, 0, -1},     {"min_p 0.2", 1.0f, 1.0f, 0.2f, 0, -1},
        {"top_k 8, top_p 0.9, min_p 0.05", 0.7f, 0.9f, 0.05f, 8, -1},
    };
    float *l = (float *)xmalloc(sizeof(float) * (size_t)N * V);
    SampleRow *rows = (SampleRow *)xmalloc(sizeof(SampleRow) * (size_t)N);
    SampleOut *out = (SampleOut *)xmalloc(sizeof(SampleOut) * (size_t)N);
    float *d_l = (float *)st_poisoned(sizeof(float) * (size_t)N * V);
    SampleRow *d_rows = (SampleRow *)st_poisoned(sizeof(SampleRow) * (size_t)N);
    SampleOut *d_out = (SampleOut *)st_poisoned(sizeof(SampleOut) * (size_t)N);
    for (size_t c = 0; c < sizeof dist / sizeof dist[0]; c++) {
        float base[V];
        for (int i = 0; i < V; i++) base[i] = 0.15f * (float)i + st_uniform(st, -0.02f, 0.02f);
        for (int i = V - 1; i > 0; i--) { // a random order, values 0.15 apart
            const int j = (int)st_uniform(st, 0, (float)(i + 1));
            const float t = base[i];
            base[i] = base[j];
            base[j] = t;
        }
        for (int r = 0; r < N; r++) {
            memcpy(l + (size_t)r * V, base, sizeof base);
            rows[r] = row_of(&dist[c], rng_uniform(4242, (int64_t)c, r));
        }
        GPU_CHECK(hipMemcpy(d_l, l, sizeof(float) * (size_t)N * V, hipMemcpyHostToDevice));
        GPU_CHECK(hipMemcpy(d_rows, rows, sizeof(SampleRow) * (size_t)N, hipMemcpyHostToDevice));
        sample_rows_f32_split(d_out, d_l, d_rows, N, V, chunks, NULL, st->stream);
        st_download(out, d_out, sizeof(SampleOut) * (size_t)N);
        double want[V];
        sample_probs_reference(base, V, dist[c].T, dist[c].top_k, dist[c].top_p, dist[c].min_p, want);
        long count[V] = {0}, bad = 0;
        for (int r = 0; r < N; r++) {
            if (out[r].id < 0 || out[r].id >= V) bad++;
            else count[out[r].id]++;
        }
        double chi2 = 0;
        int df = -1;
        for (int i = 0; i < V; i++) {
            if (want[i] == 0) {
                bad += count[i];
                continue;
            }
            const double e = N * want[i];
            chi2 += (count[i] - e) * (count[i] - e) / e;
            df++;
        }
        const double pv = chi2_upper_p(chi2, df);
        char name[160];
        snprintf(name, sizeof name, "sample distribution %s%s: chi-square %.1f df %d p = %.3f (> 0.001)",
                 dist[c].name, chunks < 0 ? " (one block per row)" : "", chi2, df, pv);
        st_report(st, name, pv > 0.001 ? 0.0 : INFINITY, TOL_EXACT, bad);
    }
    st_free(d_l), st_free(d_rows), st_free(d_out);
    free(l), free(rows), free(out);
}

void selftest_sample_ops(SelfTest *st) {
    test_agreement(st, 1000, 40);
    test_agreement(st, 201088, 3);
    test_split(st);
    test_distribution(st, 0);
    test_distribution(st, -1);
}
