/* test_input.c: the input stream and format detection of io.c (issue 17,
 * F2, F4, F6): every detection path, from a regular file and again through a
 * pipe (which cannot be reopened or rewound), must pick the same format and
 * hand the reader every request with its right line number.
 *
 *   test_input RANKS SCRATCH_DIR
 *
 * The expectation of each case is written by hand from the rules at the top
 * of src/io.c; a pipe run must equal the file run request for request.
 */
#include "io_test.h"
#include "requests.h"

#include <sys/wait.h>
#include <unistd.h>

static const Tokenizer *g_tok;
static char g_dir[900];

static RequestDefaults defaults(void) {
    RequestDefaults d = {.steps = 64, .max_seq_len = 4096, .vocab_size = 201088, .top_p = 1.0f};
    return d;
}

/* What a run of the reader gave: the format and, per request, its line, its
 * id (as JSON text), its prompt length and whether it is an error. */
typedef struct {
    int rc;
    InputFormat fmt;
    int n;
    int64_t line[64];
    char id[64][32];
    int32_t n_prompt[64];
    int error[64];
    char msg[512];
} Run;

static void run_reader(InputStream *in, InputFormat fmt, Run *run) {
    memset(run, 0, sizeof *run);
    RequestDefaults d = defaults();
    RequestReader *r = NULL;
    Err err = {{0}};
    run->rc = reader_open_stream(in, fmt, g_tok, &d, &r, &run->fmt, &err);
    if (run->rc == GETP_OK) {
        for (;;) {
            InputRequest q[5];
            int got = 0;
            run->rc = r->next(r, 5, q, &got, &err);
            for (int i = 0; i < got; i++) {
                if (run->n < 64) {
                    run->line[run->n] = q[i].line;
                    snprintf(run->id[run->n], sizeof run->id[0], "%s", q[i].id ? q[i].id : "-");
                    run->n_prompt[run->n] = q[i].p.n_prompt;
                    run->error[run->n] = q[i].error != NULL;
                }
                run->n++;
                input_request_free(&q[i]);
            }
            if (got == 0 || run->rc != GETP_OK) break;
        }
        r->close(r);
    }
    snprintf(run->msg, sizeof run->msg, "%s", run->rc == GETP_OK ? "" : err.msg);
}

static void write_file(const char *path, const char *text, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(text, 1, len, f) == len);
    fclose(f);
}

/* The same bytes through a pipe, read as /dev/fd/N: a child writes them (a
 * pipe holds 64 KB, so a larger text blocks the writer until the reader
 * reads, as with a real producer). */
static void run_pipe(const char *text, size_t len, InputFormat fmt, Run *run) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        size_t off = 0;
        while (off < len) {
            ssize_t k = write(fds[1], text + off, len - off);
            if (k <= 0) _exit(1);
            off += (size_t)k;
        }
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    InputStream *in = NULL;
    Err err;
    EXPECT(input_stream_open(path, &in, &err) == GETP_OK, "open %s: %s", path, err.msg);
    EXPECT(!input_stream_regular(in), "a pipe is not a regular file");
    run_reader(in, fmt, run);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
}

static const char *fmt_name(InputFormat f) {
    static const char *names[] = {"auto", "text", "ids", "jsonl", "batch"};
    return (unsigned)f < 5 ? names[f] : "?";
}

/* One detection case: text must read as format want with n_want requests
 * (file and pipe alike, same lines, ids and lengths); first_line is the line
 * number of the first request (0: not checked). */
static void detect_case(const char *name, const char *text, size_t len, InputFormat given, InputFormat want,
                        int n_want, int64_t first_line) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    write_file(path, text, len);
    InputStream *in = NULL;
    Err err;
    CHECK(input_stream_open(path, &in, &err) == GETP_OK);
    Run f, p;
    run_reader(in, given, &f);
    run_pipe(text, len, given, &p);
    EXPECT(f.rc == GETP_OK && f.fmt == want && f.n == n_want, "%s: file: rc %d (%s), format %s (want %s), %d requests (want %d)",
           name, f.rc, f.msg, fmt_name(f.fmt), fmt_name(want), f.n, n_want);
    EXPECT(first_line == 0 || (f.n > 0 && f.line[0] == first_line), "%s: first request on line %lld, want %lld", name,
           (long long)(f.n ? f.line[0] : -1), (long long)first_line);
    int same = p.rc == f.rc && p.fmt == f.fmt && p.n == f.n;
    for (int i = 0; same && i < f.n && i < 64; i++)
        same = p.line[i] == f.line[i] && !strcmp(p.id[i], f.id[i]) && p.n_prompt[i] == f.n_prompt[i] &&
               p.error[i] == f.error[i];
    EXPECT(same, "%s: through a pipe: rc %d (%s), format %s, %d requests: differs from the file", name, p.rc, p.msg,
           fmt_name(p.fmt), p.n);
}
#define DETECT(name, text, given, want, n, line) detect_case(name, text, sizeof text - 1, given, want, n, line)

/* A course file that must be refused, with `needle` in the message. */
static void refused_case(const char *name, const char *text, size_t len, const char *needle) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    write_file(path, text, len);
    InputStream *in = NULL;
    Err err;
    CHECK(input_stream_open(path, &in, &err) == GETP_OK);
    Run f;
    run_reader(in, INPUT_AUTO, &f);
    EXPECT(f.rc == GETP_ERR && strstr(f.msg, needle), "%s: rc %d, message \"%s\" lacks \"%s\"", name, f.rc, f.msg,
           needle);
}
#define REFUSED(name, text, needle) refused_case(name, text, sizeof text - 1, needle)

static char *repeat_line(const char *line, int n, const char *head) {
    size_t a = strlen(head), b = strlen(line);
    char *s = xmalloc(a + b * (size_t)n + 1);
    memcpy(s, head, a);
    for (int i = 0; i < n; i++) memcpy(s + a + b * (size_t)i, line, b);
    s[a + b * (size_t)n] = '\0';
    return s;
}

static void test_detection(void) {
    DETECT("text.txt", "2\nHello\nWorld\n", INPUT_AUTO, INPUT_TEXT, 2, 2);
    DETECT("text_nonl.txt", "2\nHello\nWorld", INPUT_AUTO, INPUT_TEXT, 2, 2);
    DETECT("ids.txt", "2\n1 2 3\n4\n", INPUT_IDS, INPUT_IDS, 2, 2);
    DETECT("jsonl.jsonl", "{\"id\": 1, \"prompt\": \"Hi\"}\n{\"id\": 2, \"prompt\": \"Yo\"}\n", INPUT_AUTO, INPUT_JSONL, 2, 1);
    DETECT("batch.jsonl",
           "{\"custom_id\": \"a\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": \"Hi\"}}\n",
           INPUT_AUTO, INPUT_BATCH, 1, 1);
    DETECT("bom.jsonl", "\xEF\xBB\xBF{\"id\": 1, \"prompt\": \"Hi\"}\n", INPUT_AUTO, INPUT_JSONL, 1, 1);
    DETECT("bom.txt", "\xEF\xBB\xBF" "1\nHello\n", INPUT_AUTO, INPUT_TEXT, 1, 2);
    DETECT("blank_first.jsonl", "\n \t\r\n\n{\"id\": 1, \"prompt\": \"Hi\"}\n\n{\"id\": 2, \"prompt\": \"Yo\"}\n", INPUT_AUTO,
           INPUT_JSONL, 2, 4);
    DETECT("bom_blank.jsonl", "\xEF\xBB\xBF\n{\"id\": 1, \"prompt\": \"Hi\"}\n", INPUT_AUTO, INPUT_JSONL, 1, 2);
    DETECT("indented.jsonl", "  \t{\"id\": 1, \"prompt\": \"Hi\"}\n", INPUT_AUTO, INPUT_JSONL, 1, 1);
    DETECT("nested.jsonl", "{\"id\": 1, \"prompt\": \"Hi\", \"metadata\": {\"custom_id\": \"x\"}}\n", INPUT_AUTO,
           INPUT_JSONL, 1, 1);
    DETECT("nested_string.jsonl", "{\"id\": 1, \"prompt\": \"say \\\"custom_id\\\"\"}\n", INPUT_AUTO, INPUT_JSONL, 1, 1);
    DETECT("custom_id_last.jsonl",
           "{\"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": \"Hi\"}, \"custom_id\": \"a\"}\n",
           INPUT_AUTO, INPUT_BATCH, 1, 1);
    /* a first line of 9 KB with custom_id at its end (the old detection read 4 KB) */
    char *pad = repeat_line("x", 9000, "");
    size_t cap = strlen(pad) + 256;
    char *far = xmalloc(cap);
    snprintf(far, cap, "{\"body\": {\"user\": \"%s\", \"prompt\": \"Hi\"}, \"method\": \"POST\", \"url\": "
             "\"/v1/completions\", \"custom_id\": \"far\"}\n", pad);
    detect_case("custom_id_far.jsonl", far, strlen(far), INPUT_AUTO, INPUT_BATCH, 1, 1);
    free(far);
    free(pad);
    /* line 1 is not JSON: the first line that parses decides (line 1 is an error record) */
    DETECT("broken_then_batch.jsonl",
           "{\"custom_id\": \"a\", \"method\"\n{\"custom_id\": \"b\", \"method\": \"POST\", \"url\": \"/v1/completions\", "
           "\"body\": {\"prompt\": \"Hi\"}}\n", INPUT_AUTO, INPUT_BATCH, 2, 1);
    DETECT("broken_only.jsonl", "{\"id\": 1,\n", INPUT_AUTO, INPUT_JSONL, 1, 1);
    /* a forced format is not second-guessed */
    DETECT("forced_jsonl.jsonl",
           "{\"custom_id\": \"a\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": \"Hi\"}}\n",
           INPUT_JSONL, INPUT_JSONL, 1, 1);
    /* many lines (past a pipe's 64 KB): all of them, in order */
    char *many = repeat_line("{\"id\": \"some-request-id\", \"prompt\": \"Hello there, how are you today?\"}\n", 1500, "");
    detect_case("many.jsonl", many, strlen(many), INPUT_AUTO, INPUT_JSONL, 1500, 1);
    free(many);
    char *course = repeat_line("The quick brown fox jumps over the lazy dog, again and again.\n", 1500, "1500\n");
    detect_case("many.txt", course, strlen(course), INPUT_AUTO, INPUT_TEXT, 1500, 2);
    free(course);
}

static void test_count_line(void) {
    REFUSED("c_blank.txt", "\n2\nA\nB\n", ":1: the first line is blank");
    REFUSED("c_spaces.txt", "   \n2\nA\nB\n", ":1: the first line is blank");
    REFUSED("c_nul.txt", "2\0garbage\nA\nB\n", "got '2\\x00garbage'");
    REFUSED("c_neg.txt", "-2\nA\nB\n", ":1: expected the number of requests");
    REFUSED("c_plus.txt", "+2\nA\nB\n", ":1: expected the number of requests");
    REFUSED("c_two.txt", "2 2\nA\nB\n", ":1: expected the number of requests");
    REFUSED("c_huge.txt", "1234567890123456789\nA\n", ":1: expected the number of requests");
    REFUSED("c_empty.txt", "", ":1: the input is empty");
    REFUSED("c_short.txt", "3\nA\nB\n", "says 3 prompts but only 2 prompt lines follow");
    DETECT("c_ok_spaces.txt", " 2 \r\nA\r\nB\r\n", INPUT_AUTO, INPUT_TEXT, 2, 2);
    DETECT("c_zero.txt", "0\n", INPUT_AUTO, INPUT_TEXT, 0, 0);
    DETECT("c_extra.txt", "1\nA\nB\nC\n", INPUT_AUTO, INPUT_TEXT, 1, 2);
}

/* A short course input through a pipe cannot be refused up front: its
 * requests come, then the error names both counts. */
static void test_short_pipe(void) {
    Run p;
    const char text[] = "5\nA\nB\n";
    run_pipe(text, sizeof text - 1, INPUT_AUTO, &p);
    EXPECT(p.rc == GETP_ERR && p.n == 2 && strstr(p.msg, "says 5 prompts but the input ended after 2"),
           "short pipe: rc %d, %d requests, \"%s\"", p.rc, p.n, p.msg);
    /* through fmemopen (input_stream_from_file, what the fuzz targets use) the same */
    char buf[] = "5\nA\nB\n";
    FILE *f = fmemopen(buf, sizeof buf - 1, "rb");
    CHECK(f != NULL);
    Run m;
    run_reader(input_stream_from_file(f, "mem"), INPUT_AUTO, &m);
    EXPECT(m.rc == GETP_ERR && m.n == 2, "short memory stream: rc %d, %d requests", m.rc, m.n);
}

static void test_directory(void) {
    InputStream *in = NULL;
    Err err = {{0}};
    EXPECT(input_stream_open(g_dir, &in, &err) == GETP_ERR && strstr(err.msg, "is a directory"),
           "a directory as input: \"%s\"", err.msg);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RANKS SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    Tokenizer *t = NULL;
    Err err = {{0}};
    if (tokenizer_load(argv[1], &t, &err) != GETP_OK) return test_skip(err.msg);
    g_tok = t;
    snprintf(g_dir, sizeof g_dir, "%s", argv[2]);
    test_detection();
    test_count_line();
    test_short_pipe();
    test_directory();
    tokenizer_free(t);
    return test_finish();
}
