/* io_jsonl.c: JSONL and OpenAI Batch request files in, one JSON object per
 * request out (requests.h). All JSON goes through jansson.
 *
 * Input: one JSON object per line, read with getline (no line limit). Blank
 * lines are skipped and take no request index. A line that cannot become a
 * request (bad JSON, invalid UTF-8, missing or mistyped fields, an unknown
 * url, ids outside the vocabulary, a prompt longer than the step limit) is
 * still a request: it carries InputRequest.error = "line N: reason" and the
 * writer reports it in its place; the reader goes on with the next line.
 *
 *   JSONL:  {"id": any, "prompt": "text"}              raw completion
 *           {"id": any, "messages": [{role, content}]} harmony chat
 *           {"id": any, "prompt_token_ids": [ids]}     pre-tokenized completion
 *   Batch:  {"custom_id": "...", "method": "POST", "url": "/v1/chat/completions"
 *            | "/v1/completions", "body": {messages | prompt, ...}}
 *   Options (top level in JSONL, in "body" for Batch; null = absent):
 *     max_tokens | max_completion_tokens (>= 1), temperature (>= 0),
 *     top_p (0, 1], seed (integer >= 0), stop (string or array of strings).
 *   A stop string must be one token: a special token's exact text
 *   ("<|end|>") or text that tokenizes to exactly one ordinary id ("\n").
 *   Stop ids are added to the defaults: <|endoftext|> <|return|> for
 *   completions, <|return|> <|call|> <|endoftext|> for chats, GETP_MAX_STOP
 *   in all. --ignore-eos drops every stop id, the request's own included.
 *
 * Output (in input order, one line per request, written with fwrite, flushed
 * and fsync'ed by flush()):
 *   JSONL: {"id", "index", "text", "reasoning" (chat, when the model wrote an
 *          analysis channel), "channels" (chat, other channels by name),
 *          "token_ids", "finish_reason": "stop"|"length"|"error", "error"
 *          (errored requests only), "usage": {prompt_tokens, completion_tokens,
 *          total_tokens}}
 *   Batch: the OpenAI Batch output line, chat.completion or text_completion
 *          body; errors as "response": null, "error": {"code", "message"}.
 * `text` leaves out the final stop id of a completion (token_ids keep it); a
 * chat's text is its final channel (harmony.h). Decoded bytes that are not
 * valid UTF-8 (a character split across the step limit, odd ids) become
 * U+FFFD, one per maximal invalid subpart, so every line is valid JSON.
 */
#include "harmony.h"  // harmony_render, harmony_stop_ids, harmony_parse
#include "json_text.h" // json_utf8
#include "requests.h" // RequestReader, OutputWriter, resolve_steps

#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>    // ftruncate, fsync
#include <sys/types.h> // off_t

#include <jansson.h>

/* ------------------------------------------------------------------ reader */

typedef struct {
    InputStream *in;      // the input (requests.h), read line by line
    InputFormat fmt;      // INPUT_JSONL, INPUT_BATCH, or INPUT_AUTO (decide per line)
    const Tokenizer *tok; // NULL: only prompt_token_ids lines can run
    RequestDefaults d;
    int64_t line_no;      // lines read so far
    int64_t index;        // requests handed out so far
    char *buf;            // getline buffer
    size_t cap;
    size_t max_token_len; // longest token in bytes (prompt length pre-check)
} JsonlReader;

/* 1 if a prompt of this many bytes surely has more tokens than any request
 * may hold (every token is at most max_token_len bytes): it is refused
 * without tokenizing it. */
static int surely_too_long(const JsonlReader *r, size_t bytes) {
    int limit = r->d.steps < r->d.max_seq_len || r->d.max_seq_len <= 0 ? r->d.steps : r->d.max_seq_len;
    return r->max_token_len > 0 && limit > 0 && (double)bytes > (double)r->max_token_len * (double)limit;
}

/* Per-line failure: the reason goes into err, the caller prefixes the line. */
#define LINE_FAIL(...) return err_set(err, __VA_ARGS__)

/* A member that is absent or JSON null counts as absent. */
static json_t *member(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

static int add_stop_id(RequestParams *p, int32_t id, Err *err) {
    for (int i = 0; i < p->n_stop; i++)
        if (p->stop[i] == id) return GETP_OK;
    if (p->n_stop >= GETP_MAX_STOP) LINE_FAIL("more than %d stop ids in all", GETP_MAX_STOP);
    p->stop[p->n_stop++] = id;
    return GETP_OK;
}

static int parse_stop_string(JsonlReader *r, json_t *s, RequestParams *p, Err *err) {
    if (!json_is_string(s)) LINE_FAIL("\"stop\" must be a string or an array of strings");
    const char *text = json_string_value(s);
    size_t len = json_string_length(s);
    if (len == 0) LINE_FAIL("\"stop\" strings must not be empty");
    if (!r->tok) LINE_FAIL("\"stop\" strings need a tokenizer (-z)");
    int32_t id = tokenizer_special_id(r->tok, text);
    if (id < 0) {
        int32_t *ids = NULL;
        int n = 0;
        if (tokenizer_encode(r->tok, text, len, &ids, &n, err) != GETP_OK) return GETP_ERR;
        id = n == 1 ? ids[0] : -1;
        free(ids);
        if (n != 1) LINE_FAIL("stop string \"%.40s\" is %d tokens; a stop must be exactly one", text, n);
    }
    return add_stop_id(p, id, err);
}

/* Sampling options and stop strings, from o (the line or the Batch body). */
static int parse_options(JsonlReader *r, json_t *o, int kind, RequestParams *p, int32_t *max_new,
                         Err *err) {
    json_t *v;
    request_params_default(p);
    p->temperature = r->d.temperature;
    p->top_p = r->d.top_p;
    p->seed = r->d.seed;
    if (kind == REQ_CHAT) {
        int32_t stop[HARMONY_N_STOP];
        if (harmony_stop_ids(r->tok, stop, err) != GETP_OK) return GETP_ERR;
        p->n_stop = HARMONY_N_STOP;
        memcpy(p->stop, stop, sizeof stop);
    }
    *max_new = -1;
    json_t *mt = member(o, "max_tokens"), *mct = member(o, "max_completion_tokens");
    if (mt && mct) LINE_FAIL("give max_tokens or max_completion_tokens, not both");
    if ((v = mt ? mt : mct)) {
        if (!json_is_integer(v)) LINE_FAIL("\"%s\" must be an integer", mt ? "max_tokens" : "max_completion_tokens");
        json_int_t m = json_integer_value(v);
        if (m < 1) LINE_FAIL("max_tokens must be at least 1 (got %lld)", (long long)m);
        *max_new = m > INT32_MAX ? INT32_MAX : (int32_t)m;
    }
    if ((v = member(o, "temperature"))) {
        if (!json_is_number(v)) LINE_FAIL("\"temperature\" must be a number");
        double t = json_number_value(v);
        if (!(t >= 0.0) || !isfinite(t)) LINE_FAIL("\"temperature\" must be >= 0");
        p->temperature = (float)t;
    }
    if ((v = member(o, "top_p"))) {
        if (!json_is_number(v)) LINE_FAIL("\"top_p\" must be a number");
        double t = json_number_value(v);
        if (!(t > 0.0 && t <= 1.0)) LINE_FAIL("\"top_p\" must be in (0, 1]");
        p->top_p = (float)t;
    }
    if ((v = member(o, "seed"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            LINE_FAIL("\"seed\" must be an integer >= 0");
        p->seed = (uint64_t)json_integer_value(v);
    }
    if ((v = member(o, "n")) && !(json_is_integer(v) && json_integer_value(v) == 1))
        LINE_FAIL("only n = 1 is supported");
    if ((v = member(o, "stop"))) {
        if (json_is_array(v)) {
            size_t i;
            json_t *s;
            json_array_foreach(v, i, s) if (parse_stop_string(r, s, p, err)) return GETP_ERR;
        } else if (parse_stop_string(r, v, p, err)) {
            return GETP_ERR;
        }
    }
    if (r->d.ignore_eos) p->n_stop = 0;
    return GETP_OK;
}

/* A message's content: a string, or an array of {"type": "text", "text"}
 * parts (concatenated); an assistant message may have null content. */
static int message_content(json_t *m, int i, char **text, size_t *len, Err *err) {
    json_t *c = json_object_get(m, "content");
    *text = NULL;
    *len = 0;
    if (json_is_string(c)) {
        *len = json_string_length(c);
        *text = xmalloc(*len + 1);
        memcpy(*text, json_string_value(c), *len + 1);
        return GETP_OK;
    }
    if (json_is_null(c) && json_is_string(json_object_get(m, "role")) &&
        strcmp(json_string_value(json_object_get(m, "role")), "assistant") == 0) {
        *text = xstrdup("");
        return GETP_OK;
    }
    if (!json_is_array(c)) LINE_FAIL("messages[%d].content must be a string or an array of text parts", i);
    size_t k;
    json_t *part;
    json_array_foreach(c, k, part) {
        json_t *ty = json_object_get(part, "type"), *tx = json_object_get(part, "text");
        if (!json_is_string(ty) || strcmp(json_string_value(ty), "text") != 0 || !json_is_string(tx)) {
            free(*text);
            *text = NULL;
            LINE_FAIL("messages[%d].content[%zu] must be {\"type\": \"text\", \"text\": string}", i, k);
        }
        size_t n = json_string_length(tx);
        *text = xrealloc(*text, *len + n + 1);
        memcpy(*text + *len, json_string_value(tx), n);
        *len += n;
        (*text)[*len] = '\0';
    }
    if (!*text) *text = xstrdup("");
    return GETP_OK;
}

static int parse_messages(JsonlReader *r, json_t *msgs, InputRequest *q, size_t *bytes, Err *err) {
    if (!json_is_array(msgs)) LINE_FAIL("\"messages\" must be an array");
    int n = (int)json_array_size(msgs);
    if (n == 0) LINE_FAIL("\"messages\" is empty");
    if (!r->tok) LINE_FAIL("chat requests need a tokenizer (-z)");
    HarmonyMessage *hm = xcalloc((size_t)n, sizeof *hm);
    char **texts = xcalloc((size_t)n, sizeof *texts);
    int rc = GETP_ERR;
    *bytes = 0;
    for (int i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, (size_t)i);
        if (!json_is_object(m)) { err_set(err, "messages[%d] must be an object", i); goto done; }
        json_t *role = json_object_get(m, "role"), *ch = member(m, "channel");
        if (!json_is_string(role)) { err_set(err, "messages[%d].role must be a string", i); goto done; }
        if (!harmony_role_valid(json_string_value(role))) {
            err_set(err, "messages[%d].role \"%.40s\" is not system, developer, user or assistant", i,
                    json_string_value(role));
            goto done;
        }
        if (ch && !json_is_string(ch)) { err_set(err, "messages[%d].channel must be a string", i); goto done; }
        if (message_content(m, i, &texts[i], &hm[i].content_len, err)) goto done;
        hm[i].role = json_string_value(role);
        hm[i].channel = ch ? json_string_value(ch) : NULL;
        hm[i].content = texts[i];
        *bytes += hm[i].content_len;
    }
    if (surely_too_long(r, *bytes)) {
        err_set(err, "the messages hold %zu bytes, more than the step limit %d can take", *bytes, r->d.steps);
        goto done;
    }
    int np = 0;
    if (harmony_render(r->tok, hm, n, &q->prompt, &np, err) != GETP_OK) goto done;
    q->p.n_prompt = np;
    rc = GETP_OK;
done:
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(hm);
    return rc;
}

static int parse_prompt_text(JsonlReader *r, json_t *v, InputRequest *q, Err *err) {
    if (!json_is_string(v)) LINE_FAIL("\"prompt\" must be a string (or an array of token ids)");
    if (!r->tok) LINE_FAIL("text prompts need a tokenizer (-z)");
    size_t len = json_string_length(v);
    if (surely_too_long(r, len))
        LINE_FAIL("the prompt holds %zu bytes, more than the step limit %d can take", len, r->d.steps);
    int np = 0;
    if (tokenizer_encode(r->tok, json_string_value(v), len, &q->prompt, &np, err)) return GETP_ERR;
    q->p.n_prompt = np;
    return GETP_OK;
}

static int parse_prompt_ids(JsonlReader *r, json_t *v, const char *key, InputRequest *q, Err *err) {
    if (!json_is_array(v)) LINE_FAIL("\"%s\" must be an array of token ids", key);
    size_t n = json_array_size(v);
    if (n > (size_t)INT32_MAX) LINE_FAIL("\"%s\" is too long", key);
    q->prompt = xmalloc((n ? n : 1) * sizeof *q->prompt);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e)) LINE_FAIL("%s[%zu] is not an integer", key, i);
        json_int_t id = json_integer_value(e);
        if (id < 0 || (r->d.vocab_size > 0 && id >= r->d.vocab_size))
            LINE_FAIL("%s[%zu] = %lld is outside the vocabulary [0, %d)", key, i, (long long)id,
                      r->d.vocab_size);
        q->prompt[i] = (int32_t)id;
    }
    q->p.n_prompt = (int32_t)n;
    return GETP_OK;
}

/* The request of one parsed line; any failure is the line's error. */
static int parse_request(JsonlReader *r, json_t *root, InputRequest *q, Err *err) {
    if (!json_is_object(root)) LINE_FAIL("the line is not a JSON object");
    int batch = r->fmt == INPUT_BATCH ||
                (r->fmt == INPUT_AUTO && json_object_get(root, "custom_id") != NULL);
    json_t *src = root, *v;
    if (batch) {
        json_t *cid = json_object_get(root, "custom_id");
        if (!json_is_string(cid)) LINE_FAIL("\"custom_id\" must be a string");
        q->id = json_dumps(cid, JSON_ENCODE_ANY | JSON_COMPACT);
        if ((v = json_object_get(root, "method")) &&
            !(json_is_string(v) && strcmp(json_string_value(v), "POST") == 0))
            LINE_FAIL("\"method\" must be \"POST\"");
        v = json_object_get(root, "url");
        if (!json_is_string(v)) LINE_FAIL("\"url\" must be a string");
        if (strcmp(json_string_value(v), "/v1/chat/completions") == 0) q->kind = REQ_CHAT;
        else if (strcmp(json_string_value(v), "/v1/completions") == 0) q->kind = REQ_COMPLETION;
        else LINE_FAIL("unsupported url \"%.60s\" (use /v1/chat/completions or /v1/completions)",
                       json_string_value(v));
        src = json_object_get(root, "body");
        if (!json_is_object(src)) LINE_FAIL("\"body\" must be an object");
        if (q->kind == REQ_CHAT && !member(src, "messages"))
            LINE_FAIL("a /v1/chat/completions body needs \"messages\"");
        if (q->kind == REQ_COMPLETION && !member(src, "prompt"))
            LINE_FAIL("a /v1/completions body needs \"prompt\"");
    } else {
        if ((v = json_object_get(root, "id"))) q->id = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    }
    json_t *prompt = member(src, "prompt"), *msgs = member(src, "messages");
    json_t *ids = member(src, "prompt_token_ids");
    int given = (prompt != NULL) + (msgs != NULL) + (ids != NULL);
    if (given != 1)
        LINE_FAIL(given ? "give only one of \"prompt\", \"messages\", \"prompt_token_ids\""
                        : "missing \"prompt\", \"messages\" or \"prompt_token_ids\"");
    q->kind = msgs ? REQ_CHAT : REQ_COMPLETION;
    int32_t max_new;
    if (q->kind == REQ_CHAT && !r->tok) LINE_FAIL("chat requests need a tokenizer (-z)");
    if (parse_options(r, src, q->kind, &q->p, &max_new, err)) return GETP_ERR;
    size_t bytes;
    int rc = msgs                    ? parse_messages(r, msgs, q, &bytes, err)
             : ids                   ? parse_prompt_ids(r, ids, "prompt_token_ids", q, err)
             : json_is_array(prompt) ? parse_prompt_ids(r, prompt, "prompt", q, err)
                                     : parse_prompt_text(r, prompt, q, err);
    if (rc != GETP_OK) return GETP_ERR;
    if (q->p.n_prompt == 0) LINE_FAIL("the prompt is empty (0 tokens)");
    for (int32_t i = 0; i < q->p.n_prompt; i++) /* text through a tokenizer larger than the model's */
        if (r->d.vocab_size > 0 && q->prompt[i] >= r->d.vocab_size)
            LINE_FAIL("the tokenizer gave id %d, outside the model's vocabulary of %d (is -z the model's "
                      "tokenizer?)", q->prompt[i], r->d.vocab_size);
    q->p.steps = resolve_steps(&r->d, q->p.n_prompt, max_new);
    if (q->p.n_prompt > q->p.steps)
        LINE_FAIL("the prompt has %d tokens, more than the step limit %d", q->p.n_prompt, q->p.steps);
    return GETP_OK;
}

/* Fill q from one line (no newline). Never fails: problems become q->error. */
static void read_line(JsonlReader *r, char *line, size_t len, InputRequest *q) {
    Err err = {{0}};
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc;
    if (!root) {
        rc = err_set(&err, "invalid JSON at column %d: %s", jerr.column, jerr.text);
    } else {
        rc = parse_request(r, root, q, &err);
        json_decref(root);
    }
    if (rc != GETP_OK) {
        free(q->prompt);
        q->prompt = NULL;
        q->p.n_prompt = 0;
        q->p.steps = 0;
        size_t n = strlen(err.msg) + 48;
        q->error = xmalloc(n);
        snprintf(q->error, n, "line %lld: %s", (long long)q->line, err.msg);
    }
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static int jsonl_next(RequestReader *rr, int max, InputRequest *out, int *n, Err *err) {
    JsonlReader *r = rr->impl;
    *n = 0;
    while (*n < max) {
        errno = 0;
        ssize_t got = input_stream_getline(r->in, &r->buf, &r->cap);
        if (got < 0) {
            if (input_stream_failed(r->in))
                return err_set(err, "%s: reading the input: %s", input_stream_name(r->in), strerror(errno));
            break;
        }
        r->line_no++;
        char *line = r->buf;
        size_t len = (size_t)got;
        if (r->line_no == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3; // UTF-8 byte order mark
            len -= 3;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (is_blank(line, len)) continue;
        InputRequest *q = &out[(*n)++];
        memset(q, 0, sizeof *q);
        q->index = r->index++;
        q->line = r->line_no;
        request_params_default(&q->p);
        read_line(r, line, len, q);
        q->p.index = q->index;
        if (r->cap > ((size_t)1 << 24)) { // do not keep a giant line's buffer
            free(r->buf);
            r->buf = NULL;
            r->cap = 0;
        }
    }
    return GETP_OK;
}

static int64_t jsonl_total(RequestReader *rr) {
    (void)rr;
    return -1;
}

static void jsonl_close(RequestReader *rr) {
    if (!rr) return;
    JsonlReader *r = rr->impl;
    if (r) {
        input_stream_close(r->in);
        free(r->buf);
        free(r);
    }
    free(rr);
}

int jsonl_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                      const RequestDefaults *d, RequestReader **out, Err *err) {
    InputStream *in;
    *out = NULL;
    if (input_stream_open(path, &in, err) != GETP_OK) return GETP_ERR;
    return jsonl_reader_open_stream(in, fmt, tok, d, out, err);
}

int jsonl_reader_open_stream(InputStream *in, InputFormat fmt, const Tokenizer *tok,
                             const RequestDefaults *d, RequestReader **out, Err *err) {
    (void)err;
    *out = NULL;
    JsonlReader *r = xcalloc(1, sizeof *r);
    r->in = in;
    r->fmt = fmt == INPUT_BATCH || fmt == INPUT_JSONL ? fmt : INPUT_AUTO;
    r->tok = tok;
    r->d = *d;
    if (tok) r->max_token_len = tokenizer_max_token_bytes(tok);
    RequestReader *rr = xcalloc(1, sizeof *rr);
    rr->next = jsonl_next;
    rr->total = jsonl_total;
    rr->close = jsonl_close;
    rr->impl = r;
    *out = rr;
    return GETP_OK;
}

/* ------------------------------------------------------------------ writer */

typedef struct {
    FILE *f;
    char *path;
    int batch;            // OpenAI Batch output lines
    const Tokenizer *tok; // NULL: no text fields
    int64_t next_index;   // index of the next request to write
    json_int_t created;   // unix time for the Batch bodies
} JsonlWriter;

/* Text of n ids (bytes as decoded, then json_utf8). Ids the tokenizer does
 * not know are skipped. */
static json_t *decode_text(const Tokenizer *t, const int32_t *ids, int n) {
    char *text = NULL;
    size_t len = 0;
    Err err;
    if (n <= 0) return json_string("");
    if (tokenizer_decode(t, ids, n, &text, &len, &err) != GETP_OK) {
        free(text);
        text = NULL;
        len = 0;
        for (int i = 0; i < n; i++) {
            size_t k = 0;
            const char *b = tokenizer_token_bytes(t, ids[i], &k);
            if (!b) continue;
            text = xrealloc(text, len + k + 1);
            memcpy(text + len, b, k);
            len += k;
        }
    }
    json_t *j = json_utf8(text ? text : "", len);
    free(text);
    return j;
}

static const char *finish_name(int finish) {
    switch (finish) {
    case FINISH_STOP: return "stop";
    case FINISH_LENGTH: return "length";
    case FINISH_ERROR: return "error";
    default: return "length";
    }
}

/* The request's id as JSON (null when it had none). */
static json_t *request_id(const InputRequest *q) {
    json_t *id = q->id ? json_loads(q->id, JSON_DECODE_ANY, NULL) : NULL;
    return id ? id : json_null();
}

static json_t *usage(const InputRequest *q, const Output *o) {
    int64_t p = q->error ? 0 : q->p.n_prompt, c = o ? o->n_tokens : 0;
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)p, "completion_tokens",
                     (json_int_t)c, "total_tokens", (json_int_t)(p + c));
}

/* Texts of a result: *text (completion text or final channel), *reasoning
 * (analysis channel, chat only, may stay NULL), *channels (other channels). */
static void result_texts(const JsonlWriter *w, const InputRequest *q, const Output *o,
                         json_t **text, json_t **reasoning, json_t **channels) {
    *text = *reasoning = *channels = NULL;
    if (!w->tok) return;
    if (q->kind != REQ_CHAT) {
        int n = o->n_tokens;
        if (o->finish == FINISH_STOP && n > 0) n--; // the stop id is not text
        *text = decode_text(w->tok, o->tokens, n);
        return;
    }
    HarmonyParsed hp;
    harmony_parse(w->tok, o->tokens, o->n_tokens, &hp);
    for (int i = 0; i < hp.n_channels; i++) {
        const HarmonyChannel *c = &hp.channels[i];
        json_t *s = decode_text(w->tok, c->ids, c->n_ids);
        if (strcmp(c->name, "final") == 0) {
            *text = s;
        } else if (strcmp(c->name, "analysis") == 0) {
            *reasoning = s;
        } else {
            if (!*channels) *channels = json_object();
            json_object_set_new(*channels, c->name, s);
        }
    }
    if (!*text) *text = json_string("");
    harmony_parsed_free(&hp);
}

static json_t *jsonl_record(const JsonlWriter *w, const InputRequest *q, const Output *o) {
    json_t *rec = json_object();
    json_object_set_new(rec, "id", request_id(q));
    json_object_set_new(rec, "index", json_integer(q->index));
    int failed = q->error || o->finish == FINISH_ERROR;
    if (!failed) {
        json_t *text, *reasoning, *channels;
        result_texts(w, q, o, &text, &reasoning, &channels);
        if (text) json_object_set_new(rec, "text", text);
        if (reasoning) json_object_set_new(rec, "reasoning", reasoning);
        if (channels) json_object_set_new(rec, "channels", channels);
    }
    json_t *ids = json_array();
    for (int i = 0; !failed && i < o->n_tokens; i++) json_array_append_new(ids, json_integer(o->tokens[i]));
    json_object_set_new(rec, "token_ids", ids);
    json_object_set_new(rec, "finish_reason", json_string(failed ? "error" : finish_name(o->finish)));
    if (failed) {
        const char *msg = q->error ? q->error : "the engine could not run this request";
        json_object_set_new(rec, "error", json_utf8(msg, strlen(msg)));
    }
    json_object_set_new(rec, "usage", usage(q, failed ? NULL : o));
    return rec;
}

static json_t *batch_record(const JsonlWriter *w, const InputRequest *q, const Output *o) {
    char buf[64];
    json_t *rec = json_object();
    snprintf(buf, sizeof buf, "batch_req_%lld", (long long)q->index);
    json_object_set_new(rec, "id", json_string(buf));
    json_object_set_new(rec, "custom_id", request_id(q));
    if (q->error || o->finish == FINISH_ERROR) {
        const char *msg = q->error ? q->error : "the engine could not run this request";
        json_object_set_new(rec, "response", json_null());
        json_object_set_new(rec, "error",
                            json_pack("{s:s, s:o}", "code", q->error ? "invalid_request" : "engine_error",
                                      "message", json_utf8(msg, strlen(msg))));
        return rec;
    }
    json_t *text, *reasoning, *channels;
    result_texts(w, q, o, &text, &reasoning, &channels);
    if (!text) text = json_string("");
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_t *body = json_object();
    if (q->kind == REQ_CHAT) {
        json_t *msg = json_pack("{s:s, s:o}", "role", "assistant", "content", text);
        if (reasoning) json_object_set_new(msg, "reasoning", reasoning);
        if (channels) json_object_set_new(msg, "channels", channels);
        json_object_set_new(choice, "message", msg);
        snprintf(buf, sizeof buf, "chatcmpl-%lld", (long long)q->index);
        json_object_set_new(body, "id", json_string(buf));
        json_object_set_new(body, "object", json_string("chat.completion"));
    } else {
        json_object_set_new(choice, "text", text);
        snprintf(buf, sizeof buf, "cmpl-%lld", (long long)q->index);
        json_object_set_new(body, "id", json_string(buf));
        json_object_set_new(body, "object", json_string("text_completion"));
        json_decref(reasoning);
        json_decref(channels);
    }
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", json_string(finish_name(o->finish)));
    json_object_set_new(body, "created", json_integer(w->created));
    json_object_set_new(body, "model", json_string("gpt-oss"));
    json_object_set_new(body, "choices", json_pack("[o]", choice));
    json_object_set_new(body, "usage", usage(q, o));
    snprintf(buf, sizeof buf, "req_%lld", (long long)q->index);
    json_object_set_new(rec, "response", json_pack("{s:i, s:s, s:o}", "status_code", 200,
                                                   "request_id", buf, "body", body));
    json_object_set_new(rec, "error", json_null());
    return rec;
}

static int jsonl_write(OutputWriter *ww, const InputRequest *q, const Output *o, Err *err) {
    JsonlWriter *w = ww->impl;
    CHECK(q->index == w->next_index); // records are positional: resume counts them
    Output none = {.index = q->index, .finish = FINISH_ERROR};
    if (!o) o = &none;
    json_t *rec = w->batch ? batch_record(w, q, o) : jsonl_record(w, q, o);
    char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    CHECK(s != NULL);
    size_t len = strlen(s);
    int ok = fwrite(s, 1, len, w->f) == len && fputc('\n', w->f) != EOF;
    free(s);
    if (!ok) return err_set(err, "writing %s: %s", w->path, strerror(errno));
    w->next_index++;
    return GETP_OK;
}

static int jsonl_flush(OutputWriter *ww, Err *err) {
    JsonlWriter *w = ww->impl;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        return err_set(err, "flushing %s: %s", w->path, strerror(errno));
    return GETP_OK;
}

static int jsonl_wclose(OutputWriter *ww, Err *err) {
    if (!ww) return GETP_OK;
    JsonlWriter *w = ww->impl;
    int rc = GETP_OK;
    if (w) {
        if (w->f && fclose(w->f) != 0) rc = err_set(err, "closing %s: %s", w->path, strerror(errno));
        free(w->path);
        free(w);
    }
    free(ww);
    return rc;
}

int jsonl_writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                      OutputWriter **out, int64_t *done, Err *err) {
    *out = NULL;
    *done = 0;
    if (resume && output_resume_scan(path, done, err) != GETP_OK) return GETP_ERR;
    FILE *f = fopen(path, resume ? "ab" : "wb");
    if (!f) return err_set(err, "cannot open output %s: %s", path, strerror(errno));
    JsonlWriter *w = xcalloc(1, sizeof *w);
    w->f = f;
    w->path = xstrdup(path);
    w->batch = fmt == INPUT_BATCH;
    w->tok = tok;
    w->next_index = *done;
    w->created = (json_int_t)time(NULL);
    OutputWriter *ww = xcalloc(1, sizeof *ww);
    ww->write = jsonl_write;
    ww->flush = jsonl_flush;
    ww->close = jsonl_wclose;
    ww->impl = w;
    *out = ww;
    return GETP_OK;
}
