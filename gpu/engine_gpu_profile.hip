/* engine_gpu_profile.hip: GETP_PROFILE=1: events between the phases of every
 * step (gpu_profile_mark after each phase of engine_gpu_forward.hip), summed
 * per phase and printed to stderr when the engine is destroyed. Off: one
 * branch per phase boundary, nothing recorded. */
#include "engine_gpu_internal.h"
#include "gpu_check.h"

void gpu_profile_mark(GpuEngine *g, int ph) {
    GpuProfile *p = &g->prof;
    if (!p->on || p->n >= GPU_PROF_MAX_MARKS) return;
    GPU_CHECK(hipEventRecord(p->ev[p->n], g->stream));
    p->ph[p->n++] = (signed char)ph;
}

void gpu_profile_init(GpuProfile *p) {
    memset(p, 0, sizeof *p);
    p->on = env_flag("GETP_PROFILE");
    if (p->on)
        for (int i = 0; i < GPU_PROF_MAX_MARKS; i++) GPU_CHECK(hipEventCreate(&p->ev[i]));
}

/* After the step's last mark: add each segment to its phase. */
void gpu_profile_collect(GpuEngine *g, int T, int S, double t0) {
    GpuProfile *p = &g->prof;
    if (!p->on) return;
    GPU_CHECK(hipEventSynchronize(p->ev[p->n - 1]));
    for (int i = 1; i < p->n; i++) {
        float ms = 0.0f;
        GPU_CHECK(hipEventElapsedTime(&ms, p->ev[i - 1], p->ev[i]));
        p->ms[(int)p->ph[i]] += ms;
    }
    p->host_s += now_seconds() - t0;
    p->steps++;
    p->tokens += T;
    p->samples += S;
    p->n = 0;
}

void gpu_profile_report(GpuProfile *p, FILE *out) {
    if (!p->on || p->steps == 0) return;
    static const char *name[PH_N] = {"other (embed, norms, copies)", "attention (rope, kv, attn)",
                                     "dense GEMMs (qkv, o, gate)", "moe route (topk, sort)",
                                     "moe mlp1 (+swiglu)", "moe mlp2", "moe combine",
                                     "lm head (norm, unembed, argmax)"};
    double gpu = 0.0;
    for (int i = 0; i < PH_N; i++) gpu += p->ms[i];
    const double n = (double)p->steps;
    fprintf(out, "profile: %ld steps, %.1f tokens/step, %.1f sampled/step, wall %.3f ms/step, "
            "GPU %.3f ms/step (%.1f%% of wall)\n", p->steps, p->tokens / n, p->samples / n,
            1e3 * p->host_s / n, gpu / n, gpu > 0 ? 100.0 * gpu / (1e3 * p->host_s) : 0.0);
    for (int i = 0; i < PH_N; i++)
        fprintf(out, "profile: %-32s %9.3f ms/step %5.1f%%\n", name[i], p->ms[i] / n,
                gpu > 0 ? 100.0 * p->ms[i] / gpu : 0.0);
    for (int i = 0; i < GPU_PROF_MAX_MARKS; i++) GPU_CHECK(hipEventDestroy(p->ev[i]));
    p->on = 0;
}
