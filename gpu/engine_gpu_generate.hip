/* engine_gpu_generate.hip: Engine.generate on the GPU: continuous batching
 * over B slots with the getp contract of docs/MODEL.md §5 (as forward_cpu.c applies it
 * one request at a time).
 *
 * Each step's token list is built on the host: first one token for every
 * decoding slot (its last sampled id at position fed), then prefill chunks
 * (<= chunk prompt tokens per slot, gpu_prefill_budget(B) in all) for slots still
 * reading their prompt. A slot samples when the step feeds its position
 * n_prompt-1 or later; a finished slot takes the next request at once. The
 * result of a request depends on nothing but the request: every kernel is
 * row-independent and the sampling stream is rng_uniform(seed, index, k).
 * Sampling and logprobs run on the GPU (sample.hip): one record per row
 * comes back, never a row of logits.
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"
#include "sampler.h" // rng_uniform, sample_spec

static_assert(SAMPLE_MAX_TOP == GETP_MAX_TOP_LOGPROBS, "one bound on top logprobs");

typedef struct {
    int req;      // request index, -1 = free
    int fed;      // positions fed so far
    int32_t last; // last sampled id (fed next, at position fed)
} Slot;

/* Fill outs, validate; returns the number of requests that will run and the
 * longest steps among them. */
static int init_outputs(const Config *c, const Request *reqs, int n, Output *outs, int *cap) {
    int runnable = 0;
    *cap = 1;
    for (int i = 0; i < n; i++) {
        if (!output_begin(&outs[i], &reqs[i], c)) continue;
        if (reqs[i].p.steps > *cap) *cap = reqs[i].p.steps;
        runnable++;
    }
    return runnable;
}

static int pick_batch(GpuEngine *g, int runnable, int cap, int sampled, Err *err) {
    int B = g->opt.batch_size;
    if (B <= 0) {
        size_t free_b = 0, total_b = 0;
        GPU_CHECK(hipMemGetInfo(&free_b, &total_b));
        const size_t reserve = (size_t)1 << 30; // runtime, fragmentation
        /* the most prefill rows any batch takes: the batch is what is sized here */
        const size_t fixed = gpu_act_bytes(&g->m->cfg, GPU_PREFILL_MAX, 0, 0, g->opt.precise) + reserve;
        /* logits row: non-greedy only (precise mode: every row, its argmax reads logits) */
        const size_t per = gpu_bytes_per_slot(g, cap, sampled > 0 || g->opt.precise);
        B = free_b > fixed ? (int)((free_b - fixed) / per) : 0;
        if (B > GPU_MAX_SLOTS) B = GPU_MAX_SLOTS;
        if (B < 1) {
            err_set(err, "gpu: not enough memory for one sequence of %d positions", cap);
            return -1;
        }
        /* Every slot the memory holds, the waves not balanced: a step's time
         * grows more slowly than its rows (the weights are read once a step),
         * so for a fixed count of waves full waves and one short tail cost
         * less than equal waves (bench/RESULTS.md: 120b io1k, 1,024 requests,
         * run 94: 768 + 256 beat 2 x 512 by 3.3% in one call; run 96: this
         * choice, 966 + 58, by 6.3%). */
    }
    return B < runnable ? B : runnable;
}

/* A request whose rows need the sampler kernel (logits): it samples, or wants logprobs. */
static int needs_sampler(const RequestParams *p) { return p->temperature > 0.0f || p->logprobs >= 0; }

/* Host side of a step: token list into h_meta. Returns T; *S sampling rows, the
 * ones that need the sampler first (*R of them). */
static int build_step(GpuEngine *g, const Request *reqs, Slot *sl, int B, int *S, int *R,
                      int *chunk_n, int *samp_slot) {
    GpuActs *a = &g->a;
    int T = 0;
    *S = 0;
    int budget = gpu_prefill_budget(B);
    for (int pass = 0; pass < 2; pass++) // pass 0: decoding slots, pass 1: prefill
        for (int b = 0; b < B; b++) {
            chunk_n[b] = pass == 0 ? 0 : chunk_n[b];
            if (sl[b].req < 0) continue;
            const RequestParams *p = &reqs[sl[b].req].p;
            const int decoding = sl[b].fed >= p->n_prompt;
            if (decoding != (pass == 0)) continue;
            int n = 1;
            if (!decoding) {
                n = p->n_prompt - sl[b].fed;
                if (n > g->chunk) n = g->chunk;
                if (n > budget) n = budget;
                if (n <= 0) continue;
                budget -= n;
            }
            for (int j = 0; j < n; j++) {
                const int pos = sl[b].fed + j;
                a->h_meta[T] = decoding ? sl[b].last : reqs[sl[b].req].prompt[pos];
                a->h_meta[a->T_max + T] = b;
                a->h_meta[2 * a->T_max + T] = pos;
                T++;
            }
            chunk_n[b] = n;
            if (sl[b].fed + n >= p->n_prompt) { // feeds a position >= n_prompt - 1
                a->h_meta[3 * a->T_max + *S] = T - 1;
                samp_slot[(*S)++] = b;
            }
        }
    /* Stable partition: rows that need the sampler first (rows are independent). */
    int *rows = a->h_meta + 3 * a->T_max;
    *R = 0;
    for (int s = 0; s < *S; s++) {
        if (!needs_sampler(&reqs[sl[samp_slot[s]].req].p)) continue;
        const int row = rows[s], slot = samp_slot[s];
        for (int u = s; u > *R; u--) {
            rows[u] = rows[u - 1];
            samp_slot[u] = samp_slot[u - 1];
        }
        rows[*R] = row;
        samp_slot[(*R)++] = slot;
    }
    return T;
}

/* Admit requests into free slots; returns the number of busy slots. */
static int admit(Slot *sl, int B, const Output *outs, int n, int *next) {
    int busy = 0;
    for (int b = 0; b < B; b++) {
        while (sl[b].req < 0 && *next < n) {
            const int r = (*next)++;
            if (outs[r].tokens) { // runnable (see init_outputs)
                sl[b].req = r;
                sl[b].fed = 0;
            }
        }
        busy += sl[b].req >= 0;
    }
    return busy;
}

/* The sampler settings of the first R sampling rows (uniform of step k =
 * the request's k-th generated token), into h_srow. */
static void fill_sampler_rows(GpuEngine *g, const Request *reqs, const Output *outs, const Slot *sl,
                              const int *samp_slot, int R) {
    for (int s = 0; s < R; s++) {
        const int r = sl[samp_slot[s]].req;
        const RequestParams *p = &reqs[r].p;
        const SampleSpec sp = sample_spec(p->temperature, p->top_k, p->top_p, p->min_p);
        SampleRow *row = &g->a.h_srow[s];
        row->inv_t = sp.inv_t;
        row->top_k = sp.top_k;
        row->top_p = sp.top_p;
        row->min_x = sp.min_x;
        row->u = rng_uniform(p->seed, p->index, outs[r].n_tokens);
        row->n_top = p->logprobs;
        row->pad_ = 0;
    }
}

/* After a step: advance positions, take the chosen ids (and logprobs), retire
 * finished slots; a retired request's final output goes to e->on_finish. */
static void finish_step(Engine *e, GpuEngine *g, const Request *reqs, Output *outs, Slot *sl, int B,
                        const int *chunk_n, const int *samp_slot, int S, int R) {
    for (int b = 0; b < B; b++) sl[b].fed += chunk_n[b];
    for (int s = 0; s < S; s++) {
        Slot *x = &sl[samp_slot[s]];
        const RequestParams *p = &reqs[x->req].p;
        Output *o = &outs[x->req];
        const SampleOut *so = s < R ? &g->a.h_sout[s] : NULL;
        const int32_t tok = so ? so->id : g->a.h_ids[s];
        if (tok < 0) { // the logits held a NaN or an infinity: no token, as the CPU engine
            fprintf(stderr, "getp: request %lld: the model's logits at position %d are not finite (NaN or "
                            "Inf): the request is stopped as an error\n", (long long)p->index, x->fed - 1);
            o->finish = FINISH_ERROR;
            o->n_tokens = 0;
            if (e->on_finish) e->on_finish(e->on_finish_ctx, o);
            x->req = -1;
            continue;
        }
        if (o->logprobs) {
            const int k = o->n_tokens, nt = o->n_top;
            o->logprobs[k] = so->logprob;
            for (int j = 0; j < nt; j++) {
                o->top_ids[(size_t)k * nt + j] = so->top_ids[j];
                o->top_logprobs[(size_t)k * nt + j] = so->top_lps[j];
            }
        }
        o->tokens[o->n_tokens++] = tok;
        if (e->on_token) e->on_token(e->on_token_ctx, p->index, tok);
        x->last = tok;
        if (request_is_stop(p, tok)) o->finish = FINISH_STOP;
        else if (x->fed < p->steps) continue;
        else o->finish = FINISH_LENGTH;
        if (e->on_finish) e->on_finish(e->on_finish_ctx, o);
        x->req = -1; // done: the slot takes the next request
    }
}

int gpu_generate(Engine *e, const Request *reqs, int n, Output *outs, Err *err) {
    GpuEngine *g = (GpuEngine *)e->impl;
    const Config *c = &g->m->cfg;
    GPU_CHECK(hipSetDevice(g->opt.device));
    int cap = 1;
    const int runnable = init_outputs(c, reqs, n, outs, &cap);
    if (e->on_finish) // requests that cannot run are final already
        for (int i = 0; i < n; i++)
            if (!outs[i].tokens) e->on_finish(e->on_finish_ctx, &outs[i]);
    if (runnable == 0) return GETP_OK;
    int sampled = 0; // runnable requests whose rows need the sampler kernel
    for (int i = 0; i < n; i++) sampled += outs[i].tokens && needs_sampler(&reqs[i].p);
    const int B = pick_batch(g, runnable, cap, sampled, err);
    const int S_max = B > g->chunk ? B : g->chunk;
    /* A logits row only for the rows that need one: at most B slots sample at once
     * (precise mode: every sampling row, greedy ones included: their argmax reads
     * logits). */
    const int L_max = g->opt.precise ? S_max : sampled < B ? sampled : B;
    if (B < 0 || gpu_prepare(g, B, cap, B + gpu_prefill_budget(B), S_max, L_max, err) != GETP_OK) {
        for (int i = 0; i < n; i++) output_free(&outs[i]);
        return GETP_ERR;
    }
    if (g->opt.verbose) {
        size_t free_b = 0, total_b = 0;
        GPU_CHECK(hipMemGetInfo(&free_b, &total_b));
        fprintf(stderr, "getp: gpu %d: %d requests, batch %d, cap %d positions, KV + activations "
                "%.2f GB, GPU memory in use %.2f of %.2f GB\n", g->opt.device, runnable, B, cap,
                gpu_bytes_per_slot(g, cap, L_max > 0) * (double)B / 1e9, (total_b - free_b) / 1e9,
                total_b / 1e9);
    }
    Slot *sl = (Slot *)xmalloc(sizeof(Slot) * (size_t)B);
    int *chunk_n = (int *)xcalloc((size_t)B, sizeof(int));
    int *samp_slot = (int *)xcalloc((size_t)B, sizeof(int));
    for (int b = 0; b < B; b++) sl[b].req = -1;
    int next = 0;
    while (admit(sl, B, outs, n, &next) > 0) {
        int S = 0, R = 0;
        const int T = build_step(g, reqs, sl, B, &S, &R, chunk_n, samp_slot);
        fill_sampler_rows(g, reqs, outs, sl, samp_slot, R);
        gpu_forward_step(g, T, S, R);
        finish_step(e, g, reqs, outs, sl, B, chunk_n, samp_slot, S, R);
    }
    free(sl);
    free(chunk_n);
    free(samp_slot);
    return GETP_OK;
}
