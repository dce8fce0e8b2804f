/* io_test.h: the little harness of the io tests: counted expectations, a
 * closing "N passed, M failed" line, and exit code 77 for a skip. */
#ifndef GETP_IO_TEST_H
#define GETP_IO_TEST_H

#include "common.h"

static int g_pass, g_fail;

#define EXPECT(cond, ...)                                                  \
    do {                                                                   \
        if (cond) {                                                        \
            g_pass++;                                                      \
        } else {                                                           \
            g_fail++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static int test_finish(void) {
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

static int test_skip(const char *why) {
    printf("skipped: %s\n0 passed, 0 failed\n", why);
    return 77;
}

#endif
