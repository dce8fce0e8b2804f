/* ops_cpu.c: the operations of the gpt-oss forward pass (docs/MODEL.md §2) on
 * the CPU. This is the oracle the GPU kernels are checked against, so it is written for
 * clarity and accuracy first. cpu_matvec (where the time goes) is parallel
 * over output rows and cpu_attention over heads (OpenMP, static schedule, only
 * above MIN_PARALLEL_WORK): every row / head is computed by the same serial
 * code whatever the thread count, so results are bitwise independent of the
 * number of threads.
 *
 * Precision: activations, weights (decoded from f32/bf16/MXFP4) and outputs
 * are fp32, as in the fp32 HF reference. Double is used where it costs
 * nothing measurable and removes rounding the reference does not have in
 * principle:
 *  - rmsnorm: the sum of squares is accumulated in double;
 *  - RoPE: the table (inv_freq, concentration) is computed in double and the
 *    angle pos * inv_freq and its cos/sin in double (fp32 angles lose about
 *    pos * 6e-8 rad);
 *  - attention: q.k dot products, the softmax sum and the weighted sum of
 *    values are accumulated in double (head_dim and pos are small);
 *  - router softmax over the k picked logits in double.
 * Matrix-vector dot products are tensor_row_dot (model.c): fp32.
 */
#include "ops_cpu.h"

#include <math.h>

#define SWIGLU_ALPHA 1.702f
#define ROUTER_MAX_K 64
/* Below this many multiply-adds a parallel region costs more than it saves
 * (and much more when the cores are shared: spinning threads then steal the
 * worker's core). 2880 x 2880 (8M) is parallel, a tiny model is not. */
#define MIN_PARALLEL_WORK (1 << 20)

void cpu_rmsnorm(float *out, const float *x, const Tensor *w, int n) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    float scale = 1.0f / sqrtf((float)(ss / n) + MODEL_RMS_EPS);
    for (int i = 0; i < n; i++) out[i] = tensor_get_f32(w, i) * (x[i] * scale);
}

void cpu_matvec(float *out, const Tensor *w, int64_t row0, const Tensor *b, int64_t b_row0,
                const float *x, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= MIN_PARALLEL_WORK)
    for (int64_t r = 0; r < rows; r++) {
        float acc = tensor_row_dot(w, row0 + r, x, cols);
        if (b) acc += tensor_get_f32(b, b_row0 + r);
        out[r] = acc;
    }
}

void cpu_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq,
              float concentration) {
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        double angle = (double)pos * (double)inv_freq[i];
        float c = (float)(cos(angle) * concentration);
        float s = (float)(sin(angle) * concentration);
        for (int h = 0; h < n_heads; h++) {
            float *xh = x + (size_t)h * head_dim;
            float x1 = xh[i], x2 = xh[i + half];
            xh[i] = x1 * c - x2 * s;
            xh[i + half] = x2 * c + x1 * s;
        }
    }
}

void cpu_attention(float *out, const float *q, const float *k_cache, const float *v_cache,
                   int pos, int window, const float *sinks, const Config *c) {
    const int hd = c->head_dim, dkv = cfg_kv_dim(c);
    const int group = c->n_heads / c->n_kv_heads;
    const int t0 = (window > 0 && pos - window + 1 > 0) ? pos - window + 1 : 0; // t > pos - window
    const int span = pos + 1 - t0;
    const double scale = 1.0 / sqrt((double)hd);
    double *w = xmalloc(sizeof(double) * (size_t)c->n_heads * (size_t)span);

#pragma omp parallel for schedule(static) if ((int64_t)c->n_heads * span * hd >= MIN_PARALLEL_WORK)
    for (int h = 0; h < c->n_heads; h++) {
        const float *qh = q + (size_t)h * hd;
        const int kvh = h / group;
        double *wh = w + (size_t)h * span;
        double mx = sinks[h];
        for (int t = t0; t <= pos; t++) {
            const float *kt = k_cache + (size_t)t * dkv + (size_t)kvh * hd;
            double dot = 0.0;
            for (int d = 0; d < hd; d++) dot += (double)qh[d] * (double)kt[d];
            wh[t - t0] = dot * scale;
            if (wh[t - t0] > mx) mx = wh[t - t0];
        }
        double sum = exp((double)sinks[h] - mx); // the sink takes its share of the mass
        for (int j = 0; j < span; j++) {
            wh[j] = exp(wh[j] - mx);
            sum += wh[j];
        }
        float *oh = out + (size_t)h * hd;
        for (int d = 0; d < hd; d++) {
            double acc = 0.0;
            for (int t = t0; t <= pos; t++)
                acc += wh[t - t0] * (double)v_cache[(size_t)t * dkv + (size_t)kvh * hd + d];
            oh[d] = (float)(acc / sum);
        }
    }
    free(w);
}

void cpu_router_topk(const float *g, int E, int k, int32_t *idx, float *w) {
    CHECK(k >= 1 && k <= E && k <= ROUTER_MAX_K);
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < E; e++) {
            int taken = 0;
            for (int i = 0; i < j; i++) taken |= (idx[i] == e);
            if (taken) continue;
            if (best < 0 || g[e] > g[best]) best = e; // strict: ties keep the lower id
        }
        idx[j] = best;
    }
    double mx = g[idx[0]], sum = 0.0, e[ROUTER_MAX_K];
    for (int j = 0; j < k; j++) {
        e[j] = exp((double)g[idx[j]] - mx);
        sum += e[j];
    }
    for (int j = 0; j < k; j++) w[j] = (float)(e[j] / sum);
}

void cpu_swiglu(float *h, const float *u, int I, float limit) {
    for (int j = 0; j < I; j++) {
        float glu = fminf(u[2 * j], limit);
        float lin = fminf(fmaxf(u[2 * j + 1], -limit), limit);
        h[j] = glu / (1.0f + expf(-SWIGLU_ALPHA * glu)) * (lin + 1.0f);
    }
}

void cpu_expert_mlp(float *y, const LayerWeights *lw, int e, const float *t, const Config *c,
                    float *scratch, int h_bf16) {
    const int H = c->hidden, I = c->intermediate;
    float *u = scratch;         // (2I) gate/linear interleaved
    float *h = scratch + 2 * I; // (I)
    cpu_matvec(u, &lw->w1, (int64_t)e * 2 * I, &lw->b1, (int64_t)e * 2 * I, t, 2 * I, H);
    cpu_swiglu(h, u, I, c->swiglu_limit);
    if (h_bf16) round_to_bf16(h, (size_t)I);
    cpu_matvec(y, &lw->w2, (int64_t)e * H, &lw->b2, (int64_t)e * H, h, H, I);
}
