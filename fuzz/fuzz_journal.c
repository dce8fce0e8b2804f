/* fuzz_journal.c: bytes read back as --resume reads a journal (src/journal.c),
 * twice:
 *  - as one record's payload (output_unpack), which the frame's crc guards
 *    in a file but not against a writer's bug;
 *  - as a whole journal file (journal_read against the identity the seeds
 *    carry), then finished and looked up as the resume does.
 * Checked: no crash and no undefined behaviour (ASan + UBSan); a payload that
 * unpacks is an Output in range (index >= 0, n_tokens >= 0, a known finish,
 * 0 <= n_top <= GETP_MAX_TOP_LOGPROBS) that packs back to the same bytes but
 * the head's reserved word; journal_read fails only with a message, and a set
 * it fills holds one record per index, each found by its index.
 * Seeds (fuzz/corpus/journal): journals journal_create / journal_append wrote,
 * with this identity: a header alone, greedy outputs, outputs with logprobs,
 * an error, a torn last record. */
#include "journal.h"
#include "fuzz_common.h"

#include <unistd.h>

#define FUZZ_IDENTITY "getp journal fuzz seed\nmodel m\n"

static char path[64]; // the journal file, one per process

static void remove_path(void) { unlink(path); }

static void check_output(const Output *o) {
    CHECK(o->index >= 0 && o->n_tokens >= 0 && o->finish >= FINISH_NONE && o->finish <= FINISH_ERROR);
    CHECK(o->n_top >= 0 && o->n_top <= GETP_MAX_TOP_LOGPROBS);
    CHECK(o->tokens != NULL);
    CHECK(!o->logprobs || (o->top_ids && o->top_logprobs));
}

static void one_record(const uint8_t *data, size_t size) {
    Output o;
    Err err = {{0}};
    if (output_unpack(data, size, &o, &err) != GETP_OK) {
        CHECK(err.msg[0] != '\0');
        return;
    }
    check_output(&o);
    const size_t n = output_pack_size(&o);
    CHECK(n == size);
    uint8_t *back = (uint8_t *)xmalloc(n);
    output_pack(&o, back);
    /* the head: index (8 bytes), finish, n_tokens, n_top, then a reserved word
     * that unpack ignores and pack writes as 0 */
    CHECK(memcmp(back, data, 20) == 0 && memcmp(back + 24, data + 24, n - 24) == 0);
    free(back);
    output_free(&o);
}

static void whole_file(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/getp-fuzz-%d.journal", (int)getpid());
        atexit(remove_path);
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, size, f) == size);
    CHECK(fclose(f) == 0);
    JournalSet set;
    memset(&set, 0, sizeof set);
    JournalReadInfo info;
    memset(&info, 0, sizeof info);
    Err err = {{0}};
    if (journal_read(path, FUZZ_IDENTITY, 0, &set, &info, &err) != GETP_OK) {
        CHECK(err.msg[0] != '\0');
        journal_set_free(&set);
        return;
    }
    CHECK(info.kept == info.records && info.torn_bytes >= 0 && info.torn_bytes <= (int64_t)size);
    journal_set_finish(&set);
    for (int64_t i = 0; i < set.n; i++) {
        check_output(&set.outs[i]);
        CHECK(i == 0 || set.outs[i - 1].index < set.outs[i].index);
        CHECK(journal_set_find(&set, set.outs[i].index) == &set.outs[i]);
    }
    journal_set_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    one_record(data, size);
    whole_file(data, size);
    return 0;
}
