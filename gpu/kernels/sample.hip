/* sample.hip: choosing tokens on the GPU from rows of full logits: the
 * sampler of docs/MODEL.md "Sampling" (sampler.c is its CPU reference), the
 * logprobs of OpenAI's API, and plain argmax. Every row of a step in one
 * round of launches; the host gets back one small record per row. A row with
 * a filter (top_k, top_p, min_p) and no logprobs takes the split path (its
 * section below: three streaming passes over C blocks per row, then one block
 * that decides from a few thousand ids), and so does a row with no filter and
 * no logprobs when it gets two chunks or more (the chunks' masses, then one
 * block that draws inside one chunk); every other row, and any the split
 * path cannot finish, is done by one block (sample_one_row), as follows.
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
#define SAMPLE_CAND 4096 // ids of one bin it sorts in shared memory (and the split path's candidates)

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
    int pos;
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

/* Exclusive prefix sum over the NT threads of the block (thread order); *total
 * gets the sum. red: NT / GETP_WAVE words of shared scratch. */
template <int NT>
__device__ unsigned long long exscan_u64(unsigned long long v, unsigned long long *total,
                                         unsigned long long *red) {
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    unsigned long long inc = v;
#pragma unroll
    for (int o = 1; o < GETP_WAVE; o <<= 1) {
        const unsigned long long t = GETP_SHFL_UP(inc, o);
        if (lane >= o) inc += t;
    }
    __syncthreads();
    if (lane == GETP_WAVE - 1) red[w] = inc;
    __syncthreads();
    unsigned long long before = 0, all = 0;
    for (int i = 0; i < NT / GETP_WAVE; i++) {
        if (i < w) before += red[i];
        all += red[i];
    }
    *total = all;
    return before + inc - v;
}

__device__ __forceinline__ unsigned long long block_exscan_u64(unsigned long long v,
                                                               unsigned long long *total,
                                                               SampleShared &sh) {
    return exscan_u64<SAMPLE_THREADS>(v, total, sh.wsum);
}

/* Largest logit of row[lo, hi) over the NT threads of the block (NaN
 * ignored), and whether any value is not finite; every thread gets both.
 * fred, ired: NT / GETP_WAVE words of shared scratch. */
template <int NT>
__device__ void range_max(const float *row, int lo, int hi, float *m, int *bad, float *fred,
                          int *ired) {
    float mx = -INFINITY;
    int nf = 0;
#pragma unroll 4
    for (int i = lo + threadIdx.x; i < hi; i += NT) {
        const float v = row[i];
        nf |= !isfinite(v);
        mx = fmaxf(mx, v); // NaN loses
    }
    mx = group_max<GETP_WAVE>(mx);
#pragma unroll
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) nf |= GETP_SHFL_XOR(nf, o);
    const int lane = threadIdx.x % GETP_WAVE, w = threadIdx.x / GETP_WAVE;
    __syncthreads();
    if (lane == 0) fred[w] = mx, ired[w] = nf;
    __syncthreads();
    *m = fred[0];
    *bad = 0;
    for (int i = 0; i < NT / GETP_WAVE; i++) *m = fmaxf(*m, fred[i]), *bad |= ired[i];
}

__device__ __forceinline__ void row_max(const float *row, int V, float *m, int *bad, SampleShared &sh) {
    range_max<SAMPLE_THREADS>(row, 0, V, m, bad, sh.fval, sh.ival);
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

/* Bitonic sort, ascending, of v[0, np) (np a power of two) by the whole
 * block; callers synchronise before (v written) and it ends synchronised. */
__device__ __forceinline__ void block_sort_u64(unsigned long long *v, int np) {
    for (int k = 2; k <= np; k <<= 1)
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < np; i += SAMPLE_THREADS) {
                const int o = i ^ j;
                if (o > i) {
                    const unsigned long long a = v[i], c = v[o];
                    if ((a > c) == ((i & k) == 0)) v[i] = c, v[o] = a;
                }
            }
            __syncthreads();
        }
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
    block_sort_u64(sh.cand, np); // key descending, id ascending
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

/* ---- one row by one block: every case (the split path's fallback) ---- */

__device__ __forceinline__ void sample_one_row(SampleOut *o, const float *row, const SampleRow &sr, int V,
                                               SampleShared &sh) {
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

/* ---- the split path: a filtered row over C blocks, every pass a stream ----
 *
 * sample_one_row reads a filtered row about seven times, each pass at one
 * block's pace: at R = 1 one SM works and waits on L2 latency, at R = 1,024
 * every pass streams 0.8 GB from HBM. A filter keeps a prefix of the order,
 * and in practice a short one, so the rows with a filter (and no logprobs)
 * go through three streaming passes split over C blocks per row and one
 * block that decides from a few thousand ids:
 *   f32_split_max     per chunk of ids: the largest logit, any non-finite one;
 *   f32_split_hist    per chunk: the count (and, for top_p without top_k, the
 *                     integer mass) of the ids of each bin of d = -x (the
 *                     bins of fast_select over [0, 32): each a segment of
 *                     the order), added into the row's bins by integer atomics;
 *   f32_split_select  every block reads the row's bins and finds the same
 *                     last bin G that the kept prefix can reach (the top_k
 *                     bin; without top_k the top_p bin or the min_p bin,
 *                     whichever is first), then gathers the ids of the bins
 *                     <= G: a prefix of the order, at most SAMPLE_CAND ids;
 *   f32_sample_rows   one block per row sorts them (key descending, id
 *                     ascending: an id's place is its rank in the whole row),
 *                     takes the filters' prefix lengths as sampler.c states
 *                     them (top_k: k; top_p: the shortest whose mass reaches
 *                     ceil(top_p * z), z the mass of the first k, or of all;
 *                     min_p: the ids with x >= log(min_p)), keeps the
 *                     shortest, and draws in id order.
 * A row with no filter with an effect (T > 0, no logprobs: every id kept,
 * OpenAI's recommended T 1, top_p 1 among them) on C >= 2 chunks (mode 2):
 *   f32_split_max     as above;
 *   f32_split_hist    per chunk: the integer mass of its ids (cmass);
 *   f32_sample_rows   one block per row scans the chunks' masses in chunk
 *                     order for the chunk holding target = floor(u * W), W
 *                     their sum, then draws inside that chunk as
 *                     sample_one_row does inside its thread chunks.
 * sample_one_row reads such a row three times at one block's pace, every
 * mass an exp on one SM: at batch 1 ~180 us a token (bench/RESULTS.md run 96:
 * -t 1.0 -p 1.0 7.7% under greedy). W and the target are the same integers,
 * so the id is too. GETP_NO_SAMPLE_PLAIN=1 keeps such rows on sample_one_row
 * (A/B runs).
 * What the split path cannot finish (greedy, logprobs, no filter with an
 * effect on one chunk, a non-finite logit, more than SAMPLE_CAND ids up to G, a top_k
 * bin beyond d = 32 with top_p on) f32_sample_rows does by sample_one_row.
 * Every value is an integer sum, a max or a sorted set: the ids do not depend
 * on C, on R, on which rows share a launch, or on the order of atomics.
 */

#define SPLIT_THREADS 256
#define SPLIT_NW (SPLIT_THREADS / GETP_WAVE)
#define SPLIT_MAX_CHUNKS 128
#define SPLIT_GROUP 1024  // rows per round of launches (the scratch holds that many)
#define SPLIT_RANGE 32.0f // d past which every mass is 0 (sampler_exp)
#define SPLIT_K_IN 1      // flags: the top_k prefix ends within the gathered ids
#define SPLIT_M_IN 2      // the min_p prefix ends within them

/* One row's scratch (global memory). */
struct SplitRow {
    float cmax[SPLIT_MAX_CHUNKS]; // f32_split_max: per chunk
    int cbad[SPLIT_MAX_CHUNKS];
    uint32_t cnt[SAMPLE_BINS];           // f32_split_hist
    unsigned long long mass[SAMPLE_BINS];
    unsigned long long cmass[SPLIT_MAX_CHUNKS]; // f32_split_hist, rows with no filter: per chunk
    unsigned long long z_total; // f32_split_select: the mass of all ids (top_p without top_k)
    int mode;                   // 1: the gathered ids decide; 2: the chunks' masses; 0: sample_one_row
    int flags;
    int n_cand;
    unsigned long long cand[SAMPLE_CAND]; // (~key << 32 | id), in no order
};

__device__ __forceinline__ bool split_k_on(const SampleRow &sr, int V) {
    return sr.top_k > 0 && sr.top_k < V;
}

__device__ __forceinline__ bool split_eligible(const SampleRow &sr, int V) {
    return sr.inv_t > 0.0f && sr.n_top < 0 && (split_k_on(sr, V) || sr.top_p < 1.0f || sr.min_x > -INFINITY);
}

/* A row that keeps every id (no filter with an effect, no logprobs), drawn
 * from the chunks' masses: on two chunks or more (on one, sample_one_row's
 * own passes are the same work), and unless the launcher turned it off. */
__device__ __forceinline__ bool split_plain(const SampleRow &sr, int V, int C, int plain_on) {
    return plain_on && C >= 2 && sr.inv_t > 0.0f && sr.n_top < 0 && !split_eligible(sr, V);
}

/* Masses are binned only for top_p without top_k (with top_k, z is the mass of
 * the first k ids, which the gathered ids give). */
__device__ __forceinline__ bool split_need_mass(const SampleRow &sr, int V) {
    return sr.top_p < 1.0f && !split_k_on(sr, V);
}

/* Bin of a distance d in [0, SPLIT_RANGE): monotone in d. */
__device__ __forceinline__ int split_bin(float d) {
    return min(SAMPLE_BINS - 1, (int)(d * ((float)SAMPLE_BINS / SPLIT_RANGE)));
}

/* Chunk c of C of the ids [0, V). */
__device__ __forceinline__ void split_chunk(int V, int c, int C, int *lo, int *hi) {
    const int per = (V + C - 1) / C;
    *lo = min(V, c * per);
    *hi = min(V, *lo + per);
}

/* The row's largest logit and non-finite flag from the chunks' (every thread). */
__device__ __forceinline__ void split_row_max(const SplitRow &g, int C, float *m, int *bad) {
    float mx = -INFINITY;
    int nf = 0;
    for (int c = 0; c < C; c++) mx = fmaxf(mx, g.cmax[c]), nf |= g.cbad[c];
    *m = mx;
    *bad = nf;
}

__device__ __forceinline__ unsigned long long split_mass_of(uint32_t key, float m, float inv_t) {
    return sampler_mass(sampler_x(key_logit(key), m, inv_t));
}


__global__ void __launch_bounds__(SPLIT_THREADS)
f32_split_max(const float *logits, const SampleRow *rows, int V, SplitRow *scr, int plain_on) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ float s_m[SPLIT_NW];
    __shared__ int s_bad[SPLIT_NW];
    const int r = blockIdx.y, c = blockIdx.x, C = gridDim.x;
    SplitRow &g = scr[r];
    if (c == 0 && threadIdx.x == 0) g.mode = 0; // until f32_split_select (or _hist) says otherwise
    const SampleRow sr = rows[r];
    if (!split_eligible(sr, V) && !split_plain(sr, V, C, plain_on)) return;
    const float *row = logits + (int64_t)r * V;
    int lo, hi;
    split_chunk(V, c, C, &lo, &hi);
    float mx;
    int nf;
    range_max<SPLIT_THREADS>(row, lo, hi, &mx, &nf, s_m, s_bad);
    if (threadIdx.x == 0) {
        g.cmax[c] = mx;
        g.cbad[c] = nf;
    }
    /* this chunk's share of the row's bins starts at zero (the next kernel adds) */
    for (int b = c * SAMPLE_BINS / C + (int)threadIdx.x; b < (c + 1) * SAMPLE_BINS / C; b += SPLIT_THREADS)
        g.cnt[b] = 0, g.mass[b] = 0;
    if (c == 0 && threadIdx.x == 0) g.n_cand = 0;
}

__global__ void __launch_bounds__(SPLIT_THREADS)
f32_split_hist(const float *logits, const SampleRow *rows, int V, SplitRow *scr, int plain_on) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ uint32_t cnt[SAMPLE_BINS];
    __shared__ unsigned long long mass[SAMPLE_BINS];
    const int r = blockIdx.y, c = blockIdx.x, C = gridDim.x;
    const SampleRow sr = rows[r];
    const bool plain = split_plain(sr, V, C, plain_on);
    if (!split_eligible(sr, V) && !plain) return;
    SplitRow &g = scr[r];
    float m;
    int bad;
    split_row_max(g, C, &m, &bad);
    if (bad) return; // mode stays 0: sample_one_row gives id -1
    if (plain) { // the chunk's mass, an exact integer sum (mass[0..SPLIT_NW) as scratch)
        const float *row = logits + (int64_t)r * V;
        int lo, hi;
        split_chunk(V, c, C, &lo, &hi);
        unsigned long long w = 0;
#pragma unroll 4
        for (int i = lo + threadIdx.x; i < hi; i += SPLIT_THREADS) w += sampler_mass(sampler_x(row[i], m, sr.inv_t));
        unsigned long long all;
        exscan_u64<SPLIT_THREADS>(w, &all, mass);
        if (threadIdx.x == 0) {
            g.cmass[c] = all;
            if (c == 0) g.mode = 2;
        }
        return;
    }
    const bool need_mass = split_need_mass(sr, V);
    for (int b = threadIdx.x; b < SAMPLE_BINS; b += SPLIT_THREADS) cnt[b] = 0, mass[b] = 0;
    __syncthreads();
    const float *row = logits + (int64_t)r * V;
    int lo, hi;
    split_chunk(V, c, C, &lo, &hi);
#pragma unroll 4
    for (int i = lo + threadIdx.x; i < hi; i += SPLIT_THREADS) {
        const float x = sampler_x(row[i], m, sr.inv_t), d = -x;
        if (!(d < SPLIT_RANGE)) continue;
        const int b = split_bin(d);
        atomicAdd(&cnt[b], 1u);
        if (need_mass) {
            const unsigned long long w = sampler_mass(x);
            if (w) atomicAdd(&mass[b], w);
        }
    }
    __syncthreads();
    for (int b = threadIdx.x; b < SAMPLE_BINS; b += SPLIT_THREADS) {
        if (cnt[b]) atomicAdd(&g.cnt[b], cnt[b]);
        if (mass[b]) atomicAdd(&g.mass[b], mass[b]);
    }
}

__global__ void __launch_bounds__(SPLIT_THREADS)
f32_split_select(const float *logits, const SampleRow *rows, int V, SplitRow *scr) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ unsigned long long s_c[SPLIT_NW], s_w[SPLIT_NW];
    __shared__ int s_kbin, s_pbin;
    __shared__ unsigned long long s_upto;
    constexpr int BPT = SAMPLE_BINS / SPLIT_THREADS; // bins a thread owns, in order
    static_assert(SAMPLE_BINS % SPLIT_THREADS == 0, "bins per thread");
    const int r = blockIdx.y, c = blockIdx.x, C = gridDim.x;
    const SampleRow sr = rows[r];
    if (!split_eligible(sr, V)) return;
    SplitRow &g = scr[r];
    float m;
    int bad;
    split_row_max(g, C, &m, &bad);
    const bool k_on = split_k_on(sr, V), p_on = sr.top_p < 1.0f, need_mass = split_need_mass(sr, V);
    const unsigned long long k = k_on ? (unsigned long long)sr.top_k : 0ull;
    /* every block finds the same bins from the row's histogram */
    const int b0 = (int)threadIdx.x * BPT;
    uint32_t cb[BPT];
    unsigned long long mb[BPT], csum = 0, msum = 0;
#pragma unroll
    for (int j = 0; j < BPT; j++) {
        cb[j] = bad ? 0u : g.cnt[b0 + j];
        mb[j] = bad || !need_mass ? 0ull : g.mass[b0 + j];
        csum += cb[j];
        msum += mb[j];
    }
    unsigned long long c_all, m_all;
    const unsigned long long c_before = exscan_u64<SPLIT_THREADS>(csum, &c_all, s_c);
    const unsigned long long m_before = exscan_u64<SPLIT_THREADS>(msum, &m_all, s_w);
    const unsigned long long need = need_mass ? sampler_top_p_need(sr.top_p, m_all) : 0ull;
    if (threadIdx.x == 0) s_kbin = -1, s_pbin = -1;
    __syncthreads();
    {
        unsigned long long cc = c_before, mc = m_before;
#pragma unroll
        for (int j = 0; j < BPT; j++) { // one bin holds the k-th id, one reaches need
            if (k_on && cc < k && cc + cb[j] >= k) s_kbin = b0 + j;
            if (need_mass && mc < need && mc + mb[j] >= need) s_pbin = b0 + j;
            cc += cb[j];
            mc += mb[j];
        }
    }
    __syncthreads();
    const int kbin = s_kbin, pbin = s_pbin; // -1: the k-th id lies at d >= 32 (top_k keeps all mass)
    int mbin = -1, fast = !bad;
    if (sr.min_x > -INFINITY) {
        const float d0 = -sr.min_x; // min_p keeps d <= d0: bins <= split_bin(d0)
        if (!(d0 >= 0.0f)) fast = 0;
        else if (d0 < SPLIT_RANGE) mbin = split_bin(d0);
    }
    int G = -1; // the last bin the kept prefix can reach
    if (p_on) {
        if (k_on) { // z needs the whole top_k prefix
            if (kbin < 0) fast = 0; // masses not binned: sample_one_row
            else G = kbin;
        } else {
            G = pbin;
            if (mbin >= 0 && mbin < G) G = mbin;
        }
    } else {
        if (kbin >= 0) G = kbin;
        if (mbin >= 0 && (G < 0 || mbin < G)) G = mbin;
    }
    if (G < 0) fast = 0; // no filter with an effect (or a bad row)
    if (threadIdx.x == 0) s_upto = 0;
    __syncthreads();
    if (fast && G >= b0 && G < b0 + BPT) {
        unsigned long long cc = c_before;
#pragma unroll
        for (int j = 0; j < BPT; j++)
            if (b0 + j <= G) cc += cb[j];
        s_upto = cc; // ids in the bins <= G
    }
    __syncthreads();
    if (s_upto > SAMPLE_CAND) fast = 0;
    if (c == 0 && threadIdx.x == 0) {
        g.mode = fast;
        g.flags = (kbin >= 0 && kbin <= G ? SPLIT_K_IN : 0) | (mbin >= 0 && mbin <= G ? SPLIT_M_IN : 0);
        g.z_total = m_all;
    }
    if (!fast) return;
    /* the ids of the bins <= G */
    const float *row = logits + (int64_t)r * V;
    int lo, hi;
    split_chunk(V, c, C, &lo, &hi);
#pragma unroll 4
    for (int i = lo + threadIdx.x; i < hi; i += SPLIT_THREADS) {
        const float l = row[i], d = -sampler_x(l, m, sr.inv_t);
        if (!(d < SPLIT_RANGE) || split_bin(d) > G) continue;
        const int at = atomicAdd(&g.n_cand, 1);
        if (at < SAMPLE_CAND) g.cand[at] = ((unsigned long long)(~sampler_key(l)) << 32) | (uint32_t)i;
    }
}

/* The draw from the gathered ids (mode 1); false (every thread) when they
 * do not hold what they should: then sample_one_row decides. */
__device__ __forceinline__ bool split_finish(SampleOut *o, const SampleRow &sr, int V, const SplitRow &g,
                                             float m, SampleShared &sh) {
    const int n = g.n_cand, flags = g.flags;
    const bool k_in = flags & SPLIT_K_IN, m_in = flags & SPLIT_M_IN, p_on = sr.top_p < 1.0f;
    if (n < 1 || n > SAMPLE_CAND || (k_in && sr.top_k > n) || (p_on && split_k_on(sr, V) && !k_in))
        return false;
    int np = 1;
    while (np < n) np <<= 1;
    for (int i = threadIdx.x; i < np; i += SAMPLE_THREADS) sh.cand[i] = i < n ? g.cand[i] : ~0ull;
    __syncthreads();
    block_sort_u64(sh.cand, np); // the first n ids of the row's order
    /* thread t: places [i0, i1) */
    const int per = (np + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int i0 = min(n, (int)threadIdx.x * per), i1 = min(n, i0 + per);
    unsigned long long mine = 0, mine_k = 0, mine_m = 0;
    for (int i = i0; i < i1; i++) {
        const uint32_t key = ~(uint32_t)(sh.cand[i] >> 32);
        const float x = sampler_x(key_logit(key), m, sr.inv_t);
        const unsigned long long w = sampler_mass(x);
        mine += w;
        if (i < sr.top_k) mine_k += w;
        mine_m += x >= sr.min_x;
    }
    unsigned long long all;
    const unsigned long long before = block_exscan_u64(mine, &all, sh);
    int L = 0x7fffffff; // the kept prefix: the shortest of the filters' that end here
    if (k_in) L = sr.top_k;
    if (m_in) L = min(L, (int)block_sum_u64(mine_m, sh));
    if (p_on) {
        const unsigned long long z = k_in ? block_sum_u64(mine_k, sh) : g.z_total;
        const unsigned long long need = sampler_top_p_need(sr.top_p, z);
        if (threadIdx.x == 0) sh.pos = 0x7fffffff;
        __syncthreads();
        unsigned long long run = before;
        for (int i = i0; i < i1; i++) {
            run += split_mass_of(~(uint32_t)(sh.cand[i] >> 32), m, sr.inv_t);
            if (run >= need) {
                atomicMin(&sh.pos, i + 1);
                break;
            }
        }
        __syncthreads();
        L = min(L, sh.pos);
    }
    if (L < 1 || L > n) return false;
    unsigned long long wk = 0;
    for (int i = i0; i < i1 && i < L; i++) wk += split_mass_of(~(uint32_t)(sh.cand[i] >> 32), m, sr.inv_t);
    const unsigned long long W = block_sum_u64(wk, sh); // (synchronised: every read of cand above is done)
    const unsigned long long target = sampler_target(sr.u, W);
    /* the kept ids into id order: (id << 32 | key) */
    for (int i = threadIdx.x; i < np; i += SAMPLE_THREADS) {
        const unsigned long long e = sh.cand[i];
        const unsigned long long id = (uint32_t)e, key = ~(uint32_t)(e >> 32);
        sh.cand[i] = i < L ? (id << 32) | key : ~0ull;
    }
    int nq = 1;
    while (nq < L) nq <<= 1;
    __syncthreads();
    block_sort_u64(sh.cand, nq);
    const int per2 = (nq + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int j0 = min(L, (int)threadIdx.x * per2), j1 = min(L, j0 + per2);
    unsigned long long mw = 0;
    for (int j = j0; j < j1; j++) mw += split_mass_of((uint32_t)sh.cand[j], m, sr.inv_t);
    unsigned long long total;
    const unsigned long long bw = block_exscan_u64(mw, &total, sh);
    if (threadIdx.x == 0) sh.found = -1;
    __syncthreads();
    if (target >= bw && target < bw + mw) {
        unsigned long long run = bw;
        for (int j = j0; j < j1; j++) {
            run += split_mass_of((uint32_t)sh.cand[j], m, sr.inv_t);
            if (run > target) {
                sh.found = (int)(sh.cand[j] >> 32);
                break;
            }
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) o->id = sh.found;
    return true;
}

/* Mode 2: a row that keeps every id, from its chunks' masses (see the split
 * path's comment); false (every thread) if the sums disagree, which they
 * cannot unless the row changed: then sample_one_row decides. */
__device__ __forceinline__ bool split_plain_draw(SampleOut *o, const float *row, const SampleRow &sr, int V,
                                                 const SplitRow &g, int C, SampleShared &sh) {
    static_assert(SPLIT_MAX_CHUNKS <= SAMPLE_THREADS, "a chunk's mass a thread");
    float m;
    int bad;
    split_row_max(g, C, &m, &bad);
    if (bad) return false;
    /* the chunk holding the target: the chunks' masses scanned in chunk order */
    const unsigned long long w = (int)threadIdx.x < C ? g.cmass[threadIdx.x] : 0ull;
    unsigned long long total;
    const unsigned long long before = block_exscan_u64(w, &total, sh);
    const unsigned long long target = sampler_target(sr.u, total);
    if (threadIdx.x == 0) sh.pos = -1;
    __syncthreads();
    if (target >= before && target < before + w) sh.pos = (int)threadIdx.x, sh.rem = target - before;
    __syncthreads();
    const int cs = sh.pos;
    const unsigned long long rem = sh.rem, wc = cs >= 0 ? g.cmass[cs] : 0ull;
    if (cs < 0) return false;
    /* inside it: a contiguous run of ids a thread, in id order */
    int clo, chi;
    split_chunk(V, cs, C, &clo, &chi);
    const int per = (chi - clo + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int lo = min(chi, clo + (int)threadIdx.x * per), hi = min(chi, lo + per);
    unsigned long long mass = 0;
    for (int i = lo; i < hi; i++) mass += sampler_mass(sampler_x(row[i], m, sr.inv_t));
    unsigned long long ctot;
    const unsigned long long cb = block_exscan_u64(mass, &ctot, sh);
    if (ctot != wc) return false;
    if (threadIdx.x == 0) sh.found = -1;
    __syncthreads();
    if (rem >= cb && rem < cb + mass) {
        unsigned long long run = cb;
        for (int i = lo; i < hi; i++) {
            run += sampler_mass(sampler_x(row[i], m, sr.inv_t));
            if (run > rem) {
                sh.found = i;
                break;
            }
        }
    }
    __syncthreads();
    const int id = sh.found;
    if (id < 0) return false;
    if (threadIdx.x == 0) o->id = id;
    return true;
}

/* One block per row: the split path's draw where f32_split_select set mode
 * 1, or f32_split_hist mode 2 (scr given), sample_one_row otherwise. */
__global__ void __launch_bounds__(SAMPLE_THREADS)
f32_sample_rows(SampleOut *out, const float *logits, const SampleRow *rows, int V, const SplitRow *scr,
                int C) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ SampleShared sh;
    const SampleRow sr = rows[blockIdx.x];
    SampleOut *o = out + blockIdx.x;
    if (scr && split_eligible(sr, V) && scr[blockIdx.x].mode == 1) {
        const SplitRow &g = scr[blockIdx.x];
        float m;
        int bad;
        split_row_max(g, C, &m, &bad);
        if (!bad && split_finish(o, sr, V, g, m, sh)) return;
        __syncthreads();
    } else if (scr && scr[blockIdx.x].mode == 2) { // set only for a row split_plain took
        if (split_plain_draw(o, logits + (int64_t)blockIdx.x * V, sr, V, scr[blockIdx.x], C, sh)) return;
        __syncthreads();
    }
    sample_one_row(o, logits + (int64_t)blockIdx.x * V, sr, V, sh);
}

/* The split path's scratch, grown on demand to SPLIT_GROUP rows (~47 KB a
 * row: 48 MB at most, inside the engine's 1 GB reserve). One device per
 * process and one stream at a time use it, as the engine runs; the first call
 * is not in graph capture (as matmul.hip's key scratch). */
static SplitRow *split_scr = NULL;
static int split_cap = 0;

void sample_rows_f32_split(SampleOut *out, const float *logits, const SampleRow *rows, int R, int V,
                           int chunks, int *fast_rows, hipStream_t stream) {
    CHECK(R >= 0 && V > 0);
    if (fast_rows) *fast_rows = 0;
    if (R == 0) return;
    static int plain_on = -1; // rows with no filter on the split path too (GETP_NO_SAMPLE_PLAIN=1: not)
    if (plain_on < 0) plain_on = !env_flag("GETP_NO_SAMPLE_PLAIN");
    if (chunks < 0) { // every row by sample_one_row
        port_launch(f32_sample_rows, R, SAMPLE_THREADS, 0, stream, out, logits, rows, V, NULL, 1);
        GPU_CHECK_LAUNCH();
        return;
    }
    const int cap = R < SPLIT_GROUP ? R : SPLIT_GROUP;
    if (cap > split_cap) {
        if (split_scr) GPU_CHECK(hipFree(split_scr));
        GPU_CHECK(hipMalloc((void **)&split_scr, sizeof(SplitRow) * (size_t)cap));
        split_cap = cap;
    }
    int c_max = (V + 1023) / 1024; // chunks of at least 1,024 ids
    if (c_max > SPLIT_MAX_CHUNKS) c_max = SPLIT_MAX_CHUNKS;
    for (int r0 = 0; r0 < R; r0 += SPLIT_GROUP) {
        const int n = R - r0 < SPLIT_GROUP ? R - r0 : SPLIT_GROUP;
        /* about 4 blocks of 256 per SM in all: a whole GPU for one row */
        int C = chunks > 0 ? chunks : (4 * gpu_sm_count() + n - 1) / n;
        C = C < 1 ? 1 : C > c_max ? c_max : C;
        const dim3 grid(C, n);
        const float *l = logits + (size_t)r0 * V;
        port_launch(f32_split_max, grid, SPLIT_THREADS, 0, stream, l, rows + r0, V, split_scr, plain_on);
        port_launch(f32_split_hist, grid, SPLIT_THREADS, 0, stream, l, rows + r0, V, split_scr, plain_on);
        port_launch(f32_split_select, grid, SPLIT_THREADS, 0, stream, l, rows + r0, V, split_scr);
        port_launch(f32_sample_rows, n, SAMPLE_THREADS, 0, stream, out + r0, l, rows + r0, V, split_scr, C);
        GPU_CHECK_LAUNCH();
        if (fast_rows) { // tests: the rows the split path decided
            GPU_CHECK(hipStreamSynchronize(stream));
            for (int i = 0; i < n; i++) {
                int mode = 0;
                GPU_CHECK(hipMemcpy(&mode, &split_scr[i].mode, sizeof mode, hipMemcpyDeviceToHost));
                *fast_rows += mode != 0;
            }
        }
    }
}

void sample_rows_f32(SampleOut *out, const float *logits, const SampleRow *rows, int R, int V,
                     hipStream_t stream) {
    sample_rows_f32_split(out, logits, rows, R, V, 0, NULL, stream);
}

/* ---- argmax of full rows (precise mode's greedy rows; the fused unembedding +
 * argmax's check): -1 for a row holding a NaN or an infinity ---- */

#define ARGMAX_THREADS 256

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

__global__ void f32_argmax_rows(int32_t *ids, const float *logits, int V) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
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
    port_launch(f32_argmax_rows, S, ARGMAX_THREADS, 0, stream, ids, logits, V);
    GPU_CHECK_LAUNCH();
}
