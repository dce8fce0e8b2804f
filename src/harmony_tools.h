/* harmony_tools.h: OpenAI function tools written as the gpt-oss chat
 * template writes them, a TypeScript-like `namespace functions`
 * (harmony_tools.c). Used by harmony_chat.c. */
#ifndef GETP_HARMONY_TOOLS_H
#define GETP_HARMONY_TOOLS_H

#include "common.h"
#include "jinja_values.h" // TextBuf

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if v is a tool or function name: 1-64 of A-Z a-z 0-9 _ - . */
int harmony_name_valid(json_t *v);

/* Check `tools`: an array of {"type": "function", "function": {name,
 * description, parameters}}; a problem fails naming tools[i]. */
int harmony_tools_check(json_t *tools, Err *err);

/* Append the template's `## functions ... } // namespace functions` for the
 * checked tools; a schema field of the wrong type fails naming its path. */
int harmony_tools_render(TextBuf *b, json_t *tools, Err *err);

#ifdef __cplusplus
}
#endif
#endif
