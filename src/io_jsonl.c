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
 *           {"id": any, "messages": [{role, content}]} chat, rendered by the chat
 *                                                      template's rules (harmony.h):
 *           also reasoning_effort, model_identity, tools, tool_choice
 *           {"id": any, "prompt_token_ids": [ids]}     pre-tokenized completion
 *   Batch:  {"custom_id": "...", "method": "POST", "url": "/v1/chat/completions"
 *            | "/v1/completions", "body": {messages | prompt, ...}}
 *   Options (top level in JSONL, in "body" for Batch; null = absent):
 *     max_tokens | max_completion_tokens (>= 1), seed (integer >= 0),
 *     stop (string or array of strings); the sampling options temperature,
 *     top_p, top_k, min_p, logprobs, top_logprobs (io_sampling.h).
 *   A stop string must be one token: a special token's exact text
 *   ("<|end|>") or text that tokenizes to exactly one ordinary id ("\n").
 *   Stop ids are added to the defaults: <|endoftext|> <|return|> for
 *   completions, <|return|> <|call|> <|endoftext|> for chats, GETP_MAX_STOP
 *   in all. --ignore-eos drops every stop id, the request's own included.
 *
 * Output (in input order, one line per request, written with fwrite, flushed
 * and fsync'ed by flush()):
 *   JSONL: {"id", "index", "text", "reasoning" and "reasoning_content" (chat,
 *          when the model wrote an analysis channel), "channels" (chat, other
 *          channels by name), "tool_calls" (chat: OpenAI's, one per message
 *          the model addressed to a recipient), "token_ids", "logprobs" (when
 *          asked for: chat.completion's shape, entries with their "id"),
 *          "finish_reason": "stop"|"tool_calls" (a chat ending on <|call|>)|
 *          "length"|"error", "error" (errored requests only), "usage":
 *          {prompt_tokens, completion_tokens, total_tokens}}
 *   Batch: the OpenAI Batch output line, chat.completion (message.tool_calls,
 *          content null beside tool calls when there is no final text) or
 *          text_completion body (choices[0].logprobs in that endpoint's shape,
 *          or null); errors as "response": null, "error": {"code", "message"}.
 * `text` leaves out the final stop id of a completion (token_ids keep it); a
 * chat's text is its final channel (harmony.h). Decoded bytes that are not
 * valid UTF-8 (a character split across the step limit, odd ids) become
 * U+FFFD, one per maximal invalid subpart, so every line is valid JSON.
 */
#include "harmony.h"  // harmony_render_chat, harmony_stop_ids, harmony_parse
#include "io_sampling.h" // sampling_options_parse, logprobs_json_text, json_splice_value
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
    char date[11];        // chats: the current date of the prompt (d.date or today)
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
static int parse_options(JsonlReader *r, json_t *o, int kind, LogprobsForm form, RequestParams *p,
                         int32_t *max_new, Err *err) {
    json_t *v;
    request_params_default(p);
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
    if (sampling_options_parse(o, form, &r->d, p, err)) return GETP_ERR;
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

/* A chat request (messages, tools, ...) rendered by the chat template's rules (harmony.h). */
static int parse_messages(JsonlReader *r, json_t *src, InputRequest *q, Err *err) {
    if (!r->tok) LINE_FAIL("chat requests need a tokenizer (-z)");
    HarmonyChatDefaults hd = {r->d.reasoning_effort, r->date, 0};
    int limit = r->d.steps < r->d.max_seq_len || r->d.max_seq_len <= 0 ? r->d.steps : r->d.max_seq_len;
    if (r->max_token_len > 0 && limit > 0) hd.max_text_bytes = r->max_token_len * (size_t)limit;
    int np = 0;
    if (harmony_render_chat(r->tok, src, &hd, &q->prompt, &np, err) != GETP_OK) return GETP_ERR;
    q->p.n_prompt = np;
    return GETP_OK;
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
    LogprobsForm form = !batch ? LOGPROBS_JSONL : q->kind == REQ_CHAT ? LOGPROBS_CHAT : LOGPROBS_COMPLETION;
    if (parse_options(r, src, q->kind, form, &q->p, &max_new, err)) return GETP_ERR;
    int rc = msgs                    ? parse_messages(r, src, q, err)
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
    if (d->date) snprintf(r->date, sizeof r->date, "%s", d->date);
    else harmony_today(r->date);
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
    char lp_mark[48];     // stands for the logprobs in the jansson tree (jsonl_write splices them in)
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

/* The finish reason of a result: a chat that stopped on <|call|> ends in
 * "tool_calls" (OpenAI's name), else stop / length / error. */
static const char *finish_reason(const JsonlWriter *w, const InputRequest *q, const Output *o) {
    if (q->kind == REQ_CHAT && w->tok && o->finish == FINISH_STOP && o->n_tokens > 0 &&
        o->tokens[o->n_tokens - 1] == tokenizer_special_id(w->tok, "<|call|>"))
        return "tool_calls";
    return finish_name(o->finish);
}

/* OpenAI tool_calls of the calls the model wrote: [{id, type, function:
 * {name, arguments}}]; `functions.` is taken off the recipient. */
static json_t *tool_calls_json(const JsonlWriter *w, const InputRequest *q, const HarmonyParsed *hp) {
    json_t *calls = json_array();
    for (int i = 0; i < hp->n_calls; i++) {
        const HarmonyCall *c = &hp->calls[i];
        const char *name = strncmp(c->recipient, "functions.", 10) == 0 ? c->recipient + 10 : c->recipient;
        char id[64];
        snprintf(id, sizeof id, "call_%lld_%d", (long long)q->index, i);
        json_t *fn = json_pack("{s:o, s:o}", "name", json_utf8(name, strlen(name)), "arguments",
                               decode_text(w->tok, c->ids, c->n_ids));
        json_array_append_new(calls, json_pack("{s:s, s:s, s:o}", "id", id, "type", "function", "function", fn));
    }
    return calls;
}

/* How many leading ids of a completion are its text: all but a final stop id. */
static int text_ids(const Output *o) {
    return o->finish == FINISH_STOP && o->n_tokens > 0 ? o->n_tokens - 1 : o->n_tokens;
}

/* Texts of a result: *text (completion text or final channel), *reasoning
 * (analysis channel, chat only, may stay NULL), *channels (other channels),
 * *tool_calls (chat only, NULL when the model called no tool). */
static void result_texts(const JsonlWriter *w, const InputRequest *q, const Output *o,
                         json_t **text, json_t **reasoning, json_t **channels, json_t **tool_calls) {
    *text = *reasoning = *channels = *tool_calls = NULL;
    if (!w->tok) return;
    if (q->kind != REQ_CHAT) {
        *text = decode_text(w->tok, o->tokens, text_ids(o)); // the stop id is not text
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
    if (hp.n_calls > 0) *tool_calls = tool_calls_json(w, q, &hp);
    harmony_parsed_free(&hp);
}

/* The analysis channel under both names users look for: "reasoning" and
 * vLLM's "reasoning_content". */
static void set_reasoning(json_t *o, json_t *reasoning) {
    if (!reasoning) return;
    json_object_set(o, "reasoning", reasoning);
    json_object_set_new(o, "reasoning_content", reasoning);
}

static json_t *jsonl_record(const JsonlWriter *w, const InputRequest *q, const Output *o) {
    json_t *rec = json_object();
    json_object_set_new(rec, "id", request_id(q));
    json_object_set_new(rec, "index", json_integer(q->index));
    int failed = q->error || o->finish == FINISH_ERROR;
    if (!failed) {
        json_t *text, *reasoning, *channels, *calls;
        result_texts(w, q, o, &text, &reasoning, &channels, &calls);
        if (text) json_object_set_new(rec, "text", text);
        set_reasoning(rec, reasoning);
        if (channels) json_object_set_new(rec, "channels", channels);
        if (calls) json_object_set_new(rec, "tool_calls", calls);
    }
    json_t *ids = json_array();
    for (int i = 0; !failed && i < o->n_tokens; i++) json_array_append_new(ids, json_integer(o->tokens[i]));
    json_object_set_new(rec, "token_ids", ids);
    if (!failed && q->p.logprobs >= 0) json_object_set_new(rec, "logprobs", json_string(w->lp_mark));
    json_object_set_new(rec, "finish_reason", json_string(failed ? "error" : finish_reason(w, q, o)));
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
    json_t *text, *reasoning, *channels, *calls;
    result_texts(w, q, o, &text, &reasoning, &channels, &calls);
    if (!text) text = json_string("");
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    json_t *body = json_object();
    if (q->kind == REQ_CHAT) {
        if (calls && json_string_length(text) == 0) { // OpenAI: a tool-call message has null content
            json_decref(text);
            text = json_null();
        }
        json_t *msg = json_pack("{s:s, s:o}", "role", "assistant", "content", text);
        set_reasoning(msg, reasoning);
        if (channels) json_object_set_new(msg, "channels", channels);
        if (calls) json_object_set_new(msg, "tool_calls", calls);
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
        json_decref(calls);
    }
    json_object_set_new(choice, "logprobs", q->p.logprobs >= 0 ? json_string(w->lp_mark) : json_null());
    json_object_set_new(choice, "finish_reason", json_string(finish_reason(w, q, o)));
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
    if (q->p.logprobs >= 0 && strstr(s, w->lp_mark)) {
        /* written by hand (io_sampling.c says why), in the record's place */
        LogprobsForm form = !w->batch ? LOGPROBS_JSONL : q->kind == REQ_CHAT ? LOGPROBS_CHAT : LOGPROBS_COMPLETION;
        char *lp = logprobs_json_text(w->tok, o, form, text_ids(o));
        s = json_splice_value(s, w->lp_mark, lp);
        free(lp);
    }
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
    /* a mark no input line or model output can hold by chance: 64 bits of this run */
    uint64_t nonce = (uint64_t)w->created * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 20 ^ (uint64_t)(uintptr_t)w;
    snprintf(w->lp_mark, sizeof w->lp_mark, "getp-logprobs-%016llx", (unsigned long long)nonce);
    OutputWriter *ww = xcalloc(1, sizeof *ww);
    ww->write = jsonl_write;
    ww->flush = jsonl_flush;
    ww->close = jsonl_wclose;
    ww->impl = w;
    *out = ww;
    return GETP_OK;
}
