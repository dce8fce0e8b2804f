/* engine_gpu_graph.hip: the step's forward pass (forward_layers in
 * engine_gpu_forward.hip: meta copy up, embedding, every layer, final norm)
 * replayed as a GPU graph: a decode step's ~290 launches (12 a layer) become
 * one graph launch (issue #18).
 *
 * What may be in the graph: only launches whose choice and arguments depend
 * on (T, S) and on pointers fixed for the life of the activations and the KV
 * cache. Every launcher forward_layers calls decides its kernel and grid from
 * T, S, the model's shapes, the engine's precise flag, the SM count and env
 * switches read once per process (GETP_NO_ATT_MMA, GETP_NO_WGMMA); token ids,
 * positions, slots and the routed expert counts are read by the kernels on
 * the device, never by the host (the MoE grids are upper bounds from T and E,
 * attention's grid is (T, KV heads) whatever the positions). So a graph
 * captured for (T, S) is that step for any token list of T tokens and S
 * sampling rows. The head and the sampler (gpu_forward_step) stay outside:
 * their choices follow the host's sampler settings (R, the split path).
 *
 * The cache: keys (T, S) with T <= GPU_GRAPH_MAX_T. A key seen for the first
 * time runs launch by launch (a one-off prefill shape is never captured); the
 * second time it is captured and replayed, and replayed from then on. At most
 * GPU_GRAPH_KEEP graphs are kept, the least recently used is destroyed (with
 * its key: it must be seen twice again). gpu_graph_clear() destroys them all:
 * gpu_prepare calls it whenever the activations or the KV cache are
 * reallocated (their pointers are baked into the graphs), and the engine's
 * destroy.
 *
 * Capture mode: relaxed. Some launchers set a kernel's shared-memory limit
 * (hipFuncSetAttribute) at every launch (moe_tiles.hip's staged kernel,
 * moe_async.hip, moe_wgmma.hip) or on their first call (matmul.hip's tiled
 * kernels); those calls change no stream and are not captured, but a global
 * or thread-local capture may refuse "potentially unsafe" calls made from the
 * capturing thread, and relaxed is the mode that permits them. Capturing only
 * on a key's second sight also means every first-call set-up (attributes,
 * gpu_sm_count) has already run outside any capture. The engine is driven by
 * one thread, so relaxed mode loses no protection against other threads.
 *
 * Off: GETP_PROFILE (its events between phases would be baked into the
 * graph, and it wants the phases timed apart), GpuOptions.no_graph, which
 * GETP_NO_GRAPH=1 sets (A/B runs: the same bits either way, the kernels and
 * their arguments are the same).
 */
#include "engine_gpu_internal.h"
#include "gpu_check.h"

void gpu_graph_init(GpuEngine *g) {
    GpuGraphs *gr = &g->graphs;
    memset(gr, 0, sizeof *gr);
    gr->on = !g->opt.no_graph && !g->prof.on;
}

static void drop(GpuGraphs *gr, int i) {
    if (gr->key[i].exec) GPU_CHECK(hipGraphExecDestroy(gr->key[i].exec));
    gr->key[i] = gr->key[--gr->n];
}

void gpu_graph_clear(GpuGraphs *gr) {
    while (gr->n > 0) drop(gr, gr->n - 1);
}

/* Least recently used key, among those holding a graph (graphs = 1) or all. */
static int lru(const GpuGraphs *gr, int graphs) {
    int best = -1;
    for (int i = 0; i < gr->n; i++)
        if ((!graphs || gr->key[i].exec) && (best < 0 || gr->key[i].used < gr->key[best].used))
            best = i;
    return best;
}

hipError_t gpu_graph_capture(hipStream_t stream, void (*body)(void *), void *ctx,
                             hipGraphExec_t *exec) {
    hipGraph_t graph = NULL;
    *exec = NULL;
    GPU_CHECK(hipStreamBeginCapture(stream, hipStreamCaptureModeRelaxed));
    body(ctx);
    hipError_t e = hipStreamEndCapture(stream, &graph);
    if (e == hipSuccess) e = hipGraphInstantiate(exec, graph, NULL, NULL, 0);
    if (graph) GPU_CHECK(hipGraphDestroy(graph));
    if (e != hipSuccess) {
        (void)hipGetLastError();
        *exec = NULL;
    }
    return e;
}

typedef struct {
    GpuEngine *g;
    int T, S;
    GpuStepBody body;
} StepCtx;

static void run_step(void *ctx) {
    const StepCtx *c = (const StepCtx *)ctx;
    c->body(c->g, c->T, c->S);
}

/* The step's launches on g->stream as a graph; NULL if the runtime refused
 * (nothing has run then: the caller runs the step itself). */
static hipGraphExec_t capture(GpuEngine *g, int T, int S, GpuStepBody body) {
    StepCtx c = {g, T, S, body};
    hipGraphExec_t exec = NULL;
    const hipError_t e = gpu_graph_capture(g->stream, run_step, &c, &exec);
    if (e != hipSuccess) {
        fprintf(stderr, "getp: gpu %d: graph capture failed (%s): the steps run launch by launch\n",
                g->opt.device, hipGetErrorString(e));
        gpu_graph_clear(&g->graphs);
        g->graphs.on = 0;
        return NULL;
    }
    return exec;
}

void gpu_graph_forward(GpuEngine *g, int T, int S, GpuStepBody body) {
    GpuGraphs *gr = &g->graphs;
    gr->steps++;
    if (!gr->on || T > GPU_GRAPH_MAX_T) {
        body(g, T, S);
        return;
    }
    CHECK(!g->prof.on); // profile events must never be captured
    int i = 0;
    while (i < gr->n && (gr->key[i].T != T || gr->key[i].S != S)) i++;
    if (i == gr->n) { // first sight: remember the key, run launch by launch
        if (gr->n == GPU_GRAPH_SEEN) drop(gr, lru(gr, 0));
        GpuGraphKey k = {T, S, ++gr->tick, NULL};
        gr->key[gr->n++] = k;
        body(g, T, S);
        return;
    }
    gr->key[i].used = ++gr->tick;
    if (!gr->key[i].exec) { // second sight: capture (making room first), then replay
        int held = 0;
        for (int j = 0; j < gr->n; j++) held += gr->key[j].exec != NULL;
        if (held == GPU_GRAPH_KEEP) {
            const int v = lru(gr, 1);
            drop(gr, v);
            if (i == gr->n) i = v; // drop() moved the last key into slot v
        }
        hipGraphExec_t exec = capture(g, T, S, body);
        if (!exec) {
            body(g, T, S);
            return;
        }
        gr->key[i].exec = exec;
        gr->captures++;
    }
    GPU_CHECK(hipGraphLaunch(gr->key[i].exec, g->stream));
    gr->replays++;
}

void gpu_graph_report(const GpuEngine *g, FILE *out) {
    const GpuGraphs *gr = &g->graphs;
    if (!g->opt.verbose || gr->steps == 0) return;
    fprintf(out, "getp: gpu %d: graphs %s: %ld of %ld steps replayed, %ld captures\n", g->opt.device,
            gr->on ? "on" : "off", gr->replays, gr->steps, gr->captures);
}

extern "C" void engine_gpu_graph_stats(const Engine *e, long *captures, long *replays) {
    const GpuEngine *g = (const GpuEngine *)e->impl;
    *captures = g->graphs.captures;
    *replays = g->graphs.replays;
}
