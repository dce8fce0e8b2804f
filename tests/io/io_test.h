/* io_test.h: the little harness of the io tests: counted expectations, a
 * closing "N passed, M failed" line, and exit code 77 for a skip; and the
 * helpers in io_test.c that test_jsonl, test_chat, test_sampling_options and
 * test_logprobs_out share (one copy instead of one per test). */
#ifndef GETP_IO_TEST_H
#define GETP_IO_TEST_H

#include "common.h"
#include "requests.h"

#include "../expect.h" // EXPECT, test_finish, g_pass/g_fail

#include <jansson.h>

static inline int test_skip(const char *why) {
    printf("skipped: %s\n0 passed, 0 failed\n", why);
    return 77;
}

/* `NAME RANKS SCRATCH_DIR`: loads the tokenizer RANKS into *tok and keeps
 * SCRATCH_DIR for io_path_in. 0 to run the tests, else main's exit code (2:
 * usage, 77: skipped, no tokenizer file). */
int io_test_begin(int argc, char **argv, const char *name, Tokenizer **tok);

/* name under the scratch dir; four buffers in turn, so that a few paths can
 * be held at once. */
const char *io_path_in(const char *name);

void io_write_file(const char *path, const char *text);

/* The defaults most io tests read with: a 4096-position model, greedy, and
 * a fixed chat date (the prompts must not change with the day). Callers adjust
 * the fields their test is about. */
RequestDefaults io_defaults(void);

/* Every request left in r, read in rounds of `round` (as the MPI flow reads
 * them); closes r. Each round's next() is an expectation. */
InputRequest *io_read_all(RequestReader *r, int round, int *n);

/* A synthetic output: harmony_text encoded, its `<|name|>` markers as the
 * specials' ids; NULL text: no tokens (an errored request's output). */
Output io_make_output(const Tokenizer *tok, const char *harmony_text, int finish, int64_t index);

/* Each line of path parsed with json_loadb(flags); a line that is not JSON
 * fails an expectation. */
json_t **io_read_lines(const char *path, size_t flags, int *n);

/* The value at a dotted path of object keys ("a.b.c"; an array index is
 * written as a number: "choices.0"), or NULL. */
json_t *io_jget(json_t *o, const char *path);

/* expect.h's counters are per file: io_test.c's own expectations. */
void io_test_counts(int *pass, int *fail);

/* test_finish with io_test.c's expectations added to this test's. */
static inline int io_test_finish(void) {
    int pass, fail;
    io_test_counts(&pass, &fail);
    g_pass += pass;
    g_fail += fail;
    return test_finish();
}

#endif
