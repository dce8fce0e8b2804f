/* requests.h: reading requests from an input file and writing results, on rank 0.
 *
 * getp works through the input in rounds (issue: nothing lost at scale):
 * reader_next hands out up to `max` tokenized requests, the MPI layer scatters
 * them, gathers their outputs, and writer_write appends them in input order.
 * Formats plug in behind two small vtables:
 *   course text / ids (io_course.c)      JSONL, OpenAI Batch (io_jsonl.c)
 */
#ifndef GETP_REQUESTS_H
#define GETP_REQUESTS_H

#include "common.h"
#include "engine.h"
#include "getp.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the command line fixes for every request; a format may override per
 * request (JSONL max_tokens, temperature, top_p, top_k, min_p, seed, stop). */
typedef struct {
    int steps;         // -n resolved: 1..max_seq_len
    int max_seq_len;   // the model's context cap
    int vocab_size;    // ids must be < vocab_size
    float temperature;
    float top_p;
    uint64_t seed;
    int ignore_eos;    // no stop ids at all
    int top_k;         // -k: 0 = off
    float min_p;       // --min-p: 0 = off
    const char *reasoning_effort; // chats: default "low" | "medium" | "high" (NULL: medium)
    const char *date;  // chats: the prompt's "Current date" YYYY-MM-DD (NULL: today, UTC)
} RequestDefaults;

/* One request as rank 0 holds it. */
typedef struct {
    int64_t index;     // 0-based position among the requests of the input
    int64_t line;      // 1-based line number in the input file
    char *id;          // the request's own id as JSON text ("custom_id"/"id"), or NULL
    int kind;          // REQ_COMPLETION, REQ_CHAT (output split into harmony channels)
    RequestParams p;   // p.index == index; p.n_prompt == n_prompt
    int32_t *prompt;   // (n_prompt) ids, malloc'ed
    char *error;       // non-NULL: this request cannot run (malformed line...); reported in the output
} InputRequest;

enum { REQ_COMPLETION = 0, REQ_CHAT = 1 };

void input_request_free(InputRequest *r);

typedef struct RequestReader RequestReader;
struct RequestReader {
    /* Fill out[0..*n) with the next requests (at most max). *n == 0 at the end.
     * Per-line problems become InputRequest.error, not a GETP_ERR; GETP_ERR is
     * for a file that cannot be read at all or a broken header. */
    int (*next)(RequestReader *r, int max, InputRequest *out, int *n, Err *err);
    /* Total number of requests if known up front (course header), else -1. */
    int64_t (*total)(RequestReader *r);
    void (*close)(RequestReader *r);
    void *impl;
};

typedef struct OutputWriter OutputWriter;
struct OutputWriter {
    /* Append the result of one request; called in increasing index order. */
    int (*write)(OutputWriter *w, const InputRequest *req, const Output *out, Err *err);
    /* Flush to the file (end of a round). */
    int (*flush)(OutputWriter *w, Err *err);
    int (*close)(OutputWriter *w, Err *err);
    void *impl;
};

/* The format of a file by its first bytes: a first non-blank byte '{' means
 * JSONL (OpenAI Batch if the first object has "custom_id"), else course text. */
InputFormat input_detect_format(const char *path);

/* Detects the format when fmt == INPUT_AUTO (input_detect_format). */
int reader_open(const char *path, InputFormat fmt, const Tokenizer *tok, const RequestDefaults *d,
                RequestReader **out, InputFormat *detected, Err *err);

/* `resume`: keep the complete records already in the file; *done is how many
 * leading requests (by index) they cover, which the caller then skips. Without
 * resume the file is created/truncated and *done = 0. */
int writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                OutputWriter **out, int64_t *done, Err *err);

/* --resume for any line-per-request output: count the complete lines of path
 * (*done) and cut a trailing partial line; a missing file is an empty one. */
int output_resume_scan(const char *path, int64_t *done, Err *err);

/* Course formats (io_course.c). */
int course_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                       const RequestDefaults *d, RequestReader **out, Err *err);
int course_writer_open(const char *path, int resume, OutputWriter **out, int64_t *done, Err *err);

/* JSONL and OpenAI Batch (io_jsonl.c). */
int jsonl_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                      const RequestDefaults *d, RequestReader **out, Err *err);
int jsonl_writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                      OutputWriter **out, int64_t *done, Err *err);

/* Resolve the position bound of a request per SPEC 5: with max_new >= 0 the
 * request may generate at most max_new ids; the result never exceeds
 * d->steps nor max_seq_len. */
int32_t resolve_steps(const RequestDefaults *d, int32_t n_prompt, int32_t max_new);

#ifdef __cplusplus
}
#endif
#endif
