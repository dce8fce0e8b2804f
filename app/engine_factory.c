/* engine_factory.c: see engine_factory.h. */
#include "engine_factory.h"
#ifdef GETP_HAVE_GPU
#include "engine_gpu.h" // engine_gpu_create, gpu_device_count, gpu_selftest
#endif

int engine_gpu_count(const GetpOptions *o) {
#ifdef GETP_HAVE_GPU
    return o->backend == BACKEND_CPU ? 0 : gpu_device_count();
#else
    (void)o;
    return 0;
#endif
}

int engine_use_gpu(const GetpOptions *o, int all_have_gpu) {
    return o->backend == BACKEND_GPU || (o->backend == BACKEND_AUTO && all_have_gpu);
}

Engine *engine_create(const GetpOptions *o, const Model *m, int use_gpu, int device, Err *err) {
    if (!use_gpu) return engine_cpu_create(m, err);
#ifdef GETP_HAVE_GPU
    if (gpu_device_count() <= 0) return err_set(err, "--backend gpu: no GPU is visible"), (Engine *)NULL;
    GpuOptions go = {device, o->batch_size, o->verbose, o->precise, 0, 0}; // the A/B switches: environment
    return engine_gpu_create(m, &go, err);
#else
    (void)o, (void)device;
    return err_set(err, "--backend gpu: this getp was built without a GPU backend "
                        "(configure with -DGETP_GPU=hip or cuda)"),
           (Engine *)NULL;
#endif
}

int engine_selftest(FILE *out) {
#ifdef GETP_HAVE_GPU
    return gpu_selftest(out) == 0 ? 0 : 1;
#else
    (void)out;
    fprintf(stderr, "getp: --selftest checks the GPU kernels; this getp was built without a GPU "
                    "backend (configure with -DGETP_GPU=hip or -DGETP_GPU=cuda)\n");
    return 1;
#endif
}
