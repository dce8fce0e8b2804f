/* test_model_agree: the three readers agree.
 *
 * getp-model-gen writes the tiny preset as a safetensors checkpoint, an fp32
 * .bin and a bf16 .bin of the same weights; all three load to the same
 * Config, and every row of every tensor decodes (tensor_row_f32) to
 * bit-identical floats. Also: generation is deterministic in the seed, the
 * weights are finite with sensible spreads, and a 20b-shaped model cut down
 * to one layer loads.
 *
 * usage: test_model_agree PATH/TO/getp-model-gen
 */
#include "test_util.h"

#include <math.h>

enum { MAX_TENSORS = 3 + 13 * 64 };

typedef struct {
    char name[48];
    const Tensor *t;
} Named;

/* Every tensor of m, named by role and layer. */
static int model_tensors(const Model *m, Named *out) {
    int n = 0;
    out[n++] = (Named){"embedding", &m->embedding};
    out[n++] = (Named){"unembedding", &m->unembedding};
    out[n++] = (Named){"final_norm", &m->final_norm};
    static const char *roles[13] = {"attn_norm", "w_qkv", "b_qkv", "sinks", "w_o", "b_o", "mlp_norm",
                                    "w_gate", "b_gate", "w1", "b1", "w2", "b2"};
    for (int l = 0; l < m->cfg.n_layers && n + 13 <= MAX_TENSORS; l++) {
        const LayerWeights *w = &m->layers[l];
        const Tensor *ts[13] = {&w->attn_norm, &w->w_qkv, &w->b_qkv, &w->sinks, &w->w_o, &w->b_o, &w->mlp_norm,
                                &w->w_gate, &w->b_gate, &w->w1, &w->b1, &w->w2, &w->b2};
        for (int i = 0; i < 13; i++) {
            snprintf(out[n].name, sizeof out[n].name, "layer %d %s", l, roles[i]);
            out[n++].t = ts[i];
        }
    }
    return n;
}

/* Compare tensors of a and b row by row, bit for bit. */
static void compare_models(const Model *a, const Model *b, const char *what) {
    EXPECT(memcmp(&a->cfg, &b->cfg, sizeof a->cfg) == 0, "%s: configs differ", what);
    static Named na[MAX_TENSORS], nb[MAX_TENSORS];
    int n = model_tensors(a, na);
    EXPECT(n == model_tensors(b, nb), "%s: tensor counts differ", what);
    for (int i = 0; i < n; i++) {
        const Tensor *x = na[i].t, *y = nb[i].t;
        int same_shape = x->ndim == y->ndim && x->ndim > 0;
        for (int d = 0; same_shape && d < x->ndim; d++) same_shape = x->shape[d] == y->shape[d];
        EXPECT(same_shape, "%s: %s shapes differ", what, na[i].name);
        if (!same_shape) continue;
        int64_t cols = x->shape[x->ndim - 1], rows = tensor_numel(x) / cols, bad = 0;
        float *rx = xmalloc((size_t)cols * 4), *ry = xmalloc((size_t)cols * 4);
        for (int64_t r = 0; r < rows; r++) {
            tensor_row_f32(x, r, cols, rx);
            tensor_row_f32(y, r, cols, ry);
            bad += memcmp(rx, ry, (size_t)cols * 4) != 0;
        }
        EXPECT(bad == 0, "%s: %s: %lld of %lld rows differ", what, na[i].name, (long long)bad, (long long)rows);
        free(rx);
        free(ry);
    }
}

static double tensor_rms(const Tensor *t, int *finite) {
    int64_t cols = t->shape[t->ndim - 1], rows = tensor_numel(t) / cols;
    float *r = xmalloc((size_t)cols * 4);
    double ss = 0;
    for (int64_t i = 0; i < rows; i++) {
        tensor_row_f32(t, i, cols, r);
        for (int64_t k = 0; k < cols; k++) ss += (double)r[k] * r[k], *finite &= isfinite(r[k]) != 0;
    }
    free(r);
    return sqrt(ss / (double)tensor_numel(t));
}

static void check_dtypes_and_spread(const Model *st, const Model *b32, const Model *b16) {
    const LayerWeights *w = &st->layers[0];
    EXPECT(st->embedding.dtype == DT_BF16 && w->w1.dtype == DT_MXFP4 && w->w2.dtype == DT_MXFP4,
           "safetensors dtypes: emb %d w1 %d", st->embedding.dtype, w->w1.dtype);
    EXPECT(b32->bin_dtype == DT_F32 && b32->layers[0].w1.dtype == DT_F32, "fp32 .bin dtype");
    EXPECT(b16->bin_dtype == DT_BF16 && b16->layers[0].w2.dtype == DT_BF16, "bf16 .bin dtype");
    Named nt[MAX_TENSORS];
    int n = model_tensors(st, nt), finite = 1;
    for (int i = 0; i < n; i++) tensor_rms(nt[i].t, &finite);
    EXPECT(finite, "non-finite weight in the tiny model");
    const double H = st->cfg.hidden, I = st->cfg.intermediate;
    double e = tensor_rms(&st->embedding, &finite), r1 = tensor_rms(&w->w1, &finite) * sqrt(H);
    double r2 = tensor_rms(&w->w2, &finite) * sqrt(I), nrm = tensor_rms(&w->attn_norm, &finite);
    EXPECT(e > 0.8 && e < 1.25, "embedding rms %g, want about 1", e);
    EXPECT(r1 > 0.5 && r1 < 2.0, "w1 rms*sqrt(H) %g, want about 1", r1);
    EXPECT(r2 > 0.5 && r2 < 2.0, "w2 rms*sqrt(I) %g, want about 1", r2);
    EXPECT(nrm > 0.9 && nrm < 1.1, "attn_norm rms %g, want about 1", nrm);
}

/* Layer-0 routing of the embeddings of 64 tokens: the router must spread them
 * over most experts (top-1 pick, input rms-normalized). */
static void check_routing_spread(const Model *m) {
    const int H = m->cfg.hidden, E = m->cfg.n_experts;
    float *x = xmalloc((size_t)H * 4);
    int hits[64] = {0}, distinct = 0;
    for (int tok = 0; tok < 64; tok++) {
        tensor_row_f32(&m->embedding, tok, H, x);
        double ss = 0;
        for (int i = 0; i < H; i++) ss += (double)x[i] * x[i];
        for (int i = 0; i < H; i++) x[i] = (float)(x[i] / sqrt(ss / H + 1e-5)) * tensor_get_f32(&m->layers[0].mlp_norm, i);
        int best = 0;
        float gbest = -INFINITY;
        for (int e = 0; e < E; e++) {
            float g = tensor_row_dot(&m->layers[0].w_gate, e, x, H) + tensor_get_f32(&m->layers[0].b_gate, e);
            if (g > gbest) gbest = g, best = e;
        }
        distinct += hits[best % 64]++ == 0;
    }
    EXPECT(distinct >= E / 2, "64 tokens route (top-1) to only %d of %d experts", distinct, E);
    free(x);
}

static int files_equal(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *pa = file_read(a, &na), *pb = file_read(b, &nb);
    int eq = na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return eq;
}

static void load_ok(const char *path, Model *m) {
    Err err = {{0}};
    int rc = model_load(path, m, &err);
    if (rc) fatal("loading %s failed: %s", path, err.msg);
}

int main(int argc, char **argv) {
    if (argc < 2) fatal("usage: test_model_agree GEN");
    const char *gen = argv[1];
    char *d = tmpdir_make("getp-agree");
    run_cmd("'%s' --preset tiny --seed 7 --out '%s/st' --bin '%s/m32.bin' --dtype fp32", gen, d, d);
    run_cmd("'%s' --preset tiny --seed 7 --bin '%s/m16.bin' --dtype bf16", gen, d);
    run_cmd("'%s' --preset tiny --seed 7 --out '%s/st2'", gen, d);
    run_cmd("'%s' --preset tiny --seed 8 --out '%s/st3'", gen, d);
    char p[3][1024];
    snprintf(p[0], sizeof p[0], "%s/st", d);
    snprintf(p[1], sizeof p[1], "%s/m32.bin", d);
    snprintf(p[2], sizeof p[2], "%s/m16.bin", d);
    Model st, b32, b16;
    load_ok(p[0], &st);
    load_ok(p[1], &b32);
    load_ok(p[2], &b16);
    EXPECT(st.format == MODEL_FORMAT_SAFETENSORS && b32.format == MODEL_FORMAT_BIN, "formats");
    EXPECT(st.cfg.max_seq_len == 131072, "max_seq_len %d, want 4096 * 32", st.cfg.max_seq_len);
    compare_models(&st, &b32, "safetensors vs fp32 .bin");
    compare_models(&st, &b16, "safetensors vs bf16 .bin");
    check_dtypes_and_spread(&st, &b32, &b16);
    check_routing_spread(&st);
    model_free(&st);
    model_free(&b32);
    model_free(&b16);

    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/st/model.safetensors", d);
    snprintf(b, sizeof b, "%s/st2/model.safetensors", d);
    EXPECT(files_equal(a, b), "same seed, different files");
    snprintf(b, sizeof b, "%s/st3/model.safetensors", d);
    EXPECT(!files_equal(a, b), "different seeds, same files");

    /* 20b shapes (H = I = 2880, 64 heads, 8 kv heads), cut to 1 layer, 4 experts, small vocab. */
    run_cmd("'%s' --preset 20b --layers 1 --experts 4 --vocab 256 --seed 1 --out '%s/big'", gen, d);
    snprintf(a, sizeof a, "%s/big", d);
    Model big;
    load_ok(a, &big);
    EXPECT(big.cfg.hidden == 2880 && big.cfg.n_layers == 1 && big.layers[0].w1.shape[1] == 5760, "20b-shaped cut");
    int finite = 1;
    double r1 = tensor_rms(&big.layers[0].w1, &finite) * sqrt(2880.0);
    EXPECT(finite && r1 > 0.5 && r1 < 2.0, "20b-shaped w1 rms*sqrt(H) %g", r1);
    model_free(&big);
    tmpdir_remove(d);
    free(d);
    return test_finish();
}
