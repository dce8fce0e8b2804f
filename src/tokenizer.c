/* tokenizer.c: exact o200k_harmony (docs/MODEL.md §4), the same ids as OpenAI's
 * tiktoken.
 *
 * Encoding = regex pre-split (PCRE2, UTF + UCP, JIT when available) + byte-level
 * BPE on each piece: repeatedly merge the adjacent pair of parts whose bytes have
 * the lowest rank, the leftmost pair on a tie. The merge loop keeps the parts in
 * a linked list and the candidate pairs in a min-heap keyed (rank, position), so
 * a piece of n bytes costs O(n log n); a piece that is itself a token is one
 * hash lookup.
 *
 * The split pattern is tiktoken's o200k pattern (docs/MODEL.md §4) with one
 * deliberate rewrite: `\s` is spelled out as Unicode White_Space (the 25 code points Rust's
 * regex crate, and so tiktoken, uses). PCRE2's own `\s` under UCP also takes
 * U+180E, and JavaScript's (gpt-tokenizer) takes U+FEFF but not U+0085; the
 * explicit class follows tiktoken. `(?i:'s|...)` is kept: PCRE2 and Rust both
 * fold `s` to U+017F there, where gpt-tokenizer writes [sS] (no id difference
 * found in practice).
 *
 * Invalid UTF-8 (tiktoken only takes valid strings, so this is our choice): the
 * input is cut into maximal runs of valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF) and maximal runs of bytes where no valid
 * sequence starts. Valid runs are regex-split as usual (the split does not look
 * across a run boundary); each invalid run is one piece, BPE-merged on its raw
 * bytes. Every byte is a token, so any input encodes, never crashes, and
 * decode(encode(x)) == x byte for byte. Valid UTF-8 is unaffected.
 *
 * Special tokens come only from tokenizer_special_id; their text inside a prompt
 * is ordinary text. Thread safety: the Tokenizer is read-only after load; each
 * encode call makes its own match data, JIT stack and scratch.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer.h" // Tokenizer, tokenizer_*
#include "utf8.h"      // utf8_valid_len

#include <errno.h>
#include <limits.h>

enum { HARMONY_VOCAB = 201088, HARMONY_FIRST_SPECIAL = 199998 };

/* Unicode White_Space, as Rust's regex `\s`. */
#define WS "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define CONTRACTION "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
static const char O200K_PATTERN[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" CONTRACTION
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" CONTRACTION
    "|\\p{N}{1,3}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*"
    "|[" WS "]*[\\r\\n]+"
    "|[" WS "]+(?![^" WS "])"
    "|[" WS "]+";

/* The named specials of o200k_harmony; every other id from 199998 to 201087 is
 * <|reserved_N|>. 200018 is both <|endofprompt|> and <|reserved_200018|> in
 * tiktoken; it decodes (and is named here) as <|endofprompt|>. */
static const struct { int32_t id; const char *name; } HARMONY_SPECIALS[] = {
    {199998, "<|startoftext|>"}, {199999, "<|endoftext|>"}, {200002, "<|return|>"},
    {200003, "<|constrain|>"},   {200005, "<|channel|>"},   {200006, "<|start|>"},
    {200007, "<|end|>"},         {200008, "<|message|>"},   {200012, "<|call|>"},
    {200018, "<|endofprompt|>"},
};

typedef struct {
    uint32_t tag; // high bits of the hash: most misses never touch the token bytes
    int32_t id;
} Slot;

struct Tokenizer {
    int vocab;          // ids 0..vocab-1
    char *blob;         // every id's bytes back to back
    int64_t *off;       // (vocab) start of id's bytes in blob
    int32_t *len;       // (vocab) byte length, -1 for an id without bytes
    uint8_t *special;   // (vocab) 1 for a special id (never produced by encode)
    int first_special;  // lowest special id (vocab when none)
    Slot *slots;        // (mask+1) open-addressing map bytes -> ordinary id, id -1 empty
    uint64_t mask;
    int32_t byte_rank[256];
    size_t max_len;     // longest id in bytes, specials included
    pcre2_code *re;
};

/* ------------------------------------------------------------------ rank map */

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* Rank of the n bytes at p, or -1. */
static int32_t rank_of(const Tokenizer *t, const uint8_t *p, size_t n) {
    uint64_t h = hash_bytes(p, n);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t i = h & t->mask;; i = (i + 1) & t->mask) {
        Slot sl = t->slots[i];
        if (sl.id < 0) return -1;
        if (sl.tag == tag && (size_t)t->len[sl.id] == n && memcmp(t->blob + t->off[sl.id], p, n) == 0)
            return sl.id;
    }
}

/* Puts every ordinary id in the map; refuses duplicate byte strings and a
 * table without all 256 single bytes. */
static int build_rank_map(Tokenizer *t, const char *path, Err *err) {
    uint64_t cap = 1;
    while (cap < (uint64_t)t->vocab * 5 / 2) cap <<= 1;
    t->mask = cap - 1;
    t->first_special = t->vocab;
    for (int id = t->vocab - 1; id >= 0; id--) {
        if (t->special[id]) t->first_special = id;
        if (t->len[id] > 0 && (size_t)t->len[id] > t->max_len) t->max_len = (size_t)t->len[id];
    }
    t->slots = xmalloc(cap * sizeof *t->slots);
    memset(t->slots, 0xff, cap * sizeof *t->slots);
    for (int id = 0; id < t->vocab; id++) {
        if (t->special[id] || t->len[id] < 0) continue;
        const uint8_t *p = (const uint8_t *)t->blob + t->off[id];
        size_t n = (size_t)t->len[id];
        if (n == 0) return err_set(err, "%s: token %d has no bytes", path, id);
        int32_t dup = rank_of(t, p, n);
        if (dup >= 0) return err_set(err, "%s: tokens %d and %d have the same bytes", path, dup, id);
        uint64_t h = hash_bytes(p, n), i = h & t->mask;
        while (t->slots[i].id >= 0) i = (i + 1) & t->mask;
        t->slots[i] = (Slot){(uint32_t)(h >> 32), id};
    }
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        t->byte_rank[b] = rank_of(t, &c, 1);
        if (t->byte_rank[b] < 0) return err_set(err, "%s: no token for the single byte 0x%02x", path, b);
    }
    return GETP_OK;
}

/* ------------------------------------------------------------------ loading */

static int read_file(const char *path, uint8_t **data, size_t *size, Err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot open tokenizer file: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return err_set(err, "%s: read error", path);
    }
    *data = buf;
    *size = n;
    return GETP_OK;
}

static Tokenizer *new_tokenizer(int vocab, size_t blob_cap) {
    Tokenizer *t = xcalloc(1, sizeof *t);
    t->vocab = vocab;
    t->blob = xmalloc(blob_cap);
    t->off = xcalloc((size_t)vocab, sizeof *t->off);
    t->len = xmalloc((size_t)vocab * sizeof *t->len);
    for (int i = 0; i < vocab; i++) t->len[i] = -1;
    t->special = xcalloc((size_t)vocab, 1);
    return t;
}

static int b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes standard padded base64 s[0..n) into out; returns the byte count or -1. */
static long b64_decode(const uint8_t *s, size_t n, uint8_t *out) {
    if (n == 0 || n % 4 != 0) return -1;
    long o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) return -1;
                v[k] = b64_value(s[i + k]);
                if (v[k] < 0) return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2) out[o++] = (uint8_t)(w >> 8);
        if (pad < 1) out[o++] = (uint8_t)w;
    }
    return o;
}

static void add_token(Tokenizer *t, size_t *used, int32_t id, const void *bytes, size_t n) {
    memcpy(t->blob + *used, bytes, n);
    t->off[id] = (int64_t)*used;
    t->len[id] = (int32_t)n;
    *used += n;
}

/* tiktoken rank file: `base64 rank` per line (empty lines skipped), ranks below
 * 199998; the harmony specials are added by id. */
static int load_tiktoken(const char *path, const uint8_t *data, size_t size, Tokenizer **out, Err *err) {
    Tokenizer *t = new_tokenizer(HARMONY_VOCAB, size + 32 * (HARMONY_VOCAB - HARMONY_FIRST_SPECIAL));
    size_t used = 0;
    long line_no = 0;
    uint8_t tok[1024];
    for (size_t pos = 0; pos < size;) {
        const uint8_t *line = data + pos;
        const uint8_t *nl = memchr(line, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - line) : size - pos;
        pos += n + (nl ? 1 : 0);
        line_no++;
        if (n > 0 && line[n - 1] == '\r') n--;
        if (n == 0) continue;
        const uint8_t *sp = memchr(line, ' ', n);
        if (!sp) {
            err_set(err, "%s:%ld: expected `base64 rank`, found no rank", path, line_no);
            goto fail;
        }
        size_t b64n = (size_t)(sp - line);
        if (b64n / 4 * 3 > sizeof tok) {
            err_set(err, "%s:%ld: token longer than %zu bytes", path, line_no, sizeof tok);
            goto fail;
        }
        long nb = b64_decode(line, b64n, tok);
        if (nb <= 0) {
            err_set(err, "%s:%ld: bad base64 token `%.*s`", path, line_no, (int)(b64n < 60 ? b64n : 60), line);
            goto fail;
        }
        const uint8_t *r = sp + 1, *end = line + n;
        long rank = 0;
        if (r == end) {
            err_set(err, "%s:%ld: missing rank after the token", path, line_no);
            goto fail;
        }
        for (; r < end; r++) {
            if (*r < '0' || *r > '9' || rank >= HARMONY_FIRST_SPECIAL) {
                err_set(err, "%s:%ld: rank must be an integer in 0..%d", path, line_no, HARMONY_FIRST_SPECIAL - 1);
                goto fail;
            }
            rank = rank * 10 + (*r - '0');
        }
        if (rank >= HARMONY_FIRST_SPECIAL) {
            err_set(err, "%s:%ld: rank must be an integer in 0..%d", path, line_no, HARMONY_FIRST_SPECIAL - 1);
            goto fail;
        }
        if (t->len[rank] >= 0) {
            err_set(err, "%s:%ld: duplicate rank %ld", path, line_no, rank);
            goto fail;
        }
        add_token(t, &used, (int32_t)rank, tok, (size_t)nb);
    }
    for (int32_t id = HARMONY_FIRST_SPECIAL; id < HARMONY_VOCAB; id++) {
        char name[32];
        const char *s = NULL;
        for (size_t k = 0; k < sizeof HARMONY_SPECIALS / sizeof HARMONY_SPECIALS[0]; k++)
            if (HARMONY_SPECIALS[k].id == id) s = HARMONY_SPECIALS[k].name;
        if (!s) {
            snprintf(name, sizeof name, "<|reserved_%d|>", (int)id);
            s = name;
        }
        add_token(t, &used, id, s, strlen(s));
        t->special[id] = 1;
    }
    if (build_rank_map(t, path, err) != GETP_OK) goto fail;
    *out = t;
    return GETP_OK;
fail:
    tokenizer_free(t);
    return GETP_ERR;
}

static int32_t get_i32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

/* Course tokenizer.bin (docs/MODEL.md §3c): i32 max_token_length, then per id
 * f32 score, i32 length, bytes. Score -1e30 marks a special (bytes = its name); the
 * ordinary token `<0x00>` is the byte 0x00; an ordinary id is its own rank. */
static int load_course_bin(const char *path, const uint8_t *data, size_t size, Tokenizer **out, Err *err) {
    if (size < 4) return err_set(err, "%s: too short for a tokenizer.bin", path);
    int32_t max_len = get_i32(data);
    if (max_len <= 0) return err_set(err, "%s: bad max_token_length %d", path, (int)max_len);
    size_t count = 0;
    for (size_t pos = 4; pos < size; count++) {
        if (size - pos < 8) return err_set(err, "%s: entry %zu truncated", path, count);
        int32_t n = get_i32(data + pos + 4);
        if (n < 0 || n > max_len || (size_t)n > size - pos - 8)
            return err_set(err, "%s: entry %zu has bad length %d (max_token_length %d)", path, count,
                           (int)n, (int)max_len);
        pos += 8 + (size_t)n;
        if (count >= INT32_MAX) return err_set(err, "%s: too many entries", path);
    }
    if (count == 0) return err_set(err, "%s: no tokens", path);
    Tokenizer *t = new_tokenizer((int)count, size);
    size_t used = 0, pos = 4;
    for (int32_t id = 0; id < (int32_t)count; id++) {
        float score;
        uint32_t u = (uint32_t)get_i32(data + pos);
        memcpy(&score, &u, 4);
        size_t n = (size_t)get_i32(data + pos + 4);
        const uint8_t *bytes = data + pos + 8;
        pos += 8 + n;
        if (score < -1e29f) {
            t->special[id] = 1;
        } else if (n == 6 && memcmp(bytes, "<0x00>", 6) == 0) {
            bytes = (const uint8_t *)"";
            n = 1;
        }
        add_token(t, &used, id, bytes, n);
    }
    if (build_rank_map(t, path, err) != GETP_OK) {
        tokenizer_free(t);
        return GETP_ERR;
    }
    *out = t;
    return GETP_OK;
}

static int compile_pattern(Tokenizer *t, Err *err) {
    int code;
    PCRE2_SIZE at;
    t->re = pcre2_compile((PCRE2_SPTR)O200K_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &at,
                          NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return err_set(err, "tokenizer: split pattern does not compile at %zu: %s", (size_t)at, (char *)msg);
    }
    pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* no JIT: the interpreter gives the same matches */
    return GETP_OK;
}

int tokenizer_load_memory(const char *name, const uint8_t *data, size_t size, Tokenizer **out, Err *err) {
    *out = NULL;
    /* A rank file is text; tokenizer.bin opens with a small little-endian i32,
     * so a NUL among its first 4 bytes. */
    int is_bin = size >= 4 && memchr(data, 0, 4) != NULL;
    int rc = is_bin ? load_course_bin(name, data, size, out, err) : load_tiktoken(name, data, size, out, err);
    if (rc != GETP_OK) return rc;
    if (compile_pattern(*out, err) != GETP_OK) {
        tokenizer_free(*out);
        *out = NULL;
        return GETP_ERR;
    }
    return GETP_OK;
}

int tokenizer_load(const char *path, Tokenizer **out, Err *err) {
    uint8_t *data = NULL;
    size_t size = 0;
    *out = NULL;
    if (read_file(path, &data, &size, err) != GETP_OK) return GETP_ERR;
    int rc = tokenizer_load_memory(path, data, size, out, err);
    free(data);
    return rc;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    if (t->re) pcre2_code_free(t->re);
    free(t->blob);
    free(t->off);
    free(t->len);
    free(t->special);
    free(t->slots);
    free(t);
}

int tokenizer_vocab_size(const Tokenizer *t) { return t->vocab; }

size_t tokenizer_max_token_bytes(const Tokenizer *t) { return t->max_len; }

const char *tokenizer_token_bytes(const Tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->vocab || t->len[id] < 0) {
        *len = 0;
        return NULL;
    }
    *len = (size_t)t->len[id];
    return t->blob + t->off[id];
}

int32_t tokenizer_special_id(const Tokenizer *t, const char *name) {
    size_t n = strlen(name);
    for (int32_t id = t->first_special; id < t->vocab; id++)
        if (t->special[id] && (size_t)t->len[id] == n && memcmp(t->blob + t->off[id], name, n) == 0) return id;
    return -1;
}

int tokenizer_decode(const Tokenizer *t, const int32_t *ids, int n, char **out, size_t *len, Err *err) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab || t->len[ids[i]] < 0)
            return err_set(err, "decode: unknown token id %d at position %d", (int)ids[i], i);
        total += (size_t)t->len[ids[i]];
    }
    char *s = xmalloc(total + 1);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        memcpy(s + o, t->blob + t->off[ids[i]], (size_t)t->len[ids[i]]);
        o += (size_t)t->len[ids[i]];
    }
    s[o] = 0;
    *out = s;
    *len = o;
    return GETP_OK;
}

/* ------------------------------------------------------------------ encoding */

typedef struct {
    int32_t rank, start, end; // the pair spans bytes [start, end) of the piece
} Pair;

/* Per-call state: the output ids and the BPE scratch, grown on demand. */
typedef struct {
    int32_t *ids;
    size_t n, cap;
    int32_t *next, *prev, *part_rank; // (piece length) linked list of parts by start byte
    Pair *heap;                       // (3 * piece length) candidate pairs, lazily invalidated
    size_t scratch_cap;
} Encoder;

static void emit(Encoder *e, int32_t id) {
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 256;
        e->ids = xrealloc(e->ids, e->cap * sizeof *e->ids);
    }
    e->ids[e->n++] = id;
}

static int pair_less(Pair a, Pair b) { return a.rank < b.rank || (a.rank == b.rank && a.start < b.start); }

static void heap_push(Pair *h, size_t *n, Pair p) {
    size_t i = (*n)++;
    while (i > 0 && pair_less(p, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = p;
}

static Pair heap_pop(Pair *h, size_t *n) {
    Pair top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && pair_less(h[c + 1], h[c])) c++;
        if (!pair_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static void push_pair(const Tokenizer *t, const uint8_t *p, Pair *h, size_t *nh, int32_t start, int32_t end) {
    int32_t r = rank_of(t, p + start, (size_t)(end - start));
    if (r >= 0) heap_push(h, nh, (Pair){r, start, end});
}

/* Byte-level BPE of one piece of m bytes, appending its ids. */
static void bpe_piece(const Tokenizer *t, Encoder *e, const uint8_t *p, int32_t m) {
    if (m == 1) {
        emit(e, t->byte_rank[p[0]]);
        return;
    }
    int32_t whole = rank_of(t, p, (size_t)m);
    if (whole >= 0) {
        emit(e, whole);
        return;
    }
    if ((size_t)m > e->scratch_cap) {
        e->scratch_cap = (size_t)m;
        e->next = xrealloc(e->next, (size_t)m * sizeof *e->next);
        e->prev = xrealloc(e->prev, (size_t)m * sizeof *e->prev);
        e->part_rank = xrealloc(e->part_rank, (size_t)m * sizeof *e->part_rank);
        e->heap = xrealloc(e->heap, 3 * (size_t)m * sizeof *e->heap);
    }
    int32_t *next = e->next, *prev = e->prev, *rank = e->part_rank; // rank -1: absorbed part
    size_t nh = 0;
    for (int32_t i = 0; i < m; i++) {
        next[i] = i + 1;
        prev[i] = i - 1;
        rank[i] = t->byte_rank[p[i]];
    }
    for (int32_t i = 0; i + 1 < m; i++) push_pair(t, p, e->heap, &nh, i, i + 2);
    while (nh > 0) {
        Pair q = heap_pop(e->heap, &nh);
        int32_t s = q.start;
        /* Stale unless part s is alive and still ends, with its right neighbour, at q.end. */
        if (rank[s] < 0 || next[s] >= m || next[next[s]] != q.end) continue;
        rank[next[s]] = -1;
        rank[s] = q.rank;
        next[s] = q.end;
        if (q.end < m) prev[q.end] = s;
        if (prev[s] >= 0) push_pair(t, p, e->heap, &nh, prev[s], q.end);
        if (q.end < m) push_pair(t, p, e->heap, &nh, s, next[q.end]);
    }
    for (int32_t s = 0; s < m; s = next[s]) emit(e, rank[s]);
}

/* PCRE2's match limit for a match starting `left` bytes before the end. The
 * default (10^7 steps) fails on a run of ~3 MB of whitespace or capitals: the
 * pattern's greedy classes scan a run to its end and step back over it before
 * the alternative that takes it wins. No alternative of the o200k pattern
 * steps back more than a few times per character it scans, so a limit linear
 * in what is left keeps every legal split possible and still bounds a match. */
static uint32_t match_limit(size_t left) {
    uint64_t lim = 10000000u + 16u * (uint64_t)left;
    return lim > UINT32_MAX ? UINT32_MAX : (uint32_t)lim;
}

/* Regex-split one valid UTF-8 run and BPE each piece. */
static int encode_valid_run(const Tokenizer *t, Encoder *e, const uint8_t *s, size_t n, pcre2_match_data *md,
                            pcre2_match_context *mc, Err *err) {
    size_t at = 0;
    while (at < n) {
        pcre2_set_match_limit(mc, match_limit(n - at));
        int rc = pcre2_match(t->re, s, n, at, PCRE2_NO_UTF_CHECK, md, mc);
        size_t b = n, en = n;
        if (rc >= 0) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            b = ov[0];
            en = ov[1];
        } else if (rc != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return err_set(err, "encode: regex split failed at byte %zu: %s", at, (char *)msg);
        }
        if (b > at) bpe_piece(t, e, s + at, (int32_t)(b - at)); /* text no alternative takes (cannot happen) */
        if (en > b) bpe_piece(t, e, s + b, (int32_t)(en - b));
        if (en == b && b < n) { /* an empty match (cannot happen): step one character */
            size_t k = utf8_valid_len(s + b, n - b, NULL);
            bpe_piece(t, e, s + b, (int32_t)k);
            en = b + k;
        }
        at = en;
    }
    return GETP_OK;
}

int tokenizer_encode(const Tokenizer *t, const char *text, size_t len, int32_t **ids, int *n, Err *err) {
    *ids = NULL;
    *n = 0;
    if (len > INT32_MAX) return err_set(err, "encode: text of %zu bytes is too long", len);
    Encoder e = {0};
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!md || !mc || !js) fatal("out of memory creating regex match state");
    pcre2_jit_stack_assign(mc, NULL, js);
    const uint8_t *s = (const uint8_t *)text;
    int rc = GETP_OK;
    for (size_t pos = 0; pos < len && rc == GETP_OK;) {
        size_t end = pos;
        while (end < len) {
            size_t k = utf8_valid_len(s + end, len - end, NULL);
            if (k == 0) break;
            end += k;
        }
        if (end > pos) {
            rc = encode_valid_run(t, &e, s + pos, end - pos, md, mc, err);
        } else {
            while (end < len && utf8_valid_len(s + end, len - end, NULL) == 0) end++;
            bpe_piece(t, &e, s + pos, (int32_t)(end - pos));
        }
        pos = end;
    }
    pcre2_jit_stack_free(js);
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    free(e.next);
    free(e.prev);
    free(e.part_rank);
    free(e.heap);
    if (rc != GETP_OK || e.n > INT_MAX) {
        free(e.ids);
        return rc != GETP_OK ? rc : err_set(err, "encode: more than %d ids", INT_MAX);
    }
    *ids = e.ids ? e.ids : xmalloc(sizeof(int32_t));
    *n = (int)e.n;
    return GETP_OK;
}
