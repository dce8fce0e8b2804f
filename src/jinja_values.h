/* jinja_values.h: JSON values written as the gpt-oss chat template's
 * reference renderer writes them (@huggingface/jinja, whose values are
 * JavaScript values; jinja_values.c says exactly how), and the growable text
 * the chat renderer builds. */
#ifndef GETP_JINJA_VALUES_H
#define GETP_JINJA_VALUES_H

#include "common.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *s; // (n) bytes, NUL-terminated once anything was added; malloc'ed
    size_t n, cap;
} TextBuf;

void text_add(TextBuf *b, const char *p, size_t n);
void text_puts(TextBuf *b, const char *p);
void text_json(TextBuf *b, json_t *string); // a JSON string's bytes

/* `{% if v %}`: Python truthiness (NULL = absent = false). */
int jinja_truthy(json_t *v);

/* `v|tojson`. */
void jinja_tojson(TextBuf *b, json_t *v);

/* `s|tojson` of n bytes of UTF-8 text. */
void jinja_string(TextBuf *b, const char *s, size_t n);

/* The text that `"..." + v` appends for v (v not null). */
void jinja_concat(TextBuf *b, json_t *v);

/* The keys of an object in JavaScript's order (malloc'ed array of the
 * object's own key strings, *n of them). */
const char **jinja_keys(json_t *obj, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
