/* round.h: one round of the getp protocol over a communicator (docs/ARCHITECTURE.md
 * section 1). Rank 0 plans the round (round_plan: the balanced split of its
 * requests over the ranks), round_scatter gives every rank its share, each
 * rank runs its engine on it, and round_gather brings every output back to
 * rank 0 in round order. Nothing here knows the program's state: a round is
 * a communicator, a plan and the outputs.
 */
#ifndef GETP_ROUND_H
#define GETP_ROUND_H

#include "dist.h"     // MPI
#include "engine.h"   // RequestParams, Request, Output
#include "requests.h" // InputRequest

#ifdef __cplusplus
extern "C" {
#endif

/* Expected work of a request: n_prompt + the most ids it may generate
 * (0 for an empty prompt). What the split balances. */
int64_t request_work(const RequestParams *p);

/* Rank 0's plan of one round: the sendable requests (no .error) grouped by
 * rank, each rank's in input order. */
typedef struct {
    int64_t n_send;
    int64_t *pos;             // (n_send) round position of the k-th sent request
    RequestParams *params;    // (n_send)
    int32_t *prompts;         // concatenated prompt ids, same order
    int64_t *count, *displ;   // (size) requests per rank and their offset
    int64_t *tcount, *tdispl; // (size) prompt ids per rank and their offset
    int64_t *load;            // (size) split work per rank
} RoundPlan;

void round_plan(const InputRequest *reqs, int n, int size, RoundPlan *rp);
void round_plan_free(RoundPlan *rp);

/* One rank's share of a round: n requests whose prompts point into `prompts`. */
typedef struct {
    int64_t n;
    RequestParams *params; // (n)
    int32_t *prompts;      // concatenated ids
    Request *reqs;         // (n)
} RoundShare;

/* Collective: rp is read on rank 0 only. */
void round_scatter(MPI_Comm comm, const RoundPlan *rp, RoundShare *share);
void round_share_free(RoundShare *s);

/* Rank 0's view of a round after the gather: outs[i] answers round position i
 * (requests that were not sent keep FINISH_ERROR and no tokens; tokens point
 * into one buffer owned here). */
typedef struct {
    int n;
    Output *outs;    // (n)
    int32_t *tokens; // every gathered id
    int64_t n_tokens;
    float *lp;       // every gathered logprob value (chosen, then alternatives, per output)
    int32_t *alt;    // every gathered alternative id
} RoundResult;

/* Collective: every rank passes its n outputs (in its share's order); rank 0
 * passes the plan and the round's size n_round and gets res (the others pass
 * NULL for both). */
void round_gather(MPI_Comm comm, const RoundPlan *rp, const Output *outs, int64_t n, int n_round,
                  const InputRequest *round_reqs, RoundResult *res);
void round_result_free(RoundResult *r);

#ifdef __cplusplus
}
#endif
#endif
