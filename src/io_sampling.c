/* io_sampling.c: see io_sampling.h.
 *
 * Options. temperature >= 0, top_p in (0, 1], top_k an integer >= 0 (0 = off),
 * min_p in [0, 1]. logprobs follows the endpoint a request mirrors, as OpenAI
 * documents it: chat takes "logprobs": true plus "top_logprobs": k (0..20,
 * refused without logprobs: true); the legacy /v1/completions takes
 * "logprobs": k, the number of alternatives; getp's own JSONL takes either.
 * The result is RequestParams.logprobs (-1 none, else k).
 *
 * Output. Every generated id gets an entry, the stop id and, for a chat, the
 * harmony headers and the analysis channel included, so entry j is
 * token_ids[j]. A token's text is its bytes with invalid UTF-8 replaced by
 * U+FFFD as json_text.h does it; an id the tokenizer does not know (or no
 * tokenizer) reads "token_id:N" with "bytes": null.
 *
 * The logprobs' JSON is written here by hand, not as a jansson tree: rank 0
 * writes between rounds, and a tree (a node and a malloc per byte value, then
 * jansson's dump) cost ~50 us per generated id at top_logprobs 5, against
 * ~3.5 us here; io_jsonl.c puts a mark in the tree and splices this text in
 * its place. tests/io/test_sampling_io.c reads it all back with jansson.
 */
#include "io_sampling.h"

#include "utf8.h" // utf8_valid_len

#include <float.h>
#include <math.h>

#define FIELD_FAIL(...) return err_set(err, __VA_ARGS__)

/* ---------------------------------------------------------------- options */

/* A member that is absent or JSON null counts as absent. */
static json_t *member(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

/* A value as an error message shows it. */
static const char *shown(json_t *v, char *buf, size_t n) {
    if (json_is_integer(v)) snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, n, "%g", json_real_value(v));
    else if (json_is_string(v)) snprintf(buf, n, "the string \"%.24s\"", json_string_value(v));
    else if (json_is_boolean(v)) snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else snprintf(buf, n, "%s", json_is_array(v) ? "an array" : "an object");
    return buf;
}

/* The number o[key], if given, into *out; it must lie in [lo, hi] ((lo, hi]
 * with open_lo), `range` says so in the error. */
static int number_in(json_t *o, const char *key, double lo, int open_lo, double hi, const char *range,
                     float *out, Err *err) {
    json_t *v = member(o, key);
    if (!v) return GETP_OK;
    char got[64];
    double x = json_number_value(v);
    if (!json_is_number(v) || !(open_lo ? x > lo : x >= lo) || !(x <= hi))
        FIELD_FAIL("\"%s\" must be a number %s, got %s", key, range, shown(v, got, sizeof got));
    *out = (float)x;
    if (open_lo && *out <= (float)lo) *out = nextafterf((float)lo, 1.0f); // 1e-50 stays above lo
    return GETP_OK;
}

/* The integer o[key], if given: 0..hi, into *out; 1 if it was given. */
static int count_in(json_t *o, const char *key, json_int_t hi, const char *what, int32_t *out, int *given,
                    Err *err) {
    json_t *v = member(o, key);
    *given = v != NULL;
    if (!v) return GETP_OK;
    char got[64];
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > hi)
        FIELD_FAIL("\"%s\" must be an integer in 0..%lld (%s), got %s", key, (long long)hi, what,
                   shown(v, got, sizeof got));
    *out = (int32_t)json_integer_value(v);
    return GETP_OK;
}

static int parse_logprobs(json_t *o, LogprobsForm form, RequestParams *p, Err *err) {
    json_t *lp = member(o, "logprobs"), *top = member(o, "top_logprobs");
    char got[64];
    int want = 0, given = 0;
    int32_t k = 0;
    if (top && form == LOGPROBS_COMPLETION)
        FIELD_FAIL("\"top_logprobs\" is not a /v1/completions field (use \"logprobs\": k)");
    if (lp && json_is_boolean(lp) && form != LOGPROBS_COMPLETION) {
        want = json_is_true(lp);
    } else if (lp && json_is_integer(lp) && form != LOGPROBS_CHAT) {
        if (count_in(o, "logprobs", GETP_MAX_TOP_LOGPROBS, "alternatives per token", &k, &given, err))
            return GETP_ERR;
        if (top) FIELD_FAIL("give \"logprobs\": k, or \"logprobs\": true with \"top_logprobs\": k, not both");
        p->logprobs = k;
        return GETP_OK;
    } else if (lp) {
        shown(lp, got, sizeof got);
        if (form == LOGPROBS_CHAT)
            FIELD_FAIL("\"logprobs\" must be true or false on /v1/chat/completions, got %s "
                       "(\"top_logprobs\": k asks for alternatives)", got);
        if (form == LOGPROBS_COMPLETION)
            FIELD_FAIL("\"logprobs\" on /v1/completions is the number of alternatives per token, an "
                       "integer in 0..%d, got %s", GETP_MAX_TOP_LOGPROBS, got);
        FIELD_FAIL("\"logprobs\" must be true, false or an integer in 0..%d, got %s",
                   GETP_MAX_TOP_LOGPROBS, got);
    }
    if (count_in(o, "top_logprobs", GETP_MAX_TOP_LOGPROBS, "alternatives per token", &k, &given, err))
        return GETP_ERR;
    if (given && !want) FIELD_FAIL("\"top_logprobs\" needs \"logprobs\": true");
    if (want) p->logprobs = given ? k : 0;
    return GETP_OK;
}

int sampling_options_parse(json_t *o, LogprobsForm form, const RequestDefaults *d, RequestParams *p,
                           Err *err) {
    p->temperature = d->temperature;
    p->top_p = d->top_p;
    p->top_k = d->top_k;
    p->min_p = d->min_p;
    p->logprobs = -1;
    if (number_in(o, "temperature", 0.0, 0, FLT_MAX, ">= 0", &p->temperature, err) ||
        number_in(o, "top_p", 0.0, 1, 1.0, "in (0, 1]", &p->top_p, err) ||
        number_in(o, "min_p", 0.0, 0, 1.0, "in [0, 1] (0 = off)", &p->min_p, err))
        return GETP_ERR;
    json_t *v = member(o, "top_k");
    if (v) {
        char got[64];
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            FIELD_FAIL("\"top_k\" must be an integer >= 0 (0 = off), got %s", shown(v, got, sizeof got));
        json_int_t k = json_integer_value(v);
        p->top_k = k > INT32_MAX ? INT32_MAX : (int32_t)k; // past the vocabulary: all ids, as INT32_MAX
    }
    return parse_logprobs(o, form, p, err);
}

/* ---------------------------------------------------------------- output */

typedef struct {
    char *p;
    size_t n, cap;
} Text;

static void put(Text *t, const char *s, size_t n) {
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

static void puts_(Text *t, const char *s) { put(t, s, strlen(s)); }

/* 10^k for k in -2..40, as the compiler rounds the literals. */
static double pow10_of(int k) {
    static const double table[43] = {
        1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
        1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24,
        1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33,
        1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40,};
    return table[k + 2];
}

/* A JSON number for a logprob: 9 significant digits, enough for a float to
 * read back as itself, trailing zeros dropped, ".0" on an integral value (as
 * jansson writes reals); log 0 (-inf) is OpenAI's -9999.0, a value that is
 * no number null. The digits come from one double product, rounded: the
 * 9-digit decimal is then off by at most one unit in its last digit (the
 * product's error is ~1e-16 relative), 1e-8 relative, under half a float's
 * spacing (3e-8), so it still reads back as x. snprintf("%.9g") did the same
 * at 40% of the writer's time; it stays for magnitudes outside 1e-30..1e9. */
static void put_logprob(Text *t, float x) {
    char buf[48];
    if (!isfinite(x)) {
        puts_(t, x < 0 ? "-9999.0" : "null");
        return;
    }
    double a = fabs((double)x);
    if (a == 0.0 || a < 1e-30 || a >= 1e9) {
        int n = snprintf(buf, sizeof buf, "%.9g", (double)x);
        if (!strpbrk(buf, ".eEn")) memcpy(buf + n, ".0", 3);
        puts_(t, buf);
        return;
    }
    int e = (int)floor(log10(a)); // a = d.dddddddd x 10^e, e in -30..8
    long long d = llround(a * pow10_of(8 - e));
    if (d >= 1000000000LL) d = llround(a * pow10_of(8 - ++e));
    else if (d < 100000000LL) d = llround(a * pow10_of(8 - --e));
    if (d >= 1000000000LL) d /= 10, e++; // 9.999999996 rounded up to 10.00000000
    char dig[10];
    for (int i = 8; i >= 0; i--, d /= 10) dig[i] = (char)('0' + d % 10);
    int nd = 9;
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    char *p = buf;
    if (x < 0) *p++ = '-';
    if (e >= 9 || e < -5) { // d.ddde-X, as %g would
        *p++ = dig[0];
        *p++ = '.';
        if (nd > 1) memcpy(p, dig + 1, (size_t)nd - 1), p += nd - 1;
        else *p++ = '0';
        p += snprintf(p, 8, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) { // 0.000ddd
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > e; i--) *p++ = '0';
        memcpy(p, dig, (size_t)nd), p += nd;
    } else { // ddd.ddd
        for (int i = 0; i <= e; i++) *p++ = i < nd ? dig[i] : '0';
        *p++ = '.';
        if (nd > e + 1) memcpy(p, dig + e + 1, (size_t)(nd - e - 1)), p += nd - e - 1;
        else *p++ = '0';
    }
    put(t, buf, (size_t)(p - buf));
}

/* bytes as a JSON string: invalid UTF-8 as U+FFFD (one per maximal invalid
 * subpart, as json_utf8), U+0000 too when nul_ok is 0 (object keys). */
static void put_string(Text *t, const char *b, size_t len, int nul_ok) {
    static const char hex[] = "0123456789abcdef";
    put(t, "\"", 1);
    const uint8_t *s = (const uint8_t *)b;
    for (size_t i = 0; i < len;) {
        size_t run = i; // plain ASCII goes in one piece
        while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
        if (run > i) {
            put(t, b + i, run - i);
            i = run;
            continue;
        }
        size_t bad = 0, ok = utf8_valid_len(s + i, len - i, &bad);
        if (!ok || (s[i] == 0 && !nul_ok)) {
            put(t, "\xEF\xBF\xBD", 3);
            i += ok ? ok : bad;
        } else if (ok > 1 || (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')) {
            put(t, b + i, ok);
            i += ok;
        } else {
            char e[7] = {'\\', (char)s[i], 0};
            switch (s[i]) {
            case '"': case '\\': break;
            case '\n': e[1] = 'n'; break;
            case '\t': e[1] = 't'; break;
            case '\r': e[1] = 'r'; break;
            case '\b': e[1] = 'b'; break;
            case '\f': e[1] = 'f'; break;
            default: memcpy(e + 1, "u00", 3), e[4] = hex[s[i] >> 4], e[5] = hex[s[i] & 15], e[6] = 0;
            }
            puts_(t, e);
            i++;
        }
    }
    put(t, "\"", 1);
}

/* An id's bytes, or NULL (unknown id, no tokenizer). */
static const char *id_bytes(const Tokenizer *tok, int32_t id, size_t *len) {
    *len = 0;
    return tok ? tokenizer_token_bytes(tok, id, len) : NULL;
}

/* The id's text as a JSON string (nul_ok: see put_string). */
static void put_token(Text *t, const Tokenizer *tok, int32_t id, int nul_ok) {
    size_t len;
    const char *b = id_bytes(tok, id, &len);
    if (b) {
        put_string(t, b, len, nul_ok);
    } else {
        char buf[40];
        snprintf(buf, sizeof buf, "\"token_id:%d\"", (int)id);
        puts_(t, buf);
    }
}

/* Decimal digits by hand: snprintf was a third of the writer's time. */
static void put_int(Text *t, long long v) {
    char buf[24], *e = buf + sizeof buf, *p = e;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do *--p = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--p = '-';
    put(t, p, (size_t)(e - p));
}

/* {["id": id,] "token", "logprob", "bytes"} without its closing brace. */
static void put_entry(Text *t, const Tokenizer *tok, int32_t id, float logprob, int with_ids) {
    put(t, "{", 1);
    if (with_ids) {
        puts_(t, "\"id\":");
        put_int(t, id);
        put(t, ",", 1);
    }
    puts_(t, "\"token\":");
    put_token(t, tok, id, 1);
    puts_(t, ",\"logprob\":");
    put_logprob(t, logprob);
    puts_(t, ",\"bytes\":");
    size_t len;
    const char *b = id_bytes(tok, id, &len);
    if (!b) {
        puts_(t, "null");
        return;
    }
    put(t, "[", 1);
    for (size_t i = 0; i < len; i++) {
        if (i) put(t, ",", 1);
        put_int(t, (unsigned char)b[i]);
    }
    put(t, "]", 1);
}

/* Alternatives per token that o really holds. */
static int n_alternatives(const Output *o) {
    if (!o->top_ids || !o->top_logprobs || o->n_top < 0 || o->n_top > GETP_MAX_TOP_LOGPROBS) return 0;
    return o->n_top;
}

static void put_chat(Text *t, const Tokenizer *tok, const Output *o, int with_ids) {
    int k = n_alternatives(o);
    puts_(t, "{\"content\":[");
    for (int j = 0; j < o->n_tokens; j++) {
        if (j) put(t, ",", 1);
        put_entry(t, tok, o->tokens[j], o->logprobs[j], with_ids);
        puts_(t, ",\"top_logprobs\":[");
        for (int a = 0; a < k; a++) {
            size_t i = (size_t)j * (size_t)k + (size_t)a;
            if (a) put(t, ",", 1);
            put_entry(t, tok, o->top_ids[i], o->top_logprobs[i], with_ids);
            put(t, "}", 1);
        }
        puts_(t, "]}");
    }
    puts_(t, "]}");
}

/* One top_logprobs dict of the completion shape: the alternatives, then the
 * chosen id (OpenAI: it is always there). A text already in the dict (two ids
 * can read the same) is skipped: the more probable, written first, stays.
 * keys: scratch for the keys' JSON text. */
static void put_dict(Text *t, Text *keys, const Tokenizer *tok, const int32_t *ids, const float *lps, int n) {
    size_t start[GETP_MAX_TOP_LOGPROBS + 1], len[GETP_MAX_TOP_LOGPROBS + 1];
    int n_keys = 0;
    keys->n = 0;
    put(t, "{", 1);
    for (int a = 0; a < n && a <= GETP_MAX_TOP_LOGPROBS; a++) {
        size_t s0 = keys->n;
        put_token(keys, tok, ids[a], 0);
        size_t kl = keys->n - s0;
        int seen = 0;
        for (int b = 0; b < n_keys && !seen; b++)
            seen = len[b] == kl && !memcmp(keys->p + start[b], keys->p + s0, kl);
        if (seen) {
            keys->n = s0;
            continue;
        }
        start[n_keys] = s0;
        len[n_keys] = kl;
        if (n_keys++) put(t, ",", 1);
        put(t, keys->p + s0, kl);
        put(t, ":", 1);
        put_logprob(t, lps[a]);
    }
    put(t, "}", 1);
}

static void put_completion(Text *t, const Tokenizer *tok, const Output *o, int n_text) {
    int k = n_alternatives(o);
    if (n_text > o->n_tokens) n_text = o->n_tokens;
    puts_(t, "{\"tokens\":[");
    for (int j = 0; j < o->n_tokens; j++) {
        if (j) put(t, ",", 1);
        put_token(t, tok, o->tokens[j], 1);
    }
    puts_(t, "],\"token_logprobs\":[");
    for (int j = 0; j < o->n_tokens; j++) {
        if (j) put(t, ",", 1);
        put_logprob(t, o->logprobs[j]);
    }
    puts_(t, "],\"top_logprobs\":[");
    Text keys = {0};
    int32_t ids[GETP_MAX_TOP_LOGPROBS + 1];
    float lps[GETP_MAX_TOP_LOGPROBS + 1];
    for (int j = 0; j < o->n_tokens; j++) {
        size_t i = (size_t)j * (size_t)k;
        if (k) {
            memcpy(ids, o->top_ids + i, sizeof(int32_t) * (size_t)k);
            memcpy(lps, o->top_logprobs + i, sizeof(float) * (size_t)k);
        }
        ids[k] = o->tokens[j];
        lps[k] = o->logprobs[j];
        if (j) put(t, ",", 1);
        put_dict(t, &keys, tok, ids, lps, k + 1);
    }
    free(keys.p);
    /* text_offset: characters of the text (the first n_text ids' bytes,
     * U+FFFD per invalid subpart) that begin before each id's first byte; an
     * id after the text sits at its end */
    Text text = {0};
    for (int j = 0; j < n_text; j++) {
        size_t len;
        const char *b = id_bytes(tok, o->tokens[j], &len);
        if (b) put(&text, b, len);
    }
    puts_(t, "],\"text_offset\":[");
    size_t at = 0, b = 0; // next character not counted yet; first byte of id j
    long long chars = 0;  // characters that begin before `at`
    for (int j = 0; j < o->n_tokens; j++) {
        size_t until = j < n_text ? b : text.n;
        while (at < until) {
            size_t bad = 0, ok = utf8_valid_len((const uint8_t *)text.p + at, text.n - at, &bad);
            at += ok ? ok : bad;
            chars++;
        }
        if (j) put(t, ",", 1);
        put_int(t, chars);
        size_t len;
        if (j < n_text && id_bytes(tok, o->tokens[j], &len)) b += len;
    }
    free(text.p);
    puts_(t, "]}");
}

char *logprobs_json_text(const Tokenizer *tok, const Output *o, LogprobsForm form, int n_text) {
    Text t = {0};
    if (o->n_tokens > 0 && !o->logprobs) puts_(&t, "null"); // asked for, but the engine gave none
    else if (form == LOGPROBS_COMPLETION) put_completion(&t, tok, o, n_text);
    else put_chat(&t, tok, o, form == LOGPROBS_JSONL);
    return t.p;
}

char *json_splice_value(char *s, const char *mark, const char *v) {
    size_t ml = strlen(mark);
    char *pat = xmalloc(ml + 4);
    snprintf(pat, ml + 4, ":\"%s\"", mark);
    char *last = NULL;
    for (char *p = strstr(s, pat); p; p = strstr(p + 1, pat)) last = p;
    free(pat);
    if (!last) return s;
    size_t head = (size_t)(last - s) + 1, tail = strlen(last + ml + 3), vl = strlen(v);
    char *out = xmalloc(head + vl + tail + 1);
    memcpy(out, s, head);
    memcpy(out + head, v, vl);
    memcpy(out + head + vl, last + ml + 3, tail + 1);
    free(s);
    return out;
}
