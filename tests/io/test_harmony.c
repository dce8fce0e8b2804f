/* test_harmony.c: harmony rendering against gpt-tokenizer, and channel splitting.
 *
 *   test_harmony RANKS conversations.json expected.json
 *
 * RANKS is the tiktoken rank file of tools/make_tokenizer.mjs; expected.json is
 * gpt-tokenizer's rendering of conversations.json (tests/io/harmony_oracle.mjs).
 * Every conversation must match token for token. The channel tests build model
 * outputs from text with special-token markers and check what lands where.
 */
#include "harmony.h"
#include "io_test.h"

#include <jansson.h>
#include <unistd.h>

/* Ids of a string where "<|name|>" of a known special is that special's id and
 * everything else is ordinary text. Test-side only. */
static int32_t *ids_from(const Tokenizer *t, const char *s, int *n) {
    int32_t *ids = NULL;
    *n = 0;
    const char *p = s;
    while (*p) {
        const char *q = p;
        int32_t sid = -1;
        size_t slen = 0;
        for (; *q; q++) {
            if (q[0] != '<' || q[1] != '|') continue;
            const char *e = strstr(q + 2, "|>");
            if (!e) break;
            char name[64];
            slen = (size_t)(e + 2 - q);
            if (slen >= sizeof name) continue;
            memcpy(name, q, slen);
            name[slen] = '\0';
            if ((sid = tokenizer_special_id(t, name)) >= 0) break;
        }
        if (q > p) {
            int32_t *part = NULL;
            int np = 0;
            Err err;
            CHECK(tokenizer_encode(t, p, (size_t)(q - p), &part, &np, &err) == GETP_OK);
            ids = xrealloc(ids, (size_t)(*n + np + 1) * sizeof *ids);
            memcpy(ids + *n, part, (size_t)np * sizeof *ids);
            *n += np;
            free(part);
        }
        if (!*q) break;
        ids = xrealloc(ids, (size_t)(*n + 1) * sizeof *ids);
        ids[(*n)++] = sid;
        p = q + slen;
    }
    return ids;
}

static char *channel_text(const Tokenizer *t, const HarmonyParsed *hp, const char *name) {
    const HarmonyChannel *c = harmony_channel(hp, name);
    if (!c) return NULL;
    char *text = NULL;
    size_t len = 0;
    Err err;
    CHECK(tokenizer_decode(t, c->ids, c->n_ids, &text, &len, &err) == GETP_OK);
    return text;
}

/* expect: "name=text|name=text" in order of first appearance ("" = no channels). */
static void check_split(const Tokenizer *t, const char *output, const char *expect) {
    int n = 0;
    int32_t *ids = ids_from(t, output, &n);
    HarmonyParsed hp;
    harmony_parse(t, ids, n, &hp);
    char got[1024] = "";
    for (int i = 0; i < hp.n_channels; i++) {
        char *text = channel_text(t, &hp, hp.channels[i].name);
        size_t o = strlen(got);
        snprintf(got + o, sizeof got - o, "%s%s=%s", i ? "|" : "", hp.channels[i].name, text);
        free(text);
    }
    EXPECT(strcmp(got, expect) == 0, "output %s\n  expected %s\n  got      %s", output, expect, got);
    harmony_parsed_free(&hp);
    free(ids);
}

static void test_conversations(const Tokenizer *t, const char *conv_path, const char *exp_path) {
    json_error_t je;
    json_t *convs = json_load_file(conv_path, 0, &je), *exp = json_load_file(exp_path, 0, &je);
    if (!convs || !exp) fatal("cannot read %s / %s: %s", conv_path, exp_path, je.text);
    EXPECT(json_array_size(convs) == json_array_size(exp) && json_array_size(convs) >= 12,
           "%zu conversations, %zu expected", json_array_size(convs), json_array_size(exp));
    for (size_t c = 0; c < json_array_size(convs) && c < json_array_size(exp); c++) {
        json_t *conv = json_array_get(convs, c), *msgs = json_object_get(conv, "messages");
        const char *name = json_string_value(json_object_get(conv, "name"));
        json_t *want = json_object_get(json_array_get(exp, c), "ids");
        int n = (int)json_array_size(msgs);
        HarmonyMessage *hm = xcalloc((size_t)(n ? n : 1), sizeof *hm);
        for (int i = 0; i < n; i++) {
            json_t *m = json_array_get(msgs, (size_t)i), *ch = json_object_get(m, "channel");
            hm[i].role = json_string_value(json_object_get(m, "role"));
            hm[i].channel = ch ? json_string_value(ch) : NULL;
            hm[i].content = json_string_value(json_object_get(m, "content"));
            hm[i].content_len = json_string_length(json_object_get(m, "content"));
        }
        int32_t *ids = NULL;
        int n_ids = 0;
        Err err = {{0}};
        int rc = harmony_render(t, hm, n, &ids, &n_ids, &err);
        EXPECT(rc == GETP_OK, "%s: %s", name, err.msg);
        int first_diff = -1;
        int n_want = (int)json_array_size(want);
        for (int i = 0; i < n_ids || i < n_want; i++) {
            int32_t w = i < n_want ? (int32_t)json_integer_value(json_array_get(want, (size_t)i)) : -1;
            int32_t g = i < n_ids ? ids[i] : -1;
            if (w != g) { first_diff = i; break; }
        }
        EXPECT(first_diff < 0, "conversation \"%s\": %d ids vs gpt-tokenizer's %d, first difference at %d",
               name, n_ids, n_want, first_diff);
        free(ids);
        free(hm);
    }
    json_decref(convs);
    json_decref(exp);
}

static void test_render_misc(const Tokenizer *t) {
    int32_t stop[HARMONY_N_STOP];
    Err err = {{0}};
    EXPECT(harmony_stop_ids(t, stop, &err) == GETP_OK, "%s", err.msg);
    EXPECT(stop[0] == 200002 && stop[1] == 200012 && stop[2] == 199999, "stop ids %d %d %d",
           stop[0], stop[1], stop[2]);
    HarmonyMessage bad = {"tool", NULL, "x", 1};
    int32_t *ids = NULL;
    int n = 0;
    EXPECT(harmony_render(t, &bad, 1, &ids, &n, &err) == GETP_ERR && strstr(err.msg, "tool"),
           "unknown role accepted: %s", err.msg);
    EXPECT(harmony_role_valid("developer") && !harmony_role_valid("Developer") && !harmony_role_valid(NULL),
           "role check");
    /* content with an embedded NUL byte is rendered by length */
    HarmonyMessage nul = {"user", NULL, "a\0b", 3};
    EXPECT(harmony_render(t, &nul, 1, &ids, &n, &err) == GETP_OK && n >= 7, "NUL content: %s", err.msg);
    free(ids);
}

static void test_split(const Tokenizer *t) {
    check_split(t, "<|channel|>analysis<|message|>User asks. Simple.<|end|><|start|>assistant<|channel|>final<|message|>Hello there!<|return|>",
                "analysis=User asks. Simple.|final=Hello there!");
    check_split(t, "Just plain text, no harmony.", "final=Just plain text, no harmony.");
    check_split(t, "<|channel|>final<|message|>Cut at the step lim", "final=Cut at the step lim");
    check_split(t, "<|channel|>analysis<|message|>Still thinking", "analysis=Still thinking");
    check_split(t, "<|channel|>commentary to=functions.get_weather<|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>",
                "commentary={\"city\":\"Paris\"}");
    check_split(t, "<|message|>no channel given<|end|>", "final=no channel given");
    check_split(t, "<|channel|>analysis<|message|>a1 <|end|><|start|>assistant<|channel|>analysis<|message|>a2<|end|><|start|>assistant<|channel|>final<|message|>F<|return|>",
                "analysis=a1 a2|final=F");
    check_split(t, "loose text<|end|>", "final=loose text");
    check_split(t, " to=functions.x<|channel|>final<|message|>X<|return|>", "final=X");
    check_split(t, "", "");
    check_split(t, "<|endoftext|>", "");
    check_split(t, "<|channel|>final<|message|>A<|end|>trailing", "final=Atrailing");
    check_split(t, "<|channel|>analysis<|message|>x<|end|><|start|>assistant<|message|>y<|return|>",
                "analysis=x|final=y");
    check_split(t, "<|channel|>final<|message|>a<|message|>b<|return|>", "final=a<|message|>b");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test_harmony RANKS conversations.json expected.json\n");
        return 2;
    }
    if (access(argv[1], R_OK) != 0 || access(argv[3], R_OK) != 0)
        return test_skip("tokenizer file or gpt-tokenizer expectations missing (needs node)");
    Tokenizer *t = NULL;
    Err err;
    if (tokenizer_load(argv[1], &t, &err) != GETP_OK) fatal("%s", err.msg);
    test_conversations(t, argv[2], argv[3]);
    test_render_misc(t);
    test_split(t);
    tokenizer_free(t);
    return test_finish();
}
