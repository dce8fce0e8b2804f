/* engine_gpu_forward.hip: one token-major step of the forward pass (SPEC 2)
 * on the GPU, top to bottom like the model. The host has put the step's
 * token list in a.h_meta: tok | slot | pos for T tokens, then the S rows that
 * sample. That one small copy goes up, the sampled ids come down; nothing
 * else crosses and nothing is allocated here.
 *
 * Every op is row-independent (GEMMs with a fixed K order, per-row norms,
 * per-token attention), so a sequence's logits do not depend on what else
 * shares its step.
 *
 * Precise mode (GpuOptions.precise, ops_gpu.h): the *_lo buffers are set, the
 * bf16 activations are pairs hi + lo, each GEMM runs on both parts, mlp1's
 * SwiGLU moves out of the GEMM epilogue (it needs the whole sum), and the LM
 * head writes logits for its argmax. The fast mode passes NULL lo parts.
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"
#include "matmul.h"  // matmul_bf16_bf16w, matmul_argmax_bf16_bf16w
#include "moe.h"     // moe_sort, moe_mlp1_swiglu, moe_mlp2, moe_combine
#include "ops_gpu.h" // embed, rmsnorm, rope, attention, router, argmax
#include "ops_cpu.h" // MODEL_RMS_EPS

/* GETP_PROFILE: mark the end of a segment of phase ph (no-op when off). */
static inline void prof_mark(GpuEngine *g, int ph) {
    GpuProfile *p = &g->prof;
    if (!p->on || p->n >= GPU_PROF_MAX_MARKS) return;
    GPU_CHECK(hipEventRecord(p->ev[p->n], g->stream));
    p->ph[p->n++] = (signed char)ph;
}

void gpu_profile_init(GpuProfile *p) {
    memset(p, 0, sizeof *p);
    const char *env = getenv("GETP_PROFILE");
    p->on = env && *env && strcmp(env, "0") != 0;
    if (p->on)
        for (int i = 0; i < GPU_PROF_MAX_MARKS; i++) GPU_CHECK(hipEventCreate(&p->ev[i]));
}

/* After the step's last mark: add each segment to its phase. */
static void prof_collect(GpuEngine *g, int T, int S, double t0) {
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

static void attention_block(GpuEngine *g, int l, int T) {
    const Config *c = &g->m->cfg;
    const GpuLayer *w = &g->w.layers[l];
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int H = c->hidden, Dq = cfg_q_dim(c), QKV = cfg_qkv_dim(c);
    const int32_t *slot = a->meta + a->T_max, *pos = a->meta + 2 * a->T_max;
    const int window = cfg_layer_window(c, l);
    rmsnorm_f32_bf16out(a->t, a->t_lo, a->x, w->attn_norm, NULL, T, H, MODEL_RMS_EPS, st);
    prof_mark(g, PH_OTHER);
    matmul_pair_bf16_bf16w(a->qkv, a->t, a->t_lo, w->w_qkv, w->b_qkv, NULL, T, QKV, H, st);
    prof_mark(g, PH_DENSE);
    rope_qkv_kvwrite(a->q, a->qkv, g->kv.layers[l], slot, pos, g->w.inv_freq, g->w.concentration,
                     T, c->n_heads, c->n_kv_heads, c->head_dim, st);
    attention_f32q_bf16kv(a->att, a->att_lo, a->q, g->kv.layers[l], slot, pos, w->sinks, window,
                          T, c->n_heads, c->n_kv_heads, c->head_dim, st);
    prof_mark(g, PH_ATTN);
    // x += W_o att + b_o
    matmul_pair_bf16_bf16w(a->x, a->att, a->att_lo, w->w_o, w->b_o, a->x, T, H, Dq, st);
    prof_mark(g, PH_DENSE);
}

static void moe_block(GpuEngine *g, int l, int T) {
    const Config *c = &g->m->cfg;
    const GpuLayer *w = &g->w.layers[l];
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int H = c->hidden, E = c->n_experts, k = c->experts_per_token, I = c->intermediate;
    rmsnorm_f32_bf16out(a->t, a->t_lo, a->x, w->mlp_norm, NULL, T, H, MODEL_RMS_EPS, st);
    prof_mark(g, PH_OTHER);
    matmul_pair_bf16_bf16w(a->glog, a->t, a->t_lo, w->w_gate, w->b_gate, NULL, T, E, H, st);
    prof_mark(g, PH_DENSE);
    router_topk_f32(a->topk_ids, a->topk_w, a->glog, T, E, k, st);
    moe_sort(a->topk_ids, T, k, E, a->offsets, a->sorted, a->counts, st);
    prof_mark(g, PH_ROUTE);
    if (a->t_lo) {
        for (int part = 0; part < 2; part++)
            moe_mlp1_linear(a->y1, part ? a->t_lo : a->t, &w->w1, w->b1, a->offsets, a->sorted,
                            T, k, E, H, I, part, st);
        moe_swiglu_split(a->h, a->h_lo, a->y1, T * k, I, c->swiglu_limit, st);
    } else {
        moe_mlp1_swiglu(a->h, a->t, &w->w1, w->b1, a->offsets, a->sorted, T, k, E, H, I,
                        c->swiglu_limit, st);
    }
    prof_mark(g, PH_MLP1);
    for (int part = 0; part < (a->h_lo ? 2 : 1); part++)
        moe_mlp2(a->ypair, part ? a->h_lo : a->h, &w->w2, w->b2, a->offsets, a->sorted, T, k, E,
                 H, I, part, st);
    prof_mark(g, PH_MLP2);
    moe_combine(a->x, a->ypair, a->topk_w, T, k, H, st);
    prof_mark(g, PH_COMBINE);
}

void gpu_forward_step(GpuEngine *g, int T, int S, int greedy, int logits) {
    const Config *c = &g->m->cfg;
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    CHECK(T >= 1 && T <= a->T_max && S >= 0 && S <= a->S_max && logits >= 0 && logits <= S &&
          logits <= a->L_max && (!a->ts_lo || S <= a->L_max));
    const double t0 = g->prof.on ? now_seconds() : 0.0;
    prof_mark(g, PH_OTHER);
    /* token list up: tok, slot, pos (T_max apart) and the sampling rows */
    GPU_CHECK(hipMemcpyAsync(a->meta, a->h_meta, sizeof(int32_t) * (size_t)(3 * a->T_max + S),
                             hipMemcpyHostToDevice, st));
    embed_bf16w_f32out(a->x, g->w.emb, a->meta, T, c->hidden, st);
    for (int l = 0; l < c->n_layers; l++) {
        attention_block(g, l, T);
        moe_block(g, l, T);
    }
    if (S > 0) {
        const int32_t *rows = a->meta + 3 * a->T_max;
        rmsnorm_f32_bf16out(a->ts, a->ts_lo, a->x, g->w.final_norm, rows, S, c->hidden,
                            MODEL_RMS_EPS, st);
        if (a->ts_lo) { // precise: logits of every row (L_max = S_max), argmax from them
            matmul_pair_bf16_bf16w(a->logits, a->ts, a->ts_lo, g->w.unemb, NULL, NULL, S,
                                   c->vocab_size, c->hidden, st);
            if (greedy) argmax_rows_f32(a->ids, a->logits, S, c->vocab_size, st);
        } else {
            if (greedy)
                matmul_argmax_bf16_bf16w(a->ids, a->ts, g->w.unemb, S, c->vocab_size, c->hidden,
                                         st);
            if (logits > 0) // the first `logits` rows (row-independent: same bits as over all S)
                matmul_bf16_bf16w(a->logits, a->ts, g->w.unemb, NULL, NULL, logits,
                                  c->vocab_size, c->hidden, st);
        }
        if (greedy)
            GPU_CHECK(hipMemcpyAsync(a->h_ids, a->ids, sizeof(int32_t) * (size_t)S,
                                     hipMemcpyDeviceToHost, st));
        prof_mark(g, PH_HEAD);
    }
    /* Always wait: the host rewrites h_meta for the next step right after. */
    GPU_CHECK(hipStreamSynchronize(st));
    prof_collect(g, T, S, t0);
}
