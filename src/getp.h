/* getp.h: the options of one getp run and the entry point that runs it
 * (getp_run.cpp, over MPI). main.c parses the command line into GetpOptions. */
#ifndef GETP_GETP_H
#define GETP_GETP_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    INPUT_AUTO = 0,   // detect from the file
    INPUT_TEXT = 1,   // course text: count line, one prompt per line (docs/MODEL.md §5)
    INPUT_IDS = 2,    // course layout, each prompt a line of space-separated ids
    INPUT_JSONL = 3,  // {"id", "prompt" | "messages" | "prompt_token_ids", ...}
    INPUT_BATCH = 4,  // OpenAI Batch API request file
} InputFormat;

typedef enum { BACKEND_AUTO = 0, BACKEND_CPU = 1, BACKEND_GPU = 2 } Backend;

/* --progress: how rank 0 shows a run's progress on stderr (app/progress.h). */
typedef enum {
    PROGRESS_OFF = 0,
    PROGRESS_BAR = 1,   // one line redrawn in place (a terminal)
    PROGRESS_LINES = 2, // a plain line every --progress-interval seconds (logs)
    PROGRESS_JSON = 3,  // one JSON object per line, same cadence (schedulers)
} ProgressMode;

typedef struct {
    const char *model_path;     // .bin file or checkpoint directory
    const char *input_path;     // -i
    const char *output_path;    // -o
    const char *tokenizer_path; // -z (NULL: not needed for ids in / ids out)
    const char *logits_dir;     // -m logits: write request_<i>.npy here
    int steps;                  // -n (0 = model max)
    float temperature;          // -t
    float top_p;                // -p
    int top_k;                  // -k (0 = off)
    float min_p;                // --min-p (0 = off)
    uint64_t seed;              // -s
    int ignore_eos;             // --ignore-eos: run every request to the step limit
    InputFormat input_format;   // --input-format
    Backend backend;            // --backend
    int batch_size;             // --batch (0 = from free memory)
    int precise;                // --precise: GPU activations and KV as bf16 pairs (fp32-grade)
    int share_gpu;              // --share-gpu: allow more local ranks than GPUs
    int progress;               // ProgressMode (--progress)
    double progress_interval;   // --progress-interval seconds (0: 1 s for the bar, else 10 s)
    int resume;                 // --resume
    int no_journal;             // --no-journal: do not journal finished requests
    int verbose;
    const char *reasoning_effort; // --reasoning-effort: chats' default (NULL: medium)
    const char *date;           // --date / GETP_DATE: chats' "Current date" (NULL: today, UTC)
} GetpOptions;

void getp_options_default(GetpOptions *o);

/* Exit status of a getp run: 0 every request ran, GETP_EXIT_PARTIAL some
 * requests failed (error records in the output, the rest ran), 1 the run
 * failed (nothing or part written, one message), 2 a bad command line. */
#define GETP_EXIT_PARTIAL 3

/* Runs the getp flow (MPI-aware; works without mpirun). Returns the process
 * exit code. */
int getp_main(const GetpOptions *o);

#ifdef __cplusplus
}
#endif
#endif
