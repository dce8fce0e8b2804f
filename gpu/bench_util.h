/* bench_util.h: host helpers for the kernel playground (bench/kernels/*.cu)
 * and the GEMM tests (tests/gpu/test_gemm.cu): random bf16 data, a
 * double-precision error measure, event timing. The engine does not include
 * this. */
#ifndef GETP_BENCH_UTIL_H
#define GETP_BENCH_UTIL_H

#include "port.h"
#include "gpu_check.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>
#include <algorithm>

static uint64_t bu_rng = 0x9e3779b97f4a7c15ull;
static inline uint32_t bu_u32(void) {
    bu_rng ^= bu_rng << 13; bu_rng ^= bu_rng >> 7; bu_rng ^= bu_rng << 17;
    return (uint32_t)(bu_rng >> 16);
}
static inline float bu_uniform(void) { return (bu_u32() & 0xffffff) / 16777216.0f * 2.0f - 1.0f; }
static inline uint16_t bu_bf16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static inline double bu_f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
static inline void bu_fill_bf16(std::vector<uint16_t> &v, float scale) {
    for (auto &x : v) x = bu_bf16(bu_uniform() * scale);
}
template <class T> static T *bu_dev(const std::vector<T> &h) {
    T *d; GPU_CHECK(hipMalloc((void **)&d, h.size() * sizeof(T)));
    GPU_CHECK(hipMemcpy(d, h.data(), h.size() * sizeof(T), hipMemcpyHostToDevice));
    return d;
}
template <class T> static std::vector<T> bu_host(const T *d, size_t n) {
    std::vector<T> h(n);
    GPU_CHECK(hipMemcpy(h.data(), d, n * sizeof(T), hipMemcpyDeviceToHost));
    return h;
}
/* Accumulates sum (out - ref)^2 and sum ref^2; NaN always fails. */
struct BuErr {
    double num = 0, den = 0; long nan = 0;
    void add(double out, double ref) {
        if (out != out) { nan++; return; }
        num += (out - ref) * (out - ref); den += ref * ref;
    }
    double nmse() const { return den > 0 ? num / den : num; }
    bool ok(double bound) const { return nan == 0 && nmse() <= bound; }
};
/* Comma list of ints from the environment, or def. */
static std::vector<int> bu_env_list(const char *name, std::vector<int> def) {
    const char *s = getenv(name);
    if (!s || !*s) return def;
    std::vector<int> r;
    for (char *end; *s; s = *end ? end + 1 : end) r.push_back((int)strtol(s, &end, 10));
    return r;
}
/* Median of `reps` timed calls after `warm` untimed ones, in ms: each call
 * alone between two events, so the figure includes the launch's latency
 * (the GPU idles until the launch arrives). BENCH_TIMING=queue: the reps
 * back to back between one pair of events, the mean (the host runs ahead,
 * so a kernel of more than a few us is timed as it runs in a stream or
 * graph, launch latency hidden). */
template <class F> static float bu_time(F f, int warm, int reps) {
    for (int i = 0; i < warm; i++) f(i);
    hipEvent_t a, b; GPU_CHECK(hipEventCreate(&a)); GPU_CHECK(hipEventCreate(&b));
    const char *mode = getenv("BENCH_TIMING");
    if (mode && !strcmp(mode, "queue")) {
        float ms = 0.0f;
        GPU_CHECK(hipEventRecord(a, 0));
        for (int i = 0; i < reps; i++) f(i);
        GPU_CHECK(hipEventRecord(b, 0));
        GPU_CHECK(hipEventSynchronize(b)); GPU_CHECK(hipEventElapsedTime(&ms, a, b));
        GPU_CHECK(hipEventDestroy(a)); GPU_CHECK(hipEventDestroy(b));
        return ms / reps;
    }
    std::vector<float> t(reps);
    for (int i = 0; i < reps; i++) {
        GPU_CHECK(hipEventRecord(a, 0)); f(i); GPU_CHECK(hipEventRecord(b, 0));
        GPU_CHECK(hipEventSynchronize(b)); GPU_CHECK(hipEventElapsedTime(&t[i], a, b));
    }
    std::sort(t.begin(), t.end());
    GPU_CHECK(hipEventDestroy(a)); GPU_CHECK(hipEventDestroy(b));
    return t[reps / 2];
}
/* The split-K experiments' reduction (bench_matmul v17-v22, bench_moe v20-v23):
 * each wave of the block leaves its part's tile in sred ([waves][4][wave]
 * floats); wave 0 sums the parts in part order into *acc and returns true,
 * the others return false. */
__device__ __forceinline__ bool bu_split_sum(TileC *acc, float *sred) {
    const int warp = threadIdx.x / GETP_WAVE, lane = threadIdx.x % GETP_WAVE, S = blockDim.x / GETP_WAVE;
    for (int i = 0; i < 4; i++) sred[(warp * 4 + i) * GETP_WAVE + lane] = acc->c[i];
    __syncthreads();
    if (warp) return false;
    for (int i = 0; i < 4; i++) {
        float v = 0.0f;
        for (int p = 0; p < S; p++) v += sred[(p * 4 + i) * GETP_WAVE + lane];
        acc->c[i] = v;
    }
    return true;
}

#endif
