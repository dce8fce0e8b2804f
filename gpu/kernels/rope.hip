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

__global__ void f32_rope_qkv_bf16kv(float *q, const float *qkv, uint16_t *k_cache,
                                    uint16_t *v_cache, uint16_t *k_lo, uint16_t *v_lo, int cap,
                                    KvStrides st, const int32_t *slot,
                                    const int32_t *pos, const float *inv_freq, float conc,
                                    int n_heads, int n_kv, int hd) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ float cs[ROPE_MAX_HALF], sn[ROPE_MAX_HALF];
    const int i = blockIdx.x, half = hd / 2;
    const int dq = n_heads * hd, dkv = n_kv * hd;
    const float *src = qkv + (int64_t)i * (dq + 2 * dkv); // (Dq + 2Dkv) fp32
    const int p = pos[i];
    for (int j = threadIdx.x; j < half; j += ROPE_THREADS) {
        double a = (double)p * (double)inv_freq[j];
        cs[j] = (float)(cos(a) * conc);
        sn[j] = (float)(sin(a) * conc);
    }
    __syncthreads();
    const int64_t row = slot[i] * st.slot + (int64_t)(p % cap) * st.pos; // KV head 0's row
    float *qo = q + (int64_t)i * dq;   // (Dq) fp32
    uint16_t *ko = k_cache + row;      // head h at ko + h * st.head, bf16
    uint16_t *vo = v_cache + row;
    uint16_t *kl = k_lo ? k_lo + row : NULL, *vl = v_lo ? v_lo + row : NULL;
    for (int e = threadIdx.x; e < (n_heads + n_kv) * half; e += ROPE_THREADS) {
        const int h = e / half, j = e % half;
        const float x1 = src[h * hd + j], x2 = src[h * hd + j + half];
        const float r1 = x1 * cs[j] - x2 * sn[j], r2 = x2 * cs[j] + x1 * sn[j];
        if (h < n_heads) {
            qo[h * hd + j] = r1;
            qo[h * hd + j + half] = r2;
        } else {
            const int64_t o = (int64_t)(h - n_heads) * st.head + j;
            bf16_store_pair_dev(ko, kl, o, r1);
            bf16_store_pair_dev(ko, kl, o + half, r2);
        }
    }
    for (int e = threadIdx.x; e < dkv; e += ROPE_THREADS)
        bf16_store_pair_dev(vo, vl, (int64_t)(e / hd) * st.head + e % hd, src[dq + dkv + e]);
}

void rope_qkv_kvwrite(const RopeArgs *a, hipStream_t stream) {
    const KvLayer kv = a->kv;
    const int T = a->tok.T;
    CHECK(a->head_dim % 2 == 0 && a->head_dim / 2 <= ROPE_MAX_HALF && kv.cap > 0 && T >= 0);
    if (T == 0) return;
    port_launch(f32_rope_qkv_bf16kv, T, ROPE_THREADS, 0, stream, a->q, a->qkv, kv.k, kv.v, kv.k_lo, kv.v_lo,
                                                        kv.cap, kv.st, a->tok.slot, a->tok.pos, a->inv_freq,
                                                        a->concentration, a->n_heads, a->n_kv_heads,
                                                        a->head_dim);
    GPU_CHECK_LAUNCH();
}
