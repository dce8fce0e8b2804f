/* engine_gpu.hip: the GPU engine's life cycle (create: device, stream,
 * weights; destroy), the sizing of activations and KV cache for a run, and
 * Engine.logits (teacher-forced logits of one sequence through the same step
 * as generation). Scheduling is in engine_gpu_generate.hip, the step in
 * engine_gpu_forward.hip, the upload in engine_gpu_load.hip.
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"


#define MAX_CHUNK 256      // prefill tokens of one slot per step

extern "C" int gpu_device_count(void) {
    int n = 0;
    if (hipGetDeviceCount(&n) != hipSuccess) {
        (void)hipGetLastError(); // no driver / no device: clear the sticky error
        return 0;
    }
    return n;
}

/* Sliding layers keep a ring of window + chunk positions: a prefill chunk of
 * <= chunk tokens then never overwrites a position that an earlier token of
 * the same chunk still attends to. */
int gpu_ring_cap(const GpuEngine *g, int cap) {
    const int w = g->m->cfg.sliding_window;
    return (w > 0 && w + g->chunk < cap) ? w + g->chunk : cap;
}

size_t gpu_act_bytes(const Config *c, int T, int S, int L, int precise) {
    const size_t H = c->hidden, k = c->experts_per_token, I = c->intermediate;
    size_t per_tok = 3 * 4 + H * 4 + H * 2 + (size_t)cfg_qkv_dim(c) * 4 + (size_t)cfg_q_dim(c) * 6 +
                     (size_t)c->n_experts * 4 + k * (8 + 4 + I * 2 + H * 4);
    size_t per_row = 4 + H * 2 + 4;
    if (precise) { // t_lo, att_lo, h_lo + y1; ts_lo
        per_tok += H * 2 + (size_t)cfg_q_dim(c) * 2 + k * (I * 2 + 2 * I * 4);
        per_row += H * 2;
    }
    const size_t per_logits_row = (size_t)c->vocab_size * 4 + sizeof(SampleRow) + sizeof(SampleOut);
    return per_tok * (size_t)T + per_row * (size_t)S + per_logits_row * (size_t)L +
           (size_t)(2 * c->n_experts + 1) * 4;
}

/* KV bytes of one slot, plus the activations that grow with the batch. */
size_t gpu_bytes_per_slot(const GpuEngine *g, int cap, int logits) {
    const Config *c = &g->m->cfg;
    size_t kv = 0;
    for (int l = 0; l < c->n_layers; l++)
        kv += (size_t)(cfg_layer_window(c, l) ? gpu_ring_cap(g, cap) : cap) * (size_t)cfg_kv_dim(c) * 2 * 2;
    if (g->opt.precise) kv *= 2;
    return kv + gpu_act_bytes(c, 1, 1, logits ? 1 : 0, g->opt.precise);
}

static void free_acts(GpuActs *a) {
    void *dev[] = {a->meta, a->x, a->t, a->qkv, a->q, a->att, a->glog, a->topk_ids, a->topk_w,
                   a->offsets, a->sorted, a->counts, a->h, a->ypair, a->ts, a->logits, a->srow,
                   a->sout, a->ids, a->t_lo, a->att_lo, a->h_lo, a->ts_lo, a->y1};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (dev[i]) GPU_CHECK(hipFree(dev[i]));
    if (a->h_meta) GPU_CHECK(hipHostFree(a->h_meta));
    if (a->h_ids) GPU_CHECK(hipHostFree(a->h_ids));
    if (a->h_srow) GPU_CHECK(hipHostFree(a->h_srow));
    if (a->h_sout) GPU_CHECK(hipHostFree(a->h_sout));
    memset(a, 0, sizeof *a);
}

static void free_kv(GpuKv *kv) {
    if (kv->base) GPU_CHECK(hipFree(kv->base));
    free(kv->layers);
    memset(kv, 0, sizeof *kv);
}

#define DALLOC(p, n) GPU_CHECK(hipMalloc((void **)&(p), (size_t)(n)))

static void build_acts(GpuActs *a, const Config *c, int T, int S, int L, int precise) {
    const size_t H = c->hidden, k = c->experts_per_token, E = c->n_experts;
    a->T_max = T;
    a->S_max = S;
    a->L_max = L;
    DALLOC(a->meta, sizeof(int32_t) * (size_t)(3 * T + S));
    DALLOC(a->x, 4 * T * H);
    DALLOC(a->t, 2 * T * H);
    DALLOC(a->qkv, 4 * (size_t)T * cfg_qkv_dim(c));
    DALLOC(a->q, 4 * (size_t)T * cfg_q_dim(c));
    DALLOC(a->att, 2 * (size_t)T * cfg_q_dim(c));
    DALLOC(a->glog, 4 * T * E);
    DALLOC(a->topk_ids, 4 * T * k);
    DALLOC(a->topk_w, 4 * T * k);
    DALLOC(a->offsets, 4 * (E + 1));
    DALLOC(a->sorted, 4 * T * k);
    DALLOC(a->counts, 4 * E);
    DALLOC(a->h, 2 * T * k * (size_t)c->intermediate);
    DALLOC(a->ypair, 4 * T * k * H);
    DALLOC(a->ts, 2 * S * H);
    if (L > 0) {
        DALLOC(a->logits, 4 * (size_t)L * (size_t)c->vocab_size);
        DALLOC(a->srow, sizeof(SampleRow) * (size_t)L);
        DALLOC(a->sout, sizeof(SampleOut) * (size_t)L);
        GPU_CHECK(hipHostMalloc((void **)&a->h_srow, sizeof(SampleRow) * (size_t)L, 0));
        GPU_CHECK(hipHostMalloc((void **)&a->h_sout, sizeof(SampleOut) * (size_t)L, 0));
    }
    DALLOC(a->ids, 4 * S);
    if (precise) {
        DALLOC(a->t_lo, 2 * T * H);
        DALLOC(a->att_lo, 2 * (size_t)T * cfg_q_dim(c));
        DALLOC(a->h_lo, 2 * T * k * (size_t)c->intermediate);
        DALLOC(a->y1, 4 * T * k * 2 * (size_t)c->intermediate);
        DALLOC(a->ts_lo, 2 * S * H);
    }
    GPU_CHECK(hipHostMalloc((void **)&a->h_meta, sizeof(int32_t) * (size_t)(3 * T + S), 0));
    GPU_CHECK(hipHostMalloc((void **)&a->h_ids, sizeof(int32_t) * (size_t)S, 0));
}

static void build_kv(GpuKv *kv, const GpuEngine *g, int n_slots, int cap) {
    const Config *c = &g->m->cfg;
    const size_t dkv = cfg_kv_dim(c);
    kv->n_slots = n_slots;
    kv->cap = cap;
    kv->layers = (KvLayer *)xcalloc((size_t)c->n_layers, sizeof(KvLayer));
    size_t total = 0;
    for (int l = 0; l < c->n_layers; l++)
        total += (size_t)n_slots * (cfg_layer_window(c, l) ? gpu_ring_cap(g, cap) : cap) * dkv * 2;
    const int parts = g->opt.precise ? 2 : 1;
    DALLOC(kv->base, total * 2 * parts);
    uint16_t *p = kv->base;
    for (int l = 0; l < c->n_layers; l++) {
        const int lc = cfg_layer_window(c, l) ? gpu_ring_cap(g, cap) : cap;
        const size_t n = (size_t)n_slots * lc * dkv;
        KvLayer *kl = &kv->layers[l];
        kl->cap = lc;
        kl->st = kv_strides(g->opt.kv_head_major, lc, c->n_kv_heads, c->head_dim);
        kl->k = p, p += n;
        kl->v = p, p += n;
        if (parts == 2) kl->k_lo = p, p += n, kl->v_lo = p, p += n;
    }
}

/* Make room for n_slots sequences of up to cap positions, T_max tokens and
 * S_max sampling rows per step; keeps what is already big enough. */
int gpu_prepare(GpuEngine *g, int n_slots, int cap, int T_max, int S_max, int L_max, Err *err) {
    const Config *c = &g->m->cfg;
    const int kv_ok = g->kv.base && g->kv.n_slots >= n_slots && g->kv.cap >= cap;
    const int act_ok =
        g->a.meta && g->a.T_max >= T_max && g->a.S_max >= S_max && g->a.L_max >= L_max;
    if (!kv_ok || !act_ok) gpu_graph_clear(&g->graphs); // their pointers are baked in
    if (!kv_ok) free_kv(&g->kv);
    if (!act_ok) free_acts(&g->a);
    size_t free_b = 0, total_b = 0;
    GPU_CHECK(hipMemGetInfo(&free_b, &total_b));
    size_t need = (kv_ok ? 0 : gpu_bytes_per_slot(g, cap, 0) * (size_t)n_slots) +
                  (act_ok ? 0 : gpu_act_bytes(c, T_max, S_max, L_max, g->opt.precise));
    if (need > free_b)
        return err_set(err, "gpu: %d sequences of %d positions need %.2f GB, %.2f GB free", n_slots,
                       cap, need / 1e9, free_b / 1e9);
    if (!kv_ok) build_kv(&g->kv, g, n_slots, cap);
    if (!act_ok) build_acts(&g->a, c, T_max, S_max, L_max, g->opt.precise);
    return GETP_OK;
}

static int gpu_logits(Engine *e, const int32_t *tokens, int n, float *out, Err *err) {
    GpuEngine *g = (GpuEngine *)e->impl;
    const Config *c = &g->m->cfg;
    if (n < 1 || n > c->max_seq_len)
        return err_set(err, "logits: sequence length %d outside 1..%d", n, c->max_seq_len);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return err_set(err, "logits: token %d at position %d outside the vocabulary", tokens[i], i);
    if (gpu_prepare(g, 1, n, g->chunk, g->chunk, g->chunk, err) != GETP_OK) return GETP_ERR;
    GpuActs *a = &g->a;
    for (int p0 = 0; p0 < n; p0 += g->chunk) {
        const int T = n - p0 < g->chunk ? n - p0 : g->chunk;
        for (int i = 0; i < T; i++) {
            a->h_meta[i] = tokens[p0 + i];
            a->h_meta[a->T_max + i] = 0;
            a->h_meta[2 * a->T_max + i] = p0 + i;
            a->h_meta[3 * a->T_max + i] = i;
        }
        gpu_forward_logits(g, T);
        GPU_CHECK(hipMemcpy(out + (size_t)p0 * c->vocab_size, a->logits,
                            sizeof(float) * (size_t)T * c->vocab_size, hipMemcpyDeviceToHost));
    }
    return GETP_OK;
}

static void gpu_destroy(Engine *e) {
    if (!e) return;
    GpuEngine *g = (GpuEngine *)e->impl;
    if (g) {
        GPU_CHECK(hipSetDevice(g->opt.device));
        GPU_CHECK(hipStreamSynchronize(g->stream));
        gpu_profile_report(&g->prof, stderr);
        gpu_graph_report(g, stderr);
        gpu_graph_clear(&g->graphs);
        free_kv(&g->kv);
        free_acts(&g->a);
        free_gpu_weights(&g->w);
        GPU_CHECK(hipStreamDestroy(g->stream));
        free(g);
    }
    free(e);
}

static int check_shapes(const Config *c, Err *err) {
    const int G = c->n_kv_heads > 0 ? c->n_heads / c->n_kv_heads : 0;
    if (c->head_dim != 64 || G * c->n_kv_heads != c->n_heads || (G != 1 && G != 2 && G != 4 &&
                                                                   G != 8 && G != 16))
        return err_set(err, "gpu engine: head_dim %d with %d heads / %d kv heads unsupported "
                       "(needs head_dim 64, 1/2/4/8/16 query heads per kv head)", c->head_dim,
                       c->n_heads, c->n_kv_heads);
    if (c->hidden % 32 != 0 || c->intermediate % 32 != 0)
        return err_set(err, "gpu engine: hidden %d / intermediate %d must be multiples of 32",
                       c->hidden, c->intermediate);
    return GETP_OK;
}

extern "C" Engine *engine_gpu_create(const Model *m, const GpuOptions *opt, Err *err) {
    if (!m || !m->layers) { err_set(err, "gpu engine: no model"); return NULL; }
    if (check_shapes(&m->cfg, err) != GETP_OK) return NULL;
    const int n_dev = gpu_device_count();
    if (opt->device < 0 || opt->device >= n_dev) {
        err_set(err, "gpu engine: device %d requested, %d present", opt->device, n_dev);
        return NULL;
    }
    const double t0 = now_seconds();
    GPU_CHECK(hipSetDevice(opt->device));
    GpuEngine *g = (GpuEngine *)xcalloc(1, sizeof *g);
    g->m = m;
    g->opt = *opt;
    const int win = m->cfg.sliding_window;
    g->chunk = (win > 0 && win < MAX_CHUNK) ? win : MAX_CHUNK;
    GPU_CHECK(hipStreamCreate(&g->stream));
    gpu_profile_init(&g->prof);
    if (env_flag("GETP_NO_GRAPH")) g->opt.no_graph = 1; // A/B runs: the same bits either way
    if (env_flag("GETP_KV_HEAD_MAJOR")) g->opt.kv_head_major = 1; // likewise
    gpu_graph_init(g);
    size_t free0 = 0, total = 0;
    GPU_CHECK(hipMemGetInfo(&free0, &total));
    if (load_gpu_weights(&g->w, m, g->stream, opt->verbose, err) != GETP_OK) {
        GPU_CHECK(hipStreamDestroy(g->stream));
        free(g);
        return NULL;
    }
    if (opt->verbose)
        fprintf(stderr, "getp: gpu %d: weights %.2f GB uploaded in %.2f s (%.2f of %.2f GB free before)\n",
                opt->device, g->w.bytes / 1e9, now_seconds() - t0, free0 / 1e9, total / 1e9);
    Engine *e = (Engine *)xcalloc(1, sizeof *e);
    e->name = "gpu";
    e->generate = gpu_generate;
    e->logits = gpu_logits;
    e->destroy = gpu_destroy;
    e->impl = g;
    return e;
}
