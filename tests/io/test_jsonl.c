/* test_jsonl.c: the JSONL and OpenAI Batch reader and writer (io_jsonl.c).
 *
 *   test_jsonl RANKS SCRATCH_DIR
 *
 * Each input format is parsed into requests (ids checked against our tokenizer
 * and harmony renderer, params against the line), outputs are written and read
 * back with jansson, malformed lines (bad JSON, missing fields, wrong types,
 * invalid UTF-8, a 10 MB line, ids out of the vocabulary...) become per-line
 * errors while the other requests survive, and resume keeps complete records.
 */
#include "harmony.h"
#include "io_test.h"
#include "requests.h"

#include <jansson.h>
#include <unistd.h>

static const Tokenizer *g_tok;

/* The chat template's ids of a request's JSON (harmony_render_chat). */
static int32_t *render_chat(const char *json, int *n) {
    json_t *req = json_loads(json, 0, NULL);
    CHECK(req != NULL);
    HarmonyChatDefaults hd = {"medium", "2024-02-29", 0};
    int32_t *ids = NULL;
    Err err;
    CHECK(harmony_render_chat(g_tok, req, &hd, &ids, n, &err) == GETP_OK);
    json_decref(req);
    return ids;
}

/* Read every request of a file with the JSONL reader itself (in rounds of 3,
 * like the MPI flow would). */
static InputRequest *read_all(const char *path, InputFormat fmt, const RequestDefaults *d, int *n) {
    RequestReader *r = NULL;
    Err err = {{0}};
    if (jsonl_reader_open(path, fmt, g_tok, d, &r, &err) != GETP_OK) fatal("%s", err.msg);
    EXPECT(r->total(r) == -1, "total is not streaming");
    return io_read_all(r, 3, n);
}

static int same_ids(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

static int32_t *encode(const char *s, int *n) {
    int32_t *ids = NULL;
    Err err;
    CHECK(tokenizer_encode(g_tok, s, strlen(s), &ids, n, &err) == GETP_OK);
    return ids;
}

static int has_stop(const RequestParams *p, int32_t id) {
    for (int i = 0; i < p->n_stop; i++)
        if (p->stop[i] == id) return 1;
    return 0;
}

static int32_t one_id(const char *s) {
    int n;
    int32_t *ids = encode(s, &n);
    CHECK(n == 1);
    int32_t id = ids[0];
    free(ids);
    return id;
}

/* The id of the single-byte token b. */
static int32_t byte_id(unsigned char b) {
    for (int32_t id = 0; id < 199998; id++) {
        size_t len = 0;
        const char *p = tokenizer_token_bytes(g_tok, id, &len);
        if (p && len == 1 && (unsigned char)p[0] == b) return id;
    }
    fatal("no token for byte %02x", b);
}

static void expect_error(const InputRequest *q, int64_t line, const char *needle) {
    char want[32];
    snprintf(want, sizeof want, "line %lld: ", (long long)line);
    EXPECT(q->error && strncmp(q->error, want, strlen(want)) == 0 && strstr(q->error, needle),
           "line %lld: error \"%s\", expected \"%s\"", (long long)line, q->error ? q->error : "(none)", needle);
    EXPECT(q->p.n_prompt == 0 && q->prompt == NULL, "errored line %lld keeps a prompt", (long long)line);
}

/* ---------------------------------------------------------------- JSONL in */

static InputRequest *g_jreq; // kept for the writer tests
static int g_njreq;

static void test_jsonl_reader(void) {
    size_t big = (size_t)10 << 20;
    char *huge = xmalloc(big + 64);
    strcpy(huge, "{\"id\":\"h\",\"prompt\":\"");
    size_t o = strlen(huge);
    while (o < big) { memcpy(huge + o, "word ", 5); o += 5; }
    strcpy(huge + o, "\"}\n");

    const char *head =
        "{\"id\":\"a\",\"prompt\":\"Hello world\"}\n"                                    // 1
        "{\"id\":2,\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"H\"},{\"type\":\"text\",\"text\":\"i\"}]}],"
        "\"max_tokens\":10,\"temperature\":0.7,\"top_p\":0.9,\"seed\":42}\n"             // 2
        "   \r\n"                                                                         // 3 (blank)
        "{\"id\":\"c\",\"prompt_token_ids\":[1,2,3],\"stop\":\"\\n\",\"temperature\":null}\r\n" // 4
        "{\"id\":\"d\",\"prompt\":\"x\",\"stop\":[\"<|end|>\",\".\"]}\n"                 // 5
        "{\"id\":\"e\", \"prompt\": \"unterminated\n"                                    // 6 bad JSON
        "{\"id\":\"f\"}\n"                                                                // 7 missing
        "{\"id\":\"g\",\"prompt\":5}\n"                                                   // 8 wrong type
        "{\"id\":\"u\",\"prompt\":\"\xff\xfe bad utf8\"}\n";                              // 9 invalid UTF-8
    const char *tail =
        "{\"id\":\"i\",\"prompt_token_ids\":[1,201088]}\n"                               // 11 out of vocab
        "{\"id\":\"j\",\"prompt\":\"ok after errors\"}\n"                                // 12
        "{\"id\":\"k\",\"prompt\":\"a\",\"stop\":\"hello world foo\"}\n"                 // 13 multi-token stop
        "{\"id\":\"l\",\"prompt\":\"a\",\"max_tokens\":0}\n"                             // 14
        "{\"id\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}\n"        // 15
        "[1,2]\n"                                                                         // 16
        "{\"id\":\"n\",\"prompt\":\"a\",\"temperature\":\"hot\"}\n"                      // 17
        "{\"id\":\"o\",\"prompt\":\"a\",\"prompt_token_ids\":[1]}\n"                     // 18 both
        "{\"id\":\"p\",\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]}\n" // 19 too many
        "{\"id\":\"q\",\"prompt\":\"\"}\n"                                                // 20 empty
        "{\"id\":\"r\",\"prompt\":\"a\",\"top_p\":0}\n"                                   // 21
        "{\"id\":\"s\",\"prompt\":\"a\",\"id\":\"dup\"}\n"                                // 22 duplicate key
        "{\"id\":\"t\",\"prompt_token_ids\":[5,6],\"max_tokens\":1000}\n";               // 23 (last, no error)
    size_t n_text = strlen(head) + strlen(huge) + strlen(tail);
    char *text = xmalloc(n_text + 1);
    snprintf(text, n_text + 1, "%s%s%s", head, huge, tail);
    io_write_file(io_path_in("in.jsonl"), text);
    free(text);
    free(huge);

    RequestDefaults d = io_defaults();
    double t0 = now_seconds();
    int n = 0;
    InputRequest *q = read_all(io_path_in("in.jsonl"), INPUT_JSONL, &d, &n);
    double dt = now_seconds() - t0;
    EXPECT(dt < 20.0, "reading took %.1f s", dt);
    EXPECT(n == 22, "%d requests (22 non-blank lines)", n);
    if (n != 22) fatal("cannot go on");
    for (int i = 0; i < n; i++) EXPECT(q[i].index == i && q[i].p.index == i, "index %d", i);
    int64_t lines[22] = {1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    for (int i = 0; i < n; i++) EXPECT(q[i].line == lines[i], "request %d line %lld", i, (long long)q[i].line);

    /* 1: raw completion, defaults */
    int ne;
    int32_t *e = encode("Hello world", &ne);
    EXPECT(!q[0].error && q[0].kind == REQ_COMPLETION && same_ids(q[0].prompt, q[0].p.n_prompt, e, ne),
           "line 1 prompt (%s)", q[0].error ? q[0].error : "");
    free(e);
    EXPECT(q[0].id && strcmp(q[0].id, "\"a\"") == 0, "line 1 id %s", q[0].id);
    EXPECT(q[0].p.steps == 256 && q[0].p.temperature == 0.0f && q[0].p.top_p == 1.0f && q[0].p.seed == 0,
           "line 1 params");
    EXPECT(q[0].p.n_stop == 2 && has_stop(&q[0].p, 199999) && has_stop(&q[0].p, 200002), "line 1 stops");

    /* 2: chat with options; content given as text parts */
    int nr = 0;
    int32_t *r = render_chat("{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                             "{\"role\": \"user\", \"content\": \"Hi\"}]}", &nr);
    EXPECT(!q[1].error && q[1].kind == REQ_CHAT && same_ids(q[1].prompt, q[1].p.n_prompt, r, nr),
           "line 2 chat prompt (%s)", q[1].error ? q[1].error : "");
    EXPECT(q[1].id && strcmp(q[1].id, "2") == 0, "line 2 id %s", q[1].id);
    EXPECT(q[1].p.steps == nr + 10 - 1, "line 2 steps %d (n_prompt %d, max_tokens 10)", q[1].p.steps, nr);
    EXPECT(q[1].p.temperature == 0.7f && q[1].p.top_p == 0.9f && q[1].p.seed == 42, "line 2 params");
    EXPECT(q[1].p.n_stop == 3 && has_stop(&q[1].p, 200002) && has_stop(&q[1].p, 200012) &&
               has_stop(&q[1].p, 199999), "line 2 chat stops");
    free(r);

    /* 4: pre-tokenized, CRLF, stop "\n", null temperature = default */
    int32_t want4[3] = {1, 2, 3};
    EXPECT(!q[2].error && same_ids(q[2].prompt, q[2].p.n_prompt, want4, 3) && q[2].line == 4, "line 4 ids");
    EXPECT(q[2].p.n_stop == 3 && has_stop(&q[2].p, one_id("\n")), "line 4 stop \\n");
    /* 5: special-token stop and an ordinary one */
    EXPECT(!q[3].error && q[3].p.n_stop == 4 && has_stop(&q[3].p, 200007) && has_stop(&q[3].p, one_id(".")),
           "line 5 stops (%s)", q[3].error ? q[3].error : "");

    expect_error(&q[4], 6, "invalid JSON");
    expect_error(&q[5], 7, "missing \"prompt\"");
    expect_error(&q[6], 8, "\"prompt\" must be a string");
    expect_error(&q[7], 9, "invalid JSON");
    expect_error(&q[8], 10, "step limit");
    EXPECT(q[8].id && strcmp(q[8].id, "\"h\"") == 0, "10 MB line keeps its id");
    expect_error(&q[9], 11, "201088 is outside the vocabulary");
    EXPECT(!q[10].error && q[10].p.n_prompt > 0 && q[10].line == 12, "line 12 after errors");
    expect_error(&q[11], 13, "exactly one");
    expect_error(&q[12], 14, "max_tokens");
    expect_error(&q[13], 15, "wizard");
    expect_error(&q[14], 16, "not a JSON object");
    expect_error(&q[15], 17, "temperature");
    expect_error(&q[16], 18, "only one of");
    expect_error(&q[17], 19, "stop ids");
    expect_error(&q[18], 20, "empty");
    expect_error(&q[19], 21, "top_p");
    expect_error(&q[20], 22, "invalid JSON");
    /* 23: max_tokens beyond the -n limit: steps stays 256 */
    EXPECT(!q[21].error && q[21].p.steps == 256, "line 23 steps %d", q[21].p.steps);

    /* --ignore-eos drops every stop, the request's own included */
    d.ignore_eos = 1;
    int n2 = 0;
    InputRequest *q2 = read_all(io_path_in("in.jsonl"), INPUT_JSONL, &d, &n2);
    EXPECT(n2 == 22 && q2[0].p.n_stop == 0 && q2[1].p.n_stop == 0 && q2[3].p.n_stop == 0, "ignore_eos stops");
    for (int i = 0; i < n2; i++) input_request_free(&q2[i]);
    free(q2);

    /* a prompt longer than the step limit (without the byte pre-check) */
    io_write_file(io_path_in("long.jsonl"), "{\"prompt\":\"one two three four five six seven eight\"}\n");
    RequestDefaults small = io_defaults();
    small.steps = 4;
    int n3 = 0;
    InputRequest *q3 = read_all(io_path_in("long.jsonl"), INPUT_AUTO, &small, &n3);
    EXPECT(n3 == 1 && q3[0].error && strstr(q3[0].error, "more than the step limit 4"), "long prompt: %s",
           n3 ? q3[0].error : "none");
    EXPECT(n3 == 1 && q3[0].id == NULL, "absent id stays NULL");
    input_request_free(&q3[0]);
    free(q3);

    g_jreq = q;
    g_njreq = n;
}

/* ---------------------------------------------------------------- Batch in */

static InputRequest *g_breq;
static int g_nbreq;

static void test_batch_reader(void) {
    io_write_file(io_path_in("batch.jsonl"),
        "{\"custom_id\":\"r1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-oss-20b\","
        "\"messages\":[{\"role\":\"developer\",\"content\":\"Be kind.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
        "\"max_completion_tokens\":5,\"temperature\":1,\"seed\":7}}\n"
        "{\"custom_id\":\"r2\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"model\":\"x\",\"prompt\":\"Once upon\","
        "\"max_tokens\":3,\"stop\":[\"\\n\"],\"top_p\":0.5}}\n"
        "{\"custom_id\":\"r3\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{\"input\":\"x\"}}\n"
        "{\"custom_id\":\"r4\",\"method\":\"GET\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"x\"}}\n"
        "{\"custom_id\":5,\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"x\"}}\n"
        "{\"custom_id\":\"r6\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"prompt\":\"x\"}}\n"
        "{\"custom_id\":\"r7\",\"method\":\"POST\",\"url\":\"/v1/completions\"}\n"
        "{\"custom_id\":\"r8\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"x\",\"n\":2}}\n"
        "{\"custom_id\":\"r9\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":[9,8,7]}}\n");
    RequestDefaults d = io_defaults();
    int n = 0;
    InputRequest *q = read_all(io_path_in("batch.jsonl"), INPUT_BATCH, &d, &n);
    EXPECT(n == 9, "%d batch requests", n);
    if (n != 9) fatal("cannot go on");
    int nr = 0;
    int32_t *r = render_chat("{\"messages\": [{\"role\": \"developer\", \"content\": \"Be kind.\"},"
                             "{\"role\": \"user\", \"content\": \"Hi\"}]}", &nr);
    EXPECT(!q[0].error && q[0].kind == REQ_CHAT && same_ids(q[0].prompt, q[0].p.n_prompt, r, nr), "r1 prompt");
    EXPECT(q[0].id && strcmp(q[0].id, "\"r1\"") == 0 && q[0].p.steps == nr + 4 && q[0].p.temperature == 1.0f &&
               q[0].p.seed == 7, "r1 params");
    free(r);
    int ne;
    int32_t *e = encode("Once upon", &ne);
    EXPECT(!q[1].error && q[1].kind == REQ_COMPLETION && same_ids(q[1].prompt, q[1].p.n_prompt, e, ne), "r2");
    EXPECT(q[1].p.steps == ne + 2 && q[1].p.top_p == 0.5f && has_stop(&q[1].p, one_id("\n")), "r2 params");
    free(e);
    expect_error(&q[2], 3, "unsupported url");
    expect_error(&q[3], 4, "POST");
    expect_error(&q[4], 5, "custom_id");
    expect_error(&q[5], 6, "needs \"messages\"");
    expect_error(&q[6], 7, "\"body\"");
    expect_error(&q[7], 8, "n = 1");
    int32_t want9[3] = {9, 8, 7};
    EXPECT(!q[8].error && same_ids(q[8].prompt, q[8].p.n_prompt, want9, 3), "r9 prompt as ids");
    /* auto-detection per line gives the same requests */
    int n2 = 0;
    InputRequest *q2 = read_all(io_path_in("batch.jsonl"), INPUT_AUTO, &d, &n2);
    EXPECT(n2 == 9 && !q2[0].error && q2[0].kind == REQ_CHAT && q2[2].error, "auto batch");
    for (int i = 0; i < n2; i++) input_request_free(&q2[i]);
    free(q2);
    g_breq = q;
    g_nbreq = n;
}

/* ---------------------------------------------------------------- writers */

static const char *jstr(json_t *o, const char *path) {
    json_t *v = io_jget(o, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t jint(json_t *o, const char *path) {
    json_t *v = io_jget(o, path);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static void test_jsonl_writer(void) {
    OutputWriter *w = NULL;
    int64_t done = -1;
    Err err = {{0}};
    CHECK(jsonl_writer_open(io_path_in("out.jsonl"), INPUT_JSONL, g_tok, 0, &w, &done, &err) == GETP_OK);
    EXPECT(done == 0, "fresh writer done %lld", (long long)done);
    Output outs[22];
    for (int i = 0; i < g_njreq; i++) outs[i] = io_make_output(g_tok, NULL, FINISH_ERROR, g_jreq[i].index);
    outs[0] = io_make_output(g_tok, " Foo bar<|endoftext|>", FINISH_STOP, g_jreq[0].index);
    outs[1] = io_make_output(g_tok,
                             "<|channel|>analysis<|message|>Thinking.<|end|><|start|>assistant<|channel|>final"
                             "<|message|>Hello!<|return|>",
                             FINISH_STOP, g_jreq[1].index);
    outs[2] = io_make_output(g_tok, " no stop", FINISH_LENGTH, g_jreq[2].index);
    /* request 3 (line 5): invalid UTF-8 from the model: F0 9F (cut emoji) A, FF, C3 A9 */
    int32_t bad[6] = {byte_id(0xF0), byte_id(0x9F), one_id("A"), byte_id(0xFF), byte_id(0xC3), byte_id(0xA9)};
    outs[3].tokens = xmalloc(sizeof bad);
    memcpy(outs[3].tokens, bad, sizeof bad);
    outs[3].n_tokens = 6;
    outs[3].finish = FINISH_LENGTH;
    outs[10] = io_make_output(g_tok, " fine", FINISH_LENGTH, g_jreq[10].index);
    outs[21] = io_make_output(g_tok, "<|channel|>commentary<|message|>c<|end|>loose", FINISH_LENGTH, g_jreq[21].index);
    g_jreq[21].kind = REQ_CHAT; // exercise other channels and loose text on a chat
    for (int i = 0; i < g_njreq; i++) {
        EXPECT(w->write(w, &g_jreq[i], &outs[i], &err) == GETP_OK, "write %d: %s", i, err.msg);
        if (i == 10) EXPECT(w->flush(w, &err) == GETP_OK, "flush: %s", err.msg);
    }
    EXPECT(w->close(w, &err) == GETP_OK, "close: %s", err.msg);

    int n = 0;
    json_t **rows = io_read_lines(io_path_in("out.jsonl"), 0, &n);
    EXPECT(n == g_njreq, "%d output lines for %d requests", n, g_njreq);
    if (n == g_njreq) {
        json_t *r0 = rows[0];
        EXPECT(streq(jstr(r0, "id"), "a") && jint(r0, "index") == 0, "row 0 id");
        EXPECT(streq(jstr(r0, "text"), " Foo bar"), "row 0 text \"%s\"", jstr(r0, "text"));
        EXPECT(streq(jstr(r0, "finish_reason"), "stop") && !json_object_get(r0, "error"), "row 0 finish");
        json_t *ids = json_object_get(r0, "token_ids");
        EXPECT(json_array_size(ids) == (size_t)outs[0].n_tokens &&
                   json_integer_value(json_array_get(ids, json_array_size(ids) - 1)) == 199999,
               "row 0 token_ids keep the stop id");
        EXPECT(jint(r0, "usage.prompt_tokens") == g_jreq[0].p.n_prompt &&
                   jint(r0, "usage.completion_tokens") == outs[0].n_tokens &&
                   jint(r0, "usage.total_tokens") == g_jreq[0].p.n_prompt + outs[0].n_tokens, "row 0 usage");
        json_t *r1 = rows[1];
        EXPECT(jint(r1, "id") == 2, "row 1 numeric id");
        EXPECT(streq(jstr(r1, "text"), "Hello!") && streq(jstr(r1, "reasoning"), "Thinking."),
               "row 1 channels text=\"%s\" reasoning=\"%s\"", jstr(r1, "text"), jstr(r1, "reasoning"));
        EXPECT(streq(jstr(rows[2], "text"), " no stop") && streq(jstr(rows[2], "finish_reason"), "length"),
               "row 2 length");
        EXPECT(streq(jstr(rows[3], "text"), "\xEF\xBF\xBD" "A" "\xEF\xBF\xBD" "\xC3\xA9"),
               "row 3 invalid UTF-8 -> U+FFFD: \"%s\"", jstr(rows[3], "text"));
        json_t *r4 = rows[4];
        EXPECT(streq(jstr(r4, "finish_reason"), "error") && jstr(r4, "error") &&
                   strstr(jstr(r4, "error"), "line 6:") && !json_object_get(r4, "text") &&
                   json_array_size(json_object_get(r4, "token_ids")) == 0 && jint(r4, "usage.total_tokens") == 0,
               "row 4 error record");
        EXPECT(json_is_null(json_object_get(rows[8], "id")) == 0 && streq(jstr(rows[8], "id"), "h") &&
                   strstr(jstr(rows[8], "error"), "line 10:"), "row 8 (10 MB line) error");
        EXPECT(streq(jstr(rows[10], "text"), " fine"), "row 10 after errors");
        json_t *r21 = rows[21];
        EXPECT(streq(jstr(r21, "channels.commentary"), "c") && streq(jstr(r21, "text"), "loose") &&
                   !json_object_get(r21, "reasoning"), "row 21 other channels");
        for (int i = 0; i < n; i++) EXPECT(jint(rows[i], "index") == i, "row %d index", i);
    }
    for (int i = 0; i < n; i++) json_decref(rows[i]);
    free(rows);
    for (int i = 0; i < g_njreq; i++) output_free(&outs[i]);
}

static void test_batch_writer(void) {
    OutputWriter *w = NULL;
    int64_t done = -1;
    Err err = {{0}};
    CHECK(jsonl_writer_open(io_path_in("batch_out.jsonl"), INPUT_BATCH, g_tok, 0, &w, &done, &err) == GETP_OK);
    Output outs[9];
    for (int i = 0; i < g_nbreq; i++) outs[i] = io_make_output(g_tok, NULL, FINISH_ERROR, g_breq[i].index);
    outs[0] = io_make_output(g_tok,
                             "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final"
                             "<|message|>Hello, friend.<|return|>",
                             FINISH_STOP, g_breq[0].index);
    outs[1] = io_make_output(g_tok, " a time\n", FINISH_STOP, g_breq[1].index);
    outs[8] = io_make_output(g_tok, " six", FINISH_LENGTH, g_breq[8].index);
    outs[8].finish = FINISH_ERROR; // an engine failure without a line error
    for (int i = 0; i < g_nbreq; i++)
        EXPECT(w->write(w, &g_breq[i], i == 7 ? NULL : &outs[i], &err) == GETP_OK, "write %d: %s", i, err.msg);
    EXPECT(w->flush(w, &err) == GETP_OK && w->close(w, &err) == GETP_OK, "close: %s", err.msg);
    int n = 0;
    json_t **rows = io_read_lines(io_path_in("batch_out.jsonl"), 0, &n);
    EXPECT(n == g_nbreq, "%d batch output lines", n);
    if (n == g_nbreq) {
        json_t *r0 = rows[0];
        EXPECT(streq(jstr(r0, "id"), "batch_req_0") && streq(jstr(r0, "custom_id"), "r1"), "b0 ids");
        EXPECT(jint(r0, "response.status_code") == 200 && jstr(r0, "response.request_id") &&
                   json_is_null(json_object_get(r0, "error")), "b0 envelope");
        EXPECT(streq(jstr(r0, "response.body.object"), "chat.completion") &&
                   streq(jstr(r0, "response.body.choices.0.message.role"), "assistant") &&
                   streq(jstr(r0, "response.body.choices.0.message.content"), "Hello, friend.") &&
                   streq(jstr(r0, "response.body.choices.0.message.reasoning"), "Greet back.") &&
                   streq(jstr(r0, "response.body.choices.0.finish_reason"), "stop"), "b0 chat body");
        EXPECT(jint(r0, "response.body.usage.prompt_tokens") == g_breq[0].p.n_prompt &&
                   jint(r0, "response.body.usage.completion_tokens") == outs[0].n_tokens, "b0 usage");
        json_t *r1 = rows[1];
        EXPECT(streq(jstr(r1, "response.body.object"), "text_completion") &&
                   streq(jstr(r1, "response.body.choices.0.text"), " a time") &&
                   streq(jstr(r1, "response.body.choices.0.finish_reason"), "stop"),
               "b1 completion body text \"%s\"", jstr(r1, "response.body.choices.0.text"));
        json_t *r2 = rows[2];
        EXPECT(json_is_null(json_object_get(r2, "response")) && streq(jstr(r2, "custom_id"), "r3") &&
                   streq(jstr(r2, "error.code"), "invalid_request") && strstr(jstr(r2, "error.message"), "line 3:"),
               "b2 error record");
        EXPECT(json_is_null(json_object_get(rows[4], "custom_id")), "b4 custom_id null when invalid");
        EXPECT(streq(jstr(rows[8], "error.code"), "engine_error"), "b8 engine error");
        EXPECT(streq(jstr(rows[7], "id"), "batch_req_7") && json_is_null(json_object_get(rows[7], "response")),
               "b7 NULL output");
    }
    for (int i = 0; i < n; i++) json_decref(rows[i]);
    free(rows);
    for (int i = 0; i < g_nbreq; i++) output_free(&outs[i]);
}

/* ---------------------------------------------------------------- resume */

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_resume(void) {
    const char *path = io_path_in("resume.jsonl");
    Err err = {{0}};
    OutputWriter *w = NULL;
    int64_t done = -1;
    unlink(path);
    CHECK(jsonl_writer_open(path, INPUT_JSONL, g_tok, 1, &w, &done, &err) == GETP_OK);
    EXPECT(done == 0, "resume of a missing file: done %lld", (long long)done);
    for (int i = 0; i < 5; i++) {
        Output o = io_make_output(g_tok, " x", FINISH_LENGTH, g_jreq[i].index);
        EXPECT(w->write(w, &g_jreq[i], &o, &err) == GETP_OK, "write %d", i);
        output_free(&o);
    }
    CHECK(w->close(w, &err) == GETP_OK);
    long five = file_size(path);
    FILE *f = fopen(path, "ab");
    fputs("{\"id\":\"partial\",\"text\":\"cut in the mid", f);
    fclose(f);

    CHECK(jsonl_writer_open(path, INPUT_JSONL, g_tok, 1, &w, &done, &err) == GETP_OK);
    EXPECT(done == 5, "resume done %lld, expected 5", (long long)done);
    EXPECT(file_size(path) == five, "partial line cut: %ld bytes, expected %ld", file_size(path), five);
    Output o = io_make_output(g_tok, " y", FINISH_LENGTH, g_jreq[5].index);
    EXPECT(w->write(w, &g_jreq[5], &o, &err) == GETP_OK, "write after resume");
    output_free(&o);
    CHECK(w->close(w, &err) == GETP_OK);
    int n = 0;
    json_t **rows = io_read_lines(path, 0, &n);
    EXPECT(n == 6 && jint(rows[5], "index") == 5 && streq(jstr(rows[3], "id"), "d"), "6 records after resume");
    for (int i = 0; i < n; i++) json_decref(rows[i]);
    free(rows);

    /* resume of complete lines only: nothing cut */
    CHECK(jsonl_writer_open(path, INPUT_JSONL, g_tok, 1, &w, &done, &err) == GETP_OK);
    EXPECT(done == 6, "second resume done %lld", (long long)done);
    CHECK(w->close(w, &err) == GETP_OK);
    /* without resume the file starts over */
    CHECK(jsonl_writer_open(path, INPUT_JSONL, g_tok, 0, &w, &done, &err) == GETP_OK);
    EXPECT(done == 0, "no resume: done %lld", (long long)done);
    CHECK(w->close(w, &err) == GETP_OK);
    EXPECT(file_size(path) == 0, "no resume truncates");
    /* an unwritable path is an error, not a crash */
    EXPECT(jsonl_writer_open("/nonexistent-dir/x.jsonl", INPUT_JSONL, g_tok, 0, &w, &done, &err) == GETP_ERR &&
               strstr(err.msg, "/nonexistent-dir/x.jsonl"), "bad output path: %s", err.msg);
    RequestReader *r = NULL;
    RequestDefaults d = io_defaults();
    EXPECT(jsonl_reader_open("/nonexistent-dir/in.jsonl", INPUT_JSONL, g_tok, &d, &r, &err) == GETP_ERR,
           "missing input is an error");
}

int main(int argc, char **argv) {
    Tokenizer *t = NULL;
    int rc = io_test_begin(argc, argv, "test_jsonl", &t);
    if (rc) return rc;
    g_tok = t;
    test_jsonl_reader();
    test_batch_reader();
    test_jsonl_writer();
    test_batch_writer();
    test_resume();
    for (int i = 0; i < g_njreq; i++) input_request_free(&g_jreq[i]);
    for (int i = 0; i < g_nbreq; i++) input_request_free(&g_breq[i]);
    free(g_jreq);
    free(g_breq);
    tokenizer_free(t);
    return io_test_finish();
}
