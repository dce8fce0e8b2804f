/* io_sampling.h: the sampling side of a JSONL line or an OpenAI Batch body
 * (temperature, top_p, top_k, min_p, logprobs, top_logprobs) and the logprobs
 * of a result in OpenAI's two shapes. io_jsonl.c calls both; the fields, the
 * shapes and the choices made where OpenAI leaves room are written down in
 * docs/io_formats.md ("Sampling options", "Logprobs").
 */
#ifndef GETP_IO_SAMPLING_H
#define GETP_IO_SAMPLING_H

#include "engine.h"    // RequestParams, Output, GETP_MAX_TOP_LOGPROBS
#include "requests.h"  // RequestDefaults
#include "tokenizer.h" // tokenizer_token_bytes

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a request spells logprobs, after the endpoint it mirrors. */
typedef enum {
    LOGPROBS_JSONL = 0,      // getp's JSONL: either form below
    LOGPROBS_CHAT = 1,       // /v1/chat/completions: "logprobs": bool, "top_logprobs": 0..20
    LOGPROBS_COMPLETION = 2, // /v1/completions: "logprobs": 0..20 (alternatives per token)
} LogprobsForm;

/* Fill p's temperature, top_p, top_k, min_p and logprobs from the defaults d,
 * then from the members of o (the line, or the Batch body; null = absent).
 * A bad value is an error naming the field (err, without the line prefix). */
int sampling_options_parse(json_t *o, LogprobsForm form, const RequestDefaults *d, RequestParams *p,
                           Err *err);

/* The logprobs of o as JSON text (malloc'ed, NUL-terminated), in the shape
 * of `form`: LOGPROBS_CHAT chat.completion's {"content": [{"token",
 * "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}]},
 * one entry per generated id in order; LOGPROBS_JSONL the same with "id" in
 * every entry; LOGPROBS_COMPLETION text_completion's {"tokens",
 * "token_logprobs", "top_logprobs": [{text: logprob}], "text_offset"}, where
 * the first n_text ids are the choice's text (a stop id follows it) and
 * text_offset counts characters of that text. "null" when o has ids but no
 * logprobs. tok may be NULL (tokens then read "token_id:N", bytes null). */
char *logprobs_json_text(const Tokenizer *tok, const Output *o, LogprobsForm form, int n_text);

/* In the JSON text s (malloc'ed), replace the last member value that is the
 * string "mark" (`:"mark"`) by the JSON text v. Returns the new text, s
 * freed, or s itself when the mark is not there. */
char *json_splice_value(char *s, const char *mark, const char *v);

#ifdef __cplusplus
}
#endif
#endif
