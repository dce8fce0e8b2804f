/* test_sampler.c: sampler.h. Greedy ties, the counter-based uniform (range,
 * reproducibility, mean), the top-p distribution against the truncated and
 * renormalized probabilities, and top-p edge cases. */
#include "sampler.h"
#include "test_util.h"

static void test_argmax(void) {
    float x[6] = {1, 4, 2, 4, -1, 4};
    EXPECT(argmax_f32(x, 6) == 1, "argmax ties to the lower id");
    SampleScratch s;
    build_sample_scratch(&s, 6);
    EXPECT(sample_token(x, 6, 0.0f, 1.0f, 0.99, &s) == 1, "greedy T=0 ties");
    EXPECT(sample_token(x, 6, -1.0f, 0.5f, 0.5, &s) == 1, "greedy T<0");
    float y[3] = {-INFINITY, -5, -INFINITY};
    EXPECT(argmax_f32(y, 3) == 1, "argmax with -inf");
    free_sample_scratch(&s);
}

static void test_rng(void) {
    EXPECT(rng_uniform(42, 7, 3) == rng_uniform(42, 7, 3), "rng reproducible");
    EXPECT(rng_uniform(42, 7, 3) != rng_uniform(42, 7, 4), "rng depends on step");
    EXPECT(rng_uniform(42, 7, 3) != rng_uniform(42, 8, 3), "rng depends on index");
    EXPECT(rng_uniform(42, 7, 3) != rng_uniform(43, 7, 3), "rng depends on seed");
    const int N = 100000;
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    int in_range = 1, buckets[10] = {0};
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(1234, i % 17, i / 17);
        in_range &= u >= 0.0 && u < 1.0;
        sum += u;
        sum2 += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
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
    printf("rng: mean %.5f var %.5f min %.2e max %.6f\n", mean, var, lo, hi);
}

static void test_top_p_distribution(void) {
    /* logits chosen so that softmax(l/T) has a known shape; T = 0.7 */
    enum { V = 8 };
    float logits[V] = {1.0f, 2.5f, 0.3f, 2.5f, -1.0f, 1.7f, 0.0f, -3.0f};
    float T = 0.7f;
    SampleScratch s;
    build_sample_scratch(&s, V);
    for (int variant = 0; variant < 3; variant++) {
        float top_p = variant == 0 ? 1.0f : variant == 1 ? 0.8f : 0.5f;
        /* expected: probabilities, sorted by (prob desc, id asc), shortest prefix reaching top_p */
        double p[V], z = 0;
        for (int i = 0; i < V; i++) z += (p[i] = exp((double)logits[i] / T));
        for (int i = 0; i < V; i++) p[i] /= z;
        int order[V];
        for (int i = 0; i < V; i++) order[i] = i;
        for (int i = 0; i < V; i++)
            for (int j = i + 1; j < V; j++)
                if (p[order[j]] > p[order[i]] || (p[order[j]] == p[order[i]] && order[j] < order[i])) {
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
        double want[V] = {0}, kept = 0;
        for (int j = 0; j < V; j++) {
            kept += p[order[j]];
            want[order[j]] = p[order[j]];
            if (top_p < 1.0f && kept >= top_p) break;
        }
        for (int i = 0; i < V; i++) want[i] /= kept;

        const int N = 100000;
        int count[V] = {0};
        for (int k = 0; k < N; k++) count[sample_token(logits, V, T, top_p, rng_uniform(99, 5, k), &s)]++;
        int ok = 1;
        for (int i = 0; i < V; i++) {
            double sd = sqrt(N * want[i] * (1 - want[i])) + 1e-9;
            double zscore = fabs(count[i] - N * want[i]) / sd;
            if (want[i] == 0) ok &= count[i] == 0;
            else ok &= zscore < 5;
        }
        EXPECT(ok, "top_p %.2f: frequencies off", top_p);
        printf("top_p %.2f:", top_p);
        for (int i = 0; i < V; i++) printf(" %d:%.4f/%.4f", i, count[i] / (double)N, want[i]);
        printf("\n");
    }
    /* tiny top_p keeps only the argmax (the lower id of the tie at 2.5) */
    int always = 1;
    for (int k = 0; k < 1000; k++)
        always &= sample_token(logits, V, 1.5f, 1e-6f, rng_uniform(1, 2, k), &s) == 1;
    EXPECT(always, "top_p tiny -> argmax");
    always = 1;
    for (int k = 0; k < 100; k++) always &= sample_token(logits, V, 1.0f, 0.0f, rng_uniform(1, 3, k), &s) == 1;
    EXPECT(always, "top_p 0 -> argmax");
    /* u at the extremes stays inside the kept set */
    EXPECT(sample_token(logits, V, 1.0f, 0.5f, 0.0, &s) == 1, "u = 0 picks the first kept id");
    int last = sample_token(logits, V, 1.0f, 1.0f, 0x1.fffffffffffffp-1, &s);
    EXPECT(last == 7, "u -> 1 picks the last id, got %d", last);
    free_sample_scratch(&s);
}

static void test_large_vocab(void) {
    /* a realistic vocabulary: runs, picks a valid id, greedy-consistent at T -> 0+ */
    int V = 201088;
    float *l = xmalloc(sizeof(float) * V);
    for (int i = 0; i < V; i++) l[i] = rng_normal() * 3;
    l[12345] = 40.0f;
    SampleScratch s;
    build_sample_scratch(&s, V);
    int id = sample_token(l, V, 1e-3f, 0.9f, 0.7, &s);
    EXPECT(id == 12345, "low temperature picks the dominant id, got %d", id);
    id = sample_token(l, V, 1.0f, 0.95f, 0.3, &s);
    EXPECT(id == 12345, "dominant id with top_p, got %d", id);
    l[12345] = 0.0f;
    id = sample_token(l, V, 1.0f, 0.9f, 0.3, &s);
    EXPECT(id >= 0 && id < V, "id in range");
    free_sample_scratch(&s);
    free(l);
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
    test_top_p_distribution();
    test_large_vocab();
    return test_finish();
}
