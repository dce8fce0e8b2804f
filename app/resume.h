/* resume.h: a getp run's journals and --resume (jobs/README.md, "Interrupted
 * runs"). The file format is src/journal.h; this is when and where.
 *
 *   OUT.journal/rank-K   rank K's finished requests of the current round
 *   OUT.journal/carry    what a --resume recovered and has not written yet
 *
 * A fresh run refuses to start while OUT.journal holds journals (an earlier
 * run on OUT was interrupted: --resume continues it). --resume reads them
 * all, refuses any whose identity differs from this run's (input, model,
 * tokenizer, options: run_identity), keeps the records the output does not
 * hold yet, folds them into `carry` and runs only the rest. When the output
 * is complete the folder is removed.
 */
#ifndef GETP_RESUME_H
#define GETP_RESUME_H

#include "getp.h"    // GetpOptions, InputFormat
#include "journal.h" // JournalSet
#include "model.h"   // Model

#ifdef __cplusplus
extern "C" {
#endif

/* "OUT.journal", malloc'ed. */
char *journal_dir_of(const char *output);

/* Rank 0: the identity text of this run: everything an output depends on,
 * one "key value" line each. EVERY option that changes an output must be
 * here (a new sampling option too), or a resume could merge outputs of two
 * different runs. *requests: the input's non-blank lines (the number of
 * requests of a JSONL file, whose reader cannot tell it up front). */
char *run_identity(const GetpOptions *o, const Model *m, InputFormat fmt, int use_gpu, int64_t *requests,
                   Err *err);

/* Rank 0, before the output is opened (a fresh run truncates it): without
 * resume, GETP_ERR if dir holds journals, unless another getp holds the lock
 * on `output` (it is running, not interrupted: the lock's own message says
 * so). */
int resume_precheck(const char *output, const char *dir, int resume, Err *err);

/* Rank 0, before the engines are built. Without resume: GETP_ERR if dir holds
 * journals. With it: every journal's records with index >= done into set
 * (finished), GETP_ERR naming the file and the difference when an identity
 * differs. */
int resume_collect(const char *dir, const char *identity, int resume, int64_t done, JournalSet *set, Err *err);

/* Rank 0, as inference starts: dir exists and holds set alone (as dir/carry). */
int resume_prepare(const char *dir, const char *identity, const JournalSet *set, Err *err);

/* Rank 0, once the output is complete and every rank removed its journal. */
void resume_cleanup(const char *dir);

/* One rank's journal for a run; a thread of its own fsyncs it every 2 s. A
 * journal that cannot be written is a warning, not a failure: the run goes
 * on, and a kill then loses that rank's unfinished round. */
typedef struct RankJournal RankJournal;
RankJournal *rank_journal_open(const char *dir, int rank, const char *identity);
void rank_journal_add(RankJournal *j, const Output *o);
/* A new round: the output holds every earlier one. */
void rank_journal_new_round(RankJournal *j);
int rank_journal_fd(const RankJournal *j); // -1 without a journal
void rank_journal_close(RankJournal *j, int remove_it);

#ifdef __cplusplus
}
#endif
#endif
