/* dist.h: the MPI layer of getp (data parallelism).
 *
 * Every rank holds the whole model and runs its own engine; rank 0 reads the
 * requests in rounds, splits each round across the ranks by expected work,
 * scatters them and gathers the outputs (getp_run.cpp). This header holds the
 * pieces that flow needs and that are worth testing on their own:
 *   - MPI_CHECK: every MPI call checked, failures abort the job naming the
 *     call, file, line, rank and MPI's error text;
 *   - agreement on a status: one failing rank (or rank 0 alone) makes every
 *     rank leave cleanly with the same single message, never a hang;
 *   - scatterv/gatherv of int64 counts: sent in chunks of at most
 *     dist_chunk_limit elements per rank per message, since MPI counts and
 *     displacements are int;
 *   - the balanced split of a round (greedy longest-first);
 *   - GPU binding by node-local rank.
 * Only the MPI standard is used (OpenMPI, MPICH, Cray MPICH).
 */
#ifndef GETP_DIST_H
#define GETP_DIST_H

/* getp_run.cpp is compiled as C++: keep the MPI C++ bindings out. */
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Abort the job: "getp: rank R: MPI call failed: CALL: TEXT (FILE:LINE)". */
void dist_mpi_fail(const char *call, int code, const char *file, int line)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

#define MPI_CHECK(call)                                                      \
    do {                                                                     \
        int mpi_rc_ = (call);                                                \
        if (mpi_rc_ != MPI_SUCCESS) dist_mpi_fail(#call, mpi_rc_, __FILE__, __LINE__); \
    } while (0)

/* MPI_Init (works as a singleton without mpirun), errors returned to
 * MPI_CHECK instead of MPI's own handler, and the common.h abort hook set to
 * MPI_Abort. Fills rank and size of MPI_COMM_WORLD. */
void dist_init(int *rank, int *size);
void dist_finalize(void);

/* Collective agreement after a step that may fail on any rank: every rank
 * passes its own status (GETP_OK / GETP_ERR) and Err. Returns GETP_OK on every
 * rank if all succeeded; otherwise GETP_ERR on every rank, and `err` on every
 * rank holds the message of the lowest failing rank, prefixed with its rank
 * when size > 1 and the failing rank is not 0. */
int dist_agree(MPI_Comm comm, int status, Err *err);

/* Like dist_agree, for a status known only at `root` (the others pass
 * anything): broadcasts it and root's message. */
int dist_bcast_status(MPI_Comm comm, int root, int status, Err *err);

/* Largest number of elements of `elem` bytes sent to or from one rank in one
 * MPI message when chunking is needed: INT_MAX / size, at most 1 GiB in all per
 * message round, lowered by the environment variable GETP_MPI_CHUNK (elements)
 * for tests. Decided by root and broadcast inside the calls below. */
int64_t dist_chunk_limit(int size, size_t elem);

/* Root's counts[r] elements at element offset displs[r] of sendbuf go to rank
 * r's recvbuf (recvcount elements; it must equal counts[r]). counts/displs/
 * sendbuf are read on root only. Counts of any size: a round that fits the
 * limits is one MPI_Scatterv, a larger one several (through a staging buffer
 * on root). Collective over comm. */
void dist_scatterv(const void *sendbuf, const int64_t *counts, const int64_t *displs,
                   void *recvbuf, int64_t recvcount, size_t elem, int root, MPI_Comm comm);

/* The inverse: rank r's sendcount elements land at element displs[r] of root's
 * recvbuf (counts[r] == rank r's sendcount). */
void dist_gatherv(const void *sendbuf, int64_t sendcount, void *recvbuf, const int64_t *counts,
                  const int64_t *displs, size_t elem, int root, MPI_Comm comm);

/* The balanced split of one round: n items with expected work[i] go to
 * `nranks` ranks, greedy longest-first (ties: lower item first) to the least
 * loaded rank (ties: lower rank). Fills owner[i] (rank of item i), and per
 * rank: count[r] items and load[r] = sum of their work. Deterministic. */
void dist_split(const int64_t *work, int64_t n, int nranks, int *owner, int64_t *count,
                int64_t *load);

/* Device for a node-local rank: local_rank mod n_devices. More local ranks
 * than devices is an error naming both numbers unless share is set; no device
 * at all is always an error. Pure (no MPI): testable without a GPU. */
int dist_pick_device(int local_rank, int local_size, int n_devices, int share, int *device,
                     Err *err);

/* Node-local rank and size via MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), then
 * dist_pick_device. Collective over comm. */
int dist_gpu_bind(MPI_Comm comm, int n_devices, int share, int *device, int *local_rank,
                  int *local_size, Err *err);

#ifdef __cplusplus
}
#endif
#endif
