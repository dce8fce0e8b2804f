/* engine_gpu_internal.h: the GPU engine's state, shared by its files
 * (engine_gpu.hip: create/destroy/logits, engine_gpu_load.hip: weight upload,
 * engine_gpu_forward.hip: one step, engine_gpu_graph.hip: the step as a GPU
 * graph, engine_gpu_generate.hip: scheduling).
 * Every device pointer carries its shape and type.
 */
#ifndef GETP_ENGINE_GPU_INTERNAL_H
#define GETP_ENGINE_GPU_INTERNAL_H

#include "engine_gpu.h"
#include "port.h"
#include "kernels.h" // KvLayer, ExpertWeights, the launchers

/* Prompt tokens per step on top of one per decoding slot: 4 per slot of the
 * batch, within [GPU_PREFILL_MIN, GPU_PREFILL_MAX] (gpu_prefill_budget). A step
 * costs a fixed part (~11 ms for the 20b at batch 1,024 on the H200: every
 * weight read, the launches) plus a part per row: a fixed 512 made 1,024 prompts
 * of 1,024 tokens take 2,048 steps to read, while the first slots, done, decode
 * and then sit empty (bench/RESULTS.md run 50). */
#define GPU_PREFILL_MIN 512
#define GPU_PREFILL_MAX 4096
static inline int gpu_prefill_budget(int B) {
    const long n = 4L * B;
    return n < GPU_PREFILL_MIN ? GPU_PREFILL_MIN : n > GPU_PREFILL_MAX ? GPU_PREFILL_MAX : (int)n;
}
#define GPU_MAX_SLOTS 4096     // default batch cap (free memory usually decides first)

/* GETP_PROFILE=1: events between the phases of every step, summed per phase
 * and printed to stderr when the engine is destroyed. Off: one branch per
 * phase boundary, nothing recorded. */
enum { PH_OTHER, PH_ATTN, PH_DENSE, PH_ROUTE, PH_MLP1, PH_MLP2, PH_COMBINE, PH_HEAD, PH_N };
#define GPU_PROF_MAX_MARKS 512
typedef struct {
    int on;
    int n;                                // marks recorded in this step
    hipEvent_t ev[GPU_PROF_MAX_MARKS];
    signed char ph[GPU_PROF_MAX_MARKS];   // phase of the segment that ends at mark i
    double ms[PH_N];                      // GPU time per phase, all steps
    double host_s;                        // wall time inside gpu_forward_step
    long steps, tokens, samples;
} GpuProfile;

/* The step's forward pass as GPU graphs, keyed by (T, S) (engine_gpu_graph.hip
 * says what may be in a graph and why). Captured the second time a key is
 * seen; destroyed whenever the activations or the KV cache are reallocated. */
/* Steps of more tokens run launch by launch: their kernels run long enough
 * (prefill chunks, large batches) that launch gaps are a small share of the
 * step, and such shapes rarely repeat. */
#define GPU_GRAPH_MAX_T 64
#define GPU_GRAPH_KEEP 8  // graphs kept; the least recently used one is destroyed
#define GPU_GRAPH_SEEN 32 // (T, S) keys remembered, with or without a graph
typedef struct {
    int T, S;
    long used;           // tick of the last use (least recently used goes first)
    hipGraphExec_t exec; // NULL: seen once, not captured yet
} GpuGraphKey;
typedef struct {
    int on;              // 0: GpuOptions.no_graph (GETP_NO_GRAPH=1), GETP_PROFILE, or a failed capture
    int n;               // keys in key[]
    long tick;
    GpuGraphKey key[GPU_GRAPH_SEEN];
    long steps, captures, replays; // forward passes, graphs captured, graph launches
} GpuGraphs;

typedef struct {
    float *attn_norm;  // (H) fp32
    uint16_t *w_qkv;   // (Dq+2Dkv, H) bf16
    float *b_qkv;      // (Dq+2Dkv) fp32
    float *sinks;      // (n_heads) fp32
    uint16_t *w_o;     // (H, Dq) bf16
    float *b_o;        // (H) fp32
    float *mlp_norm;   // (H) fp32
    uint16_t *w_gate;  // (E, H) bf16
    float *b_gate;     // (E) fp32
    ExpertWeights w1;  // (E, 2I, H) MXFP4 or bf16
    float *b1;         // (E, 2I) fp32
    ExpertWeights w2;  // (E, H, I) MXFP4 or bf16
    float *b2;         // (E, H) fp32
} GpuLayer;

typedef struct {
    uint16_t *emb;     // (V, H) bf16
    uint16_t *unemb;   // (V, H) bf16
    float *final_norm; // (H) fp32
    GpuLayer *layers;  // (L) host array of device pointers
    float *inv_freq;   // (head_dim/2) fp32 RoPE table
    float concentration;
    int n_bf16_experts; // expert tensors kept bf16 (not MXFP4-exact)
    void **allocs;      // every device allocation, for free_gpu_weights
    int n_allocs, cap_allocs;
    size_t bytes;
} GpuWeights;

/* Activations of one step: up to T_max tokens, S_max of them sampling. */
typedef struct {
    int T_max, S_max, L_max; // L_max: logits rows (0 when every row is greedy)
    int32_t *meta;      // (3*T_max + S_max): tok (T) | slot (T) | pos (T) | sample rows (S)
    float *x;           // (T_max, H) fp32 residual stream
    uint16_t *t;        // (T_max, H) bf16 normed activations
    float *qkv;         // (T_max, Dq+2Dkv) fp32
    float *q;           // (T_max, Dq) fp32 rotated queries
    uint16_t *att;      // (T_max, Dq) bf16 attention output
    float *glog;        // (T_max, E) fp32 router logits
    int32_t *topk_ids;  // (T_max, k)
    float *topk_w;      // (T_max, k) fp32
    int32_t *offsets;   // (E+1)
    int32_t *sorted;    // (T_max*k) pair ids grouped by expert
    int32_t *counts;    // (E) scratch
    uint16_t *h;        // (T_max*k, I) bf16 SwiGLU output
    float *ypair;       // (T_max*k, H) fp32 expert outputs
    uint16_t *ts;       // (S_max, H) bf16 final-normed sampling rows
    float *logits;      // (L_max, V) fp32: the first sampling rows, those that need the sampler
    SampleRow *srow;    // (L_max) their sampler settings (kernels.h)
    SampleOut *sout;    // (L_max) the sampler's answers
    int32_t *ids;       // (S_max) argmax ids
    int32_t *h_meta;    // pinned host mirror of meta
    int32_t *h_ids;     // pinned host (S_max)
    SampleRow *h_srow;  // pinned host (L_max)
    SampleOut *h_sout;  // pinned host (L_max)
    /* precise mode only (else NULL): the bf16 remainders of t, att, h, ts, and
     * mlp1's pre-activation y1 (T_max*k, 2I) fp32 by sorted position */
    uint16_t *t_lo, *att_lo, *h_lo, *ts_lo;
    float *y1;
} GpuActs;

typedef struct {
    int n_slots, cap;   // cap: positions of a full-attention layer
    KvLayer *layers;    // (L) host array
    uint16_t *base;     // one allocation for all layers (precise: hi and lo parts)
} GpuKv;

typedef struct {
    const Model *m;
    GpuOptions opt;
    hipStream_t stream;
    GpuWeights w;
    GpuActs a;
    GpuKv kv;
    int chunk;          // prefill tokens per slot per step (<= sliding window)
    GpuProfile prof;
    GpuGraphs graphs;
} GpuEngine;

/* engine_gpu_load.hip */
int load_gpu_weights(GpuWeights *w, const Model *m, hipStream_t stream, int verbose, Err *err);
void free_gpu_weights(GpuWeights *w);

/* engine_gpu_forward.hip: run the step whose meta (T tokens, S sampling rows)
 * is in g->a.h_meta. The first R sampling rows (R <= L_max) go through the
 * sampler with the settings in g->a.h_srow: their answers land in g->a.h_sout;
 * the other S - R rows are greedy: their ids land in g->a.h_ids[R..S). An id
 * of -1 means the row's logits were not finite. */
void gpu_forward_step(GpuEngine *g, int T, int S, int R);
/* Teacher forcing: the logits of every one of the T tokens into a->logits
 * (the sampling rows of h_meta must be 0..T-1). */
void gpu_forward_logits(GpuEngine *g, int T);

/* engine_gpu_graph.hip: gpu_graph_forward runs body(g, T, S) (the step's
 * forward pass up to the final norm, all on g->stream) from a graph, capturing
 * it when (T, S) is seen the second time, or launch by launch. */
typedef void (*GpuStepBody)(GpuEngine *g, int T, int S);
void gpu_graph_init(GpuEngine *g); // after gpu_profile_init
/* body(ctx)'s work on `stream` captured (relaxed mode) into *exec; the
 * runtime's error if it refused (then *exec is NULL and nothing ran). Also
 * what the selftest's graph case uses (selftest_graph.hip). */
hipError_t gpu_graph_capture(hipStream_t stream, void (*body)(void *), void *ctx,
                             hipGraphExec_t *exec);
void gpu_graph_forward(GpuEngine *g, int T, int S, GpuStepBody body);
void gpu_graph_clear(GpuGraphs *gr); // destroy every graph (the stream idle)
void gpu_graph_report(const GpuEngine *g, FILE *out); // verbose: steps replayed

/* engine_gpu_profile.hip: GETP_PROFILE support */
void gpu_profile_init(GpuProfile *p);
void gpu_profile_mark(GpuEngine *g, int ph); // end of a segment of phase ph (no-op when off)
void gpu_profile_collect(GpuEngine *g, int T, int S, double t0); // after the step's last mark
void gpu_profile_report(GpuProfile *p, FILE *out);

/* engine_gpu.hip: (re)size activations and KV for a run (L_max logits rows);
 * bytes per slot (with a logits row if `logits`). */
int gpu_prepare(GpuEngine *g, int n_slots, int cap, int T_max, int S_max, int L_max, Err *err);
size_t gpu_bytes_per_slot(const GpuEngine *g, int cap, int logits);
size_t gpu_act_bytes(const Config *c, int T_max, int S_max, int L_max, int precise);
int gpu_ring_cap(const GpuEngine *g, int cap);

/* engine_gpu_generate.hip */
int gpu_generate(Engine *e, const Request *reqs, int n, Output *outs, Err *err);

#endif
