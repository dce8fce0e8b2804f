/* engine_gpu_load.hip: moving the model from the host mmap to the GPU.
 *
 * Bytes flow mmap -> pinned staging (host memcpy) -> device, in chunks of
 * STAGE_BYTES through two pinned buffers, so the copy of chunk i runs while
 * the host reads chunk i+1 from the mapping; memory held beyond the weights is
 * bounded by the staging buffers. Conversions happen on the GPU: a chunk that
 * needs one lands in a device staging buffer and a kernel (convert.hip)
 * writes the destination. Dense weights become bf16, small vectors fp32;
 * experts stay MXFP4 from a checkpoint and are re-encoded to MXFP4 from a
 * .bin payload when every group is exact (else that tensor stays bf16).
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"
#include "ops_cpu.h" // model_rope_table

#define STAGE_BYTES ((size_t)64 << 20)

typedef enum { CONV_COPY, CONV_F32_BF16, CONV_BF16_F32, CONV_F32_MXFP4, CONV_BF16_MXFP4 } Conv;

typedef struct {
    hipStream_t stream;
    void *pinned[2];  // (STAGE_BYTES) host
    void *dstage[2];  // (STAGE_BYTES) device
    hipEvent_t done[2];
    int cur;
    int *d_bad;       // device flag: an MXFP4 group was not exact
} Stager;

static void build_stager(Stager *s, hipStream_t stream) {
    memset(s, 0, sizeof *s);
    s->stream = stream;
    for (int b = 0; b < 2; b++) {
        GPU_CHECK(hipHostMalloc(&s->pinned[b], STAGE_BYTES, 0));
        GPU_CHECK(hipMalloc(&s->dstage[b], STAGE_BYTES));
        GPU_CHECK(hipEventCreateWithFlags(&s->done[b], hipEventDisableTiming));
    }
    GPU_CHECK(hipMalloc((void **)&s->d_bad, sizeof(int)));
}

static void free_stager(Stager *s) {
    GPU_CHECK(hipStreamSynchronize(s->stream));
    for (int b = 0; b < 2; b++) {
        GPU_CHECK(hipHostFree(s->pinned[b]));
        GPU_CHECK(hipFree(s->dstage[b]));
        GPU_CHECK(hipEventDestroy(s->done[b]));
    }
    GPU_CHECK(hipFree(s->d_bad));
}

/* Stream n_src bytes of src through the stager, converting into dst (and
 * dst2 = MXFP4 scales). Element offsets advance with the chunk. */
static void stage(Stager *s, const void *src, size_t n_src, Conv conv, void *dst, void *dst2) {
    const size_t in_elem = (conv == CONV_COPY || conv == CONV_BF16_F32 || conv == CONV_BF16_MXFP4)
                               ? (conv == CONV_COPY ? 1 : 2) : 4;
    for (size_t off = 0; off < n_src; off += STAGE_BYTES) {
        const size_t n = n_src - off < STAGE_BYTES ? n_src - off : STAGE_BYTES;
        const int b = s->cur;
        s->cur ^= 1;
        GPU_CHECK(hipEventSynchronize(s->done[b])); // buffer b free again
        memcpy(s->pinned[b], (const uint8_t *)src + off, n);
        const int64_t e0 = (int64_t)(off / in_elem), ne = (int64_t)(n / in_elem);
        if (conv == CONV_COPY) {
            GPU_CHECK(hipMemcpyAsync((uint8_t *)dst + off, s->pinned[b], n, hipMemcpyHostToDevice,
                                     s->stream));
        } else {
            GPU_CHECK(hipMemcpyAsync(s->dstage[b], s->pinned[b], n, hipMemcpyHostToDevice,
                                     s->stream));
            if (conv == CONV_F32_BF16)
                convert_f32_to_bf16((uint16_t *)dst + e0, (const float *)s->dstage[b], ne, s->stream);
            else if (conv == CONV_BF16_F32)
                convert_bf16_to_f32((float *)dst + e0, (const uint16_t *)s->dstage[b], ne, s->stream);
            else
                encode_mxfp4((uint8_t *)dst + e0 / 32 * 16, (uint8_t *)dst2 + e0 / 32, s->dstage[b],
                             conv == CONV_F32_MXFP4, ne / 32, s->d_bad, s->stream);
        }
        GPU_CHECK(hipEventRecord(s->done[b], s->stream));
    }
}

static void *walloc(GpuWeights *w, size_t n) {
    void *p = NULL;
    GPU_CHECK(hipMalloc(&p, n > 0 ? n : 1));
    if (w->n_allocs == w->cap_allocs) {
        w->cap_allocs = w->cap_allocs ? 2 * w->cap_allocs : 64;
        w->allocs = (void **)xrealloc(w->allocs, sizeof(void *) * (size_t)w->cap_allocs);
    }
    w->allocs[w->n_allocs++] = p;
    w->bytes += n;
    return p;
}

static void wfree(GpuWeights *w, void *p, size_t n) {
    for (int i = 0; i < w->n_allocs; i++)
        if (w->allocs[i] == p) {
            GPU_CHECK(hipFree(p));
            w->allocs[i] = w->allocs[--w->n_allocs];
            w->bytes -= n;
            return;
        }
    CHECK(!"wfree: not a weight allocation");
}

static size_t dtype_size(DType d) { return d == DT_F32 ? 4 : 2; }

/* Dense weight -> bf16. */
static uint16_t *up_bf16(GpuWeights *w, Stager *s, const Tensor *t) {
    CHECK(t->dtype == DT_F32 || t->dtype == DT_BF16);
    const int64_t n = tensor_numel(t);
    uint16_t *d = (uint16_t *)walloc(w, (size_t)n * 2);
    stage(s, t->data, (size_t)n * dtype_size(t->dtype), t->dtype == DT_F32 ? CONV_F32_BF16 : CONV_COPY,
          d, NULL);
    return d;
}

/* Small vector -> fp32. */
static float *up_f32(GpuWeights *w, Stager *s, const Tensor *t) {
    CHECK(t->dtype == DT_F32 || t->dtype == DT_BF16);
    const int64_t n = tensor_numel(t);
    float *d = (float *)walloc(w, (size_t)n * 4);
    stage(s, t->data, (size_t)n * dtype_size(t->dtype), t->dtype == DT_F32 ? CONV_COPY : CONV_BF16_F32,
          d, NULL);
    return d;
}

/* Expert weights (E, R, C): MXFP4 when the source is MXFP4 or exactly
 * representable, else bf16. Returns 1 if kept bf16. */
static int up_experts(GpuWeights *w, Stager *s, const Tensor *t, ExpertWeights *ew) {
    const int64_t n = tensor_numel(t), groups = n / 32;
    CHECK(t->shape[t->ndim - 1] % 32 == 0);
    memset(ew, 0, sizeof *ew);
    ew->is_mxfp4 = 1;
    uint8_t *blocks = (uint8_t *)walloc(w, (size_t)groups * 16);
    uint8_t *scales = (uint8_t *)walloc(w, (size_t)groups);
    ew->blocks = blocks;
    ew->scales = scales;
    if (t->dtype == DT_MXFP4) {
        stage(s, t->data, (size_t)groups * 16, CONV_COPY, blocks, NULL);
        stage(s, t->scales, (size_t)groups, CONV_COPY, scales, NULL);
        return 0;
    }
    int bad = 0;
    GPU_CHECK(hipMemsetAsync(s->d_bad, 0, sizeof(int), s->stream));
    stage(s, t->data, (size_t)n * dtype_size(t->dtype),
          t->dtype == DT_F32 ? CONV_F32_MXFP4 : CONV_BF16_MXFP4, blocks, scales);
    GPU_CHECK(hipMemcpyAsync(&bad, s->d_bad, sizeof(int), hipMemcpyDeviceToHost, s->stream));
    GPU_CHECK(hipStreamSynchronize(s->stream));
    if (!bad) return 0;
    wfree(w, blocks, (size_t)groups * 16); // not exact: keep bf16
    wfree(w, scales, (size_t)groups);
    ew->is_mxfp4 = 0;
    ew->blocks = NULL;
    ew->scales = NULL;
    ew->bf16 = up_bf16(w, s, t);
    return 1;
}

static void up_layer(GpuWeights *w, Stager *s, const LayerWeights *lw, GpuLayer *gl, int verbose,
                     int l) {
    gl->attn_norm = up_f32(w, s, &lw->attn_norm);
    gl->w_qkv = up_bf16(w, s, &lw->w_qkv);
    gl->b_qkv = up_f32(w, s, &lw->b_qkv);
    gl->sinks = up_f32(w, s, &lw->sinks);
    gl->w_o = up_bf16(w, s, &lw->w_o);
    gl->b_o = up_f32(w, s, &lw->b_o);
    gl->mlp_norm = up_f32(w, s, &lw->mlp_norm);
    gl->w_gate = up_bf16(w, s, &lw->w_gate);
    gl->b_gate = up_f32(w, s, &lw->b_gate);
    gl->b1 = up_f32(w, s, &lw->b1);
    gl->b2 = up_f32(w, s, &lw->b2);
    const Tensor *ex[2] = {&lw->w1, &lw->w2};
    ExpertWeights *ew[2] = {&gl->w1, &gl->w2};
    for (int j = 0; j < 2; j++) {
        int kept = up_experts(w, s, ex[j], ew[j]);
        w->n_bf16_experts += kept;
        if (kept && verbose)
            fprintf(stderr, "getp: gpu: layer %d mlp%d experts are not MXFP4-exact: kept bf16\n",
                    l, j + 1);
    }
}

int load_gpu_weights(GpuWeights *w, const Model *m, hipStream_t stream, int verbose, Err *err) {
    const Config *c = &m->cfg;
    memset(w, 0, sizeof *w);
    size_t free0 = 0, total = 0, need = 0;
    GPU_CHECK(hipMemGetInfo(&free0, &total));
    need += (size_t)(tensor_numel(&m->embedding) + tensor_numel(&m->unembedding)) * 2;
    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *lw = &m->layers[l];
        need += (size_t)(tensor_numel(&lw->w_qkv) + tensor_numel(&lw->w_o)) * 2;
        need += (size_t)(tensor_numel(&lw->w1) + tensor_numel(&lw->w2)) * 17 / 32;
    }
    if (need + 2 * STAGE_BYTES > free0)
        return err_set(err, "gpu: the model needs %.2f GB of GPU memory, %.2f GB are free",
                       need / 1e9, free0 / 1e9);
    Stager s;
    build_stager(&s, stream);
    w->emb = up_bf16(w, &s, &m->embedding);
    w->unemb = up_bf16(w, &s, &m->unembedding);
    w->final_norm = up_f32(w, &s, &m->final_norm);
    w->layers = (GpuLayer *)xcalloc((size_t)c->n_layers, sizeof(GpuLayer));
    for (int l = 0; l < c->n_layers; l++) up_layer(w, &s, &m->layers[l], &w->layers[l], verbose, l);
    float inv_freq[256];
    CHECK(c->head_dim / 2 <= 256);
    model_rope_table(c, inv_freq, &w->concentration);
    w->inv_freq = (float *)walloc(w, sizeof(float) * (size_t)(c->head_dim / 2));
    GPU_CHECK(hipMemcpyAsync(w->inv_freq, inv_freq, sizeof(float) * (size_t)(c->head_dim / 2),
                             hipMemcpyHostToDevice, stream));
    free_stager(&s); // synchronizes
    if (w->n_bf16_experts)
        fprintf(stderr, "getp: gpu: note: %d of %d expert tensors are not exactly MXFP4; kept bf16\n",
                w->n_bf16_experts, 2 * c->n_layers);
    return GETP_OK;
}

void free_gpu_weights(GpuWeights *w) {
    for (int i = 0; i < w->n_allocs; i++) GPU_CHECK(hipFree(w->allocs[i]));
    free(w->allocs);
    free(w->layers);
    memset(w, 0, sizeof *w);
}
