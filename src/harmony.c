/* harmony.c: render a chat into harmony ids and split generated ids into
 * channels. The format and the choices made are described in harmony.h. */
#include "harmony.h"

/* Growable id buffer. */
typedef struct {
    int32_t *v;
    int n, cap;
} IdBuf;

static void idbuf_push(IdBuf *b, const int32_t *ids, int n) {
    if (n <= 0) return;
    if (b->n + n > b->cap) {
        int cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        b->v = xrealloc(b->v, (size_t)cap * sizeof *b->v);
        b->cap = cap;
    }
    memcpy(b->v + b->n, ids, (size_t)n * sizeof *ids);
    b->n += n;
}

static void idbuf_push1(IdBuf *b, int32_t id) { idbuf_push(b, &id, 1); }

static int special(const Tokenizer *t, const char *name, int32_t *id, Err *err) {
    *id = tokenizer_special_id(t, name);
    if (*id < 0) return err_set(err, "tokenizer has no special token %s (not o200k_harmony?)", name);
    return GETP_OK;
}

/* Append the ordinary-text ids of len bytes of text. */
static int push_text(const Tokenizer *t, IdBuf *b, const char *text, size_t len, Err *err) {
    if (len == 0) return GETP_OK;
    int32_t *ids = NULL;
    int n = 0;
    if (tokenizer_encode(t, text, len, &ids, &n, err) != GETP_OK) return GETP_ERR;
    idbuf_push(b, ids, n);
    free(ids);
    return GETP_OK;
}

int harmony_role_valid(const char *role) {
    static const char *const roles[] = {"system", "developer", "user", "assistant"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (role && strcmp(role, roles[i]) == 0) return 1;
    return 0;
}

int harmony_render(const Tokenizer *t, const HarmonyMessage *msgs, int n, int32_t **ids,
                   int *n_ids, Err *err) {
    IdBuf b = {0};
    int32_t start, channel, message, end;
    *ids = NULL;
    *n_ids = 0;
    if (special(t, "<|start|>", &start, err) || special(t, "<|channel|>", &channel, err) ||
        special(t, "<|message|>", &message, err) || special(t, "<|end|>", &end, err))
        return GETP_ERR;
    for (int i = 0; i < n; i++) {
        const HarmonyMessage *m = &msgs[i];
        if (!harmony_role_valid(m->role)) {
            free(b.v);
            return err_set(err, "message %d: role \"%s\" is not system, developer, user or assistant",
                           i, m->role ? m->role : "(null)");
        }
        const char *ch = m->channel;
        if (!ch && strcmp(m->role, "assistant") == 0) ch = "final";
        idbuf_push1(&b, start);
        if (push_text(t, &b, m->role, strlen(m->role), err)) goto fail;
        if (ch) {
            idbuf_push1(&b, channel);
            if (push_text(t, &b, ch, strlen(ch), err)) goto fail;
        }
        idbuf_push1(&b, message);
        if (push_text(t, &b, m->content, m->content_len, err)) goto fail;
        idbuf_push1(&b, end);
    }
    idbuf_push1(&b, start);
    if (push_text(t, &b, "assistant", 9, err)) goto fail;
    *ids = b.v;
    *n_ids = b.n;
    return GETP_OK;
fail:
    free(b.v);
    return GETP_ERR;
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

/* The channel name in the ids between <|channel|> and <|message|>: decoded,
 * cut at the first whitespace (drops a trailing ` to=recipient`). Empty or
 * undecodable names become "final". */
static char *channel_name(const Tokenizer *t, const int32_t *ids, int n) {
    char *text = NULL;
    size_t len = 0;
    Err err;
    if (n > 0 && tokenizer_decode(t, ids, n, &text, &len, &err) == GETP_OK) {
        size_t a = 0;
        while (a < len && (text[a] == ' ' || text[a] == '\t' || text[a] == '\n')) a++;
        size_t b = a;
        while (b < len && text[b] != ' ' && text[b] != '\t' && text[b] != '\n') b++;
        if (b > a) {
            memmove(text, text + a, b - a);
            text[b - a] = '\0';
            return text;
        }
    }
    free(text);
    return xstrdup("final");
}

enum { P_OUTSIDE, P_HEADER, P_CHANNEL, P_CONSTRAIN, P_BODY };

void harmony_parse(const Tokenizer *t, const int32_t *ids, int n, HarmonyParsed *out) {
    Specials s = {
        tokenizer_special_id(t, "<|start|>"),     tokenizer_special_id(t, "<|channel|>"),
        tokenizer_special_id(t, "<|message|>"),   tokenizer_special_id(t, "<|end|>"),
        tokenizer_special_id(t, "<|constrain|>"), tokenizer_special_id(t, "<|return|>"),
        tokenizer_special_id(t, "<|call|>"),      tokenizer_special_id(t, "<|endoftext|>"),
    };
    out->channels = NULL;
    out->n_channels = 0;
    int state = P_OUTSIDE;
    int span = 0;      // first id of the current run of ordinary ids
    char *cur = NULL;  // channel of the current header/body (NULL = final)
    for (int i = 0; i <= n; i++) {
        int32_t id = i < n ? ids[i] : -1;
        int is_stop = id == s.end || id == s.ret || id == s.call || id == s.eot || i == n;
        int structural = is_stop || id == s.start || id == s.channel || id == s.message ||
                         id == s.constrain;
        if (!structural) continue; // ordinary id (or a reserved special): part of the run
        const int32_t *run = ids + span;
        int n_run = i - span;
        const char *name = cur ? cur : "final";
        switch (state) {
        case P_OUTSIDE:
            /* a run followed by a header token was header text, else it is loose text */
            if (id != s.channel && id != s.message && id != s.constrain)
                channel_append(out, "final", 5, run, n_run);
            break;
        case P_CHANNEL:
            if (id == s.message || id == s.constrain) {
                free(cur);
                cur = channel_name(t, run, n_run);
            }
            break;
        case P_BODY:
            if (id == s.message) continue; // a stray <|message|> inside a body: keep as content
            channel_append(out, name, strlen(name), run, n_run);
            break;
        default: // P_HEADER, P_CONSTRAIN: dropped
            break;
        }
        if (id == s.message) {
            state = P_BODY;
        } else if (id == s.channel) {
            state = P_CHANNEL;
        } else if (id == s.constrain) {
            state = P_CONSTRAIN;
        } else if (id == s.start) {
            state = P_HEADER;
            free(cur);
            cur = NULL;
        } else { // a stop or the end of the ids
            state = P_OUTSIDE;
            free(cur);
            cur = NULL;
        }
        span = i + 1;
    }
    free(cur);
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
    free(p->channels);
    p->channels = NULL;
    p->n_channels = 0;
}
