/* modes.c: the modes that need no MPI: tokenize and decode (tokenizer only)
 * and generate (one prompt, streamed). */
#include "cli.h"            // Cli, cli_fail
#include "engine.h"         // Engine, Request, steps_bound
#include "engine_factory.h" // engine_create, engine_gpu_count, engine_use_gpu
#include "model.h"
#include "tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>

#include "json_text.h" // json_utf8
#include "requests.h"  // reader_open, input_detect_format: tokenize on JSONL / Batch files

#include <sys/stat.h>

/* ---------------------------------------------------------- tokenize/decode */


static int load_tokenizer(const char *path, Tokenizer **t) {
    if (!path) return cli_fail("this mode needs a tokenizer: -z FILE or GETP_TOKENIZER (see README)");
    Err err = {{0}};
    if (tokenizer_load(path, t, &err) != GETP_OK) return cli_fail("%s", err.msg);
    return 0;
}

static FILE *open_input(const char *path) {
    if (!path || !strcmp(path, "-")) return stdin;
    FILE *f = fopen(path, "rb");
    if (!f) cli_fail("cannot open input %s: %s", path, strerror(errno));
    return f;
}

/* Scratch a line handler may keep across lines (decode's id buffer). */
typedef struct {
    int32_t *ids;
    size_t cap;
} LineScratch;

/* A line handler: line[0..len) without its newline / CR (also NUL-terminated
 * there); nonzero return (after its error line) stops the run. */
typedef int (*LineFn)(const Cli *c, const Tokenizer *t, char *line, size_t len, long long lineno,
                      LineScratch *scratch);

/* tokenize and decode: load the tokenizer, open the input and hand each line
 * to fn, one output line per input line. */
static int for_each_input_line(const Cli *c, LineFn fn) {
    Tokenizer *t;
    if (load_tokenizer(c->g.tokenizer_path, &t)) return 1;
    FILE *f = open_input(c->g.input_path);
    if (!f) {
        tokenizer_free(t);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long long lineno = 0;
    int rc = 0;
    LineScratch scratch = {NULL, 0};
    while (!rc && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        line[len] = '\0';
        rc = fn(c, t, line, len, lineno, &scratch);
    }
    free(scratch.ids);
    free(line);
    if (f != stdin) fclose(f);
    tokenizer_free(t);
    return rc;
}

/* tokenize: one line of text (or a JSON string with --json-lines) -> its ids. */
static int tokenize_line(const Cli *c, const Tokenizer *t, char *line, size_t len,
                         long long lineno, LineScratch *scratch) {
    (void)scratch;
    const char *text = line;
    json_t *js = NULL;
    if (c->json_lines) {
        json_error_t jerr;
        js = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!js || !json_is_string(js)) {
            int rc = cli_fail("%s:%lld: expected a JSON string%s%s",
                          c->g.input_path ? c->g.input_path : "stdin", lineno, js ? "" : ": ",
                          js ? "" : jerr.text);
            json_decref(js);
            return rc;
        }
        text = json_string_value(js);
        len = json_string_length(js);
    }
    int32_t *ids;
    int n;
    Err err = {{0}};
    if (tokenizer_encode(t, text, len, &ids, &n, &err) != GETP_OK) {
        json_decref(js);
        return cli_fail("line %lld: %s", lineno, err.msg);
    }
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
    free(ids);
    json_decref(js);
    return 0;
}

/* decode: one line of space-separated ids -> its text (a JSON string with --json-lines). */
static int decode_line(const Cli *c, const Tokenizer *t, char *line, size_t len, long long lineno,
                       LineScratch *scratch) {
    (void)len;
    size_t n = 0;
    char *p = line, *end;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p) break;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX)
            return cli_fail("line %lld: expected token ids, got '%.20s'", lineno, p);
        if (n == scratch->cap)
            scratch->ids = xrealloc(scratch->ids,
                                    (scratch->cap = scratch->cap ? 2 * scratch->cap : 64) * sizeof(int32_t));
        scratch->ids[n++] = (int32_t)v;
        p = end;
    }
    char *text;
    size_t tlen;
    Err err = {{0}};
    if (tokenizer_decode(t, scratch->ids, (int)n, &text, &tlen, &err) != GETP_OK)
        return cli_fail("line %lld: %s", lineno, err.msg);
    if (c->json_lines) {
        json_t *js = json_utf8(text, tlen); /* invalid UTF-8 -> U+FFFD, so the line is JSON */
        char *dump = json_dumps(js, JSON_ENCODE_ANY);
        puts(dump);
        free(dump);
        json_decref(js);
    } else {
        fwrite(text, 1, tlen, stdout);
        putchar('\n');
    }
    free(text);
    return 0;
}

/* ----------------------------------------------------------------- generate */

typedef struct {
    const Tokenizer *tok;
    double t_first; // when the first generated id arrived (0: none yet)
    int n;          // generated ids streamed
} StreamCtx;

static void stream_token(void *ctx, int64_t index, int32_t token) {
    (void)index;
    StreamCtx *s = ctx;
    if (s->n++ == 0) s->t_first = now_seconds();
    size_t len;
    const char *bytes = tokenizer_token_bytes(s->tok, token, &len);
    if (bytes) fwrite(bytes, 1, len, stdout);
    fflush(stdout);
}

int run_generate(const Cli *c) {
    const GetpOptions *g = &c->g;
    if (!g->model_path) return cli_fail("no model given (see getp --help)");
    Tokenizer *t;
    if (load_tokenizer(g->tokenizer_path, &t)) return 1;
    Model m;
    Err err = {{0}};
    if (model_load(g->model_path, &m, &err) != GETP_OK) {
        tokenizer_free(t);
        return cli_fail("%s", err.msg);
    }
    const char *prompt = g->input_path ? g->input_path : "";
    Request r;
    memset(&r, 0, sizeof r);
    request_params_default(&r.p);
    int n = 0;
    int32_t *ids = NULL;
    int rc = 0;
    if (tokenizer_encode(t, prompt, strlen(prompt), &ids, &n, &err) != GETP_OK) {
        rc = cli_fail("%s", err.msg);
        goto cleanup;
    }
    r.prompt = ids;
    r.p.n_prompt = n;
    r.p.steps = steps_bound(g->steps, &m.cfg);
    if (g->steps <= 0 && r.p.steps > 4096) r.p.steps = n + 256; /* interactive default: 256 new ids */
    r.p.temperature = g->temperature;
    r.p.top_p = g->top_p;
    r.p.top_k = g->top_k;
    r.p.min_p = g->min_p;
    r.p.seed = g->seed;
    if (g->ignore_eos) r.p.n_stop = 0;
    if (n == 0) {
        rc = cli_fail("generate needs a non-empty prompt (-i TEXT)");
        goto cleanup;
    }
    if (n > r.p.steps) {
        rc = cli_fail("the prompt has %d tokens, more than -n %d", n, r.p.steps);
        goto cleanup;
    }
    Engine *e = engine_create(g, &m, engine_use_gpu(g, engine_gpu_count(g) > 0), 0, &err);
    if (!e) {
        rc = cli_fail("%s", err.msg);
        goto cleanup;
    }
    StreamCtx sc = {t, 0.0, 0};
    e->on_token = stream_token;
    e->on_token_ctx = &sc;
    fwrite(prompt, 1, strlen(prompt), stdout);
    Output out;
    memset(&out, 0, sizeof out);
    double t0 = now_seconds();
    if (e->generate(e, &r, 1, &out, &err) != GETP_OK) rc = cli_fail("%s", err.msg);
    else if (out.finish == FINISH_ERROR) rc = GETP_EXIT_PARTIAL; /* the engine said why, on stderr */
    const double t1 = now_seconds(), dt = t1 - t0;
    putchar('\n');
    if (!rc) {
        /* time to first token: prompt read + first sample (engine already
         * built); decode: the ids after the first, over the time after it */
        fprintf(stderr, "getp: %d tokens in %.3f s (%.2f tok/s)", out.n_tokens, dt,
                dt > 0 ? out.n_tokens / dt : 0.0);
        if (sc.n > 0) fprintf(stderr, "; time to first token %.1f ms", 1e3 * (sc.t_first - t0));
        if (sc.n > 1 && t1 > sc.t_first)
            fprintf(stderr, "; decode %.2f tok/s", (sc.n - 1) / (t1 - sc.t_first));
        fputc('\n', stderr);
    }
    output_free(&out);
    e->destroy(e);
cleanup:
    free(ids);
    model_free(&m);
    tokenizer_free(t);
    return rc;
}


/* tokenize on a JSONL or Batch file: every request read as the getp mode
 * reads it (chats rendered by the chat template's rules), its prompt ids
 * printed as one JSON array per line, in input order. A request that cannot
 * be read prints {"error": "line N: ..."} in its place (and the same on
 * stderr); the exit status is then 1. */
static int tokenize_requests(const Cli *c, InputFormat fmt) {
    Tokenizer *t;
    if (load_tokenizer(c->g.tokenizer_path, &t)) return 1;
    RequestDefaults d;
    memset(&d, 0, sizeof d);
    d.steps = d.max_seq_len = INT32_MAX; // no model: no step bound
    d.vocab_size = tokenizer_vocab_size(t);
    d.temperature = c->g.temperature;
    d.top_p = c->g.top_p;
    d.seed = c->g.seed;
    d.reasoning_effort = c->g.reasoning_effort;
    d.date = c->g.date;
    RequestReader *r = NULL;
    Err err = {{0}};
    const char *path = c->g.input_path && strcmp(c->g.input_path, "-") ? c->g.input_path : "/dev/stdin";
    if (reader_open(path, fmt, t, &d, &r, NULL, &err) != GETP_OK) {
        tokenizer_free(t);
        return cli_fail("%s", err.msg);
    }
    enum { ROUND = 64 };
    InputRequest *q = xcalloc(ROUND, sizeof *q);
    int n, failed = 0, rc = 0;
    while ((rc = r->next(r, ROUND, q, &n, &err)) == GETP_OK && n > 0) {
        for (int i = 0; i < n; i++) {
            if (q[i].error) {
                fprintf(stderr, "getp: %s: %s\n", path, q[i].error);
                json_t *e = json_pack("{s:o}", "error", json_utf8(q[i].error, strlen(q[i].error)));
                char *dump = json_dumps(e, JSON_COMPACT);
                puts(dump);
                free(dump);
                json_decref(e);
                failed++;
            } else {
                putchar('[');
                for (int k = 0; k < q[i].p.n_prompt; k++) printf(k ? ",%d" : "%d", q[i].prompt[k]);
                puts("]");
            }
            input_request_free(&q[i]);
        }
    }
    if (rc != GETP_OK) rc = cli_fail("%s", err.msg);
    else if (failed) rc = 1;
    free(q);
    r->close(r);
    tokenizer_free(t);
    return rc;
}

/* The input of tokenize is a JSONL / Batch request file when --input-format
 * says so, or (auto) when it is a regular file whose first byte is '{'
 * (pipes are not peeked at: they stay text lines). */
static int requests_format(const Cli *c, InputFormat *fmt) {
    *fmt = c->g.input_format;
    if (*fmt == INPUT_JSONL || *fmt == INPUT_BATCH) return 1;
    struct stat st;
    if (*fmt != INPUT_AUTO || c->json_lines || !c->g.input_path || stat(c->g.input_path, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return 0;
    *fmt = input_detect_format(c->g.input_path);
    return *fmt == INPUT_JSONL || *fmt == INPUT_BATCH;
}

int run_tokenize(const Cli *c) {
    InputFormat fmt;
    if (requests_format(c, &fmt)) return tokenize_requests(c, fmt);
    return for_each_input_line(c, tokenize_line);
}
int run_decode(const Cli *c) { return for_each_input_line(c, decode_line); }
