/* test_model_tensor: the Tensor accessors on hand-built tensors (f32, bf16,
 * MXFP4 with known codes and scales) against values written out here
 * independently, and config_validate on good and bad configs. */
#include "test_util.h"

#include <math.h>

/* The code table of docs/MODEL.md §3b, written out again rather than taken from model.c. */
static const double CODE_VALUE[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void test_mxfp4_layout(void) {
    /* 3 rows of 64 weights: 2 groups each. */
    enum { R = 3, N = 64, G = N / 32 };
    uint8_t blocks[R * G * 16], scales[R * G];
    uint32_t s = 7;
    for (size_t i = 0; i < sizeof blocks; i++) blocks[i] = (uint8_t)(frand(&s) * 128 + 128);
    for (size_t i = 0; i < sizeof scales; i++) scales[i] = (uint8_t)(120 + i % 9);
    blocks[0] = 0x21; // row 0: element 0 = code 1 (+0.5), element 1 = code 2 (+1)
    blocks[1] = 0xf9; // element 2 = code 9 (-0.5), element 3 = code 15 (-6)
    scales[0] = 128;  // x2
    Tensor t = {.dtype = DT_MXFP4, .ndim = 2, .shape = {R, N}, .data = blocks, .scales = scales};
    float row[N];
    tensor_row_f32(&t, 0, N, row);
    EXPECT(row[0] == 1.0f && row[1] == 2.0f && row[2] == -1.0f && row[3] == -12.0f,
           "nibble order: got %g %g %g %g", row[0], row[1], row[2], row[3]);
    for (int r = 0; r < R; r++) {
        tensor_row_f32(&t, r, N, row);
        int bad = 0;
        for (int k = 0; k < N; k++) {
            int g = k / 32, j = (k % 32) / 2;
            uint8_t b = blocks[(r * G + g) * 16 + j];
            int code = k % 2 ? b >> 4 : b & 15;
            double want = CODE_VALUE[code] * pow(2.0, scales[r * G + g] - 127);
            bad += (double)row[k] != want;
        }
        EXPECT(bad == 0, "row %d: %d values differ from the hand decode", r, bad);
    }
}

/* tensor_row_dot against a double-precision dot of the decoded row. */
static void check_dot(const Tensor *t, int64_t rows, int64_t n, const char *what) {
    float *row = xmalloc((size_t)n * sizeof *row), *x = xmalloc((size_t)n * sizeof *x);
    uint32_t s = 99;
    for (int64_t i = 0; i < n; i++) x[i] = frand(&s);
    for (int64_t r = 0; r < rows; r++) {
        tensor_row_f32(t, r, n, row);
        double ref = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) ref += (double)row[i] * x[i], mag += fabs((double)row[i] * x[i]);
        float got = tensor_row_dot(t, r, x, n);
        EXPECT(fabs(got - ref) <= 1e-5 * mag + 1e-30, "%s row %lld: dot %.9g vs %.9g", what, (long long)r, got, ref);
    }
    free(row);
    free(x);
}

static void test_dots(void) {
    enum { R = 5, N = 37, NM = 96 };
    float wf[R * N];
    uint16_t wb[R * N];
    uint32_t s = 3;
    for (int i = 0; i < R * N; i++) wf[i] = frand(&s), wb[i] = f32_to_bf16(frand(&s));
    Tensor tf = {.dtype = DT_F32, .ndim = 2, .shape = {R, N}, .data = wf};
    Tensor tb = {.dtype = DT_BF16, .ndim = 2, .shape = {R, N}, .data = wb};
    check_dot(&tf, R, N, "f32");
    check_dot(&tb, R, N, "bf16");
    EXPECT(tensor_get_f32(&tf, 40) == wf[40], "tensor_get_f32 f32");
    EXPECT(tensor_get_f32(&tb, 41) == bf16_to_f32(wb[41]), "tensor_get_f32 bf16");
    float row[N];
    tensor_row_f32(&tb, 2, N, row);
    EXPECT(row[5] == bf16_to_f32(wb[2 * N + 5]), "bf16 row decode");
    EXPECT(tensor_numel(&tf) == R * N, "numel");

    uint8_t blocks[2 * 3 * (NM / 32) * 16], scales[2 * 3 * (NM / 32)];
    for (size_t i = 0; i < sizeof blocks; i++) blocks[i] = (uint8_t)(frand(&s) * 128 + 128);
    for (size_t i = 0; i < sizeof scales; i++) scales[i] = (uint8_t)(118 + i % 12);
    Tensor tm = {.dtype = DT_MXFP4, .ndim = 3, .shape = {2, 3, NM}, .data = blocks, .scales = scales};
    check_dot(&tm, 6, NM, "mxfp4");
}

static Config good_config(void) {
    return (Config){.vocab_size = 201088, .hidden = 2880, .n_experts = 32, .experts_per_token = 4,
                    .intermediate = 2880, .n_layers = 24, .head_dim = 64, .n_heads = 64, .n_kv_heads = 8,
                    .max_seq_len = 131072, .initial_context_length = 4096, .rope_theta = 150000.0f,
                    .rope_scaling_factor = 32.0f, .sliding_window = 128, .swiglu_limit = 7.0f};
}

static void expect_bad_config(Config c, const char *want, const char *what) {
    Err err = {{0}};
    int rc = config_validate(&c, &err);
    EXPECT(rc == GETP_ERR && strstr(err.msg, want), "%s: rc %d, message \"%s\" lacks \"%s\"", what, rc, err.msg, want);
}

static void test_config(void) {
    Config c = good_config();
    Err err = {{0}};
    EXPECT(config_validate(&c, &err) == GETP_OK, "20b config refused: %s", err.msg);
    c = good_config(), c.n_kv_heads = 7;
    expect_bad_config(c, "not a multiple of n_kv_heads", "heads % kv");
    c = good_config(), c.head_dim = 63;
    expect_bad_config(c, "head_dim", "odd head_dim");
    c = good_config(), c.hidden = -5;
    expect_bad_config(c, "hidden", "negative hidden");
    c = good_config(), c.vocab_size = 2147483647;
    expect_bad_config(c, "vocab_size", "absurd vocab");
    c = good_config(), c.experts_per_token = 33;
    expect_bad_config(c, "experts_per_token", "top-k > E");
    c = good_config(), c.n_layers = 0;
    expect_bad_config(c, "n_layers", "no layers");
    c = good_config(), c.rope_theta = NAN;
    expect_bad_config(c, "rope_theta", "NaN theta");
    c = good_config(), c.swiglu_limit = -1.0f;
    expect_bad_config(c, "swiglu_limit", "negative limit");
    /* RoPE (issue 17, F5): theta 1 made YaRN divide by log 1 = 0 and every logit NaN */
    c = good_config(), c.rope_theta = 1.0f;
    expect_bad_config(c, "rope_theta", "theta 1");
    c = good_config(), c.rope_theta = 0.5f;
    expect_bad_config(c, "rope_theta", "theta below 1");
    c = good_config(), c.rope_theta = INFINITY;
    expect_bad_config(c, "rope_theta", "infinite theta");
    c = good_config(), c.rope_scaling_factor = 0.0f;
    expect_bad_config(c, "rope_scaling_factor", "factor 0");
    c = good_config(), c.rope_scaling_factor = NAN;
    expect_bad_config(c, "rope_scaling_factor", "NaN factor");
    c = good_config(), c.rope_scaling_factor = 0.5f;
    EXPECT(config_validate(&c, &err) == GETP_OK, "factor 0.5 (plain RoPE) refused: %s", err.msg);
    c = good_config(), c.rope_theta = 1.0001f, c.initial_context_length = 1;
    EXPECT(config_validate(&c, &err) == GETP_OK, "theta just above 1 refused: %s", err.msg);
    /* whatever passes gives finite tables */
    float inv[32], conc;
    model_rope_table(&c, inv, &conc);
    int finite = isfinite(conc);
    for (int i = 0; i < 32; i++) finite &= isfinite(inv[i]);
    EXPECT(finite, "theta just above 1: finite RoPE tables");
}

int main(void) {
    test_mxfp4_layout();
    test_dots();
    test_config();
    return test_finish();
}
