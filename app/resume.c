/* resume.c: a getp run's journals and --resume (resume.h). */
#include "resume.h"

#include "engine.h" // steps_bound
#include "harmony.h" // harmony_today

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h> // flock
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h> // crc32_z

#define SYNC_S 2 // fsync period of a rank's journal

char *journal_dir_of(const char *output) {
    size_t n = strlen(output) + sizeof ".journal";
    char *d = (char *)xmalloc(n);
    snprintf(d, n, "%s.journal", output);
    return d;
}

/* ---------------------------------------------------------------- identity */

/* Size and crc32 of a whole file; *lines: lines with something other than
 * blanks (NULL: not counted). */
static int file_digest(const char *path, int64_t *size, uint32_t *crc, int64_t *lines, Err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "cannot open %s: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = (uint8_t *)xmalloc(CHUNK);
    uLong c = crc32_z(0L, Z_NULL, 0);
    int64_t total = 0, count = 0;
    int nonblank = 0;
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) {
        c = crc32_z(c, buf, got);
        total += (int64_t)got;
        if (!lines) continue;
        for (size_t i = 0; i < got; i++) {
            uint8_t b = buf[i];
            if (b == '\n') {
                count += nonblank;
                nonblank = 0;
            } else if (b != ' ' && b != '\t' && b != '\r') {
                nonblank = 1;
            }
        }
    }
    int bad = ferror(f);
    fclose(f);
    free(buf);
    if (bad) return err_set(err, "reading %s: %s", path, strerror(errno));
    *size = total;
    *crc = (uint32_t)c;
    if (lines) *lines = count + nonblank;
    return GETP_OK;
}

/* The model: its shape, its files' sizes and a crc of the first and last
 * 64 KiB of each (not of all of it: a 120b checkpoint is 60 GB). */
static void model_identity(const Model *m, char *buf, size_t n) {
    const Config *c = &m->cfg;
    uLong crc = crc32_z(0L, Z_NULL, 0);
    int64_t bytes = 0;
    for (int i = 0; i < m->n_maps; i++) {
        const uint8_t *p = (const uint8_t *)m->map_addr[i];
        size_t len = m->map_len[i], k = len < 65536 ? len : 65536;
        bytes += (int64_t)len;
        crc = crc32_z(crc, p, k);
        crc = crc32_z(crc, p + len - k, k);
    }
    snprintf(buf, n,
             "model format %d dtype %d vocab %d hidden %d experts %d top %d inter %d layers %d head_dim %d "
             "heads %d kv_heads %d context %d initial %d theta %.9g scaling %.9g window %d swiglu %.9g "
             "files %d bytes %lld sample %08x\n",
             (int)m->format, (int)m->bin_dtype, c->vocab_size, c->hidden, c->n_experts, c->experts_per_token,
             c->intermediate, c->n_layers, c->head_dim, c->n_heads, c->n_kv_heads, c->max_seq_len,
             c->initial_context_length, c->rope_theta, c->rope_scaling_factor, c->sliding_window,
             c->swiglu_limit, m->n_maps, (long long)bytes, (unsigned)crc);
}

char *run_identity(const GetpOptions *o, const Model *m, InputFormat fmt, int use_gpu, int64_t *requests,
                   Err *err) {
    static const char *formats[] = {"auto", "text", "ids", "jsonl", "batch"};
    int64_t in_size = 0, tok_size = 0;
    uint32_t in_crc = 0, tok_crc = 0;
    /* A pipe or FIFO cannot be read twice: the reader has it. Its identity is
     * only "a stream" (a resume must be fed the same requests again) and the
     * request count is unknown. */
    struct stat in_st;
    const int in_stream = stat(o->input_path, &in_st) == 0 && !S_ISREG(in_st.st_mode);
    *requests = -1;
    if (!in_stream && file_digest(o->input_path, &in_size, &in_crc, requests, err) != GETP_OK) return NULL;
    if (o->tokenizer_path && file_digest(o->tokenizer_path, &tok_size, &tok_crc, NULL, err) != GETP_OK)
        return NULL;
    char model[1024], tok[64];
    model_identity(m, model, sizeof model);
    if (o->tokenizer_path) snprintf(tok, sizeof tok, "%lld %08x", (long long)tok_size, (unsigned)tok_crc);
    else snprintf(tok, sizeof tok, "none");
    char input[64], date[16];
    if (in_stream) snprintf(input, sizeof input, "a stream (not a regular file)");
    else snprintf(input, sizeof input, "%lld bytes crc %08x", (long long)in_size, (unsigned)in_crc);
    /* chats' "Current date" (JSONL and Batch only): a resume past midnight is
     * refused rather than mixing two dates (--date pins it) */
    if (fmt != INPUT_JSONL && fmt != INPUT_BATCH) snprintf(date, sizeof date, "-");
    else if (o->date) snprintf(date, sizeof date, "%s", o->date);
    else harmony_today(date);
    char text[4096];
    snprintf(text, sizeof text,
             "journal 1\n"
             "input %s\n"
             "format %s\n"
             "tokenizer %s\n"
             "%s"
             "steps %d\n"
             "temperature %.9g\n"
             "top_p %.9g\n"
             "top_k %d\n"
             "min_p %.9g\n"
             "seed %llu\n"
             "reasoning_effort %s\n"
             "date %s\n"
             "ignore_eos %d\n"
             "backend %s\n"
             "precise %d\n",
             input, formats[(unsigned)fmt <= 4 ? (unsigned)fmt : 0], tok, model, steps_bound(o->steps, &m->cfg),
             o->temperature, o->top_p, o->top_k, o->min_p, (unsigned long long)o->seed,
             o->reasoning_effort ? o->reasoning_effort : "medium", date,
             o->ignore_eos, use_gpu ? "gpu" : "cpu", use_gpu ? o->precise : 0);
    return xstrdup(text);
}

/* ------------------------------------------------------------ rank 0 side */

int resume_precheck(const char *output, const char *dir, int resume, Err *err) {
    if (resume || !output) return GETP_OK;
    char **paths;
    int n;
    if (journal_list(dir, &paths, &n, err) != GETP_OK) return GETP_ERR;
    journal_list_free(paths, n);
    if (n == 0) return GETP_OK;
    int fd = open(output, O_RDONLY | O_CLOEXEC);
    int running = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (fd >= 0) close(fd); /* drops our lock, if we took it */
    if (running) return GETP_OK;
    return err_set(err, "%s holds the journal of an interrupted run on this output: run with --resume to "
                        "go on with it, or remove %s to start over", dir, dir);
}

int resume_collect(const char *dir, const char *identity, int resume, int64_t done, JournalSet *set, Err *err) {
    char **paths;
    int n;
    if (journal_list(dir, &paths, &n, err) != GETP_OK) return GETP_ERR;
    int rc = GETP_OK;
    if (!resume && n > 0) {
        rc = err_set(err, "%s holds the journal of an interrupted run on this output: run with --resume to "
                          "go on with it, or remove %s to start over", dir, dir);
    }
    for (int i = 0; resume && i < n && rc == GETP_OK; i++) {
        JournalReadInfo info;
        Err rerr = {{0}};
        if (journal_read(paths[i], identity, done, set, &info, &rerr) != GETP_OK) {
            rc = err_set(err, "--resume refused: %s; resume with the input, model and options of the "
                              "interrupted run, or remove %s to start over", rerr.msg, dir);
            break;
        }
        if (info.torn_bytes > 0)
            fprintf(stderr, "getp: --resume: %s: a torn last record (%lld bytes) dropped; that request runs "
                    "again\n", paths[i], (long long)info.torn_bytes);
    }
    journal_list_free(paths, n);
    if (rc != GETP_OK) {
        journal_set_free(set);
        return rc;
    }
    journal_set_finish(set);
    if (resume && set->n > 0)
        fprintf(stderr, "getp: --resume: %lld finished requests recovered from %s\n", (long long)set->n, dir);
    return GETP_OK;
}

int resume_prepare(const char *dir, const char *identity, const JournalSet *set, Err *err) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_set(err, "cannot create the journal folder %s: %s", dir, strerror(errno));
    size_t n = strlen(dir) + sizeof "/carry";
    char *carry = (char *)xmalloc(n);
    snprintf(carry, n, "%s/carry", dir);
    int rc = set->n > 0 ? journal_write_set(carry, identity, set, err) : GETP_OK;
    char **paths = NULL;
    int np = 0;
    if (rc == GETP_OK) rc = journal_list(dir, &paths, &np, err);
    for (int i = 0; rc == GETP_OK && i < np; i++) /* all they hold is in carry now */
        if (strcmp(paths[i], carry) != 0 && unlink(paths[i]) != 0 && errno != ENOENT)
            rc = err_set(err, "cannot remove the old journal %s: %s", paths[i], strerror(errno));
    journal_list_free(paths, np);
    free(carry);
    return rc;
}

void resume_cleanup(const char *dir) {
    char **paths = NULL;
    int n = 0;
    Err err;
    if (journal_list(dir, &paths, &n, &err) == GETP_OK)
        for (int i = 0; i < n; i++) unlink(paths[i]);
    journal_list_free(paths, n);
    if (rmdir(dir) != 0 && errno != ENOENT)
        fprintf(stderr, "getp: warning: cannot remove %s: %s\n", dir, strerror(errno));
}

/* ------------------------------------------------------------- every rank */

struct RankJournal {
    Journal *j;
    int rank, failed;
    pthread_t syncer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void *sync_loop(void *arg) {
    RankJournal *r = (RankJournal *)arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SYNC_S;
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT) {}
        if (r->stop) break;
        pthread_mutex_unlock(&r->mu);
        fsync(journal_fd(r->j)); // the engine thread appends meanwhile: no lock needed
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void journal_off(RankJournal *r, const Err *err) {
    fprintf(stderr, "getp: rank %d: warning: %s; this rank's journal is off (a kill now loses its unfinished "
            "round)\n", r->rank, err->msg);
    r->failed = 1;
}

RankJournal *rank_journal_open(const char *dir, int rank, const char *identity) {
    RankJournal *r = (RankJournal *)xcalloc(1, sizeof *r);
    r->rank = rank;
    size_t n = strlen(dir) + 32;
    char *path = (char *)xmalloc(n);
    snprintf(path, n, "%s/rank-%d", dir, rank);
    Err err = {{0}};
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) { /* rank 0 made it, unless this node does not share it */
        err_set(&err, "cannot create the journal folder %s: %s", dir, strerror(errno));
        journal_off(r, &err);
    } else if (journal_create(path, identity, &r->j, &err) != GETP_OK) {
        journal_off(r, &err);
    }
    free(path);
    if (r->failed) return r;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->syncer, NULL, sync_loop, r) != 0) fatal("cannot start the journal's sync thread");
    return r;
}

void rank_journal_add(RankJournal *r, const Output *o) {
    Err err = {{0}};
    if (r && !r->failed && journal_append(r->j, o, &err) != GETP_OK) journal_off(r, &err);
}

void rank_journal_new_round(RankJournal *r) {
    Err err = {{0}};
    if (r && !r->failed && journal_rewind(r->j, &err) != GETP_OK) journal_off(r, &err);
}

int rank_journal_fd(const RankJournal *r) { return r && !r->failed ? journal_fd(r->j) : -1; }

void rank_journal_close(RankJournal *r, int remove_it) {
    if (!r) return;
    if (r->j) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->syncer, NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        Err err;
        if (!remove_it && !r->failed) journal_sync(r->j, &err);
        journal_close(r->j, remove_it);
    }
    free(r);
}
