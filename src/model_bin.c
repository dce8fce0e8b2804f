/* model_bin.c: the course .bin (docs/MODEL.md §3a), mmap'ed read-only.
 *
 * A 60-byte header of 15 little-endian 4-byte fields, then sixteen tensors
 * back to back, all layers of one kind together. The same header serves an
 * fp32 and a bf16 payload; the file size tells them apart, and a size that
 * matches neither is refused. Every Tensor view points into the mapping.
 */
#include "model.h"
#include "model_internal.h" // model_map_file, tensor_view

#include <stddef.h>

#define BIN_HEADER_BYTES 60

/* One tensor kind of the payload: its shape per layer (or whole, for the
 * global ones) and where its view goes. */
typedef struct {
    const char *name;
    int per_layer;      // 1: stored (L, shape...), one view per layer
    int ndim;           // of one layer's view
    int64_t shape[3];
    Tensor *global;     // destination for per_layer == 0
    size_t layer_field; // offsetof(LayerWeights, x) for per_layer == 1
} BinTensor;

enum { N_BIN_TENSORS = 16 };

static void bin_layout(const Config *c, Model *m, BinTensor t[N_BIN_TENSORS]) {
    const int64_t V = c->vocab_size, H = c->hidden, E = c->n_experts, I = c->intermediate;
    const int64_t Dq = cfg_q_dim(c), Dqkv = cfg_qkv_dim(c), NH = c->n_heads;
    const BinTensor layout[N_BIN_TENSORS] = {
        {"embedding", 0, 2, {V, H}, &m->embedding, 0},
        {"unembedding", 0, 2, {V, H}, &m->unembedding, 0},
        {"attn_norm", 1, 1, {H}, NULL, offsetof(LayerWeights, attn_norm)},
        {"mlp_norm", 1, 1, {H}, NULL, offsetof(LayerWeights, mlp_norm)},
        {"final_norm", 0, 1, {H}, &m->final_norm, 0},
        {"w_qkv", 1, 2, {Dqkv, H}, NULL, offsetof(LayerWeights, w_qkv)},
        {"b_qkv", 1, 1, {Dqkv}, NULL, offsetof(LayerWeights, b_qkv)},
        {"w_o", 1, 2, {H, Dq}, NULL, offsetof(LayerWeights, w_o)},
        {"b_o", 1, 1, {H}, NULL, offsetof(LayerWeights, b_o)},
        {"sinks", 1, 1, {NH}, NULL, offsetof(LayerWeights, sinks)},
        {"w_gate", 1, 2, {E, H}, NULL, offsetof(LayerWeights, w_gate)},
        {"b_gate", 1, 1, {E}, NULL, offsetof(LayerWeights, b_gate)},
        {"w1", 1, 3, {E, 2 * I, H}, NULL, offsetof(LayerWeights, w1)},
        {"b1", 1, 2, {E, 2 * I}, NULL, offsetof(LayerWeights, b1)},
        {"w2", 1, 3, {E, H, I}, NULL, offsetof(LayerWeights, w2)},
        {"b2", 1, 2, {E, H}, NULL, offsetof(LayerWeights, b2)},
    };
    memcpy(t, layout, sizeof layout);
}

static int64_t bin_view_numel(const BinTensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* Total payload elements. config_validate's bounds keep this far below 2^62. */
static int64_t bin_payload_numel(const Config *c, const BinTensor t[N_BIN_TENSORS]) {
    int64_t total = 0;
    for (int i = 0; i < N_BIN_TENSORS; i++) total += bin_view_numel(&t[i]) * (t[i].per_layer ? c->n_layers : 1);
    return total;
}

static int32_t read_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4); // little-endian host assumed (x86-64, aarch64)
    return v;
}

static float read_f32(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return v;
}

static void bin_read_header(const uint8_t *h, Config *c) {
    c->vocab_size = read_i32(h + 0);
    c->hidden = read_i32(h + 4);
    c->n_experts = read_i32(h + 8);
    c->experts_per_token = read_i32(h + 12);
    c->intermediate = read_i32(h + 16);
    c->n_layers = read_i32(h + 20);
    c->head_dim = read_i32(h + 24);
    c->n_heads = read_i32(h + 28);
    c->n_kv_heads = read_i32(h + 32);
    c->max_seq_len = read_i32(h + 36);
    c->initial_context_length = read_i32(h + 40);
    c->rope_theta = read_f32(h + 44);
    c->rope_scaling_factor = read_f32(h + 48);
    c->sliding_window = read_i32(h + 52);
    c->swiglu_limit = read_f32(h + 56);
}

/* Point every view at its place in the payload. */
static void bin_assign_views(Model *m, const BinTensor t[N_BIN_TENSORS], const uint8_t *payload, size_t esize) {
    const DType dt = esize == 4 ? DT_F32 : DT_BF16;
    const uint8_t *p = payload;
    for (int i = 0; i < N_BIN_TENSORS; i++) {
        const int64_t n = bin_view_numel(&t[i]);
        if (!t[i].per_layer) {
            *t[i].global = tensor_view(dt, p, t[i].ndim, t[i].shape);
            p += (size_t)n * esize;
            continue;
        }
        for (int l = 0; l < m->cfg.n_layers; l++) {
            Tensor *dst = (Tensor *)((char *)&m->layers[l] + t[i].layer_field);
            *dst = tensor_view(dt, p, t[i].ndim, t[i].shape);
            p += (size_t)n * esize;
        }
    }
}

int model_load_bin(const char *path, Model *m, Err *err) {
    memset(m, 0, sizeof *m);
    m->format = MODEL_FORMAT_BIN;
    const uint8_t *base;
    size_t size;
    if (model_map_file(m, path, &base, &size, err)) goto fail;
    if (size < BIN_HEADER_BYTES) {
        err_set(err, "%s: file of %zu bytes is too small for the %d-byte header", path, size, BIN_HEADER_BYTES);
        goto fail;
    }
    bin_read_header(base, &m->cfg);
    Err cerr;
    if (config_validate(&m->cfg, &cerr)) {
        err_set(err, "%s: bad header: %s", path, cerr.msg);
        goto fail;
    }
    BinTensor t[N_BIN_TENSORS];
    bin_layout(&m->cfg, m, t);
    const uint64_t numel = (uint64_t)bin_payload_numel(&m->cfg, t);
    const uint64_t size_f32 = BIN_HEADER_BYTES + 4 * numel, size_bf16 = BIN_HEADER_BYTES + 2 * numel;
    if (size == size_f32) {
        m->bin_dtype = DT_F32;
    } else if (size == size_bf16) {
        m->bin_dtype = DT_BF16;
    } else {
        err_set(err,
                "%s: file size %zu matches neither the fp32 payload (%llu bytes) nor the bf16 payload "
                "(%llu bytes) for its header",
                path, size, (unsigned long long)size_f32, (unsigned long long)size_bf16);
        goto fail;
    }
    m->layers = xcalloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    bin_assign_views(m, t, base + BIN_HEADER_BYTES, m->bin_dtype == DT_F32 ? 4 : 2);
    return GETP_OK;
fail:
    model_free(m);
    return GETP_ERR;
}
