/* tokenizer.h: exact o200k_harmony (docs/MODEL.md §4).
 *
 * Ordinary text: PCRE2 pre-split with the o200k pattern, then byte-level BPE by
 * rank on each piece. The text of a special token inside a prompt stays
 * ordinary text; special ids come only through tokenizer_special_id (the chat
 * template). Decoding concatenates each id's bytes.
 *
 * Loads a tiktoken rank file (`base64 rank` per line; specials added by id as
 * docs/MODEL.md §4 lists) or the course tokenizer.bin (docs/MODEL.md §3c).
 * All functions taking a const Tokenizer are safe to call from several
 * threads.
 */
#ifndef GETP_TOKENIZER_H
#define GETP_TOKENIZER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct Tokenizer Tokenizer;

/* Detects the format from the file's content. */
int tokenizer_load(const char *path, Tokenizer **out, Err *err);
/* The same from the file's bytes in memory (name is for messages; the fuzz
 * targets in fuzz/ use it). */
int tokenizer_load_memory(const char *name, const uint8_t *data, size_t size, Tokenizer **out, Err *err);
void tokenizer_free(Tokenizer *t);

/* Number of ids (201088 for o200k_harmony). */
int tokenizer_vocab_size(const Tokenizer *t);

/* Encode len bytes of text (any bytes; invalid UTF-8 handled as documented in
 * tokenizer.c) into *ids (malloc'ed, caller frees), *n ids. */
int tokenizer_encode(const Tokenizer *t, const char *text, size_t len, int32_t **ids, int *n,
                     Err *err);

/* The longest id's byte length (specials' names included). */
size_t tokenizer_max_token_bytes(const Tokenizer *t);

/* Bytes of one id (not NUL-terminated); NULL with *len 0 for an unknown id. */
const char *tokenizer_token_bytes(const Tokenizer *t, int32_t id, size_t *len);

/* Decode n ids to bytes: *out malloc'ed, NUL-terminated, *len bytes. Unknown
 * ids are an error naming the id. */
int tokenizer_decode(const Tokenizer *t, const int32_t *ids, int n, char **out, size_t *len,
                     Err *err);

/* Id of a special token by its text ("<|start|>"), or -1. */
int32_t tokenizer_special_id(const Tokenizer *t, const char *name);

#ifdef __cplusplus
}
#endif
#endif
