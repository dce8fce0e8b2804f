/* bench_sample.cu: playground for the sampler (gpu/kernels/sample.hip): ms per
 * call at R rows of V = 201,088 model-like logits (a bulk of spread 2.5 and
 * 100 leading ids up to ~12 above it: 16 distinct rows, repeated), for each
 * setting of the sampled bench and a few more, by the default path (the split
 * path for filtered rows) and by one block per row (the path before it). The
 * two must give the same ids ("VALID", else "MISMATCH"); "fast" counts the
 * rows the split path decided. Median of 20 calls after 3 warm-ups; at R = 1
 * and 64 the rows stay in L2, as in the engine, where the LM head has just
 * written them. Env BENCH_R: comma list of R (default 1, 64, 1024).
 * Build: bench/device.sh playground:sample. */
#include "../../gpu/kernels/sample.hip"
#include "bench_util.h"

struct Setting {
    const char *name;
    float T, top_p, min_p;
    int top_k;
};

static SampleRow row_for(const Setting &s, double u) {
    SampleRow r;
    r.inv_t = s.T > 0.0f ? 1.0f / s.T : 0.0f; // as sampler.c's sample_spec
    r.top_k = s.top_k > 0 ? s.top_k : 0;
    r.top_p = s.top_p < 1.0f ? s.top_p : 1.0f;
    r.min_x = s.min_p > 0.0f ? (s.min_p >= 1.0f ? 0.0f : logf(s.min_p)) : -INFINITY;
    r.u = u;
    r.n_top = -1;
    r.pad_ = 0;
    return r;
}

int main() {
    const int V = 201088, DISTINCT = 16;
    const Setting sets[] = {
        {"t1p1", 1.0f, 1.0f, 0.0f, 0},           {"t07k50p95", 0.7f, 0.95f, 0.0f, 50},
        {"t1p09", 1.0f, 0.9f, 0.0f, 0},          {"t1minp005", 1.0f, 1.0f, 0.05f, 0},
        {"t06k40p08mp01", 0.6f, 0.8f, 0.1f, 40}, {"t1k50", 1.0f, 1.0f, 0.0f, 50},
    };
    std::vector<int> Rs = bu_env_list("BENCH_R", {1, 64, 1024});
    int R_max = 1;
    for (int R : Rs) R_max = R > R_max ? R : R_max;
    std::vector<float> base((size_t)DISTINCT * V);
    for (int d = 0; d < DISTINCT; d++) {
        float *l = &base[(size_t)d * V];
        for (int i = 0; i < V; i++) // ~normal, spread 2.5
            l[i] = 2.5f * 0.866f * (bu_uniform() + bu_uniform() + bu_uniform() + bu_uniform());
        for (int j = 0; j < 100; j++) {
            const float a = 0.5f + 0.5f * bu_uniform();
            l[bu_u32() % V] = 4.0f + 12.0f * a * a * a;
        }
    }
    std::vector<float> logits((size_t)R_max * V);
    for (int r = 0; r < R_max; r++)
        memcpy(&logits[(size_t)r * V], &base[(size_t)(r % DISTINCT) * V], sizeof(float) * V);
    float *d_l = bu_dev(logits);
    SampleRow *d_rows;
    SampleOut *d_out;
    GPU_CHECK(hipMalloc((void **)&d_rows, sizeof(SampleRow) * R_max));
    GPU_CHECK(hipMalloc((void **)&d_out, sizeof(SampleOut) * R_max));
    printf("sampler playground: V = %d, %d distinct model-like rows\n", V, DISTINCT);
    for (int R : Rs)
        for (const Setting &s : sets) {
            std::vector<SampleRow> rows(R);
            for (int r = 0; r < R; r++) rows[r] = row_for(s, (bu_u32() & 0xffffff) / 16777216.0);
            GPU_CHECK(hipMemcpy(d_rows, rows.data(), sizeof(SampleRow) * R, hipMemcpyHostToDevice));
            int fast = 0;
            sample_rows_f32_split(d_out, d_l, d_rows, R, V, 0, &fast, 0);
            std::vector<SampleOut> a = bu_host(d_out, R);
            sample_rows_f32_split(d_out, d_l, d_rows, R, V, -1, NULL, 0);
            std::vector<SampleOut> b = bu_host(d_out, R);
            int diff = 0;
            for (int r = 0; r < R; r++) diff += a[r].id != b[r].id || a[r].id < 0;
            const float t_new = bu_time([&](int) { sample_rows_f32(d_out, d_l, d_rows, R, V, 0); }, 3, 20);
            const float t_old =
                bu_time([&](int) { sample_rows_f32_split(d_out, d_l, d_rows, R, V, -1, NULL, 0); }, 3, 20);
            printf("sample R=%4d %-14s default %8.4f ms  one-block %8.4f ms  (%.1fx)  fast %4d/%4d  %s\n", R,
                   s.name, t_new, t_old, t_old / t_new, fast, R, diff ? "MISMATCH" : "VALID");
        }
    GPU_CHECK(hipFree(d_l));
    GPU_CHECK(hipFree(d_rows));
    GPU_CHECK(hipFree(d_out));
    return 0;
}
