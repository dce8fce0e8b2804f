/* fuzz_tokenizer_file.c: tokenizer_load_memory (src/tokenizer.c) on
 * arbitrary bytes: a tiktoken rank file or a course tokenizer.bin, told
 * apart by a NUL among the first 4 bytes. Either it loads, and then encodes
 * and round-trips a fixed text holding every byte value, or it is refused
 * with a message; never a crash or a read outside the input. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Tokenizer *t = NULL;
    Err err = {{0}};
    if (tokenizer_load_memory("fuzz-tokenizer", data, size, &t, &err) != GETP_OK) {
        CHECK(err.msg[0] != '\0' && t == NULL);
        return 0;
    }
    char text[256 + 32];
    for (int i = 0; i < 256; i++) text[i] = (char)i;
    memcpy(text + 256, " the  quick\n\n\tfox's 123 ", 24);
    int32_t *ids = NULL;
    int n = 0;
    CHECK(tokenizer_encode(t, text, 280, &ids, &n, &err) == GETP_OK);
    char *back = NULL;
    size_t len = 0;
    CHECK(tokenizer_decode(t, ids, n, &back, &len, &err) == GETP_OK);
    CHECK(len == 280 && memcmp(back, text, 280) == 0);
    free(back);
    free(ids);
    tokenizer_free(t);
    return 0;
}
