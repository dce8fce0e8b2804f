/* io_course.c: the course's text format in and out (docs/io_formats.md,
 * docs/MODEL.md "The batch contract").
 *
 * Input: first line the number of requests N, then one prompt per line. The
 * line ending is "\n" or "\r\n" (one trailing "\r" is dropped); there is no
 * line length limit. Documented behaviour for edge cases:
 *   - an empty prompt line is a request of 0 tokens: it generates nothing and
 *     its output line is empty;
 *   - fewer than N prompt lines: the file is refused up front (nothing runs),
 *     naming both counts; lines after the N-th are ignored with a warning;
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
    FILE *f;
    char *path;
    InputFormat fmt;         // INPUT_TEXT or INPUT_IDS
    const Tokenizer *tok;
    RequestDefaults d;
    int64_t total;           // N from the header
    int64_t next_index;      // requests handed out so far
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

/* Parse "12 5 7" into ids; every id must be in [0, vocab). */
static char *parse_id_line(const char *s, size_t len, int vocab, int32_t **ids, int32_t *n) {
    size_t cap = 16;
    int32_t *v = xmalloc(cap * sizeof *v);
    int32_t count = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= len) break;
        if (!isdigit((unsigned char)s[i])) {
            free(v);
            return str_printf("expected a token id at column %zu, got '%c'", i + 1, s[i]);
        }
        int64_t x = 0;
        size_t start = i;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (x < INT64_MAX / 16) x = x * 10 + (s[i] - '0');
            i++;
        }
        if (i < len && s[i] != ' ' && s[i] != '\t') {
            free(v);
            return str_printf("expected a token id at column %zu, got '%.*s'", start + 1,
                              (int)(i - start + 1), s + start);
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

/* Count the lines after the header (a last line without "\n" counts). */
static int64_t count_lines_after_header(FILE *f) {
    char buf[1 << 16];
    int64_t lines = 0;
    int last = '\n';
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < got; i++) lines += buf[i] == '\n';
        last = buf[got - 1];
    }
    return lines + (last != '\n');
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
    while (*n < max && cr->next_index < cr->total) {
        errno = 0;
        ssize_t got = getline(&cr->line, &cr->cap, cr->f);
        if (got < 0) /* counted up front, so only a read error or a file changed under us */
            return err_set(err, "%s: read failed after %lld of %lld prompts%s%s", cr->path,
                           (long long)cr->next_index, (long long)cr->total, errno ? ": " : "",
                           errno ? strerror(errno) : " (file shrank?)");
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
    if (cr->f) fclose(cr->f);
    free(cr->line);
    free(cr->path);
    free(cr);
    free(rr);
}

int course_reader_open(const char *path, InputFormat fmt, const Tokenizer *tok,
                       const RequestDefaults *d, RequestReader **out, Err *err) {
    if (fmt == INPUT_TEXT && !tok)
        return err_set(err, "%s: text prompts need a tokenizer (-z FILE); give token ids with "
                            "--input-format ids to run without one", path);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "cannot open input %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, f);
    char *end = NULL;
    long long total = -1;
    if (got > 0) {
        errno = 0;
        total = strtoll(line, &end, 10);
        while (end && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
        if (errno || end == line || *end != '\0' || total < 0) total = -1;
    }
    if (total < 0) {
        size_t show = got > 0 ? strcspn(line, "\r\n") : 0;
        int rc = err_set(err, "%s:1: expected the number of requests on the first line, got '%.*s'",
                         path, (int)(show > 40 ? 40 : show), got > 0 ? line : "");
        free(line);
        fclose(f);
        return rc;
    }
    long header_end = ftell(f);
    int64_t lines = count_lines_after_header(f);
    if (lines < total) {
        free(line);
        fclose(f);
        return err_set(err, "%s: the first line says %lld prompts but only %lld prompt lines follow",
                       path, total, (long long)lines);
    }
    if (lines > total)
        fprintf(stderr, "getp: warning: %s: %lld lines after the %lld prompts are ignored\n", path,
                (long long)(lines - total), total);
    fseek(f, header_end, SEEK_SET);
    CourseReader *cr = xcalloc(1, sizeof *cr);
    cr->f = f;
    cr->path = xstrdup(path);
    cr->fmt = fmt;
    cr->tok = tok;
    cr->d = *d;
    cr->total = total;
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

/* ------------------------------------------------------------------ writer */

typedef struct {
    FILE *f;
    char *path;
} CourseWriter;

static int course_write(OutputWriter *w, const InputRequest *req, const Output *o, Err *err) {
    CourseWriter *cw = w->impl;
    if (req->error) fprintf(stderr, "getp: request %lld: %s\n", (long long)req->index, req->error);
    for (int32_t i = 0; o && i < o->n_tokens; i++)
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
