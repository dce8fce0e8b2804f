/* utf8.c: see utf8.h. */
#include "utf8.h"

size_t utf8_valid_len(const uint8_t *s, size_t n, size_t *bad) {
    const unsigned c = s[0];
    size_t need;                   // continuation bytes
    unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;      // no overlongs
        else if (c == 0xED) hi = 0x9F; // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;      // no overlongs
        else if (c == 0xF4) hi = 0x8F; // nothing past U+10FFFF
    } else {
        if (bad) *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        const unsigned lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
        if (k >= n || s[k] < lo_k || s[k] > hi_k) {
            if (bad) *bad = k;
            return 0;
        }
    }
    return need + 1;
}
