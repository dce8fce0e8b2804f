/* engine_gpu_forward.hip: one token-major step of the forward pass (SPEC 2)
 * on the GPU, top to bottom like the model. The host has put the step's
 * token list in a.h_meta: tok | slot | pos for T tokens, then the S rows that
 * sample. That one small copy goes up, the sampled ids come down; nothing
 * else crosses and nothing is allocated here.
 *
 * Every op is row-independent (GEMMs with a fixed K order, per-row norms,
 * per-token attention), so a sequence's logits do not depend on what else
 * shares its step.
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"
#include "matmul.h"  // matmul_bf16_bf16w, matmul_argmax_bf16_bf16w
#include "moe.h"     // moe_sort, moe_mlp1_swiglu, moe_mlp2, moe_combine
#include "ops_gpu.h" // embed, rmsnorm, rope, attention, router, argmax
#include "ops_cpu.h" // GETP_RMS_EPS

static void attention_block(GpuEngine *g, int l, int T) {
    const Config *c = &g->m->cfg;
    const GpuLayer *w = &g->w.layers[l];
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int H = c->hidden, Dq = cfg_q_dim(c), QKV = cfg_qkv_dim(c);
    const int32_t *slot = a->meta + a->T_max, *pos = a->meta + 2 * a->T_max;
    const int window = (l % 2 == 0) ? c->sliding_window : 0; // even layers slide
    rmsnorm_f32_bf16out(a->t, a->x, w->attn_norm, NULL, T, H, GETP_RMS_EPS, st);
    matmul_bf16_bf16w(a->qkv, a->t, w->w_qkv, w->b_qkv, NULL, T, QKV, H, st);
    rope_qkv_kvwrite(a->q, a->qkv, g->kv.layers[l], slot, pos, g->w.inv_freq, g->w.concentration,
                     T, c->n_heads, c->n_kv_heads, c->head_dim, st);
    attention_f32q_bf16kv(a->att, a->q, g->kv.layers[l], slot, pos, w->sinks, window, T,
                          c->n_heads, c->n_kv_heads, c->head_dim, st);
    matmul_bf16_bf16w(a->x, a->att, w->w_o, w->b_o, a->x, T, H, Dq, st); // x += W_o att + b_o
}

static void moe_block(GpuEngine *g, int l, int T) {
    const Config *c = &g->m->cfg;
    const GpuLayer *w = &g->w.layers[l];
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    const int H = c->hidden, E = c->n_experts, k = c->experts_per_token, I = c->intermediate;
    rmsnorm_f32_bf16out(a->t, a->x, w->mlp_norm, NULL, T, H, GETP_RMS_EPS, st);
    matmul_bf16_bf16w(a->glog, a->t, w->w_gate, w->b_gate, NULL, T, E, H, st);
    router_topk_f32(a->topk_ids, a->topk_w, a->glog, T, E, k, st);
    moe_sort(a->topk_ids, T, k, E, a->offsets, a->sorted, a->counts, st);
    moe_mlp1_swiglu(a->h, a->t, &w->w1, w->b1, a->offsets, a->sorted, T, k, E, H, I,
                    c->swiglu_limit, st);
    moe_mlp2(a->ypair, a->h, &w->w2, w->b2, a->offsets, a->sorted, T, k, E, H, I, st);
    moe_combine(a->x, a->ypair, a->topk_w, T, k, H, st);
}

void gpu_forward_step(GpuEngine *g, int T, int S, int greedy, int logits) {
    const Config *c = &g->m->cfg;
    GpuActs *a = &g->a;
    hipStream_t st = g->stream;
    CHECK(T >= 1 && T <= a->T_max && S >= 0 && S <= a->S_max);
    /* token list up: tok, slot, pos (T_max apart) and the sampling rows */
    GPU_CHECK(hipMemcpyAsync(a->meta, a->h_meta, sizeof(int32_t) * (size_t)(3 * a->T_max + S),
                             hipMemcpyHostToDevice, st));
    embed_bf16w_f32out(a->x, g->w.emb, a->meta, T, c->hidden, st);
    for (int l = 0; l < c->n_layers; l++) {
        attention_block(g, l, T);
        moe_block(g, l, T);
    }
    if (S == 0) return;
    const int32_t *rows = a->meta + 3 * a->T_max;
    rmsnorm_f32_bf16out(a->ts, a->x, g->w.final_norm, rows, S, c->hidden, GETP_RMS_EPS, st);
    if (greedy) {
        matmul_argmax_bf16_bf16w(a->ids, a->ts, g->w.unemb, S, c->vocab_size, c->hidden, st);
        GPU_CHECK(hipMemcpyAsync(a->h_ids, a->ids, sizeof(int32_t) * (size_t)S,
                                 hipMemcpyDeviceToHost, st));
    }
    if (logits)
        matmul_bf16_bf16w(a->logits, a->ts, g->w.unemb, NULL, NULL, S, c->vocab_size, c->hidden, st);
    GPU_CHECK(hipStreamSynchronize(st));
}
