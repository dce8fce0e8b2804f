/* getp-model-gen: deterministic synthetic gpt-oss checkpoints.
 *
 *   getp-model-gen --preset tiny|20b|120b [overrides] --seed N
 *                  [--out DIR] [--bin FILE --dtype fp32|bf16]
 *
 * --out writes DIR/config.json (OpenAI key names) + DIR/model.safetensors
 * (MXFP4 experts, bf16 everything else); --bin writes the course .bin
 * (docs/MODEL.md §3a) of the SAME weights: bf16 values widened exactly, MXFP4 experts
 * dequantized exactly. Every value is a function of (seed, tensor id, element
 * or group index) through a counter-based hash, so tensors are produced in
 * bounded chunks in any order (OpenMP inside a chunk) and streamed to disk:
 * memory stays at a few chunk buffers even for the 120b shape.
 *
 * Scales keep activations realistic: embeddings ~N(0,1), linear weights
 * ~N(0, 1/fan_in) (MXFP4: uniform codes, per-group exponent around the same
 * target std), norms near 1, small biases, sinks ~N(0, 0.5^2).
 */
#include "model.h" // Config, config_validate, MXFP4_VALUES

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>

#define CHUNK_BYTES (16u << 20)

/* ---- the weights as functions of (seed, tensor, index) ------------------ */

typedef enum { V_NORMAL, V_NORM, V_SMALL, V_MXFP4 } ValueKind;

/* Tensor kinds: three global, then the thirteen of each layer. */
enum { T_EMB, T_UNEMB, T_FINAL_NORM, T_ATTN_NORM, T_QKV_W, T_QKV_B, T_SINKS, T_O_W, T_O_B,
       T_MLP_NORM, T_GATE_W, T_GATE_B, T_W1, T_B1, T_W2, T_B2, T_COUNT };

typedef struct {
    char name[96];    // safetensors name (MXFP4: prefix of .blocks / .scales)
    uint64_t stream;  // hash stream of this tensor
    ValueKind vk;
    float std;        // spread (V_NORM: around 1)
    int exp0;         // V_MXFP4: group exponent giving about this std
    int ndim;
    int64_t shape[3]; // logical shape
    int64_t numel;
} GenTensor;

static inline uint64_t mix64(uint64_t z) { // splitmix64 finalizer
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t hash_at(uint64_t stream, uint64_t i) { return mix64(stream + i * 0x9e3779b97f4a7c15ull); }

/* Roughly N(0,1): Irwin-Hall sum of four 16-bit uniforms. */
static inline float normal_at(uint64_t stream, uint64_t i) {
    uint64_t h = hash_at(stream, i);
    float s = (float)(h & 0xffff) + (float)((h >> 16) & 0xffff) + (float)((h >> 32) & 0xffff) + (float)(h >> 48);
    return (s - 131070.0f) * (1.7320508f / 65536.0f);
}

static uint16_t dense_bf16(const GenTensor *t, int64_t i) {
    float z = normal_at(t->stream, (uint64_t)i);
    float v = t->vk == V_NORM ? 1.0f + t->std * z : t->std * z;
    return f32_to_bf16(v);
}

/* MXFP4 group q (row-major over (E, R, C/32)): its 32 codes are the nibbles
 * of two hashes, so its 16 block bytes are those hashes' little-endian bytes. */
static void mxfp4_block(const GenTensor *t, int64_t q, uint8_t blk[16]) {
    uint64_t h[2] = {hash_at(t->stream, 2 * (uint64_t)q), hash_at(t->stream, 2 * (uint64_t)q + 1)};
    for (int j = 0; j < 16; j++) blk[j] = (uint8_t)(h[j / 8] >> (8 * (j % 8)));
}

/* Group q's scale: the tensor's exponent, jittered by -1, 0 or +1. */
static uint8_t mxfp4_scale(const GenTensor *t, int64_t q) {
    int jitter = (int)(hash_at(t->stream ^ 0x5ca1e5ca1e5ull, (uint64_t)q) % 3) - 1;
    return (uint8_t)(127 + t->exp0 + jitter);
}

static void mxfp4_values(const GenTensor *t, int64_t q, float v[32]) {
    uint8_t blk[16];
    mxfp4_block(t, q, blk);
    float s = ldexpf(1.0f, (int)mxfp4_scale(t, q) - 127); // exact: scales stay in the normal range
    for (int j = 0; j < 16; j++) {
        v[2 * j] = MXFP4_VALUES[blk[j] & 15] * s;
        v[2 * j + 1] = MXFP4_VALUES[blk[j] >> 4] * s;
    }
}

static void gen_tensor(const Config *c, uint64_t seed, int kind, int layer, GenTensor *t) {
    const int64_t V = c->vocab_size, H = c->hidden, E = c->n_experts, I = c->intermediate;
    const int64_t Dq = cfg_q_dim(c), Dqkv = cfg_qkv_dim(c);
    static const char *names[T_COUNT] = {"embedding.weight", "unembedding.weight", "norm.scale", "attn.norm.scale",
                                         "attn.qkv.weight", "attn.qkv.bias", "attn.sinks", "attn.out.weight",
                                         "attn.out.bias", "mlp.norm.scale", "mlp.gate.weight", "mlp.gate.bias",
                                         "mlp.mlp1_weight", "mlp.mlp1_bias", "mlp.mlp2_weight", "mlp.mlp2_bias"};
    const float sH = 1.0f / sqrtf((float)H);
    struct { ValueKind vk; float std; int ndim; int64_t s0, s1, s2; } k[T_COUNT] = {
        [T_EMB] = {V_NORMAL, 1.0f, 2, V, H, 0},       [T_UNEMB] = {V_NORMAL, 2.0f * sH, 2, V, H, 0},
        [T_FINAL_NORM] = {V_NORM, 0.1f, 1, H, 0, 0},  [T_ATTN_NORM] = {V_NORM, 0.1f, 1, H, 0, 0},
        [T_QKV_W] = {V_NORMAL, sH, 2, Dqkv, H, 0},    [T_QKV_B] = {V_SMALL, 0.05f, 1, Dqkv, 0, 0},
        [T_SINKS] = {V_SMALL, 0.5f, 1, c->n_heads, 0, 0},
        [T_O_W] = {V_NORMAL, 1.0f / sqrtf((float)Dq), 2, H, Dq, 0},
        [T_O_B] = {V_SMALL, 0.05f, 1, H, 0, 0},       [T_MLP_NORM] = {V_NORM, 0.1f, 1, H, 0, 0},
        [T_GATE_W] = {V_NORMAL, 2.0f * sH, 2, E, H, 0}, [T_GATE_B] = {V_SMALL, 0.05f, 1, E, 0, 0},
        [T_W1] = {V_MXFP4, sH, 3, E, 2 * I, H},       [T_B1] = {V_SMALL, 0.05f, 2, E, 2 * I, 0},
        [T_W2] = {V_MXFP4, 1.0f / sqrtf((float)I), 3, E, H, I}, [T_B2] = {V_SMALL, 0.05f, 2, E, H, 0},
    };
    memset(t, 0, sizeof *t);
    if (kind < T_ATTN_NORM) snprintf(t->name, sizeof t->name, "%s", names[kind]);
    else snprintf(t->name, sizeof t->name, "block.%d.%s", layer, names[kind]);
    t->vk = k[kind].vk;
    t->std = k[kind].std;
    t->ndim = k[kind].ndim;
    t->shape[0] = k[kind].s0, t->shape[1] = k[kind].s1, t->shape[2] = k[kind].s2;
    t->numel = 1;
    for (int i = 0; i < t->ndim; i++) t->numel *= t->shape[i];
    t->stream = mix64(mix64(mix64(seed) ^ (uint64_t)kind) + (uint64_t)layer);
    t->exp0 = (int)lrintf(log2f(t->std / 2.9262f)); // rms of uniform-code MXFP4 values: sqrt(8.5625)
}

/* ---- streaming writer ----------------------------------------------------- */

/* What a stream writes for one tensor: bf16 or f32 values, or MXFP4 parts. */
typedef enum { P_BF16, P_F32, P_BLOCKS, P_SCALES } Part;

typedef struct {
    FILE *f;
    const char *path;
    uint8_t *buf;
    double t0;
    uint64_t done, total; // bytes, for progress
    uint64_t next_report;
} Writer;

static void w_write(Writer *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n) fatal("write to %s failed: %s", w->path, strerror(errno));
    w->done += n;
    if (w->total >= (1ull << 30) && w->done >= w->next_report) {
        double dt = now_seconds() - w->t0;
        fprintf(stderr, "getp-model-gen: %s: %.2f / %.2f GB (%.0f MB/s)\n", w->path, w->done / 1e9, w->total / 1e9,
                w->done / 1e6 / (dt > 0 ? dt : 1));
        w->next_report += w->total / 20;
    }
}

/* Bytes of one unit: an element (dense) or a 32-group (MXFP4). */
static size_t unit_bytes(const GenTensor *t, Part p) {
    int esize = p == P_F32 ? 4 : 2;
    if (t->vk != V_MXFP4) return (size_t)esize;
    return p == P_BLOCKS ? 16 : p == P_SCALES ? 1 : (size_t)(32 * esize);
}

static void fill_unit(const GenTensor *t, Part p, int64_t u, uint8_t *dst) {
    if (t->vk != V_MXFP4) {
        uint16_t b = dense_bf16(t, u);
        if (p == P_BF16) memcpy(dst, &b, 2);
        else { float f = bf16_to_f32(b); memcpy(dst, &f, 4); }
        return;
    }
    if (p == P_BLOCKS) { mxfp4_block(t, u, dst); return; }
    if (p == P_SCALES) { *dst = mxfp4_scale(t, u); return; }
    float v[32];
    mxfp4_values(t, u, v);
    for (int k = 0; k < 32; k++) {
        if (p == P_F32) memcpy(dst + 4 * k, &v[k], 4);
        else { uint16_t b = f32_to_bf16(v[k]); memcpy(dst + 2 * k, &b, 2); } // exact
    }
}

static void write_tensor(Writer *w, const GenTensor *t, Part p) {
    const int64_t units = t->vk == V_MXFP4 ? t->numel / 32 : t->numel;
    const size_t ub = unit_bytes(t, p);
    const int64_t per_chunk = (int64_t)(CHUNK_BYTES / ub);
    for (int64_t u0 = 0; u0 < units; u0 += per_chunk) {
        const int64_t n = units - u0 < per_chunk ? units - u0 : per_chunk;
#pragma omp parallel for schedule(static)
        for (int64_t u = 0; u < n; u++) fill_unit(t, p, u0 + u, w->buf + (size_t)u * ub);
        w_write(w, w->buf, (size_t)n * ub);
    }
}

static FILE *open_out(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) fatal("cannot create %s: %s", path, strerror(errno));
    return f;
}

static void close_out(Writer *w) {
    if (fclose(w->f) != 0) fatal("closing %s failed: %s", w->path, strerror(errno));
}

/* ---- the two formats ---------------------------------------------------- */

typedef struct {
    Config c;
    uint64_t seed;
    const char *out_dir, *bin_path;
    int bin_bf16;
} GenArgs;

static void tensor_for(const GenArgs *a, int kind, int layer, GenTensor *t) {
    gen_tensor(&a->c, a->seed, kind, layer, t);
}

static json_t *st_entry(const char *dtype, int ndim, const int64_t *shape, uint64_t *off, uint64_t bytes) {
    json_t *sh = json_array();
    for (int i = 0; i < ndim; i++) json_array_append_new(sh, json_integer(shape[i]));
    json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype, "shape", sh, "data_offsets", (json_int_t)*off,
                          (json_int_t)(*off + bytes));
    *off += bytes;
    return e;
}

/* The safetensors order: embedding, norm, unembedding, then layer by layer. */
static int st_count(const Config *c) { return 3 + c->n_layers * (T_COUNT - 3); }

static void st_tensor_at(const GenArgs *a, int i, GenTensor *t) {
    static const int globals[3] = {T_EMB, T_FINAL_NORM, T_UNEMB};
    if (i < 3) tensor_for(a, globals[i], 0, t);
    else tensor_for(a, 3 + (i - 3) % (T_COUNT - 3), (i - 3) / (T_COUNT - 3), t);
}

static char *st_header(const GenArgs *a, uint64_t *data_bytes) {
    json_t *root = json_object();
    uint64_t off = 0;
    for (int i = 0; i < st_count(&a->c); i++) {
        GenTensor t;
        st_tensor_at(a, i, &t);
        char name[128];
        if (t.vk != V_MXFP4) {
            json_object_set_new(root, t.name, st_entry("BF16", t.ndim, t.shape, &off, 2 * (uint64_t)t.numel));
            continue;
        }
        const int64_t bs[4] = {t.shape[0], t.shape[1], t.shape[2] / 32, 16};
        snprintf(name, sizeof name, "%s.blocks", t.name);
        json_object_set_new(root, name, st_entry("U8", 4, bs, &off, (uint64_t)t.numel / 2));
        snprintf(name, sizeof name, "%s.scales", t.name);
        json_object_set_new(root, name, st_entry("U8", 3, bs, &off, (uint64_t)t.numel / 32));
    }
    json_object_set_new(root, "__metadata__", json_pack("{s:s}", "format", "pt"));
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    *data_bytes = off;
    return s;
}

static void write_config_json(const GenArgs *a) {
    const Config *c = &a->c;
    json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:i, s:i, s:i, s:i, s:i, s:f, s:f}",
                          "num_hidden_layers", c->n_layers, "num_experts", c->n_experts, "experts_per_token",
                          c->experts_per_token, "vocab_size", c->vocab_size, "hidden_size", c->hidden,
                          "intermediate_size", c->intermediate, "swiglu_limit", (double)c->swiglu_limit, "head_dim",
                          c->head_dim, "num_attention_heads", c->n_heads, "num_key_value_heads", c->n_kv_heads,
                          "sliding_window", c->sliding_window, "initial_context_length", c->initial_context_length,
                          "rope_theta", (double)c->rope_theta, "rope_scaling_factor", (double)c->rope_scaling_factor);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", a->out_dir);
    if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) fatal("cannot write %s", path);
    json_decref(j);
}

static void write_safetensors(const GenArgs *a, uint8_t *buf) {
    if (mkdir(a->out_dir, 0755) != 0 && errno != EEXIST) fatal("cannot create %s: %s", a->out_dir, strerror(errno));
    write_config_json(a);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", a->out_dir);
    uint64_t data_bytes;
    char *hdr = st_header(a, &data_bytes);
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8; // data starts 8-aligned
    Writer w = {open_out(path), path, buf, now_seconds(), 0, 8 + padded + data_bytes, (8 + padded + data_bytes) / 20};
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    w_write(&w, len8, 8);
    w_write(&w, hdr, hlen);
    w_write(&w, "        ", padded - hlen);
    free(hdr);
    for (int i = 0; i < st_count(&a->c); i++) {
        GenTensor t;
        st_tensor_at(a, i, &t);
        if (t.vk != V_MXFP4) {
            write_tensor(&w, &t, P_BF16);
        } else {
            write_tensor(&w, &t, P_BLOCKS);
            write_tensor(&w, &t, P_SCALES);
        }
    }
    close_out(&w);
}

static void bin_header(const Config *c, uint8_t h[60]) {
    int32_t i[15] = {c->vocab_size, c->hidden, c->n_experts, c->experts_per_token, c->intermediate, c->n_layers,
                     c->head_dim, c->n_heads, c->n_kv_heads, c->max_seq_len, c->initial_context_length};
    float f[3] = {c->rope_theta, c->rope_scaling_factor, c->swiglu_limit};
    memcpy(&i[11], &f[0], 4);
    memcpy(&i[12], &f[1], 4);
    i[13] = c->sliding_window;
    memcpy(&i[14], &f[2], 4);
    memcpy(h, i, 60); // little-endian host
}

static void write_bin(const GenArgs *a, uint8_t *buf) {
    static const int order[T_COUNT] = {T_EMB, T_UNEMB, T_ATTN_NORM, T_MLP_NORM, T_FINAL_NORM, T_QKV_W, T_QKV_B, T_O_W,
                                       T_O_B, T_SINKS, T_GATE_W, T_GATE_B, T_W1, T_B1, T_W2, T_B2};
    const Part p = a->bin_bf16 ? P_BF16 : P_F32;
    uint64_t total = 60;
    for (int k = 0; k < T_COUNT; k++) {
        GenTensor t;
        tensor_for(a, order[k], 0, &t);
        total += (uint64_t)t.numel * (a->bin_bf16 ? 2 : 4) * (order[k] >= T_ATTN_NORM ? a->c.n_layers : 1);
    }
    Writer w = {open_out(a->bin_path), a->bin_path, buf, now_seconds(), 0, total, total / 20};
    uint8_t h[60];
    bin_header(&a->c, h);
    w_write(&w, h, 60);
    for (int k = 0; k < T_COUNT; k++)
        for (int l = 0; l < (order[k] >= T_ATTN_NORM ? a->c.n_layers : 1); l++) {
            GenTensor t;
            tensor_for(a, order[k], l, &t);
            write_tensor(&w, &t, p);
        }
    close_out(&w);
}

/* ---- command line -------------------------------------------------------- */

static void preset(const char *name, Config *c) {
    if (strcmp(name, "tiny") == 0)
        *c = (Config){.vocab_size = 1024, .hidden = 128, .n_experts = 8, .experts_per_token = 4, .intermediate = 192,
                      .n_layers = 4, .head_dim = 64, .n_heads = 4, .n_kv_heads = 2};
    else if (strcmp(name, "20b") == 0 || strcmp(name, "120b") == 0)
        *c = (Config){.vocab_size = 201088, .hidden = 2880, .n_experts = name[0] == '2' ? 32 : 128,
                      .experts_per_token = 4, .intermediate = 2880, .n_layers = name[0] == '2' ? 24 : 36,
                      .head_dim = 64, .n_heads = 64, .n_kv_heads = 8};
    else
        fatal("unknown preset %s (tiny, 20b, 120b)", name);
    c->sliding_window = 128;
    c->initial_context_length = 4096;
    c->rope_theta = 150000.0f;
    c->rope_scaling_factor = 32.0f;
    c->swiglu_limit = 7.0f;
}

static void usage(void) {
    fprintf(stderr, "usage: getp-model-gen --preset tiny|20b|120b [--layers N --vocab N --hidden N --experts N\n"
                    "         --intermediate N --heads N --kv-heads N --head-dim N --window N --experts-per-token N\n"
                    "         --context N --rope-theta X --rope-scaling X --swiglu-limit X] --seed N\n"
                    "         [--out DIR] [--bin FILE [--dtype fp32|bf16]]\n");
    exit(2);
}

static void parse_args(int argc, char **argv, GenArgs *a) {
    const char *pre = "tiny";
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--preset") == 0) pre = argv[i + 1];
    preset(pre, &a->c);
    static const char *int_opts[] = {"--layers", "--vocab", "--hidden", "--experts", "--intermediate", "--heads",
                                     "--kv-heads", "--head-dim", "--window", "--experts-per-token", "--context"};
    int *int_dst[] = {&a->c.n_layers, &a->c.vocab_size, &a->c.hidden, &a->c.n_experts, &a->c.intermediate,
                      &a->c.n_heads, &a->c.n_kv_heads, &a->c.head_dim, &a->c.sliding_window,
                      &a->c.experts_per_token, &a->c.initial_context_length};
    static const char *f_opts[] = {"--rope-theta", "--rope-scaling", "--swiglu-limit"};
    float *f_dst[] = {&a->c.rope_theta, &a->c.rope_scaling_factor, &a->c.swiglu_limit};
    a->seed = 1;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) usage();
        const char *o = argv[i], *v = argv[i + 1];
        int known = 0;
        for (size_t k = 0; k < sizeof int_opts / sizeof *int_opts; k++)
            if (strcmp(o, int_opts[k]) == 0) *int_dst[k] = atoi(v), known = 1;
        for (size_t k = 0; k < sizeof f_opts / sizeof *f_opts; k++)
            if (strcmp(o, f_opts[k]) == 0) *f_dst[k] = strtof(v, NULL), known = 1;
        if (strcmp(o, "--preset") == 0) known = 1;
        else if (strcmp(o, "--seed") == 0) a->seed = strtoull(v, NULL, 10), known = 1;
        else if (strcmp(o, "--out") == 0) a->out_dir = v, known = 1;
        else if (strcmp(o, "--bin") == 0) a->bin_path = v, known = 1;
        else if (strcmp(o, "--dtype") == 0) {
            if (strcmp(v, "fp32") && strcmp(v, "bf16")) usage();
            a->bin_bf16 = strcmp(v, "bf16") == 0, known = 1;
        }
        if (!known) usage();
    }
    if (!a->out_dir && !a->bin_path) usage();
    /* the same context limit the checkpoint loader derives */
    double scale = a->c.rope_scaling_factor > 1.0f ? a->c.rope_scaling_factor : 1.0;
    double max_seq = (double)a->c.initial_context_length * scale;
    a->c.max_seq_len = max_seq > INT32_MAX ? INT32_MAX : (int)max_seq;
}

int main(int argc, char **argv) {
    GenArgs a = {0};
    parse_args(argc, argv, &a);
    Err err;
    if (config_validate(&a.c, &err)) fatal("%s", err.msg);
    if (a.c.hidden % 32 || a.c.intermediate % 32) fatal("hidden and intermediate must be multiples of 32 (MXFP4)");
    uint8_t *buf = xmalloc(CHUNK_BYTES);
    if (a.out_dir) write_safetensors(&a, buf);
    if (a.bin_path) write_bin(&a, buf);
    free(buf);
    return 0;
}
