/* model.c: what both loaders share: dispatch on the path, the Config checks,
 * the file mappings, and the Tensor accessors that decode f32, bf16 and MXFP4
 * rows for the CPU engine.
 *
 * MXFP4 layout (docs/MODEL.md §3b): a row of n weights is n/32 groups; group g of row r
 * has 16 bytes of codes at blocks + (r*(n/32) + g)*16 and one scale byte at
 * scales + r*(n/32) + g. Byte j holds element 2j in its low nibble and 2j+1 in
 * its high nibble. Value = MXFP4_VALUES[code] * 2^(scale - 127). tensor_row_dot
 * decodes one group into 32 floats, dots them with x (eight lanes, so the
 * compiler can vectorize without reassociating) and scales the group's sum
 * once with ldexpf, which is exact.
 */
#include "model.h"
#include "model_internal.h" // model_map_file

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const float MXFP4_VALUES[16] = {
    +0.0f, +0.5f, +1.0f, +1.5f, +2.0f, +3.0f, +4.0f, +6.0f,
    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f,
};

/* ---- loading ---------------------------------------------------------- */

int model_load(const char *path, Model *m, Err *err) {
    struct stat st;
    memset(m, 0, sizeof *m);
    if (stat(path, &st) != 0) return err_set(err, "cannot open model %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return model_load_safetensors_dir(path, m, err);
    return model_load_bin(path, m, err);
}

/* Open a model file for reading: O_NONBLOCK so that a FIFO (or a device)
 * put where a model file belongs is refused by the fstat check, never waited
 * on. Returns the fd (blocking again) or -1 with err set. */
int model_open_regular(const char *path, struct stat *st, Err *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return err_set(err, "cannot open %s: %s", path, strerror(errno)), -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return err_set(err, "%s is not a regular file (model files must be)", path), -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int model_map_file(Model *m, const char *path, const uint8_t **addr, size_t *len, Err *err) {
    struct stat st;
    int fd = model_open_regular(path, &st, err);
    if (fd < 0) return GETP_ERR;
    size_t n = (size_t)st.st_size;
    void *p = NULL;
    if (n > 0) {
        p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return err_set(err, "cannot mmap %s: %s", path, strerror(errno));
        }
    }
    close(fd);
    m->map_addr = xrealloc(m->map_addr, (size_t)(m->n_maps + 1) * sizeof *m->map_addr);
    m->map_len = xrealloc(m->map_len, (size_t)(m->n_maps + 1) * sizeof *m->map_len);
    m->map_addr[m->n_maps] = p;
    m->map_len[m->n_maps] = n;
    m->n_maps++;
    *addr = p;
    *len = n;
    return GETP_OK;
}

void model_free(Model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_maps; i++)
        if (m->map_addr[i]) munmap(m->map_addr[i], m->map_len[i]);
    free(m->map_addr);
    free(m->map_len);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

/* ---- config checks ---------------------------------------------------- */

/* Upper bounds: generous next to gpt-oss-120b (V 201088, H 2880, L 36, E 128),
 * small enough that every tensor size below fits easily in int64 and that an
 * absurd header is refused before any size arithmetic. */
#define MAX_VOCAB (1 << 22)
#define MAX_HIDDEN (1 << 16)
#define MAX_LAYERS 1024
#define MAX_EXPERTS 4096
#define MAX_HEAD_DIM 1024
#define MAX_HEADS 1024
#define MAX_SEQ (1 << 24)

static int check_range(const char *name, int v, int lo, int hi, Err *err) {
    if (v < lo || v > hi) return err_set(err, "config: %s = %d is out of range [%d, %d]", name, v, lo, hi);
    return GETP_OK;
}

static int check_positive_f(const char *name, float v, Err *err) {
    if (!(v > 0.0f) || !isfinite(v)) return err_set(err, "config: %s = %g must be positive and finite", name, v);
    return GETP_OK;
}

/* RoPE: frequencies theta^(-2i/d) need theta > 1 (YaRN divides by log theta;
 * theta <= 1 gives no rotation or growing frequencies); the tables must come
 * out finite. */
static int check_rope(const Config *c, Err *err) {
    if (!(c->rope_theta > 1.0f) || !isfinite(c->rope_theta))
        return err_set(err, "config: rope_theta = %g must be finite and greater than 1", c->rope_theta);
    float inv_freq[MAX_HEAD_DIM / 2], concentration;
    model_rope_table(c, inv_freq, &concentration);
    for (int i = 0; i < c->head_dim / 2; i++)
        if (!isfinite(inv_freq[i]) || !(inv_freq[i] > 0.0f))
            return err_set(err, "config: rope_theta = %g, rope_scaling_factor = %g and initial_context_length = "
                                "%d give a RoPE frequency %d of %g", c->rope_theta, c->rope_scaling_factor,
                           c->initial_context_length, i, inv_freq[i]);
    if (!isfinite(concentration) || !(concentration > 0.0f))
        return err_set(err, "config: rope_scaling_factor = %g gives a YaRN concentration of %g",
                       c->rope_scaling_factor, concentration);
    return GETP_OK;
}

int config_validate(const Config *c, Err *err) {
    if (check_range("vocab_size", c->vocab_size, 1, MAX_VOCAB, err) ||
        check_range("hidden", c->hidden, 1, MAX_HIDDEN, err) ||
        check_range("n_experts", c->n_experts, 1, MAX_EXPERTS, err) ||
        check_range("experts_per_token", c->experts_per_token, 1, c->n_experts, err) ||
        check_range("intermediate", c->intermediate, 1, MAX_HIDDEN, err) ||
        check_range("n_layers", c->n_layers, 1, MAX_LAYERS, err) ||
        check_range("head_dim", c->head_dim, 2, MAX_HEAD_DIM, err) ||
        check_range("n_heads", c->n_heads, 1, MAX_HEADS, err) ||
        check_range("n_kv_heads", c->n_kv_heads, 1, c->n_heads, err) ||
        check_range("initial_context_length", c->initial_context_length, 1, MAX_SEQ, err) ||
        check_range("max_seq_len", c->max_seq_len, 1, MAX_SEQ, err) ||
        check_range("sliding_window", c->sliding_window, 1, MAX_SEQ, err) ||
        check_positive_f("rope_theta", c->rope_theta, err) ||
        check_positive_f("rope_scaling_factor", c->rope_scaling_factor, err) ||
        check_positive_f("swiglu_limit", c->swiglu_limit, err))
        return GETP_ERR;
    if (c->head_dim % 2 != 0) return err_set(err, "config: head_dim = %d must be even", c->head_dim);
    if (c->n_heads % c->n_kv_heads != 0)
        return err_set(err, "config: n_heads = %d is not a multiple of n_kv_heads = %d", c->n_heads,
                       c->n_kv_heads);
    return check_rope(c, err);
}

/* ---- tensor accessors ------------------------------------------------- */

int64_t tensor_numel(const Tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* The 32 values of one MXFP4 group, without the scale. */
static inline void mxfp4_group_codes(const uint8_t *blk, float *v) {
    for (int j = 0; j < 16; j++) {
        v[2 * j] = MXFP4_VALUES[blk[j] & 15];
        v[2 * j + 1] = MXFP4_VALUES[blk[j] >> 4];
    }
}

/* Sum of a[i]*b[i] over 32 elements, eight lanes then a fixed reduction. */
static inline float dot32(const float *a, const float *b) {
    float acc[8] = {0};
    for (int i = 0; i < 32; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static float dot_f32(const float *w, const float *x, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += w[i + k] * x[i + k];
    for (; i < n; i++) acc[0] += w[i] * x[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static float dot_bf16(const uint16_t *w, const float *x, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += bf16_to_f32(w[i + k]) * x[i + k];
    for (; i < n; i++) acc[0] += bf16_to_f32(w[i]) * x[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static float dot_mxfp4(const uint8_t *blocks, const uint8_t *scales, const float *x, int64_t n) {
    float v[32], sum = 0.0f;
    for (int64_t g = 0; g < n / 32; g++) {
        mxfp4_group_codes(blocks + g * 16, v);
        sum += ldexpf(dot32(v, x + g * 32), (int)scales[g] - 127);
    }
    return sum;
}

static void check_row(const Tensor *t, int64_t row, int64_t n) {
    CHECK(t->ndim >= 1 && n == t->shape[t->ndim - 1]);
    CHECK(row >= 0 && row < tensor_numel(t) / n);
    CHECK(t->dtype != DT_MXFP4 || n % 32 == 0);
}

float tensor_row_dot(const Tensor *t, int64_t row, const float *x, int64_t n) {
    check_row(t, row, n);
    switch (t->dtype) {
    case DT_F32: return dot_f32((const float *)t->data + row * n, x, n);
    case DT_BF16: return dot_bf16((const uint16_t *)t->data + row * n, x, n);
    case DT_MXFP4:
        return dot_mxfp4((const uint8_t *)t->data + row * (n / 32) * 16, t->scales + row * (n / 32), x, n);
    }
    fatal("tensor_row_dot: bad dtype %d", (int)t->dtype);
}

void tensor_row_f32(const Tensor *t, int64_t row, int64_t n, float *out) {
    check_row(t, row, n);
    if (t->dtype == DT_F32) {
        memcpy(out, (const float *)t->data + row * n, (size_t)n * sizeof(float));
    } else if (t->dtype == DT_BF16) {
        const uint16_t *w = (const uint16_t *)t->data + row * n;
        for (int64_t i = 0; i < n; i++) out[i] = bf16_to_f32(w[i]);
    } else {
        const uint8_t *blocks = (const uint8_t *)t->data + row * (n / 32) * 16; // (n/32, 16)
        const uint8_t *scales = t->scales + row * (n / 32);                   // (n/32)
        for (int64_t g = 0; g < n / 32; g++) {
            mxfp4_group_codes(blocks + g * 16, out + g * 32);
            for (int k = 0; k < 32; k++) out[g * 32 + k] = ldexpf(out[g * 32 + k], (int)scales[g] - 127);
        }
    }
}

float tensor_get_f32(const Tensor *t, int64_t i) {
    CHECK(i >= 0 && i < tensor_numel(t));
    if (t->dtype == DT_F32) return ((const float *)t->data)[i];
    CHECK(t->dtype == DT_BF16);
    return bf16_to_f32(((const uint16_t *)t->data)[i]);
}

/* YaRN bounds: ntk_beta = 32 (fast) and ntk_alpha = 1 (slow), docs/MODEL.md "RoPE". */
#define ROPE_NTK_BETA 32.0
#define ROPE_NTK_ALPHA 1.0

void model_rope_table(const Config *c, float *inv_freq, float *concentration) {
    int half = c->head_dim / 2;
    double theta = c->rope_theta, factor = c->rope_scaling_factor;
    if (!(factor > 1.0)) { // plain RoPE
        for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(theta, -2.0 * i / c->head_dim);
        *concentration = 1.0f;
        return;
    }
    const double two_pi = 2.0 * 3.14159265358979323846;
    double L0 = c->initial_context_length;
    double low = half * log(L0 / (ROPE_NTK_BETA * two_pi)) / log(theta);
    double high = half * log(L0 / (ROPE_NTK_ALPHA * two_pi)) / log(theta);
    for (int i = 0; i < half; i++) {
        double freq = pow(theta, 2.0 * i / c->head_dim);
        double ramp = (i - low) / (high - low);
        ramp = ramp < 0.0 ? 0.0 : ramp > 1.0 ? 1.0 : ramp;
        double interpolation = 1.0 / (factor * freq), extrapolation = 1.0 / freq;
        inv_freq[i] = (float)(interpolation * ramp + extrapolation * (1.0 - ramp));
    }
    *concentration = (float)(0.1 * log(factor) + 1.0);
}
