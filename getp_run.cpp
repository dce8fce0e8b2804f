/* getp_run.cpp: the batch ("getp") flow over MPI, the course's extension point.
 *
 * The course names its three steps; so do we:
 *   warm_up    every rank loads the model and builds its engine (CPU, or the
 *              GPU picked by node-local rank); rank 0 opens the tokenizer, the
 *              request reader and the output writer. Any failure on any rank
 *              becomes one message on rank 0 and a non-zero exit everywhere.
 *   inference  rounds: rank 0 reads up to a round of requests, splits them by
 *              expected work (n_prompt + max new tokens) across the ranks,
 *              scatters parameters and prompt ids, every rank generates its
 *              share, rank 0 gathers the outputs and writes them in input order.
 *              Only rank 0 ever holds more than its own share of the input.
 *              Inside a round every rank journals each request it finishes
 *              (app/resume.h) and reports progress to rank 0 (app/progress.h),
 *              both from the engine's on_finish / on_token callbacks; SIGTERM
 *              and SIGINT stop a rank at once, journal synced (app/interrupt.h).
 *              With --resume, requests a journal brought back are written, not run.
 *   finish     close the files, remove the journals, report, free.
 *
 * Results do not depend on the number of ranks: an engine's output for a
 * request depends only on that request (engine.h), sampling seeds included.
 *
 * Rank 0 prints on stdout (one line each, stable, for grep; see jobs/README.md):
 *   requests: N (E errors, S done before --resume)   S: in the output or a journal
 *   warm_up: 1.234 s                  slowest rank, start to engine ready
 *   elapsed: 5.678 s                  first scatter to the end of the last gather
 *   tokens: 12345                     generated ids, all ranks
 *   throughput: 2174.30 tok/s         tokens / elapsed
 *   rank R: requests N work W vs_ideal +P% tokens T seconds S tok/s X
 *                                     one per rank: its share of the split (work =
 *                                     sum of n_prompt + max new tokens), its output
 *                                     and its time inside engine->generate
 *   imbalance: 1.23 %                 largest rank work over the mean, minus 1
 * With --verbose each round's split goes to stderr ("split: rank R requests N work W ...").
 * Environment: GETP_ROUND_SIZE (requests per round), GETP_MPI_CHUNK (tests).
 *
 * The pieces live elsewhere: the round protocol in mpi/round.c, the engine
 * choice in app/engine_factory.c, the report in app/report.c, the formats
 * behind src/requests.h. Compiled as C++ (the course's file name) but
 * written in the C subset.
 */
#include "dist.h"           // dist_init, MPI_CHECK, dist_agree, dist_bcast_status, dist_gpu_bind
#include "engine.h"         // Engine, Output, steps_bound
#include "engine_factory.h" // engine_create, engine_gpu_count, engine_use_gpu
#include "getp.h"           // GetpOptions, getp_main
#include "interrupt.h"      // interrupt_install, interrupt_set, GETP_EXIT_INTERRUPTED
#include "journal.h"        // JournalSet, journal_set_find
#include "model.h"          // Model, model_load
#include "progress.h"       // Progress: live progress inside a round
#include "report.h"         // RankStats, report_final, write_request_logits
#include "requests.h"       // RequestReader, OutputWriter, reader_open, writer_open
#include "resume.h"         // run_identity, resume_collect, RankJournal
#include "round.h"          // RoundPlan, round_plan, round_scatter, round_gather
#include "tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct {
    const GetpOptions *o;
    MPI_Comm comm;
    int rank, size;
    Model model;
    int have_model;
    Engine *engine;
    /* rank 0 only */
    Tokenizer *tok;
    RequestReader *reader;
    OutputWriter *writer;
    InputFormat fmt;
    int64_t done;        // requests already in the output (--resume)
    int64_t total;       // requests in the input, -1 if unknown
    int64_t n_errors;    // requests that went straight to the writer as errors
    int64_t n_failed;    // requests the engine could not run (FINISH_ERROR)
    int64_t round_max;   // requests per round (GETP_ROUND_SIZE or 4096 per rank)
    int64_t n_read;      // requests the reader handed out (--resume check)
    int64_t *rank_work;  // (size) cumulative split work
    int64_t *rank_reqs;  // (size) cumulative split requests
    double elapsed;      // first scatter to end of last gather
    int lock_fd;         // flock'ed output file (one writer per file)
    JournalSet recovered; // finished requests read back from the journals (--resume)
    int64_t input_lines; // the input's non-blank lines (JSONL: its requests)
    /* every rank */
    double warm_up_s;    // slowest rank
    RankStats mine;
    int use_gpu;         // the backend every rank runs
    char *identity;      // the run's identity (resume.h), the header of every journal
    char *journal_dir;   // OUT.journal
    RankJournal *journal; // this rank's (NULL with --no-journal)
    Progress *progress;
} Getp;

/* Requests per round: GETP_ROUND_SIZE (1..ROUND_SIZE_MAX; anything else is
 * refused) or 4096 per rank. */
#define ROUND_SIZE_MAX (1 << 20)
static int parse_round_size(Getp *g, Err *err) {
    const char *env = getenv("GETP_ROUND_SIZE");
    g->round_max = (int64_t)4096 * g->size;
    if (g->round_max > ROUND_SIZE_MAX) g->round_max = ROUND_SIZE_MAX;
    if (!env || !*env) return GETP_OK;
    int64_t v = 0;
    size_t i = 0;
    for (; env[i] >= '0' && env[i] <= '9' && v <= ROUND_SIZE_MAX; i++) v = v * 10 + (env[i] - '0');
    if (env[i] || v < 1 || v > ROUND_SIZE_MAX)
        return err_set(err, "GETP_ROUND_SIZE must be an integer in [1, %d] (requests per round), got '%.40s'",
                       ROUND_SIZE_MAX, env);
    g->round_max = v;
    return GETP_OK;
}

/* The round buffer: a round, or the requests left when fewer are known to remain. */
static int64_t round_size(const Getp *g) {
    int64_t left = g->total >= 0 ? g->total - g->done : -1;
    if (left >= 0 && left < g->round_max) return left > 0 ? left : 1;
    return g->round_max;
}

/* ------------------------------------------------------------------ warm_up */

/* Every rank: the engine, on the GPU of its node-local rank when all ranks have one. */
static Engine *build_engine(Getp *g, Err *err) {
    const GetpOptions *o = g->o;
    const int n_dev = engine_gpu_count(o);
    const int use_gpu = g->use_gpu;
    int device = 0;
    if (use_gpu && n_dev > 0) {
        int local_rank = 0, local_size = 1;
        if (dist_gpu_bind(g->comm, n_dev, o->share_gpu, &device, &local_rank, &local_size, err) != GETP_OK)
            return NULL;
        if (o->verbose)
            fprintf(stderr, "getp: rank %d: local rank %d of %d, GPU %d of %d visible\n", g->rank,
                    local_rank, local_size, device, n_dev);
    }
    return engine_create(o, &g->model, use_gpu, device, err);
}

/* --resume found more results in the output than the input has requests
 * (known up front for a counted file, at the end of a stream). */
static int resume_overrun(const Getp *g, int64_t requests, Err *err) {
    return err_set(err, "--resume: %s holds %lld results but %s has only %lld requests: the output of another "
                        "input?", g->o->output_path, (long long)g->done, g->o->input_path, (long long)requests);
}

/* Rank 0: tokenizer, reader, writer. Nothing is created or written before the
 * input is open and known good (docs/io_formats.md "Files getp refuses"). */
static int open_files(Getp *g, Err *err) {
    const GetpOptions *o = g->o;
    if (!o->input_path || !o->output_path) return err_set(err, "getp mode needs -i INPUT and -o OUTPUT");
    if (parse_round_size(g, err) != GETP_OK) return GETP_ERR;
    if (o->tokenizer_path && tokenizer_load(o->tokenizer_path, &g->tok, err) != GETP_OK) return GETP_ERR;
    const Config *c = &g->model.cfg;
    RequestDefaults d;
    memset(&d, 0, sizeof d);
    d.max_seq_len = c->max_seq_len;
    d.steps = steps_bound(o->steps, c);
    d.vocab_size = c->vocab_size;
    d.temperature = o->temperature;
    d.top_p = o->top_p;
    d.top_k = o->top_k, d.min_p = o->min_p;
    d.seed = o->seed;
    d.ignore_eos = o->ignore_eos;
    d.reasoning_effort = o->reasoning_effort;
    d.date = o->date;
    if (reader_open(o->input_path, o->input_format, g->tok, &d, &g->reader, &g->fmt, err) != GETP_OK)
        return GETP_ERR;
    g->total = g->reader->total(g->reader);
    /* -o must not be the input, the model or the tokenizer; one getp per output (a lock) */
    const char *inputs[3] = {o->input_path, o->model_path, o->tokenizer_path};
    const char *roles[3] = {"input (-i)", "model", "tokenizer (-z)"};
    if (output_lock(o->output_path, inputs, roles, 3, &g->lock_fd, err) != GETP_OK) return GETP_ERR;
    if (writer_open(o->output_path, g->fmt, g->tok, o->resume, &g->writer, &g->done, err) != GETP_OK)
        return GETP_ERR;
    if (g->total >= 0 && g->done > g->total) return resume_overrun(g, g->total, err);
    if (g->done > 0)
        fprintf(stderr, "getp: --resume: %lld requests already in %s, skipping them\n",
                (long long)g->done, o->output_path);
    return GETP_OK;
}

/* Every rank: one backend for all (GPU only if every rank has one), and the
 * run's identity; rank 0 checks the journals of an earlier run against it
 * (resume.h) before the slow engine build. */
static int agree_run(Getp *g, Err *err) {
    int all_have = engine_gpu_count(g->o) > 0, every = 0;
    MPI_CHECK(MPI_Allreduce(&all_have, &every, 1, MPI_INT, MPI_MIN, g->comm));
    g->use_gpu = engine_use_gpu(g->o, every);
    int st = GETP_OK;
    int64_t len = 0;
    if (g->rank == 0) {
        g->identity = run_identity(g->o, &g->model, g->fmt, g->use_gpu, &g->input_lines, err);
        st = g->identity ? resume_collect(g->journal_dir, g->identity, g->o->resume, g->done, &g->recovered, err)
                         : GETP_ERR;
        len = g->identity ? (int64_t)strlen(g->identity) : 0;
    }
    if (dist_bcast_status(g->comm, 0, st, err) != GETP_OK) return GETP_ERR;
    MPI_CHECK(MPI_Bcast(&len, 1, MPI_INT64_T, 0, g->comm));
    if (g->rank != 0) g->identity = (char *)xcalloc((size_t)len + 1, 1);
    MPI_CHECK(MPI_Bcast(g->identity, (int)len, MPI_CHAR, 0, g->comm));
    return GETP_OK;
}

static int warm_up(Getp *g, Err *err) {
    double t0 = now_seconds();
    int st = model_load(g->o->model_path, &g->model, err);
    g->have_model = st == GETP_OK;
    if (dist_agree(g->comm, st, err) != GETP_OK) return GETP_ERR;
    /* Input problems are known before the (slow) engine build. */
    if (g->rank == 0) {
        st = resume_precheck(g->o->output_path, g->journal_dir, g->o->resume, err);
        if (st == GETP_OK) st = open_files(g, err);
    }
    if (dist_bcast_status(g->comm, 0, st, err) != GETP_OK) return GETP_ERR;
    if (agree_run(g, err) != GETP_OK) return GETP_ERR;
    g->engine = build_engine(g, err);
    if (dist_agree(g->comm, g->engine ? GETP_OK : GETP_ERR, err) != GETP_OK) return GETP_ERR;
    if (g->o->verbose)
        fprintf(stderr, "getp: rank %d of %d: %s engine ready in %.3f s\n", g->rank, g->size, g->engine->name,
                now_seconds() - t0);
    double mine = now_seconds() - t0;
    MPI_CHECK(MPI_Allreduce(&mine, &g->warm_up_s, 1, MPI_DOUBLE, MPI_MAX, g->comm));
    return GETP_OK;
}

/* ---------------------------------------------------------------- inference */

/* Rank 0: the next round, requests already in the output (--resume) dropped.
 * *n == 0 at the end of the input. */
static int read_round(Getp *g, int max, InputRequest *reqs, int *n, Err *err) {
    for (;;) {
        if (g->reader->next(g->reader, max, reqs, n, err) != GETP_OK) return GETP_ERR;
        g->n_read += *n;
        if (*n == 0 && g->n_read < g->done) return resume_overrun(g, g->n_read, err);
        if (*n == 0) return GETP_OK;
        int kept = 0;
        for (int i = 0; i < *n; i++) {
            if (reqs[i].index < g->done) {
                input_request_free(&reqs[i]);
                continue;
            }
            if (kept != i) reqs[kept] = reqs[i];
            kept++;
        }
        *n = kept;
        if (kept > 0) return GETP_OK;
    }
}

static void print_split(const Getp *g, FILE *f, const int64_t *reqs, const int64_t *load) {
    int64_t total = 0;
    for (int r = 0; r < g->size; r++) total += load[r];
    double ideal = (double)total / g->size;
    for (int r = 0; r < g->size; r++)
        fprintf(f, "split: rank %d requests %lld work %lld (%+.1f%% vs ideal)\n", r, (long long)reqs[r],
                (long long)load[r], ideal > 0 ? 100.0 * ((double)load[r] - ideal) / ideal : 0.0);
}

/* The engine's callbacks, on the thread that runs generate: journal the
 * finished request, log it (--verbose), count progress. */
static void on_finish_cb(void *ctx, const Output *o) {
    Getp *g = (Getp *)ctx;
    rank_journal_add(g->journal, o);
    if (g->o->verbose)
        fprintf(stderr, "getp: rank %d: finished request %lld (%d tokens)\n", g->rank, (long long)o->index,
                o->n_tokens);
    progress_finished(g->progress, o);
}

static void on_token_cb(void *ctx, int64_t index, int32_t token) {
    (void)index;
    (void)token;
    progress_token(((Getp *)ctx)->progress);
}

/* Every rank, as inference starts: rank 0 folds what --resume recovered into
 * the journal folder, every rank opens its own journal, progress reports
 * begin, and a signal says from now on what it leaves behind. */
static int journal_start(Getp *g, Err *err) {
    int st = g->rank == 0 ? resume_prepare(g->journal_dir, g->identity, &g->recovered, err) : GETP_OK;
    if (dist_bcast_status(g->comm, 0, st, err) != GETP_OK) return GETP_ERR;
    if (!g->o->no_journal) g->journal = rank_journal_open(g->journal_dir, g->rank, g->identity);
    char msg[1024];
    if (g->rank == 0)
        snprintf(msg, sizeof msg, "stopped; finished requests are kept in %s%s%s: run the same command with "
                 "--resume to go on (exit %d)", g->o->output_path, g->journal ? " and " : "",
                 g->journal ? g->journal_dir : "", GETP_EXIT_INTERRUPTED);
    else if (rank_journal_fd(g->journal) >= 0)
        snprintf(msg, sizeof msg, "rank %d stopped; its journal %s/rank-%d is saved", g->rank, g->journal_dir,
                 g->rank);
    else
        snprintf(msg, sizeof msg, "rank %d stopped (no journal)", g->rank);
    interrupt_set(rank_journal_fd(g->journal), msg);
    g->progress = progress_create(g->comm, g->o->progress, g->o->progress_interval);
    if (g->rank == 0) {
        progress_set_total(g->progress, g->total >= 0 ? g->total : g->input_lines);
        progress_add_done(g->progress, g->done + g->recovered.n);
    }
    g->engine->on_finish = on_finish_cb;
    g->engine->on_finish_ctx = g;
    g->engine->on_token = on_token_cb;
    g->engine->on_token_ctx = g;
    return GETP_OK;
}

/* Every rank, at the end: close its journal; once the output is complete
 * (collective then) the journals go. */
static void journal_stop(Getp *g, int complete) {
    interrupt_set(-1, complete ? "stopped after the output was complete" : "stopped after a failure");
    rank_journal_close(g->journal, complete);
    g->journal = NULL;
    if (!complete || !g->journal_dir) return;
    MPI_CHECK(MPI_Barrier(g->comm)); /* every rank's own journal removed */
    if (g->rank == 0) resume_cleanup(g->journal_dir);
    else rmdir(g->journal_dir); /* a node that does not share rank 0's folder has its own */
}

/* This rank's part of one round: its share in, its engine, its outputs back
 * to rank 0 (res filled there). Rank 0 passes the plan and the requests that
 * run. */
static int run_round(Getp *g, const RoundPlan *rp, const InputRequest *reqs, int n_round,
                     RoundResult *res, Err *err) {
    RoundShare share;
    round_scatter(g->comm, rp, &share);
    const int64_t n = share.n;
    Output *outs = (Output *)xcalloc((size_t)(n > 0 ? n : 1), sizeof *outs);
    int st = GETP_OK;
    progress_round_begin(g->progress);
    double t0 = now_seconds();
    if (n > 0) st = g->engine->generate(g->engine, share.reqs, (int)n, outs, err);
    g->mine.seconds += now_seconds() - t0;
    if (st == GETP_OK && g->o->logits_dir)
        st = write_request_logits(g->engine, g->o->logits_dir, g->model.cfg.vocab_size, share.reqs, outs,
                                  n, err);
    progress_round_end(g->progress); /* rank 0 reports until every rank is here */
    if (dist_agree(g->comm, st, err) == GETP_OK) {
        round_gather(g->comm, rp, outs, n, n_round, reqs, res);
        for (int64_t i = 0; i < n; i++) {
            g->mine.tokens += outs[i].n_tokens;
            g->mine.work += request_work(&share.params[i]);
        }
        g->mine.requests += n;
    } else {
        st = GETP_ERR;
    }
    for (int64_t i = 0; i < n; i++) output_free(&outs[i]);
    free(outs);
    round_share_free(&share);
    return st;
}

/* Rank 0: the requests of a round that must run, in order (shallow copies):
 * those a journal did not bring back. Input errors are done at once. */
static int requests_to_run(Getp *g, const InputRequest *reqs, int n, InputRequest *run) {
    int n_run = 0, n_err = 0;
    for (int i = 0; i < n; i++) {
        if (journal_set_find(&g->recovered, reqs[i].index)) continue;
        n_err += reqs[i].error != NULL;
        run[n_run++] = reqs[i];
    }
    progress_add_done(g->progress, n_err);
    return n_run;
}

/* Rank 0: the round's outputs in input order (shallow copies): recovered from
 * a journal, or from this round's gather (res answers the requests to run). */
static void merge_round(const Getp *g, const InputRequest *reqs, int n, const RoundResult *res, Output *outs) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        const Output *rec = journal_set_find(&g->recovered, reqs[i].index);
        outs[i] = rec ? *rec : res->outs[k++];
    }
    CHECK(k == res->n);
}

/* Rank 0: write one round in input order. */
static int write_round(Getp *g, const InputRequest *reqs, const Output *outs, int n, Err *err) {
    int st = GETP_OK;
    for (int i = 0; i < n && st == GETP_OK; i++) {
        if (reqs[i].error) g->n_errors++;
        else if (outs[i].finish == FINISH_ERROR) {
            g->n_failed++;
            fprintf(stderr, "getp: request %lld: the engine could not run it\n", (long long)reqs[i].index);
        }
        st = g->writer->write(g->writer, &reqs[i], &outs[i], err);
    }
    if (st == GETP_OK) st = g->writer->flush(g->writer, err);
    return st;
}

static int inference(Getp *g, Err *err) {
    int root = g->rank == 0;
    if (journal_start(g, err) != GETP_OK) return GETP_ERR;
    int max = root ? (int)round_size(g) : 0;
    InputRequest *reqs = root ? (InputRequest *)xcalloc((size_t)max, sizeof *reqs) : NULL;
    InputRequest *run = root ? (InputRequest *)xcalloc((size_t)max, sizeof *run) : NULL;
    Output *outs = root ? (Output *)xcalloc((size_t)max, sizeof *outs) : NULL;
    int64_t n_rounds = 0;
    double t_first = -1, t_last = 0;
    int st = GETP_OK;
    for (;;) {
        int n = 0;
        if (root && st == GETP_OK) st = read_round(g, max, reqs, &n, err);
        if (dist_bcast_status(g->comm, 0, st, err) != GETP_OK) {
            for (int i = 0; i < n; i++) input_request_free(&reqs[i]);
            st = GETP_ERR;
            break;
        }
        int64_t more = n;
        MPI_CHECK(MPI_Bcast(&more, 1, MPI_INT64_T, 0, g->comm));
        if (!more) break;
        rank_journal_new_round(g->journal); /* rank 0 wrote every earlier round before that broadcast */

        RoundPlan rp;
        memset(&rp, 0, sizeof rp);
        int n_run = 0;
        if (root) {
            n_run = requests_to_run(g, reqs, n, run);
            round_plan(run, n_run, g->size, &rp);
            for (int r = 0; r < g->size; r++) {
                g->rank_reqs[r] += rp.count[r];
                g->rank_work[r] += rp.load[r];
            }
            if (g->o->verbose) {
                fprintf(stderr, "getp: round %lld: %d requests (%lld to run)\n", (long long)n_rounds, n,
                        (long long)rp.n_send);
                print_split(g, stderr, rp.count, rp.load);
            }
        }
        if (t_first < 0) t_first = now_seconds();
        RoundResult res;
        memset(&res, 0, sizeof res);
        st = run_round(g, &rp, run, n_run, &res, err);
        t_last = now_seconds();
        int engine_failed = st != GETP_OK; /* agreed on by every rank */
        /* a write error is rank 0's alone: the others learn it from the next round's status */
        if (!engine_failed && root) {
            merge_round(g, reqs, n, &res, outs);
            st = write_round(g, reqs, outs, n, err);
        }
        round_result_free(&res);
        if (root) {
            for (int i = 0; i < n; i++) input_request_free(&reqs[i]);
            round_plan_free(&rp);
        }
        n_rounds++;
        if (engine_failed) break;
    }
    free(reqs);
    free(run);
    free(outs);
    g->elapsed = t_first >= 0 ? t_last - t_first : 0.0;
    if (st == GETP_OK) progress_final(g->progress);
    g->engine->on_finish = NULL;
    g->engine->on_token = NULL;
    progress_free(g->progress);
    g->progress = NULL;
    return st;
}

/* ------------------------------------------------------------------- finish */

static int finish(Getp *g, int status, Err *err) {
    int st = GETP_OK;
    Err cerr = {{0}};
    if (g->writer && g->writer->close(g->writer, &cerr) != GETP_OK) st = GETP_ERR;
    g->writer = NULL;
    if (g->reader) g->reader->close(g->reader);
    g->reader = NULL;
    if (g->tok) tokenizer_free(g->tok);
    g->tok = NULL;
    if (g->engine) g->engine->destroy(g->engine);
    g->engine = NULL;
    if (g->have_model) model_free(&g->model);
    g->have_model = 0;
    if (status != GETP_OK) {
        journal_stop(g, 0);
        return GETP_ERR;
    }
    if (dist_bcast_status(g->comm, 0, st, &cerr) != GETP_OK) {
        journal_stop(g, 0);
        *err = cerr;
        return GETP_ERR;
    }
    journal_stop(g, 1); /* the output is complete */
    /* the report: every rank's totals to rank 0 */
    double mine[3] = {(double)g->mine.requests, (double)g->mine.tokens, g->mine.seconds};
    double *flat = g->rank == 0 ? (double *)xcalloc((size_t)g->size * 3, sizeof *flat) : NULL;
    MPI_CHECK(MPI_Gather(mine, 3, MPI_DOUBLE, flat, 3, MPI_DOUBLE, 0, g->comm));
    if (g->rank == 0) {
        RankStats *all = (RankStats *)xcalloc((size_t)g->size, sizeof *all);
        int64_t reqs = 0;
        for (int r = 0; r < g->size; r++) {
            all[r].requests = (int64_t)flat[3 * r];
            all[r].tokens = (int64_t)flat[3 * r + 1];
            all[r].seconds = flat[3 * r + 2];
            all[r].work = g->rank_work[r];
            reqs += all[r].requests;
        }
        RunReport rep = {reqs + g->n_errors, g->n_errors + g->n_failed, g->done + g->recovered.n, g->warm_up_s, g->elapsed,
                         g->size, all};
        report_final(&rep);
        free(all);
    }
    free(flat);
    return GETP_OK;
}

/* ---------------------------------------------------------------- getp_main */

int getp_main(const GetpOptions *o) {
    Getp g;
    memset(&g, 0, sizeof g);
    g.o = o;
    g.comm = MPI_COMM_WORLD;
    g.total = -1;
    g.lock_fd = -1;
    dist_init(&g.rank, &g.size);
    interrupt_install();
    interrupt_set(-1, "stopped before any request ran");
    g.rank_work = (int64_t *)xcalloc((size_t)g.size, sizeof(int64_t));
    g.rank_reqs = (int64_t *)xcalloc((size_t)g.size, sizeof(int64_t));
    g.journal_dir = o->output_path ? journal_dir_of(o->output_path) : NULL;
    Err err = {{0}};
    int st = warm_up(&g, &err);
    int started = 0; /* inference began: the journals of the interrupted round stay */
    if (st == GETP_OK) {
        started = 1;
        st = inference(&g, &err);
    }
    st = finish(&g, st, &err);
    interrupt_uninstall();
    int kept = started && g.journal_dir && !o->no_journal;
    if (st != GETP_OK && g.rank == 0)
        fprintf(stderr, "getp: %s%s%s%s\n", err.msg, kept ? " (finished requests are kept in " : "",
                kept ? g.journal_dir : "", kept ? ": --resume goes on from them)" : "");
    /* exit status (README "Exit status"): 0 all ran, 3 some requests failed, 1 the run failed */
    int64_t failed = g.n_errors + g.n_failed;
    if (st == GETP_OK) MPI_CHECK(MPI_Bcast(&failed, 1, MPI_INT64_T, 0, g.comm));
    free(g.rank_work);
    free(g.rank_reqs);
    free(g.identity);
    free(g.journal_dir);
    journal_set_free(&g.recovered);
    if (g.lock_fd >= 0) close(g.lock_fd); /* releases the lock, after the writer closed */
    dist_finalize();
    return st != GETP_OK ? 1 : failed > 0 ? GETP_EXIT_PARTIAL : 0;
}
