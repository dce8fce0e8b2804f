/* common.c: error reporting, checked allocation, clock. See common.h. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <time.h>

static AbortHook g_abort_hook = NULL;

void set_abort_hook(AbortHook hook) { g_abort_hook = hook; }

int err_set(Err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return GETP_ERR;
}

void vprint_error(const char *fmt, va_list ap) {
    fputs("getp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint_error(fmt, ap);
    va_end(ap);
    fflush(stderr);
    if (g_abort_hook) g_abort_hook(1);
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) fatal("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) fatal("out of memory reallocating %zu bytes", n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

int env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

int env_digit(const char *name, int dflt, int lo, int hi, const char *values) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    if (v[1] || v[0] < '0' + lo || v[0] > '0' + hi) fatal("%s=%s: %s", name, v, values);
    return v[0] - '0';
}

/* Decimal digits at *p (at most 9) -> their value, *p past them; -1 if none. */
static int parse_digits(const char **p) {
    int v = 0, n = 0;
    for (; **p >= '0' && **p <= '9' && n < 9; (*p)++, n++) v = 10 * v + (**p - '0');
    return n ? v : -1;
}

int env_range(const char *name, int *lo, int *hi, int max, const char *values) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    if (strcmp(v, "0") == 0) {
        *lo = *hi = 0;
        return 1;
    }
    const char *p = v;
    const int l = parse_digits(&p);
    const int h = *p == '-' ? (p++, parse_digits(&p)) : -1;
    if (l < 0 || h < 0 || *p || l >= h || h > max) fatal("%s=%s: %s", name, v, values);
    *lo = l, *hi = h;
    return 1;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
