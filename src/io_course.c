/* io_course.c: the course's text format in and out (docs/io_formats.md,
 * docs/MODEL.md "The batch contract").
 *
 * Input: first line the number of requests N (decimal digits, optional
 * spaces; a UTF-8 byte order mark before it is skipped; a blank or otherwise
 * malformed count line is refused naming line 1), then one prompt per line.
 * The line ending is "\n" or "\r\n" (one trailing "\r" is dropped); there is
 * no line length limit. Documented behaviour for edge cases:
 *   - an empty prompt line is a request of 0 tokens: it generates nothing and
 *     its output line is empty;
 *   - fewer than N prompt lines: a regular file is refused up front (nothing
 *     runs, no output is created), naming both counts; a pipe or FIFO cannot
 *     be counted ahead, so its prompts run as they come and the run ends with
 *     an error naming both counts (non-zero exit, the results of the lines
 *     that came are written); lines after the N-th are ignored (with a
 *     warning for a regular file);
 *   - a text prompt whose ids fall outside the model's vocabulary (a
 *     tokenizer that is not the model's) is a per-request error;
 *   - a prompt longer than the step bound gets an error record: its output
 *     line is empty and the error names the request, the rest still run.
 * With --input-format ids each prompt line is space-separated token ids,
 * checked against the model's vocabulary (a bad id is a per-request error
 * naming the line).
 *
 * Output: line i holds request i's generated ids, space-separated (empty for
 * nothing generated or an error). Errors also go to stderr, one line each.
 * Format detection and the reader/writer dispatch are io.c's.
 */
#include "requests.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>

/* ------------------------------------------------------------------ reader */

typedef struct {
    InputStream *in;
    const char *path;        // the stream's name
    InputFormat fmt;         // INPUT_TEXT or INPUT_IDS
    const Tokenizer *tok;
    RequestDefaults d;
    int64_t total;           // N from the header
    int64_t next_index;      // requests handed out so far
    int counted;             // the prompt lines were counted up front (a regular file)
    int ended_short;         // a stream ended before N prompts: an error at the next call
    char *line;              // getline buffer
    size_t cap;
} CourseReader;

static char *str_printf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static char *str_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Up to 16 bytes of s, printable ASCII as is, other bytes as \xHH (a
 * message stays one line of text whatever the input holds). */
static void show_bytes(const char *s, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && i < 16 && k + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') out[k++] = (char)c;
        else k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
    }
    out[k] = '\0';
}

/* Parse "12 5 7" into ids; every id must be in [0, vocab). */
static char *parse_id_line(const char *s, size_t len, int vocab, int32_t **ids, int32_t *n) {
    char shown[96];
    size_t cap = 16;
    int32_t *v = xmalloc(cap * sizeof *v);
    int32_t count = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= len) break;
        if (!isdigit((unsigned char)s[i])) {
            free(v);
            show_bytes(s + i, 1, shown, sizeof shown);
            return str_printf("expected a token id at column %zu, got '%s'", i + 1, shown);
        }
        int64_t x = 0;
        size_t start = i;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (x < INT64_MAX / 16) x = x * 10 + (s[i] - '0');
            i++;
        }
        if (i < len && s[i] != ' ' && s[i] != '\t') {
            free(v);
            show_bytes(s + start, i - start + 1, shown, sizeof shown);
            return str_printf("expected a token id at column %zu, got '%s'", start + 1, shown);
        }
        if (x >= vocab) {
            free(v);
            return str_printf("token id %lld out of range (vocabulary %d)", (long long)x, vocab);
        }
        if ((size_t)count == cap) v = xrealloc(v, (cap *= 2) * sizeof *v);
        v[count++] = (int32_t)x;
    }
    *ids = v;
    *n = count;
    return NULL;
}

static void fill_request(CourseReader *cr, InputRequest *r, char *text, size_t len) {
    memset(r, 0, sizeof *r);
    r->index = cr->next_index;
    r->line = cr->next_index + 2;
    r->kind = REQ_COMPLETION;
    request_params_default(&r->p);
    r->p.index = r->index;
    r->p.temperature = cr->d.temperature;
    r->p.top_p = cr->d.top_p;
    r->p.top_k = cr->d.top_k;
    r->p.min_p = cr->d.min_p;
    r->p.seed = cr->d.seed;
    if (cr->d.ignore_eos) r->p.n_stop = 0;
    int32_t n = 0;
    if (cr->fmt == INPUT_IDS) {
        char *e = parse_id_line(text, len, cr->d.vocab_size, &r->prompt, &n);
        if (e) {
            r->error = str_printf("%s:%lld: %s", cr->path, (long long)r->line, e);
            free(e);
            return;
        }
    } else {
        Err err = {{0}};
        int ni = 0;
        if (tokenizer_encode(cr->tok, text, len, &r->prompt, &ni, &err) != GETP_OK) {
            r->error = str_printf("%s:%lld: %s", cr->path, (long long)r->line, err.msg);
            return;
        }
        n = ni;
        /* a tokenizer larger than the model's vocabulary (the wrong -z) */
        for (int i = 0; i < ni; i++)
            if (cr->d.vocab_size > 0 && r->prompt[i] >= cr->d.vocab_size) {
                r->error = str_printf("%s:%lld: the tokenizer gave id %d, outside the model's vocabulary "
                                      "of %d (is -z the model's tokenizer?)", cr->path, (long long)r->line,
                                      r->prompt[i], cr->d.vocab_size);
                return;
            }
    }
    r->p.n_prompt = n;
    r->p.steps = resolve_steps(&cr->d, n, -1);
    if (n > r->p.steps)
        r->error = str_printf("%s:%lld: prompt of %d tokens is longer than the step bound %d (-n)",
                              cr->path, (long long)r->line, n, r->p.steps);
}

static int course_next(RequestReader *rr, int max, InputRequest *out, int *n, Err *err) {
    CourseReader *cr = rr->impl;
    *n = 0;
    if (cr->ended_short)
        return err_set(err, "%s: the first line says %lld prompts but the input ended after %lld "
                            "(the results of those %lld are written)", cr->path, (long long)cr->total,
                       (long long)cr->next_index, (long long)cr->next_index);
    while (*n < max && cr->next_index < cr->total) {
        errno = 0;
        ssize_t got = input_stream_getline(cr->in, &cr->line, &cr->cap);
        if (got < 0 && input_stream_failed(cr->in))
            return err_set(err, "%s: read failed after %lld of %lld prompts: %s", cr->path,
                           (long long)cr->next_index, (long long)cr->total, strerror(errno));
        if (got < 0 && cr->counted) /* counted up front: the file changed under us */
            return err_set(err, "%s: the input ended after %lld of %lld prompts (file shrank?)", cr->path,
                           (long long)cr->next_index, (long long)cr->total);
        if (got < 0) { /* a stream: what came runs, then the error */
            cr->ended_short = 1;
            if (*n == 0) return course_next(rr, max, out, n, err);
            return GETP_OK;
        }
        size_t len = (size_t)got;
        if (len && cr->line[len - 1] == '\n') len--;
        if (len && cr->line[len - 1] == '\r') len--;
        fill_request(cr, &out[*n], cr->line, len);
        (*n)++;
        cr->next_index++;
    }
    return GETP_OK;
}

static int64_t course_total(RequestReader *rr) { return ((CourseReader *)rr->impl)->total; }

static void course_close(RequestReader *rr) {
    CourseReader *cr = rr->impl;
    input_stream_close(cr->in);
    free(cr->line);
    free(cr);
    free(rr);
}

/* The count line: optional spaces, decimal digits, optional spaces; a line
 * holding anything else (a sign, a NUL byte, text) is refused, with what it
 * holds shown escaped. Returns the count or -1 with err set. */
static long long parse_count_line(const char *path, const char *line, ssize_t got, Err *err) {
    if (got < 0) {
        err_set(err, "%s:1: the input is empty; expected the number of requests on the first line", path);
        return -1;
    }
    size_t n = (size_t)got, i = 0;
    if (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) i = 3; // UTF-8 byte order mark
    while (n > i && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == n) {
        err_set(err, "%s:1: the first line is blank; expected the number of requests", path);
        return -1;
    }
    long long total = 0;
    size_t k = i;
    for (; k < n && k - i < 18 && line[k] >= '0' && line[k] <= '9'; k++) total = total * 10 + (line[k] - '0');
    if (k == n) return total;
    char shown[96];
    show_bytes(line + i, n - i, shown, sizeof shown);
    err_set(err, "%s:1: expected the number of requests on the first line (decimal digits, below 10^18), "
                 "got '%s%s'", path, shown, n - i > 16 ? "..." : "");
    return -1;
}

int course_reader_open_stream(InputStream *in, InputFormat fmt, const Tokenizer *tok,
                              const RequestDefaults *d, RequestReader **out, Err *err) {
    *out = NULL;
    const char *path = input_stream_name(in);
    if (fmt == INPUT_TEXT && !tok) {
        int rc = err_set(err, "%s: text prompts need a tokenizer (-z FILE); give token ids with "
                              "--input-format ids to run without one", path);
        input_stream_close(in);
        return rc;
    }
    char *line = NULL;
    size_t cap = 0;
    errno = 0;
    ssize_t got = input_stream_getline(in, &line, &cap);
    long long total = -1;
    if (got < 0 && input_stream_failed(in)) err_set(err, "%s: reading the input: %s", path, strerror(errno));
    else total = parse_count_line(path, line, got, err);
    int counted = 0;
    if (total >= 0 && input_stream_regular(in)) {
        /* a regular file: a short one is refused before anything runs */
        int64_t lines = 0;
        if (input_stream_count_rest(in, &lines, err) != GETP_OK) {
            total = -1;
        } else if (lines < total) {
            err_set(err, "%s: the first line says %lld prompts but only %lld prompt lines follow", path, total,
                    (long long)lines);
            total = -1;
        } else {
            counted = 1;
            if (lines > total)
                fprintf(stderr, "getp: warning: %s: %lld lines after the %lld prompts are ignored\n", path,
                        (long long)(lines - total), total);
        }
    }
    if (total < 0) {
        free(line);
        input_stream_close(in);
        return GETP_ERR;
    }
    CourseReader *cr = xcalloc(1, sizeof *cr);
    cr->in = in;
    cr->path = path;
    cr->fmt = fmt;
    cr->tok = tok;
    cr->d = *d;
    cr->total = total;
    cr->counted = counted;
    cr->line = line;
    cr->cap = cap;
    RequestReader *rr = xcalloc(1, sizeof *rr);
    rr->next = course_next;
    rr->total = course_total;
    rr->close = course_close;
    rr->impl = cr;
    *out = rr;
    return GETP_OK;
}

int course_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                       const RequestDefaults *d, RequestReader **out, Err *err) {
    InputStream *in;
    *out = NULL;
    if (input_stream_open(path, &in, err) != GETP_OK) return GETP_ERR;
    return course_reader_open_stream(in, fmt, tok, d, out, err);
}

/* ------------------------------------------------------------------ writer */

typedef struct {
    FILE *f;
    char *path;
} CourseWriter;

static int course_write(OutputWriter *w, const InputRequest *req, const Output *o, Err *err) {
    CourseWriter *cw = w->impl;
    if (req->error) fprintf(stderr, "getp: request %lld: %s\n", (long long)req->index, req->error);
    /* a request that failed (here or in the engine) has an empty line */
    for (int32_t i = 0; o && !req->error && o->finish != FINISH_ERROR && i < o->n_tokens; i++)
        fprintf(cw->f, i ? " %d" : "%d", o->tokens[i]);
    if (fputc('\n', cw->f) == EOF) return err_set(err, "%s: write failed: %s", cw->path, strerror(errno));
    return GETP_OK;
}

/* End of a round: on disk before the ranks drop their journals of it (app/resume.h). */
static int course_flush(OutputWriter *w, Err *err) {
    CourseWriter *cw = w->impl;
    if (fflush(cw->f) != 0 || fsync(fileno(cw->f)) != 0)
        return err_set(err, "%s: write failed: %s", cw->path, strerror(errno));
    return GETP_OK;
}

static int course_wclose(OutputWriter *w, Err *err) {
    CourseWriter *cw = w->impl;
    int rc = GETP_OK;
    if (fclose(cw->f) != 0) rc = err_set(err, "%s: close failed: %s", cw->path, strerror(errno));
    free(cw->path);
    free(cw);
    free(w);
    return rc;
}

int course_writer_open(const char *path, int resume, OutputWriter **out, int64_t *done, Err *err) {
    *done = 0;
    if (resume && output_resume_scan(path, done, err) != GETP_OK) return GETP_ERR;
    FILE *f = fopen(path, resume ? "ab" : "wb");
    if (!f) return err_set(err, "cannot open output %s: %s", path, strerror(errno));
    CourseWriter *cw = xcalloc(1, sizeof *cw);
    cw->f = f;
    cw->path = xstrdup(path);
    OutputWriter *w = xcalloc(1, sizeof *w);
    w->write = course_write;
    w->flush = course_flush;
    w->close = course_wclose;
    w->impl = cw;
    *out = w;
    return GETP_OK;
}
