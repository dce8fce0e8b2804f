/* fuzz_tokenizer.c: tokenizer_encode and tokenizer_decode (src/tokenizer.c)
 * on arbitrary bytes. Checked, as tokenizer.c promises for any input (valid
 * UTF-8 or not): encode succeeds, never yields a special id, and decoding its
 * ids gives the input back byte for byte. The same bytes read as 32-bit ids
 * decode or fail with a message naming an unknown id, never crash. */
#include "fuzz_common.h"

enum { FIRST_SPECIAL = 199998 }; // o200k_harmony's and the toy's specials start here

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const Tokenizer *t = fuzz_tokenizer();
    int32_t *ids = NULL;
    int n = 0;
    Err err = {{0}};
    if (tokenizer_encode(t, (const char *)data, size, &ids, &n, &err) != GETP_OK) fatal("encode: %s", err.msg);
    for (int i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < FIRST_SPECIAL);
    char *text = NULL;
    size_t len = 0;
    if (tokenizer_decode(t, ids, n, &text, &len, &err) != GETP_OK) fatal("decode: %s", err.msg);
    CHECK(len == size && (size == 0 || memcmp(text, data, size) == 0));
    free(text);
    free(ids);

    int m = (int)(size / 4);
    int32_t *raw = xmalloc((size_t)(m ? m : 1) * sizeof *raw);
    memcpy(raw, data, (size_t)m * 4);
    text = NULL;
    if (tokenizer_decode(t, raw, m, &text, &len, &err) != GETP_OK) CHECK(strstr(err.msg, "id") != NULL);
    free(text);
    free(raw);
    return 0;
}
