/* test_tokenizer.c: the o200k_harmony tokenizer against an exact oracle.
 *
 *   test_tokenizer TMPDIR                               malformed files, a toy vocabulary
 *   test_tokenizer TMPDIR RANKS BIN CORPUS ORACLE       all of it
 *
 * RANKS/BIN come from tools/make_tokenizer.mjs, CORPUS/ORACLE (gpt-tokenizer's ids)
 * from tests/tokenizer/make_corpus.mjs. Checks: ids equal the oracle exactly,
 * decode(encode(s)) == s, tokenizer.bin gives the rank file's ids, special ids,
 * tiktoken's ids where gpt-tokenizer differs from it, invalid UTF-8 round trips,
 * threads agree, malformed files are refused with a message; prints a 1 MB timing.
 * Ends with `N passed, M failed`; exits 1 on any failure.
 */
#include "tokenizer.h" // tokenizer_*

#include <jansson.h> // json_loads: the corpus is JSON lines
#include <omp.h>     // omp_get_max_threads

static int g_passed, g_failed;

static void check(int ok, const char *what) {
    if (ok) g_passed++;
    else {
        g_failed++;
        fprintf(stderr, "FAIL: %s\n", what);
    }
}

/* Prints s (at most max bytes) with non-printing bytes escaped. */
static void print_escaped(FILE *f, const char *s, size_t n, size_t max) {
    fputc('"', f);
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputs(n > max ? "\"..." : "\"", f);
}

static void print_ids(FILE *f, const int32_t *ids, int n, int from) {
    int lo = from > 3 ? from - 3 : 0;
    fprintf(f, "[%s", lo > 0 ? "... " : "");
    for (int i = lo; i < n && i < lo + 12; i++) fprintf(f, "%s%d", i > lo ? " " : "", (int)ids[i]);
    fprintf(f, "%s] (%d ids)", lo + 12 < n ? " ..." : "", n);
}

/* Encodes s and compares with want; decode must give s back. */
static int expect_ids(const Tokenizer *t, const char *s, size_t len, const int32_t *want, int nwant, int report) {
    int32_t *ids;
    int n;
    Err err = {{0}};
    if (tokenizer_encode(t, s, len, &ids, &n, &err) != GETP_OK) {
        if (report) fprintf(stderr, "  encode error: %s\n", err.msg);
        return 0;
    }
    int first = 0;
    while (first < n && first < nwant && ids[first] == want[first]) first++;
    int ok = n == nwant && first == n;
    if (!ok && report) {
        fprintf(stderr, "  text ");
        print_escaped(stderr, s, len, 160);
        fprintf(stderr, "\n  first difference at id %d\n  want ", first);
        print_ids(stderr, want, nwant, first);
        fprintf(stderr, "\n  got  ");
        print_ids(stderr, ids, n, first);
        fputc('\n', stderr);
    }
    char *back = NULL;
    size_t blen = 0;
    int dec = tokenizer_decode(t, ids, n, &back, &blen, &err);
    if (dec != GETP_OK || blen != len || memcmp(back, s, len) != 0) {
        if (report) fprintf(stderr, "  decode(encode(s)) != s for a text of %zu bytes\n", len);
        ok = 0;
    }
    free(back);
    free(ids);
    return ok;
}

/* ---------------------------------------------------------------- no node needed */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* A rank file with all 256 single bytes (rank = byte) plus extra lines. */
static void write_toy_ranks(const char *path, const char *extra) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    for (int b = 0; b < 256; b++) fprintf(f, "%c%c== %d\n", b64[b >> 2], b64[(b & 3) << 4], b);
    fputs(extra, f);
    fclose(f);
}

static void expect_refused(const char *path, const char *needle, const char *what) {
    Tokenizer *t = NULL;
    Err err = {{0}};
    int rc = tokenizer_load(path, &t, &err);
    int ok = rc == GETP_ERR && t == NULL && strstr(err.msg, needle) != NULL;
    printf("  %-28s -> %s\n", what, rc == GETP_ERR ? err.msg : "(accepted)");
    check(ok, what);
    tokenizer_free(t);
}

static void test_malformed(const char *dir) {
    char p[4096];
    printf("malformed files:\n");
    snprintf(p, sizeof p, "%s/tok_bad_base64.tiktoken", dir);
    write_text(p, "IQ== 0\nIg== 1\nI@#= 2\n");
    expect_refused(p, ":3: bad base64", "bad base64 (line 3)");
    snprintf(p, sizeof p, "%s/tok_bad_padding.tiktoken", dir);
    write_text(p, "IQ== 0\nI=Q= 1\n");
    expect_refused(p, ":2: bad base64", "bad padding (line 2)");
    snprintf(p, sizeof p, "%s/tok_missing_rank.tiktoken", dir);
    write_text(p, "IQ== 0\nIg== 1\nIw==\n");
    expect_refused(p, ":3: expected", "missing rank (line 3)");
    snprintf(p, sizeof p, "%s/tok_empty_rank.tiktoken", dir);
    write_text(p, "IQ== 0\nIg== \n");
    expect_refused(p, ":2: missing rank", "empty rank (line 2)");
    snprintf(p, sizeof p, "%s/tok_bad_rank.tiktoken", dir);
    write_text(p, "IQ== 0\nIg== 1x\n");
    expect_refused(p, ":2: rank must be", "non-numeric rank (line 2)");
    snprintf(p, sizeof p, "%s/tok_big_rank.tiktoken", dir);
    write_text(p, "IQ== 0\nIg== 199998\n");
    expect_refused(p, ":2: rank must be", "rank in the specials");
    snprintf(p, sizeof p, "%s/tok_dup_rank.tiktoken", dir);
    write_toy_ranks(p, "YWI= 256\nYmM= 256\n");
    expect_refused(p, ":258: duplicate rank 256", "duplicate rank (line 258)");
    snprintf(p, sizeof p, "%s/tok_dup_bytes.tiktoken", dir);
    write_toy_ranks(p, "YWI= 256\nYWI= 257\n");
    expect_refused(p, "same bytes", "duplicate token bytes");
    snprintf(p, sizeof p, "%s/tok_no_bytes.tiktoken", dir);
    write_text(p, "IQ== 0\nIg== 1\n");
    expect_refused(p, "no token for the single byte", "missing single bytes");
    snprintf(p, sizeof p, "%s/tok_truncated.bin", dir);
    {
        FILE *f = fopen(p, "wb");
        CHECK(f != NULL);
        const unsigned char head[] = {16, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 'a'};
        fwrite(head, 1, sizeof head, f);
        fclose(f);
    }
    expect_refused(p, "entry 0 has bad length", "truncated tokenizer.bin");
    snprintf(p, sizeof p, "%s/tok_does_not_exist", dir);
    expect_refused(p, "cannot open", "missing file");
}

/* BPE semantics on a toy vocabulary: lowest rank first, leftmost on a tie. */
static void test_toy_bpe(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s/tok_toy.tiktoken", dir);
    /* ab=256 bc=257 abc=258 aa=259 aaaa=260 */
    write_toy_ranks(p, "YWI= 256\nYmM= 257\nYWJj 258\nYWE= 259\nYWFhYQ== 260\n");
    Tokenizer *t;
    Err err = {{0}};
    if (tokenizer_load(p, &t, &err) != GETP_OK) {
        fprintf(stderr, "toy vocabulary refused: %s\n", err.msg);
        check(0, "toy vocabulary loads");
        return;
    }
    check(tokenizer_vocab_size(t) == 201088, "toy vocabulary has 201088 ids");
    const int32_t w1[] = {258}, w2[] = {258, 'd'}, w3[] = {'x', 257}, w4[] = {260, 'a'}, w5[] = {259, 'a'};
    check(expect_ids(t, "abc", 3, w1, 1, 1), "toy: abc is one token");
    check(expect_ids(t, "abcd", 4, w2, 2, 1), "toy: abcd -> ab c d -> abc d");
    check(expect_ids(t, "xbc", 3, w3, 2, 1), "toy: xbc -> x bc");
    check(expect_ids(t, "aaaaa", 5, w4, 2, 1), "toy: aaaaa -> aaaa a (leftmost tie)");
    check(expect_ids(t, "aaa", 3, w5, 2, 1), "toy: aaa -> aa a");
    tokenizer_free(t);
}

/* ---------------------------------------------------------------- with the real files */

static void test_specials(const Tokenizer *t, const char *which) {
    static const struct { const char *name; int32_t id; } want[] = {
        {"<|startoftext|>", 199998}, {"<|endoftext|>", 199999},       {"<|return|>", 200002},
        {"<|constrain|>", 200003},   {"<|channel|>", 200005},         {"<|start|>", 200006},
        {"<|end|>", 200007},         {"<|message|>", 200008},         {"<|call|>", 200012},
        {"<|endofprompt|>", 200018}, {"<|reserved_200000|>", 200000}, {"<|reserved_200013|>", 200013},
        {"<|reserved_201087|>", 201087}, {"<|im_start|>", -1},        {"hello", -1},
    };
    int ok = tokenizer_vocab_size(t) == 201088;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int32_t id = tokenizer_special_id(t, want[i].name);
        if (id != want[i].id) {
            fprintf(stderr, "  %s: %s is %d, want %d\n", which, want[i].name, (int)id, (int)want[i].id);
            ok = 0;
        }
    }
    size_t n;
    const char *b = tokenizer_token_bytes(t, 200006, &n);
    ok = ok && b && n == 9 && memcmp(b, "<|start|>", 9) == 0;
    b = tokenizer_token_bytes(t, 188, &n); /* the single byte 0x00 (<0x00> in tokenizer.bin) */
    ok = ok && b && n == 1 && b[0] == 0;
    ok = ok && tokenizer_token_bytes(t, 201088, &n) == NULL && n == 0;
    char msg[128];
    snprintf(msg, sizeof msg, "%s: special ids, vocab size, token bytes", which);
    check(ok, msg);
}

/* Where gpt-tokenizer (JavaScript \s, a BOM-stripping TextDecoder) differs from
 * tiktoken: ids from tiktoken 1.0.22 (the Rust code as WASM), o200k_base. */
static void test_tiktoken_cases(const Tokenizer *t) {
    static const struct { const char *s; int n; int32_t ids[8]; } cases[] = {
        {" \xEF\xBB\xBFz", 2, {71280, 89}},
        {"a\xEF\xBB\xBF\nb", 3, {64, 61992, 65}},
        {"\xEF\xBB\xBF", 1, {5574}},
        {"x \xC2\x85 y", 4, {87, 1322, 227, 342}},
        {"a\xC2\x85\n\nb", 5, {64, 126, 227, 279, 65}},
        {"x\xC2\x85\xC2\x85y", 6, {87, 126, 227, 126, 227, 88}},
        {"don'\xC5\xBFt", 4, {22130, 6, 70067, 83}},
        {"a\xE1\xA0\x8E\n", 5, {64, 157, 254, 236, 198}},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ok &= expect_ids(t, cases[i].s, strlen(cases[i].s), cases[i].ids, cases[i].n, 1);
    check(ok, "tiktoken ids for U+FEFF, U+0085, U+017F, U+180E");
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

static int roundtrips(const Tokenizer *t, const char *s, size_t n) {
    int32_t *ids;
    int nid;
    char *back;
    size_t blen;
    Err err = {{0}};
    if (tokenizer_encode(t, s, n, &ids, &nid, &err) != GETP_OK) return 0;
    int ok = 1;
    for (int i = 0; i < nid; i++) ok &= ids[i] >= 0 && ids[i] < 199998;
    ok = ok && tokenizer_decode(t, ids, nid, &back, &blen, &err) == GETP_OK;
    if (ok) {
        ok = blen == n && memcmp(back, s, n) == 0;
        free(back);
    }
    free(ids);
    return ok;
}

/* Id of the single byte 0xFF (from the token table, not assumed). */
static int32_t t_byte_rank_ff(const Tokenizer *t) {
    for (int32_t id = 0; id < 256 * 1024 && id < tokenizer_vocab_size(t); id++) {
        size_t n;
        const char *b = tokenizer_token_bytes(t, id, &n);
        if (b && n == 1 && (unsigned char)b[0] == 0xFF) return id;
    }
    return -1;
}

static void test_invalid_utf8(const Tokenizer *t) {
    static const char *fixed[] = {
        "\xFF", "\xFE\xFF", "\xC0\x80", "\xE0\x80\x80", "\xF0\x80\x80\x80", "\xED\xA0\x80", "\xED\xBF\xBF",
        "\xF4\x90\x80\x80", "\xF5\x80", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "abc\xE2\x82", "\x80\x80\x80 x",
        "hello\xFFworld", " \xFF ", "\xED\xA0\x80\xED\xB0\x80", "caf\xC3\xA9\xC3", "\xF0\x9F\x98\x80\xF0\x9F\x98",
    };
    int ok = 1, count = 0, shown = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, count++) {
        int r = roundtrips(t, fixed[i], strlen(fixed[i]));
        if (!r && shown++ < 5) {
            fprintf(stderr, "  invalid UTF-8 does not round-trip: ");
            print_escaped(stderr, fixed[i], strlen(fixed[i]), 100);
            fputc('\n', stderr);
        }
        ok &= r;
    }
    char buf[512];
    for (int r = 0; r < 3000; r++, count++) {
        size_t n = 1 + rnd() % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = rnd() % 8;
            buf[i] = k < 4 ? (char)(rnd() & 0xff) : k < 6 ? (char)(0x80 | (rnd() & 0x3f)) : "ab \n\xC3\xE2\xF0\xED"[rnd() % 8];
        }
        int rt = roundtrips(t, buf, n);
        if (!rt && shown++ < 5) {
            fprintf(stderr, "  random bytes do not round-trip: ");
            print_escaped(stderr, buf, n, 100);
            fputc('\n', stderr);
        }
        ok &= rt;
    }
    /* A valid run around an invalid byte is encoded as if the byte were not there. */
    int32_t *a, *b;
    int na, nb;
    Err err;
    CHECK(tokenizer_encode(t, "hello", 5, &a, &na, &err) == GETP_OK);
    CHECK(tokenizer_encode(t, "hello\xFF world", 12, &b, &nb, &err) == GETP_OK);
    int split_ok = nb >= na + 2 && memcmp(a, b, (size_t)na * sizeof *a) == 0 && b[na] == t_byte_rank_ff(t);
    if (!split_ok) fprintf(stderr, "  hello\\xFF world: the valid run is not encoded on its own\n");
    ok &= split_ok;
    free(a);
    free(b);
    printf("invalid UTF-8: %d strings round-trip byte for byte: %s\n", count, ok ? "yes" : "NO");
    check(ok, "invalid UTF-8 round-trips");
}

typedef struct {
    char **text;
    size_t *len;
    int32_t **want;
    int *nwant;
    int n;
} Corpus;

static int parse_ids(const char *line, int32_t **out) {
    int n = 0, cap = 16;
    int32_t *ids = xmalloc((size_t)cap * sizeof *ids);
    for (const char *p = line; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        if (n == cap) ids = xrealloc(ids, (size_t)(cap *= 2) * sizeof *ids);
        ids[n++] = (int32_t)v;
        p = end;
    }
    *out = ids;
    return n;
}

static int read_line(FILE *f, char **buf, size_t *cap) {
    ssize_t n = getline(buf, cap, f);
    if (n < 0) return 0;
    if (n > 0 && (*buf)[n - 1] == '\n') (*buf)[n - 1] = 0;
    return 1;
}

static void load_corpus(const char *corpus_path, const char *oracle_path, Corpus *c) {
    FILE *fc = fopen(corpus_path, "rb"), *fo = fopen(oracle_path, "rb");
    if (!fc || !fo) fatal("cannot open %s or %s", corpus_path, oracle_path);
    char *lc = NULL, *lo = NULL;
    size_t cc = 0, co = 0;
    int cap = 0;
    memset(c, 0, sizeof *c);
    while (read_line(fc, &lc, &cc)) {
        if (!read_line(fo, &lo, &co)) fatal("%s has fewer lines than %s", oracle_path, corpus_path);
        json_error_t je;
        json_t *j = json_loads(lc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!j || !json_is_string(j)) fatal("%s:%d: not a JSON string: %s", corpus_path, c->n + 1, je.text);
        if (c->n == cap) {
            cap = cap ? 2 * cap : 1024;
            c->text = xrealloc(c->text, (size_t)cap * sizeof *c->text);
            c->len = xrealloc(c->len, (size_t)cap * sizeof *c->len);
            c->want = xrealloc(c->want, (size_t)cap * sizeof *c->want);
            c->nwant = xrealloc(c->nwant, (size_t)cap * sizeof *c->nwant);
        }
        c->len[c->n] = json_string_length(j);
        c->text[c->n] = xmalloc(c->len[c->n] + 1);
        memcpy(c->text[c->n], json_string_value(j), c->len[c->n] + 1);
        c->nwant[c->n] = parse_ids(lo, &c->want[c->n]);
        c->n++;
        json_decref(j);
    }
    free(lc);
    free(lo);
    fclose(fc);
    fclose(fo);
}

static void free_corpus(Corpus *c) {
    for (int i = 0; i < c->n; i++) {
        free(c->text[i]);
        free(c->want[i]);
    }
    free(c->text);
    free(c->len);
    free(c->want);
    free(c->nwant);
}

static void test_corpus(const Tokenizer *rt, const Tokenizer *bt, const Corpus *c) {
    int match = 0, shown = 0, bin_same = 0;
    size_t bytes = 0, ntok = 0;
    for (int i = 0; i < c->n; i++) {
        int ok = expect_ids(rt, c->text[i], c->len[i], c->want[i], c->nwant[i], 0);
        if (ok) match++;
        else if (shown++ < 5) {
            fprintf(stderr, "MISMATCH corpus line %d:\n", i + 1);
            expect_ids(rt, c->text[i], c->len[i], c->want[i], c->nwant[i], 1);
        }
        bin_same += expect_ids(bt, c->text[i], c->len[i], c->want[i], c->nwant[i], 0) == ok;
        bytes += c->len[i];
        ntok += (size_t)c->nwant[i];
    }
    printf("corpus: %d strings, %zu bytes, %zu oracle ids: %d match exactly (%.2f%%), %d mismatch\n", c->n, bytes,
           ntok, match, 100.0 * match / c->n, c->n - match);
    printf("tokenizer.bin agrees with the rank file on %d of %d strings\n", bin_same, c->n);
    check(match == c->n, "corpus ids equal the oracle, decode round-trips");
    check(bin_same == c->n, "tokenizer.bin gives the rank file's ids");

    /* Threads: every string again, in parallel, must give the same ids. */
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : bad)
    for (int i = 0; i < c->n; i++) bad += !expect_ids(rt, c->text[i], c->len[i], c->want[i], c->nwant[i], 0);
    printf("threads: %d threads encode the corpus, %d differences\n", omp_get_max_threads(), bad);
    check(bad == 0, "parallel encode agrees");
}

static void time_encode(const Tokenizer *t, const char *what, const char *s, size_t n) {
    int32_t *ids;
    int nid;
    Err err;
    double t0 = now_seconds();
    int rc = tokenizer_encode(t, s, n, &ids, &nid, &err);
    double dt = now_seconds() - t0;
    check(rc == GETP_OK && roundtrips(t, s, n), what);
    if (rc != GETP_OK) return;
    printf("timing: %-32s %8zu bytes -> %7d ids in %7.2f ms: %6.1f MB/s, %5.2f M ids/s\n", what, n, nid, 1e3 * dt,
           n / dt / 1e6, nid / dt / 1e6);
    free(ids);
}

static void test_timing(const Tokenizer *t, const Corpus *c) {
    size_t cap = 1 << 20, n = 0;
    char *big = xmalloc(cap);
    for (int i = 0; n < cap; i = (i + 1) % c->n) {
        size_t k = c->len[i] < cap - n ? c->len[i] : 0;
        if (k == 0 && c->len[i] > 0) break;
        memcpy(big + n, c->text[i], k);
        n += k;
    }
    time_encode(t, "1 MB of corpus text", big, n);
    time_encode(t, "100 KB line of corpus text", big, 100 * 1024 < n ? 100 * 1024 : n);
    for (size_t i = 0; i < 10000; i++) big[i] = (char)('a' + rnd() % 26);
    time_encode(t, "10k letters, no spaces", big, 10000);
    for (size_t i = 0; i < (1 << 20); i++) big[i] = (char)('a' + rnd() % 26);
    time_encode(t, "1 MB of letters, no spaces", big, 1 << 20);
    free(big);
}

/* A line of more than 10^7 whitespace characters (issue 17, F10): PCRE2's
 * default match limit (10^7 steps) failed on it, one step per character. It
 * must encode, round-trip and split by the pattern's rule: "a" + N spaces +
 * "b" is "a" | N - 1 spaces | " b" (the oracle corpus checks that rule against
 * gpt-tokenizer on runs of up to 8,000 characters; the oracle's time grows with
 * the square of a run, so not here). One case: BPE of a 10 MB piece takes
 * seconds. */
static void test_long_runs(const Tokenizer *t) {
    const size_t N = 10500000;
    char *s = xmalloc(N + 2);
    s[0] = 'a';
    for (size_t i = 1; i <= N; i++) s[i] = rnd() % 8 ? ' ' : '\t';
    s[N] = ' ';
    s[N + 1] = 'b';
    int32_t *ids = NULL, *pa = NULL, *pb = NULL;
    int n = 0, na = 0, nb = 0;
    Err err = {{0}};
    double t0 = now_seconds();
    int rc = tokenizer_encode(t, s, N + 2, &ids, &n, &err);
    printf("long run: 'a' + %zu spaces and tabs + 'b': %s in %.2f s\n", N, rc == GETP_OK ? "encoded" : err.msg,
           now_seconds() - t0);
    check(rc == GETP_OK && roundtrips(t, s, N + 2), "10.5 MB whitespace run encodes and round-trips");
    int split_ok = 0;
    if (rc == GETP_OK && tokenizer_encode(t, "a", 1, &pa, &na, &err) == GETP_OK &&
        tokenizer_encode(t, " b", 2, &pb, &nb, &err) == GETP_OK && n > na + nb &&
        !memcmp(ids, pa, sizeof *ids * (size_t)na) && !memcmp(ids + n - nb, pb, sizeof *ids * (size_t)nb)) {
        char *mid = NULL;
        size_t len = 0;
        split_ok = tokenizer_decode(t, ids + na, n - na - nb, &mid, &len, &err) == GETP_OK && len == N - 1 &&
                   !memcmp(mid, s + 1, N - 1);
        free(mid);
    }
    check(split_ok, "10.5 MB whitespace run splits as 'a' | N-1 whitespace | ' b'");
    free(ids), free(pa), free(pb);
    free(s);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 6) {
        fprintf(stderr, "usage: %s TMPDIR [RANKS BIN CORPUS ORACLE]\n", argv[0]);
        return 2;
    }
    test_malformed(argv[1]);
    test_toy_bpe(argv[1]);
    if (argc == 6) {
        Tokenizer *rt, *bt;
        Err err;
        double t0 = now_seconds();
        if (tokenizer_load(argv[2], &rt, &err) != GETP_OK) fatal("%s", err.msg);
        double t1 = now_seconds();
        if (tokenizer_load(argv[3], &bt, &err) != GETP_OK) fatal("%s", err.msg);
        printf("loaded %s in %.0f ms, %s in %.0f ms\n", argv[2], 1e3 * (t1 - t0), argv[3], 1e3 * (now_seconds() - t1));
        test_specials(rt, "rank file");
        test_specials(bt, "tokenizer.bin");
        test_tiktoken_cases(rt);
        test_invalid_utf8(rt);
        Corpus c;
        load_corpus(argv[4], argv[5], &c);
        test_corpus(rt, bt, &c);
        test_timing(rt, &c);
        test_long_runs(rt);
        free_corpus(&c);
        tokenizer_free(rt);
        tokenizer_free(bt);
    }
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
