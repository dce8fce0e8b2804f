/* harmony.h: the harmony chat format of gpt-oss, in ids.
 *
 * Rendering (prompt side). Each message becomes
 *     <|start|>{role}[<|channel|>{channel}]<|message|>{content}<|end|>
 * with role, channel and content tokenized as ordinary text (the text of a
 * special token inside content stays ordinary text) and the specials inserted
 * by id. The conversation ends with `<|start|>assistant`, the header the model
 * completes. An assistant message without an explicit channel is rendered in
 * the `final` channel: harmony puts a channel on every assistant message.
 * Nothing is added that the caller did not pass (no default system message);
 * docs/io_formats.md lists how this compares with OpenAI's published renderer
 * and with gpt-tokenizer, the oracle of tests/io/test_harmony.c.
 *
 * Parsing (output side). Generated ids are split into channels: a message the
 * model writes as `<|channel|>NAME<|message|>...<|end|>` lands in channel NAME
 * (`analysis`, `final`, or any other name, kept as written). Header text
 * (role, ` to=...` recipients, `<|constrain|>` types) is dropped; ordinary
 * text outside any message, and the body of a message without a channel, go
 * to `final`. Stop ids (<|return|>, <|call|>, <|endoftext|>) end a message and
 * are not text.
 */
#ifndef GETP_HARMONY_H
#define GETP_HARMONY_H

#include "common.h"
#include "tokenizer.h" // tokenizer_encode, tokenizer_special_id, tokenizer_decode

#ifdef __cplusplus
extern "C" {
#endif

/* The stop ids of a chat request: <|return|>, <|call|>, <|endoftext|>. */
#define HARMONY_N_STOP 3

typedef struct {
    const char *role;    // "system" | "developer" | "user" | "assistant"
    const char *channel; // NULL: none ("final" for assistant messages)
    const char *content; // (content_len) UTF-8 bytes, need not be NUL-terminated
    size_t content_len;
} HarmonyMessage;

/* 1 if role is one of the four roles harmony_render accepts. */
int harmony_role_valid(const char *role);

/* Render n messages plus the closing `<|start|>assistant` into *ids
 * (malloc'ed, caller frees), *n_ids ids. */
int harmony_render(const Tokenizer *t, const HarmonyMessage *msgs, int n, int32_t **ids,
                   int *n_ids, Err *err);

/* Fill stop[0..HARMONY_N_STOP) with the chat stop ids. */
int harmony_stop_ids(const Tokenizer *t, int32_t stop[HARMONY_N_STOP], Err *err);

typedef struct {
    char *name;   // channel name as the model wrote it ("final" for text outside channels)
    int32_t *ids; // (n_ids) content ids of every message in this channel, in order
    int n_ids;
} HarmonyChannel;

typedef struct {
    HarmonyChannel *channels; // (n_channels), in order of first appearance
    int n_channels;
} HarmonyParsed;

/* Split generated ids into channels. Never fails on odd sequences: whatever
 * the model wrote ends up in some channel or in a dropped header. */
void harmony_parse(const Tokenizer *t, const int32_t *ids, int n, HarmonyParsed *out);

/* The channel of that name, or NULL. */
const HarmonyChannel *harmony_channel(const HarmonyParsed *p, const char *name);

void harmony_parsed_free(HarmonyParsed *p);

#ifdef __cplusplus
}
#endif
#endif
