/* report.c: see report.h. */
#include "report.h"

#include "npy.h" // npy_write_f32

#include <errno.h>
#include <sys/stat.h>

void report_final(const RunReport *r) {
    int64_t tokens = 0, work = 0, work_max = 0;
    for (int k = 0; k < r->size; k++) {
        tokens += r->ranks[k].tokens;
        work += r->ranks[k].work;
        if (r->ranks[k].work > work_max) work_max = r->ranks[k].work;
    }
    printf("requests: %lld (%lld errors, %lld done before --resume)\n", (long long)r->requests,
           (long long)r->errors, (long long)r->resumed);
    printf("warm_up: %.3f s\n", r->warm_up_s);
    printf("elapsed: %.3f s\n", r->elapsed_s);
    printf("tokens: %lld\n", (long long)tokens);
    printf("throughput: %.2f tok/s\n", r->elapsed_s > 0 ? (double)tokens / r->elapsed_s : 0.0);
    double mean = (double)work / r->size;
    for (int k = 0; k < r->size; k++) {
        const RankStats *s = &r->ranks[k];
        printf("rank %d: requests %lld work %lld vs_ideal %+.1f%% tokens %lld seconds %.3f tok/s %.2f\n", k,
               (long long)s->requests, (long long)s->work, mean > 0 ? 100.0 * ((double)s->work / mean - 1.0) : 0.0,
               (long long)s->tokens, s->seconds, s->seconds > 0 ? (double)s->tokens / s->seconds : 0.0);
    }
    printf("imbalance: %.2f %%\n", mean > 0 ? 100.0 * ((double)work_max / mean - 1.0) : 0.0);
    fflush(stdout);
}

void report_progress(int64_t done, int64_t total, int64_t written, int64_t tokens, double seconds) {
    double tps = seconds > 0 ? (double)tokens / seconds : 0.0;
    if (total >= 0) {
        double per_req = written > 0 ? seconds / (double)written : 0.0;
        double eta = per_req * (double)(total - done);
        fprintf(stderr, "getp: progress: %lld / %lld requests (%.1f%%), %.0f tok/s, %.0f s elapsed, ETA %.0f s\n",
                (long long)done, (long long)total, total ? 100.0 * (double)done / (double)total : 100.0, tps,
                seconds, eta);
    } else {
        fprintf(stderr, "getp: progress: %lld requests, %.0f tok/s, %.0f s elapsed\n", (long long)done, tps,
                seconds);
    }
}

int write_request_logits(Engine *e, const char *dir, int vocab, const Request *reqs,
                         const Output *outs, int64_t n, Err *err) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return err_set(err, "cannot create the logits folder %s: %s", dir, strerror(errno));
    for (int64_t i = 0; i < n; i++) {
        int32_t np = reqs[i].p.n_prompt;
        if (np <= 0 || outs[i].finish == FINISH_ERROR) continue;
        float *lg = (float *)xmalloc((size_t)np * (size_t)vocab * sizeof *lg);
        int st = e->logits(e, reqs[i].prompt, np, lg, err);
        char path[4096];
        snprintf(path, sizeof path, "%s/request_%lld.npy", dir, (long long)reqs[i].p.index);
        if (st == GETP_OK) st = npy_write_f32(path, lg, np, vocab, err);
        free(lg);
        if (st != GETP_OK) return GETP_ERR;
    }
    return GETP_OK;
}
