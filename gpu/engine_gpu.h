/* engine_gpu.h: the GPU engine (engine.h's vtable on one GPU), callable from
 * C. Built only when GETP_GPU is hip or cuda (GETP_HAVE_GPU defined).
 *
 * The engine uploads the model once (dense weights bf16, small vectors fp32,
 * experts MXFP4 when exact, else bf16) and then runs every request through a
 * continuously batched, token-major step: the tokens of one step mix prefill
 * chunks and decode tokens of up to batch_size sequences, each tagged with
 * its (slot, position). See engine_gpu_generate.hip.
 */
#ifndef GETP_ENGINE_GPU_H
#define GETP_ENGINE_GPU_H

#include <stdio.h>
#include "engine.h" // Engine, Request, Output
#include "model.h"  // Model

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int device;     // GPU index on this node
    int batch_size; // sequences in flight; 0 = as many as free memory allows
    int verbose;    // 1: warm-up time, memory, batch size to stderr
    int precise;    // 1: activations and KV as bf16 pairs hi + lo (gpu/kernels/kernels.h): fp32-grade
                    // logits at ~2x the GEMM work and twice the KV memory
    int no_graph;   // 1: every step launch by launch, no GPU graph (engine_gpu_graph.hip; the same
                    // bits either way); GETP_NO_GRAPH=1 in the environment sets it
    int kv_head_major; // 1: the KV cache laid out (slot, KV head, position), each attention block's
                       // reads one contiguous run; 0: (slot, position, KV head) (kernels.h KvLayer;
                       // the same bits either way); GETP_KV_HEAD_MAJOR=1 in the environment sets it
} GpuOptions;

/* The model must outlive the engine. NULL + err on failure (no device, too
 * little memory, unsupported shapes). */
Engine *engine_gpu_create(const Model *m, const GpuOptions *opt, Err *err);

/* How many step graphs the engine captured and how many times it launched one
 * (tests: the graph path did run). */
void engine_gpu_graph_stats(const Engine *e, long *captures, long *replays);

/* Number of usable GPUs (0 if none or no driver). */
int gpu_device_count(void);

/* Checks every GPU op against the CPU oracle (ops_cpu.h) on random inputs,
 * printing one PASS/FAIL line per op and "N passed, M failed" to out.
 * Returns the number of failures. Runs on the current device. */
int gpu_selftest(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
