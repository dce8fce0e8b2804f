/* request.c: the request contract of engine.h, one copy for both engines
 * (forward_cpu.c, gpu/engine_gpu_generate.hip) and the readers that build
 * requests (docs/MODEL.md "The batch contract"). */
#include "engine.h"

void request_params_default(RequestParams *p) {
    memset(p, 0, sizeof *p);
    p->top_p = 1.0f;
    p->logprobs = -1;
    p->n_stop = 2;
    p->stop[0] = GETP_TOKEN_ENDOFTEXT;
    p->stop[1] = GETP_TOKEN_RETURN;
}

int32_t steps_bound(int64_t steps_option, const Config *c) {
    if (steps_option <= 0 || steps_option > c->max_seq_len) return c->max_seq_len;
    return (int32_t)steps_option;
}

const char *request_problem(const Config *c, const Request *r) {
    const RequestParams *p = &r->p;
    if (p->n_prompt < 0) return "negative prompt length";
    if (p->steps < 1 || p->steps > c->max_seq_len) return "steps outside 1..max_seq_len";
    if (p->n_prompt > p->steps) return "prompt longer than steps";
    if (p->n_stop < 0 || p->n_stop > GETP_MAX_STOP) return "bad number of stop ids";
    if (p->logprobs < -1 || p->logprobs > GETP_MAX_TOP_LOGPROBS) return "bad number of top logprobs";
    if (p->n_prompt > 0 && !r->prompt) return "missing prompt";
    for (int i = 0; i < p->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= c->vocab_size)
            return "prompt token id outside the vocabulary";
    return NULL;
}

int request_is_stop(const RequestParams *p, int32_t id) {
    for (int i = 0; i < p->n_stop; i++)
        if (p->stop[i] == id) return 1;
    return 0;
}

int output_begin(Output *o, const Request *r, const Config *c) {
    const RequestParams *p = &r->p;
    memset(o, 0, sizeof *o);
    o->index = p->index;
    o->finish = FINISH_LENGTH;
    const char *problem = request_problem(c, r);
    if (problem) {
        fprintf(stderr, "getp: request %lld: %s (n_prompt %d, steps %d)\n", (long long)p->index,
                problem, p->n_prompt, p->steps);
        o->finish = FINISH_ERROR;
        return 0;
    }
    if (p->n_prompt == 0) return 0; // nothing to continue: FINISH_LENGTH, no tokens
    const size_t n_max = (size_t)(p->steps - p->n_prompt + 1);
    o->tokens = xmalloc(sizeof(int32_t) * n_max);
    if (p->logprobs >= 0) {
        o->n_top = p->logprobs;
        o->logprobs = xmalloc(sizeof(float) * n_max);
        o->top_ids = xmalloc(sizeof(int32_t) * (n_max * (size_t)o->n_top + 1));
        o->top_logprobs = xmalloc(sizeof(float) * (n_max * (size_t)o->n_top + 1));
    }
    return 1;
}

void output_free(Output *o) {
    if (!o) return;
    free(o->tokens);
    free(o->logprobs);
    free(o->top_ids);
    free(o->top_logprobs);
    o->tokens = NULL;
    o->logprobs = NULL;
    o->top_ids = NULL;
    o->top_logprobs = NULL;
    o->n_tokens = 0;
    o->n_top = 0;
}
