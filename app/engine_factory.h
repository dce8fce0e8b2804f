/* engine_factory.h: the one place that decides which engine runs (CPU
 * reference or GPU) and builds it, for the getp flow (getp_run.cpp, one per
 * rank) and the generate mode alike. Only this file and the self-test know
 * whether getp was built with a GPU backend. */
#ifndef GETP_ENGINE_FACTORY_H
#define GETP_ENGINE_FACTORY_H

#include "engine.h" // Engine
#include "getp.h"   // GetpOptions, Backend
#include "model.h"  // Model

#ifdef __cplusplus
extern "C" {
#endif

/* GPUs this process may use: 0 on a build without a GPU backend, with
 * --backend cpu, or when the driver sees none. */
int engine_gpu_count(const GetpOptions *o);

/* 1 if this process should run the GPU engine: --backend gpu, or auto when
 * every rank sees a GPU (all_have_gpu: the caller's agreement over its ranks;
 * a single process passes engine_gpu_count(o) > 0). */
int engine_use_gpu(const GetpOptions *o, int all_have_gpu);

/* The engine: GPU on `device` when use_gpu, else the CPU reference engine.
 * NULL + err when it cannot be built (no GPU backend in this build, no GPU
 * visible, too little memory...). The model must outlive the engine. */
Engine *engine_create(const GetpOptions *o, const Model *m, int use_gpu, int device, Err *err);

/* --selftest: every GPU kernel against the CPU reference on this GPU; the
 * process exit code (2 on a build without a GPU backend). */
int engine_selftest(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
