/* test_model_corrupt_bin: damaged course .bin files are refused with the
 * right message and no crash. Each case copies the tiny fp32 .bin, mutates
 * it and expects model_load to fail naming the problem.
 *
 * usage: test_model_corrupt_bin PATH/TO/getp-model-gen
 */
#include "test_util.h"

static const char *g_dir;
static uint8_t *g_good;
static size_t g_good_len, g_bf16_len;

/* Write bytes as a case file and expect it refused with all of `want`. */
static void refuse(const char *what, const uint8_t *bytes, size_t n, const char *const *want) {
    char path[1024];
    snprintf(path, sizeof path, "%s/case.bin", g_dir);
    file_write(path, bytes, n);
    expect_refused(what, path, want);
}

/* The good file with header field `field` (0..14) set to v. */
static void refuse_header_i32(const char *what, int field, int32_t v, const char *const *want) {
    uint8_t *b = xmalloc(g_good_len);
    memcpy(b, g_good, g_good_len);
    memcpy(b + 4 * field, &v, 4);
    refuse(what, b, g_good_len, want);
    free(b);
}

/* A 120b header over no payload: the expected sizes (467 GB fp32) must be
 * computed without overflow. */
static void test_120b_sizes(void) {
    const int64_t V = 201088, H = 2880, E = 128, I = 2880, L = 36, NH = 64, Dq = 64 * 64, Dqkv = Dq + 2 * 8 * 64;
    const int64_t per_layer = 2 * H + Dqkv * H + Dqkv + H * Dq + H + NH + E * H + E + E * 2 * I * H + E * 2 * I +
                              E * H * I + E * H;
    const int64_t numel = 2 * V * H + H + L * per_layer;
    int32_t h[15] = {201088, 2880, 128, 4, 2880, 36, 64, 64, 8, 131072, 4096, 0, 0, 128, 0};
    float theta = 150000.0f, scaling = 32.0f, limit = 7.0f;
    memcpy(&h[11], &theta, 4);
    memcpy(&h[12], &scaling, 4);
    memcpy(&h[14], &limit, 4);
    char f32[32], bf16[32];
    snprintf(f32, sizeof f32, "(%lld bytes)", (long long)(60 + 4 * numel));
    snprintf(bf16, sizeof bf16, "(%lld bytes)", (long long)(60 + 2 * numel));
    EXPECT(60 + 4 * numel > 460000000000LL, "120b fp32 size %lld, want about 467 GB", (long long)(60 + 4 * numel));
    refuse("120b header, no payload", (const uint8_t *)h, 60, (const char *[]){"file size 60 ", f32, bf16, NULL});
}

int main(int argc, char **argv) {
    if (argc < 2) fatal("usage: test_model_corrupt_bin GEN");
    char *d = tmpdir_make("getp-corrupt-bin");
    g_dir = d;
    run_cmd("'%s' --preset tiny --seed 3 --bin '%s/good.bin' --dtype fp32", argv[1], d);
    run_cmd("'%s' --preset tiny --seed 3 --bin '%s/good16.bin' --dtype bf16", argv[1], d);
    char path[1024];
    snprintf(path, sizeof path, "%s/good16.bin", d);
    free(file_read(path, &g_bf16_len));
    snprintf(path, sizeof path, "%s/good.bin", d);
    g_good = file_read(path, &g_good_len);

    Model m;
    Err err = {{0}};
    int rc = model_load(path, &m, &err);
    EXPECT(rc == GETP_OK, "good .bin refused: %s", err.msg);
    if (rc == GETP_OK) model_free(&m);

    char sz_f32[32], sz_bf16[32], sz_bad[32];
    snprintf(sz_f32, sizeof sz_f32, "%zu", g_good_len);
    snprintf(sz_bf16, sizeof sz_bf16, "%zu", g_bf16_len);

    refuse("empty file", g_good, 0, (const char *[]){"too small", NULL});
    refuse("header cut short", g_good, 40, (const char *[]){"too small", "60", NULL});
    snprintf(sz_bad, sizeof sz_bad, "%zu", g_good_len - 1000);
    refuse("truncated payload", g_good, g_good_len - 1000,
           (const char *[]){"matches neither", sz_f32, sz_bf16, sz_bad, NULL});
    uint8_t *longer = xcalloc(g_good_len + 3, 1);
    memcpy(longer, g_good, g_good_len);
    snprintf(sz_bad, sizeof sz_bad, "%zu", g_good_len + 3);
    refuse("3 extra bytes", longer, g_good_len + 3, (const char *[]){"matches neither", sz_f32, sz_bf16, sz_bad, NULL});
    free(longer);

    refuse_header_i32("heads not divisible by kv heads", 8, 3, (const char *[]){"n_kv_heads", "bad header", NULL});
    refuse_header_i32("negative hidden", 1, -128, (const char *[]){"hidden", "-128", NULL});
    refuse_header_i32("absurd vocab", 0, 2147483647, (const char *[]){"vocab_size", "2147483647", NULL});
    refuse_header_i32("zero layers", 5, 0, (const char *[]){"n_layers", NULL});
    refuse_header_i32("top-k above experts", 3, 9, (const char *[]){"experts_per_token", NULL});
    refuse_header_i32("odd head_dim", 6, 63, (const char *[]){"head_dim", NULL});
    refuse_header_i32("negative max_seq_len", 9, -1, (const char *[]){"max_seq_len", NULL});
    refuse_header_i32("NaN rope_theta", 11, 0x7fc00000, (const char *[]){"rope_theta", NULL});
    /* a header that passes validation but describes a different payload size */
    refuse_header_i32("wrong layer count", 5, 3, (const char *[]){"matches neither", sz_f32, NULL});
    test_120b_sizes();
    snprintf(path, sizeof path, "%s/does-not-exist.bin", d);
    expect_refused("missing file", path, (const char *[]){"cannot open", NULL});

    free(g_good);
    tmpdir_remove(d);
    free(d);
    return test_finish();
}
