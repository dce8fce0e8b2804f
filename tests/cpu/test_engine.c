/* test_engine.c: the CPU engine's contract (engine.h, docs/MODEL.md §5) on a
 * tiny model.
 *
 * Usage: test_cpu_engine [GETP_MODEL_GEN OUT_DIR]
 *   with the generator: the model is `getp-model-gen --preset tiny --seed 7
 *   --out OUT_DIR`, loaded with model_load; without: a random in-memory model
 *   (f32 / bf16 dense weights, MXFP4 experts) with a short sliding window.
 *
 * Checks: outputs identical whatever the order of the requests and however they
 * are split into generate() calls; logits() last row argmax == the first
 * greedy token, and every greedy token is the argmax of the teacher-forced
 * logits of the sequence so far; n_tokens <= steps - n_prompt + 1; stop ids end
 * the output with the stop id; bad requests get FINISH_ERROR; env_digit (the
 * engine's one-digit switches) takes its digits and stops on anything else;
 * env_range (GETP_MOE_W64) takes "0" or "LO-HI" and stops on anything else.
 */
#include "engine.h"
#include "sampler.h"
#include "test_util.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- env_digit (common.h): the engine's one-digit switches ----------------- */

/* body(out) in a child with NAME=value (value NULL: unset), its stderr and the
 * n ints it writes to out piped back: 1 when it returned with nothing on
 * stderr (out filled); -1 when it stopped (abort) with the one line
 * "getp: NAME=value: values" on stderr; else < -1. */
static int env_child(const char *name, const char *value, const char *values, void (*body)(int *out),
                     int *out, int n) {
    int err[2], res[2];
    if (pipe(err) != 0 || pipe(res) != 0) return -2;
    pid_t pid = fork();
    if (pid < 0) return -2;
    if (pid == 0) {
        close(err[0]), close(res[0]);
        dup2(err[1], 2);
        if (value) setenv(name, value, 1);
        else unsetenv(name);
        int v[4] = {0};
        body(v);
        _exit(write(res[1], v, sizeof(int) * (size_t)n) == (ssize_t)(sizeof(int) * (size_t)n) ? 0 : 1);
    }
    close(err[1]), close(res[1]);
    char buf[256] = {0};
    size_t len = 0;
    ssize_t k;
    while (len < sizeof buf - 1 && (k = read(err[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)k;
    const ssize_t got = read(res[0], out, sizeof(int) * (size_t)n);
    close(err[0]), close(res[0]);
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st)) // returned: its ints, and nothing on stderr
        return WEXITSTATUS(st) == 0 && len == 0 && got == (ssize_t)(sizeof(int) * (size_t)n) ? 1 : -3;
    char want[128];
    snprintf(want, sizeof want, "getp: %s=%s: %s\n", name, value ? value : "", values);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strcmp(buf, want) == 0 ? -1 : -4;
}

static int digit_args[3]; // dflt, lo, hi of the next env_digit child
static void digit_body(int *out) {
    out[0] = env_digit("GETP_TEST_DIGIT", digit_args[0], digit_args[1], digit_args[2], "the test's values");
}

/* env_digit in a child with GETP_TEST_DIGIT=value: its value, or env_child's
 * -1 (stopped with the one line) or other negative. */
static int env_digit_child(const char *value, int dflt, int lo, int hi) {
    int v;
    digit_args[0] = dflt, digit_args[1] = lo, digit_args[2] = hi;
    const int r = env_child("GETP_TEST_DIGIT", value, "the test's values", digit_body, &v, 1);
    return r == 1 ? v : r;
}

static void test_env_digit(void) {
    EXPECT(env_digit_child(NULL, 4, 3, 4) == 4, "unset: the default");
    EXPECT(env_digit_child("", 1, 0, 2) == 1, "empty: the default");
    EXPECT(env_digit_child("3", 4, 3, 4) == 3, "a digit in range");
    EXPECT(env_digit_child("0", 1, 0, 2) == 0, "the low end");
    EXPECT(env_digit_child("2", 1, 0, 2) == 2, "the high end");
    const char *bad[] = {"5", "x", "34", "-1", " 3", "3 ", "2"};
    for (int i = 0; i < 7; i++) {
        const int hi = i == 6 ? 1 : 4, lo = i == 6 ? 0 : 3; // "2" past 0..1
        EXPECT(env_digit_child(bad[i], lo, lo, hi) == -1, "'%s' stops with one line naming it", bad[i]);
    }
}

static void range_body(int *out) {
    out[0] = 7, out[1] = 9; // the defaults
    out[2] = env_range("GETP_TEST_RANGE", &out[0], &out[1], 128, "the test's range");
}

/* env_range in a child with GETP_TEST_RANGE=value, defaults 7 and 9, max 128:
 * 1 with *lo, *hi and its return value in *ret, or env_child's -1 / other
 * negative. */
static int env_range_child(const char *value, int *lo, int *hi, int *ret) {
    int v[3];
    const int r = env_child("GETP_TEST_RANGE", value, "the test's range", range_body, v, 3);
    if (r == 1) *lo = v[0], *hi = v[1], *ret = v[2];
    return r;
}

static void test_env_range(void) {
    int lo, hi, ret;
    EXPECT(env_range_child(NULL, &lo, &hi, &ret) == 1 && ret == 0 && lo == 7 && hi == 9, "unset: the defaults");
    EXPECT(env_range_child("", &lo, &hi, &ret) == 1 && ret == 0 && lo == 7 && hi == 9, "empty: the defaults");
    EXPECT(env_range_child("0", &lo, &hi, &ret) == 1 && ret == 1 && lo == 0 && hi == 0, "0: off");
    EXPECT(env_range_child("28-60", &lo, &hi, &ret) == 1 && ret == 1 && lo == 28 && hi == 60, "a range");
    EXPECT(env_range_child("0-128", &lo, &hi, &ret) == 1 && ret == 1 && lo == 0 && hi == 128, "the widest");
    const char *bad[] = {"60-28", "5-5", "5", "5-", "-5", "a-b", " 1-2", "1-2 ", "1-129", "1--2",
                         "+1-2", "1-2-3", "00", "9999999999-1"};
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++)
        EXPECT(env_range_child(bad[i], &lo, &hi, &ret) == -1, "'%s' stops with one line naming it", bad[i]);
}

/* ---- a random in-memory model -------------------------------------------- */

static Tensor rand_tensor(DType dt, int ndim, int64_t d0, int64_t d1, int64_t d2, float a) {
    int64_t shape[3] = {d0, d1, d2};
    Tensor t = make_tensor(dt, ndim, shape);
    fill_random(&t, a);
    return t;
}

static void build_random_model(Model *m) {
    memset(m, 0, sizeof *m);
    Config *c = &m->cfg;
    c->vocab_size = 101;
    c->hidden = 64;
    c->n_experts = 6;
    c->experts_per_token = 2;
    c->intermediate = 32;
    c->n_layers = 3;
    c->head_dim = 16;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->max_seq_len = 256;
    c->initial_context_length = 32;
    c->rope_theta = 150000.0f;
    c->rope_scaling_factor = 32.0f;
    c->sliding_window = 8;
    c->swiglu_limit = 7.0f;
    int V = c->vocab_size, H = c->hidden, E = c->n_experts, I = c->intermediate;
    int QKV = cfg_qkv_dim(c), Dq = cfg_q_dim(c);
    m->embedding = rand_tensor(DT_BF16, 2, V, H, 0, 1.0f);
    m->unembedding = rand_tensor(DT_F32, 2, V, H, 0, 0.3f);
    m->final_norm = rand_tensor(DT_F32, 1, H, 0, 0, 1.0f);
    m->layers = xcalloc((size_t)c->n_layers, sizeof(LayerWeights));
    for (int l = 0; l < c->n_layers; l++) {
        LayerWeights *lw = &m->layers[l];
        lw->attn_norm = rand_tensor(DT_F32, 1, H, 0, 0, 1.0f);
        lw->w_qkv = rand_tensor(DT_BF16, 2, QKV, H, 0, 0.25f);
        lw->b_qkv = rand_tensor(DT_BF16, 1, QKV, 0, 0, 0.1f);
        lw->sinks = rand_tensor(DT_F32, 1, c->n_heads, 0, 0, 1.0f);
        lw->w_o = rand_tensor(DT_F32, 2, H, Dq, 0, 0.2f);
        lw->b_o = rand_tensor(DT_F32, 1, H, 0, 0, 0.1f);
        lw->mlp_norm = rand_tensor(DT_BF16, 1, H, 0, 0, 1.0f);
        lw->w_gate = rand_tensor(DT_F32, 2, E, H, 0, 0.3f);
        lw->b_gate = rand_tensor(DT_F32, 1, E, 0, 0, 0.1f);
        lw->w1 = rand_tensor(DT_MXFP4, 3, E, 2 * I, H, 0.2f);
        lw->b1 = rand_tensor(DT_F32, 2, E, 2 * I, 0, 0.1f);
        lw->w2 = rand_tensor(DT_MXFP4, 3, E, H, I, 0.2f);
        lw->b2 = rand_tensor(DT_F32, 2, E, H, 0, 0.1f);
    }
}

static void free_random_model(Model *m) {
    Tensor *top[3] = {&m->embedding, &m->unembedding, &m->final_norm};
    for (int i = 0; i < 3; i++) free_tensor(top[i]);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        LayerWeights *lw = &m->layers[l];
        Tensor *all[13] = {&lw->attn_norm, &lw->w_qkv, &lw->b_qkv, &lw->sinks, &lw->w_o,
                           &lw->b_o, &lw->mlp_norm, &lw->w_gate, &lw->b_gate, &lw->w1,
                           &lw->b1, &lw->w2, &lw->b2};
        for (int i = 0; i < 13; i++) free_tensor(all[i]);
    }
    free(m->layers);
}

/* ---- the requests ---------------------------------------------------------- */

enum { N_REQ = 7 };

typedef struct {
    Request r[N_REQ];
    int32_t *prompts[N_REQ];
} Batch;

static void build_batch(Batch *b, int V) {
    int lens[N_REQ] = {1, 5, 20, 3, 12, 0, 9};
    int steps[N_REQ] = {6, 24, 40, 3, 30, 10, 25};
    for (int i = 0; i < N_REQ; i++) {
        RequestParams *p = &b->r[i].p;
        request_params_default(p);
        p->index = 100 + i;
        p->n_prompt = lens[i];
        p->steps = steps[i];
        p->n_stop = 0; // run to the step limit unless a test sets stops
        if (i == 2 || i == 4) {
            p->temperature = 0.9f;
            p->top_p = i == 2 ? 0.9f : 1.0f;
            p->seed = 2024;
        }
        b->prompts[i] = xmalloc(sizeof(int32_t) * (size_t)(lens[i] + 1));
        for (int k = 0; k < lens[i]; k++) b->prompts[i][k] = (int32_t)((i * 31 + k * 17 + 3) % V);
        b->r[i].prompt = b->prompts[i];
    }
}

static int same_output(const Output *a, const Output *b) {
    return a->index == b->index && a->n_tokens == b->n_tokens && a->finish == b->finish &&
           (a->n_tokens == 0 || memcmp(a->tokens, b->tokens, sizeof(int32_t) * a->n_tokens) == 0);
}

static void run_tests(Engine *e, const Config *c) {
    Batch b;
    build_batch(&b, c->vocab_size);
    Err err = {{0}};
    Output ref[N_REQ], other[N_REQ];

    /* reference: all requests in one call, in order */
    EXPECT(e->generate(e, b.r, N_REQ, ref, &err) == GETP_OK, "generate: %s", err.msg);
    for (int i = 0; i < N_REQ; i++) {
        const RequestParams *p = &b.r[i].p;
        printf("request %lld: n_prompt %d steps %d -> %d tokens, finish %d\n", (long long)p->index,
               p->n_prompt, p->steps, ref[i].n_tokens, ref[i].finish);
        if (p->n_prompt == 0) {
            EXPECT(ref[i].n_tokens == 0 && ref[i].finish == FINISH_LENGTH, "empty prompt");
            continue;
        }
        EXPECT(ref[i].n_tokens == p->steps - p->n_prompt + 1 && ref[i].finish == FINISH_LENGTH,
               "request %d without stops: %d tokens, want steps - n_prompt + 1 = %d", i,
               ref[i].n_tokens, p->steps - p->n_prompt + 1);
        int in_vocab = 1;
        for (int k = 0; k < ref[i].n_tokens; k++) in_vocab &= ref[i].tokens[k] >= 0 && ref[i].tokens[k] < c->vocab_size;
        EXPECT(in_vocab, "request %d: token outside the vocabulary", i);
    }

    /* reversed order, in one call */
    Request rev[N_REQ];
    for (int i = 0; i < N_REQ; i++) rev[i] = b.r[N_REQ - 1 - i];
    EXPECT(e->generate(e, rev, N_REQ, other, &err) == GETP_OK, "generate reversed");
    int same = 1;
    for (int i = 0; i < N_REQ; i++) same &= same_output(&ref[N_REQ - 1 - i], &other[i]);
    EXPECT(same, "reversed order changes outputs");
    for (int i = 0; i < N_REQ; i++) output_free(&other[i]);

    /* split: odd requests one call, then even requests one at a time */
    int odd[N_REQ], n_odd = 0;
    Request sub[N_REQ];
    for (int i = 1; i < N_REQ; i += 2) sub[n_odd] = b.r[i], odd[n_odd++] = i;
    EXPECT(e->generate(e, sub, n_odd, other, &err) == GETP_OK, "generate subset");
    same = 1;
    for (int j = 0; j < n_odd; j++) same &= same_output(&ref[odd[j]], &other[j]);
    for (int j = 0; j < n_odd; j++) output_free(&other[j]);
    for (int i = 0; i < N_REQ; i += 2) {
        EXPECT(e->generate(e, &b.r[i], 1, other, &err) == GETP_OK, "generate single");
        same &= same_output(&ref[i], &other[0]);
        output_free(&other[0]);
    }
    EXPECT(same, "splitting the batch changes outputs");

    /* greedy tokens are the argmax of the teacher-forced logits */
    for (int i = 0; i < N_REQ; i++) {
        const RequestParams *p = &b.r[i].p;
        if (p->n_prompt == 0 || p->temperature > 0) continue;
        int n = p->n_prompt + ref[i].n_tokens - 1; // the last token is never fed
        int32_t *seq = xmalloc(sizeof(int32_t) * (size_t)n);
        memcpy(seq, b.r[i].prompt, sizeof(int32_t) * p->n_prompt);
        memcpy(seq + p->n_prompt, ref[i].tokens, sizeof(int32_t) * (ref[i].n_tokens - 1));
        float *lg = xmalloc(sizeof(float) * (size_t)n * c->vocab_size);
        EXPECT(e->logits(e, seq, n, lg, &err) == GETP_OK, "logits: %s", err.msg);
        int agree = 1;
        for (int k = 0; k < ref[i].n_tokens; k++)
            agree &= argmax_f32(lg + (size_t)(p->n_prompt - 1 + k) * c->vocab_size, c->vocab_size) == ref[i].tokens[k];
        EXPECT(agree, "request %d: greedy tokens differ from teacher-forced argmax", i);
        /* logits of the prompt alone: last row argmax == first generated token */
        EXPECT(e->logits(e, b.r[i].prompt, p->n_prompt, lg, &err) == GETP_OK, "logits prompt");
        EXPECT(argmax_f32(lg + (size_t)(p->n_prompt - 1) * c->vocab_size, c->vocab_size) == ref[i].tokens[0],
               "request %d: logits() last row argmax != first token", i);
        free(seq);
        free(lg);
    }

    /* stop ids: stop on the 4th generated token of request 2 (sampled) and 4 (greedy... sampled too) */
    for (int i = 1; i < N_REQ; i++) {
        if (ref[i].n_tokens < 4) continue;
        Request r = b.r[i];
        int32_t stop = ref[i].tokens[3];
        r.p.n_stop = 2;
        r.p.stop[0] = c->vocab_size + 5; // never emitted
        r.p.stop[1] = stop;
        int first = 0;
        while (ref[i].tokens[first] != stop) first++;
        Output o;
        EXPECT(e->generate(e, &r, 1, &o, &err) == GETP_OK, "generate with stop");
        int prefix = o.n_tokens == first + 1 && memcmp(o.tokens, ref[i].tokens, sizeof(int32_t) * o.n_tokens) == 0;
        EXPECT(prefix && o.finish == FINISH_STOP && o.tokens[o.n_tokens - 1] == stop,
               "request %d with stop id %d: %d tokens finish %d, want %d ending in the stop id", i, stop,
               o.n_tokens, o.finish, first + 1);
        output_free(&o);
    }

    /* bad requests: prompt longer than steps, id outside [0, V), steps beyond the model */
    Request bad[3] = {b.r[2], b.r[1], b.r[1]};
    bad[0].p.steps = bad[0].p.n_prompt - 1;
    int32_t wrong[5] = {1, 2, c->vocab_size, 3, 4};
    bad[1].prompt = wrong;
    bad[2].p.steps = c->max_seq_len + 1;
    Output ob[3];
    EXPECT(e->generate(e, bad, 3, ob, &err) == GETP_OK, "generate bad requests");
    for (int k = 0; k < 3; k++) {
        EXPECT(ob[k].finish == FINISH_ERROR && ob[k].n_tokens == 0, "bad request %d: finish %d, %d tokens",
               k, ob[k].finish, ob[k].n_tokens);
        output_free(&ob[k]);
    }
    float dummy[1];
    EXPECT(e->logits(e, wrong, 5, dummy, &err) == GETP_ERR, "logits with a bad id must fail");

    for (int i = 0; i < N_REQ; i++) {
        output_free(&ref[i]);
        free(b.prompts[i]);
    }
}

int main(int argc, char **argv) {
    Model m;
    int generated = 0;
    Err err = {{0}};
    if (argc >= 3) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "'%s' --preset tiny --seed 7 --out '%s' > /dev/null", argv[1], argv[2]);
        if (system(cmd) != 0) {
            fprintf(stderr, "test_engine: generator failed: %s\n", cmd);
            return 1;
        }
        if (model_load(argv[2], &m, &err) != GETP_OK) {
            fprintf(stderr, "test_engine: model_load %s: %s\n", argv[2], err.msg);
            return 1;
        }
        generated = 1;
        printf("model: getp-model-gen tiny (V %d, H %d, L %d, window %d)\n", m.cfg.vocab_size,
               m.cfg.hidden, m.cfg.n_layers, m.cfg.sliding_window);
    } else {
        rng_seed(11);
        build_random_model(&m);
        printf("model: random in-memory (V %d, H %d, L %d, window %d)\n", m.cfg.vocab_size, m.cfg.hidden,
               m.cfg.n_layers, m.cfg.sliding_window);
    }
    Engine *e = engine_cpu_create(&m, &err);
    EXPECT(e != NULL, "engine_cpu_create: %s", err.msg);
    if (e) {
        run_tests(e, &m.cfg);
        e->destroy(e);
    }
    if (generated) model_free(&m);
    else free_random_model(&m);
    test_env_digit();
    test_env_range();
    return test_finish();
}
