/* harmony.c: the chat stop ids, and generated ids split into channels and
 * tool calls (harmony.h). The prompt side is harmony_chat.c. */
#include "harmony.h"

static int special(const Tokenizer *t, const char *name, int32_t *id, Err *err) {
    *id = tokenizer_special_id(t, name);
    if (*id < 0) return err_set(err, "tokenizer has no special token %s (not o200k_harmony?)", name);
    return GETP_OK;
}

int harmony_stop_ids(const Tokenizer *t, int32_t stop[HARMONY_N_STOP], Err *err) {
    if (special(t, "<|return|>", &stop[0], err) || special(t, "<|call|>", &stop[1], err) ||
        special(t, "<|endoftext|>", &stop[2], err))
        return GETP_ERR;
    return GETP_OK;
}

/* ---- parsing ---- */

typedef struct {
    int32_t start, channel, message, end, constrain, ret, call, eot;
} Specials;

static HarmonyChannel *channel_get(HarmonyParsed *p, const char *name, size_t len) {
    for (int i = 0; i < p->n_channels; i++)
        if (strlen(p->channels[i].name) == len && memcmp(p->channels[i].name, name, len) == 0)
            return &p->channels[i];
    p->channels = xrealloc(p->channels, (size_t)(p->n_channels + 1) * sizeof *p->channels);
    HarmonyChannel *c = &p->channels[p->n_channels++];
    c->name = xmalloc(len + 1);
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->ids = NULL;
    c->n_ids = 0;
    return c;
}

static void channel_append(HarmonyParsed *p, const char *name, size_t len, const int32_t *ids,
                           int n) {
    if (n <= 0) return;
    HarmonyChannel *c = channel_get(p, name, len);
    c->ids = xrealloc(c->ids, (size_t)(c->n_ids + n) * sizeof *c->ids);
    memcpy(c->ids + c->n_ids, ids, (size_t)n * sizeof *ids);
    c->n_ids += n;
}

/* A message addressed to rcpt: one tool call (kept even when its body is empty). */
static void call_append(HarmonyParsed *p, const char *rcpt, const int32_t *ids, int n, int complete) {
    p->calls = xrealloc(p->calls, (size_t)(p->n_calls + 1) * sizeof *p->calls);
    HarmonyCall *c = &p->calls[p->n_calls++];
    c->recipient = xstrdup(rcpt);
    c->ids = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    if (n > 0) memcpy(c->ids, ids, (size_t)n * sizeof *ids);
    c->n_ids = n > 0 ? n : 0;
    c->complete = complete;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Decoded header ids (NULL if empty or undecodable). */
static char *header_text(const Tokenizer *t, const int32_t *ids, int n, size_t *len) {
    char *text = NULL;
    Err err;
    *len = 0;
    if (n <= 0 || tokenizer_decode(t, ids, n, &text, len, &err) != GETP_OK) {
        free(text);
        return NULL;
    }
    return text;
}

/* The word after "to=" in header text (` to=functions.f`), or NULL. */
static char *recipient_of(const char *text, size_t len) {
    for (size_t i = 0; text && i + 3 <= len; i++) {
        if (memcmp(text + i, "to=", 3) != 0 || (i > 0 && !is_space(text[i - 1]))) continue;
        size_t a = i + 3, b = a;
        while (b < len && !is_space(text[b])) b++;
        if (b == a) return NULL;
        char *r = xmalloc(b - a + 1);
        memcpy(r, text + a, b - a);
        r[b - a] = '\0';
        return r;
    }
    return NULL;
}

/* The channel name in the ids between <|channel|> and <|message|>: decoded,
 * cut at the first whitespace (a ` to=recipient` after it is taken into
 * *rcpt when *rcpt is still NULL). Empty or undecodable names become "final". */
static char *channel_name(const Tokenizer *t, const int32_t *ids, int n, char **rcpt) {
    size_t len = 0;
    char *text = header_text(t, ids, n, &len);
    if (!*rcpt) *rcpt = recipient_of(text, len);
    if (text) {
        size_t a = 0;
        while (a < len && is_space(text[a])) a++;
        size_t b = a;
        while (b < len && !is_space(text[b])) b++;
        if (b > a && !(b - a > 3 && memcmp(text + a, "to=", 3) == 0)) {
            memmove(text, text + a, b - a);
            text[b - a] = '\0';
            return text;
        }
    }
    free(text);
    return xstrdup("final");
}

/* A recipient in role header text (`assistant to=functions.f`), unless one is known. */
static void header_recipient(const Tokenizer *t, const int32_t *ids, int n, char **rcpt) {
    if (*rcpt) return;
    size_t len = 0;
    char *text = header_text(t, ids, n, &len);
    *rcpt = recipient_of(text, len);
    free(text);
}

enum { P_OUTSIDE, P_HEADER, P_CHANNEL, P_CONSTRAIN, P_BODY };

void harmony_parse(const Tokenizer *t, const int32_t *ids, int n, HarmonyParsed *out) {
    Specials s = {
        tokenizer_special_id(t, "<|start|>"),     tokenizer_special_id(t, "<|channel|>"),
        tokenizer_special_id(t, "<|message|>"),   tokenizer_special_id(t, "<|end|>"),
        tokenizer_special_id(t, "<|constrain|>"), tokenizer_special_id(t, "<|return|>"),
        tokenizer_special_id(t, "<|call|>"),      tokenizer_special_id(t, "<|endoftext|>"),
    };
    memset(out, 0, sizeof *out);
    int state = P_OUTSIDE;
    int span = 0;      // first id of the current run of ordinary ids
    char *cur = NULL;  // channel of the current header/body (NULL = final)
    char *rcpt = NULL; // recipient of the current message (NULL = none)
    for (int i = 0; i <= n; i++) {
        int32_t id = i < n ? ids[i] : -1;
        int is_stop = id == s.end || id == s.ret || id == s.call || id == s.eot || i == n;
        int structural = is_stop || id == s.start || id == s.channel || id == s.message ||
                         id == s.constrain;
        if (!structural) continue; // ordinary id (or a reserved special): part of the run
        const int32_t *run = ids + span;
        int n_run = i - span;
        const char *name = cur ? cur : "final";
        int opens = id == s.channel || id == s.message || id == s.constrain;
        switch (state) {
        case P_OUTSIDE:
            /* a run followed by a header token was header text, else it is loose text */
            if (opens) header_recipient(t, run, n_run, &rcpt);
            else channel_append(out, "final", 5, run, n_run);
            break;
        case P_HEADER:
            if (opens) header_recipient(t, run, n_run, &rcpt);
            break;
        case P_CHANNEL:
            if (id == s.message || id == s.constrain) {
                free(cur);
                cur = channel_name(t, run, n_run, &rcpt);
            }
            break;
        case P_BODY:
            if (id == s.message) continue; // a stray <|message|> inside a body: keep as content
            if (rcpt) call_append(out, rcpt, run, n_run, id == s.call);
            else channel_append(out, name, strlen(name), run, n_run);
            break;
        default: // P_CONSTRAIN: dropped
            break;
        }
        if (id == s.message) {
            state = P_BODY;
        } else if (id == s.channel) {
            state = P_CHANNEL;
        } else if (id == s.constrain) {
            state = P_CONSTRAIN;
        } else { // <|start|>, a stop, or the end of the ids: the message is over
            state = id == s.start ? P_HEADER : P_OUTSIDE;
            free(cur);
            free(rcpt);
            cur = rcpt = NULL;
        }
        span = i + 1;
    }
    free(cur);
    free(rcpt);
}

const HarmonyChannel *harmony_channel(const HarmonyParsed *p, const char *name) {
    for (int i = 0; i < p->n_channels; i++)
        if (strcmp(p->channels[i].name, name) == 0) return &p->channels[i];
    return NULL;
}

void harmony_parsed_free(HarmonyParsed *p) {
    for (int i = 0; i < p->n_channels; i++) {
        free(p->channels[i].name);
        free(p->channels[i].ids);
    }
    for (int i = 0; i < p->n_calls; i++) {
        free(p->calls[i].recipient);
        free(p->calls[i].ids);
    }
    free(p->channels);
    free(p->calls);
    memset(p, 0, sizeof *p);
}
