/* selftest_graph.hip: the decode step's launches replayed as a GPU graph
 * (engine_gpu_graph.hip) give the bits that the same launches give one by
 * one, and a replay reads its inputs when it runs, not when it was captured.
 *
 * The body is a small decode layer's MoE half on M = 3 tokens, the shapes
 * where the engine uses graphs (few tokens: the GEMV paths): a copy up from
 * pinned host memory (the engine's meta copy), rmsnorm, the router GEMV,
 * top-k, the sort, mlp1 + SwiGLU and mlp2 (MXFP4 experts), the combine into
 * the residual. Run directly, then as a graph; then the host input changes
 * and both run again. Every output float must match bit for bit (a graph
 * holds the same kernels with the same arguments). This is the check of the
 * vendor's graph runtime that users get on their own GPU (ROCm on MI250).
 */
#include "selftest.h"
#include "gpu_check.h"
#include "kernels.h"
#include "engine_gpu_internal.h" // gpu_graph_capture

#include <math.h>
#include <string.h>

typedef struct {
    hipStream_t st;
    int M, E, k, H, I;
    float *h_x;        // pinned host input (M, H)
    float *x;          // (M, H) residual, re-copied from h_x every run
    float *norm_w, *b_gate, *b1, *b2;
    uint16_t *t, *w_gate, *h;
    float *glog, *topk_w, *ypair;
    int32_t *topk_ids, *offsets, *sorted, *counts;
    ExpertWeights w1, w2;
} GraphBody;

static void layer(void *ctx) {
    const GraphBody *b = (const GraphBody *)ctx;
    const int M = b->M, E = b->E, k = b->k, H = b->H, I = b->I;
    GPU_CHECK(hipMemcpyAsync(b->x, b->h_x, sizeof(float) * (size_t)M * H, hipMemcpyHostToDevice,
                             b->st));
    rmsnorm_f32_bf16out(b->t, NULL, b->x, b->norm_w, NULL, M, H, 1e-5f, b->st);
    matmul_pair_bf16_bf16w(b->glog, b->t, NULL, b->w_gate, b->b_gate, NULL, M, E, H, b->st);
    router_topk_f32(b->topk_ids, b->topk_w, b->glog, M, E, k, b->st);
    moe_sort(b->topk_ids, M, k, E, b->offsets, b->sorted, b->counts, b->st);
    MoeArgs m1 = {b->t, b->w1, b->b1, b->offsets, b->sorted, b->h, NULL, M, k, E, 2 * I, H,
                  7.0f, NULL, 0};
    MoeArgs m2 = {b->h, b->w2, b->b2, b->offsets, b->sorted, NULL, b->ypair, M, k, E, H, I,
                  0.0f, NULL, 0};
    moe_mlp1_swiglu(&m1, b->st);
    moe_mlp2(&m2, b->st);
    moe_combine(b->x, b->ypair, b->topk_w, M, k, H, b->st);
}

static void *upload_random_bf16(SelfTest *st, size_t n, float scale) {
    uint16_t *v = (uint16_t *)xmalloc(2 * n);
    st_fill_bf16(st, v, NULL, n, scale);
    void *d = st_upload(v, 2 * n);
    free(v);
    return d;
}

static void *upload_random_f32(SelfTest *st, size_t n, float scale) {
    float *v = (float *)xmalloc(4 * n);
    st_fill_f32(st, v, n, scale);
    void *d = st_upload(v, 4 * n);
    free(v);
    return d;
}

static void *upload_random_u8(SelfTest *st, size_t n, int lo, int span) {
    uint8_t *v = (uint8_t *)xmalloc(n);
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(lo + (int)st_uniform(st, 0, (float)span));
    void *d = st_upload(v, n);
    free(v);
    return d;
}

/* x after the layer, run directly (graph NULL) or by the graph. */
static void run_layer(GraphBody *b, hipGraphExec_t graph, float *out) {
    if (graph) GPU_CHECK(hipGraphLaunch(graph, b->st));
    else layer(b);
    GPU_CHECK(hipStreamSynchronize(b->st));
    st_download(out, b->x, sizeof(float) * (size_t)b->M * b->H);
}

static long count_differing(const float *a, const float *b, size_t n) {
    long bad = 0;
    for (size_t i = 0; i < n; i++) bad += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return bad;
}

void selftest_graph_ops(SelfTest *st) {
    GraphBody b;
    memset(&b, 0, sizeof b);
    b.st = st->stream;
    b.M = 3, b.E = 8, b.k = 2, b.H = 128, b.I = 64;
    const int M = b.M, E = b.E, k = b.k, H = b.H, I = b.I;
    const size_t n1 = (size_t)E * 2 * I * H, n2 = (size_t)E * H * I, nx = (size_t)M * H;
    GPU_CHECK(hipHostMalloc((void **)&b.h_x, sizeof(float) * nx, 0));
    b.x = (float *)st_poisoned(sizeof(float) * nx);
    b.norm_w = (float *)upload_random_f32(st, H, 1.0f);
    b.w_gate = (uint16_t *)upload_random_bf16(st, (size_t)E * H, 0.2f);
    b.b_gate = (float *)upload_random_f32(st, E, 0.5f);
    b.w1.is_mxfp4 = b.w2.is_mxfp4 = 1;
    b.w1.blocks = (const uint8_t *)upload_random_u8(st, n1 / 2, 0, 256);
    b.w1.scales = (const uint8_t *)upload_random_u8(st, n1 / 32, 118, 4);
    b.w2.blocks = (const uint8_t *)upload_random_u8(st, n2 / 2, 0, 256);
    b.w2.scales = (const uint8_t *)upload_random_u8(st, n2 / 32, 118, 4);
    b.b1 = (float *)upload_random_f32(st, (size_t)E * 2 * I, 0.5f);
    b.b2 = (float *)upload_random_f32(st, (size_t)E * H, 0.5f);
    b.t = (uint16_t *)st_poisoned(2 * nx);
    b.glog = (float *)st_poisoned(sizeof(float) * (size_t)M * E);
    b.topk_ids = (int32_t *)st_poisoned(sizeof(int32_t) * (size_t)M * k);
    b.topk_w = (float *)st_poisoned(sizeof(float) * (size_t)M * k);
    b.offsets = (int32_t *)st_poisoned(sizeof(int32_t) * (size_t)(E + 1));
    b.sorted = (int32_t *)st_poisoned(sizeof(int32_t) * (size_t)M * k);
    b.counts = (int32_t *)st_poisoned(sizeof(int32_t) * (size_t)E);
    b.h = (uint16_t *)st_poisoned(2 * (size_t)M * k * I);
    b.ypair = (float *)st_poisoned(sizeof(float) * (size_t)M * k * H);

    float *direct = (float *)xmalloc(sizeof(float) * nx), *replay = (float *)xmalloc(sizeof(float) * nx);
    st_fill_f32(st, b.h_x, nx, 1.0f);
    run_layer(&b, NULL, direct); // first launches (and every launcher's first-call set-up) outside the capture
    hipGraphExec_t graph = NULL;
    const hipError_t e = gpu_graph_capture(b.st, layer, &b, &graph);
    if (e != hipSuccess) {
        fprintf(st->out, "      graph capture refused: %s\n", hipGetErrorString(e));
        st_report(st, "graph: capture of a decode layer (MoE half)", NAN, TOL_EXACT, 1);
    } else {
        run_layer(&b, graph, replay);
        st_report(st, "graph: replay == launches, bitwise (M=3)", 0.0, TOL_EXACT,
                  count_differing(replay, direct, nx));
        /* new host input: the replay must read it (and the buffers) when it runs */
        st_fill_f32(st, b.h_x, nx, 1.0f);
        run_layer(&b, NULL, direct);
        const long unchanged = count_differing(replay, direct, nx) == 0; // new input, new output
        run_layer(&b, graph, replay);
        st_report(st, "graph: replay reads new host input, bitwise", 0.0, TOL_EXACT,
                  count_differing(replay, direct, nx) + unchanged);
        GPU_CHECK(hipGraphExecDestroy(graph));
    }
    free(direct);
    free(replay);
    GPU_CHECK(hipHostFree(b.h_x));
    void *dev[] = {b.x, b.norm_w, b.w_gate, b.b_gate, (void *)b.w1.blocks, (void *)b.w1.scales,
                   (void *)b.w2.blocks, (void *)b.w2.scales, b.b1, b.b2, b.t, b.glog, b.topk_ids,
                   b.topk_w, b.offsets, b.sorted, b.counts, b.h, b.ypair};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) st_free(dev[i]);
}
