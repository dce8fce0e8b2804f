/* test_sampler.c: sampler.h against the definition (docs/MODEL.md "Sampling").
 *  - greedy ties, the counter-based uniform (range, reproducibility, mean);
 *  - sampler_exp against libm's exp in double;
 *  - for each filter (none, top_k, top_p, min_p, all three) on fresh random
 *    logits: the draws of 10^6 uniforms follow the probabilities the
 *    definition gives, computed here independently in double (softmax of
 *    logits / T, ids sorted by probability, the filters in their order):
 *    ids outside the kept set are never drawn, and a chi-square test of the
 *    counts passes at p > 0.001 (the kept set is taken from the double
 *    definition; logits are drawn apart enough that fp32 masses cannot
 *    change it);
 *  - edge cases: top_k = 1, top_p tiny or 0, min_p = 1, u = 0 and u -> 1;
 *  - logprobs against log-softmax in double, top ids in order, ties.
 */
#include "sampler.h"
#include "sampler_math.h"
#include "test_util.h"

#include <math.h>
#include <time.h>

static void test_argmax(void) {
    float x[6] = {1, 4, 2, 4, -1, 4};
    EXPECT(argmax_f32(x, 6) == 1, "argmax ties to the lower id");
    SampleScratch s;
    build_sample_scratch(&s, 6);
    SampleSpec g0 = sample_spec(0.0f, 0, 1.0f, 0.0f), gn = sample_spec(-1.0f, 3, 0.5f, 0.1f);
    EXPECT(sample_token(x, 6, &g0, 0.99, &s) == 1, "greedy T=0 ties");
    EXPECT(sample_token(x, 6, &gn, 0.5, &s) == 1, "greedy T<0");
    float y[3] = {-INFINITY, -5, -INFINITY};
    EXPECT(argmax_f32(y, 3) == 1, "argmax with -inf");
    float z[3] = {NAN, -5, 2};
    EXPECT(argmax_f32(z, 3) == 2, "NaN never wins");
    free_sample_scratch(&s);
}

static void test_rng(void) {
    EXPECT(rng_uniform(42, 7, 3) == rng_uniform(42, 7, 3), "rng reproducible");
    EXPECT(rng_uniform(42, 7, 3) != rng_uniform(42, 7, 4), "rng depends on step");
    EXPECT(rng_uniform(42, 7, 3) != rng_uniform(42, 8, 3), "rng depends on index");
    EXPECT(rng_uniform(42, 7, 3) != rng_uniform(43, 7, 3), "rng depends on seed");
    const int N = 100000;
    double sum = 0, sum2 = 0;
    int in_range = 1, buckets[10] = {0};
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(1234, i % 17, i / 17);
        in_range &= u >= 0.0 && u < 1.0;
        sum += u;
        sum2 += u * u;
        buckets[(int)(u * 10)]++;
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    EXPECT(in_range, "rng in [0,1)");
    /* mean of N uniforms: sd = sqrt(1/12/N) = 9.1e-4; allow 5 sd */
    EXPECT(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / N), "rng mean %.5f", mean);
    EXPECT(fabs(var - 1.0 / 12) < 0.002, "rng variance %.5f", var);
    int buckets_ok = 1;
    for (int b = 0; b < 10; b++) buckets_ok &= abs(buckets[b] - N / 10) < 5 * 95; // sd = sqrt(N*.1*.9)
    EXPECT(buckets_ok, "rng deciles uneven");
}

/* sampler_exp: relative error against exp in double over (-32, 0] (the
 * polynomial's truncation is ~1e-8; fp32 rounding of x * log2(e) costs up to
 * |x| * 2^-24 relative, 2e-6 at x = -32). */
static void test_exp(void) {
    double worst = 0;
    for (int i = 0; i < 320000; i++) { // x in (-32, 0]
        const float x = -32.0f * (float)i / 320000.0f;
        const double ref = exp((double)x), got = sampler_exp(x);
        const double rel = fabs(got - ref) / ref;
        if (rel > worst) worst = rel;
    }
    EXPECT(worst < 3e-6, "sampler_exp relative error %.3g", worst);
    EXPECT(sampler_exp(0.0f) == 1.0f && sampler_mass(0.0f) == SAMPLER_ONE, "exp(0) = 1 exactly");
    EXPECT(sampler_exp(-40.0f) == 0.0f && sampler_exp(NAN) == 0.0f && sampler_exp(-INFINITY) == 0.0f,
           "exp tails");
    printf("sampler_exp: worst relative error %.3g on (-32, 0]\n", worst);
}

static void test_distribution(void) {
    enum { V = 12 };
    const int N = 1000000;
    struct { const char *name; float T; int k; float p, mp; } cases[] = {
        {"no filter", 1.0f, 0, 1.0f, 0.0f},  {"top_k 5", 0.8f, 5, 1.0f, 0.0f},
        {"top_p 0.7", 1.2f, 0, 0.7f, 0.0f},  {"min_p 0.2", 1.0f, 0, 1.0f, 0.2f},
        {"top_k 8, top_p 0.9, min_p 0.05", 0.7f, 8, 0.9f, 0.05f},
    };
    SampleScratch s;
    build_sample_scratch(&s, V);
    const uint64_t seed = 0x5A11ull ^ (uint64_t)time(NULL); // fresh logits every run
    rng_seed(seed);
    printf("distribution: logits seed %llu\n", (unsigned long long)seed);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float l[V];
        /* distinct values 0.15 apart in a random order: the definition's kept set
         * cannot move by fp32 rounding */
        for (int i = 0; i < V; i++) l[i] = 0.15f * (float)i;
        for (int i = V - 1; i > 0; i--) {
            int j = (int)(rng_unit() * (i + 1));
            float t = l[i];
            l[i] = l[j];
            l[j] = t;
        }
        for (int i = 0; i < V; i++) l[i] += rng_sym(0.02f);
        double want[V];
        sample_probs_reference(l, V, cases[c].T, cases[c].k, cases[c].p, cases[c].mp, want);
        const SampleSpec sp = sample_spec(cases[c].T, cases[c].k, cases[c].p, cases[c].mp);
        long count[V] = {0};
        for (int d = 0; d < N; d++) count[sample_token(l, V, &sp, rng_uniform(777, (int64_t)c, d), &s)]++;
        double chi2 = 0;
        int df = -1, outside = 0;
        for (int i = 0; i < V; i++) {
            if (want[i] == 0) {
                outside += count[i] != 0;
                continue;
            }
            const double e = N * want[i];
            chi2 += (count[i] - e) * (count[i] - e) / e;
            df++;
        }
        const double pv = chi2_upper_p(chi2, df);
        EXPECT(!outside, "%s: an id outside the kept set was drawn", cases[c].name);
        EXPECT(pv > 0.001, "%s: chi-square %.1f (df %d), p = %.2g", cases[c].name, chi2, df, pv);
        printf("distribution %-32s kept %2d ids, chi-square %6.2f df %2d p = %.3f\n", cases[c].name,
               df + 1, chi2, df, pv);
    }
    free_sample_scratch(&s);
}

static void test_edges(void) {
    enum { V = 8 };
    float l[V] = {1.0f, 2.5f, 0.3f, 2.5f, -1.0f, 1.7f, 0.0f, -3.0f};
    SampleScratch s;
    build_sample_scratch(&s, V);
    int ok = 1;
    SampleSpec k1 = sample_spec(1.5f, 1, 1.0f, 0.0f), ptiny = sample_spec(1.5f, 0, 1e-6f, 0.0f);
    SampleSpec p0 = sample_spec(1.0f, 0, 0.0f, 0.0f), m1 = sample_spec(1.0f, 0, 1.0f, 1.0f);
    for (int k = 0; k < 1000; k++) {
        const double u = rng_uniform(1, 2, k);
        ok &= sample_token(l, V, &k1, u, &s) == 1 && sample_token(l, V, &ptiny, u, &s) == 1 &&
              sample_token(l, V, &p0, u, &s) == 1;
    }
    EXPECT(ok, "top_k 1 / top_p tiny / top_p 0 keep only the first id of the order");
    int seen1 = 0, seen3 = 0, other = 0;
    for (int k = 0; k < 1000; k++) {
        const int id = sample_token(l, V, &m1, rng_uniform(1, 4, k), &s);
        seen1 += id == 1, seen3 += id == 3, other += id != 1 && id != 3;
    }
    EXPECT(seen1 > 400 && seen3 > 400 && !other, "min_p 1 keeps both tied maxima (%d, %d, %d)", seen1,
           seen3, other);
    SampleSpec tp = sample_spec(1.0f, 0, 0.5f, 0.0f), all = sample_spec(1.0f, 0, 1.0f, 0.0f);
    EXPECT(sample_token(l, V, &tp, 0.0, &s) == 1, "u = 0 picks the first kept id in id order");
    const int last = sample_token(l, V, &all, 0x1.fffffffffffffp-1, &s);
    EXPECT(last == 7, "u -> 1 picks the last id, got %d", last);
    /* top_k with ties at its boundary keeps the lower ids */
    float t[6] = {3, 1, 3, 3, 0, 3};
    SampleSpec k2 = sample_spec(1.0f, 2, 1.0f, 0.0f);
    int bad = 0;
    for (int k = 0; k < 2000; k++) {
        const int id = sample_token(t, 6, &k2, rng_uniform(5, 5, k), &s);
        bad += id != 0 && id != 2;
    }
    EXPECT(!bad, "top_k 2 among four tied maxima keeps ids 0 and 2");
    free_sample_scratch(&s);
}

static void test_large_vocab(void) {
    int V = 201088;
    float *l = xmalloc(sizeof(float) * V);
    for (int i = 0; i < V; i++) l[i] = rng_normal() * 3;
    l[12345] = 40.0f;
    SampleScratch s;
    build_sample_scratch(&s, V);
    SampleSpec cold = sample_spec(1e-3f, 0, 0.9f, 0.0f), warm = sample_spec(1.0f, 0, 0.95f, 0.0f);
    EXPECT(sample_token(l, V, &cold, 0.7, &s) == 12345, "low temperature picks the dominant id");
    EXPECT(sample_token(l, V, &warm, 0.3, &s) == 12345, "dominant id with top_p");
    l[12345] = 0.0f;
    SampleSpec k50 = sample_spec(0.7f, 50, 0.95f, 0.05f);
    const int id = sample_token(l, V, &k50, 0.3, &s);
    int rank = 0;
    for (int i = 0; i < V; i++) rank += l[i] > l[id];
    EXPECT(rank < 50, "top_k 50 draws one of the 50 largest, rank %d", rank);
    free_sample_scratch(&s);
    free(l);
}

static void test_logprobs(void) {
    enum { V = 1000 };
    float l[V];
    for (int i = 0; i < V; i++) l[i] = rng_normal() * 2;
    l[17] = l[900] = 9.0f; // a tie at the top: 17 first
    double m = -INFINITY, z = 0;
    for (int i = 0; i < V; i++) m = fmax(m, l[i]);
    for (int i = 0; i < V; i++) z += exp((double)l[i] - m);
    float lp, tlp[5];
    int32_t tid[5];
    token_logprobs(l, V, 42, 5, &lp, tid, tlp);
    EXPECT(fabs(lp - ((double)l[42] - m - log(z))) < 1e-5, "logprob of the chosen id");
    EXPECT(tid[0] == 17 && tid[1] == 900, "top ids: ties to the lower id (%d %d)", tid[0], tid[1]);
    int ordered = 1;
    for (int j = 1; j < 5; j++) ordered &= l[tid[j]] <= l[tid[j - 1]] && tlp[j] <= tlp[j - 1];
    for (int i = 0; i < V; i++) ordered &= i == tid[0] || i == tid[1] || i == tid[2] || i == tid[3] ||
                                           i == tid[4] || l[i] <= l[tid[4]];
    EXPECT(ordered, "top logprobs are the five largest, in order");
    EXPECT(fabs(tlp[0] - ((double)l[17] - m - log(z))) < 1e-5, "top logprob value");
}

/* logits_row_finite (issue 17, F5): one NaN or Inf anywhere in a row, in
 * the vectorized body or the tail, makes the row non-finite. */
static void test_finite(void) {
    enum { N = 1003 };
    float *x = xmalloc(N * sizeof *x);
    for (int i = 0; i < N; i++) x[i] = (float)(i % 17) * 1e30f - 3e30f;
    EXPECT(logits_row_finite(x, N), "a finite row (values near 1e31)");
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const int at[] = {0, 7, 8, 500, 999, 1000, 1002};
    int caught = 0;
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 7; k++) {
            float keep = x[at[k]];
            x[at[k]] = bad[b];
            caught += !logits_row_finite(x, N);
            x[at[k]] = keep;
        }
    EXPECT(caught == 21, "NaN / +Inf / -Inf at 7 places: %d of 21 caught", caught);
    float big[2] = {3.4e38f, 3.4e38f};
    EXPECT(logits_row_finite(big, 2), "two values near FLT_MAX are finite");
    EXPECT(logits_row_finite(x, 0), "an empty row");
    free(x);
}

int main(void) {
    test_finite();
    test_argmax();
    test_rng();
    test_exp();
    test_distribution();
    test_edges();
    test_large_vocab();
    test_logprobs();
    return test_finish();
}
