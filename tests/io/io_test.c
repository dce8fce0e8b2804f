/* io_test.c: the helpers of io_test.h, one copy linked into each io test
 * that uses them (cmake/io.cmake) rather than a copy per test file. */
#include "io_test.h"

#include <unistd.h>

static char g_dir[900];

int io_test_begin(int argc, char **argv, const char *name, Tokenizer **tok) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RANKS SCRATCH_DIR\n", name);
        return 2;
    }
    if (access(argv[1], R_OK) != 0) return test_skip("tokenizer file missing (needs node: tools/make_tokenizer.mjs)");
    snprintf(g_dir, sizeof g_dir, "%s", argv[2]);
    Err err;
    if (tokenizer_load(argv[1], tok, &err) != GETP_OK) fatal("%s", err.msg);
    return 0;
}

const char *io_path_in(const char *name) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

void io_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(text, 1, strlen(text), f) == strlen(text));
    fclose(f);
}

RequestDefaults io_defaults(void) {
    RequestDefaults d = {.steps = 256, .max_seq_len = 4096, .vocab_size = 201088, .temperature = 0.0f,
                         .top_p = 1.0f, .date = "2024-02-29"};
    return d;
}

InputRequest *io_read_all(RequestReader *r, int round, int *n) {
    InputRequest *buf = xmalloc((size_t)round * sizeof *buf);
    Err err = {{0}};
    InputRequest *all = NULL;
    *n = 0;
    for (;;) {
        int got = 0;
        EXPECT(r->next(r, round, buf, &got, &err) == GETP_OK, "%s", err.msg);
        if (got == 0) break;
        all = xrealloc(all, (size_t)(*n + got) * sizeof *all);
        memcpy(all + *n, buf, (size_t)got * sizeof *buf);
        *n += got;
    }
    free(buf);
    r->close(r);
    return all;
}

Output io_make_output(const Tokenizer *tok, const char *harmony_text, int finish, int64_t index) {
    Output o = {.index = index, .finish = finish};
    if (!harmony_text) return o;
    /* markers of specials are resolved the way test_harmony does it */
    const char *p = harmony_text;
    while (*p) {
        const char *s = strstr(p, "<|");
        const char *e = s ? strstr(s, "|>") : NULL;
        size_t tl = s ? (size_t)(s - p) : strlen(p);
        if (tl) {
            int32_t *ids = NULL;
            int n = 0;
            Err err;
            CHECK(tokenizer_encode(tok, p, tl, &ids, &n, &err) == GETP_OK);
            o.tokens = xrealloc(o.tokens, (size_t)(o.n_tokens + n + 1) * sizeof *o.tokens);
            memcpy(o.tokens + o.n_tokens, ids, (size_t)n * sizeof *ids);
            o.n_tokens += n;
            free(ids);
        }
        if (!s) break;
        char name[64];
        size_t nl = (size_t)(e + 2 - s);
        CHECK(e && nl < sizeof name);
        memcpy(name, s, nl);
        name[nl] = '\0';
        o.tokens = xrealloc(o.tokens, (size_t)(o.n_tokens + 1) * sizeof *o.tokens);
        o.tokens[o.n_tokens++] = tokenizer_special_id(tok, name);
        CHECK(o.tokens[o.n_tokens - 1] >= 0);
        p = e + 2;
    }
    return o;
}

json_t **io_read_lines(const char *path, size_t flags, int *n) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    json_t **rows = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    *n = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)got, flags, &je);
        EXPECT(j != NULL, "%s line %d is not JSON: %s", path, *n + 1, je.text);
        rows = xrealloc(rows, (size_t)(*n + 1) * sizeof *rows);
        rows[(*n)++] = j;
    }
    free(line);
    fclose(f);
    return rows;
}

json_t *io_jget(json_t *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *t = strtok(buf, "."); t && cur; t = strtok(NULL, "."))
        cur = (t[0] >= '0' && t[0] <= '9') ? json_array_get(cur, (size_t)atoi(t)) : json_object_get(cur, t);
    return cur;
}

void io_test_counts(int *pass, int *fail) {
    *pass = g_pass;
    *fail = g_fail;
}
