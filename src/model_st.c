/* model_st.c: OpenAI's original checkpoint (docs/MODEL.md §3b): a directory holding
 * config.json and one or more *.safetensors files, each mmap'ed read-only.
 *
 * Steps: read config.json (OpenAI key names) into a Config; map every
 * *.safetensors (sorted by name) and validate its header completely (length
 * against the file, JSON, dtype, shape, offsets in range and non-overlapping,
 * byte counts) into one index of entries; then look each expected tensor up
 * by name and check its dtype and shape against the config. Dense tensors may
 * be BF16 or F32; experts must be U8 blocks + scales and become DT_MXFP4
 * views with the logical shape (E, R, C).
 */
#include "model.h"
#include "model_internal.h" // model_map_file, tensor_view

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h> // read, close

#define ST_MAX_DIMS 8

/* One tensor of one safetensors file, validated. */
typedef struct {
    char *name;
    const char *dtype; // points into ST_DTYPES
    int elem_size;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end; // byte offsets in the file's data region
    const uint8_t *data; // begin, in the mapping
    int file;            // index into StIndex.files
} StEntry;

typedef struct {
    StEntry *e;
    int n, cap;
    char **files; // paths, for messages
    int n_files;
    const char *dir;
} StIndex;

static const struct {
    const char *name;
    int size;
} ST_DTYPES[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"I64", 8},     {"U64", 8}, {"F64", 8},
};

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, ")");
}

/* ---- config.json ------------------------------------------------------ */

/* Integer key; a missing key takes `def`, or is an error when def < 0. */
static int json_int_key(json_t *root, const char *key, long long def, int *out, Err *err) {
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (def < 0) return err_set(err, "required key \"%s\" is missing", key);
        *out = (int)def;
        return GETP_OK;
    }
    double d = json_number_value(v);
    if (!json_is_number(v) || d != floor(d))
        return err_set(err, "\"%s\" must be an integer", key);
    if (d < INT_MIN || d > INT_MAX) return err_set(err, "\"%s\" = %.0f is out of range", key, d);
    *out = (int)d;
    return GETP_OK;
}

static int json_float_key(json_t *root, const char *key, double def, float *out, Err *err) {
    json_t *v = json_object_get(root, key);
    if (!v) {
        *out = (float)def;
        return GETP_OK;
    }
    if (!json_is_number(v)) return err_set(err, "\"%s\" must be a number", key);
    *out = (float)json_number_value(v);
    return GETP_OK;
}

static int st_read_config_json(json_t *root, Config *c, Err *err) {
    if (!json_is_object(root)) return err_set(err, "not a JSON object");
    if (json_int_key(root, "num_hidden_layers", -1, &c->n_layers, err) ||
        json_int_key(root, "num_experts", -1, &c->n_experts, err) ||
        json_int_key(root, "experts_per_token", 4, &c->experts_per_token, err) ||
        json_int_key(root, "vocab_size", -1, &c->vocab_size, err) ||
        json_int_key(root, "hidden_size", -1, &c->hidden, err) ||
        json_int_key(root, "intermediate_size", -1, &c->intermediate, err) ||
        json_int_key(root, "head_dim", 64, &c->head_dim, err) ||
        json_int_key(root, "num_attention_heads", -1, &c->n_heads, err) ||
        json_int_key(root, "num_key_value_heads", -1, &c->n_kv_heads, err) ||
        json_int_key(root, "sliding_window", 128, &c->sliding_window, err) ||
        json_int_key(root, "initial_context_length", 4096, &c->initial_context_length, err) ||
        json_float_key(root, "rope_theta", 150000.0, &c->rope_theta, err) ||
        json_float_key(root, "rope_scaling_factor", 32.0, &c->rope_scaling_factor, err) ||
        json_float_key(root, "swiglu_limit", 7.0, &c->swiglu_limit, err))
        return GETP_ERR;
    /* The context limit: initial_context_length x rope_scaling_factor (docs/MODEL.md §5).
     * A length below 1 is config_validate's to refuse: keep it (a negative length times the
     * scale is no int). */
    double scale = c->rope_scaling_factor > 1.0f ? c->rope_scaling_factor : 1.0;
    double max_seq = (double)c->initial_context_length * scale;
    c->max_seq_len = c->initial_context_length < 1 ? c->initial_context_length
                     : max_seq > INT_MAX            ? INT_MAX
                                                    : (int)max_seq;
    return GETP_OK;
}

int model_st_config_parse(const char *name, const char *text, size_t len, Config *c, Err *err) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) return err_set(err, "%s: cannot read config.json: %s (line %d)", name, jerr.text, jerr.line);
    Err cerr;
    int rc = st_read_config_json(root, c, &cerr);
    json_decref(root);
    if (rc || config_validate(c, &cerr)) return err_set(err, "%s: %s", name, cerr.msg);
    if (c->hidden % 32 || c->intermediate % 32)
        return err_set(err, "%s: hidden_size (%d) and intermediate_size (%d) must be multiples of 32 for MXFP4 experts",
                       name, c->hidden, c->intermediate);
    return GETP_OK;
}

/* config.json is read through model_open_regular: a FIFO there is refused. */
static int st_read_config(const char *dir, Config *c, Err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    struct stat st;
    int fd = model_open_regular(path, &st, err);
    if (fd < 0) return GETP_ERR;
    if (st.st_size > (1 << 24)) {
        close(fd);
        return err_set(err, "%s: %lld bytes is too large for a config.json", path, (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *text = xmalloc(n + 1);
    while (got < n) {
        ssize_t k = read(fd, text + got, n - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    int rc = got == n ? model_st_config_parse(path, text, n, c, err)
                      : err_set(err, "%s: short read (%zu of %zu bytes)", path, got, n);
    free(text);
    return rc;
}

/* ---- safetensors headers ---------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted paths of dir/ *.safetensors. */
static int st_list_files(const char *dir, StIndex *ix, Err *err) {
    DIR *d = opendir(dir);
    if (!d) return err_set(err, "cannot open directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name), sfx = strlen(".safetensors");
        if (n <= sfx || strcmp(de->d_name + n - sfx, ".safetensors") != 0) continue;
        ix->files = xrealloc(ix->files, (size_t)(ix->n_files + 1) * sizeof *ix->files);
        char *p = xmalloc(strlen(dir) + n + 2);
        sprintf(p, "%s/%s", dir, de->d_name);
        ix->files[ix->n_files++] = p;
    }
    closedir(d);
    if (ix->n_files == 0) return err_set(err, "%s: no *.safetensors files in the directory", dir);
    qsort(ix->files, (size_t)ix->n_files, sizeof *ix->files, cmp_str);
    return GETP_OK;
}

static int json_u64(json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return GETP_ERR;
    *out = (uint64_t)json_integer_value(v);
    return GETP_OK;
}

/* Validate one header entry against the data region [data, data + data_len). */
static int st_parse_entry(const char *file, const char *name, json_t *v, const uint8_t *data, uint64_t data_len,
                          StEntry *e, Err *err) {
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape");
    json_t *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs) || json_array_size(offs) != 2)
        return err_set(err, "%s: tensor %s: entry needs dtype, shape and data_offsets [begin, end]", file, name);
    e->dtype = NULL;
    for (size_t i = 0; i < sizeof ST_DTYPES / sizeof ST_DTYPES[0]; i++)
        if (strcmp(json_string_value(dt), ST_DTYPES[i].name) == 0) e->dtype = ST_DTYPES[i].name, e->elem_size = ST_DTYPES[i].size;
    if (!e->dtype) return err_set(err, "%s: tensor %s: unknown dtype %s", file, name, json_string_value(dt));
    if (json_array_size(shape) > ST_MAX_DIMS) return err_set(err, "%s: tensor %s: too many dims", file, name);
    e->ndim = (int)json_array_size(shape);
    uint64_t numel = 1, d;
    for (int i = 0; i < e->ndim; i++) {
        if (json_u64(json_array_get(shape, (size_t)i), &d) || d > (1ull << 40))
            return err_set(err, "%s: tensor %s: bad shape", file, name);
        if (d && numel > (1ull << 62) / d) return err_set(err, "%s: tensor %s: shape too large", file, name);
        numel *= d;
        e->shape[i] = (int64_t)d;
    }
    if (json_u64(json_array_get(offs, 0), &e->begin) || json_u64(json_array_get(offs, 1), &e->end))
        return err_set(err, "%s: tensor %s: data_offsets must be non-negative integers", file, name);
    if (e->begin > e->end)
        return err_set(err, "%s: tensor %s: data_offsets begin %llu > end %llu", file, name,
                       (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > data_len)
        return err_set(err, "%s: tensor %s: data_offsets [%llu, %llu) out of range (data region is %llu bytes)", file,
                       name, (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)data_len);
    if (e->end - e->begin != numel * (uint64_t)e->elem_size)
        return err_set(err, "%s: tensor %s: %llu bytes in data_offsets but dtype %s x shape needs %llu bytes", file,
                       name, (unsigned long long)(e->end - e->begin), e->dtype,
                       (unsigned long long)(numel * (uint64_t)e->elem_size));
    e->data = data + e->begin;
    if ((uintptr_t)e->data % (uintptr_t)e->elem_size)
        return err_set(err, "%s: tensor %s: data is not aligned to its %d-byte elements", file, name, e->elem_size);
    return GETP_OK;
}

static int cmp_begin(const void *a, const void *b) {
    const StEntry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Entries e[0..n) of one file must not overlap (empty ones never do). */
static int st_check_overlap(const char *file, StEntry *e, int n, Err *err) {
    qsort(e, (size_t)n, sizeof *e, cmp_begin);
    const StEntry *prev = NULL;
    for (int i = 0; i < n; i++) {
        if (e[i].begin == e[i].end) continue;
        if (prev && e[i].begin < prev->end)
            return err_set(err, "%s: tensors %s and %s overlap in the data region", file, prev->name, e[i].name);
        prev = &e[i];
    }
    return GETP_OK;
}

/* Room for one more entry. st_parse_header makes room before anything else,
 * so an index that was parsed into always has storage: the sort, the overlap
 * check and the lookup never pass NULL to qsort / bsearch (or do NULL + 0),
 * even for a header of no tensors. */
static void st_index_room(StIndex *ix) {
    if (ix->n == ix->cap) ix->cap = ix->cap ? 2 * ix->cap : 256, ix->e = xrealloc(ix->e, (size_t)ix->cap * sizeof *ix->e);
}

static int st_parse_header(const char *file, int fi, const uint8_t *base, size_t size, StIndex *ix, Err *err) {
    st_index_room(ix);
    if (size < 8) return err_set(err, "%s: file of %zu bytes is too small for a safetensors header", file, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | base[i];
    if (hlen > size - 8)
        return err_set(err, "%s: header length %llu exceeds the file size %zu", file, (unsigned long long)hlen, size);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)base + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return err_set(err, "%s: invalid JSON header: %s (column %d)", file, jerr.text, jerr.column);
    int rc = GETP_OK, first = ix->n;
    if (!json_is_object(root)) rc = err_set(err, "%s: JSON header is not an object", file);
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v) {
        if (rc || strcmp(name, "__metadata__") == 0) continue;
        st_index_room(ix);
        StEntry *e = &ix->e[ix->n];
        memset(e, 0, sizeof *e);
        rc = st_parse_entry(file, name, v, base + 8 + hlen, size - 8 - hlen, e, err);
        if (rc) break;
        e->name = xstrdup(name);
        e->file = fi;
        ix->n++;
    }
    json_decref(root);
    if (rc) return rc;
    return st_check_overlap(file, ix->e + first, ix->n - first, err);
}

static int cmp_name(const void *a, const void *b) { return strcmp(((const StEntry *)a)->name, ((const StEntry *)b)->name); }

/* Sort the index by name and refuse a name present twice. */
static int st_sort_unique(StIndex *ix, Err *err) {
    qsort(ix->e, (size_t)ix->n, sizeof *ix->e, cmp_name);
    for (int i = 1; i < ix->n; i++)
        if (strcmp(ix->e[i - 1].name, ix->e[i].name) == 0)
            return err_set(err, "%s: tensor %s appears twice (in %s and %s)", ix->dir, ix->e[i].name, ix->files[ix->e[i - 1].file],
                           ix->files[ix->e[i].file]);
    return GETP_OK;
}

static void st_index_free(StIndex *ix) {
    for (int i = 0; i < ix->n; i++) free(ix->e[i].name);
    for (int i = 0; i < ix->n_files; i++) free(ix->files[i]);
    free(ix->e);
    free(ix->files);
}

int model_st_header_check(const char *name, const uint8_t *base, size_t size, Err *err) {
    StIndex ix = {.dir = name};
    int rc = st_parse_header(name, 0, base, size, &ix, err);
    if (!rc) rc = st_sort_unique(&ix, err);
    st_index_free(&ix);
    return rc;
}

/* ---- tensor views ------------------------------------------------------ */

/* The entry `name` with exactly this dtype-class and shape. dtypes: a
 * NULL-terminated list of acceptable dtype names. */
static const StEntry *st_expect(const StIndex *ix, const char *name, const char *const *dtypes, int ndim,
                                const int64_t *shape, Err *err) {
    StEntry key = {.name = (char *)name};
    const StEntry *e = bsearch(&key, ix->e, (size_t)ix->n, sizeof *ix->e, cmp_name);
    if (!e) return err_set(err, "%s: tensor %s is missing", ix->dir, name), NULL;
    int ok = 0;
    for (int i = 0; dtypes[i]; i++) ok |= strcmp(e->dtype, dtypes[i]) == 0;
    if (!ok) return err_set(err, "%s: tensor %s has dtype %s, expected %s%s%s", ix->dir, name, e->dtype, dtypes[0],
                            dtypes[1] ? " or " : "", dtypes[1] ? dtypes[1] : ""), NULL;
    int same = e->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = e->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        shape_str(got, sizeof got, e->ndim, e->shape);
        shape_str(want, sizeof want, ndim, shape);
        return err_set(err, "%s: tensor %s has shape %s, expected %s", ix->dir, name, got, want), NULL;
    }
    return e;
}

static int st_dense(const StIndex *ix, const char *name, int ndim, const int64_t *shape, Tensor *out, Err *err) {
    static const char *const dense[] = {"BF16", "F32", NULL};
    const StEntry *e = st_expect(ix, name, dense, ndim, shape, err);
    if (!e) return GETP_ERR;
    *out = tensor_view(strcmp(e->dtype, "F32") == 0 ? DT_F32 : DT_BF16, e->data, ndim, shape);
    return GETP_OK;
}

/* An MXFP4 weight of logical shape (E, R, C) from prefix.blocks (E, R, C/32, 16)
 * and prefix.scales (E, R, C/32). */
static int st_mxfp4(const StIndex *ix, const char *prefix, int64_t E, int64_t R, int64_t C, Tensor *out, Err *err) {
    static const char *const u8[] = {"U8", NULL};
    char name[256];
    const int64_t bshape[4] = {E, R, C / 32, 16}, sshape[3] = {E, R, C / 32}, lshape[3] = {E, R, C};
    snprintf(name, sizeof name, "%s.blocks", prefix);
    const StEntry *b = st_expect(ix, name, u8, 4, bshape, err);
    if (!b) return GETP_ERR;
    snprintf(name, sizeof name, "%s.scales", prefix);
    const StEntry *s = st_expect(ix, name, u8, 3, sshape, err);
    if (!s) return GETP_ERR;
    /* E8M0 scale 0xFF is NaN (OCP MX spec): refused here rather than met as
     * NaN logits (a pass over the scales, 1/16 of the blocks' bytes). */
    const uint64_t n_scales = s->end - s->begin;
    const uint8_t *nan = memchr(s->data, 0xFF, n_scales);
    if (nan) {
        const uint64_t at = (uint64_t)(nan - s->data), per_expert = (uint64_t)(R * (C / 32));
        return err_set(err, "%s: tensor %s: scale byte 0xFF (NaN in E8M0) at expert %llu, row %llu, group %llu",
                       ix->dir, name, (unsigned long long)(at / per_expert),
                       (unsigned long long)(at % per_expert / (uint64_t)(C / 32)),
                       (unsigned long long)(at % (uint64_t)(C / 32)));
    }
    *out = tensor_view(DT_MXFP4, b->data, 3, lshape);
    out->scales = s->data;
    return GETP_OK;
}

static int st_layer_views(const StIndex *ix, const Config *c, int l, LayerWeights *w, Err *err) {
    const int64_t H = c->hidden, E = c->n_experts, I = c->intermediate, Dq = cfg_q_dim(c), Dqkv = cfg_qkv_dim(c);
    const int64_t s_h[1] = {H}, s_qkv_w[2] = {Dqkv, H}, s_qkv[1] = {Dqkv}, s_nh[1] = {c->n_heads};
    const int64_t s_o[2] = {H, Dq}, s_gate[2] = {E, H}, s_e[1] = {E}, s_b1[2] = {E, 2 * I}, s_b2[2] = {E, H};
    char n[13][128];
    const char *fmt[13] = {"attn.norm.scale", "attn.qkv.weight", "attn.qkv.bias", "attn.sinks", "attn.out.weight",
                           "attn.out.bias", "mlp.norm.scale", "mlp.gate.weight", "mlp.gate.bias", "mlp.mlp1_weight",
                           "mlp.mlp1_bias", "mlp.mlp2_weight", "mlp.mlp2_bias"};
    for (int i = 0; i < 13; i++) snprintf(n[i], sizeof n[i], "block.%d.%s", l, fmt[i]);
    return st_dense(ix, n[0], 1, s_h, &w->attn_norm, err) || st_dense(ix, n[1], 2, s_qkv_w, &w->w_qkv, err) ||
           st_dense(ix, n[2], 1, s_qkv, &w->b_qkv, err) || st_dense(ix, n[3], 1, s_nh, &w->sinks, err) ||
           st_dense(ix, n[4], 2, s_o, &w->w_o, err) || st_dense(ix, n[5], 1, s_h, &w->b_o, err) ||
           st_dense(ix, n[6], 1, s_h, &w->mlp_norm, err) || st_dense(ix, n[7], 2, s_gate, &w->w_gate, err) ||
           st_dense(ix, n[8], 1, s_e, &w->b_gate, err) || st_mxfp4(ix, n[9], E, 2 * I, H, &w->w1, err) ||
           st_dense(ix, n[10], 2, s_b1, &w->b1, err) || st_mxfp4(ix, n[11], E, H, I, &w->w2, err) ||
           st_dense(ix, n[12], 2, s_b2, &w->b2, err)
               ? GETP_ERR
               : GETP_OK;
}

static int st_views(const StIndex *ix, Model *m, Err *err) {
    const Config *c = &m->cfg;
    const int64_t s_vh[2] = {c->vocab_size, c->hidden}, s_h[1] = {c->hidden};
    if (st_dense(ix, "embedding.weight", 2, s_vh, &m->embedding, err) ||
        st_dense(ix, "unembedding.weight", 2, s_vh, &m->unembedding, err) ||
        st_dense(ix, "norm.scale", 1, s_h, &m->final_norm, err))
        return GETP_ERR;
    m->layers = xcalloc((size_t)c->n_layers, sizeof *m->layers);
    for (int l = 0; l < c->n_layers; l++)
        if (st_layer_views(ix, c, l, &m->layers[l], err)) return GETP_ERR;
    return GETP_OK;
}

int model_load_safetensors_dir(const char *dir, Model *m, Err *err) {
    memset(m, 0, sizeof *m);
    m->format = MODEL_FORMAT_SAFETENSORS;
    StIndex ix = {.dir = dir};
    int rc = st_read_config(dir, &m->cfg, err);
    if (!rc) rc = st_list_files(dir, &ix, err);
    for (int f = 0; !rc && f < ix.n_files; f++) {
        const uint8_t *base;
        size_t size;
        rc = model_map_file(m, ix.files[f], &base, &size, err);
        if (!rc) rc = st_parse_header(ix.files[f], f, base, size, &ix, err);
    }
    if (!rc) rc = st_sort_unique(&ix, err);
    if (!rc) rc = st_views(&ix, m, err);
    st_index_free(&ix);
    if (rc) model_free(m);
    return rc;
}
