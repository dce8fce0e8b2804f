/* harmony_chat.c: a chat request rendered as the official gpt-oss chat
 * template renders it (harmony.h; the rules, field by field, are in
 * docs/io_formats.md, "Chats"): the system and developer messages, the
 * loop over the messages, the generation prompt. Tools are written by
 * harmony_tools.c, JSON values (tojson) by jinja_values.c.
 */
#include "harmony.h"
#include "harmony_tools.h" // harmony_tools_check, harmony_tools_render, harmony_name_valid
#include "jinja_values.h"  // TextBuf, jinja_tojson, jinja_string, jinja_truthy

#include <time.h>

/* ------------------------------------------------------- prompt as text */

/* The prompt as the template's text, with the specials kept apart: special
 * k sits at byte at[k] of text. Tokenizing each stretch between specials as
 * one run is what a tokenizer does to the template's text. */
typedef struct {
    TextBuf text;
    size_t *at;
    int32_t *id;
    int n, cap;
    int32_t start, message, end, channel, call; // the specials the template writes
} Doc;

static void doc_special(Doc *d, int32_t id) {
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 32;
        d->at = xrealloc(d->at, (size_t)d->cap * sizeof *d->at);
        d->id = xrealloc(d->id, (size_t)d->cap * sizeof *d->id);
    }
    d->at[d->n] = d->text.n;
    d->id[d->n++] = id;
}

static void doc_free(Doc *d) {
    free(d->text.s);
    free(d->at);
    free(d->id);
}

static int doc_ids(const Tokenizer *t, const Doc *d, int32_t **ids, int *n_ids, Err *err) {
    int32_t *out = NULL;
    int n = 0, cap = 0;
    size_t from = 0;
    for (int k = 0; k <= d->n; k++) {
        size_t to = k < d->n ? d->at[k] : d->text.n;
        int32_t *part = NULL;
        int np = 0;
        if (to > from && tokenizer_encode(t, d->text.s + from, to - from, &part, &np, err) != GETP_OK) {
            free(out);
            return GETP_ERR;
        }
        if (n + np + 1 > cap) {
            cap = 2 * (n + np + 1);
            out = xrealloc(out, (size_t)cap * sizeof *out);
        }
        if (np) memcpy(out + n, part, (size_t)np * sizeof *out);
        n += np;
        free(part);
        if (k < d->n) out[n++] = d->id[k];
        from = to;
    }
    *ids = out;
    *n_ids = n;
    return GETP_OK;
}

/* ------------------------------------------------------------- messages */

typedef struct {
    const char *role;
    TextBuf content;     // text of "content" (text parts joined)
    int has_content;     // content given (not absent, not null)
    json_t *content_obj; // a tool message's object content (written with tojson)
    TextBuf thinking;    // "thinking" (or "reasoning_content" / "reasoning")
    int has_thinking;
    json_t *call;        // the first tool call's function object; NULL: no tool_calls
} ChatMsg;

/* A member that is absent or JSON null counts as absent. */
static json_t *member(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

/* A string, or an array of {"type": "text", "text"} parts (joined). */
static int text_value(json_t *v, int i, const char *key, TextBuf *out, Err *err) {
    if (json_is_string(v)) {
        text_json(out, v);
        return GETP_OK;
    }
    if (!json_is_array(v)) return err_set(err, "messages[%d].%s must be a string or an array of text parts", i, key);
    text_add(out, "", 0);
    for (size_t k = 0; k < json_array_size(v); k++) {
        json_t *part = json_array_get(v, k), *ty = json_object_get(part, "type"), *tx = json_object_get(part, "text");
        if (!json_is_string(ty) || strcmp(json_string_value(ty), "text") != 0 || !json_is_string(tx))
            return err_set(err, "messages[%d].%s[%zu] must be {\"type\": \"text\", \"text\": string}", i, key, k);
        text_json(out, tx);
    }
    return GETP_OK;
}

/* The text of a special token inside s, if any (its name in *tag). */
static int has_special_text(const Tokenizer *t, const TextBuf *s, char tag[64]) {
    for (size_t i = 0; i + 1 < s->n; i++) {
        if (s->s[i] != '<' || s->s[i + 1] != '|') continue;
        for (size_t j = i + 2; j + 1 < s->n && j - i < 60; j++) {
            if (s->s[j] != '|' || s->s[j + 1] != '>') continue;
            memcpy(tag, s->s + i, j + 2 - i);
            tag[j + 2 - i] = '\0';
            if (tokenizer_special_id(t, tag) >= 0) return 1;
            break;
        }
    }
    return 0;
}

static int read_message(const Tokenizer *t, json_t *m, int i, ChatMsg *c, Err *err) {
    if (!json_is_object(m)) return err_set(err, "messages[%d] must be an object", i);
    json_t *role = json_object_get(m, "role"), *v;
    if (!json_is_string(role)) return err_set(err, "messages[%d].role must be a string", i);
    c->role = json_string_value(role);
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    int known = 0;
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) known |= strcmp(c->role, roles[k]) == 0;
    if (!known)
        return err_set(err, "messages[%d].role \"%.40s\" is not system, developer, user, assistant or tool", i,
                       c->role);
    if ((v = member(m, "content"))) {
        c->has_content = 1;
        if (json_is_object(v) && strcmp(c->role, "tool") == 0) c->content_obj = v;
        else if (text_value(v, i, "content", &c->content, err) != GETP_OK) return GETP_ERR;
    }
    if (strcmp(c->role, "assistant") != 0) return GETP_OK;
    if (member(m, "channel")) // getp's own field before the template ruled: refused, not ignored
        return err_set(err, "messages[%d].channel is not read by the chat template: give the analysis text in "
                            "\"thinking\" and the final text in \"content\"", i);
    static const char *const thinking[] = {"thinking", "reasoning_content", "reasoning"};
    const char *given = NULL;
    for (size_t k = 0; k < 3; k++) {
        if (!(v = member(m, thinking[k]))) continue;
        if (given) return err_set(err, "messages[%d] has both \"%s\" and \"%s\"; give one", i, given, thinking[k]);
        given = thinking[k];
        c->has_thinking = 1;
        if (text_value(v, i, thinking[k], &c->thinking, err) != GETP_OK) return GETP_ERR;
    }
    char tag[64];
    if (has_special_text(t, &c->content, tag) || (given && has_special_text(t, &c->thinking, tag)))
        return err_set(err, "messages[%d] (assistant) carries the harmony tag %s in its text: give the analysis "
                            "text in \"thinking\" and the final text in \"content\", without tags", i, tag);
    if ((v = member(m, "tool_calls"))) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return err_set(err, "messages[%d].tool_calls must be a non-empty array", i);
        json_t *tc = json_array_get(v, 0), *fn;
        if (!json_is_object(tc)) return err_set(err, "messages[%d].tool_calls[0] must be an object", i);
        fn = member(tc, "function");
        if (jinja_truthy(fn) && !json_is_object(fn))
            return err_set(err, "messages[%d].tool_calls[0].function must be an object", i);
        c->call = jinja_truthy(fn) ? fn : tc;
        if (!harmony_name_valid(member(c->call, "name")))
            return err_set(err, "messages[%d].tool_calls[0].function.name must be 1 to 64 of a-z A-Z 0-9 _ - .", i);
        if ((v = member(c->call, "content_type")) && !json_is_string(v))
            return err_set(err, "messages[%d].tool_calls[0].function.content_type must be a string", i);
    }
    return GETP_OK;
}

/* `arguments|tojson`; arguments given as JSON text (OpenAI's form) are read first. */
static int call_arguments(TextBuf *b, json_t *call, int i, Err *err) {
    json_t *args = member(call, "arguments");
    if (!args) {
        text_puts(b, "null");
        return GETP_OK;
    }
    if (!json_is_string(args)) {
        jinja_tojson(b, args);
        return GETP_OK;
    }
    json_error_t je;
    /* every JSON number is a double in the template's renderer */
    json_t *parsed = json_loadb(json_string_value(args), json_string_length(args),
                                JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (!parsed)
        return err_set(err, "messages[%d].tool_calls[0].function.arguments is not valid JSON: %s", i, je.text);
    jinja_tojson(b, parsed);
    json_decref(parsed);
    return GETP_OK;
}

static void open_message(Doc *d, const char *header, const char *channel) {
    doc_special(d, d->start);
    text_puts(&d->text, header);
    if (channel) {
        doc_special(d, d->channel);
        text_puts(&d->text, channel);
    }
    doc_special(d, d->message);
}

/* The loop over messages[first..n) of the template. */
static int render_messages(Doc *d, ChatMsg *m, int first, int n, Err *err) {
    const char *last_call = NULL; // the template's last_tool_call.name
    for (int i = first; i < n; i++) {
        ChatMsg *c = &m[i];
        if (!strcmp(c->role, "system") || !strcmp(c->role, "developer"))
            return err_set(err, "messages[%d]: a %s message is only allowed first (the chat template would drop "
                                "it)", i, c->role);
        if (!strcmp(c->role, "user")) {
            if (!c->has_content) return err_set(err, "messages[%d].content is missing", i);
            open_message(d, "user", NULL);
            text_add(&d->text, c->content.s, c->content.n);
            doc_special(d, d->end);
        } else if (!strcmp(c->role, "tool")) {
            if (!last_call)
                return err_set(err, "messages[%d]: a tool message with no assistant tool call before it", i);
            doc_special(d, d->start);
            text_puts(&d->text, "functions.");
            text_puts(&d->text, last_call);
            text_puts(&d->text, " to=assistant");
            doc_special(d, d->channel);
            text_puts(&d->text, "commentary");
            doc_special(d, d->message);
            if (c->content_obj) jinja_tojson(&d->text, c->content_obj);
            else if (c->has_content) jinja_string(&d->text, c->content.s, c->content.n);
            else text_puts(&d->text, "null");
            doc_special(d, d->end);
        } else if (c->call) {
            /* the analysis before a tool call stays unless a final answer follows */
            int future_final = 0;
            for (int j = i + 1; j < n; j++) future_final |= !strcmp(m[j].role, "assistant") && !m[j].call;
            int content = c->content.n > 0, thinking = c->thinking.n > 0;
            if (content && thinking)
                return err_set(err, "messages[%d] has tool_calls and both content and thinking (the chat template "
                                    "refuses it: give the analysis in one of them)", i);
            if ((content || thinking) && !future_final) {
                open_message(d, "assistant", "analysis");
                const TextBuf *s = content ? &c->content : &c->thinking;
                text_add(&d->text, s->s, s->n);
                doc_special(d, d->end);
            }
            json_t *name = member(c->call, "name"), *ctype = member(c->call, "content_type");
            doc_special(d, d->start);
            text_puts(&d->text, "assistant to=functions.");
            text_json(&d->text, name);
            doc_special(d, d->channel);
            text_puts(&d->text, "commentary ");
            if (ctype) text_json(&d->text, ctype);
            else text_puts(&d->text, "json");
            doc_special(d, d->message);
            if (call_arguments(&d->text, c->call, i, err) != GETP_OK) return GETP_ERR;
            doc_special(d, d->call);
            last_call = json_string_value(name);
        } else {
            if (!c->has_content)
                return err_set(err, "messages[%d] (assistant) needs \"content\" or \"tool_calls\"", i);
            open_message(d, "assistant", "final");
            text_add(&d->text, c->content.s, c->content.n);
            doc_special(d, d->end);
            last_call = NULL;
        }
    }
    return GETP_OK;
}

/* ------------------------------------------------------------ the request */

void harmony_tojson(json_t *v, char **buf, size_t *len) {
    TextBuf b = {*buf, *len, *buf ? *len + 1 : 0};
    jinja_tojson(&b, v);
    *buf = b.s;
    *len = b.n;
}

int harmony_effort_valid(const char *s) {
    return s && (!strcmp(s, "low") || !strcmp(s, "medium") || !strcmp(s, "high"));
}

int harmony_date_valid(const char *s) {
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
    if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1]) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(mo == 2 && d == 29 && !leap);
}

void harmony_today(char out[11]) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The request's own options over the defaults; *tools NULL when none are rendered. */
static int read_options(json_t *req, const HarmonyChatDefaults *d, const char **effort, json_t **identity,
                        json_t **tools, Err *err) {
    json_t *v;
    *effort = d->reasoning_effort ? d->reasoning_effort : "medium";
    if ((v = member(req, "reasoning_effort"))) {
        if (!json_is_string(v) || !harmony_effort_valid(json_string_value(v)))
            return err_set(err, "unknown reasoning_effort %s%.20s%s (use \"low\", \"medium\" or \"high\")",
                           json_is_string(v) ? "\"" : "", json_is_string(v) ? json_string_value(v) : "(not a string)",
                           json_is_string(v) ? "\"" : "");
        *effort = json_string_value(v);
    }
    if ((*identity = member(req, "model_identity")) && !json_is_string(*identity))
        return err_set(err, "\"model_identity\" must be a string");
    if (jinja_truthy(json_object_get(req, "builtin_tools")))
        return err_set(err, "\"builtin_tools\" (browser, python) are not supported; give function tools in \"tools\"");
    *tools = member(req, "tools");
    if (*tools && harmony_tools_check(*tools, err) != GETP_OK) return GETP_ERR;
    if ((v = member(req, "tool_choice"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (s && !strcmp(s, "none")) *tools = NULL;
        else if (s && !strcmp(s, "required"))
            return err_set(err, "tool_choice \"required\" is not supported (use \"auto\" or \"none\")");
        else if (!s)
            return err_set(err, "a named tool_choice is not supported (use \"auto\" or \"none\")");
        else if (strcmp(s, "auto") != 0)
            return err_set(err, "unknown tool_choice \"%.40s\" (use \"auto\" or \"none\")", s);
    }
    if (*tools && json_array_size(*tools) == 0) *tools = NULL; // the template's `if tools`
    return GETP_OK;
}

static int render(const Tokenizer *t, Doc *d, json_t *req, const HarmonyChatDefaults *dflt, ChatMsg *m, int n,
                  Err *err) {
    const char *effort = NULL;
    json_t *identity = NULL, *tools = NULL;
    if (read_options(req, dflt, &effort, &identity, &tools, err) != GETP_OK) return GETP_ERR;
    json_t *msgs = json_object_get(req, "messages");
    for (int i = 0; i < n; i++)
        if (read_message(t, json_array_get(msgs, (size_t)i), i, &m[i], err) != GETP_OK) return GETP_ERR;
    /* the system message */
    open_message(d, "system", NULL);
    if (identity) text_json(&d->text, identity);
    else text_puts(&d->text, "You are ChatGPT, a large language model trained by OpenAI.");
    text_puts(&d->text, "\nKnowledge cutoff: 2024-06\nCurrent date: ");
    text_puts(&d->text, dflt->date);
    text_puts(&d->text, "\n\nReasoning: ");
    text_puts(&d->text, effort);
    text_puts(&d->text, "\n\n# Valid channels: analysis, commentary, final. "
                        "Channel must be included for every message.");
    if (tools) text_puts(&d->text, "\nCalls to these tools must go to the commentary channel: 'functions'.");
    doc_special(d, d->end);
    /* the developer message: instructions from a first system/developer message, and the tools */
    int first = !strcmp(m[0].role, "system") || !strcmp(m[0].role, "developer");
    const TextBuf *instr = first && m[0].content.n > 0 ? &m[0].content : NULL;
    if (instr || tools) {
        open_message(d, "developer", NULL);
        if (instr) {
            text_puts(&d->text, "# Instructions\n\n");
            text_add(&d->text, instr->s, instr->n);
            text_puts(&d->text, "\n\n");
        }
        if (tools) {
            text_puts(&d->text, "# Tools\n\n");
            if (harmony_tools_render(&d->text, tools, err) != GETP_OK) return GETP_ERR;
        }
        doc_special(d, d->end);
    }
    if (render_messages(d, m, first, n, err) != GETP_OK) return GETP_ERR;
    doc_special(d, d->start);
    text_puts(&d->text, "assistant");
    return GETP_OK;
}

int harmony_render_chat(const Tokenizer *t, json_t *req, const HarmonyChatDefaults *dflt, int32_t **ids,
                        int *n_ids, Err *err) {
    *ids = NULL;
    *n_ids = 0;
    json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs)) return err_set(err, "\"messages\" must be an array");
    int n = (int)json_array_size(msgs);
    if (n == 0) return err_set(err, "\"messages\" is empty");
    if (!dflt->date || !harmony_date_valid(dflt->date))
        return err_set(err, "the current date \"%s\" is not YYYY-MM-DD", dflt->date ? dflt->date : "(none)");
    Doc d = {0};
    d.start = tokenizer_special_id(t, "<|start|>");
    d.message = tokenizer_special_id(t, "<|message|>");
    d.end = tokenizer_special_id(t, "<|end|>");
    d.channel = tokenizer_special_id(t, "<|channel|>");
    d.call = tokenizer_special_id(t, "<|call|>");
    if (d.start < 0 || d.message < 0 || d.end < 0 || d.channel < 0 || d.call < 0)
        return err_set(err, "the tokenizer has no harmony special tokens (not o200k_harmony?)");
    ChatMsg *m = xcalloc((size_t)n, sizeof *m);
    int rc = render(t, &d, req, dflt, m, n, err);
    if (rc == GETP_OK && dflt->max_text_bytes > 0 && d.text.n > dflt->max_text_bytes)
        rc = err_set(err, "the chat renders to %zu bytes of text, more than the step limit can take", d.text.n);
    if (rc == GETP_OK) rc = doc_ids(t, &d, ids, n_ids, err);
    for (int i = 0; i < n; i++) {
        free(m[i].content.s);
        free(m[i].thinking.s);
    }
    free(m);
    doc_free(&d);
    return rc;
}
