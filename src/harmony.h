/* harmony.h: the harmony chat format of gpt-oss, in ids.
 *
 * Rendering (prompt side, harmony_chat.c). A chat request (messages, tools,
 * reasoning_effort, model_identity, tool_choice) becomes the prompt that the
 * official gpt-oss chat template renders, byte for byte: a system message
 * (model identity, knowledge cutoff, current date, reasoning effort, the
 * valid channels), the first system/developer message as a developer message
 * under "# Instructions", function tools as a TypeScript-like
 * `namespace functions`, then the conversation (earlier assistant turns as
 * their final text; a tool call and the analysis before it; tool results
 * addressed from `functions.NAME`), and the generation prompt
 * `<|start|>assistant`. docs/io_formats.md states every rule; the oracle test
 * tests/io/chat_template_oracle.mjs renders the template itself and compares.
 * Special tokens enter by id; every piece of text between two specials is
 * tokenized as one run of ordinary text, so the text `<|end|>` inside a
 * user's content stays text (the template's renderers would make it the
 * special token: the one deliberate difference).
 *
 * Parsing (output side, harmony.c). Generated ids are split into channels: a
 * message the model writes as `<|channel|>NAME<|message|>...<|end|>` lands in
 * channel NAME (`analysis`, `final`, or any other name, kept as written). A
 * message addressed to a recipient (` to=functions.NAME` in its header, before
 * or after the channel) is a tool call: its body is the call's arguments, and
 * it is not part of any channel. Other header text and `<|constrain|>` types
 * are dropped; ordinary text outside any message, and the body of a message
 * without a channel, go to `final`. Stop ids (<|return|>, <|call|>,
 * <|endoftext|>) end a message and are not text.
 */
#ifndef GETP_HARMONY_H
#define GETP_HARMONY_H

#include "common.h"
#include "tokenizer.h" // tokenizer_encode, tokenizer_special_id, tokenizer_decode

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- rendering */

/* What the command line fixes for the chats of a run. */
typedef struct {
    const char *reasoning_effort; // default effort: "low" | "medium" | "high"
    const char *date;             // "YYYY-MM-DD", the template's "Current date"
    size_t max_text_bytes;        // refuse a chat whose text is longer (0: no limit)
} HarmonyChatDefaults;

/* Render the chat request in `req` (a JSONL line or a Batch body: messages,
 * tools, tool_choice, reasoning_effort, model_identity) into *ids (malloc'ed,
 * caller frees), *n_ids ids. A request the template would refuse, or that
 * getp refuses (docs/io_formats.md), fails with one line naming the field. */
int harmony_render_chat(const Tokenizer *t, json_t *req, const HarmonyChatDefaults *d, int32_t **ids,
                        int *n_ids, Err *err);

/* 1 if s is "low", "medium" or "high". */
int harmony_effort_valid(const char *s);

/* 1 if s is a calendar date written YYYY-MM-DD. */
int harmony_date_valid(const char *s);

/* Today's UTC date as YYYY-MM-DD. */
void harmony_today(char out[11]);

/* JSON text of v as the template's `tojson` writes it (@huggingface/jinja,
 * i.e. JavaScript's JSON.stringify with ", " and ": " separators; see
 * harmony_chat.c), appended to *buf (*len bytes, malloc'ed). */
void harmony_tojson(json_t *v, char **buf, size_t *len);

/* The stop ids of a chat request: <|return|>, <|call|>, <|endoftext|>. */
#define HARMONY_N_STOP 3

/* Fill stop[0..HARMONY_N_STOP) with the chat stop ids. */
int harmony_stop_ids(const Tokenizer *t, int32_t stop[HARMONY_N_STOP], Err *err);

/* --------------------------------------------------------------- parsing */

typedef struct {
    char *name;   // channel name as the model wrote it ("final" for text outside channels)
    int32_t *ids; // (n_ids) content ids of every message in this channel, in order
    int n_ids;
} HarmonyChannel;

typedef struct {
    char *recipient; // as written after "to=", e.g. "functions.get_weather"
    int32_t *ids;    // (n_ids) the message body: the call's arguments
    int n_ids;
    int complete;    // 1: ended by <|call|> (else cut by another stop or the step bound)
} HarmonyCall;

typedef struct {
    HarmonyChannel *channels; // (n_channels), in order of first appearance
    int n_channels;
    HarmonyCall *calls;       // (n_calls), in order
    int n_calls;
} HarmonyParsed;

/* Split generated ids into channels and tool calls. Never fails on odd
 * sequences: whatever the model wrote ends up in some channel, a call, or a
 * dropped header. */
void harmony_parse(const Tokenizer *t, const int32_t *ids, int n, HarmonyParsed *out);

/* The channel of that name, or NULL. */
const HarmonyChannel *harmony_channel(const HarmonyParsed *p, const char *name);

void harmony_parsed_free(HarmonyParsed *p);

#ifdef __cplusplus
}
#endif
#endif
