/* round.c: one round of the getp protocol (round.h). */
#include "round.h"

#include <limits.h>

/* Per-request record gathered back to rank 0 (its ids follow separately). */
typedef struct {
    int64_t index;
    int32_t finish;
    int32_t n_tokens;
    int32_t n_top;  // -1: no logprobs; else alternatives per token
    int32_t pad_;
} OutMeta;

/* Logprob values of one output: n_tokens chosen + n_tokens * n_top alternatives. */
static int64_t lp_count(const OutMeta *m) {
    return m->n_top < 0 ? 0 : (int64_t)m->n_tokens * (1 + m->n_top);
}

/* Gather n_send items of `elem` bytes per rank (send: this rank's n items). */
static void gather_counted(MPI_Comm comm, int root, int size, const void *send, int64_t n, size_t elem,
                           void **recv, int64_t *total) {
    int64_t *gc = NULL, *gd = NULL;
    if (root) {
        gc = (int64_t *)xcalloc((size_t)size, sizeof *gc);
        gd = (int64_t *)xcalloc((size_t)size, sizeof *gd);
    }
    MPI_CHECK(MPI_Gather(&n, 1, MPI_INT64_T, gc, 1, MPI_INT64_T, 0, comm));
    if (root) {
        for (int r = 1; r < size; r++) gd[r] = gd[r - 1] + gc[r - 1];
        *total = gd[size - 1] + gc[size - 1];
        *recv = xmalloc((size_t)(*total > 0 ? *total : 1) * elem);
    }
    dist_gatherv(send, n, root ? *recv : NULL, gc, gd, elem, 0, comm);
    free(gc);
    free(gd);
}

int64_t request_work(const RequestParams *p) {
    if (p->n_prompt <= 0) return 0; /* an empty prompt generates nothing */
    int64_t new_max = (int64_t)p->steps - p->n_prompt + 1;
    return (int64_t)p->n_prompt + (new_max > 0 ? new_max : 0);
}

/* n > 0 ? n : 1 elements, so that empty rounds still get valid pointers. */
#define ALLOC_N(type, n) ((type *)xmalloc((size_t)((n) > 0 ? (n) : 1) * sizeof(type)))

void round_plan(const InputRequest *reqs, int n, int size, RoundPlan *rp) {
    int64_t *work = ALLOC_N(int64_t, n);
    int64_t *item_pos = ALLOC_N(int64_t, n);
    int64_t m = 0;
    for (int i = 0; i < n; i++)
        if (!reqs[i].error) {
            work[m] = request_work(&reqs[i].p);
            item_pos[m++] = i;
        }
    int *owner = ALLOC_N(int, m);
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
    rp->pos = ALLOC_N(int64_t, m);
    rp->params = ALLOC_N(RequestParams, m);
    rp->prompts = ALLOC_N(int32_t, n_tok);
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

void round_plan_free(RoundPlan *rp) {
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

void round_scatter(MPI_Comm comm, const RoundPlan *rp, RoundShare *share) {
    int rank = 0, size = 1;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    MPI_CHECK(MPI_Comm_size(comm, &size));
    const int root = rank == 0;
    /* how many requests and prompt ids each rank gets */
    int64_t *pairs = NULL, mine[2] = {0, 0};
    if (root) {
        pairs = (int64_t *)xmalloc((size_t)size * 2 * sizeof *pairs);
        for (int r = 0; r < size; r++) {
            pairs[2 * r] = rp->count[r];
            pairs[2 * r + 1] = rp->tcount[r];
        }
    }
    MPI_CHECK(MPI_Scatter(pairs, 2, MPI_INT64_T, mine, 2, MPI_INT64_T, 0, comm));
    free(pairs);
    const int64_t n = mine[0], n_tok = mine[1];
    CHECK(n <= INT_MAX);
    share->n = n;
    share->params = ALLOC_N(RequestParams, n);
    share->prompts = ALLOC_N(int32_t, n_tok);
    dist_scatterv(root ? rp->params : NULL, root ? rp->count : NULL, root ? rp->displ : NULL,
                  share->params, n, sizeof(RequestParams), 0, comm);
    dist_scatterv(root ? rp->prompts : NULL, root ? rp->tcount : NULL, root ? rp->tdispl : NULL,
                  share->prompts, n_tok, sizeof(int32_t), 0, comm);
    share->reqs = ALLOC_N(Request, n);
    int64_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        share->reqs[i].p = share->params[i];
        share->reqs[i].prompt = share->prompts + off;
        off += share->params[i].n_prompt;
    }
    CHECK(off == n_tok);
}

void round_share_free(RoundShare *s) {
    free(s->reqs);
    free(s->prompts);
    free(s->params);
    memset(s, 0, sizeof *s);
}

void round_gather(MPI_Comm comm, const RoundPlan *rp, const Output *outs, int64_t n, int n_round,
                  const InputRequest *round_reqs, RoundResult *res) {
    int rank = 0, size = 1;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    MPI_CHECK(MPI_Comm_size(comm, &size));
    const int root = rank == 0;
    /* pack this rank's outputs: one record each, then all ids, then all logprob
     * values and alternative ids, each concatenated in output order */
    OutMeta *meta = ALLOC_N(OutMeta, n);
    int64_t n_gen = 0, n_lp = 0, n_alt = 0;
    for (int64_t i = 0; i < n; i++) {
        memset(&meta[i], 0, sizeof meta[i]);
        meta[i].index = outs[i].index;
        meta[i].finish = outs[i].finish;
        meta[i].n_tokens = outs[i].n_tokens;
        meta[i].n_top = outs[i].logprobs ? outs[i].n_top : -1;
        n_gen += outs[i].n_tokens;
        n_lp += lp_count(&meta[i]);
        if (meta[i].n_top > 0) n_alt += (int64_t)outs[i].n_tokens * meta[i].n_top;
    }
    int32_t *gen = ALLOC_N(int32_t, n_gen), *alt = ALLOC_N(int32_t, n_alt);
    float *lp = ALLOC_N(float, n_lp);
    int64_t at = 0, lat = 0, aat = 0;
    for (int64_t i = 0; i < n; i++) {
        const Output *o = &outs[i];
        if (o->n_tokens) memcpy(gen + at, o->tokens, (size_t)o->n_tokens * sizeof *gen);
        at += o->n_tokens;
        if (meta[i].n_top < 0) continue;
        const size_t nt = (size_t)o->n_tokens, na = nt * (size_t)o->n_top;
        memcpy(lp + lat, o->logprobs, nt * sizeof *lp);
        if (na) {
            memcpy(lp + lat + nt, o->top_logprobs, na * sizeof *lp);
            memcpy(alt + aat, o->top_ids, na * sizeof *alt);
        }
        lat += (int64_t)(nt + na);
        aat += (int64_t)na;
    }

    OutMeta *all_meta = root ? ALLOC_N(OutMeta, rp->n_send) : NULL;
    dist_gatherv(meta, n, all_meta, root ? rp->count : NULL, root ? rp->displ : NULL, sizeof(OutMeta), 0,
                 comm);
    void *all_gen = NULL, *all_lp = NULL, *all_alt = NULL;
    int64_t t_gen = 0, t_lp = 0, t_alt = 0;
    gather_counted(comm, root, size, gen, n_gen, sizeof(int32_t), &all_gen, &t_gen);
    gather_counted(comm, root, size, lp, n_lp, sizeof(float), &all_lp, &t_lp);
    gather_counted(comm, root, size, alt, n_alt, sizeof(int32_t), &all_alt, &t_alt);
    free(gen);
    free(alt);
    free(lp);
    free(meta);
    if (!root) return;

    /* back to round order: gathered rank-major, input order within a rank, so
     * the concatenated arrays are read in the same order as all_meta */
    res->n = n_round;
    res->tokens = (int32_t *)all_gen;
    res->n_tokens = t_gen;
    res->lp = (float *)all_lp;
    res->alt = (int32_t *)all_alt;
    res->outs = (Output *)xcalloc((size_t)(n_round > 0 ? n_round : 1), sizeof(Output));
    for (int i = 0; i < n_round; i++) {
        res->outs[i].index = round_reqs[i].index;
        res->outs[i].finish = FINISH_ERROR;
    }
    int64_t t = 0, l = 0, x = 0;
    for (int64_t k = 0; k < rp->n_send; k++) {
        const OutMeta *m = &all_meta[k];
        Output *o = &res->outs[rp->pos[k]];
        CHECK(m->index == o->index);
        o->finish = m->finish;
        o->n_tokens = m->n_tokens;
        o->tokens = res->tokens + t; // pointers into res's buffers; not freed per output
        t += m->n_tokens;
        if (m->n_top >= 0) {
            o->n_top = m->n_top;
            o->logprobs = res->lp + l;
            o->top_logprobs = res->lp + l + m->n_tokens;
            o->top_ids = res->alt + x;
            l += lp_count(m);
            x += (int64_t)m->n_tokens * m->n_top;
        }
    }
    CHECK(t == t_gen && l == t_lp && x == t_alt);
    free(all_meta);
}

void round_result_free(RoundResult *r) {
    free(r->outs);
    free(r->tokens);
    free(r->lp);
    free(r->alt);
    memset(r, 0, sizeof *r);
}
