/* rope.hip: YaRN RoPE on q and k, and the KV-cache write, fused: one pass over
 * the QKV GEMM's output per token. Half-split pairing (element i with
 * i + head_dim/2, docs/MODEL.md §2). The angle pos * inv_freq and its cos/sin are
 * computed in double once per token (fp32 angles lose ~pos * 6e-8 rad, as in
 * the CPU oracle), then shared by all heads. q stays fp32 for attention; k
 * and v go to the bf16 cache rows of (slot, KV head, pos % cap), placed by the
 * layer's strides (kernels.h KvLayer).
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define ROPE_THREADS 256
#define ROPE_MAX_HALF 128

/* grid (T, blocks a token): a token's (n_heads + n_kv) * half rotations and
 * its dkv copies of v spread over ROPE_THREADS-thread blocks, one item a
 * thread (at batch 1 one block looping over 2,304 rotations was ~9 us a
 * layer: bench/RESULTS.md run 60); each block computes the token's angles
 * for itself (the same values in every block). */
__global__ void __launch_bounds__(ROPE_THREADS)
f32_rope_qkv_bf16kv(float *__restrict__ q, const float *__restrict__ qkv, uint16_t *k_cache,
                    uint16_t *v_cache, uint16_t *k_lo, uint16_t *v_lo, int cap, KvStrides st,
                    const int32_t *__restrict__ slot, const int32_t *__restrict__ pos,
                    const float *__restrict__ inv_freq, float conc, int n_heads, int n_kv, int hd) {
    __shared__ float cs[ROPE_MAX_HALF], sn[ROPE_MAX_HALF];
    const int i = blockIdx.x, half = hd / 2;
    const int dq = n_heads * hd, dkv = n_kv * hd;
    float fr[ROPE_MAX_HALF / ROPE_THREADS + 1];
#pragma unroll
    for (int r = 0; r * ROPE_THREADS < ROPE_MAX_HALF; r++) { // a weight: before the wait
        const int j = threadIdx.x + r * ROPE_THREADS;
        fr[r] = j < half ? inv_freq[j] : 0.0f;
    }
    port_dep_enter(); // port.h "launching": nothing but the weights read before it
    const float *src = qkv + (int64_t)i * (dq + 2 * dkv); // (Dq + 2Dkv) fp32
    const int p = pos[i];
#pragma unroll
    for (int r = 0; r * ROPE_THREADS < ROPE_MAX_HALF; r++) {
        const int j = threadIdx.x + r * ROPE_THREADS;
        if (j < half) {
            double a = (double)p * (double)fr[r];
            cs[j] = (float)(cos(a) * conc);
            sn[j] = (float)(sin(a) * conc);
        }
    }
    const int e = blockIdx.y * ROPE_THREADS + threadIdx.x; // this thread's item
    const int rot = (n_heads + n_kv) * half;
    const int h = e / half, j = e % half;
    const int64_t row = slot[i] * st.slot + (int64_t)(p % cap) * st.pos; // KV head 0's row
    float x1 = 0.0f, x2 = 0.0f, xv = 0.0f;
    if (e < rot) x1 = src[h * hd + j], x2 = src[h * hd + j + half];
    if (e < dkv) xv = src[dq + dkv + e];
    __syncthreads();
    uint16_t *kl = k_lo ? k_lo + row : NULL, *vl = v_lo ? v_lo + row : NULL;
    if (e < rot) {
        const float r1 = x1 * cs[j] - x2 * sn[j], r2 = x2 * cs[j] + x1 * sn[j];
        if (h < n_heads) {
            float *qo = q + (int64_t)i * dq; // (Dq) fp32
            qo[h * hd + j] = r1;
            qo[h * hd + j + half] = r2;
        } else { // head h - n_heads of the bf16 cache at k_cache + row + (h - n_heads) * st.head
            const int64_t o = (int64_t)(h - n_heads) * st.head + j;
            bf16_store_pair_dev(k_cache + row, kl, o, r1);
            bf16_store_pair_dev(k_cache + row, kl, o + half, r2);
        }
    }
    if (e < dkv) bf16_store_pair_dev(v_cache + row, vl, (int64_t)(e / hd) * st.head + e % hd, xv);
}

void rope_qkv_kvwrite(const RopeArgs *a, hipStream_t stream) {
    const KvLayer kv = a->kv;
    const int T = a->tok.T;
    CHECK(a->head_dim % 2 == 0 && a->head_dim / 2 <= ROPE_MAX_HALF && kv.cap > 0 && T >= 0);
    if (T == 0) return;
    const int items = (a->n_heads + a->n_kv_heads) * (a->head_dim / 2), vals = a->n_kv_heads * a->head_dim;
    const dim3 grid(T, ((items > vals ? items : vals) + ROPE_THREADS - 1) / ROPE_THREADS);
    port_launch(f32_rope_qkv_bf16kv, grid, ROPE_THREADS, 0, stream, a->q, a->qkv, kv.k, kv.v, kv.k_lo, kv.v_lo,
                                                        kv.cap, kv.st, a->tok.slot, a->tok.pos, a->inv_freq,
                                                        a->concentration, a->n_heads, a->n_kv_heads,
                                                        a->head_dim);
    GPU_CHECK_LAUNCH();
}
