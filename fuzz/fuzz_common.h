/* fuzz_common.h: what the libFuzzer targets of fuzz/ share: the tokenizer
 * they run with, loaded once. GETP_FUZZ_TOKENIZER names a rank file or
 * tokenizer.bin (CI passes the o200k_harmony file the tokenizer tests make);
 * without it, a toy rank file (the 256 bytes and a few merges) built here,
 * so a target runs anywhere. Each target's file says what it checks. */
#ifndef GETP_FUZZ_COMMON_H
#define GETP_FUZZ_COMMON_H

#include "tokenizer.h" // tokenizer_load, tokenizer_load_memory

static inline void fuzz_b64(const uint8_t *in, size_t n, char *out) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[k++] = A[v >> 18 & 63];
        out[k++] = A[v >> 12 & 63];
        out[k++] = i + 1 < n ? A[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? A[v & 63] : '=';
    }
    out[k] = '\0';
}

static inline const Tokenizer *fuzz_tokenizer(void) {
    static Tokenizer *t;
    if (t) return t;
    Err err = {{0}};
    const char *path = getenv("GETP_FUZZ_TOKENIZER");
    if (path && *path) {
        if (tokenizer_load(path, &t, &err) != GETP_OK) fatal("GETP_FUZZ_TOKENIZER: %s", err.msg);
        return t;
    }
    static const char *merges[] = {"th", "he", "  ", "in", "the", " t", "    ", "er", "\n\n", "an", " the", "\t\t"};
    size_t cap = 64 * (256 + sizeof merges / sizeof merges[0]), n = 0;
    char *text = xmalloc(cap), b64[64];
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        fuzz_b64(&byte, 1, b64);
        n += (size_t)snprintf(text + n, cap - n, "%s %d\n", b64, b);
    }
    for (size_t i = 0; i < sizeof merges / sizeof merges[0]; i++) {
        fuzz_b64((const uint8_t *)merges[i], strlen(merges[i]), b64);
        n += (size_t)snprintf(text + n, cap - n, "%s %zu\n", b64, 256 + i);
    }
    if (tokenizer_load_memory("toy ranks", (const uint8_t *)text, n, &t, &err) != GETP_OK)
        fatal("toy tokenizer: %s", err.msg);
    free(text);
    return t;
}

#endif
