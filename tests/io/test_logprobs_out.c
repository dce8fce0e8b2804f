/* test_logprobs_out.c: the logprobs the writers put out (src/io_sampling.c
 * logprobs_json_text, spliced into the records by io_jsonl.c).
 *
 *   test_logprobs_out RANKS SCRATCH_DIR
 *
 * Synthetic Outputs through the JSONL record and both Batch bodies, read back
 * with jansson and checked against the tokenizer's own bytes, the floats they
 * came from, and character offsets counted here from UTF-8 lead bytes. Asking
 * for no logprobs leaves the records as they were; every float reads back as
 * itself.
 */
#include "io_test.h"
#include "requests.h"

#include <float.h>
#include <jansson.h>
#include <math.h>

static const Tokenizer *g_tok;

/* ---------------------------------------------------------------- writers */

static void free_rows(json_t **rows, int n) {
    for (int i = 0; i < n; i++) json_decref(rows[i]);
    free(rows);
}

/* Write the requests' outputs in format fmt (tokenizer tok) and read them back. */
static json_t **write_and_read(const char *name, InputFormat fmt, const Tokenizer *tok, const InputRequest *q,
                               const Output *o, int n, int *n_rows) {
    OutputWriter *w = NULL;
    int64_t done = -1;
    Err err = {{0}};
    CHECK(jsonl_writer_open(io_path_in(name), fmt, tok, 0, &w, &done, &err) == GETP_OK);
    for (int i = 0; i < n; i++) EXPECT(w->write(w, &q[i], &o[i], &err) == GETP_OK, "write %d: %s", i, err.msg);
    EXPECT(w->close(w, &err) == GETP_OK, "close: %s", err.msg);
    return io_read_lines(io_path_in(name), JSON_ALLOW_NUL, n_rows);
}

/* The id whose bytes are exactly s. */
static int32_t token_of(const char *s) {
    size_t n = strlen(s);
    for (int32_t id = 0; id < tokenizer_vocab_size(g_tok); id++) {
        size_t len = 0;
        const char *b = tokenizer_token_bytes(g_tok, id, &len);
        if (b && len == n && memcmp(b, s, n) == 0) return id;
    }
    fatal("no token with the bytes \"%s\"", s);
}

static int32_t byte_id(unsigned char c) {
    char s[2] = {(char)c, 0};
    if (c) return token_of(s);
    for (int32_t id = 0; id < 199998; id++) {
        size_t len = 0;
        const char *b = tokenizer_token_bytes(g_tok, id, &len);
        if (b && len == 1 && b[0] == 0) return id;
    }
    fatal("no token for byte 00");
}

/* An output of the ids with per-token logprobs lp and k alternatives each,
 * alt (n x k) with logprobs alt_lp. */
static Output synth(int64_t index, int finish, const int32_t *ids, const float *lp, int n, const int32_t *alt,
                    const float *alt_lp, int k) {
    Output o = {.index = index, .finish = finish, .n_tokens = n, .n_top = k};
    o.tokens = xmalloc(sizeof(int32_t) * (size_t)n);
    o.logprobs = xmalloc(sizeof(float) * (size_t)n);
    o.top_ids = xmalloc(sizeof(int32_t) * ((size_t)n * (size_t)k + 1));
    o.top_logprobs = xmalloc(sizeof(float) * ((size_t)n * (size_t)k + 1));
    memcpy(o.tokens, ids, sizeof(int32_t) * (size_t)n);
    memcpy(o.logprobs, lp, sizeof(float) * (size_t)n);
    if (k) {
        memcpy(o.top_ids, alt, sizeof(int32_t) * (size_t)n * (size_t)k);
        memcpy(o.top_logprobs, alt_lp, sizeof(float) * (size_t)n * (size_t)k);
    }
    return o;
}

static InputRequest req(int64_t index, int kind, int logprobs) {
    InputRequest q;
    memset(&q, 0, sizeof q);
    q.index = index;
    q.line = index + 1;
    q.kind = kind;
    request_params_default(&q.p);
    q.p.index = index;
    q.p.n_prompt = 3;
    q.p.steps = 64;
    q.p.logprobs = logprobs;
    return q;
}

/* 1 if the JSON value is the float x (read back through double). */
static int same_float(json_t *v, float x) {
    if (!isfinite(x)) return x < 0 ? json_is_real(v) && json_real_value(v) == -9999.0 : json_is_null(v);
    return json_is_number(v) && (float)json_number_value(v) == x && signbit((float)json_number_value(v)) == signbit(x);
}

/* 1 if the JSON string is the bytes of id (when valid UTF-8 on their own). */
static int text_is_bytes(json_t *s, int32_t id) {
    size_t len = 0;
    const char *b = tokenizer_token_bytes(g_tok, id, &len);
    return json_is_string(s) && json_string_length(s) == len && memcmp(json_string_value(s), b, len) == 0;
}

static int bytes_are(json_t *arr, int32_t id) {
    size_t len = 0;
    const unsigned char *b = (const unsigned char *)tokenizer_token_bytes(g_tok, id, &len);
    if (!json_is_array(arr) || json_array_size(arr) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (json_integer_value(json_array_get(arr, i)) != b[i]) return 0;
    return 1;
}

/* One chat.completion content entry against (id, lp) and its k alternatives. */
static void check_chat_entry(json_t *e, const Output *o, int j, int with_ids, const char *what) {
    int32_t id = o->tokens[j];
    EXPECT(same_float(json_object_get(e, "logprob"), o->logprobs[j]), "%s[%d] logprob", what, j);
    EXPECT(bytes_are(json_object_get(e, "bytes"), id), "%s[%d] bytes of id %d", what, j, id);
    EXPECT(with_ids ? json_integer_value(json_object_get(e, "id")) == id : !json_object_get(e, "id"),
           "%s[%d] id member", what, j);
    json_t *top = json_object_get(e, "top_logprobs");
    EXPECT(json_is_array(top) && json_array_size(top) == (size_t)o->n_top, "%s[%d] %zu alternatives, want %d",
           what, j, json_array_size(top), o->n_top);
    for (int a = 0; a < o->n_top && a < (int)json_array_size(top); a++) {
        json_t *t = json_array_get(top, (size_t)a);
        int32_t aid = o->top_ids[j * o->n_top + a];
        EXPECT(same_float(json_object_get(t, "logprob"), o->top_logprobs[j * o->n_top + a]) &&
                   bytes_are(json_object_get(t, "bytes"), aid) && !json_object_get(t, "top_logprobs") &&
                   (with_ids ? json_integer_value(json_object_get(t, "id")) == aid : !json_object_get(t, "id")),
               "%s[%d] alternative %d (id %d)", what, j, a, aid);
        if (a > 0)
            EXPECT(json_number_value(json_object_get(t, "logprob")) <=
                       json_number_value(json_object_get(json_array_get(top, (size_t)a - 1), "logprob")),
                   "%s[%d] alternatives most probable first", what, j);
    }
}

/* Ids of a chat result: analysis, then final with an é split over two byte
 * tokens and a two-character token, then <|return|>; 2 alternatives each. */
static Output chat_output(int64_t index, int32_t *ids_out, int *n_out) {
    const char *parts[] = {"<|channel|>", "analysis", "<|message|>", "Think", "<|end|>", "<|start|>",
                           "assistant", "<|channel|>", "final", "<|message|>", " Caf", "\xC3", "\xA9",
                           "\xE6\x9D\xB1\xE4\xBA\xAC", "<|return|>"};
    int n = (int)(sizeof parts / sizeof parts[0]);
    int32_t ids[16];
    float lp[16], alt_lp[32];
    int32_t alt[32];
    for (int j = 0; j < n; j++) {
        ids[j] = parts[j][0] == '<' ? tokenizer_special_id(g_tok, parts[j]) : token_of(parts[j]);
        CHECK(ids[j] >= 0);
        lp[j] = -0.015625f * (float)j - 1e-7f * (float)(j * j);
        alt[2 * j] = ids[j];
        alt_lp[2 * j] = lp[j];
        alt[2 * j + 1] = token_of(" Hello");
        alt_lp[2 * j + 1] = lp[j] - 3.25f - 1e-6f * (float)j;
    }
    memcpy(ids_out, ids, sizeof(int32_t) * (size_t)n);
    *n_out = n;
    return synth(index, FINISH_STOP, ids, lp, n, alt, alt_lp, 2);
}

static void test_chat_shapes(void) {
    int32_t ids[16];
    int n_ids = 0;
    /* 0: JSONL chat with logprobs; 1: the same without; 2: logprobs asked, engine gave none;
     * 3: an error line that asked for logprobs; 4: top_logprobs 0 */
    InputRequest q[5] = {req(0, REQ_CHAT, 2), req(1, REQ_CHAT, -1), req(2, REQ_CHAT, 2), req(3, REQ_CHAT, 2),
                         req(4, REQ_CHAT, 0)};
    q[3].error = xstrdup("line 4: broken");
    Output o[5];
    o[0] = chat_output(0, ids, &n_ids);
    o[1] = chat_output(1, ids, &n_ids);
    o[2] = chat_output(2, ids, &n_ids);
    free(o[2].logprobs);
    o[2].logprobs = NULL;
    o[3] = (Output){.index = 3, .finish = FINISH_ERROR};
    o[4] = chat_output(4, ids, &n_ids);
    o[4].n_top = 0;
    for (int pass = 0; pass < 2; pass++) {
        int batch = pass == 1, n = 0;
        json_t **rows = write_and_read(batch ? "chat_batch.jsonl" : "chat.jsonl", batch ? INPUT_BATCH : INPUT_JSONL,
                                       g_tok, q, o, 5, &n);
        EXPECT(n == 5, "%d rows", n);
        if (n != 5) fatal("cannot go on");
        const char *what = batch ? "batch chat content" : "jsonl content";
        json_t *lp = batch ? io_jget(rows[0], "response.body.choices.0.logprobs") : json_object_get(rows[0], "logprobs");
        json_t *content = json_object_get(lp, "content");
        EXPECT(json_is_object(lp) && json_object_size(lp) == 1 && json_array_size(content) == (size_t)n_ids,
               "%s: %zu entries for %d ids", what, json_array_size(content), n_ids);
        for (int j = 0; j < n_ids && j < (int)json_array_size(content); j++) {
            json_t *e = json_array_get(content, (size_t)j);
            check_chat_entry(e, &o[0], j, !batch, what);
            int32_t id = ids[j];
            if (j == 11 || j == 12) // a lone byte of é: U+FFFD, the byte in "bytes"
                EXPECT(!strcmp(json_string_value(json_object_get(e, "token")), "\xEF\xBF\xBD"), "%s[%d] U+FFFD", what, j);
            else
                EXPECT(text_is_bytes(json_object_get(e, "token"), id), "%s[%d] token text of id %d", what, j, id);
        }
        EXPECT(!strcmp(json_string_value(io_jget(content, "0.token")), "<|channel|>") &&
                   !strcmp(json_string_value(io_jget(content, "14.token")), "<|return|>") &&
                   !strcmp(json_string_value(io_jget(content, "10.token")), " Caf"),
               "%s: specials by name, entries in generation order", what);
        /* 東京: its text, and its bytes written out here (not from the tokenizer) */
        json_t *cjk = json_array_get(content, 13), *cb = json_object_get(cjk, "bytes");
        const int want_b[6] = {0xE6, 0x9D, 0xB1, 0xE4, 0xBA, 0xAC};
        int bytes_ok = json_array_size(cb) == 6;
        for (int i = 0; bytes_ok && i < 6; i++) bytes_ok = json_integer_value(json_array_get(cb, (size_t)i)) == want_b[i];
        EXPECT(bytes_ok && !strcmp(json_string_value(json_object_get(cjk, "token")), "\xE6\x9D\xB1\xE4\xBA\xAC"),
               "%s: a multi-byte token's text and bytes", what);
        json_t *c11 = json_object_get(json_array_get(content, 11), "bytes");
        EXPECT(json_array_size(c11) == 1 && json_integer_value(json_array_get(c11, 0)) == 0xC3,
               "%s: a lone byte's bytes are [195]", what);
        if (!batch) {
            json_t *tids = json_object_get(rows[0], "token_ids");
            int same = json_array_size(tids) == json_array_size(content);
            for (size_t j = 0; same && j < json_array_size(tids); j++)
                same = json_integer_value(json_array_get(tids, j)) ==
                       json_integer_value(json_object_get(json_array_get(content, j), "id"));
            EXPECT(same, "jsonl: content[j].id is token_ids[j]");
        }
        /* asking for logprobs adds them and changes nothing else */
        json_t *with = batch ? io_jget(rows[0], "response.body") : rows[0];
        json_t *without = batch ? io_jget(rows[1], "response.body") : rows[1];
        if (batch) {
            EXPECT(json_is_null(io_jget(without, "choices.0.logprobs")), "batch: logprobs null when not asked for");
            json_object_set_new(json_array_get(json_object_get(with, "choices"), 0), "logprobs", json_null());
            json_object_del(with, "id");
            json_object_del(without, "id");
        } else {
            EXPECT(!json_object_get(without, "logprobs"), "jsonl: no logprobs member when not asked for");
            json_object_del(with, "logprobs");
            json_object_del(with, "index");
            json_object_del(without, "index");
        }
        EXPECT(json_equal(with, without), "%s: the record with logprobs, less them, is the record without", what);
        json_t *none = batch ? io_jget(rows[2], "response.body.choices.0.logprobs") : json_object_get(rows[2], "logprobs");
        EXPECT(none && json_is_null(none), "%s: asked for, none given -> null", what);
        EXPECT(batch ? json_is_null(json_object_get(rows[3], "response"))
                     : !json_object_get(rows[3], "logprobs") && json_object_get(rows[3], "error"),
               "%s: an error record carries no logprobs", what);
        json_t *c4 = batch ? io_jget(rows[4], "response.body.choices.0.logprobs.content")
                           : io_jget(rows[4], "logprobs.content");
        int empty = json_array_size(c4) == (size_t)n_ids;
        for (size_t j = 0; empty && j < json_array_size(c4); j++)
            empty = json_is_array(io_jget(json_array_get(c4, j), "top_logprobs")) &&
                    json_array_size(io_jget(json_array_get(c4, j), "top_logprobs")) == 0;
        EXPECT(empty, "%s: top_logprobs 0 -> every entry has top_logprobs []", what);
        free_rows(rows, n);
    }
    for (int i = 0; i < 5; i++) output_free(&o[i]);
    input_request_free(&q[3]);
}

/* Code points in n bytes of valid UTF-8: the bytes that are not 10xxxxxx. */
static int64_t lead_bytes(const char *s, size_t n) {
    int64_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static void test_completion_shape(void) {
    /* " Hello", "é", "東京" (if one token, else "日本"), é split as C3 | A9, <|endoftext|> */
    int32_t hello = token_of(" Hello"), e_acute = token_of("\xC3\xA9"), c3 = byte_id(0xC3), a9 = byte_id(0xA9);
    int32_t cjk = token_of("\xE6\x9D\xB1\xE4\xBA\xAC"), ff = byte_id(0xFF), fe = byte_id(0xFE), nul = byte_id(0);
    int32_t ids[6] = {hello, e_acute, cjk, c3, a9, 199999};
    float lp[6] = {-0.1234567f, -2.5f, -1e-7f, -0.75f, -0.0f, -0.3f};
    int32_t alt[18] = {hello, e_acute, cjk,  // chosen first
                       hello, cjk, ff,       // chosen é not among them: added, last
                       cjk, ff, fe,          // ff, fe both read U+FFFD: the first stays
                       c3, hello, cjk,
                       a9, hello, cjk,
                       199999, nul, cjk};    // byte 0: no U+0000 key
    float alt_lp[18] = {-0.1234567f, -3.0f, -4.0f, -0.5f, -0.9f, -2.0f, -1e-7f, -20.0f, -21.0f,
                        -0.75f, -1.0f, -INFINITY, -0.0f, -30.0f, NAN, -0.3f, -5.0f, -6.0f};
    InputRequest q[3] = {req(0, REQ_COMPLETION, 3), req(1, REQ_COMPLETION, -1), req(2, REQ_COMPLETION, 3)};
    Output o[3] = {synth(0, FINISH_STOP, ids, lp, 6, alt, alt_lp, 3), synth(1, FINISH_STOP, ids, lp, 6, alt, alt_lp, 3),
                   synth(2, FINISH_LENGTH, ids, lp, 5, alt, alt_lp, 3)};
    int n = 0;
    json_t **rows = write_and_read("cmpl_batch.jsonl", INPUT_BATCH, g_tok, q, o, 3, &n);
    EXPECT(n == 3, "%d rows", n);
    if (n != 3) fatal("cannot go on");
    json_t *ch = io_jget(rows[0], "response.body.choices.0");
    json_t *lpj = json_object_get(ch, "logprobs");
    const char *keys[] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
    for (int i = 0; i < 4; i++)
        EXPECT(json_array_size(json_object_get(lpj, keys[i])) == 6, "completion %s has 6 entries", keys[i]);
    EXPECT(json_object_size(lpj) == 4, "completion logprobs has exactly its 4 members");
    const char *text = json_string_value(json_object_get(ch, "text"));
    EXPECT(text && !strcmp(text, " Hello\xC3\xA9\xE6\x9D\xB1\xE4\xBA\xAC\xC3\xA9"), "text \"%s\"", text ? text : "");
    /* text_offset: characters of the text before each id's first byte (the stop id: the text's end) */
    json_t *offsets = json_object_get(lpj, "text_offset");
    size_t b = 0;
    for (int j = 0; j < 6; j++) {
        size_t len = 0;
        CHECK(tokenizer_token_bytes(g_tok, ids[j], &len) != NULL);
        json_int_t want = lead_bytes(text, j < 5 ? b : strlen(text)); // A9 at byte 15: its é began before
        json_int_t got = json_integer_value(json_array_get(offsets, (size_t)j));
        EXPECT(got == want, "text_offset[%d] = %lld, want %lld", j, (long long)got, (long long)want);
        b += len;
        EXPECT(same_float(json_array_get(json_object_get(lpj, "token_logprobs"), (size_t)j), lp[j]),
               "token_logprobs[%d]", j);
    }
    json_int_t want_off[6] = {0, 6, 7, 9, 10, 10}; // by hand: " Hello" 6, é 1, 東京 2, é 1
    for (int j = 0; j < 6; j++)
        EXPECT(json_integer_value(json_array_get(offsets, (size_t)j)) == want_off[j],
               "text_offset[%d] by hand", j);
    json_t *toks = json_object_get(lpj, "tokens");
    EXPECT(text_is_bytes(json_array_get(toks, 0), hello) && text_is_bytes(json_array_get(toks, 1), e_acute) &&
               text_is_bytes(json_array_get(toks, 2), cjk) &&
               !strcmp(json_string_value(json_array_get(toks, 3)), "\xEF\xBF\xBD") &&
               !strcmp(json_string_value(json_array_get(toks, 5)), "<|endoftext|>"),
           "completion tokens");
    json_t *tops = json_object_get(lpj, "top_logprobs");
    /* 0: the 3 alternatives in order, the chosen among them */
    json_t *d0 = json_array_get(tops, 0);
    const char *k0[3] = {" Hello", "\xC3\xA9", "\xE6\x9D\xB1\xE4\xBA\xAC"};
    float v0[3] = {-0.1234567f, -3.0f, -4.0f};
    int i0 = 0, ok0 = json_object_size(d0) == 3;
    const char *key;
    json_t *val;
    json_object_foreach(d0, key, val) {
        ok0 = ok0 && i0 < 3 && !strcmp(key, k0[i0]) && same_float(val, v0[i0]);
        i0++;
    }
    EXPECT(ok0, "top_logprobs[0]: 3 entries, most probable first");
    /* 1: the chosen é was not among them: added after them */
    json_t *d1 = json_array_get(tops, 1);
    EXPECT(json_object_size(d1) == 4 && same_float(json_object_get(d1, "\xC3\xA9"), -2.5f) &&
               same_float(json_object_get(d1, " Hello"), -0.5f),
           "top_logprobs[1]: alternatives plus the chosen");
    void *it = json_object_iter(d1);
    for (int i = 0; i < 3 && it; i++) it = json_object_iter_next(d1, it);
    EXPECT(it && !strcmp(json_object_iter_key(it), "\xC3\xA9"), "top_logprobs[1]: the chosen comes last");
    /* 2: two ids read U+FFFD: one key, the more probable's value */
    json_t *d2 = json_array_get(tops, 2);
    EXPECT(json_object_size(d2) == 2 && same_float(json_object_get(d2, "\xEF\xBF\xBD"), -20.0f),
           "top_logprobs[2]: colliding texts keep the more probable");
    /* 3: -inf as -9999.0 */
    json_t *d3 = json_array_get(tops, 3);
    EXPECT(json_object_size(d3) == 3 && same_float(json_object_get(d3, "\xE6\x9D\xB1\xE4\xBA\xAC"), -INFINITY),
           "top_logprobs[3]: -inf -> -9999.0");
    /* 4: NaN -> null, -0.0 kept */
    json_t *d4 = json_array_get(tops, 4);
    EXPECT(json_is_null(json_object_get(d4, "\xE6\x9D\xB1\xE4\xBA\xAC")) &&
               same_float(json_array_get(json_object_get(lpj, "token_logprobs"), 4), -0.0f),
           "top_logprobs[4]: NaN -> null");
    /* 5: the byte 0 token's key reads U+FFFD, not U+0000 */
    json_t *d5 = json_array_get(tops, 5);
    EXPECT(json_object_size(d5) == 3 && same_float(json_object_get(d5, "\xEF\xBF\xBD"), -5.0f) &&
               same_float(json_object_get(d5, "<|endoftext|>"), -0.3f),
           "top_logprobs[5]: byte 0 key");
    /* without logprobs: null, and the body otherwise the same */
    json_t *with = io_jget(rows[0], "response.body"), *without = io_jget(rows[1], "response.body");
    EXPECT(json_is_null(io_jget(without, "choices.0.logprobs")), "completion: logprobs null when not asked for");
    json_object_set_new(json_array_get(json_object_get(with, "choices"), 0), "logprobs", json_null());
    json_object_del(with, "id");
    json_object_del(without, "id");
    EXPECT(json_equal(with, without), "completion: the body with logprobs, less them, is the body without");
    /* finish length: every id is text, the last offset is where the cut é began */
    json_t *off2 = io_jget(rows[2], "response.body.choices.0.logprobs.text_offset");
    EXPECT(json_array_size(off2) == 5 && json_integer_value(json_array_get(off2, 4)) == 10, "length: offsets");
    free_rows(rows, n);

    /* no tokenizer: ids as "token_id:N", bytes null, offsets 0 */
    rows = write_and_read("cmpl_notok.jsonl", INPUT_BATCH, NULL, q, o, 1, &n);
    json_t *lpn = n == 1 ? io_jget(rows[0], "response.body.choices.0.logprobs") : NULL;
    char want[32];
    snprintf(want, sizeof want, "token_id:%d", hello);
    EXPECT(lpn && !strcmp(json_string_value(io_jget(lpn, "tokens.0")), want) &&
               json_integer_value(io_jget(lpn, "text_offset.5")) == 0 && json_object_get(io_jget(lpn, "top_logprobs.0"), want),
           "completion without a tokenizer");
    free_rows(rows, n);
    rows = write_and_read("chat_notok.jsonl", INPUT_JSONL, NULL, q, o, 1, &n);
    json_t *e0 = n == 1 ? io_jget(rows[0], "logprobs.content.0") : NULL;
    EXPECT(e0 && !strcmp(json_string_value(json_object_get(e0, "token")), want) &&
               json_is_null(json_object_get(e0, "bytes")) && json_integer_value(json_object_get(e0, "id")) == hello,
           "jsonl without a tokenizer");
    free_rows(rows, n);
    for (int i = 0; i < 3; i++) output_free(&o[i]);
}

/* Logprob values are written by hand (io_sampling.c put_logprob): floats of
 * every magnitude, integral ones, signed zeros, neighbours of powers of ten
 * and random bit patterns must read back (through jansson, then to float) as
 * the same float. */
static void test_number_round_trip(void) {
    enum { N = 200000 };
    int32_t *ids = xmalloc(sizeof(int32_t) * N);
    float *lp = xmalloc(sizeof(float) * N);
    uint64_t s = 0x243F6A8885A308D3ull;
    int n = 0;
    float fixed[] = {-0.0f, 0.0f, -1.0f, -2.0f, -100.0f, -999999999.0f, -1e9f, -1e10f, -1e-30f, -1.5e-31f,
                     -1e-5f, -1e-4f, -0.001f, -9.99999975e-5f, -0.5f, -9999.0f, -123456789.0f, -FLT_MIN,
                     -FLT_MAX, 1e-7f, 3.0f, -0.1f, -0.3f};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) lp[n++] = fixed[i];
    for (int p = -38; p <= 38 && n + 3 < N; p++) { // powers of ten and their float neighbours
        float x = -(float)pow(10.0, p);
        lp[n++] = x;
        lp[n++] = nextafterf(x, 0.0f);
        lp[n++] = nextafterf(x, -INFINITY);
    }
    while (n < N) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t bits = (uint32_t)(s >> 32);
        float x;
        if (n % 2) { // any finite float
            memcpy(&x, &bits, sizeof x);
            if (!isfinite(x)) continue;
        } else { // a logprob-like value: -(0..1) * 10^(-8..4)
            x = -(float)((bits >> 8) / 16777216.0 * pow(10.0, (int)(bits & 15) - 8));
        }
        lp[n++] = x;
    }
    int32_t id = token_of(" Hello");
    for (int i = 0; i < N; i++) ids[i] = id;
    InputRequest q = req(0, REQ_COMPLETION, 0);
    Output o = synth(0, FINISH_LENGTH, ids, lp, N, NULL, NULL, 0);
    int rows_n = 0;
    json_t **rows = write_and_read("numbers.jsonl", INPUT_BATCH, g_tok, &q, &o, 1, &rows_n);
    json_t *vals = rows_n == 1 ? io_jget(rows[0], "response.body.choices.0.logprobs.token_logprobs") : NULL;
    int bad = 0, first = -1;
    for (int i = 0; i < N; i++) {
        json_t *v = json_array_get(vals, (size_t)i);
        if (!json_is_real(v) || !same_float(v, lp[i])) {
            if (first < 0) first = i;
            bad++;
        }
    }
    EXPECT(json_array_size(vals) == N && bad == 0, "%d of %d logprobs do not read back as themselves (first: %.9g)",
           bad, N, first >= 0 ? lp[first] : 0.0);
    free_rows(rows, rows_n);
    output_free(&o);
    free(ids);
    free(lp);
}

int main(int argc, char **argv) {
    Tokenizer *t = NULL;
    int rc = io_test_begin(argc, argv, "test_logprobs_out", &t);
    if (rc) return rc;
    g_tok = t;
    test_chat_shapes();
    test_completion_shape();
    test_number_round_trip();
    tokenizer_free(t);
    return io_test_finish();
}
