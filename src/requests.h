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

#include <sys/types.h> // ssize_t

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

/* The input, opened once and read in order (a pipe, a FIFO, /dev/stdin or
 * <(...) work like a file): format detection reads ahead and the reader gets
 * those lines again from input_stream_getline. */
typedef struct InputStream InputStream;
/* Refuses a directory; a FIFO waits for its writer. */
int input_stream_open(const char *path, InputStream **out, Err *err);
/* A stream over an open FILE (tests, fuzzing: fmemopen); takes f. */
InputStream *input_stream_from_file(FILE *f, const char *name);
/* getline(3) over the stream: the lines read ahead first, then the file. */
ssize_t input_stream_getline(InputStream *in, char **line, size_t *cap);
int input_stream_failed(const InputStream *in); // a read error (not the end)
int input_stream_regular(const InputStream *in); // a regular file (seekable)
const char *input_stream_name(const InputStream *in);
/* Regular files: the number of lines not yet handed out (a last line without
 * "\n" counts), leaving the position as it was. */
int input_stream_count_rest(InputStream *in, int64_t *lines, Err *err);
void input_stream_close(InputStream *in);
/* --input-format auto (rules at the top of io.c): INPUT_TEXT, INPUT_JSONL or
 * INPUT_BATCH from the first lines, which stay in the stream. */
int input_detect(InputStream *in, InputFormat *fmt, Err *err);

/* Open the reader of path; fmt == INPUT_AUTO detects (input_detect) and
 * *detected gets the format used. A Batch file without a tokenizer is
 * refused (its results are text). */
/* The format of a regular file by its first lines (input_detect), for the
 * tokenize mode; INPUT_TEXT when it cannot be read (the caller reports that). */
InputFormat input_detect_format(const char *path);

int reader_open(const char *path, InputFormat fmt, const Tokenizer *tok, const RequestDefaults *d,
                RequestReader **out, InputFormat *detected, Err *err);
/* The same on a stream, which the reader takes (closed on failure too). */
int reader_open_stream(InputStream *in, InputFormat fmt, const Tokenizer *tok, const RequestDefaults *d,
                       RequestReader **out, InputFormat *detected, Err *err);

/* Open and flock the output before the writer: refused, before anything is
 * opened for writing, when path exists and is not a regular file or is the
 * same file (device + inode) as one of inputs[0..n) (NULL entries skipped; a
 * directory stands for each of its entries; roles[i] names inputs[i] in the
 * message: "input file", "model"...); never blocks (O_NONBLOCK). *fd holds
 * the lock until closed. Creates path when missing, truncates nothing. */
int output_lock(const char *path, const char *const *inputs, const char *const *roles, int n_inputs, int *fd,
                Err *err);

/* `resume`: keep the complete records already in the file; *done is how many
 * leading requests (by index) they cover, which the caller then skips. Without
 * resume the file is created/truncated and *done = 0. */
int writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                OutputWriter **out, int64_t *done, Err *err);

/* --resume for any line-per-request output: count the complete lines of path
 * (*done) and cut a trailing partial line; a missing file is an empty one. */
int output_resume_scan(const char *path, int64_t *done, Err *err);
/* --resume: refuse (changing nothing) an output whose first or last complete
 * line is not a result of format fmt at its index: another format, another
 * file. A missing file passes. */
int output_resume_check(const char *path, InputFormat fmt, Err *err);

/* Course formats (io_course.c). */
int course_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                       const RequestDefaults *d, RequestReader **out, Err *err);
int course_reader_open_stream(InputStream *in, InputFormat fmt, const Tokenizer *tok,
                              const RequestDefaults *d, RequestReader **out, Err *err);
int course_writer_open(const char *path, int resume, OutputWriter **out, int64_t *done, Err *err);

/* JSONL and OpenAI Batch (io_jsonl.c). */
int jsonl_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                      const RequestDefaults *d, RequestReader **out, Err *err);
int jsonl_reader_open_stream(InputStream *in, InputFormat fmt, const Tokenizer *tok,
                             const RequestDefaults *d, RequestReader **out, Err *err);
int jsonl_writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                      OutputWriter **out, int64_t *done, Err *err);

/* Resolve the position bound of a request per docs/MODEL.md §5: with max_new >= 0 the
 * request may generate at most max_new ids; the result never exceeds
 * d->steps nor max_seq_len. */
int32_t resolve_steps(const RequestDefaults *d, int32_t n_prompt, int32_t max_new);

#ifdef __cplusplus
}
#endif
#endif
