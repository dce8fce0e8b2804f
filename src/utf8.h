/* utf8.h: the one UTF-8 decoder of getp (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF). The tokenizer uses it to find the valid
 * runs it regex-splits; json_text.c uses it to replace invalid sequences with
 * U+FFFD before text goes into JSON. */
#ifndef GETP_UTF8_H
#define GETP_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length (1..4) of the valid UTF-8 sequence at s (n >= 1 bytes left), or 0 if
 * the bytes there are not one. Then, when bad is not NULL, *bad is the length
 * of the maximal invalid subpart (1..3: Unicode's "U+FFFD substitution of
 * maximal subparts"), the bytes one U+FFFD replaces. */
size_t utf8_valid_len(const uint8_t *s, size_t n, size_t *bad);

#ifdef __cplusplus
}
#endif
#endif
