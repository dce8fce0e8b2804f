/* sample.hip: choosing tokens on the GPU from rows of full logits: the
 * sampler of docs/MODEL.md "Sampling" (sampler.c is its CPU reference), the
 * logprobs of OpenAI's API, and plain argmax. One block per row, every row
 * of a step in one launch; the host gets back one small record per row.
 *
 * The rule, and why this kernel gives exactly the ids of sampler.c: every
 * value that decides anything comes from sampler_math.h (the same source on
 * both sides), and the probability masses are integers (w = floor(e * 2^40)),
 * so every sum is exact whatever the order of addition. The filters all keep
 * a prefix of one order (logit descending, ties to the lower id):
 *   top_k   the first top_k ids;
 *   top_p   the shortest prefix whose mass reaches need = ceil(top_p * z), z
 *           the mass of the top_k prefix (the prefix sums along the order are
 *           the same whether or not top_k cut it, so the search runs on the
 *           whole row);
 *   min_p   the ids with x >= log(min_p) (x is monotone in the logit).
 * A prefix is (tau, r): every key above tau, and the first r ids (in id
 * order) whose key is tau; ids of one key share one logit and so one mass.
 * Each prefix is found in two passes (fast_select): a histogram of counts or
 * masses (integer atomics: exact) over bins of the distance from the largest
 * logit, then the ids of the one bin holding the target, gathered and sorted
 * in shared memory. Past its range or its capacity a radix select over the
 * 32-bit keys does the same in four passes. The kept set is the smallest of
 * the three prefixes. The draw takes target =
 * floor(u * W), W the kept mass, and walks the kept ids in id order: each
 * thread owns a contiguous chunk, a block scan gives each chunk the mass and
 * the tied-id count before it, and the thread whose chunk holds the target
 * walks it.
 *
 * Non-finite logits (NaN, infinity) anywhere in a row give id -1: the engine
 * ends that request with an error instead of emitting a token.
 *
 * logprobs: log-softmax of the raw logits (temperature 1, no filter), the sum
 * of exp in fp32 per thread then combined in double in a fixed order, and
 * the n_top first ids of the order by the same radix select (count) plus an
 * id-order gather of the tied ones. These are values, not decisions: they
 * match sampler.c's double sums to ~1e-6.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"
#include "sampler_math.h" // sampler_key, sampler_x, sampler_mass, sampler_top_p_need, sampler_target

#define SAMPLE_THREADS 1024
#define SAMPLE_NW (SAMPLE_THREADS / GETP_WAVE)
#define SAMPLE_ALL ~0ull // r of a prefix that keeps every tied id

#define SAMPLE_BINS SAMPLE_THREADS // the fast select's bins over the distance from the largest logit: one a thread
#define SAMPLE_CAND 2048 // ids of one bin it sorts in shared memory

struct SampleShared {
    unsigned long long hist[SAMPLE_BINS]; // radix select: its first 256; fast select: masses
    uint32_t cnt[SAMPLE_BINS];
    unsigned long long cand[SAMPLE_CAND];
    int n_cand;
    int bin;
    unsigned long long wsum[SAMPLE_NW]; // per-wave partials of a block reduction / scan
    double dsum[SAMPLE_NW];
    float fval[SAMPLE_NW];
    uint32_t uval[SAMPLE_NW];
    int ival[SAMPLE_NW];
    uint32_t prefix;
    unsigned long long rem;
    int found;
    int n_list;
    int list[SAMPLE_MAX_TOP];
};

/* The logit whose key is k (sampler_key's inverse). */
__device__ __forceinline__ float key_logit(uint32_t k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/* ---- block reductions (every thread gets the result) ---- */

__device__ unsigned long long block_sum_u64(unsigned long long v, SampleShared &sh) {
#pragma unroll
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) v += GETP_SHFL_XOR(v, o);
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    __syncthreads();
    if (lane == 0) sh.wsum[w] = v;
    __syncthreads();
    unsigned long long s = 0;
    for (int i = 0; i < SAMPLE_NW; i++) s += sh.wsum[i];
    return s;
}

__device__ double block_sum_f64(double v, SampleShared &sh) {
#pragma unroll
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) v += GETP_SHFL_XOR(v, o);
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    __syncthreads();
    if (lane == 0) sh.dsum[w] = v;
    __syncthreads();
    double s = 0;
    for (int i = 0; i < SAMPLE_NW; i++) s += sh.dsum[i]; // fixed order
    return s;
}

/* Exclusive prefix sum over the threads (thread order); *total gets the sum. */
__device__ unsigned long long block_exscan_u64(unsigned long long v, unsigned long long *total,
                                               SampleShared &sh) {
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    unsigned long long inc = v;
#pragma unroll
    for (int o = 1; o < GETP_WAVE; o <<= 1) {
        const unsigned long long t = GETP_SHFL_UP(inc, o);
        if (lane >= o) inc += t;
    }
    __syncthreads();
    if (lane == GETP_WAVE - 1) sh.wsum[w] = inc;
    __syncthreads();
    unsigned long long before = 0, all = 0;
    for (int i = 0; i < SAMPLE_NW; i++) {
        if (i < w) before += sh.wsum[i];
        all += sh.wsum[i];
    }
    *total = all;
    return before + inc - v;
}

/* Largest logit (NaN ignored), and whether any value is not finite. */
__device__ void row_max(const float *row, int V, float *m, int *bad, SampleShared &sh) {
    float mx = -INFINITY;
    int nf = 0;
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
        const float v = row[i];
        nf |= !isfinite(v);
        mx = fmaxf(mx, v); // NaN loses
    }
    mx = group_max<GETP_WAVE>(mx);
#pragma unroll
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) nf |= GETP_SHFL_XOR(nf, o);
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    __syncthreads();
    if (lane == 0) sh.fval[w] = mx, sh.ival[w] = nf;
    __syncthreads();
    *m = sh.fval[0];
    *bad = 0;
    for (int i = 0; i < SAMPLE_NW; i++) *m = fmaxf(*m, sh.fval[i]), *bad |= sh.ival[i];
}

/* First id holding the largest key (argmax, ties to the lower id). */
__device__ int row_argmax(const float *row, int V, SampleShared &sh) {
    unsigned long long best = 0; // (key << 32) | ~id: the largest is the answer
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
        const unsigned long long k = ((unsigned long long)sampler_key(row[i]) << 32) | (0xffffffffu - (uint32_t)i);
        best = k > best ? k : best;
    }
#pragma unroll
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) {
        const unsigned long long t = GETP_SHFL_XOR(best, o);
        best = t > best ? t : best;
    }
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    __syncthreads();
    if (lane == 0) sh.wsum[w] = best;
    __syncthreads();
    for (int i = 0; i < SAMPLE_NW; i++) best = sh.wsum[i] > best ? sh.wsum[i] : best;
    return (int)(0xffffffffu - (uint32_t)(best & 0xffffffffull));
}

/* ---- prefixes of the order ---- */

struct Prefix {
    uint32_t tau;         // every key above tau is in
    unsigned long long r; // and the first r ids whose key is tau
};

__device__ __forceinline__ bool prefix_smaller(const Prefix &a, const Prefix &b) {
    return a.tau > b.tau || (a.tau == b.tau && a.r < b.r);
}

/* The shortest prefix whose value reaches target >= 1: value 1 per id
 * (MASS false: the target-th id) or its mass (x from m and inv_t). */
template <bool MASS>
__device__ __forceinline__ Prefix radix_select(const float *row, int V, float m, float inv_t,
                                               unsigned long long target, SampleShared &sh) {
    uint32_t prefix = 0, mask = 0;
    unsigned long long rem = target;
    for (int d = 3; d >= 0; d--) {
        for (int i = threadIdx.x; i < 256; i += SAMPLE_THREADS) sh.hist[i] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
            const float l = row[i];
            const uint32_t k = sampler_key(l);
            if ((k & mask) != prefix) continue;
            const unsigned long long v = MASS ? sampler_mass(sampler_x(l, m, inv_t)) : 1ull;
            if (v) atomicAdd(&sh.hist[(k >> (8 * d)) & 255u], v);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned long long acc = 0;
            int D = 255;
            for (; D > 0; D--) {
                if (acc + sh.hist[D] >= rem) break;
                acc += sh.hist[D];
            }
            sh.rem = rem - acc;
            sh.prefix = prefix | ((uint32_t)D << (8 * d));
        }
        __syncthreads();
        prefix = sh.prefix; // every thread: the same digits and the same remainder
        rem = sh.rem;
        mask |= 255u << (8 * d);
    }
    Prefix p;
    p.tau = prefix;
    const unsigned long long v = MASS ? sampler_mass(sampler_x(key_logit(prefix), m, inv_t)) : 1ull;
    p.r = v ? (rem + v - 1) / v : 1; // rem <= (ids of key tau) * v
    return p;
}

/* The same prefix as radix_select, found in two passes instead of four and
 * without hot atomics: ids are binned by their distance d = -x (x =
 * sampler_x(l, m, inv_t) <= 0, monotone in the logit, so each bin is a
 * segment of the order) in SAMPLE_BINS bins over [0, range); the bin holding
 * the target is found from the bins' counts (and masses), its ids are
 * gathered into shared memory and sorted by (key descending, id ascending),
 * and the walk through them gives tau and r exactly. Returns 0 when the
 * target lies past `range` (*beyond set) or the bin holds more than
 * SAMPLE_CAND ids: then the caller decides (radix_select always works). */
template <bool MASS>
__device__ int fast_select(const float *row, int V, float m, float inv_t, float range,
                           unsigned long long target, Prefix *out, int *beyond, SampleShared &sh) {
    const float scale = (float)SAMPLE_BINS / range;
    for (int i = threadIdx.x; i < SAMPLE_BINS; i += SAMPLE_THREADS) sh.cnt[i] = 0, sh.hist[i] = 0;
    if (threadIdx.x == 0) sh.n_cand = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
        const float x = sampler_x(row[i], m, inv_t), d = -x;
        if (!(d < range)) continue;
        const int b = min(SAMPLE_BINS - 1, (int)(d * scale));
        if (MASS) {
            const unsigned long long w = sampler_mass(x);
            if (w) atomicAdd(&sh.hist[b], w);
        } else {
            atomicAdd(&sh.cnt[b], 1u);
        }
    }
    __syncthreads(); // the histogram is complete
    /* the bin holding the target: thread b owns bin b (a block scan in bin order) */
    const unsigned long long v = MASS ? sh.hist[threadIdx.x] : (unsigned long long)sh.cnt[threadIdx.x];
    unsigned long long total_v;
    const unsigned long long cum = block_exscan_u64(v, &total_v, sh);
    if (threadIdx.x == 0) sh.bin = SAMPLE_BINS;
    __syncthreads();
    if (cum < target && cum + v >= target) {
        sh.bin = threadIdx.x;
        sh.rem = target - cum;
    }
    __syncthreads();
    const int bin = sh.bin;
    *beyond = bin == SAMPLE_BINS;
    if (*beyond) return 0;
    const unsigned long long rem = sh.rem;
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) { // gather the bin's ids
        const float l = row[i], d = -sampler_x(l, m, inv_t);
        if (!(d < range) || min(SAMPLE_BINS - 1, (int)(d * scale)) != bin) continue;
        const int c = atomicAdd(&sh.n_cand, 1);
        if (c < SAMPLE_CAND) sh.cand[c] = ((unsigned long long)(~sampler_key(l)) << 32) | (uint32_t)i;
    }
    __syncthreads();
    const int n = sh.n_cand;
    if (n > SAMPLE_CAND) return 0;
    int np = 1;
    while (np < n) np <<= 1;
    for (int i = n + threadIdx.x; i < np; i += SAMPLE_THREADS) sh.cand[i] = ~0ull;
    __syncthreads();
    for (int k = 2; k <= np; k <<= 1) // bitonic sort, ascending: key descending, id ascending
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < np; i += SAMPLE_THREADS) {
                const int o = i ^ j;
                if (o > i) {
                    const unsigned long long a = sh.cand[i], c = sh.cand[o];
                    if ((a > c) == ((i & k) == 0)) sh.cand[i] = c, sh.cand[o] = a;
                }
            }
            __syncthreads();
        }
    if (threadIdx.x == 0) {
        unsigned long long acc = 0;
        int j = 0;
        for (; j < n - 1; j++) {
            const uint32_t key = ~(uint32_t)(sh.cand[j] >> 32);
            acc += MASS ? sampler_mass(sampler_x(key_logit(key), m, inv_t)) : 1ull;
            if (acc >= rem) break;
        }
        const uint32_t tau = ~(uint32_t)(sh.cand[j] >> 32);
        int first = j;
        while (first > 0 && ~(uint32_t)(sh.cand[first - 1] >> 32) == tau) first--;
        sh.prefix = tau;
        sh.rem = (unsigned long long)(j - first + 1);
    }
    __syncthreads();
    out->tau = sh.prefix;
    out->r = sh.rem;
    return 1;
}

/* This thread's contiguous chunk of ids [*lo, *hi) (id-order walks). */
__device__ __forceinline__ void my_chunk(int V, int *lo, int *hi) {
    const int per = (V + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    *lo = min(V, (int)threadIdx.x * per);
    *hi = min(V, *lo + per);
}

/* Value (count or mass) of prefix p; needs the id-order tie ranks. */
template <bool MASS>
__device__ unsigned long long prefix_value(const float *row, int V, float m, float inv_t,
                                           const Prefix &p, SampleShared &sh) {
    unsigned long long gt = 0, ties = 0;
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
        const float l = row[i];
        const uint32_t k = sampler_key(l);
        if (k > p.tau) gt += MASS ? sampler_mass(sampler_x(l, m, inv_t)) : 1ull;
        else if (k == p.tau) ties++;
    }
    gt = block_sum_u64(gt, sh);
    ties = block_sum_u64(ties, sh);
    const unsigned long long kept = p.r < ties ? p.r : ties;
    const unsigned long long v = MASS ? sampler_mass(sampler_x(key_logit(p.tau), m, inv_t)) : 1ull;
    return gt + kept * v;
}

/* ---- the kernel ---- */

__global__ void __launch_bounds__(SAMPLE_THREADS)
f32_sample_rows(SampleOut *out, const float *logits, const SampleRow *rows, int V) {
    __shared__ SampleShared sh;
    const SampleRow sr = rows[blockIdx.x];
    const float *row = logits + (int64_t)blockIdx.x * V;
    SampleOut *o = out + blockIdx.x;
    float m;
    int bad;
    row_max(row, V, &m, &bad, sh);
    if (bad) { // F5: never emit a token from non-finite logits
        if (threadIdx.x == 0) o->id = -1, o->logprob = NAN;
        return;
    }
    int id;
    if (!(sr.inv_t > 0.0f)) {
        id = row_argmax(row, V, sh);
    } else {
        /* the kept prefix: the smallest of the filters' (no filter: everything) */
        Prefix keep = {0u, SAMPLE_ALL};
        Prefix pk = keep;
        /* ids at x <= -32 have mass 0: a top_k prefix reaching past them draws
         * exactly as keeping everything (and leaves top_p's z the same) */
        if (sr.top_k > 0 && sr.top_k < V) {
            int beyond;
            if (fast_select<false>(row, V, m, sr.inv_t, 32.0f, (unsigned long long)sr.top_k, &pk, &beyond, sh))
                keep = pk;
            else if (!beyond)
                keep = pk = radix_select<false>(row, V, m, sr.inv_t, (unsigned long long)sr.top_k, sh);
        }
        if (sr.top_p < 1.0f) {
            const unsigned long long z = prefix_value<true>(row, V, m, sr.inv_t, pk, sh);
            const unsigned long long need = sampler_top_p_need(sr.top_p, z);
            Prefix pp;
            int beyond;
            if (!fast_select<true>(row, V, m, sr.inv_t, 32.0f, need, &pp, &beyond, sh))
                pp = radix_select<true>(row, V, m, sr.inv_t, need, sh); // mass is all within x > -32
            if (prefix_smaller(pp, keep)) keep = pp;
        }
        if (sr.min_x > -INFINITY) {
            uint32_t lo = 0xffffffffu; // smallest key with x >= min_x
            for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
                const float l = row[i];
                if (sampler_x(l, m, sr.inv_t) >= sr.min_x) lo = min(lo, sampler_key(l));
            }
#pragma unroll
            for (int o2 = GETP_WAVE / 2; o2 > 0; o2 >>= 1) lo = min(lo, (uint32_t)GETP_SHFL_XOR(lo, o2));
            const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
            __syncthreads();
            if (lane == 0) sh.uval[w] = lo;
            __syncthreads();
            for (int i = 0; i < SAMPLE_NW; i++) lo = min(lo, sh.uval[i]);
            const Prefix pm = {lo, SAMPLE_ALL};
            if (prefix_smaller(pm, keep)) keep = pm;
        }
        /* the draw: chunks in id order; one pass gives each chunk its mass above
         * tau and its tied ids, which all share one mass */
        int lo, hi;
        my_chunk(V, &lo, &hi);
        unsigned long long ties = 0, mass_gt = 0;
        for (int i = lo; i < hi; i++) {
            const float l = row[i];
            const uint32_t k = sampler_key(l);
            if (k > keep.tau) mass_gt += sampler_mass(sampler_x(l, m, sr.inv_t));
            else ties += k == keep.tau;
        }
        unsigned long long all_ties;
        const unsigned long long ties_before = block_exscan_u64(ties, &all_ties, sh);
        const unsigned long long kept_ties =
            keep.r <= ties_before ? 0ull : (keep.r - ties_before < ties ? keep.r - ties_before : ties);
        const unsigned long long mass =
            mass_gt + kept_ties * sampler_mass(sampler_x(key_logit(keep.tau), m, sr.inv_t));
        unsigned long long total;
        const unsigned long long before = block_exscan_u64(mass, &total, sh);
        const unsigned long long target = sampler_target(sr.u, total);
        if (threadIdx.x == 0) sh.found = -1;
        __syncthreads();
        if (target >= before && target < before + mass) {
            unsigned long long run = before;
            for (int i = lo, t = 0; i < hi; i++) {
                const float l = row[i];
                const uint32_t k = sampler_key(l);
                const bool in = k > keep.tau || (k == keep.tau && ties_before + (unsigned long long)t++ < keep.r);
                if (!in) continue;
                run += sampler_mass(sampler_x(l, m, sr.inv_t));
                if (run > target) {
                    sh.found = i;
                    break;
                }
            }
        }
        __syncthreads();
        id = sh.found;
    }
    if (sr.n_top >= 0) { // logprobs
        float s = 0.0f;
        for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) s += expf(row[i] - m);
        const double lse = (double)m + log(block_sum_f64((double)s, sh));
        int n_top = min(sr.n_top, SAMPLE_MAX_TOP);
        if (n_top > V) n_top = V;
        if (n_top > 0) {
            Prefix pt;
            int beyond;
            if (!fast_select<false>(row, V, m, 1.0f, 64.0f, (unsigned long long)n_top, &pt, &beyond, sh))
                pt = radix_select<false>(row, V, m, 1.0f, (unsigned long long)n_top, sh);
            if (threadIdx.x == 0) sh.n_list = 0;
            __syncthreads();
            int lo, hi;
            my_chunk(V, &lo, &hi);
            unsigned long long ties = 0;
            for (int i = lo; i < hi; i++) {
                const uint32_t k = sampler_key(row[i]);
                if (k > pt.tau) sh.list[atomicAdd(&sh.n_list, 1)] = i; // fewer than n_top of them
                ties += k == pt.tau;
            }
            unsigned long long all_ties;
            const unsigned long long tb = block_exscan_u64(ties, &all_ties, sh); // (syncs: n_list final)
            const int n_gt = sh.n_list;
            for (int i = lo, t = 0; i < hi; i++)
                if (sampler_key(row[i]) == pt.tau) {
                    const unsigned long long rank = tb + (unsigned long long)t++;
                    if ((long long)rank < (long long)(n_top - n_gt)) sh.list[n_gt + rank] = i;
                }
            __syncthreads();
            if (threadIdx.x == 0) {
                for (int a = 1; a < n_gt; a++) { // the ids above tau, into the order
                    const int x = sh.list[a];
                    const unsigned long long kx = ((unsigned long long)(~sampler_key(row[x])) << 32) | (uint32_t)x;
                    int b = a;
                    for (; b > 0; b--) {
                        const int y = sh.list[b - 1];
                        const unsigned long long ky = ((unsigned long long)(~sampler_key(row[y])) << 32) | (uint32_t)y;
                        if (ky <= kx) break;
                        sh.list[b] = y;
                    }
                    sh.list[b] = x;
                }
                for (int j = 0; j < n_top; j++) {
                    o->top_ids[j] = sh.list[j];
                    o->top_lps[j] = (float)((double)row[sh.list[j]] - lse);
                }
            }
        }
        if (threadIdx.x == 0) o->logprob = id >= 0 ? (float)((double)row[id] - lse) : NAN;
    }
    if (threadIdx.x == 0) o->id = id;
}

void sample_rows_f32(SampleOut *out, const float *logits, const SampleRow *rows, int R, int V,
                     hipStream_t stream) {
    CHECK(R >= 0 && V > 0);
    if (R == 0) return;
    f32_sample_rows<<<R, SAMPLE_THREADS, 0, stream>>>(out, logits, rows, V);
    GPU_CHECK_LAUNCH();
}

/* ---- argmax of full rows (precise mode's greedy rows; the fused unembedding +
 * argmax's check): -1 for a row holding a NaN or an infinity ---- */

#define ARGMAX_THREADS 256

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

__global__ void f32_argmax_rows(int32_t *ids, const float *logits, int V) {
    __shared__ float red_v[ARGMAX_THREADS / GETP_WAVE];
    __shared__ int red_i[ARGMAX_THREADS / GETP_WAVE], red_bad[ARGMAX_THREADS / GETP_WAVE];
    const float *row = logits + (int64_t)blockIdx.x * V; // (V) fp32
    float bv = -INFINITY;
    int bi = V, bad = 0; // bi: a sentinel that loses every tie
    for (int c = threadIdx.x; c < V; c += ARGMAX_THREADS) {
        const float v = row[c];
        bad |= !isfinite(v);
        if (better(v, c, bv, bi)) { bv = v; bi = c; }
    }
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) {
        const float ov = GETP_SHFL_XOR(bv, o);
        const int oi = GETP_SHFL_XOR(bi, o);
        bad |= GETP_SHFL_XOR(bad, o);
        if (better(ov, oi, bv, bi)) { bv = ov; bi = oi; }
    }
    const int lane = threadIdx.x % GETP_WAVE, wave = threadIdx.x / GETP_WAVE;
    if (lane == 0) { red_v[wave] = bv; red_i[wave] = bi; red_bad[wave] = bad; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < ARGMAX_THREADS / GETP_WAVE; w++) {
            bad |= red_bad[w];
            if (better(red_v[w], red_i[w], bv, bi)) { bv = red_v[w]; bi = red_i[w]; }
        }
        ids[blockIdx.x] = bad ? -1 : bi; // a NaN or an infinity: no id
    }
}

void argmax_rows_f32(int32_t *ids, const float *logits, int S, int V, hipStream_t stream) {
    CHECK(S >= 0 && V > 0);
    if (S == 0) return;
    f32_argmax_rows<<<S, ARGMAX_THREADS, 0, stream>>>(ids, logits, V);
    GPU_CHECK_LAUNCH();
}
