/* main.c: the getp command line.
 *
 *   getp MODEL [options]           MODEL = course .bin file or checkpoint directory
 *
 * Modes (-m): getp (batch: -i file -o file, over MPI), generate (one prompt,
 * streamed text), tokenize / decode (tokenizer only), logits (teacher-forced
 * logits as .npy plus the greedy continuation). The course's short flags keep
 * working; every error is one line on stderr and a non-zero exit.
 */
#include "engine.h"
#include "getp.h"
#include "model.h"
#include "tokenizer.h"
#ifdef GETP_HAVE_GPU
#include "engine_gpu.h" // engine_gpu_create, gpu_selftest
#endif

#include <errno.h>
#include <getopt.h>
#include <unistd.h>

static const char *USAGE =
    "usage: getp MODEL [options]\n"
    "       getp --selftest          (check the GPU kernels against the CPU reference)\n"
    "\n"
    "MODEL is a course .bin file (fp32 or bf16) or an original gpt-oss checkpoint\n"
    "directory (config.json + *.safetensors, MXFP4 experts).\n"
    "\n"
    "  -m, --mode MODE         getp | generate | tokenize | decode | logits\n"
    "                          (default: getp when -o is given, else generate)\n"
    "  -i, --input X           getp/logits/tokenize/decode: input file; generate: the prompt text\n"
    "  -o, --output FILE       getp/logits: result file\n"
    "  -n, --steps N           position bound per request: at most N - prompt + 1 new ids (default 1024);\n"
    "                          0 or more than the model's context = the model's context\n"
    "  -z, --tokenizer FILE    tokenizer: tiktoken rank file or course tokenizer.bin\n"
    "                          (default: $GETP_TOKENIZER; not needed for ids in and ids out)\n"
    "  -t, --temperature T     0 = greedy (default 0)\n"
    "  -p, --top-p P           nucleus sampling mass (default 1 = off)\n"
    "  -s, --seed N            sampling seed (default 42)\n"
    "      --input-format F    auto | text | ids | jsonl | batch (default auto)\n"
    "      --ignore-eos        do not stop on <|endoftext|> / <|return|> (benchmarks)\n"
    "      --backend B         auto | cpu | gpu (default auto: gpu when built with one)\n"
    "      --batch N           sequences in flight per GPU (default: from free memory)\n"
    "      --precise           GPU: keep activations and the KV cache to ~16 mantissa bits\n"
    "                          (fp32-grade logits; ~2x the GEMM work, 2x the KV memory)\n"
    "      --share-gpu         allow more ranks on a node than GPUs\n"
    "      --logits-dir DIR    logits mode: write DIR/request_<i>.npy (default: logits)\n"
    "      --resume            keep finished results in the output file, run the rest\n"
    "      --progress          print progress to stderr (default when stderr is a terminal)\n"
    "      --json-lines        tokenize: input lines are JSON strings; decode: print JSON strings\n"
    "  -v, --verbose           more detail on stderr\n"
    "  -h, --help              this text\n";

typedef enum { MODE_AUTO, MODE_GETP, MODE_GENERATE, MODE_TOKENIZE, MODE_DECODE, MODE_LOGITS } Mode;

typedef struct {
    GetpOptions g;
    Mode mode;
    int json_lines;
    int selftest;
} Cli;

static int fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("getp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int parse_int(const char *s, const char *what, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return fail("%s must be an integer in [%ld, %ld], got '%s'", what, lo, hi, s);
    *out = v;
    return 0;
}

static int parse_float(const char *s, const char *what, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return fail("%s must be a number in [%g, %g], got '%s'", what, lo, hi, s);
    *out = (float)v;
    return 0;
}

static int parse_mode(const char *s, Mode *m) {
    static const struct { const char *name; Mode mode; } modes[] = {
        {"getp", MODE_GETP},         {"generate", MODE_GENERATE}, {"tokenize", MODE_TOKENIZE},
        {"decode", MODE_DECODE},     {"logits", MODE_LOGITS},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(s, modes[i].name)) return *m = modes[i].mode, 0;
    return fail("unknown mode '%s' (getp, generate, tokenize, decode, logits)", s);
}

static int parse_input_format(const char *s, InputFormat *f) {
    static const char *names[] = {"auto", "text", "ids", "jsonl", "batch"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return *f = (InputFormat)i, 0;
    return fail("unknown input format '%s' (auto, text, ids, jsonl, batch)", s);
}

static int parse_backend(const char *s, Backend *b) {
    if (!strcmp(s, "auto")) return *b = BACKEND_AUTO, 0;
    if (!strcmp(s, "cpu")) return *b = BACKEND_CPU, 0;
    if (!strcmp(s, "gpu")) return *b = BACKEND_GPU, 0;
    return fail("unknown backend '%s' (auto, cpu, gpu)", s);
}

enum {
    OPT_INPUT_FORMAT = 256, OPT_IGNORE_EOS, OPT_BACKEND, OPT_BATCH, OPT_SHARE_GPU, OPT_LOGITS_DIR,
    OPT_RESUME, OPT_PROGRESS, OPT_JSON_LINES, OPT_SELFTEST, OPT_PRECISE,
};

static int parse_args(int argc, char **argv, Cli *c) {
    static const struct option longs[] = {
        {"mode", required_argument, 0, 'm'},        {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},      {"steps", required_argument, 0, 'n'},
        {"tokenizer", required_argument, 0, 'z'},   {"temperature", required_argument, 0, 't'},
        {"top-p", required_argument, 0, 'p'},       {"seed", required_argument, 0, 's'},
        {"verbose", no_argument, 0, 'v'},           {"help", no_argument, 0, 'h'},
        {"input-format", required_argument, 0, OPT_INPUT_FORMAT},
        {"ignore-eos", no_argument, 0, OPT_IGNORE_EOS},
        {"backend", required_argument, 0, OPT_BACKEND},
        {"batch", required_argument, 0, OPT_BATCH},
        {"share-gpu", no_argument, 0, OPT_SHARE_GPU},
        {"logits-dir", required_argument, 0, OPT_LOGITS_DIR},
        {"resume", no_argument, 0, OPT_RESUME},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"json-lines", no_argument, 0, OPT_JSON_LINES},
        {"selftest", no_argument, 0, OPT_SELFTEST},
        {"precise", no_argument, 0, OPT_PRECISE},
        {0, 0, 0, 0},
    };
    GetpOptions *g = &c->g;
    int opt;
    long v;
    while ((opt = getopt_long(argc, argv, "m:i:o:n:z:t:p:s:vh", longs, NULL)) != -1) {
        switch (opt) {
        case 'm': if (parse_mode(optarg, &c->mode)) return 1; break;
        case 'i': g->input_path = optarg; break;
        case 'o': g->output_path = optarg; break;
        case 'n': if (parse_int(optarg, "-n (steps)", 0, 1L << 30, &v)) return 1; g->steps = (int)v; break;
        case 'z': g->tokenizer_path = optarg; break;
        case 't': if (parse_float(optarg, "-t (temperature)", 0, 100, &g->temperature)) return 1; break;
        case 'p': if (parse_float(optarg, "-p (top-p)", 1e-9, 1, &g->top_p)) return 1; break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end) return fail("-s (seed) must be a non-negative integer, got '%s'", optarg);
            g->seed = s;
            break;
        }
        case 'v': g->verbose = 1; break;
        case 'h': fputs(USAGE, stdout); exit(0);
        case OPT_INPUT_FORMAT: if (parse_input_format(optarg, &g->input_format)) return 1; break;
        case OPT_IGNORE_EOS: g->ignore_eos = 1; break;
        case OPT_BACKEND: if (parse_backend(optarg, &g->backend)) return 1; break;
        case OPT_BATCH: if (parse_int(optarg, "--batch", 1, 1 << 20, &v)) return 1; g->batch_size = (int)v; break;
        case OPT_SHARE_GPU: g->share_gpu = 1; break;
        case OPT_LOGITS_DIR: g->logits_dir = optarg; break;
        case OPT_RESUME: g->resume = 1; break;
        case OPT_PROGRESS: g->progress = 1; break;
        case OPT_JSON_LINES: c->json_lines = 1; break;
        case OPT_SELFTEST: c->selftest = 1; break;
        case OPT_PRECISE: g->precise = 1; break;
        default: return fail("bad option (see getp --help)");
        }
    }
    if (optind < argc) g->model_path = argv[optind++];
    if (optind < argc) return fail("unexpected argument '%s' (see getp --help)", argv[optind]);
    if (!g->tokenizer_path) g->tokenizer_path = getenv("GETP_TOKENIZER");
    if (c->mode == MODE_AUTO) {
        /* -o names a result file: batch mode (a missing -i file is then reported as such) */
        c->mode = g->output_path ? MODE_GETP : MODE_GENERATE;
    }
    return 0;
}

/* ---------------------------------------------------------- tokenize/decode */

#include <jansson.h>
#include "json_text.h" // json_utf8

static int load_tokenizer(const char *path, Tokenizer **t) {
    if (!path) return fail("this mode needs a tokenizer: -z FILE or GETP_TOKENIZER (see README)");
    Err err = {{0}};
    if (tokenizer_load(path, t, &err) != GETP_OK) return fail("%s", err.msg);
    return 0;
}

static FILE *open_input(const char *path) {
    if (!path || !strcmp(path, "-")) return stdin;
    FILE *f = fopen(path, "rb");
    if (!f) fail("cannot open input %s: %s", path, strerror(errno));
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
            int rc = fail("%s:%lld: expected a JSON string%s%s",
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
        return fail("line %lld: %s", lineno, err.msg);
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
            return fail("line %lld: expected token ids, got '%.20s'", lineno, p);
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
        return fail("line %lld: %s", lineno, err.msg);
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
} StreamCtx;

static void stream_token(void *ctx, int64_t index, int32_t token) {
    (void)index;
    const StreamCtx *s = ctx;
    size_t len;
    const char *bytes = tokenizer_token_bytes(s->tok, token, &len);
    if (bytes) fwrite(bytes, 1, len, stdout);
    fflush(stdout);
}

static Engine *create_engine(const GetpOptions *g, const Model *m, Err *err) {
#ifdef GETP_HAVE_GPU
    if (g->backend != BACKEND_CPU && gpu_device_count() > 0) {
        GpuOptions o = {0, g->batch_size, g->verbose, g->precise};
        return engine_gpu_create(m, &o, err);
    }
    if (g->backend == BACKEND_GPU) return err_set(err, "--backend gpu: no GPU is visible"), NULL;
#else
    if (g->backend == BACKEND_GPU) return err_set(err, "--backend gpu: this getp was built without a GPU backend (-DGETP_GPU=hip|cuda)"), NULL;
#endif
    return engine_cpu_create(m, err);
}

static int run_generate(const Cli *c) {
    const GetpOptions *g = &c->g;
    if (!g->model_path) return fail("no model given (see getp --help)");
    Tokenizer *t;
    if (load_tokenizer(g->tokenizer_path, &t)) return 1;
    Model m;
    Err err = {{0}};
    if (model_load(g->model_path, &m, &err) != GETP_OK) {
        tokenizer_free(t);
        return fail("%s", err.msg);
    }
    const char *prompt = g->input_path ? g->input_path : "";
    Request r;
    memset(&r, 0, sizeof r);
    request_params_default(&r.p);
    int n = 0;
    int32_t *ids = NULL;
    int rc = 0;
    if (tokenizer_encode(t, prompt, strlen(prompt), &ids, &n, &err) != GETP_OK) {
        rc = fail("%s", err.msg);
        goto cleanup;
    }
    r.prompt = ids;
    r.p.n_prompt = n;
    r.p.steps = (g->steps <= 0 || g->steps > m.cfg.max_seq_len) ? m.cfg.max_seq_len : g->steps;
    if (g->steps <= 0 && r.p.steps > 4096) r.p.steps = n + 256; /* interactive default: 256 new ids */
    r.p.temperature = g->temperature;
    r.p.top_p = g->top_p;
    r.p.seed = g->seed;
    if (g->ignore_eos) r.p.n_stop = 0;
    if (n == 0) {
        rc = fail("generate needs a non-empty prompt (-i TEXT)");
        goto cleanup;
    }
    if (n > r.p.steps) {
        rc = fail("the prompt has %d tokens, more than -n %d", n, r.p.steps);
        goto cleanup;
    }
    Engine *e = create_engine(g, &m, &err);
    if (!e) {
        rc = fail("%s", err.msg);
        goto cleanup;
    }
    StreamCtx sc = {t};
    e->on_token = stream_token;
    e->on_token_ctx = &sc;
    fwrite(prompt, 1, strlen(prompt), stdout);
    Output out;
    memset(&out, 0, sizeof out);
    double t0 = now_seconds();
    if (e->generate(e, &r, 1, &out, &err) != GETP_OK) rc = fail("%s", err.msg);
    double dt = now_seconds() - t0;
    putchar('\n');
    if (!rc)
        fprintf(stderr, "getp: %d tokens in %.3f s (%.2f tok/s)\n", out.n_tokens, dt,
                dt > 0 ? out.n_tokens / dt : 0.0);
    output_free(&out);
    e->destroy(e);
cleanup:
    free(ids);
    model_free(&m);
    tokenizer_free(t);
    return rc;
}

/* --------------------------------------------------------------------- main */

void getp_options_default(GetpOptions *o) {
    memset(o, 0, sizeof *o);
    o->steps = 1024; /* the course workload's -n */
    o->temperature = 0.0f;
    o->top_p = 1.0f;
    o->seed = 42;
    o->progress = isatty(STDERR_FILENO);
}

static int run_selftest(void) {
#ifdef GETP_HAVE_GPU
    return gpu_selftest(stdout) == 0 ? 0 : 1;
#else
    return fail("--selftest checks the GPU kernels; this getp was built without a GPU backend "
                "(configure with -DGETP_GPU=hip or -DGETP_GPU=cuda)");
#endif
}

int main(int argc, char **argv) {
    Cli c;
    memset(&c, 0, sizeof c);
    getp_options_default(&c.g);
    if (parse_args(argc, argv, &c)) return 2;
    if (c.selftest) return run_selftest();
    switch (c.mode) {
    case MODE_TOKENIZE: return for_each_input_line(&c, tokenize_line);
    case MODE_DECODE: return for_each_input_line(&c, decode_line);
    case MODE_GENERATE: return run_generate(&c);
    case MODE_LOGITS:
        if (!c.g.logits_dir) c.g.logits_dir = "logits";
        /* fall through */
    case MODE_GETP:
    case MODE_AUTO:
        if (!c.g.model_path) return fail("no model given (see getp --help)");
        if (!c.g.input_path) return fail("-i INPUT is required in this mode");
        if (!c.g.output_path) return fail("-o OUTPUT is required in this mode");
        return getp_main(&c.g);
    }
    return 0;
}
