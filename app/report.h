/* report.h: what rank 0 prints about a getp run: the progress line during
 * it and the final report (jobs/README.md "What rank 0 prints"), and the
 * -m logits output each rank writes. */
#ifndef GETP_REPORT_H
#define GETP_REPORT_H

#include "engine.h" // Engine, Request, Output
#include "getp.h"   // ProgressMode

#ifdef __cplusplus
extern "C" {
#endif

/* Per-rank totals reported at the end. */
typedef struct {
    int64_t requests;
    int64_t work;    // sum of request_work over its requests (the split's measure)
    int64_t tokens;
    double seconds;  // time inside engine->generate
} RankStats;

typedef struct {
    int64_t requests, errors, resumed; // all requests, errors among them, done before --resume
    double warm_up_s, elapsed_s;
    int size;
    const RankStats *ranks;            // (size)
} RunReport;

/* stdout, one line each, stable for grep: requests, warm_up, elapsed, tokens,
 * throughput, one line per rank, imbalance. */
void report_final(const RunReport *r);

/* Where a run stands (app/progress.c gathers it). */
typedef struct {
    int64_t done, total;      // requests done (any way), of total (< 0: unknown)
    int64_t tokens;           // generated ids, all ranks
    double elapsed;           // seconds since inference began
    double tok_s, tok_s_avg;  // over about the last 10 s, and since the start
    double eta;               // seconds left (< 0: unknown)
} ProgressView;

/* One progress report in `mode` (ProgressMode, getp.h; jobs/README.md
 * "Progress"): PROGRESS_BAR redraws one line in place (`final` ends it),
 * PROGRESS_LINES prints "getp: progress: ..." lines, PROGRESS_JSON one JSON
 * object per line. */
void report_progress(FILE *f, int mode, const ProgressView *v, int final);

/* -m logits: for each request that ran, the teacher-forced logits of every
 * prompt position to DIR/request_<index>.npy ((n_prompt, V) float32). The
 * folder must be shared by the ranks (one node, or a shared file system). */
int write_request_logits(Engine *e, const char *dir, int vocab, const Request *reqs,
                         const Output *outs, int64_t n, Err *err);

#ifdef __cplusplus
}
#endif
#endif
