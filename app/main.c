/* main.c: the getp command line.
 *
 *   getp MODEL [options]           MODEL = course .bin file or checkpoint directory
 *
 * Modes (-m): getp (batch: -i file -o file, over MPI), generate (one prompt,
 * streamed text), tokenize / decode (tokenizer only), logits (teacher-forced
 * logits as .npy plus the greedy continuation). The course's short flags keep
 * working; every error is one line on stderr and a non-zero exit.
 */
#include "cli.h"            // Cli, Mode, the modes
#include "engine_factory.h" // engine_selftest
#include "harmony.h"        // harmony_effort_valid, harmony_date_valid

#include <errno.h>
#include <float.h>
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
    "                          (tokenize on a JSONL or Batch file: each request's prompt ids)\n"
    "  -o, --output FILE       getp/logits: result file\n"
    "  -n, --steps N           position bound per request: at most N - prompt + 1 new ids (default 1024);\n"
    "                          0 or more than the model's context = the model's context\n"
    "  -z, --tokenizer FILE    tokenizer: tiktoken rank file or course tokenizer.bin\n"
    "                          (default: $GETP_TOKENIZER; not needed for ids in and ids out)\n"
    "  -t, --temperature T     0 = greedy (default 0)\n"
    "  -p, --top-p P           nucleus sampling mass, in (0, 1] (default 1 = off)\n"
    "  -k, --top-k K           keep the K most probable ids (default 0 = off)\n"
    "      --min-p P           keep ids at least P times as probable as the best, in [0, 1]\n"
    "                          (default 0 = off)\n"
    "  -s, --seed N            sampling seed (default 42); JSONL and Batch lines may set their own\n"
    "                          temperature, top_p, top_k, min_p, seed, logprobs (docs/io_formats.md)\n"
    "      --input-format F    auto | text | ids | jsonl | batch (default auto)\n"
    "      --ignore-eos        do not stop on <|endoftext|> / <|return|> (benchmarks)\n"
    "      --backend B         auto | cpu | gpu (default auto: gpu when built with one)\n"
    "      --batch N           sequences in flight per GPU (default: from free memory)\n"
    "      --precise           GPU: keep activations and the KV cache to ~16 mantissa bits\n"
    "                          (fp32-grade logits; ~2x the GEMM work, 2x the KV memory)\n"
    "      --share-gpu         allow more ranks on a node than GPUs\n"
    "      --logits-dir DIR    logits mode: write DIR/request_<i>.npy (default: logits)\n"
    "      --resume            keep finished results (the output and its journal), run the rest\n"
    "      --progress[=MODE]   progress on stderr: bar (one line redrawn; default on a terminal),\n"
    "                          lines (a plain line every interval; default otherwise), json (one\n"
    "                          JSON object per line), off; auto = the default\n"
    "      --progress-interval S\n"
    "                          seconds between progress reports (default 1 for the bar, else 10)\n"
    "      --no-journal        do not journal finished requests to OUTPUT.journal (a kill then\n"
    "                          loses the unfinished round)\n"
    "      --json-lines        tokenize: input lines are JSON strings; decode: print JSON strings\n"
    "      --reasoning-effort E\n"
    "                          chats: low | medium | high unless a request sets reasoning_effort\n"
    "                          (default medium)\n"
    "      --date YYYY-MM-DD   chats: the \"Current date\" of the prompt (default: $GETP_DATE, else\n"
    "                          today's UTC date); it is part of the prompt, so it changes the output\n"
    "  -v, --verbose           more detail on stderr\n"
    "  -h, --help              this text\n";

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    return 1;
}

static int parse_int(const char *s, const char *what, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_fail("%s must be an integer in [%ld, %ld], got '%s'", what, lo, hi, s);
    *out = v;
    return 0;
}

/* Decimal digits only: strtoull would take "-1" (and wrap it) and " +1". */
static int parse_seed(const char *s, uint64_t *out) {
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) break;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0 || s[i])
        return cli_fail("-s (seed) must be an integer in [0, %llu], got '%s'", (unsigned long long)UINT64_MAX, s);
    *out = v;
    return 0;
}

static int parse_float(const char *s, const char *what, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return cli_fail("%s must be a number in [%g, %g], got '%s'", what, lo, hi, s);
    *out = (float)v;
    return 0;
}

/* A probability-like number in [0, 1], or (0, 1] with open_lo. */
static int parse_unit(const char *s, const char *what, int open_lo, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(open_lo ? v > 0.0 : v >= 0.0) || !(v <= 1.0))
        return cli_fail("%s must be a number in %s, got '%s'", what, open_lo ? "(0, 1]" : "[0, 1]", s);
    *out = (float)v;
    if (open_lo && *out <= 0.0f) *out = FLT_MIN; // 1e-50 stays above 0
    return 0;
}

static int parse_mode(const char *s, Mode *m) {
    static const struct { const char *name; Mode mode; } modes[] = {
        {"getp", MODE_GETP},         {"generate", MODE_GENERATE}, {"tokenize", MODE_TOKENIZE},
        {"decode", MODE_DECODE},     {"logits", MODE_LOGITS},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(s, modes[i].name)) return *m = modes[i].mode, 0;
    return cli_fail("unknown mode '%s' (getp, generate, tokenize, decode, logits)", s);
}

static int parse_input_format(const char *s, InputFormat *f) {
    static const char *names[] = {"auto", "text", "ids", "jsonl", "batch"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return *f = (InputFormat)i, 0;
    return cli_fail("unknown input format '%s' (auto, text, ids, jsonl, batch)", s);
}

static int parse_backend(const char *s, Backend *b) {
    if (!strcmp(s, "auto")) return *b = BACKEND_AUTO, 0;
    if (!strcmp(s, "cpu")) return *b = BACKEND_CPU, 0;
    if (!strcmp(s, "gpu")) return *b = BACKEND_GPU, 0;
    return cli_fail("unknown backend '%s' (auto, cpu, gpu)", s);
}

enum {
    OPT_INPUT_FORMAT = 256, OPT_IGNORE_EOS, OPT_BACKEND, OPT_BATCH, OPT_SHARE_GPU, OPT_LOGITS_DIR,
    OPT_RESUME, OPT_PROGRESS, OPT_JSON_LINES, OPT_SELFTEST, OPT_PRECISE, OPT_REASONING_EFFORT, OPT_DATE,
    OPT_MIN_P, OPT_PROGRESS_INTERVAL, OPT_NO_JOURNAL,
};

/* --progress MODE (the word may also follow as the next argument). */
static int parse_progress(const char *s, int *mode) {
    static const struct { const char *name; int mode; } modes[] = {
        {"bar", PROGRESS_BAR}, {"lines", PROGRESS_LINES}, {"line", PROGRESS_LINES},
        {"json", PROGRESS_JSON}, {"off", PROGRESS_OFF},
    };
    if (!strcmp(s, "auto")) return *mode = isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_LINES, 0;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(s, modes[i].name)) return *mode = modes[i].mode, 0;
    return cli_fail("unknown progress mode '%s' (auto, bar, lines, json, off)", s);
}

static int is_progress_mode(const char *s) {
    return s && (!strcmp(s, "auto") || !strcmp(s, "bar") || !strcmp(s, "lines") || !strcmp(s, "line") ||
                 !strcmp(s, "json") || !strcmp(s, "off"));
}

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
        {"progress", optional_argument, 0, OPT_PROGRESS},
        {"progress-interval", required_argument, 0, OPT_PROGRESS_INTERVAL},
        {"no-journal", no_argument, 0, OPT_NO_JOURNAL},
        {"json-lines", no_argument, 0, OPT_JSON_LINES},
        {"selftest", no_argument, 0, OPT_SELFTEST},
        {"precise", no_argument, 0, OPT_PRECISE},
        {"reasoning-effort", required_argument, 0, OPT_REASONING_EFFORT},
        {"date", required_argument, 0, OPT_DATE},
        {"top-k", required_argument, 0, 'k'},
        {"min-p", required_argument, 0, OPT_MIN_P},
        {0, 0, 0, 0},
    };
    GetpOptions *g = &c->g;
    int opt;
    long v;
    opterr = 0; // one error line, ours (the leading ':' tells a missing value from an unknown option)
    while ((opt = getopt_long(argc, argv, ":m:i:o:n:z:t:p:k:s:vh", longs, NULL)) != -1) {
        switch (opt) {
        case 'm': if (parse_mode(optarg, &c->mode)) return 1; break;
        case 'i': g->input_path = optarg; break;
        case 'o': g->output_path = optarg; break;
        case 'n': if (parse_int(optarg, "-n (steps)", 0, 1L << 30, &v)) return 1; g->steps = (int)v; break;
        case 'z': g->tokenizer_path = optarg; break;
        case 't': if (parse_float(optarg, "-t/--temperature", 0, 100, &g->temperature)) return 1; break;
        case 'p': if (parse_unit(optarg, "-p/--top-p", 1, &g->top_p)) return 1; break;
        case 'k': if (parse_int(optarg, "-k/--top-k", 0, INT32_MAX, &v)) return 1; g->top_k = (int)v; break;
        case OPT_MIN_P: if (parse_unit(optarg, "--min-p", 0, &g->min_p)) return 1; break;
        case 's': if (parse_seed(optarg, &g->seed)) return 1; break;
        case 'v': g->verbose = 1; break;
        case 'h': fputs(USAGE, stdout); exit(0);
        case OPT_INPUT_FORMAT: if (parse_input_format(optarg, &g->input_format)) return 1; break;
        case OPT_IGNORE_EOS: g->ignore_eos = 1; break;
        case OPT_BACKEND: if (parse_backend(optarg, &g->backend)) return 1; break;
        case OPT_BATCH: if (parse_int(optarg, "--batch", 1, 1 << 20, &v)) return 1; g->batch_size = (int)v; break;
        case OPT_SHARE_GPU: g->share_gpu = 1; break;
        case OPT_LOGITS_DIR: g->logits_dir = optarg; break;
        case OPT_RESUME: g->resume = 1; break;
        case OPT_PROGRESS:
            if (!optarg && is_progress_mode(argv[optind])) optarg = argv[optind++];
            if (parse_progress(optarg ? optarg : "auto", &g->progress)) return 1;
            break;
        case OPT_PROGRESS_INTERVAL: {
            float s;
            if (parse_float(optarg, "--progress-interval", 0.05, 86400, &s)) return 1;
            g->progress_interval = s;
            break;
        }
        case OPT_NO_JOURNAL: g->no_journal = 1; break;
        case OPT_JSON_LINES: c->json_lines = 1; break;
        case OPT_SELFTEST: c->selftest = 1; break;
        case OPT_PRECISE: g->precise = 1; break;
        case OPT_REASONING_EFFORT:
            if (!harmony_effort_valid(optarg))
                return cli_fail("--reasoning-effort must be low, medium or high, got '%s'", optarg);
            g->reasoning_effort = optarg;
            break;
        case OPT_DATE:
            if (!harmony_date_valid(optarg)) return cli_fail("--date must be a date YYYY-MM-DD, got '%s'", optarg);
            g->date = optarg;
            break;
        case ':': return cli_fail("option '%s' needs a value (see getp --help)", argv[optind - 1]);
        default: return cli_fail("unknown option '%s' (see getp --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) g->model_path = argv[optind++];
    if (optind < argc) return cli_fail("unexpected argument '%s' (see getp --help)", argv[optind]);
    if (!g->tokenizer_path) g->tokenizer_path = getenv("GETP_TOKENIZER");
    if (!g->date && (g->date = getenv("GETP_DATE")) && !harmony_date_valid(g->date))
        return cli_fail("GETP_DATE must be a date YYYY-MM-DD, got '%s'", g->date);
    if (c->mode == MODE_AUTO) {
        /* -o names a result file: batch mode (a missing -i file is then reported as such) */
        c->mode = g->output_path ? MODE_GETP : MODE_GENERATE;
    }
    return 0;
}

/* --------------------------------------------------------------------- main */

void getp_options_default(GetpOptions *o) {
    memset(o, 0, sizeof *o);
    o->steps = 1024; /* the course workload's -n */
    o->temperature = 0.0f;
    o->top_p = 1.0f;
    o->seed = 42;
    o->progress = isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_LINES;
}

int main(int argc, char **argv) {
    Cli c;
    memset(&c, 0, sizeof c);
    getp_options_default(&c.g);
    if (parse_args(argc, argv, &c)) return 2;
    if (c.selftest) return engine_selftest(stdout);
    switch (c.mode) {
    case MODE_TOKENIZE: return run_tokenize(&c);
    case MODE_DECODE: return run_decode(&c);
    case MODE_GENERATE: return run_generate(&c);
    case MODE_LOGITS:
        if (!c.g.logits_dir) c.g.logits_dir = "logits";
        /* fall through */
    case MODE_GETP:
    case MODE_AUTO:
        if (!c.g.model_path) return cli_fail("no model given (see getp --help)");
        if (!c.g.input_path) return cli_fail("-i INPUT is required in this mode");
        if (!c.g.output_path) return cli_fail("-o OUTPUT is required in this mode");
        return getp_main(&c.g);
    }
    return 0;
}
