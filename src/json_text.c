/* json_text.c: see json_text.h. */
#include "json_text.h"

#include "common.h" // xmalloc, CHECK
#include "utf8.h"   // utf8_valid_len

json_t *json_utf8(const char *bytes, size_t len) {
    const uint8_t *s = (const uint8_t *)bytes;
    char *clean = xmalloc(len * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t bad = 0, ok = utf8_valid_len(s + i, len - i, &bad);
        if (ok) {
            memcpy(clean + o, s + i, ok);
            o += ok;
            i += ok;
        } else {
            memcpy(clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    json_t *j = json_stringn(clean, o);
    free(clean);
    CHECK(j != NULL);
    return j;
}
