/* forward_cpu.c: the CPU reference engine (engine.h). One token at a time, one
 * request at a time, fp32 KV cache; the matrix-vector products use both cores
 * through OpenMP inside ops_cpu.c. It exists to be obviously right: the GPU
 * engine's logits and tokens are checked against it, and it against HF
 * transformers (tests/hf_reference.py, tests/cpu/test_fixture.c).
 *
 * forward() below is the model of docs/MODEL.md §2, top to bottom. generate()
 * applies the getp contract (docs/MODEL.md §5): positions 0..steps-1 are fed; after every
 * position at or past the last prompt token a token is sampled with
 * u = rng_uniform(seed, index, k) for the k-th generated token (k from 0), so
 * a request yields at most steps - n_prompt + 1 ids and the result depends on
 * nothing but the request itself. Each id goes to the engine's on_token, each
 * finished request to its on_finish (engine.h), when they are set.
 */
#include "engine.h"
#include "ops_cpu.h" // cpu_rmsnorm, cpu_matvec, cpu_rope, cpu_attention, cpu_router_topk, cpu_expert_mlp
#include "sampler.h" // rng_uniform, sample_spec, sample_token, token_logprobs, logits_row_finite

#include <math.h>

typedef struct {
    const Model *m;
    float *inv_freq;     // (head_dim/2) RoPE table
    float concentration; // YaRN attention scaling, applied to q and k
    unsigned bf16;       // CPU_BF16_* points rounded to bf16 (0: exact fp32 reference)
} CpuEngine;

/* Round x[0..n) to bf16 values when `point` is emulated. */
static void emulate_bf16(const CpuEngine *ce, unsigned point, float *x, int n) {
    if (ce->bf16 & point) round_to_bf16(x, (size_t)n);
}

/* Activations and KV cache of one sequence of up to `cap` positions. */
typedef struct {
    int cap;
    float *k_cache;  // (L, cap, Dkv)
    float *v_cache;  // (L, cap, Dkv)
    float *x;        // (H) residual stream
    float *t;        // (H) normed input of a block
    float *qkv;      // (Dq + 2*Dkv)
    float *att;      // (Dq) attention output, heads concatenated
    float *h;        // (H) block output before the residual add
    float *router;   // (E) router logits
    float *y;        // (H) one expert's output
    float *sinks;    // (n_heads) the layer's sink logits as f32
    float *scratch;  // (3*I) expert MLP scratch
    int32_t *topk;   // (experts_per_token)
    float *topk_w;   // (experts_per_token)
} RunState;

static void build_run_state(RunState *s, const Config *c, int cap) {
    size_t kv = (size_t)c->n_layers * (size_t)cap * (size_t)cfg_kv_dim(c);
    s->cap = cap;
    s->k_cache = xcalloc(kv, sizeof(float));
    s->v_cache = xcalloc(kv, sizeof(float));
    s->x = xmalloc(sizeof(float) * (size_t)c->hidden);
    s->t = xmalloc(sizeof(float) * (size_t)c->hidden);
    s->qkv = xmalloc(sizeof(float) * (size_t)cfg_qkv_dim(c));
    s->att = xmalloc(sizeof(float) * (size_t)cfg_q_dim(c));
    s->h = xmalloc(sizeof(float) * (size_t)c->hidden);
    s->router = xmalloc(sizeof(float) * (size_t)c->n_experts);
    s->y = xmalloc(sizeof(float) * (size_t)c->hidden);
    s->sinks = xmalloc(sizeof(float) * (size_t)c->n_heads);
    s->scratch = xmalloc(sizeof(float) * 3 * (size_t)c->intermediate);
    s->topk = xmalloc(sizeof(int32_t) * (size_t)c->experts_per_token);
    s->topk_w = xmalloc(sizeof(float) * (size_t)c->experts_per_token);
}

static void free_run_state(RunState *s) {
    free(s->k_cache);
    free(s->v_cache);
    free(s->x);
    free(s->t);
    free(s->qkv);
    free(s->att);
    free(s->h);
    free(s->router);
    free(s->y);
    free(s->sinks);
    free(s->scratch);
    free(s->topk);
    free(s->topk_w);
}

/* One token at position pos (0 <= pos < s->cap, earlier positions already in
 * the cache). Writes the logits (V) when logits != NULL; prompt positions
 * whose logits nobody reads skip the unembedding. */
static void forward(const CpuEngine *ce, RunState *s, int32_t token, int pos, float *logits) {
    const Model *m = ce->m;
    const Config *c = &m->cfg;
    const int H = c->hidden, Dq = cfg_q_dim(c), Dkv = cfg_kv_dim(c), QKV = cfg_qkv_dim(c);

    tensor_row_f32(&m->embedding, token, H, s->x);

    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *lw = &m->layers[l];
        float *k_cache = s->k_cache + (size_t)l * s->cap * Dkv;
        float *v_cache = s->v_cache + (size_t)l * s->cap * Dkv;

        /* attention block */
        cpu_rmsnorm(s->t, s->x, &lw->attn_norm, H);
        emulate_bf16(ce, CPU_BF16_ATTN_IN, s->t, H);
        cpu_matvec(s->qkv, &lw->w_qkv, 0, &lw->b_qkv, 0, s->t, QKV, H);
        float *q = s->qkv, *k = s->qkv + Dq, *v = s->qkv + Dq + Dkv;
        cpu_rope(q, c->n_heads, c->head_dim, pos, ce->inv_freq, ce->concentration);
        cpu_rope(k, c->n_kv_heads, c->head_dim, pos, ce->inv_freq, ce->concentration);
        emulate_bf16(ce, CPU_BF16_KV, k, 2 * Dkv); // k and v are adjacent
        memcpy(k_cache + (size_t)pos * Dkv, k, sizeof(float) * Dkv);
        memcpy(v_cache + (size_t)pos * Dkv, v, sizeof(float) * Dkv);
        for (int h = 0; h < c->n_heads; h++) s->sinks[h] = tensor_get_f32(&lw->sinks, h);
        int window = cfg_layer_window(c, l);
        cpu_attention(s->att, q, k_cache, v_cache, pos, window, s->sinks, c);
        emulate_bf16(ce, CPU_BF16_ATT_OUT, s->att, Dq);
        cpu_matvec(s->h, &lw->w_o, 0, &lw->b_o, 0, s->att, H, Dq);
        for (int i = 0; i < H; i++) s->x[i] += s->h[i];

        /* MoE block */
        cpu_rmsnorm(s->t, s->x, &lw->mlp_norm, H);
        if (ce->bf16 & CPU_BF16_ROUTER_IN) { // the router's own copy of the input
            memcpy(s->y, s->t, sizeof(float) * H);
            emulate_bf16(ce, CPU_BF16_ROUTER_IN, s->y, H);
            cpu_matvec(s->router, &lw->w_gate, 0, &lw->b_gate, 0, s->y, c->n_experts, H);
        } else {
            cpu_matvec(s->router, &lw->w_gate, 0, &lw->b_gate, 0, s->t, c->n_experts, H);
        }
        emulate_bf16(ce, CPU_BF16_MLP_IN, s->t, H);
        cpu_router_topk(s->router, c->n_experts, c->experts_per_token, s->topk, s->topk_w);
        memset(s->h, 0, sizeof(float) * H);
        for (int j = 0; j < c->experts_per_token; j++) {
            cpu_expert_mlp(s->y, lw, s->topk[j], s->t, c, s->scratch,
                           (ce->bf16 & CPU_BF16_SWIGLU) != 0);
            for (int i = 0; i < H; i++) s->h[i] += s->topk_w[j] * s->y[i];
        }
        for (int i = 0; i < H; i++) s->x[i] += s->h[i];
    }

    if (!logits) return;
    cpu_rmsnorm(s->x, s->x, &m->final_norm, H);
    emulate_bf16(ce, CPU_BF16_HEAD_IN, s->x, H);
    cpu_matvec(logits, &m->unembedding, 0, NULL, 0, s->x, c->vocab_size, H);
}

static int token_ok(const Config *c, int32_t id) { return id >= 0 && id < c->vocab_size; }

static void generate_one(const Engine *e, const Request *r, Output *o, float *logits,
                         SampleScratch *ss) {
    const CpuEngine *ce = e->impl;
    const Config *c = &ce->m->cfg;
    const RequestParams *p = &r->p;
    if (!output_begin(o, r, c)) return;
    const SampleSpec sp = sample_spec(p->temperature, p->top_k, p->top_p, p->min_p);
    RunState s;
    build_run_state(&s, c, p->steps);
    int32_t token = r->prompt[0];
    for (int pos = 0; pos < p->steps; pos++) {
        int sampling = pos >= p->n_prompt - 1;
        forward(ce, &s, token, pos, sampling ? logits : NULL);
        if (!sampling) {
            token = r->prompt[pos + 1];
            continue;
        }
        int k = o->n_tokens;
        if (!logits_row_finite(logits, c->vocab_size)) {
            fprintf(stderr, "getp: request %lld: the model's logits at position %d are not finite (NaN or "
                            "Inf): the request is stopped as an error\n", (long long)p->index, pos);
            o->finish = FINISH_ERROR;
            o->n_tokens = 0;
            break;
        }
        double u = rng_uniform(p->seed, p->index, k);
        token = sample_token(logits, c->vocab_size, &sp, u, ss);
        if (o->logprobs)
            token_logprobs(logits, c->vocab_size, token, o->n_top, &o->logprobs[k],
                           o->top_ids + (size_t)k * o->n_top, o->top_logprobs + (size_t)k * o->n_top);
        o->tokens[o->n_tokens++] = token;
        if (e->on_token) e->on_token(e->on_token_ctx, p->index, token);
        if (request_is_stop(p, token)) {
            o->finish = FINISH_STOP;
            break;
        }
    }
    free_run_state(&s);
}

static int cpu_generate(Engine *e, const Request *reqs, int n, Output *outs, Err *err) {
    (void)err;
    const CpuEngine *ce = e->impl;
    const Config *c = &ce->m->cfg;
    float *logits = xmalloc(sizeof(float) * (size_t)c->vocab_size);
    SampleScratch ss;
    build_sample_scratch(&ss, c->vocab_size);
    for (int i = 0; i < n; i++) {
        generate_one(e, &reqs[i], &outs[i], logits, &ss);
        if (e->on_finish) e->on_finish(e->on_finish_ctx, &outs[i]);
    }
    free_sample_scratch(&ss);
    free(logits);
    return GETP_OK;
}

static int cpu_logits(Engine *e, const int32_t *tokens, int n, float *out, Err *err) {
    const CpuEngine *ce = e->impl;
    const Config *c = &ce->m->cfg;
    if (n < 1 || n > c->max_seq_len)
        return err_set(err, "logits: sequence length %d outside 1..%d", n, c->max_seq_len);
    for (int i = 0; i < n; i++)
        if (!token_ok(c, tokens[i]))
            return err_set(err, "logits: token %d at position %d outside the vocabulary", tokens[i],
                           i);
    RunState s;
    build_run_state(&s, c, n);
    for (int pos = 0; pos < n; pos++)
        forward(ce, &s, tokens[pos], pos, out + (size_t)pos * c->vocab_size);
    free_run_state(&s);
    return GETP_OK;
}

static void cpu_destroy(Engine *e) {
    if (!e) return;
    CpuEngine *ce = e->impl;
    if (ce) free(ce->inv_freq);
    free(ce);
    free(e);
}

Engine *engine_cpu_create(const Model *m, Err *err) { return engine_cpu_create_emulated(m, 0, err); }

Engine *engine_cpu_create_emulated(const Model *m, unsigned points, Err *err) {
    if (!m || !m->layers) {
        err_set(err, "cpu engine: no model");
        return NULL;
    }
    const Config *c = &m->cfg;
    if (c->head_dim % 2 != 0 || c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads != 0) {
        err_set(err, "cpu engine: head_dim %d / heads %d / kv heads %d unsupported", c->head_dim,
                c->n_heads, c->n_kv_heads);
        return NULL;
    }
    CpuEngine *ce = xcalloc(1, sizeof *ce);
    ce->m = m;
    ce->bf16 = points & CPU_BF16_ALL;
    ce->inv_freq = xmalloc(sizeof(float) * (size_t)(c->head_dim / 2));
    model_rope_table(c, ce->inv_freq, &ce->concentration);
    Engine *e = xcalloc(1, sizeof *e);
    e->name = "cpu";
    e->generate = cpu_generate;
    e->logits = cpu_logits;
    e->destroy = cpu_destroy;
    e->impl = ce;
    return e;
}
