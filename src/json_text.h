/* json_text.h: text for JSON output. jansson refuses strings that are not
 * valid UTF-8, and decoded model output need not be (random weights, a
 * character cut by the step bound), so every string getp writes to JSON goes
 * through here: invalid sequences become U+FFFD, one per maximal invalid
 * subpart (Unicode's recommended practice), valid text is unchanged. */
#ifndef GETP_JSON_TEXT_H
#define GETP_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A new jansson string of the bytes, invalid UTF-8 replaced by U+FFFD. */
json_t *json_utf8(const char *bytes, size_t len);

#ifdef __cplusplus
}
#endif
#endif
