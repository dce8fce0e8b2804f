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

/* "1:02:03" or "2:03" */
static void clock_text(double s, char *buf, size_t n) {
    long t = s > 0 ? (long)(s + 0.5) : 0;
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void report_progress(FILE *f, int mode, const ProgressView *v, int final) {
    const int known = v->total >= 0;
    const double pct = known ? (v->total > 0 ? 100.0 * (double)v->done / (double)v->total : 100.0) : 0.0;
    char el[32], eta[32];
    clock_text(v->elapsed, el, sizeof el);
    if (v->eta >= 0) clock_text(v->eta, eta, sizeof eta);
    else snprintf(eta, sizeof eta, "--");
    switch (mode) {
    case PROGRESS_BAR: {
        enum { W = 24 };
        char bar[W + 1];
        int fill = known ? (int)(pct / 100.0 * W + 0.5) : 0;
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = '\0';
        if (known)
            fprintf(f, "\r[%s] %5.1f%%  %lld/%lld requests  %lld tokens  %.0f tok/s  %s  ETA %s\033[K", bar, pct,
                    (long long)v->done, (long long)v->total, (long long)v->tokens, v->tok_s, el, eta);
        else
            fprintf(f, "\r%lld requests  %lld tokens  %.0f tok/s  %s\033[K", (long long)v->done,
                    (long long)v->tokens, v->tok_s, el);
        if (final) fputc('\n', f);
        break;
    }
    case PROGRESS_LINES:
        if (known)
            fprintf(f, "getp: progress: %lld/%lld requests (%.1f%%), %lld tokens, %.0f tok/s (%.0f average), "
                    "%s elapsed, ETA %s\n", (long long)v->done, (long long)v->total, pct, (long long)v->tokens,
                    v->tok_s, v->tok_s_avg, el, eta);
        else
            fprintf(f, "getp: progress: %lld requests, %lld tokens, %.0f tok/s (%.0f average), %s elapsed\n",
                    (long long)v->done, (long long)v->tokens, v->tok_s, v->tok_s_avg, el);
        break;
    case PROGRESS_JSON: {
        char total[32], etas[32];
        if (known) snprintf(total, sizeof total, "%lld", (long long)v->total);
        else snprintf(total, sizeof total, "null");
        if (v->eta >= 0) snprintf(etas, sizeof etas, "%.1f", v->eta);
        else snprintf(etas, sizeof etas, "null");
        fprintf(f, "{\"event\":\"progress\",\"final\":%s,\"requests_done\":%lld,\"requests_total\":%s,"
                "\"tokens\":%lld,\"tok_s\":%.1f,\"tok_s_avg\":%.1f,\"elapsed_s\":%.1f,\"eta_s\":%s}\n",
                final ? "true" : "false", (long long)v->done, total, (long long)v->tokens, v->tok_s, v->tok_s_avg,
                v->elapsed, etas);
        break;
    }
    default: return;
    }
    fflush(f);
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
