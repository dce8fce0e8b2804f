/* io.c: what the request formats share (requests.h): the input stream
 * (opened once, so a pipe works), the choice of format (detection from the
 * stream's first lines), the reader/writer dispatch, the checks on the output
 * path before anything is created or written (not an input, a regular file),
 * the --resume scan and check of line-per-request outputs, the step bound of a
 * request and the life of an InputRequest. The formats themselves are
 * io_course.c and io_jsonl.c; neither includes the other.
 *
 * Format detection (--input-format auto; docs/io_formats.md "Detection"):
 *   - a UTF-8 byte order mark at the start is skipped; blank lines (spaces,
 *     tabs, CR only) before the first other line are skipped;
 *   - the first non-blank line starting (after spaces/tabs) with '{' makes the
 *     file JSONL, anything else course text;
 *   - JSONL is OpenAI Batch when the first line that parses as JSON (line 1
 *     nearly always; up to DETECT_MAX_LINES lines are looked at) is an object
 *     with a top-level "custom_id". Nested "custom_id" keys do not count.
 * The lines read to decide are kept in the stream and handed to the reader
 * again: the input is never reopened or rewound for detection.
 */
#include "requests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h> // flock
#include <sys/stat.h>
#include <unistd.h>   // truncate, close

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

/* ------------------------------------------------------------ input stream */

struct InputStream {
    FILE *f;
    char *name;          // the path, for messages
    int regular;         // a regular file: its rest can be counted and rewound
    int64_t ahead_blank; // blank lines detection skipped, handed out first (as "\n")
    char *ahead;         // then these bytes (whole lines) detection read
    size_t ahead_len, ahead_pos;
};

static InputStream *stream_new(FILE *f, const char *name, int regular) {
    InputStream *in = xcalloc(1, sizeof *in);
    in->f = f;
    in->name = xstrdup(name);
    in->regular = regular;
    return in;
}

int input_stream_open(const char *path, InputStream **out, Err *err) {
    *out = NULL;
    /* A FIFO blocks here until its writer opens it, as a FIFO should; the
     * stream is read in order and never reopened. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(err, "cannot open input %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_set(err, "cannot open input %s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return err_set(err, "input %s is a directory, not a file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return err_set(err, "cannot open input %s: %s", path, strerror(errno));
    }
    *out = stream_new(f, path, S_ISREG(st.st_mode));
    return GETP_OK;
}

InputStream *input_stream_from_file(FILE *f, const char *name) {
    struct stat st;
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    return stream_new(f, name, regular);
}

const char *input_stream_name(const InputStream *in) { return in->name; }
int input_stream_regular(const InputStream *in) { return in->regular; }
int input_stream_failed(const InputStream *in) { return ferror(in->f); }

void input_stream_close(InputStream *in) {
    if (!in) return;
    if (in->f) fclose(in->f);
    free(in->ahead);
    free(in->name);
    free(in);
}

static void ensure_cap(char **line, size_t *cap, size_t need) {
    if (*cap >= need) return;
    *line = xrealloc(*line, need);
    *cap = need;
}

ssize_t input_stream_getline(InputStream *in, char **line, size_t *cap) {
    if (in->ahead_blank > 0) {
        in->ahead_blank--;
        ensure_cap(line, cap, 2);
        memcpy(*line, "\n", 2);
        return 1;
    }
    if (in->ahead_pos < in->ahead_len) {
        const char *p = in->ahead + in->ahead_pos;
        size_t left = in->ahead_len - in->ahead_pos;
        const char *nl = memchr(p, '\n', left);
        size_t n = nl ? (size_t)(nl - p) + 1 : left; /* no "\n": the file's last line */
        ensure_cap(line, cap, n + 1);
        memcpy(*line, p, n);
        (*line)[n] = '\0';
        in->ahead_pos += n;
        if (in->ahead_pos == in->ahead_len) {
            free(in->ahead);
            in->ahead = NULL;
            in->ahead_len = in->ahead_pos = 0;
        }
        return (ssize_t)n;
    }
    return getline(line, cap, in->f);
}

/* Lines not yet handed out (a last line without "\n" counts); the file
 * position is restored. Regular files only. */
int input_stream_count_rest(InputStream *in, int64_t *lines, Err *err) {
    *lines = 0;
    if (!in->regular) return err_set(err, "%s: not a regular file, cannot count its lines", in->name);
    int64_t n = in->ahead_blank;
    int last = n > 0 ? '\n' : -1;
    for (size_t i = in->ahead_pos; i < in->ahead_len; i++) n += in->ahead[i] == '\n';
    if (in->ahead_len > in->ahead_pos) last = (unsigned char)in->ahead[in->ahead_len - 1];
    off_t pos = ftello(in->f);
    if (pos < 0) return err_set(err, "%s: %s", in->name, strerror(errno));
    enum { CHUNK = 1 << 16 };
    char *buf = xmalloc(CHUNK);
    size_t got;
    while ((got = fread(buf, 1, CHUNK, in->f)) > 0) {
        for (size_t i = 0; i < got; i++) n += buf[i] == '\n';
        last = (unsigned char)buf[got - 1];
    }
    free(buf);
    int bad = ferror(in->f);
    clearerr(in->f);
    if (bad || fseeko(in->f, pos, SEEK_SET) != 0)
        return err_set(err, "%s: reading the input: %s", in->name, strerror(errno));
    *lines = n + (last != -1 && last != '\n');
    return GETP_OK;
}

/* ---------------------------------------------------------------- detection */

enum { DETECT_MAX_LINES = 16 };
#define DETECT_MAX_BYTES ((size_t)64 << 20)

static int blank_bytes(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static void ahead_append(InputStream *in, const char *s, size_t n) {
    in->ahead = xrealloc(in->ahead, in->ahead_len + n + 1);
    memcpy(in->ahead + in->ahead_len, s, n);
    in->ahead_len += n;
}

InputFormat input_detect_format(const char *path) {
    InputStream *in;
    Err err;
    InputFormat fmt = INPUT_TEXT;
    if (input_stream_open(path, &in, &err) != GETP_OK) return INPUT_TEXT;
    if (input_detect(in, &fmt, &err) != GETP_OK) fmt = INPUT_TEXT;
    input_stream_close(in);
    return fmt;
}

int input_detect(InputStream *in, InputFormat *fmt, Err *err) {
    *fmt = INPUT_TEXT;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t line_no = 0;
    int looked = 0, decided = 0;
    while (!decided && looked < DETECT_MAX_LINES && in->ahead_len < DETECT_MAX_BYTES &&
           (got = getline(&line, &cap, in->f)) >= 0) {
        line_no++;
        const char *s = line;
        size_t n = (size_t)got;
        if (line_no == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
        if (blank_bytes(s, n)) {
            if (in->ahead_len == 0) in->ahead_blank++;
            else ahead_append(in, line, (size_t)got);
            continue;
        }
        ahead_append(in, line, (size_t)got);
        if (looked++ == 0) {
            while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
            if (*s != '{') break; /* course text */
            *fmt = INPUT_JSONL;
        }
        json_t *root = json_loadb(s, n, 0, NULL);
        if (root) {
            decided = 1;
            if (json_is_object(root) && json_object_get(root, "custom_id")) *fmt = INPUT_BATCH;
            json_decref(root);
        }
    }
    free(line);
    if (ferror(in->f)) return err_set(err, "%s: reading the input: %s", in->name, strerror(errno));
    return GETP_OK;
}

/* ----------------------------------------------------------------- dispatch */

int reader_open_stream(InputStream *in, InputFormat fmt, const Tokenizer *tok, const RequestDefaults *d,
                       RequestReader **out, InputFormat *detected, Err *err) {
    *out = NULL;
    if (fmt == INPUT_AUTO && input_detect(in, &fmt, err) != GETP_OK) {
        input_stream_close(in);
        return GETP_ERR;
    }
    if (detected) *detected = fmt;
    if (fmt == INPUT_BATCH && !tok) {
        int rc = err_set(err, "%s is an OpenAI Batch file: its results are text, so it needs the "
                              "tokenizer (-z FILE)", in->name);
        input_stream_close(in);
        return rc;
    }
    if (fmt == INPUT_TEXT || fmt == INPUT_IDS) return course_reader_open_stream(in, fmt, tok, d, out, err);
    return jsonl_reader_open_stream(in, fmt, tok, d, out, err);
}

int reader_open(const char *path, InputFormat fmt, const Tokenizer *tok, const RequestDefaults *d,
                RequestReader **out, InputFormat *detected, Err *err) {
    InputStream *in;
    *out = NULL;
    if (input_stream_open(path, &in, err) != GETP_OK) return GETP_ERR;
    return reader_open_stream(in, fmt, tok, d, out, detected, err);
}

int writer_open(const char *path, InputFormat fmt, const Tokenizer *tok, int resume,
                OutputWriter **out, int64_t *done, Err *err) {
    if (resume && output_resume_check(path, fmt, err) != GETP_OK) return GETP_ERR;
    if (fmt == INPUT_TEXT || fmt == INPUT_IDS || fmt == INPUT_AUTO)
        return course_writer_open(path, resume, out, done, err);
    return jsonl_writer_open(path, fmt, tok, resume, out, done, err);
}

/* ------------------------------------------------------------ output checks */

static int same_inode(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The path among `others` (a directory stands for every entry in it) that is
 * the file of `st`, or NULL (a directory entry's path is in a static buffer);
 * *which = its index. */
static const char *same_as_any(const struct stat *st, const char *const *others, int n, int *which) {
    static char found[4096];
    for (int i = 0; i < n; i++) {
        *which = i;
        struct stat o;
        if (!others[i] || stat(others[i], &o) != 0) continue;
        if (same_inode(st, &o)) return others[i];
        if (!S_ISDIR(o.st_mode)) continue;
        DIR *d = opendir(others[i]);
        if (!d) continue;
        struct dirent *de;
        const char *hit = NULL;
        while (!hit && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            snprintf(found, sizeof found, "%s/%s", others[i], de->d_name);
            if (stat(found, &o) == 0 && same_inode(st, &o)) hit = found;
        }
        closedir(d);
        if (hit) return hit;
    }
    return NULL;
}

static int check_output_stat(const char *path, const struct stat *st, const char *const *inputs,
                             const char *const *roles, int n, Err *err) {
    if (!S_ISREG(st->st_mode))
        return err_set(err, "output %s is not a regular file (a %s); -o must name a regular file", path,
                       S_ISDIR(st->st_mode) ? "directory" : S_ISFIFO(st->st_mode) ? "FIFO" :
                       S_ISCHR(st->st_mode) ? "character device" : S_ISSOCK(st->st_mode) ? "socket" : "special file");
    int which = 0;
    const char *same = same_as_any(st, inputs, n, &which);
    if (same)
        return err_set(err, "output %s is the same file as the %s %s: refusing to overwrite it; choose another -o", path,
                       roles[which], same);
    return GETP_OK;
}

int output_lock(const char *path, const char *const *inputs, const char *const *roles, int n_inputs,
                int *fd_out, Err *err) {
    *fd_out = -1;
    struct stat st;
    /* Before anything is opened for writing: an existing output must be a
     * regular file and none of the inputs (same device and inode, so a
     * symlink or a hard link is caught too). */
    if (stat(path, &st) == 0 && check_output_stat(path, &st, inputs, roles, n_inputs, err) != GETP_OK)
        return GETP_ERR;
    /* O_NONBLOCK: a FIFO put there since is refused below, never waited on.
     * No O_TRUNC: the writer truncates, after the same checks on this fd. */
    int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(err, "cannot open output %s: %s", path,
                       errno == ENXIO ? "it is a FIFO; -o must name a regular file" : strerror(errno));
    if (fstat(fd, &st) != 0 || check_output_stat(path, &st, inputs, roles, n_inputs, err) != GETP_OK) {
        close(fd);
        return GETP_ERR;
    }
    /* one writer per output file: a second getp (say, a --resume started while
     * the ranks of a killed job are still finishing) is refused, not interleaved */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return err_set(err, "%s is being written by another getp (locked); wait for it or kill it first", path);
    }
    *fd_out = fd;
    return GETP_OK;
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

/* What is wrong with `line` (no "\n") as result number `index` of format
 * fmt, or NULL. Course lines are ids; JSONL records carry their index; Batch
 * records carry "batch_req_<index>". */
static const char *result_line_problem(const char *line, size_t len, InputFormat fmt, int64_t index) {
    if (fmt == INPUT_TEXT || fmt == INPUT_IDS || fmt == INPUT_AUTO) {
        for (size_t i = 0; i < len; i++)
            if (!(line[i] >= '0' && line[i] <= '9') && line[i] != ' ')
                return "not a line of token ids (the course output format)";
        return NULL;
    }
    json_t *rec = json_loadb(line, len, 0, NULL);
    const char *problem = NULL;
    if (!json_is_object(rec)) {
        problem = "not a JSON object";
    } else if (fmt == INPUT_JSONL) {
        json_t *ix = json_object_get(rec, "index");
        if (!json_is_integer(ix) || !json_object_get(rec, "finish_reason") || json_object_get(rec, "custom_id"))
            problem = "not a getp JSONL result";
        else if (json_integer_value(ix) != index)
            problem = "a JSONL result of another request index";
    } else {
        json_t *id = json_object_get(rec, "id");
        char want[64];
        snprintf(want, sizeof want, "batch_req_%lld", (long long)index);
        if (!json_is_string(id) || !json_object_get(rec, "custom_id") || !json_object_get(rec, "response"))
            problem = "not an OpenAI Batch output line";
        else if (strcmp(json_string_value(id), want) != 0)
            problem = "a Batch output line of another request index";
    }
    json_decref(rec);
    return problem;
}

static const char *format_name(InputFormat fmt) {
    switch (fmt) {
    case INPUT_JSONL: return "JSONL";
    case INPUT_BATCH: return "OpenAI Batch";
    default: return "course";
    }
}

int output_resume_check(const char *path, InputFormat fmt, Err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return GETP_OK;
        return err_set(err, "cannot open %s to resume: %s", path, strerror(errno));
    }
    char *line = NULL, *last = NULL;
    size_t cap = 0, last_cap = 0, last_len = 0;
    int64_t n = 0;
    ssize_t got;
    const char *problem = NULL;
    int64_t bad_line = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        if (got == 0 || line[got - 1] != '\n') break; /* the partial last line: cut by the writer */
        n++;
        if (n == 1 && (problem = result_line_problem(line, (size_t)got - 1, fmt, 0))) {
            bad_line = 1;
            break;
        }
        ensure_cap(&last, &last_cap, (size_t)got);
        memcpy(last, line, (size_t)got - 1);
        last_len = (size_t)got - 1;
    }
    int rd = ferror(f);
    fclose(f);
    if (!problem && !rd && n > 1 && (problem = result_line_problem(last, last_len, fmt, n - 1))) bad_line = n;
    free(line);
    free(last);
    if (rd) return err_set(err, "reading %s to resume: %s", path, strerror(errno));
    if (problem)
        return err_set(err, "--resume: %s line %lld is %s; the input is %s: is %s the output of another "
                            "input? (nothing was changed)", path, (long long)bad_line, problem,
                       format_name(fmt), path);
    return GETP_OK;
}
