/* io_test.h: the little harness of the io tests: counted expectations, a
 * closing "N passed, M failed" line, and exit code 77 for a skip. */
#ifndef GETP_IO_TEST_H
#define GETP_IO_TEST_H

#include "common.h"

#include "../expect.h" // EXPECT, test_finish, g_pass/g_fail

static int test_skip(const char *why) {
    printf("skipped: %s\n0 passed, 0 failed\n", why);
    return 77;
}

#endif
