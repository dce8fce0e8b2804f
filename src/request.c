/* request.c: the request contract of engine.h, one copy for both engines
 * (forward_cpu.c, gpu/engine_gpu_generate.hip) and the readers that build
 * requests (docs/MODEL.md "The batch contract"). */
#include "engine.h"

void request_params_default(RequestParams *p) {
    memset(p, 0, sizeof *p);
    p->top_p = 1.0f;
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
    o->tokens = xmalloc(sizeof(int32_t) * (size_t)(p->steps - p->n_prompt + 1));
    return 1;
}

void output_free(Output *o) {
    if (!o) return;
    free(o->tokens);
    o->tokens = NULL;
    o->n_tokens = 0;
}
