/* dist.c: the MPI layer of getp (see dist.h): checked calls, status agreement,
 * chunked scatter/gather of 64-bit counts, the balanced split and GPU binding.
 *
 * Why chunks: MPI counts and displacements are int. A round whose per-rank
 * arrays fit (all displacements and the total below INT_MAX elements, and no
 * more than 2 GiB in all) goes as one MPI_Scatterv/MPI_Gatherv straight from
 * and into the caller's buffers. Anything larger goes as several calls: in
 * call k every rank moves elements [k*L, (k+1)*L) of its own part, packed on
 * root in a staging buffer (at most 1 GiB) so that the int displacements of
 * that call stay small. Root decides the plan and broadcasts it, so ranks never
 * disagree on the number of calls even if their environments differ.
 */
#include "dist.h"

#include <limits.h>

static int g_rank = 0;

void dist_mpi_fail(const char *call, int code, const char *file, int line) {
    char text[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
    text[len] = '\0';
    fprintf(stderr, "getp: rank %d: MPI call failed: %s: %s (error %d, %s:%d)\n", g_rank, call,
            len ? text : "unknown error", code, file, line);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    abort(); /* MPI_Abort does not return; keep the compiler sure of it */
}

static void abort_with_mpi(int code) {
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    fflush(stderr);
    if (inited && !finalized) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    abort();
}

void dist_init(int *rank, int *size) {
    int inited = 0;
    MPI_CHECK(MPI_Initialized(&inited));
    if (!inited) MPI_CHECK(MPI_Init(NULL, NULL));
    /* Errors come back to MPI_CHECK, which names the call before aborting. */
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, size));
    g_rank = *rank;
    set_abort_hook(abort_with_mpi);
}

void dist_finalize(void) {
    int finalized = 0;
    MPI_CHECK(MPI_Finalized(&finalized));
    if (!finalized) MPI_CHECK(MPI_Finalize());
}

/* ---------------------------------------------------------------- status */

int dist_agree(MPI_Comm comm, int status, Err *err) {
    int rank, size;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    MPI_CHECK(MPI_Comm_size(comm, &size));
    int mine = status == GETP_OK ? size : rank, first = size;
    MPI_CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
    if (first == size) return GETP_OK;
    char msg[sizeof err->msg];
    memset(msg, 0, sizeof msg);
    if (rank == first) {
        if (first != 0 && size > 1)
            snprintf(msg, sizeof msg, "rank %d: %.480s", first, err ? err->msg : "failed");
        else
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "failed");
    }
    MPI_CHECK(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, comm));
    msg[sizeof msg - 1] = '\0';
    if (err) snprintf(err->msg, sizeof err->msg, "%s", msg);
    return GETP_ERR;
}

int dist_bcast_status(MPI_Comm comm, int root, int status, Err *err) {
    int rank;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    int st = status == GETP_OK ? 0 : 1;
    MPI_CHECK(MPI_Bcast(&st, 1, MPI_INT, root, comm));
    if (!st) return GETP_OK;
    char msg[sizeof err->msg];
    memset(msg, 0, sizeof msg);
    if (rank == root) snprintf(msg, sizeof msg, "%s", err ? err->msg : "failed");
    MPI_CHECK(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, root, comm));
    msg[sizeof msg - 1] = '\0';
    if (err) snprintf(err->msg, sizeof err->msg, "%s", msg);
    return GETP_ERR;
}

/* ------------------------------------------------------ chunked collectives */

int64_t dist_chunk_limit(int size, size_t elem) {
    CHECK(size > 0 && elem > 0);
    int64_t lim = INT_MAX / size;
    int64_t by_bytes = ((int64_t)1 << 30) / ((int64_t)size * (int64_t)elem);
    if (by_bytes < 1) by_bytes = 1;
    if (by_bytes < lim) lim = by_bytes;
    const char *env = getenv("GETP_MPI_CHUNK");
    if (env && *env) {
        long long v = strtoll(env, NULL, 10);
        if (v > 0 && v < lim) lim = v;
    }
    return lim;
}

typedef struct {
    int64_t direct; // 1: one call straight from/into the caller's buffers
    int64_t limit;  // elements per rank per call when chunked
    int64_t calls;  // number of chunked calls
} ChunkPlan;

static MPI_Datatype elem_type(size_t elem) {
    CHECK(elem > 0 && elem <= INT_MAX);
    MPI_Datatype t;
    MPI_CHECK(MPI_Type_contiguous((int)elem, MPI_BYTE, &t));
    MPI_CHECK(MPI_Type_commit(&t));
    return t;
}

/* Root plans from everyone's counts; the plan is broadcast. */
static ChunkPlan plan_chunks(const int64_t *counts, const int64_t *displs, size_t elem, int root,
                             MPI_Comm comm) {
    int rank, size;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    MPI_CHECK(MPI_Comm_size(comm, &size));
    ChunkPlan p = {0, 0, 0};
    if (rank == root) {
        int64_t total = 0, maxc = 0, maxend = 0;
        for (int r = 0; r < size; r++) {
            CHECK(counts[r] >= 0 && displs[r] >= 0);
            total += counts[r];
            if (counts[r] > maxc) maxc = counts[r];
            if (displs[r] + counts[r] > maxend) maxend = displs[r] + counts[r];
        }
        p.limit = dist_chunk_limit(size, elem);
        const char *env = getenv("GETP_MPI_CHUNK");
        int forced = env && *env && maxc > p.limit;
        p.direct = !forced && maxend <= INT_MAX && total <= INT_MAX / (int64_t)elem;
        p.calls = p.direct ? 1 : (maxc + p.limit - 1) / p.limit;
    }
    MPI_CHECK(MPI_Bcast(&p, 3, MPI_INT64_T, root, comm));
    return p;
}

static int64_t clamp_chunk(int64_t count, int64_t off, int64_t limit) {
    int64_t c = count - off;
    return c < 0 ? 0 : c > limit ? limit : c;
}

/* MPI_Scatterv (gather = 0) or MPI_Gatherv (gather = 1) between root's `all`
 * (counts/displs in elements, per rank) and each rank's `mine` (mycount
 * elements). One call when plan_chunks allows it; otherwise calls of at most
 * p.limit elements per rank through a packed staging buffer on root, which a
 * scatter fills before each call and a gather empties after it. `all` is only
 * read by a scatter. */
static void dist_transferv(int gather, void *all, const int64_t *counts, const int64_t *displs,
                           void *mine, int64_t mycount, size_t elem, int root, MPI_Comm comm) {
    int rank, size;
    MPI_CHECK(MPI_Comm_rank(comm, &rank));
    MPI_CHECK(MPI_Comm_size(comm, &size));
    ChunkPlan p = plan_chunks(counts, displs, elem, root, comm);
    MPI_Datatype t = elem_type(elem);
    const int64_t limit = p.direct ? INT64_MAX : p.limit; // p.calls == 1 when direct
    int *ic = NULL, *id = NULL;
    char *stage = NULL;
    if (rank == root) {
        ic = (int *)xcalloc((size_t)size, sizeof *ic);
        id = (int *)xcalloc((size_t)size, sizeof *id);
        if (!p.direct) stage = (char *)xmalloc((size_t)(p.limit * size) * elem);
    }
    char *buf = p.direct ? (char *)all : stage;
    for (int64_t k = 0; k < p.calls; k++) {
        const int64_t off = k * p.limit;
        if (rank == root) {
            int64_t at = 0;
            for (int r = 0; r < size; r++) {
                const int64_t c = clamp_chunk(counts[r], off, limit);
                ic[r] = (int)c;
                id[r] = (int)(p.direct ? displs[r] : at);
                if (!gather && !p.direct && c)
                    memcpy(stage + at * elem, (const char *)all + (displs[r] + off) * elem, (size_t)c * elem);
                at += c;
            }
        }
        const int64_t n = clamp_chunk(mycount, off, limit);
        char *piece = n ? (char *)mine + off * elem : NULL;
        if (gather) MPI_CHECK(MPI_Gatherv(piece, (int)n, t, buf, ic, id, t, root, comm));
        else MPI_CHECK(MPI_Scatterv(buf, ic, id, t, piece, (int)n, t, root, comm));
        if (gather && !p.direct && rank == root)
            for (int r = 0; r < size; r++)
                if (ic[r])
                    memcpy((char *)all + (displs[r] + off) * elem, stage + (int64_t)id[r] * elem,
                           (size_t)ic[r] * elem);
    }
    free(stage);
    free(ic);
    free(id);
    MPI_CHECK(MPI_Type_free(&t));
}

void dist_scatterv(const void *sendbuf, const int64_t *counts, const int64_t *displs,
                   void *recvbuf, int64_t recvcount, size_t elem, int root, MPI_Comm comm) {
    dist_transferv(0, (void *)sendbuf, counts, displs, recvbuf, recvcount, elem, root, comm);
}

void dist_gatherv(const void *sendbuf, int64_t sendcount, void *recvbuf, const int64_t *counts,
                  const int64_t *displs, size_t elem, int root, MPI_Comm comm) {
    dist_transferv(1, recvbuf, counts, displs, (void *)sendbuf, sendcount, elem, root, comm);
}

/* ------------------------------------------------------------------ split */

typedef struct {
    int64_t work;
    int64_t item;
} WorkItem;

static int by_work_desc(const void *a, const void *b) {
    const WorkItem *x = (const WorkItem *)a, *y = (const WorkItem *)b;
    if (x->work != y->work) return x->work > y->work ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* Min-heap of ranks keyed by (load, rank). */
static int heap_less(const int64_t *load, int a, int b) {
    return load[a] < load[b] || (load[a] == load[b] && a < b);
}

static void heap_down(int *heap, int n, const int64_t *load, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && heap_less(load, heap[l], heap[m])) m = l;
        if (r < n && heap_less(load, heap[r], heap[m])) m = r;
        if (m == i) return;
        int tmp = heap[i];
        heap[i] = heap[m];
        heap[m] = tmp;
        i = m;
    }
}

void dist_split(const int64_t *work, int64_t n, int nranks, int *owner, int64_t *count,
                int64_t *load) {
    CHECK(nranks > 0 && n >= 0);
    for (int r = 0; r < nranks; r++) count[r] = load[r] = 0;
    if (n == 0) return;
    WorkItem *items = (WorkItem *)xmalloc((size_t)n * sizeof *items);
    for (int64_t i = 0; i < n; i++) {
        items[i].work = work[i];
        items[i].item = i;
    }
    qsort(items, (size_t)n, sizeof *items, by_work_desc);
    int *heap = (int *)xmalloc((size_t)nranks * sizeof *heap);
    for (int r = 0; r < nranks; r++) heap[r] = r; /* all loads 0: already a heap by rank */
    for (int64_t k = 0; k < n; k++) {
        int r = heap[0];
        owner[items[k].item] = r;
        count[r]++;
        load[r] += items[k].work;
        heap_down(heap, nranks, load, 0);
    }
    free(heap);
    free(items);
}

/* ---------------------------------------------------------------- GPU binding */

int dist_pick_device(int local_rank, int local_size, int n_devices, int share, int *device,
                     Err *err) {
    if (n_devices <= 0) return err_set(err, "no GPU visible to this rank (device count %d)", n_devices);
    if (local_size > n_devices && !share)
        return err_set(err, "%d ranks on this node but only %d visible GPUs; use fewer ranks per "
                            "node, or --share-gpu to let ranks share a device", local_size, n_devices);
    *device = local_rank % n_devices;
    return GETP_OK;
}

int dist_gpu_bind(MPI_Comm comm, int n_devices, int share, int *device, int *local_rank,
                  int *local_size, Err *err) {
    MPI_Comm local;
    MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local));
    MPI_CHECK(MPI_Comm_rank(local, local_rank));
    MPI_CHECK(MPI_Comm_size(local, local_size));
    MPI_CHECK(MPI_Comm_free(&local));
    return dist_pick_device(*local_rank, *local_size, n_devices, share, device, err);
}
