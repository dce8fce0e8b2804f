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
 *   finish     close the files, report, free.
 *
 * Results do not depend on the number of ranks: an engine's output for a
 * request depends only on that request (engine.h), sampling seeds included.
 *
 * Rank 0 prints on stdout (one line each, stable, for grep; see jobs/README.md):
 *   requests: N (E errors, S done before --resume)
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
 * Compiled as C++ (the course's file name) but written in the C subset.
 */
#include "dist.h"     // dist_init, MPI_CHECK, dist_agree, dist_scatterv, dist_split, dist_gpu_bind
#include "engine.h"   // Engine, Request, Output, engine_cpu_create
#include "getp.h"     // GetpOptions, getp_main
#include "model.h"    // Model, model_load
#include "requests.h" // RequestReader, OutputWriter, reader_open, writer_open
#include "tokenizer.h"
#include "npy.h"      // npy_write_f32 (-m logits)
#ifdef GETP_HAVE_GPU
#include "engine_gpu.h" // engine_gpu_create, gpu_device_count
#endif

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Per-request record gathered back to rank 0 (tokens follow separately). */
typedef struct {
    int64_t index;
    int32_t finish;
    int32_t n_tokens;
} OutMeta;

/* Per-rank totals reported at the end. */
typedef struct {
    int64_t requests;
    int64_t work;
    int64_t tokens;
    double seconds; // time inside engine->generate
} RankStats;

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
    int64_t *rank_work;  // (size) cumulative split work
    int64_t *rank_reqs;  // (size) cumulative split requests
    double elapsed;      // first scatter to end of last gather
    /* every rank */
    double warm_up_s;    // slowest rank
    RankStats mine;
    int lock_fd;           // rank 0: flock'ed output file (one writer per file)
} Getp;

static int64_t request_work(const RequestParams *p) {
    if (p->n_prompt <= 0) return 0; /* an empty prompt generates nothing */
    int64_t new_max = (int64_t)p->steps - p->n_prompt + 1;
    return (int64_t)p->n_prompt + (new_max > 0 ? new_max : 0);
}

static int64_t round_size(const Getp *g) {
    const char *env = getenv("GETP_ROUND_SIZE");
    if (env && *env) {
        long long v = strtoll(env, NULL, 10);
        if (v > 0) return v < INT_MAX ? v : INT_MAX;
    }
    int64_t per_round = (int64_t)4096 * g->size;
    if (per_round > INT_MAX) per_round = INT_MAX;
    int64_t left = g->total >= 0 ? g->total - g->done : -1;
    if (left >= 0 && left < per_round) return left > 0 ? left : 1;
    return per_round;
}

/* ------------------------------------------------------------------ warm_up */

static Engine *create_engine(Getp *g, Err *err) {
    const GetpOptions *o = g->o;
#ifdef GETP_HAVE_GPU
    int n_dev = o->backend == BACKEND_CPU ? 0 : gpu_device_count();
    /* auto: GPU only if every rank sees one, so that all ranks run one backend */
    int all_have = n_dev > 0, every = 0;
    MPI_CHECK(MPI_Allreduce(&all_have, &every, 1, MPI_INT, MPI_MIN, g->comm));
    if (o->backend == BACKEND_GPU || (o->backend == BACKEND_AUTO && every)) {
        int device = 0, local_rank = 0, local_size = 1;
        if (dist_gpu_bind(g->comm, n_dev, o->share_gpu, &device, &local_rank, &local_size, err) != GETP_OK)
            return NULL;
        if (o->verbose)
            fprintf(stderr, "getp: rank %d: local rank %d of %d, GPU %d of %d visible\n", g->rank,
                    local_rank, local_size, device, n_dev);
        GpuOptions go = {device, o->batch_size, o->verbose, o->precise};
        return engine_gpu_create(&g->model, &go, err);
    }
#else
    if (o->backend == BACKEND_GPU)
        return err_set(err, "--backend gpu: this getp was built without a GPU backend "
                            "(configure with -DGETP_GPU=hip or cuda)"),
               (Engine *)NULL;
#endif
    return engine_cpu_create(&g->model, err);
}

/* Rank 0: tokenizer, reader, writer. */
static int open_files(Getp *g, Err *err) {
    const GetpOptions *o = g->o;
    if (!o->input_path || !o->output_path) return err_set(err, "getp mode needs -i INPUT and -o OUTPUT");
    if (o->tokenizer_path && tokenizer_load(o->tokenizer_path, &g->tok, err) != GETP_OK) return GETP_ERR;
    const Config *c = &g->model.cfg;
    RequestDefaults d;
    memset(&d, 0, sizeof d);
    d.max_seq_len = c->max_seq_len;
    d.steps = (o->steps <= 0 || o->steps > c->max_seq_len) ? c->max_seq_len : o->steps;
    d.vocab_size = c->vocab_size;
    d.temperature = o->temperature;
    d.top_p = o->top_p;
    d.seed = o->seed;
    d.ignore_eos = o->ignore_eos;
    /* one writer per output file: a second getp (say, a --resume started while
     * the ranks of a killed job are still finishing) is refused, not interleaved */
    g->lock_fd = open(o->output_path, O_WRONLY | O_CREAT, 0644);
    if (g->lock_fd < 0) return err_set(err, "cannot open output %s: %s", o->output_path, strerror(errno));
    if (flock(g->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return err_set(err, "%s is being written by another getp (locked); wait for it or kill it first",
                       o->output_path);
    if (reader_open(o->input_path, o->input_format, g->tok, &d, &g->reader, &g->fmt, err) != GETP_OK)
        return GETP_ERR;
    g->total = g->reader->total(g->reader);
    if (writer_open(o->output_path, g->fmt, g->tok, o->resume, &g->writer, &g->done, err) != GETP_OK)
        return GETP_ERR;
    if (g->done > 0)
        fprintf(stderr, "getp: --resume: %lld requests already in %s, skipping them\n",
                (long long)g->done, o->output_path);
    return GETP_OK;
}

static int warm_up(Getp *g, Err *err) {
    double t0 = now_seconds();
    int st = model_load(g->o->model_path, &g->model, err);
    g->have_model = st == GETP_OK;
    if (dist_agree(g->comm, st, err) != GETP_OK) return GETP_ERR;
    /* Input problems are known before the (slow) engine build. */
    st = g->rank == 0 ? open_files(g, err) : GETP_OK;
    if (dist_bcast_status(g->comm, 0, st, err) != GETP_OK) return GETP_ERR;
    g->engine = create_engine(g, err);
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

/* What rank 0 prepares to scatter one round: the sendable requests grouped by
 * rank, each rank's in input order. */
typedef struct {
    int64_t n_send;
    int64_t *pos;          // (n_send) round position of the k-th sent request
    RequestParams *params; // (n_send)
    int32_t *prompts;      // concatenated prompt ids, same order
    int64_t *count, *displ;  // (size) requests per rank
    int64_t *tcount, *tdispl; // (size) prompt ids per rank
    int64_t *load;         // (size) split work
} RoundPlan;

static void plan_round(Getp *g, const InputRequest *reqs, int n, RoundPlan *rp) {
    int size = g->size;
    int64_t *work = (int64_t *)xmalloc((size_t)(n > 0 ? n : 1) * sizeof *work);
    int64_t *item_pos = (int64_t *)xmalloc((size_t)(n > 0 ? n : 1) * sizeof *item_pos);
    int64_t m = 0;
    for (int i = 0; i < n; i++)
        if (!reqs[i].error) {
            work[m] = request_work(&reqs[i].p);
            item_pos[m++] = i;
        }
    int *owner = (int *)xmalloc((size_t)(m > 0 ? m : 1) * sizeof *owner);
    rp->count = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    rp->displ = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    rp->tcount = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    rp->tdispl = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    rp->load = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    dist_split(work, m, size, owner, rp->count, rp->load);
    for (int64_t k = 0; k < m; k++) rp->tcount[owner[k]] += reqs[item_pos[k]].p.n_prompt;
    for (int r = 1; r < size; r++) {
        rp->displ[r] = rp->displ[r - 1] + rp->count[r - 1];
        rp->tdispl[r] = rp->tdispl[r - 1] + rp->tcount[r - 1];
    }
    int64_t n_tok = size > 0 ? rp->tdispl[size - 1] + rp->tcount[size - 1] : 0;
    rp->n_send = m;
    rp->pos = (int64_t *)xmalloc((size_t)(m > 0 ? m : 1) * sizeof *rp->pos);
    rp->params = (RequestParams *)xmalloc((size_t)(m > 0 ? m : 1) * sizeof *rp->params);
    rp->prompts = (int32_t *)xmalloc((size_t)(n_tok > 0 ? n_tok : 1) * sizeof *rp->prompts);
    int64_t *at = (int64_t *)xcalloc((size_t)size, sizeof *at);   // requests placed per rank
    int64_t *tat = (int64_t *)xcalloc((size_t)size, sizeof *tat); // ids placed per rank
    for (int64_t k = 0; k < m; k++) { /* input order within each rank */
        int r = owner[k];
        const InputRequest *q = &reqs[item_pos[k]];
        int64_t slot = rp->displ[r] + at[r]++;
        rp->pos[slot] = item_pos[k];
        rp->params[slot] = q->p;
        if (q->p.n_prompt)
            memcpy(rp->prompts + rp->tdispl[r] + tat[r], q->prompt, (size_t)q->p.n_prompt * sizeof(int32_t));
        tat[r] += q->p.n_prompt;
    }
    free(at);
    free(tat);
    free(owner);
    free(item_pos);
    free(work);
}

static void free_round_plan(RoundPlan *rp) {
    free(rp->pos);
    free(rp->params);
    free(rp->prompts);
    free(rp->count);
    free(rp->displ);
    free(rp->tcount);
    free(rp->tdispl);
    free(rp->load);
    memset(rp, 0, sizeof *rp);
}

static void print_split(const Getp *g, FILE *f, const int64_t *reqs, const int64_t *load) {
    int64_t total = 0;
    for (int r = 0; r < g->size; r++) total += load[r];
    double ideal = (double)total / g->size;
    for (int r = 0; r < g->size; r++)
        fprintf(f, "split: rank %d requests %lld work %lld (%+.1f%% vs ideal)\n", r, (long long)reqs[r],
                (long long)load[r], ideal > 0 ? 100.0 * ((double)load[r] - ideal) / ideal : 0.0);
}

/* -m logits: each rank writes, for each of its requests that ran, the
 * teacher-forced logits of every prompt position to
 * LOGITS_DIR/request_<index>.npy ((n_prompt, V) float32). The folder must be
 * shared by the ranks (one node, or a shared file system). */
static int write_logits(Getp *g, const Request *reqs, const Output *outs, int64_t n, Err *err) {
    const char *dir = g->o->logits_dir;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_set(err, "cannot create the logits folder %s: %s", dir, strerror(errno));
    int64_t V = g->model.cfg.vocab_size;
    for (int64_t i = 0; i < n; i++) {
        int32_t np = reqs[i].p.n_prompt;
        if (np <= 0 || outs[i].finish == FINISH_ERROR) continue;
        float *lg = (float *)xmalloc((size_t)np * (size_t)V * sizeof *lg);
        int st = g->engine->logits(g->engine, reqs[i].prompt, np, lg, err);
        char path[4096];
        snprintf(path, sizeof path, "%s/request_%lld.npy", dir, (long long)reqs[i].p.index);
        if (st == GETP_OK) st = npy_write_f32(path, lg, np, V, err);
        free(lg);
        if (st != GETP_OK) return GETP_ERR;
    }
    return GETP_OK;
}

/* This rank's part of one round: receive, generate, send back. Rank 0 passes
 * the plan; returns the gathered meta/tokens on rank 0. */
static int run_round(Getp *g, const RoundPlan *rp, OutMeta **all_meta, int32_t **all_tokens,
                     int64_t **gen_count, int64_t **gen_displ, Err *err) {
    int root = g->rank == 0;
    int size = g->size;
    /* how many requests and prompt ids this rank gets */
    int64_t *pairs = NULL, mine[2] = {0, 0};
    if (root) {
        pairs = (int64_t *)xmalloc((size_t)size * 2 * sizeof *pairs);
        for (int r = 0; r < size; r++) {
            pairs[2 * r] = rp->count[r];
            pairs[2 * r + 1] = rp->tcount[r];
        }
    }
    MPI_CHECK(MPI_Scatter(pairs, 2, MPI_INT64_T, mine, 2, MPI_INT64_T, 0, g->comm));
    free(pairs);
    int64_t n = mine[0], n_tok = mine[1];
    CHECK(n <= INT_MAX);
    RequestParams *params = (RequestParams *)xmalloc((size_t)(n > 0 ? n : 1) * sizeof *params);
    int32_t *prompts = (int32_t *)xmalloc((size_t)(n_tok > 0 ? n_tok : 1) * sizeof *prompts);
    dist_scatterv(root ? rp->params : NULL, root ? rp->count : NULL, root ? rp->displ : NULL, params, n,
                  sizeof(RequestParams), 0, g->comm);
    dist_scatterv(root ? rp->prompts : NULL, root ? rp->tcount : NULL, root ? rp->tdispl : NULL, prompts,
                  n_tok, sizeof(int32_t), 0, g->comm);

    /* generate */
    Request *reqs = (Request *)xmalloc((size_t)(n > 0 ? n : 1) * sizeof *reqs);
    Output *outs = (Output *)xcalloc((size_t)(n > 0 ? n : 1), sizeof *outs);
    int64_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        reqs[i].p = params[i];
        reqs[i].prompt = prompts + off;
        off += params[i].n_prompt;
    }
    CHECK(off == n_tok);
    int st = GETP_OK;
    double t0 = now_seconds();
    if (n > 0) st = g->engine->generate(g->engine, reqs, (int)n, outs, err);
    g->mine.seconds += now_seconds() - t0;
    if (st == GETP_OK && g->o->logits_dir) st = write_logits(g, reqs, outs, n, err);
    if (dist_agree(g->comm, st, err) != GETP_OK) {
        for (int64_t i = 0; i < n; i++) output_free(&outs[i]);
        free(outs);
        free(reqs);
        free(prompts);
        free(params);
        return GETP_ERR;
    }

    /* pack and gather */
    OutMeta *meta = (OutMeta *)xmalloc((size_t)(n > 0 ? n : 1) * sizeof *meta);
    int64_t n_gen = 0;
    for (int64_t i = 0; i < n; i++) {
        meta[i].index = params[i].index;
        meta[i].finish = outs[i].finish;
        meta[i].n_tokens = outs[i].n_tokens;
        n_gen += outs[i].n_tokens;
    }
    int32_t *gen = (int32_t *)xmalloc((size_t)(n_gen > 0 ? n_gen : 1) * sizeof *gen);
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        if (outs[i].n_tokens) memcpy(gen + at, outs[i].tokens, (size_t)outs[i].n_tokens * sizeof *gen);
        at += outs[i].n_tokens;
        output_free(&outs[i]);
    }
    g->mine.requests += n;
    g->mine.tokens += n_gen;
    for (int64_t i = 0; i < n; i++) g->mine.work += request_work(&params[i]);

    int64_t *gc = NULL, *gd = NULL;
    if (root) {
        gc = (int64_t *)xcalloc((size_t)size, sizeof *gc);
        gd = (int64_t *)xcalloc((size_t)size, sizeof *gd);
    }
    MPI_CHECK(MPI_Gather(&n_gen, 1, MPI_INT64_T, gc, 1, MPI_INT64_T, 0, g->comm));
    OutMeta *am = NULL;
    int32_t *at_ = NULL;
    if (root) {
        for (int r = 1; r < size; r++) gd[r] = gd[r - 1] + gc[r - 1];
        int64_t total = gd[size - 1] + gc[size - 1];
        am = (OutMeta *)xmalloc((size_t)(rp->n_send > 0 ? rp->n_send : 1) * sizeof *am);
        at_ = (int32_t *)xmalloc((size_t)(total > 0 ? total : 1) * sizeof *at_);
    }
    dist_gatherv(meta, n, am, root ? rp->count : NULL, root ? rp->displ : NULL, sizeof(OutMeta), 0, g->comm);
    dist_gatherv(gen, n_gen, at_, gc, gd, sizeof(int32_t), 0, g->comm);
    *all_meta = am;
    *all_tokens = at_;
    *gen_count = gc;
    *gen_displ = gd;
    free(gen);
    free(meta);
    free(outs);
    free(reqs);
    free(prompts);
    free(params);
    return GETP_OK;
}

/* Rank 0: write one round in input order; errors and gathered outputs merged. */
static int write_round(Getp *g, InputRequest *reqs, int n, const RoundPlan *rp, const OutMeta *meta,
                       const int32_t *tokens, const int64_t *gen_displ, Err *err) {
    Output *outs = (Output *)xcalloc((size_t)(n > 0 ? n : 1), sizeof *outs);
    for (int i = 0; i < n; i++) {
        outs[i].index = reqs[i].index;
        outs[i].finish = FINISH_ERROR;
    }
    /* gathered order: rank-major, input order within a rank; tokens likewise */
    int64_t k = 0;
    for (int r = 0; r < g->size; r++) {
        int64_t t = gen_displ[r];
        for (int64_t j = 0; j < rp->count[r]; j++, k++) {
            const OutMeta *m = &meta[k];
            Output *o = &outs[rp->pos[k]];
            CHECK(m->index == o->index);
            o->finish = m->finish;
            o->n_tokens = m->n_tokens;
            o->tokens = (int32_t *)(tokens + t); // points into the gathered buffer; not freed
            t += m->n_tokens;
        }
    }
    int st = GETP_OK;
    for (int i = 0; i < n && st == GETP_OK; i++) {
        if (reqs[i].error) g->n_errors++;
        else if (outs[i].finish == FINISH_ERROR)
            fprintf(stderr, "getp: request %lld: the engine could not run it\n", (long long)reqs[i].index);
        st = g->writer->write(g->writer, &reqs[i], &outs[i], err);
    }
    if (st == GETP_OK) st = g->writer->flush(g->writer, err);
    free(outs);
    return st;
}

/* Rank 0, after each round (--progress, or stderr is a terminal): requests
 * done of total, generated tokens per second, and the time left at that pace
 * (when the total is known up front). */
static void print_progress(const Getp *g, int64_t written, int64_t tokens, double seconds) {
    int64_t done = g->done + written;
    double tps = seconds > 0 ? (double)tokens / seconds : 0.0;
    if (g->total >= 0) {
        double per_req = written > 0 ? seconds / (double)written : 0.0;
        double eta = per_req * (double)(g->total - done);
        fprintf(stderr, "getp: progress: %lld / %lld requests (%.1f%%), %.0f tok/s, %.0f s elapsed, ETA %.0f s\n",
                (long long)done, (long long)g->total, g->total ? 100.0 * (double)done / (double)g->total : 100.0,
                tps, seconds, eta);
    } else {
        fprintf(stderr, "getp: progress: %lld requests, %.0f tok/s, %.0f s elapsed\n", (long long)done, tps,
                seconds);
    }
}

static int inference(Getp *g, Err *err) {
    int root = g->rank == 0;
    int max = root ? (int)round_size(g) : 0;
    InputRequest *reqs = root ? (InputRequest *)xcalloc((size_t)max, sizeof *reqs) : NULL;
    int64_t written = 0, n_rounds = 0, gen_tokens = 0;
    double t_first = -1, t_last = 0, t_start = now_seconds();
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

        RoundPlan rp;
        memset(&rp, 0, sizeof rp);
        if (root) {
            plan_round(g, reqs, n, &rp);
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
        OutMeta *meta = NULL;
        int32_t *tokens = NULL;
        int64_t *gc = NULL, *gd = NULL;
        st = run_round(g, &rp, &meta, &tokens, &gc, &gd, err);
        t_last = now_seconds();
        for (int r = 0; root && st == GETP_OK && r < g->size; r++) gen_tokens += gc[r];
        int engine_failed = st != GETP_OK; /* agreed on by every rank */
        /* a write error is rank 0's alone: the others learn it from the next round's status */
        if (!engine_failed && root) st = write_round(g, reqs, n, &rp, meta, tokens, gd, err);
        free(meta);
        free(tokens);
        free(gc);
        free(gd);
        if (root) {
            for (int i = 0; i < n; i++) input_request_free(&reqs[i]);
            free_round_plan(&rp);
            written += n;
        }
        n_rounds++;
        if (engine_failed) break;
        if (root && g->o->progress) print_progress(g, written, gen_tokens, now_seconds() - t_start);
    }
    free(reqs);
    g->elapsed = t_first >= 0 ? t_last - t_first : 0.0;
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
    if (status != GETP_OK) return GETP_ERR;
    if (dist_bcast_status(g->comm, 0, st, &cerr) != GETP_OK) {
        *err = cerr;
        return GETP_ERR;
    }

    /* report */
    RankStats *all = g->rank == 0 ? (RankStats *)xcalloc((size_t)g->size, sizeof *all) : NULL;
    double mine[3] = {(double)g->mine.requests, (double)g->mine.tokens, g->mine.seconds};
    double *flat = g->rank == 0 ? (double *)xcalloc((size_t)g->size * 3, sizeof *flat) : NULL;
    MPI_CHECK(MPI_Gather(mine, 3, MPI_DOUBLE, flat, 3, MPI_DOUBLE, 0, g->comm));
    if (g->rank == 0) {
        int64_t tokens = 0, work = 0, work_max = 0, reqs = 0;
        for (int r = 0; r < g->size; r++) {
            all[r].requests = (int64_t)flat[3 * r];
            all[r].tokens = (int64_t)flat[3 * r + 1];
            all[r].seconds = flat[3 * r + 2];
            tokens += all[r].tokens;
            reqs += all[r].requests;
            work += g->rank_work[r];
            if (g->rank_work[r] > work_max) work_max = g->rank_work[r];
        }
        printf("requests: %lld (%lld errors, %lld done before --resume)\n",
               (long long)(reqs + g->n_errors), (long long)g->n_errors, (long long)g->done);
        printf("warm_up: %.3f s\n", g->warm_up_s);
        printf("elapsed: %.3f s\n", g->elapsed);
        printf("tokens: %lld\n", (long long)tokens);
        printf("throughput: %.2f tok/s\n", g->elapsed > 0 ? (double)tokens / g->elapsed : 0.0);
        double mean = (double)work / g->size;
        for (int r = 0; r < g->size; r++)
            printf("rank %d: requests %lld work %lld vs_ideal %+.1f%% tokens %lld seconds %.3f tok/s %.2f\n", r,
                   (long long)all[r].requests, (long long)g->rank_work[r],
                   mean > 0 ? 100.0 * ((double)g->rank_work[r] / mean - 1.0) : 0.0, (long long)all[r].tokens,
                   all[r].seconds, all[r].seconds > 0 ? (double)all[r].tokens / all[r].seconds : 0.0);
        printf("imbalance: %.2f %%\n", mean > 0 ? 100.0 * ((double)work_max / mean - 1.0) : 0.0);
        fflush(stdout);
    }
    free(flat);
    free(all);
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
    g.rank_work = (int64_t *)xcalloc((size_t)g.size, sizeof(int64_t));
    g.rank_reqs = (int64_t *)xcalloc((size_t)g.size, sizeof(int64_t));
    Err err = {{0}};
    int st = warm_up(&g, &err);
    if (st == GETP_OK) st = inference(&g, &err);
    st = finish(&g, st, &err);
    if (st != GETP_OK && g.rank == 0) fprintf(stderr, "getp: %s\n", err.msg);
    free(g.rank_work);
    free(g.rank_reqs);
    if (g.lock_fd >= 0) close(g.lock_fd); /* releases the lock, after the writer closed */
    dist_finalize();
    return st == GETP_OK ? 0 : 1;
}
