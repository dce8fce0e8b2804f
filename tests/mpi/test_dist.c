/* test_dist.c: unit test of mpi/dist.c, run under mpirun with any rank count.
 *   - dist_split: every item placed, loads add up, a known greedy result, balance bound
 *   - dist_scatterv / dist_gatherv: direct and chunked (GETP_MPI_CHUNK=2 set here),
 *     element sizes 4 and 24, ranks with zero elements
 *   - dist_agree / dist_bcast_status: one failing rank -> same message everywhere
 *   - dist_pick_device: modulo binding, too many ranks per node named, --share-gpu
 * Prints "N passed, M failed" on rank 0 (failures summed over ranks).
 */
#include "dist.h"

static int g_pass, g_fail, g_rank;

#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (cond) g_pass++;                                                    \
        else {                                                                 \
            g_fail++;                                                          \
            fprintf(stderr, "rank %d: FAIL %s:%d: %s: ", g_rank, __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

static void test_split(void) {
    if (g_rank != 0) return;
    int64_t work[6] = {5, 5, 4, 3, 3, 3};
    int owner[6];
    int64_t count[2], load[2];
    dist_split(work, 6, 2, owner, count, load);
    /* longest first: 5->r0, 5->r1, 4->r0 (9), 3->r1 (8), 3->r1 (11), 3->r0 (12) */
    int want[6] = {0, 1, 0, 1, 1, 0};
    for (int i = 0; i < 6; i++) EXPECT(owner[i] == want[i], "item %d on rank %d, want %d", i, owner[i], want[i]);
    EXPECT(load[0] == 12 && load[1] == 11, "loads %lld %lld", (long long)load[0], (long long)load[1]);
    EXPECT(count[0] == 3 && count[1] == 3, "counts %lld %lld", (long long)count[0], (long long)count[1]);

    /* fewer items than ranks: the first ranks get one each, the rest none */
    int64_t w2[2] = {7, 7};
    int o2[2];
    int64_t c2[4], l2[4];
    dist_split(w2, 2, 4, o2, c2, l2);
    EXPECT(o2[0] == 0 && o2[1] == 1 && c2[2] == 0 && c2[3] == 0, "owners %d %d", o2[0], o2[1]);

    /* random works: greedy longest-first keeps every rank within max(work) of the mean */
    enum { N = 997, R = 7 };
    int64_t w[N], c[R], l[R], total = 0, wmax = 0;
    int o[N];
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = 1 + (int64_t)((s >> 33) % 500);
        total += w[i];
        if (w[i] > wmax) wmax = w[i];
    }
    dist_split(w, N, R, o, c, l);
    int64_t sum = 0, ncount = 0, recount[R] = {0};
    for (int i = 0; i < N; i++) recount[o[i]]++;
    for (int r = 0; r < R; r++) {
        sum += l[r];
        ncount += c[r];
        EXPECT(recount[r] == c[r], "rank %d count %lld vs owners %lld", r, (long long)c[r], (long long)recount[r]);
        double dev = (double)l[r] - (double)total / R;
        EXPECT(dev <= wmax && dev >= -wmax, "rank %d load %lld mean %.1f", r, (long long)l[r], (double)total / R);
    }
    EXPECT(sum == total && ncount == N, "sum %lld total %lld", (long long)sum, (long long)total);
}

/* element e of rank r's part: a value that names both */
static uint8_t pattern(int r, int64_t e, size_t b) { return (uint8_t)(r * 31 + e * 7 + (int64_t)b * 3 + 1); }

static void test_collectives(size_t elem, int chunked) {
    int size;
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    if (chunked) setenv("GETP_MPI_CHUNK", "2", 1);
    else unsetenv("GETP_MPI_CHUNK");
    int64_t *counts = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    int64_t *displs = (int64_t *)xcalloc((size_t)size, sizeof(int64_t));
    /* root packs the parts in reverse rank order with a gap of 3 elements */
    int64_t at = 0;
    for (int r = 0; r < size; r++) counts[r] = r == 1 ? 0 : (r * 5 + 3) % 9 + 1;
    for (int r = size - 1; r >= 0; r--) {
        displs[r] = at;
        at += counts[r] + 3;
    }
    char *send = NULL;
    if (g_rank == 0) {
        send = (char *)xcalloc((size_t)at, elem);
        for (int r = 0; r < size; r++)
            for (int64_t e = 0; e < counts[r]; e++)
                for (size_t b = 0; b < elem; b++) send[(displs[r] + e) * (int64_t)elem + (int64_t)b] = (char)pattern(r, e, b);
    }
    int64_t mine = counts[g_rank];
    char *recv = (char *)xcalloc((size_t)(mine + 1), elem);
    dist_scatterv(send, counts, displs, recv, mine, elem, 0, MPI_COMM_WORLD);
    int bad = 0;
    for (int64_t e = 0; e < mine; e++)
        for (size_t b = 0; b < elem; b++) bad += (uint8_t)recv[e * (int64_t)elem + (int64_t)b] != pattern(g_rank, e, b);
    EXPECT(bad == 0, "scatterv elem %zu chunked %d: %d wrong bytes", elem, chunked, bad);

    /* gather back into a fresh buffer at the same displacements */
    char *back = g_rank == 0 ? (char *)xcalloc((size_t)at, elem) : NULL;
    dist_gatherv(recv, mine, back, counts, displs, elem, 0, MPI_COMM_WORLD);
    if (g_rank == 0) {
        bad = 0;
        for (int r = 0; r < size; r++)
            for (int64_t e = 0; e < counts[r]; e++)
                for (size_t b = 0; b < elem; b++)
                    bad += (uint8_t)back[(displs[r] + e) * (int64_t)elem + (int64_t)b] != pattern(r, e, b);
        EXPECT(bad == 0, "gatherv elem %zu chunked %d: %d wrong bytes", elem, chunked, bad);
    }
    free(back);
    free(recv);
    free(send);
    free(counts);
    free(displs);
    unsetenv("GETP_MPI_CHUNK");
}

static void test_chunk_limit(void) {
    unsetenv("GETP_MPI_CHUNK");
    int64_t l = dist_chunk_limit(8, 4);
    EXPECT(l > 0 && l * 8 <= 2147483647LL && l * 8 * 4 <= (1LL << 30), "limit %lld", (long long)l);
    setenv("GETP_MPI_CHUNK", "5", 1);
    EXPECT(dist_chunk_limit(8, 4) == 5, "env limit %lld", (long long)dist_chunk_limit(8, 4));
    unsetenv("GETP_MPI_CHUNK");
}

static void test_agree(void) {
    int size;
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    Err err = {{0}};
    EXPECT(dist_agree(MPI_COMM_WORLD, GETP_OK, &err) == GETP_OK, "all ok");
    int failing = size - 1;
    int st = GETP_OK;
    if (g_rank == failing) st = err_set(&err, "boom on %d", g_rank);
    int rc = dist_agree(MPI_COMM_WORLD, st, &err);
    char want[128];
    if (failing == 0) snprintf(want, sizeof want, "boom on 0");
    else snprintf(want, sizeof want, "rank %d: boom on %d", failing, failing);
    EXPECT(rc == GETP_ERR && !strcmp(err.msg, want), "agree got '%s' want '%s'", err.msg, want);

    Err e2 = {{0}};
    st = g_rank == 0 ? err_set(&e2, "input unreadable") : GETP_OK;
    rc = dist_bcast_status(MPI_COMM_WORLD, 0, st, &e2);
    EXPECT(rc == GETP_ERR && !strcmp(e2.msg, "input unreadable"), "bcast got '%s'", e2.msg);
    EXPECT(dist_bcast_status(MPI_COMM_WORLD, 0, GETP_OK, &e2) == GETP_OK, "bcast ok");
}

static void test_pick_device(void) {
    int dev = -1;
    Err err = {{0}};
    EXPECT(dist_pick_device(3, 8, 8, 0, &dev, &err) == GETP_OK && dev == 3, "dev %d", dev);
    EXPECT(dist_pick_device(9, 16, 8, 1, &dev, &err) == GETP_OK && dev == 1, "shared dev %d", dev);
    int rc = dist_pick_device(0, 9, 8, 0, &dev, &err);
    EXPECT(rc == GETP_ERR && strstr(err.msg, "9 ranks") && strstr(err.msg, "8 visible"), "msg '%s'", err.msg);
    EXPECT(dist_pick_device(0, 1, 0, 1, &dev, &err) == GETP_ERR, "no device");
    /* the MPI form on this node: all ranks share one node here */
    int lr = -1, ls = -1;
    rc = dist_gpu_bind(MPI_COMM_WORLD, 1024, 0, &dev, &lr, &ls, &err);
    int size;
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    EXPECT(rc == GETP_OK && ls == size && lr == g_rank && dev == g_rank, "bind lr %d ls %d dev %d", lr, ls, dev);
}

int main(void) {
    int size;
    dist_init(&g_rank, &size);
    test_split();
    test_chunk_limit();
    for (int chunked = 0; chunked < 2; chunked++) {
        test_collectives(4, chunked);
        test_collectives(24, chunked);
    }
    test_agree();
    test_pick_device();
    int counts[2] = {g_pass, g_fail}, sums[2] = {0, 0};
    MPI_CHECK(MPI_Reduce(counts, sums, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD));
    if (g_rank == 0) printf("test_dist -np %d: %d passed, %d failed\n", size, sums[0], sums[1]);
    int failed = sums[1];
    MPI_CHECK(MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD));
    dist_finalize();
    return failed ? 1 : 0;
}
