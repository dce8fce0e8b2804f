/* fuzz_requests.c: one input file of arbitrary bytes through what rank 0
 * does with it (src/io.c, io_course.c, io_jsonl.c): the stream, format
 * detection (--input-format auto), the reader of the detected format (course
 * text, JSONL, OpenAI Batch; course bytes are read once more as token ids),
 * and each request's result through the writer of that format.
 * Checked: the reader never fails on a line (only on the whole input), every
 * request is an error or a prompt of ids inside the vocabulary that fits its
 * step bound, with RequestParams the engines accept (request_problem). */
#include "engine.h"   // request_problem
#include "requests.h" // reader_open_stream, writer_open
#include "fuzz_common.h"

#include <unistd.h>

static char out_path[64]; // the writer's file, one per process

static void remove_out(void) { unlink(out_path); }

static void read_and_write(const uint8_t *data, size_t size, InputFormat given, const Tokenizer *tok) {
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return;
    const int vocab = tokenizer_vocab_size(tok);
    RequestDefaults d = {64, 4096, vocab, 0.0f, 1.0f, 7, 0};
    Config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab_size = vocab;
    cfg.max_seq_len = d.max_seq_len;
    RequestReader *r = NULL;
    InputFormat fmt;
    Err err = {{0}};
    if (reader_open_stream(input_stream_from_file(f, "fuzz-input"), given, tok, &d, &r, &fmt, &err) != GETP_OK) {
        CHECK(err.msg[0] != '\0');
        return;
    }
    if (!out_path[0]) {
        snprintf(out_path, sizeof out_path, "/tmp/getp-fuzz-%d.out", (int)getpid());
        atexit(remove_out);
    }
    OutputWriter *w = NULL;
    int64_t done = 0;
    CHECK(writer_open(out_path, fmt, tok, 0, &w, &done, &err) == GETP_OK);
    for (int rounds = 0; rounds < 1000; rounds++) {
        InputRequest q[7];
        int n = 0;
        int rc = r->next(r, 7, q, &n, &err);
        for (int i = 0; i < n; i++) {
            Output o;
            memset(&o, 0, sizeof o);
            o.index = q[i].index;
            o.finish = FINISH_LENGTH;
            if (!q[i].error) {
                Request req = {q[i].p, q[i].prompt};
                const char *problem = request_problem(&cfg, &req);
                if (problem) fatal("request %lld: %s", (long long)q[i].index, problem);
                /* a result: the prompt's ids again, the last one taken as a stop */
                o.tokens = q[i].prompt;
                o.n_tokens = q[i].p.n_prompt;
                if (o.n_tokens > 0 && (rounds + i) % 2) o.finish = FINISH_STOP;
            }
            CHECK(w->write(w, &q[i], &o, &err) == GETP_OK);
            input_request_free(&q[i]);
        }
        if (rc != GETP_OK) CHECK(err.msg[0] != '\0');
        if (rc != GETP_OK || n == 0) break;
    }
    CHECK(w->close(w, &err) == GETP_OK);
    r->close(r);
    if (given == INPUT_AUTO && fmt == INPUT_TEXT) read_and_write(data, size, INPUT_IDS, tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    read_and_write(data, size, INPUT_AUTO, fuzz_tokenizer());
    return 0;
}
