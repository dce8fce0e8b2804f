/* engine_gpu_forward.hip: one token-major step of the forward pass (docs/MODEL.md
 * §2) on the GPU, top to bottom like the model. The host has put the step's
 * token list in a.h_meta: tok | slot | pos for T tokens, then the S rows that
 * sample. That one small copy goes up, the sampled ids come down; nothing
 * else crosses and nothing is allocated here.
 *
 * Every op is row-independent (GEMMs with a fixed K order, per-row norms,
 * per-token attention), so a sequence's logits do not depend on what else
 * shares its step.
 *
 * Graphs: forward_layers (meta up to the final norm) runs through
 * gpu_graph_forward (engine_gpu_graph.hip): for T <= GPU_GRAPH_MAX_T tokens a
 * (T, S) seen before is replayed as one GPU graph instead of ~290 launches.
 * Off with GETP_PROFILE (its events sit between the phases) and with
 * GETP_NO_GRAPH=1 (GpuOptions.no_graph; the same bits either way). So nothing
 * forward_layers launches may depend on host data other than (T, S) and
 * pointers fixed until gpu_prepare reallocates (engine_gpu_graph.hip lists
 * what was checked). The head and the sampler stay outside the graph.
 *
 * Precise mode (GpuOptions.precise, kernels.h): the *_lo buffers are set, the
 * bf16 activations are pairs hi + lo, each GEMM runs on both parts, mlp1's
 * SwiGLU moves out of the GEMM epilogue (it needs the whole sum), and the LM
 * head writes logits for its argmax. The fast mode passes NULL lo parts.
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"
#include "kernels.h" // every launcher

/* Layer l > 0 finds its input norm done: the previous layer's combine
 * wrote it (moe_block). */
static void attention_block(GpuEngine *g, int l, int T) {
    const Config *c = &g->m->cfg;
    const GpuLayer *w = &g->w.layers[l];
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int H = c->hidden, Dq = cfg_q_dim(c), QKV = cfg_qkv_dim(c);
    const int32_t *slot = a->meta + a->T_max, *pos = a->meta + 2 * a->T_max;
    if (l == 0) rmsnorm_f32_bf16out(a->t, a->t_lo, a->x, w->attn_norm, NULL, T, H, MODEL_RMS_EPS, st);
    gpu_profile_mark(g, PH_OTHER);
    matmul_pair_bf16_bf16w(a->qkv, a->t, a->t_lo, w->w_qkv, w->b_qkv, NULL, T, QKV, H, st);
    gpu_profile_mark(g, PH_DENSE);
    const StepTokens tok = {slot, pos, T};
    const RopeArgs ra = {a->q, a->qkv, g->kv.layers[l], tok, g->w.inv_freq, g->w.concentration,
                         c->n_heads, c->n_kv_heads, c->head_dim};
    rope_qkv_kvwrite(&ra, st);
    const AttnArgs aa = {a->att, a->att_lo, a->q, g->kv.layers[l], tok, w->sinks,
                         cfg_layer_window(c, l), c->n_heads, c->n_kv_heads, c->head_dim};
    attention_f32q_bf16kv(&aa, st);
    gpu_profile_mark(g, PH_ATTN);
    // x += W_o att + b_o
    matmul_pair_bf16_bf16w(a->x, a->att, a->att_lo, w->w_o, w->b_o, a->x, T, H, Dq, st);
    gpu_profile_mark(g, PH_DENSE);
}

static void moe_block(GpuEngine *g, int l, int T) {
    const Config *c = &g->m->cfg;
    const GpuLayer *w = &g->w.layers[l];
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int H = c->hidden, E = c->n_experts, k = c->experts_per_token, I = c->intermediate;
    rmsnorm_f32_bf16out(a->t, a->t_lo, a->x, w->mlp_norm, NULL, T, H, MODEL_RMS_EPS, st);
    gpu_profile_mark(g, PH_OTHER);
    matmul_pair_bf16_bf16w(a->glog, a->t, a->t_lo, w->w_gate, w->b_gate, NULL, T, E, H, st);
    gpu_profile_mark(g, PH_DENSE);
    route_topk_sort(a->topk_ids, a->topk_w, a->glog, T, E, k, a->offsets, a->sorted, a->counts, st);
    gpu_profile_mark(g, PH_ROUTE);
    /* mlp1: (T*k pairs) x (2I) from t by token; mlp2: x (H) from h by sorted position */
    MoeArgs m1 = {a->t, w->w1, w->b1, a->offsets, a->sorted, a->h, NULL, T, k, E, 2 * I, H,
                  c->swiglu_limit, NULL, 0};
    MoeArgs m2 = {a->h, w->w2, w->b2, a->offsets, a->sorted, NULL, a->ypair, T, k, E, H, I,
                  0.0f, NULL, 0};
    if (a->t_lo) { // precise: both parts of t into y1, then the SwiGLU to h + h_lo
        m1.h = NULL;
        m1.y1 = a->y1;
        moe_mlp1_linear(&m1, st);
        m1.act = a->t_lo;
        m1.acc = 1;
        moe_mlp1_linear(&m1, st);
        moe_swiglu_split(a->h, a->h_lo, a->y1, T * k, I, c->swiglu_limit, st);
    } else {
        moe_mlp1_swiglu(&m1, st);
    }
    gpu_profile_mark(g, PH_MLP1);
    moe_mlp2(&m2, st);
    if (a->h_lo) {
        m2.act = a->h_lo;
        m2.acc = 1;
        moe_mlp2(&m2, st);
    }
    gpu_profile_mark(g, PH_MLP2);
    /* x += the experts' outputs; then, but for the last layer, the next
     * layer's input norm in the same launch */
    if (l + 1 < c->n_layers)
        combine_rmsnorm_f32_bf16out(a->x, a->ypair, a->topk_w, k, a->t, a->t_lo,
                                    g->w.layers[l + 1].attn_norm, T, H, MODEL_RMS_EPS, st);
    else
        moe_combine(a->x, a->ypair, a->topk_w, T, k, H, st);
    gpu_profile_mark(g, PH_COMBINE);
}

/* Meta up (tok, slot, pos T_max apart, then the S sampling rows), embedding,
 * every layer, the final norm of the S sampling rows into a->ts. Run through
 * gpu_graph_forward: launches only, whose choices depend on (T, S) alone. */
static void forward_layers(GpuEngine *g, int T, int S) {
    const Config *c = &g->m->cfg;
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    gpu_profile_mark(g, PH_OTHER);
    /* In a graph this copy is a memcpy node that reads the pinned h_meta when
     * the graph runs, not when it was captured: right, because the host writes
     * h_meta before it launches the step, and every step ends with a stream
     * synchronize (gpu_forward_step, gpu_forward_logits) before the host
     * writes h_meta again. The size depends on T_max (fixed until gpu_prepare
     * reallocates, which destroys the graphs) and S (part of the key). */
    GPU_CHECK(hipMemcpyAsync(a->meta, a->h_meta, sizeof(int32_t) * (size_t)(3 * a->T_max + S),
                             hipMemcpyHostToDevice, st));
    embed_bf16w_f32out(a->x, g->w.emb, a->meta, T, c->hidden, st);
    for (int l = 0; l < c->n_layers; l++) {
        attention_block(g, l, T);
        moe_block(g, l, T);
    }
    if (S > 0)
        rmsnorm_f32_bf16out(a->ts, a->ts_lo, a->x, g->w.final_norm, a->meta + 3 * a->T_max, S,
                            c->hidden, MODEL_RMS_EPS, st);
}

/* logits of sampling rows [r0, r0 + n) into a->logits rows [r0, r0 + n). */
static void head_logits(GpuEngine *g, int r0, int n) {
    const Config *c = &g->m->cfg;
    GpuActs *a = &g->a;
    const size_t H = c->hidden, V = c->vocab_size;
    if (n > 0)
        matmul_pair_bf16_bf16w(a->logits + (size_t)r0 * V, a->ts + (size_t)r0 * H,
                               a->ts_lo ? a->ts_lo + (size_t)r0 * H : NULL, g->w.unemb, NULL, NULL,
                               n, c->vocab_size, c->hidden, g->stream);
}

void gpu_forward_step(GpuEngine *g, int T, int S, int R) {
    const Config *c = &g->m->cfg;
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int V = c->vocab_size;
    CHECK(T >= 1 && T <= a->T_max && S >= 0 && S <= a->S_max && R >= 0 && R <= S && R <= a->L_max &&
          (!a->ts_lo || S <= a->L_max));
    const double t0 = g->prof.on ? now_seconds() : 0.0;
    gpu_graph_forward(g, T, S, forward_layers);
    if (S > 0) {
        /* rows 0..R-1: logits, then the sampler; one small record each comes back */
        if (R > 0) {
            head_logits(g, 0, R);
            GPU_CHECK(hipMemcpyAsync(a->srow, a->h_srow, sizeof(SampleRow) * (size_t)R,
                                     hipMemcpyHostToDevice, st));
            sample_rows_f32(a->sout, a->logits, a->srow, R, V, st);
            GPU_CHECK(hipMemcpyAsync(a->h_sout, a->sout, sizeof(SampleOut) * (size_t)R,
                                     hipMemcpyDeviceToHost, st));
        }
        /* rows R..S-1 are greedy: the unembedding fused with argmax (precise mode:
         * from logits, its argmax needs the whole sum); rows are independent, so a
         * row's id is the same whichever rows share the launch */
        const int G = S - R;
        if (G > 0) {
            if (a->ts_lo) {
                head_logits(g, R, G);
                argmax_rows_f32(a->ids + R, a->logits + (size_t)R * V, G, V, st);
            } else {
                matmul_argmax_bf16_bf16w(a->ids + R, a->ts + (size_t)R * c->hidden, g->w.unemb, G, V,
                                         c->hidden, st);
            }
            GPU_CHECK(hipMemcpyAsync(a->h_ids + R, a->ids + R, sizeof(int32_t) * (size_t)G,
                                     hipMemcpyDeviceToHost, st));
        }
        gpu_profile_mark(g, PH_HEAD);
    }
    /* Always wait: the host rewrites h_meta for the next step right after (the
     * graph's meta copy reads it when it runs). */
    GPU_CHECK(hipStreamSynchronize(st));
    gpu_profile_collect(g, T, S, t0);
}

void gpu_forward_logits(GpuEngine *g, int T) {
    GpuActs *a = &g->a;
    CHECK(T >= 1 && T <= a->T_max && T <= a->S_max && T <= a->L_max);
    const double t0 = g->prof.on ? now_seconds() : 0.0;
    gpu_graph_forward(g, T, T, forward_layers);
    head_logits(g, 0, T);
    gpu_profile_mark(g, PH_HEAD);
    GPU_CHECK(hipStreamSynchronize(g->stream));
    gpu_profile_collect(g, T, T, t0);
}
