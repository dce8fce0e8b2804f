/* selftest.h: the harness of gpu_selftest() (the op tests behind
 * tests/gpu/test_gpu_ops and `getp --selftest`): random inputs, poisoned
 * device outputs (0xFF bytes: NaN for fp32 and bf16, -1 for ids), NMSE
 * against the CPU oracle (ops_cpu.h), one PASS/FAIL line per case.
 *
 * Bounds (NMSE = sum (gpu - ref)^2 / sum ref^2). The oracle is given the same
 * bf16-rounded operands the GPU reads, so what remains is:
 *   - fp32 outputs of fp32-accumulated sums (GEMMs, RoPE'd q): only the
 *     order of fp32 additions differs, relative ~sqrt(K) * 6e-8, NMSE ~1e-12;
 *     bound TOL_F32 = 1e-8 (one wrong element in a thousand gives ~1e-3);
 *   - bf16 outputs (norm, attention, k/v in the cache): one rounding to 8
 *     mantissa bits, relative error <= 2^-9, NMSE ~2^-18 / 3 ~ 1.3e-6;
 *     bound TOL_BF16 = 1e-5;
 *   - the MoE chain rounds the SwiGLU output h to bf16 between its two
 *     GEMMs: ~1e-6 again, through a second GEMM; bound TOL_MOE = 5e-5.
 *   - precise mode (kernels.h), checked against the oracle on fp32 operands:
 *     a value kept as bf16 hi + lo has relative error <= 2^-17, NMSE ~2^-34 / 3
 *     ~ 2e-11 per rounding, a few roundings in a chain; bound TOL_PAIR = 1e-9
 *     (1000x under one bf16 rounding, so a lost lo part fails).
 * NaN anywhere fails.
 */
#ifndef GETP_SELFTEST_H
#define GETP_SELFTEST_H

#include <stdio.h>
#include <stdint.h>
#include "port.h"
#include "model.h"

#define TOL_EXACT 0.0
#define TOL_F32 1e-8
#define TOL_BF16 1e-5
#define TOL_MOE 5e-5
#define TOL_PAIR 1e-9

typedef struct {
    FILE *out;
    int pass, fail;
    uint64_t rng;
    hipStream_t stream;
} SelfTest;

/* Prints PASS/FAIL for `name` (NaN or nmse > bound or bad > 0 fails). */
void st_report(SelfTest *st, const char *name, double nmse, double bound, long bad);
double st_nmse(const float *got, const float *ref, size_t n);
float st_uniform(SelfTest *st, float lo, float hi); // uniform in [lo, hi)
void st_fill_bf16(SelfTest *st, uint16_t *dst, float *as_f32, size_t n, float scale);
void st_fill_f32(SelfTest *st, float *dst, size_t n, float scale);

/* Device buffers: upload, poisoned allocation, download, free. */
void *st_upload(const void *src, size_t bytes);
void *st_poisoned(size_t bytes);
void st_download(void *dst, const void *dev, size_t bytes);
void st_free(void *dev);
void st_bf16_to_f32(float *dst, const uint16_t *src, size_t n);
void st_split(const float *src, uint16_t *hi, uint16_t *lo, size_t n); // precise pairs
void st_pair_to_f32(float *dst, const uint16_t *hi, const uint16_t *lo, size_t n);
Tensor st_tensor(DType dt, const void *data, int ndim, int64_t d0, int64_t d1, int64_t d2);

/* The op groups, one file each (selftest_<group>.hip). */
void selftest_row_ops(SelfTest *st);       // embed, rmsnorm, router top-k, argmax
void selftest_attention_ops(SelfTest *st); // rope + KV write, attention
void selftest_gemm_ops(SelfTest *st);      // dense GEMMs, GEMM + argmax
void selftest_moe_ops(SelfTest *st);       // the MoE block
void selftest_sample_ops(SelfTest *st);    // the sampler and logprobs
void selftest_graph_ops(SelfTest *st);     // a decode layer replayed as a GPU graph

#endif
