/* progress.h: live progress of a getp run, inside a round (jobs/README.md,
 * "Progress").
 *
 * Every rank counts its own finished requests and generated ids from the
 * engine's callbacks (on_finish, on_token) and, at most every half second,
 * posts the totals to rank 0 with one small MPI_Isend on a communicator of
 * its own (a send still in flight is simply skipped: the engine never waits).
 * Rank 0 drains them from its own callbacks and, when its share is done,
 * while it waits for the others; it prints (report_progress) at most every
 * --progress-interval seconds. At the end of its share a rank posts one last
 * "share done" message and rank 0 waits for all of them before the gather, so
 * no message is left over when a round ends. Every MPI call happens on the
 * thread that runs the engine (MPI_THREAD_FUNNELED is enough).
 */
#ifndef GETP_PROGRESS_H
#define GETP_PROGRESS_H

#include "dist.h"   // MPI
#include "engine.h" // Output

#ifdef __cplusplus
extern "C" {
#endif

typedef struct Progress Progress;

/* Collective over comm. mode (ProgressMode) and interval (seconds, 0 = the
 * mode's default) are rank 0's; with PROGRESS_OFF nobody reports. */
Progress *progress_create(MPI_Comm comm, int mode, double interval);
/* Collective. */
void progress_free(Progress *p);

/* Rank 0: the run's number of requests (-1 unknown), and requests that are
 * done without an engine (already in the output, recovered from a journal,
 * input errors). */
void progress_set_total(Progress *p, int64_t total);
void progress_add_done(Progress *p, int64_t n);

/* Every rank, from the engine's callbacks. */
void progress_token(Progress *p);
void progress_finished(Progress *p, const Output *o);

/* Every rank, around its share of each round (collective in effect: rank 0
 * returns from progress_round_end once every rank has called it). */
void progress_round_begin(Progress *p);
void progress_round_end(Progress *p);

/* Rank 0: the last report (a bar ends its line). */
void progress_final(Progress *p);

#ifdef __cplusplus
}
#endif
#endif
