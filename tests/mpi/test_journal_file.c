/* test_journal_file.c: the journal file format (src/journal.c).
 *
 *   test_journal SCRATCH_DIR
 *
 * Outputs built here (random ids, finish reasons, logprobs with 0..20
 * alternatives, none, empty) go through journal files and must come back
 * field for field. The record boundaries are the file sizes the OS reports
 * after each append, not sizes the code computes: cutting the file at every
 * byte must give back exactly the records that end before the cut (a torn
 * last record dropped, never misread); a flipped byte in record k must give
 * back records 0..k-1; an identity that differs must be refused naming the
 * item; duplicates across journals are kept once.
 */
#include "../expect.h" // EXPECT, test_finish
#include "journal.h"            // the format under test

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[900];

static char *path_in(const char *name) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static uint64_t g_rng = 12345;
static uint32_t rnd(void) {
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(g_rng >> 33);
}

/* Output k of the test set: the shapes cycle through no ids, ids only, and
 * logprobs with 0, 1, 5 or 20 alternatives. */
static Output make_output(int64_t index, int k, int max_tokens) {
    Output o;
    memset(&o, 0, sizeof o);
    o.index = index;
    o.finish = k % 7 == 0 ? FINISH_ERROR : k % 2 ? FINISH_STOP : FINISH_LENGTH;
    o.n_tokens = k % 7 == 0 ? 0 : (int32_t)(rnd() % (uint32_t)max_tokens);
    o.tokens = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(o.n_tokens + 1));
    for (int i = 0; i < o.n_tokens; i++) o.tokens[i] = (int32_t)(rnd() % 201088);
    static const int tops[] = {-1, -1, 0, 1, 5, 20};
    int top = tops[k % 6];
    if (top >= 0) {
        size_t n = (size_t)o.n_tokens, na = n * (size_t)top;
        o.n_top = top;
        o.logprobs = (float *)xmalloc(sizeof(float) * (n + 1));
        o.top_ids = (int32_t *)xmalloc(sizeof(int32_t) * (na + 1));
        o.top_logprobs = (float *)xmalloc(sizeof(float) * (na + 1));
        for (size_t i = 0; i < n; i++) o.logprobs[i] = -(float)(rnd() % 100000) / 1000.0f;
        for (size_t i = 0; i < na; i++) {
            o.top_ids[i] = (int32_t)(rnd() % 201088);
            o.top_logprobs[i] = -(float)(rnd() % 100000) / 997.0f;
        }
    }
    return o;
}

static int same_output(const Output *a, const Output *b) {
    if (a->index != b->index || a->finish != b->finish || a->n_tokens != b->n_tokens) return 0;
    if ((a->logprobs != NULL) != (b->logprobs != NULL)) return 0;
    size_t n = (size_t)a->n_tokens;
    if (n && memcmp(a->tokens, b->tokens, n * sizeof(int32_t))) return 0;
    if (!a->logprobs) return 1;
    size_t na = n * (size_t)a->n_top;
    return a->n_top == b->n_top && (!n || !memcmp(a->logprobs, b->logprobs, n * sizeof(float))) &&
           (!na || (!memcmp(a->top_ids, b->top_ids, na * sizeof(int32_t)) &&
                    !memcmp(a->top_logprobs, b->top_logprobs, na * sizeof(float))));
}

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static const char *ID = "journal 1\ninput 100 bytes crc 0badf00d\ntemperature 0\nseed 42\n";
static const char *ID2 = "journal 1\ninput 100 bytes crc 0badf00d\ntemperature 0.8\nseed 42\n";

/* Write the first len bytes of path `from` to `to`, byte flip_at (if >= 0) changed. */
static void copy_prefix(const char *from, const char *to, int64_t len, int64_t flip_at) {
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    CHECK(f && g);
    uint8_t *buf = (uint8_t *)xmalloc((size_t)len + 1);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
    if (flip_at >= 0 && flip_at < len) buf[flip_at] ^= 0x10;
    CHECK(fwrite(buf, 1, (size_t)len, g) == (size_t)len);
    free(buf);
    fclose(f);
    fclose(g);
}

/* A journal of outs[0..n) at path; end[k] = its size after k records. */
static void write_journal(const char *path, const Output *outs, int n, int64_t *end) {
    Journal *j = NULL;
    Err err = {{0}};
    EXPECT(journal_create(path, ID, &j, &err) == GETP_OK, "create %s: %s", path, err.msg);
    end[0] = file_size(path);
    for (int k = 0; k < n; k++) {
        EXPECT(journal_append(j, &outs[k], &err) == GETP_OK, "append %d: %s", k, err.msg);
        end[k + 1] = file_size(path);
    }
    EXPECT(journal_count(j) == n, "count %lld", (long long)journal_count(j));
    journal_close(j, 0);
}

enum { N = 60, N_CUT = 14 }; // records in the journal; in the one cut at every byte

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_journal SCRATCH_DIR\n");
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    if (mkdir(g_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s\n", g_dir);
        return 2;
    }
    Err err = {{0}};
    Output outs[N], small[N_CUT];
    for (int k = 0; k < N; k++) outs[k] = make_output(1000 + 3 * k, k, 40);
    for (int k = 0; k < N_CUT; k++) small[k] = make_output(5 * k, k, 6);

    /* ---- pack / unpack, every shape */
    for (int k = 0; k < N; k++) {
        size_t n = output_pack_size(&outs[k]);
        uint8_t *buf = (uint8_t *)xmalloc(n);
        output_pack(&outs[k], buf);
        Output back;
        EXPECT(output_unpack(buf, n, &back, &err) == GETP_OK, "unpack %d: %s", k, err.msg);
        EXPECT(same_output(&outs[k], &back), "output %d round trip", k);
        output_free(&back);
        EXPECT(output_unpack(buf, n - 1, &back, &err) != GETP_OK, "a record one byte short is refused (%d)", k);
        free(buf);
    }

    /* ---- a journal: boundaries measured by the OS after every append */
    const char *jp = path_in("rank-0");
    Journal *j = NULL;
    int64_t end[N + 1];
    write_journal(jp, outs, N, end);

    JournalSet s;
    JournalReadInfo info;
    memset(&s, 0, sizeof s);
    EXPECT(journal_read(jp, ID, 0, &s, &info, &err) == GETP_OK, "read: %s", err.msg);
    journal_set_finish(&s);
    EXPECT(s.n == N && info.records == N && info.torn_bytes == 0 && info.header_ok, "all %d back (%lld)", N,
           (long long)s.n);
    int all_same = s.n == N;
    for (int k = 0; all_same && k < N; k++) all_same = same_output(&outs[k], &s.outs[k]);
    EXPECT(all_same, "every record equals what was appended");
    journal_set_free(&s);

    /* ---- cut at every byte (a small journal, every shape): exactly the
     * records that end before the cut */
    const char *sp = path_in("rank-small"), *cut = path_in("rank-cut");
    int64_t send[N_CUT + 1];
    write_journal(sp, small, N_CUT, send);
    int bad_cuts = 0;
    for (int64_t len = 0; len < send[N_CUT]; len++) {
        copy_prefix(sp, cut, len, -1);
        memset(&s, 0, sizeof s);
        int rc = journal_read(cut, ID, 0, &s, &info, &err);
        int whole = 0;
        while (whole < N_CUT && send[whole + 1] <= len) whole++;
        int ok = rc == GETP_OK && info.header_ok == (len >= send[0]);
        if (ok && len >= send[0]) {
            journal_set_finish(&s);
            ok = s.n == whole && info.torn_bytes == len - send[whole];
            for (int k = 0; ok && k < whole; k++) ok = same_output(&small[k], &s.outs[k]);
        } else if (ok) {
            ok = s.n == 0;
        }
        if (!ok && bad_cuts++ < 5)
            fprintf(stderr, "cut at %lld: rc %d, %lld records (want %d): %s\n", (long long)len, rc,
                    (long long)s.n, whole, err.msg);
        journal_set_free(&s);
    }
    EXPECT(bad_cuts == 0, "%d of %lld cuts misread", bad_cuts, (long long)send[N_CUT]);
    unlink(sp);

    /* ---- a flipped byte in record k (its length, crc or payload): records 0..k-1 */
    int bad_flips = 0;
    for (int k = 0; k < N; k += 7) {
        int64_t span = end[k + 1] - end[k];
        for (int64_t at = end[k]; at < end[k + 1]; at += span > 16 ? span / 16 : 1) {
            copy_prefix(jp, cut, end[N], at);
            memset(&s, 0, sizeof s);
            int rc = journal_read(cut, ID, 0, &s, &info, &err);
            journal_set_finish(&s);
            int ok = rc == GETP_OK && s.n == k;
            for (int i = 0; ok && i < k; i++) ok = same_output(&outs[i], &s.outs[i]);
            if (!ok && bad_flips++ < 5)
                fprintf(stderr, "flip at %lld (record %d): %lld records back\n", (long long)at, k, (long long)s.n);
            journal_set_free(&s);
        }
    }
    EXPECT(bad_flips == 0, "%d flipped bytes misread", bad_flips);

    /* ---- another run's identity is refused, naming the item */
    memset(&s, 0, sizeof s);
    EXPECT(journal_read(jp, ID2, 0, &s, &info, &err) == GETP_ERR && s.n == 0, "other identity refused");
    EXPECT(strstr(err.msg, "temperature: 0 there, 0.8 here") != NULL, "the refusal names the item: %s", err.msg);
    /* a file that is not a journal; a damaged header */
    FILE *f = fopen(cut, "wb");
    fputs("17 23 4\n", f);
    fclose(f);
    EXPECT(journal_read(cut, ID, 0, &s, &info, &err) == GETP_ERR && strstr(err.msg, "not a getp journal"),
           "a foreign file is refused: %s", err.msg);
    copy_prefix(jp, cut, end[N], 20); /* inside the identity text */
    EXPECT(journal_read(cut, ID, 0, &s, &info, &err) == GETP_ERR && strstr(err.msg, "damaged"),
           "a damaged header is refused: %s", err.msg);
    journal_set_free(&s);

    /* ---- min_index, duplicates across journals, rewind, carry */
    const char *jp2 = path_in("rank-1");
    EXPECT(journal_create(jp2, ID, &j, &err) == GETP_OK, "create rank-1");
    for (int k = N / 2; k < N; k++) journal_append(j, &outs[k], &err); /* the same requests again */
    journal_close(j, 0);
    memset(&s, 0, sizeof s);
    int64_t min_index = outs[10].index;
    EXPECT(journal_read(jp, ID, min_index, &s, &info, &err) == GETP_OK && info.kept == N - 10, "min_index");
    EXPECT(journal_read(jp2, ID, min_index, &s, &info, &err) == GETP_OK, "second journal");
    journal_set_finish(&s);
    EXPECT(s.n == N - 10, "duplicates kept once: %lld", (long long)s.n);
    int found = 1;
    for (int k = 0; k < N; k++) {
        const Output *o = journal_set_find(&s, outs[k].index);
        found &= k < 10 ? o == NULL : o != NULL && same_output(o, &outs[k]);
        found &= journal_set_find(&s, outs[k].index + 1) == NULL;
    }
    EXPECT(found, "journal_set_find finds exactly the kept records");

    const char *carry = path_in("carry");
    EXPECT(journal_write_set(carry, ID, &s, &err) == GETP_OK, "carry: %s", err.msg);
    EXPECT(access(path_in("carry.tmp"), F_OK) != 0, "no carry.tmp left");
    JournalSet c;
    memset(&c, 0, sizeof c);
    EXPECT(journal_read(carry, ID, 0, &c, &info, &err) == GETP_OK, "read carry");
    journal_set_finish(&c);
    int carry_same = c.n == s.n;
    for (int64_t k = 0; carry_same && k < c.n; k++) carry_same = same_output(&c.outs[k], &s.outs[k]);
    EXPECT(carry_same, "carry holds the set");
    journal_set_free(&c);
    journal_set_free(&s);

    EXPECT(journal_create(jp2, ID, &j, &err) == GETP_OK, "recreate rank-1");
    journal_append(j, &outs[1], &err);
    EXPECT(journal_rewind(j, &err) == GETP_OK && file_size(jp2) == end[0], "rewind back to the header");
    journal_append(j, &outs[2], &err);
    journal_close(j, 0);
    memset(&s, 0, sizeof s);
    EXPECT(journal_read(jp2, ID, 0, &s, &info, &err) == GETP_OK && s.n == 1 && same_output(&s.outs[0], &outs[2]),
           "after a rewind only the later record");
    journal_set_free(&s);

    /* ---- listing: rank-* and carry*, sorted; other names ignored; no folder */
    f = fopen(path_in("notes.txt"), "wb");
    fclose(f);
    char **paths;
    int n;
    EXPECT(journal_list(g_dir, &paths, &n, &err) == GETP_OK, "list");
    int list_ok = n == 4 && strstr(paths[0], "/carry") && strstr(paths[1], "/rank-0") &&
                  strstr(paths[2], "/rank-1") && strstr(paths[3], "/rank-cut");
    EXPECT(list_ok, "listing: %d files", n);
    journal_list_free(paths, n);
    EXPECT(journal_list(path_in("nowhere"), &paths, &n, &err) == GETP_OK && n == 0, "missing folder: none");

    char diff[128];
    journal_identity_diff(ID, ID, diff, sizeof diff);
    EXPECT(diff[0] == '\0', "equal identities: no difference");
    journal_identity_diff("a 1\nb 2\n", "a 1\nc 2\n", diff, sizeof diff);
    EXPECT(strcmp(diff, "'b 2' there, 'c 2' here") == 0, "different keys: %s", diff);

    for (int k = 0; k < N; k++) output_free(&outs[k]);
    for (int k = 0; k < N_CUT; k++) output_free(&small[k]);
    return test_finish();
}
