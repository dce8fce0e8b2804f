/* progress.c: live progress of a getp run (progress.h). */
#include "progress.h"

#include "getp.h"   // ProgressMode
#include "report.h" // ProgressView, report_progress

#include <time.h>

enum {
    TAG_PROGRESS = 7301,
    WINDOW = 32, // rate samples kept (one per SAMPLE_S: the last ~16 s)
};
#define SEND_S 0.5   // a rank posts its totals at most this often
#define POLL_S 0.1   // rank 0 drains messages at most this often
#define SAMPLE_S 0.5 // rate samples
#define RATE_S 10.0  // current tok/s: over about the last 10 s

/* One message: what a rank has done so far in this run. */
enum { M_ROUND, M_FINISHED, M_TOKENS, M_SHARE_DONE, M_LEN };

struct Progress {
    MPI_Comm comm;
    int rank, size, on, mode;
    double interval;
    int64_t round;
    /* this rank, cumulative over the run */
    int64_t finished, tok_live, tok_done;
    double last_send;
    MPI_Request req;
    int64_t sbuf[M_LEN];
    /* rank 0 */
    int64_t *r_finished, *r_tokens, *r_round_done; // (size) latest report of each rank
    int64_t total, base;                            // base: done without an engine
    double t0, last_poll, last_print, last_sample;
    double win_t[WINDOW];
    int64_t win_tok[WINDOW];
    int win_n;
};

static int64_t own_tokens(const Progress *p) { return p->tok_live > p->tok_done ? p->tok_live : p->tok_done; }

Progress *progress_create(MPI_Comm comm, int mode, double interval) {
    Progress *p = (Progress *)xcalloc(1, sizeof *p);
    MPI_CHECK(MPI_Comm_dup(comm, &p->comm));
    MPI_CHECK(MPI_Comm_rank(p->comm, &p->rank));
    MPI_CHECK(MPI_Comm_size(p->comm, &p->size));
    int on = mode != PROGRESS_OFF;
    MPI_CHECK(MPI_Bcast(&on, 1, MPI_INT, 0, p->comm));
    p->on = on;
    p->mode = mode;
    p->interval = interval > 0 ? interval : mode == PROGRESS_BAR ? 1.0 : 10.0;
    p->req = MPI_REQUEST_NULL;
    p->total = -1;
    p->t0 = p->last_poll = p->last_print = p->last_sample = p->last_send = now_seconds();
    if (p->rank == 0) {
        p->r_finished = (int64_t *)xcalloc((size_t)p->size, sizeof(int64_t));
        p->r_tokens = (int64_t *)xcalloc((size_t)p->size, sizeof(int64_t));
        p->r_round_done = (int64_t *)xcalloc((size_t)p->size, sizeof(int64_t));
    }
    return p;
}

void progress_free(Progress *p) {
    if (!p) return;
    if (p->req != MPI_REQUEST_NULL) MPI_CHECK(MPI_Wait(&p->req, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Comm_free(&p->comm));
    free(p->r_finished);
    free(p->r_tokens);
    free(p->r_round_done);
    free(p);
}

void progress_set_total(Progress *p, int64_t total) { p->total = total; }
void progress_add_done(Progress *p, int64_t n) { p->base += n; }

/* ------------------------------------------------------------------ rank 0 */

static void drain(Progress *p) {
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, TAG_PROGRESS, p->comm, &flag, &st));
        if (!flag) return;
        int64_t m[M_LEN];
        MPI_CHECK(MPI_Recv(m, M_LEN, MPI_INT64_T, st.MPI_SOURCE, TAG_PROGRESS, p->comm, MPI_STATUS_IGNORE));
        const int r = st.MPI_SOURCE;
        p->r_finished[r] = m[M_FINISHED];
        p->r_tokens[r] = m[M_TOKENS];
        if (m[M_SHARE_DONE]) p->r_round_done[r] = m[M_ROUND];
    }
}

static void view(Progress *p, double now, ProgressView *v) {
    p->r_finished[0] = p->finished;
    p->r_tokens[0] = own_tokens(p);
    int64_t ran = 0, tokens = 0;
    for (int r = 0; r < p->size; r++) {
        ran += p->r_finished[r];
        tokens += p->r_tokens[r];
    }
    memset(v, 0, sizeof *v);
    v->done = p->base + ran;
    v->total = p->total >= 0 && p->total < v->done ? v->done : p->total;
    v->tokens = tokens;
    v->elapsed = now - p->t0;
    v->tok_s_avg = v->elapsed > 0 ? (double)tokens / v->elapsed : 0.0;
    /* current rate: against the oldest sample of the last RATE_S seconds */
    v->tok_s = v->tok_s_avg;
    for (int i = 0; i < p->win_n; i++) {
        if (now - p->win_t[i] <= RATE_S && now - p->win_t[i] > 0.25) {
            v->tok_s = (double)(tokens - p->win_tok[i]) / (now - p->win_t[i]);
            break;
        }
    }
    v->eta = -1;
    if (v->total >= 0 && ran > 0 && v->elapsed > 0)
        v->eta = (double)(v->total - v->done) / ((double)ran / v->elapsed);
    if (v->total >= 0 && v->done >= v->total) v->eta = 0;
}

static void sample(Progress *p, double now) {
    ProgressView v;
    view(p, now, &v);
    if (p->win_n == WINDOW) {
        memmove(p->win_t, p->win_t + 1, (WINDOW - 1) * sizeof *p->win_t);
        memmove(p->win_tok, p->win_tok + 1, (WINDOW - 1) * sizeof *p->win_tok);
        p->win_n--;
    }
    p->win_t[p->win_n] = now;
    p->win_tok[p->win_n++] = v.tokens;
    p->last_sample = now;
}

static void poll_root(Progress *p, double now) {
    if (now - p->last_poll < POLL_S) return;
    p->last_poll = now;
    drain(p);
    if (now - p->last_sample >= SAMPLE_S) sample(p, now);
    if (now - p->last_print >= p->interval) {
        ProgressView v;
        view(p, now, &v);
        report_progress(stderr, p->mode, &v, 0);
        p->last_print = now;
    }
}

/* -------------------------------------------------------------- every rank */

/* Post this rank's totals unless the previous post is still in flight. */
static void post(Progress *p, int share_done) {
    if (p->req != MPI_REQUEST_NULL) {
        if (share_done) {
            MPI_CHECK(MPI_Wait(&p->req, MPI_STATUS_IGNORE));
        } else {
            int flag = 0;
            MPI_CHECK(MPI_Test(&p->req, &flag, MPI_STATUS_IGNORE));
            if (!flag) return;
        }
    }
    p->sbuf[M_ROUND] = p->round;
    p->sbuf[M_FINISHED] = p->finished;
    p->sbuf[M_TOKENS] = own_tokens(p);
    p->sbuf[M_SHARE_DONE] = share_done;
    if (share_done)
        MPI_CHECK(MPI_Send(p->sbuf, M_LEN, MPI_INT64_T, 0, TAG_PROGRESS, p->comm));
    else
        MPI_CHECK(MPI_Isend(p->sbuf, M_LEN, MPI_INT64_T, 0, TAG_PROGRESS, p->comm, &p->req));
}

static void tick(Progress *p) {
    double now = now_seconds();
    if (p->rank == 0) {
        poll_root(p, now);
    } else if (now - p->last_send >= SEND_S) {
        p->last_send = now;
        post(p, 0);
    }
}

void progress_token(Progress *p) {
    if (!p || !p->on) return;
    p->tok_live++;
    tick(p);
}

void progress_finished(Progress *p, const Output *o) {
    if (!p || !p->on) return;
    p->finished++;
    p->tok_done += o->n_tokens;
    tick(p);
}

void progress_round_begin(Progress *p) {
    if (p && p->on) p->round++;
}

void progress_round_end(Progress *p) {
    if (!p || !p->on) return;
    if (p->rank != 0) {
        post(p, 1);
        return;
    }
    for (;;) {
        drain(p);
        int all = 1;
        for (int r = 1; r < p->size; r++) all &= p->r_round_done[r] >= p->round;
        if (all) break;
        poll_root(p, now_seconds());
        struct timespec ts = {0, 2000000}; // 2 ms
        nanosleep(&ts, NULL);
    }
}

void progress_final(Progress *p) {
    if (!p || !p->on || p->rank != 0) return;
    drain(p);
    ProgressView v;
    view(p, now_seconds(), &v);
    report_progress(stderr, p->mode, &v, 1);
}
