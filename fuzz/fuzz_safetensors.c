/* fuzz_safetensors.c: the checkpoint parsers of src/model_st.c on arbitrary
 * bytes. The first byte picks the parser, the rest is its input:
 *   odd   config.json text (model_st_config_parse): on success the Config
 *         passes config_validate and its RoPE tables are finite;
 *   even  one safetensors file (model_st_header_check: the 8-byte length,
 *         the JSON header, every entry's dtype, shape and offsets against the
 *         data region, overlaps, duplicate names).
 * Either returns GETP_OK or GETP_ERR with a message; never a crash, a read
 * outside the input (ASan) or undefined behaviour (UBSan). */
#include "model_internal.h" // model_st_config_parse, model_st_header_check

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    Err err = {{0}};
    if (data[0] & 1) {
        Config c;
        memset(&c, 0, sizeof c);
        if (model_st_config_parse("config.json", (const char *)data + 1, size - 1, &c, &err) == GETP_OK) {
            CHECK(config_validate(&c, &err) == GETP_OK);
            float inv[512], conc;
            model_rope_table(&c, inv, &conc);
            CHECK(isfinite(conc));
            for (int i = 0; i < c.head_dim / 2; i++) CHECK(isfinite(inv[i]) && inv[i] > 0.0f);
        } else {
            CHECK(err.msg[0] != '\0');
        }
    } else if (model_st_header_check("model.safetensors", data + 1, size - 1, &err) != GETP_OK) {
        CHECK(err.msg[0] != '\0');
    }
    return 0;
}
