/* test_util.h: what the model tests share: pass/fail counting, a temporary
 * directory, running getp-model-gen, and whole-file read/write helpers.
 * Header-only (static functions) so each test stays one translation unit. */
#ifndef GETP_TEST_MODEL_UTIL_H
#define GETP_TEST_MODEL_UTIL_H

#include "model.h" // Model, model_load, Err

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../expect.h" // EXPECT, test_finish, g_pass/g_fail

/* A fresh directory under $TMPDIR (or /tmp); removed by tmpdir_remove. */
static inline char *tmpdir_make(const char *tag) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *p = xmalloc(strlen(base) + strlen(tag) + 16);
    sprintf(p, "%s/%s-XXXXXX", base, tag);
    if (!mkdtemp(p)) fatal("mkdtemp %s failed", p);
    return p;
}

static inline void run_cmd(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0) fatal("command failed (%d): %s", rc, cmd);
}

static inline void tmpdir_remove(const char *dir) {
    if (getenv("GETP_KEEP_TMP")) return;
    run_cmd("rm -rf '%s'", dir);
}

static inline uint8_t *file_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fatal("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = xmalloc((size_t)n);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) fatal("short read %s", path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static inline void file_write(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) fatal("cannot create %s", path);
    if (fwrite(p, 1, n, f) != n) fatal("short write %s", path);
    fclose(f);
}

/* Load path, expecting failure with a message containing every substring of
 * the NULL-terminated list `want`. */
static inline void expect_refused(const char *what, const char *path, const char *const *want) {
    Model m;
    Err err = {{0}};
    int rc = model_load(path, &m, &err);
    EXPECT(rc == GETP_ERR, "%s: loaded but should be refused", what);
    if (rc != GETP_ERR) {
        model_free(&m);
        return;
    }
    for (int i = 0; want[i]; i++)
        EXPECT(strstr(err.msg, want[i]) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, want[i]);
    if (getenv("GETP_TEST_VERBOSE")) fprintf(stderr, "  %s -> %s\n", what, err.msg);
}

#endif
