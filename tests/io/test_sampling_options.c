/* test_sampling_options.c: the sampling options of JSONL lines and Batch
 * bodies (src/io_sampling.c sampling_options_parse, through io_jsonl.c).
 *
 *   test_sampling_options RANKS SCRATCH_DIR
 *
 * Every field with valid values, read back from RequestParams (the command
 * line's defaults kept where a line gives none or null), and invalid ones: an
 * error naming the line and the field, and the lines after it still run. In
 * getp's JSONL and in both Batch endpoints, whose logprobs forms differ.
 */
#include "io_test.h"
#include "requests.h"

static const Tokenizer *g_tok;

/* Every request of path in one round, over non-trivial defaults, to see them
 * kept or overridden. */
static InputRequest *read_reqs(const char *path, InputFormat fmt, int *n) {
    RequestDefaults d = io_defaults();
    d.temperature = 0.5f;
    d.top_p = 0.9f;
    d.top_k = 7;
    d.min_p = 0.05f;
    d.date = NULL; // the reader's default, today: no prompt is checked here
    RequestReader *r = NULL;
    Err err = {{0}};
    if (jsonl_reader_open(path, fmt, g_tok, &d, &r, &err) != GETP_OK) fatal("%s", err.msg);
    InputRequest *q = xcalloc(64, sizeof *q);
    EXPECT(r->next(r, 64, q, n, &err) == GETP_OK, "%s", err.msg);
    r->close(r);
    return q;
}

static void free_reqs(InputRequest *q, int n) {
    for (int i = 0; i < n; i++) input_request_free(&q[i]);
    free(q);
}

/* q is request `line` (1-based, no blank lines) and failed naming field and needle. */
static void expect_error(const InputRequest *q, int line, const char *field, const char *needle) {
    char want[32];
    snprintf(want, sizeof want, "line %d: ", line);
    int ok = q->error && strncmp(q->error, want, strlen(want)) == 0 && strstr(q->error, field) &&
             (!needle || strstr(q->error, needle));
    EXPECT(ok, "line %d: error \"%s\", expected %s and %s", line, q->error ? q->error : "(none)", field,
           needle ? needle : "");
    EXPECT(q->p.n_prompt == 0 && !q->prompt, "errored line %d keeps a prompt", line);
}

static void expect_params(const InputRequest *q, int line, float t, float top_p, int top_k, float min_p,
                          int logprobs) {
    EXPECT(!q->error, "line %d: unexpected error %s", line, q->error ? q->error : "");
    EXPECT(q->p.temperature == t && q->p.top_p == top_p && q->p.top_k == top_k && q->p.min_p == min_p &&
               q->p.logprobs == logprobs,
           "line %d: t %g top_p %g top_k %d min_p %g logprobs %d; expected %g %g %d %g %d", line,
           q->p.temperature, q->p.top_p, q->p.top_k, q->p.min_p, q->p.logprobs, t, top_p, top_k, min_p,
           logprobs);
}

/* ------------------------------------------------------------ JSONL options */

static void test_jsonl_options(void) {
    static const char *lines[] = {
        "{\"prompt\":\"a\"}",                                                                      // 1
        "{\"prompt\":\"a\",\"temperature\":1,\"top_p\":0.95,\"top_k\":50,\"min_p\":0.1}",          // 2
        "{\"prompt\":\"a\",\"temperature\":0,\"top_p\":1,\"top_k\":0,\"min_p\":0}",                // 3
        "{\"prompt\":\"a\",\"top_k\":3000000000,\"min_p\":1,\"top_p\":1e-9}",                      // 4
        "{\"prompt\":\"a\",\"logprobs\":true}",                                                    // 5
        "{\"prompt\":\"a\",\"logprobs\":true,\"top_logprobs\":20}",                                // 6
        "{\"prompt\":\"a\",\"logprobs\":5}",                                                       // 7
        "{\"prompt\":\"a\",\"logprobs\":0}",                                                       // 8
        "{\"prompt\":\"a\",\"logprobs\":false}",                                                   // 9
        "{\"prompt\":\"a\",\"logprobs\":null,\"top_logprobs\":null,\"top_k\":null,\"min_p\":null,"
        "\"temperature\":null,\"top_p\":null}",                                                    // 10
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"logprobs\":true,\"top_logprobs\":3}", // 11
        "{\"prompt\":\"a\",\"temperature\":-0.5}",                                                 // 12
        "{\"prompt\":\"a\",\"temperature\":\"hot\"}",                                              // 13
        "{\"prompt\":\"a\",\"temperature\":\"NaN\"}",                                              // 14
        "{\"prompt\":\"a\",\"temperature\":NaN}",                                                  // 15
        "{\"prompt\":\"a\",\"temperature\":true}",                                                 // 16
        "{\"prompt\":\"a\",\"top_p\":0}",                                                          // 17
        "{\"prompt\":\"a\",\"top_p\":1.5}",                                                        // 18
        "{\"prompt\":\"a\",\"top_p\":\"0.9\"}",                                                    // 19
        "{\"prompt\":\"a\",\"top_k\":-1}",                                                         // 20
        "{\"prompt\":\"a\",\"top_k\":2.5}",                                                        // 21
        "{\"prompt\":\"a\",\"top_k\":\"50\"}",                                                     // 22
        "{\"prompt\":\"a\",\"top_k\":50.0}",                                                       // 23
        "{\"prompt\":\"a\",\"min_p\":-0.1}",                                                       // 24
        "{\"prompt\":\"a\",\"min_p\":1.01}",                                                       // 25
        "{\"prompt\":\"a\",\"min_p\":\"0.1\"}",                                                    // 26
        "{\"prompt\":\"a\",\"logprobs\":true,\"top_logprobs\":21}",                                // 27
        "{\"prompt\":\"a\",\"logprobs\":true,\"top_logprobs\":-1}",                                // 28
        "{\"prompt\":\"a\",\"top_logprobs\":2}",                                                   // 29
        "{\"prompt\":\"a\",\"logprobs\":false,\"top_logprobs\":2}",                                // 30
        "{\"prompt\":\"a\",\"logprobs\":21}",                                                      // 31
        "{\"prompt\":\"a\",\"logprobs\":-1}",                                                      // 32
        "{\"prompt\":\"a\",\"logprobs\":\"yes\"}",                                                 // 33
        "{\"prompt\":\"a\",\"logprobs\":1.5}",                                                     // 34
        "{\"prompt\":\"a\",\"logprobs\":3,\"top_logprobs\":2}",                                    // 35
        "{\"prompt\":\"a\",\"logprobs\":true,\"top_logprobs\":2.5}",                               // 36
        "{\"prompt\":\"a\",\"temperature\":1e400}",                                                // 37
        "{\"prompt\":\"a\",\"min_p\":[0.1]}",                                                      // 38
        "{\"prompt\":\"still runs\",\"top_k\":1,\"min_p\":0.5,\"temperature\":2}",                 // 39
        "{\"prompt\":\"a\",\"top_p\":1e-50}",                                                      // 40
    };
    enum { N = (int)(sizeof lines / sizeof lines[0]) };
    char *text = NULL;
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        size_t l = strlen(lines[i]);
        text = xrealloc(text, len + l + 2);
        memcpy(text + len, lines[i], l);
        len += l;
        text[len++] = '\n';
        text[len] = '\0';
    }
    io_write_file(io_path_in("options.jsonl"), text);
    free(text);
    int n = 0;
    InputRequest *q = read_reqs(io_path_in("options.jsonl"), INPUT_JSONL, &n);
    EXPECT(n == N, "%d requests for %d lines", n, N);
    if (n != N) fatal("cannot go on");
    expect_params(&q[0], 1, 0.5f, 0.9f, 7, 0.05f, -1); // the command line's defaults
    expect_params(&q[1], 2, 1.0f, 0.95f, 50, 0.1f, -1);
    expect_params(&q[2], 3, 0.0f, 1.0f, 0, 0.0f, -1);
    expect_params(&q[3], 4, 0.5f, 1e-9f, INT32_MAX, 1.0f, -1);
    expect_params(&q[4], 5, 0.5f, 0.9f, 7, 0.05f, 0);
    expect_params(&q[5], 6, 0.5f, 0.9f, 7, 0.05f, 20);
    expect_params(&q[6], 7, 0.5f, 0.9f, 7, 0.05f, 5);
    expect_params(&q[7], 8, 0.5f, 0.9f, 7, 0.05f, 0);
    expect_params(&q[8], 9, 0.5f, 0.9f, 7, 0.05f, -1);
    expect_params(&q[9], 10, 0.5f, 0.9f, 7, 0.05f, -1);
    expect_params(&q[10], 11, 0.5f, 0.9f, 7, 0.05f, 3);
    EXPECT(q[10].kind == REQ_CHAT && q[10].p.n_prompt > 0, "line 11 is a chat");
    expect_error(&q[11], 12, "\"temperature\"", "-0.5");
    expect_error(&q[12], 13, "\"temperature\"", "string");
    expect_error(&q[13], 14, "\"temperature\"", "NaN");
    expect_error(&q[14], 15, "invalid JSON", "NaN"); // JSON has no NaN: jansson names the token
    expect_error(&q[15], 16, "\"temperature\"", "true");
    expect_error(&q[16], 17, "\"top_p\"", "(0, 1]");
    expect_error(&q[17], 18, "\"top_p\"", "1.5");
    expect_error(&q[18], 19, "\"top_p\"", "string");
    expect_error(&q[19], 20, "\"top_k\"", "-1");
    expect_error(&q[20], 21, "\"top_k\"", "2.5");
    expect_error(&q[21], 22, "\"top_k\"", "string");
    expect_error(&q[22], 23, "\"top_k\"", "integer");
    expect_error(&q[23], 24, "\"min_p\"", "[0, 1]");
    expect_error(&q[24], 25, "\"min_p\"", "1.01");
    expect_error(&q[25], 26, "\"min_p\"", "string");
    expect_error(&q[26], 27, "\"top_logprobs\"", "21");
    expect_error(&q[27], 28, "\"top_logprobs\"", "-1");
    expect_error(&q[28], 29, "\"top_logprobs\"", "needs \"logprobs\": true");
    expect_error(&q[29], 30, "\"top_logprobs\"", "needs \"logprobs\": true");
    expect_error(&q[30], 31, "\"logprobs\"", "21");
    expect_error(&q[31], 32, "\"logprobs\"", "-1");
    expect_error(&q[32], 33, "\"logprobs\"", "string");
    expect_error(&q[33], 34, "\"logprobs\"", "1.5");
    expect_error(&q[34], 35, "\"top_logprobs\"", "not both");
    expect_error(&q[35], 36, "\"top_logprobs\"", "2.5");
    expect_error(&q[36], 37, "invalid JSON", NULL);
    expect_error(&q[37], 38, "\"min_p\"", "array");
    expect_params(&q[38], 39, 2.0f, 0.9f, 1, 0.5f, -1); // the rest of the file runs
    EXPECT(q[38].p.n_prompt > 0, "line 39 has its prompt");
    EXPECT(!q[39].error && q[39].p.top_p > 0.0f, "line 40: top_p 1e-50 stays above 0 as a float");
    free_reqs(q, n);
}

/* ------------------------------------------------------------ Batch options */

static void test_batch_options(void) {
#define CHAT "{\"custom_id\":\"c\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":" \
             "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define CMPL "{\"custom_id\":\"p\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"Hi\""
    io_write_file(io_path_in("options_batch.jsonl"),
                  CHAT ",\"logprobs\":true,\"top_logprobs\":4,\"top_k\":40,\"min_p\":0.02}}\n" // 1
                  CHAT ",\"logprobs\":true}}\n"                                               // 2
                  CHAT ",\"logprobs\":5}}\n"                                                  // 3
                  CHAT ",\"top_logprobs\":2}}\n"                                              // 4
                  CHAT ",\"logprobs\":true,\"top_logprobs\":21}}\n"                           // 5
                  CMPL ",\"logprobs\":5,\"temperature\":1,\"top_p\":0.5}}\n"                  // 6
                  CMPL ",\"logprobs\":0}}\n"                                                  // 7
                  CMPL ",\"logprobs\":true}}\n"                                               // 8
                  CMPL ",\"logprobs\":1,\"top_logprobs\":2}}\n"                               // 9
                  CMPL ",\"logprobs\":21}}\n"                                                 // 10
                  CMPL ",\"temperature\":-1}}\n"                                              // 11
                  CMPL ",\"top_k\":-5}}\n"                                                    // 12
                  CMPL ",\"logprobs\":false}}\n"                                              // 13
                  CMPL ",\"min_p\":0.3}}\n");                                                 // 14
#undef CHAT
#undef CMPL
    int n = 0;
    InputRequest *q = read_reqs(io_path_in("options_batch.jsonl"), INPUT_BATCH, &n);
    EXPECT(n == 14, "%d batch requests", n);
    if (n != 14) fatal("cannot go on");
    expect_params(&q[0], 1, 0.5f, 0.9f, 40, 0.02f, 4);
    expect_params(&q[1], 2, 0.5f, 0.9f, 7, 0.05f, 0);
    expect_error(&q[2], 3, "\"logprobs\"", "/v1/chat/completions");
    expect_error(&q[3], 4, "\"top_logprobs\"", "needs \"logprobs\": true");
    expect_error(&q[4], 5, "\"top_logprobs\"", "21");
    expect_params(&q[5], 6, 1.0f, 0.5f, 7, 0.05f, 5);
    expect_params(&q[6], 7, 0.5f, 0.9f, 7, 0.05f, 0);
    expect_error(&q[7], 8, "\"logprobs\"", "/v1/completions");
    expect_error(&q[8], 9, "\"top_logprobs\"", "/v1/completions");
    expect_error(&q[9], 10, "\"logprobs\"", "21");
    expect_error(&q[10], 11, "\"temperature\"", "-1");
    expect_error(&q[11], 12, "\"top_k\"", "-5");
    expect_error(&q[12], 13, "\"logprobs\"", "/v1/completions");
    expect_params(&q[13], 14, 0.5f, 0.9f, 7, 0.3f, -1);
    free_reqs(q, n);
}

int main(int argc, char **argv) {
    Tokenizer *t = NULL;
    int rc = io_test_begin(argc, argv, "test_sampling_options", &t);
    if (rc) return rc;
    g_tok = t;
    test_jsonl_options();
    test_batch_options();
    tokenizer_free(t);
    return io_test_finish();
}
