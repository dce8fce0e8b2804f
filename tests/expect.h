/* expect.h: the harness every C test shares: counted expectations that
 * report file, line and expression on stderr, and the closing
 * "N passed, M failed" line (the plain line CI reads). */
#ifndef GETP_TEST_EXPECT_H
#define GETP_TEST_EXPECT_H

#include <stdio.h>

static int g_pass, g_fail;

#define EXPECT(cond, ...)                                                   \
    do {                                                                    \
        if (cond) {                                                         \
            g_pass++;                                                       \
        } else {                                                            \
            g_fail++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static inline int test_finish(void) {
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

#endif
