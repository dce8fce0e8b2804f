/* journal.h: the journal of finished requests (jobs/README.md, "Interrupted
 * runs").
 *
 * Rank 0 writes a round's outputs in input order only when the whole round
 * is back; until then a rank's finished requests live in its journal,
 * OUT.journal/rank-K, one self-checking record per request appended the
 * moment the engine finishes it (a single write(2): a killed process loses
 * nothing it appended). --resume reads every journal back, drops what the
 * output already holds and runs only the rest.
 *
 * File layout (native byte order, little-endian on every machine getp runs on):
 *   header  "GETPJRN\1" | u32 len | u32 crc | len bytes of identity text
 *   record  u32 len | u32 crc | len bytes of payload (output_pack)
 * crc is zlib's crc32 over the len field and the bytes that follow. A record
 * whose length runs past the end of the file or whose crc does not match ends
 * the file: a SIGKILL in the middle of a write leaves a torn last record,
 * which is dropped, never misread.
 *
 * The identity text ("key value" lines) names everything that changes an
 * output: input, model, tokenizer, options. A journal is only merged into a
 * run whose identity is the same text.
 */
#ifndef GETP_JOURNAL_H
#define GETP_JOURNAL_H

#include "common.h"
#include "engine.h" // Output

#ifdef __cplusplus
extern "C" {
#endif

/* ---- one Output as bytes: the only code that knows an Output's fields ---- */

/* Bytes output_pack writes for o. */
size_t output_pack_size(const Output *o);
void output_pack(const Output *o, uint8_t *buf);
/* The inverse; o's arrays are malloc'ed (free with output_free). GETP_ERR if
 * the bytes are not a consistent Output. */
int output_unpack(const uint8_t *buf, size_t n, Output *o, Err *err);

/* ---- writing: one rank's journal ---- */

typedef struct Journal Journal;

/* Create (or truncate) path and write the header; fsync'ed. */
int journal_create(const char *path, const char *identity, Journal **out, Err *err);
/* Append one finished request: one write(2) of one record. */
int journal_append(Journal *j, const Output *o, Err *err);
/* fsync: what was appended survives the loss of the node. */
int journal_sync(Journal *j, Err *err);
/* Back to the header alone (a new round: the output holds the last one). */
int journal_rewind(Journal *j, Err *err);
/* The file descriptor (for an fsync from a signal handler), the path, and the
 * records appended since the last rewind. */
int journal_fd(const Journal *j);
const char *journal_path(const Journal *j);
int64_t journal_count(const Journal *j);
/* Close; remove the file when `remove_it`. */
void journal_close(Journal *j, int remove_it);

/* ---- reading ---- */

/* Finished requests read back from journals, sorted by index, one per index. */
typedef struct {
    int64_t n, cap;
    Output *outs;
} JournalSet;

typedef struct {
    int header_ok;      // 0: no complete header (killed while creating): no records
    int64_t records;    // complete records read (before min_index filtering)
    int64_t kept;       // added to the set (index >= min_index)
    int64_t torn_bytes; // bytes after the last good record, dropped
} JournalReadInfo;

/* Read path's records with index >= min_index into set (unsorted until
 * journal_set_finish). The header must carry exactly `identity`; else
 * GETP_ERR with a message naming the first item that differs. */
int journal_read(const char *path, const char *identity, int64_t min_index, JournalSet *set,
                 JournalReadInfo *info, Err *err);
/* Sort by index and keep one record per index. */
void journal_set_finish(JournalSet *s);
/* The record of `index`, or NULL (set must be finished). */
const Output *journal_set_find(const JournalSet *s, int64_t index);
void journal_set_free(JournalSet *s);

/* Write every record of s to path through path.tmp + rename (all or nothing). */
int journal_write_set(const char *path, const char *identity, const JournalSet *s, Err *err);

/* The journal files in dir (names "rank-*" and "carry*", sorted), as paths
 * dir/name; *n = 0 when dir does not exist. Free with journal_list_free. */
int journal_list(const char *dir, char ***paths, int *n, Err *err);
void journal_list_free(char **paths, int n);

/* The first "key value" line where identity a (a journal's) and b (this
 * run's) differ, as "key: A there, B here" in buf (empty when they are equal). */
void journal_identity_diff(const char *a, const char *b, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
