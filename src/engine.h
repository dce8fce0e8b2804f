/* engine.h: the backend-neutral inference engine interface.
 *
 * A rank hands its engine a set of requests (prompt ids + per-request
 * parameters) and gets back the generated ids. The CPU reference engine
 * (forward_cpu.c) and the GPU engine (gpu/) implement the same vtable, so
 * getp_run.cpp and the MPI layer never know which backend runs.
 *
 * RequestParams is plain old data of fixed size: the MPI layer sends arrays of
 * it as bytes.
 */
#ifndef GETP_ENGINE_H
#define GETP_ENGINE_H

#include "common.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GETP_MAX_STOP 8
#define GETP_TOKEN_ENDOFTEXT 199999
#define GETP_TOKEN_RETURN 200002

#define GETP_MAX_TOP_LOGPROBS 20

/* Sampling (docs/MODEL.md "Sampling"): temperature, then top_k, top_p, min_p,
 * then one draw with the request's own uniform number. */
typedef struct {
    int64_t index;      // position of the request in the input; keys its RNG stream
    int32_t n_prompt;   // prompt length in tokens
    int32_t steps;      // position bound, resolved (1..max_seq_len); yields <= steps-n_prompt+1 ids
    float temperature;  // 0 = greedy
    float top_p;        // in (0,1]; 1 = no truncation
    int32_t top_k;      // keep the top_k most probable ids; <= 0 = off
    float min_p;        // keep ids with p >= min_p * p_max; 0 = off
    int32_t logprobs;   // -1: none; 0..GETP_MAX_TOP_LOGPROBS: the chosen id's logprob and
                        // this many most probable alternatives per generated token
    uint64_t seed;      // sampling seed (stream = f(seed, index))
    int32_t n_stop;     // number of stop ids in stop[] (0 = run to the step limit)
    int32_t stop[GETP_MAX_STOP];
} RequestParams;

typedef struct {
    RequestParams p;
    const int32_t *prompt; // (n_prompt) token ids
} Request;

typedef enum {
    FINISH_NONE = 0,
    FINISH_STOP = 1,   // emitted a stop id (it is the last output token)
    FINISH_LENGTH = 2, // reached the step limit
    FINISH_ERROR = 3,  // request could not run (message in the output's error text)
} FinishReason;

typedef struct {
    int64_t index;     // copied from the request
    int32_t *tokens;   // (n_tokens) generated ids, malloc'ed, owned by the caller after generate
    int32_t n_tokens;
    int32_t finish;    // FinishReason
    /* When the request asked for logprobs (p.logprobs >= 0), else NULL / 0:
     * log-softmax of the model's logits (temperature 1, no filter). */
    int32_t n_top;         // alternatives per token (= p.logprobs)
    float *logprobs;       // (n_tokens) of the chosen id
    int32_t *top_ids;      // (n_tokens, n_top) most probable ids, most probable first (ties: lower id)
    float *top_logprobs;   // (n_tokens, n_top) theirs
} Output;

/* ---- the request contract (request.c), written once for both engines ---- */

/* Fill p with the defaults of the course contract: greedy, stop on
 * <|endoftext|> and <|return|>. */
void request_params_default(RequestParams *p);

/* The position bound of a run (docs/MODEL.md "The batch contract"): -n N means
 * N, and 0 or more than the model's context means the model's context. */
int32_t steps_bound(int64_t steps_option, const Config *c);

/* NULL if the request can run on a model of config c, else what is wrong with
 * it (a short phrase). */
const char *request_problem(const Config *c, const Request *r);

/* 1 if id is one of the request's stop ids. */
int request_is_stop(const RequestParams *p, int32_t id);

/* Start the output of request r: index copied, no tokens, FINISH_LENGTH. A
 * request with a problem gets FINISH_ERROR (the problem goes to stderr, one
 * line); an empty prompt has nothing to continue. Returns 1 if the request
 * will generate, with room for its steps - n_prompt + 1 ids (and their
 * logprobs, when asked for) allocated. */
int output_begin(Output *o, const Request *r, const Config *c);

typedef struct Engine Engine;
struct Engine {
    const char *name;
    /* Run n requests to completion. outs[i] answers reqs[i]. Results do not
     * depend on n, on the order of reqs, or on which other requests share the
     * call. Returns GETP_ERR only for engine failures (not for a bad request,
     * which gets FINISH_ERROR). */
    int (*generate)(Engine *e, const Request *reqs, int n, Output *outs, Err *err);
    /* Teacher-forced logits at every position of one sequence: out is (n, V) fp32. */
    int (*logits)(Engine *e, const int32_t *tokens, int n, float *out, Err *err);
    void (*destroy)(Engine *e);
    /* Optional: called with each id as it is generated (generate mode streams
     * text through it). NULL = off. */
    void (*on_token)(void *ctx, int64_t index, int32_t token);
    void *on_token_ctx;
    /* Optional: called once for every request of a generate call when its
     * output is final (finish set, every id and logprob in place), before
     * generate returns, in the order requests finish; requests that cannot
     * run (FINISH_ERROR, empty prompt) too. The getp flow journals the output
     * and counts progress here. Like on_token, on the thread that called
     * generate. NULL = off. */
    void (*on_finish)(void *ctx, const Output *o);
    void *on_finish_ctx;
    void *impl;
};

/* The CPU reference engine (fp32 arithmetic, OpenMP). The model must outlive it. */
Engine *engine_cpu_create(const Model *m, Err *err);

/* Where the GPU engine rounds values to bf16 (gpu/engine_gpu_forward.hip):
 * the inputs of its GEMMs (the router's too) and the KV cache. Everything else is
 * fp32-grade (fp32 accumulation; attention's q and p as hi+lo bf16 pairs). */
enum {
    CPU_BF16_ATTN_IN = 1 << 0, // attention norm output, input of the QKV projection
    CPU_BF16_KV = 1 << 1,      // K (after RoPE) and V in the cache
    CPU_BF16_ATT_OUT = 1 << 2, // attention output, input of the output projection
    CPU_BF16_MLP_IN = 1 << 3,  // MoE norm output, input of the experts' first GEMM
    CPU_BF16_SWIGLU = 1 << 4,  // SwiGLU output, input of the second expert GEMM
    CPU_BF16_HEAD_IN = 1 << 5, // final norm output, input of the unembedding
    CPU_BF16_ROUTER_IN = 1 << 6, // MoE norm output, input of the router
    CPU_BF16_ALL = (1 << 7) - 1
};

/* The CPU engine with the GPU's bf16 roundings emulated at the points in
 * `points` (0 = engine_cpu_create). Not a reference: a measuring tool that
 * splits the GPU-vs-fp32 logit error into its sources (tools/precision_budget). */
Engine *engine_cpu_create_emulated(const Model *m, unsigned points, Err *err);

/* Agreement of logits l with reference logits ref (n rows of V): rows whose
 * argmax is the reference's (agree), rows whose argmax is the reference's or
 * a near-tie of it, within 4x the row's RMS error (agree_margin), NaNs in l,
 * and the relative error ||l - ref|| / ||ref||. */
typedef struct {
    int agree, agree_margin, nan;
    double rel;
} LogitsAgreement;
LogitsAgreement logits_agreement(const float *l, const float *ref, int n, int V);

void output_free(Output *o);

#ifdef __cplusplus
}
#endif
#endif
