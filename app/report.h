/* report.h: what rank 0 prints about a getp run: the progress line during
 * it and the final report (jobs/README.md "The report"), and the -m logits
 * output each rank writes. */
#ifndef GETP_REPORT_H
#define GETP_REPORT_H

#include "engine.h" // Engine, Request, Output

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

/* stderr: requests done of total (total < 0: unknown), tok/s, time and ETA. */
void report_progress(int64_t done, int64_t total, int64_t written, int64_t tokens, double seconds);

/* -m logits: for each request that ran, the teacher-forced logits of every
 * prompt position to DIR/request_<index>.npy ((n_prompt, V) float32). The
 * folder must be shared by the ranks (one node, or a shared file system). */
int write_request_logits(Engine *e, const char *dir, int vocab, const Request *reqs,
                         const Output *outs, int64_t n, Err *err);

#ifdef __cplusplus
}
#endif
#endif
