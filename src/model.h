/* model.h: the gpt-oss model as getp holds it in host memory.
 *
 * Both file formats (docs/MODEL.md §3a course .bin, §3b original safetensors
 * checkpoint) are mmap'ed read-only and described by Tensor views that point
 * into the mapping: nothing is copied. A Tensor carries its dtype, so the CPU
 * engine reads fp32, bf16 and MXFP4 weights through one accessor
 * (tensor_row_dot / tensor_row_f32) and the GPU loader converts per tensor.
 *
 * Shapes below use: V vocab, H hidden, L layers, E experts, I intermediate,
 * Dq = head_dim * n_heads, Dkv = head_dim * n_kv_heads.
 */
#ifndef GETP_MODEL_H
#define GETP_MODEL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int vocab_size;         // V
    int hidden;             // H
    int n_experts;          // E
    int experts_per_token;  // top-k (4)
    int intermediate;       // I
    int n_layers;           // L
    int head_dim;           // 64
    int n_heads;            // query heads
    int n_kv_heads;         // key/value heads
    int max_seq_len;        // context cap (.bin header; checkpoint: initial_context_length * scaling)
    int initial_context_length;
    float rope_theta;
    float rope_scaling_factor;
    int sliding_window;     // even layers attend to the last sliding_window positions
    float swiglu_limit;
} Config;

typedef enum {
    DT_F32 = 0,
    DT_BF16 = 1,
    DT_MXFP4 = 2, // blocks: 16 bytes per 32 weights; scales: 1 byte per 32 weights (bias 127)
} DType;

/* A read-only view of a tensor. For DT_MXFP4, shape is the logical (dequantized)
 * shape with the last dim the input dim (a multiple of 32); data points at the
 * blocks and `scales` at the scales. */
typedef struct {
    DType dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
    const uint8_t *scales; // DT_MXFP4 only
} Tensor;

typedef struct {
    Tensor attn_norm; // (H)            f32 or bf16
    Tensor w_qkv;     // (Dq+2Dkv, H)
    Tensor b_qkv;     // (Dq+2Dkv)
    Tensor sinks;     // (n_heads)
    Tensor w_o;       // (H, Dq)
    Tensor b_o;       // (H)
    Tensor mlp_norm;  // (H)
    Tensor w_gate;    // (E, H)       router
    Tensor b_gate;    // (E)
    Tensor w1;        // (E, 2I, H)   f32, bf16 or MXFP4; row 2j = gate, 2j+1 = linear
    Tensor b1;        // (E, 2I)
    Tensor w2;        // (E, H, I)    f32, bf16 or MXFP4
    Tensor b2;        // (E, H)
} LayerWeights;

typedef enum { MODEL_FORMAT_BIN = 0, MODEL_FORMAT_SAFETENSORS = 1 } ModelFormat;

typedef struct {
    Config cfg;
    ModelFormat format;
    DType bin_dtype;      // for MODEL_FORMAT_BIN: payload dtype (f32 or bf16)
    Tensor embedding;     // (V, H)
    Tensor unembedding;   // (V, H)
    Tensor final_norm;    // (H)
    LayerWeights *layers; // (L)
    /* mappings owned by the model (one per file) */
    int n_maps;
    void **map_addr;
    size_t *map_len;
} Model;

/* Load a model from a course .bin file or an original checkpoint directory
 * (config.json + *.safetensors). Validates everything; on failure returns
 * GETP_ERR with a one-line message naming the problem. */
int model_load(const char *path, Model *m, Err *err);
int model_load_bin(const char *path, Model *m, Err *err);
int model_load_safetensors_dir(const char *dir, Model *m, Err *err);
void model_free(Model *m);

/* Validate a Config's fields (positive, consistent); used by both loaders. */
int config_validate(const Config *c, Err *err);

/* ---- model facts both engines use (docs/MODEL.md) ---- */

/* rmsnorm epsilon of every norm of the model. */
#define MODEL_RMS_EPS 1e-5f

/* The attention window of layer l: even layers slide over the last
 * sliding_window positions, odd layers see every position (0 = no window). */
static inline int cfg_layer_window(const Config *c, int l) { return l % 2 == 0 ? c->sliding_window : 0; }

/* YaRN (or plain, when the scaling factor is <= 1) RoPE tables: inv_freq
 * (head_dim/2) and the concentration factor applied to both cos and sin;
 * computed in double. */
void model_rope_table(const Config *c, float *inv_freq, float *concentration);

static inline int cfg_q_dim(const Config *c) { return c->head_dim * c->n_heads; }
static inline int cfg_kv_dim(const Config *c) { return c->head_dim * c->n_kv_heads; }
static inline int cfg_qkv_dim(const Config *c) { return cfg_q_dim(c) + 2 * cfg_kv_dim(c); }

/* MXFP4 code -> value table (docs/MODEL.md §3b). */
extern const float MXFP4_VALUES[16];

/* Number of elements of a tensor (product of shape). */
int64_t tensor_numel(const Tensor *t);

/* Row `row` of a 2-D (or flattened leading dims) tensor whose last dim is n:
 * dot with x (length n), in fp32 arithmetic. Works for f32, bf16, MXFP4. */
float tensor_row_dot(const Tensor *t, int64_t row, const float *x, int64_t n);

/* Decode row `row` (length n) into out as fp32. */
void tensor_row_f32(const Tensor *t, int64_t row, int64_t n, float *out);

/* Element i of a 1-D-indexed f32/bf16 tensor (not MXFP4). */
float tensor_get_f32(const Tensor *t, int64_t i);

#ifdef __cplusplus
}
#endif
#endif
