/* common.h: what every host file of getp needs: fixed-width types, the error
 * conventions, bf16 conversion and a wall clock.
 *
 * Two classes of error (docs/CONTRIBUTING.md "Errors"):
 *  - programmer errors / impossible states: CHECK(...) prints expression, file
 *    and line to stderr and aborts (under MPI the abort hook calls MPI_Abort).
 *    Never compiled out.
 *  - input errors (files, configs, prompts): functions return GETP_ERR and fill
 *    an Err with one line of text; the caller prints it once and exits non-zero.
 */
#ifndef GETP_COMMON_H
#define GETP_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { GETP_OK = 0, GETP_ERR = -1 };

/* One line of error text, filled by the function that found the problem. */
typedef struct {
    char msg[512];
} Err;

/* printf into err->msg (truncating); returns GETP_ERR so callers can
 * `return err_set(err, "...")`. err may be NULL. */
int err_set(Err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Called by fatal(): defaults to abort(); the MPI layer installs MPI_Abort. */
typedef void (*AbortHook)(int code);
void set_abort_hook(AbortHook hook);

/* "getp: <message>\n" on stderr (fatal's and the command line's errors). */
void vprint_error(const char *fmt, va_list ap);

/* Print "getp: <message>" to stderr and end the whole job. */
void fatal(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) fatal("check failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
    } while (0)

/* Allocation that cannot fail silently. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* bf16 stored as raw uint16 (upper half of an IEEE float). Round to nearest even. */
static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
/* x[i] = the bf16 value nearest x[i], for i < n (what a bf16 store and load does). */
static inline void round_to_bf16(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

/* Seconds on a monotonic clock. */
double now_seconds(void);

/* A switch in the environment (GETP_PROFILE, GETP_NO_GRAPH, ...): 1 when the
 * variable is set to something other than "" or "0". */
int env_flag(const char *name);

/* A one-digit choice in the environment (GETP_MOE_GEMV, GETP_GEMV_FORM,
 * GETP_ATT_MINB): dflt when unset or "", else a single digit in lo..hi,
 * anything else fatal with "NAME=value: values" (values says what each
 * choice is). */
int env_digit(const char *name, int dflt, int lo, int hi, const char *values);

/* A range of whole numbers in the environment (GETP_MOE_W64): unset or "":
 * 0, *lo and *hi untouched (the caller's defaults); "0": 1, both 0 (off);
 * "LO-HI", decimal digits only, 0 <= LO < HI <= max: 1, those; anything else
 * fatal with "NAME=value: values". */
int env_range(const char *name, int *lo, int *hi, int max, const char *values);

#ifdef __cplusplus
}
#endif
#endif
