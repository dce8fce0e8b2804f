/* selftest.hip: gpu_selftest() (`getp --selftest`, tests/gpu/test_gpu_ops)
 * and its harness (selftest.h). The cases are in one file per op family:
 * selftest_rows.hip, selftest_attention.hip, selftest_gemm.hip,
 * selftest_moe.hip, selftest_sample.hip, selftest_graph.hip.
 */
#include "selftest.h"
#include "engine_gpu.h" // gpu_selftest
#include "gpu_check.h"

#include <math.h>

void st_report(SelfTest *st, const char *name, double nmse, double bound, long bad) {
    const int ok = !isnan(nmse) && nmse <= bound && bad == 0;
    fprintf(st->out, "%s  %-44s nmse %.3e (bound %.0e)%s\n", ok ? "PASS" : "FAIL", name, nmse,
            bound, bad ? "  mismatches/unwritten present" : "");
    if (bad) fprintf(st->out, "      %ld bad elements\n", bad);
    fflush(st->out);
    if (ok) st->pass++;
    else st->fail++;
}

double st_nmse(const float *got, const float *ref, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) || isnan(ref[i])) return NAN;
        const double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0.0 ? num / den : num;
}

static uint64_t st_next(SelfTest *st) {
    uint64_t z = (st->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float st_uniform(SelfTest *st, float lo, float hi) {
    return lo + (hi - lo) * (float)((st_next(st) >> 40) * 0x1.0p-24);
}

void st_fill_bf16(SelfTest *st, uint16_t *dst, float *as_f32, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) {
        dst[i] = f32_to_bf16(st_uniform(st, -scale, scale));
        if (as_f32) as_f32[i] = bf16_to_f32(dst[i]);
    }
}

void st_fill_f32(SelfTest *st, float *dst, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) dst[i] = st_uniform(st, -scale, scale);
}

void *st_upload(const void *src, size_t bytes) {
    void *d = NULL;
    GPU_CHECK(hipMalloc(&d, bytes ? bytes : 1));
    GPU_CHECK(hipMemcpy(d, src, bytes, hipMemcpyHostToDevice));
    return d;
}

void *st_poisoned(size_t bytes) {
    void *d = NULL;
    GPU_CHECK(hipMalloc(&d, bytes ? bytes : 1));
    GPU_CHECK(hipMemset(d, 0xFF, bytes));
    return d;
}

void st_download(void *dst, const void *dev, size_t bytes) {
    GPU_CHECK(hipDeviceSynchronize());
    GPU_CHECK(hipMemcpy(dst, dev, bytes, hipMemcpyDeviceToHost));
}

void st_free(void *dev) { GPU_CHECK(hipFree(dev)); }

void st_bf16_to_f32(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_to_f32(src[i]);
}

void st_split(const float *src, uint16_t *hi, uint16_t *lo, size_t n) {
    for (size_t i = 0; i < n; i++) {
        hi[i] = f32_to_bf16(src[i]);
        lo[i] = f32_to_bf16(src[i] - bf16_to_f32(hi[i]));
    }
}

void st_pair_to_f32(float *dst, const uint16_t *hi, const uint16_t *lo, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_to_f32(hi[i]) + bf16_to_f32(lo[i]);
}

Tensor st_tensor(DType dt, const void *data, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    Tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = ndim;
    t.shape[0] = d0;
    t.shape[1] = d1;
    t.shape[2] = d2;
    t.data = data;
    return t;
}

extern "C" int gpu_selftest(FILE *out) {
    SelfTest st;
    memset(&st, 0, sizeof st);
    st.out = out;
    st.rng = 0x5EED5EEDull ^ (uint64_t)(now_seconds() * 1e6); // fresh inputs every run
    if (gpu_device_count() < 1) {
        fprintf(out, "gpu selftest: no GPU\n");
        return -1;
    }
    int dev = 0;
    GPU_CHECK(hipGetDevice(&dev));
    hipDeviceProp_t prop;
    GPU_CHECK(hipGetDeviceProperties(&prop, dev));
    fprintf(out, "gpu selftest on device %d: %s (wave %d, seed %llu)\n", dev, prop.name,
            prop.warpSize, (unsigned long long)st.rng);
    CHECK(prop.warpSize == GETP_WAVE);
    GPU_CHECK(hipStreamCreate(&st.stream));
    selftest_row_ops(&st);
    selftest_attention_ops(&st);
    selftest_gemm_ops(&st);
    selftest_moe_ops(&st);
    selftest_sample_ops(&st);
    selftest_graph_ops(&st);
    GPU_CHECK(hipStreamDestroy(st.stream));
    fprintf(out, "%d passed, %d failed\n", st.pass, st.fail);
    return st.fail;
}
