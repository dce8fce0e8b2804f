/* io.c: what the request formats share (requests.h): the choice of format
 * (detection from the file's first bytes), the reader/writer dispatch, the
 * --resume scan of line-per-request outputs, the step bound of a request and
 * the life of an InputRequest. The formats themselves are io_course.c and
 * io_jsonl.c; neither includes the other.
 */
#include "requests.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h> // truncate

void input_request_free(InputRequest *r) {
    free(r->id);
    free(r->prompt);
    free(r->error);
    memset(r, 0, sizeof *r);
}

int32_t resolve_steps(const RequestDefaults *d, int32_t n_prompt, int32_t max_new) {
    int64_t steps = d->steps;
    if (max_new >= 0 && (int64_t)n_prompt + max_new - 1 < steps) steps = (int64_t)n_prompt + max_new - 1;
    if (steps > d->max_seq_len) steps = d->max_seq_len;
    return (int32_t)steps;
}

InputFormat input_detect_format(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return INPUT_TEXT; /* the reader reports the open error */
    int c;
    while ((c = fgetc(f)) != EOF && isspace(c)) {}
    InputFormat fmt = INPUT_TEXT;
    if (c == '{') {
        fmt = INPUT_JSONL;
        char buf[4096];
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        buf[got] = '\0';
        char *nl = strchr(buf, '\n');
        if (nl) *nl = '\0';
        if (strstr(buf, "\"custom_id\"")) fmt = INPUT_BATCH;
    }
    fclose(f);
    return fmt;
}

int reader_open(const char *path, InputFormat fmt, const Tokenizer *tok, const RequestDefaults *d,
                RequestReader **out, InputFormat *detected, Err *err) {
    if (fmt == INPUT_AUTO) fmt = input_detect_format(path);
    if (detected) *detected = fmt;
    if (fmt == INPUT_TEXT || fmt == INPUT_IDS) return course_reader_open(path, fmt, tok, d, out, err);
    return jsonl_reader_open(path, fmt, tok, d, out, err);
}

int writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                OutputWriter **out, int64_t *done, Err *err) {
    if (fmt == INPUT_TEXT || fmt == INPUT_IDS || fmt == INPUT_AUTO)
        return course_writer_open(path, resume, out, done, err);
    return jsonl_writer_open(path, fmt, tok, resume, out, done, err);
}

/* Resume: count the complete lines of path and cut a trailing partial line.
 * A missing file is an empty one. */
int output_resume_scan(const char *path, int64_t *done, Err *err) {
    *done = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return GETP_OK;
        return err_set(err, "cannot open %s to resume: %s", path, strerror(errno));
    }
    enum { CHUNK = 1 << 16 };
    char *chunk = xmalloc(CHUNK);
    int64_t pos = 0, keep = 0, lines = 0;
    size_t got;
    while ((got = fread(chunk, 1, CHUNK, f)) > 0) {
        for (size_t i = 0; i < got; i++)
            if (chunk[i] == '\n') {
                lines++;
                keep = pos + (int64_t)i + 1;
            }
        pos += (int64_t)got;
    }
    int bad = ferror(f);
    fclose(f);
    free(chunk);
    if (bad) return err_set(err, "reading %s to resume: %s", path, strerror(errno));
    if (pos > keep && truncate(path, (off_t)keep) != 0)
        return err_set(err, "cutting the partial last line of %s: %s", path, strerror(errno));
    *done = lines;
    return GETP_OK;
}
