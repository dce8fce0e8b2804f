/* moe_sort.h: the counting sort of the MoE's (token, j) pairs by expert, as
 * a block-wide device function: moe.hip's moe_sort kernel and router.hip's
 * fused routing (top-k, then the sort, in one launch at small batches). */
#ifndef GETP_MOE_SORT_H
#define GETP_MOE_SORT_H

#include "port.h"

#define MOE_SORT_THREADS 1024
#define MOE_SORT_MAX_E 256

/* One block of MOE_SORT_THREADS: counts, exclusive scan, then a stable
 * scatter chunk by chunk (rank inside a wave by shuffles, across waves by
 * per-wave counts). ids may have been written by this block before a
 * barrier (router.hip's fused routing). */
__device__ __forceinline__ void moe_sort_block(const int32_t *ids, int P, int E, int32_t *offsets,
                                               int32_t *sorted) {
    constexpr int NW = MOE_SORT_THREADS / GETP_WAVE;
    __shared__ int cnt[MOE_SORT_MAX_E], run[MOE_SORT_MAX_E];
    __shared__ int wcnt[NW][MOE_SORT_MAX_E];
    const int tid = threadIdx.x, lane = tid % GETP_WAVE, wv = tid / GETP_WAVE;
    for (int e = tid; e < E; e += MOE_SORT_THREADS) cnt[e] = 0;
    __syncthreads();
    for (int p = tid; p < P; p += MOE_SORT_THREADS) atomicAdd(&cnt[ids[p]], 1);
    __syncthreads();
    if (wv == 0) { // exclusive scan of the counts by the first wave, GETP_WAVE at a time
        int carry = 0;
        for (int e0 = 0; e0 < E; e0 += GETP_WAVE) {
            const int e = e0 + lane, c = e < E ? cnt[e] : 0;
            int incl = c;
#pragma unroll
            for (int d = 1; d < GETP_WAVE; d <<= 1) {
                const int y = GETP_SHFL_UP(incl, d);
                if (lane >= d) incl += y;
            }
            if (e < E) offsets[e] = run[e] = carry + incl - c;
            carry += GETP_SHFL(incl, GETP_WAVE - 1);
        }
        if (lane == 0) offsets[E] = carry;
    }
    __syncthreads();
    for (int base = 0; base < P; base += MOE_SORT_THREADS) {
        for (int i = tid; i < NW * E; i += MOE_SORT_THREADS) wcnt[i / E][i % E] = 0;
        __syncthreads();
        const int p = base + tid;
        const int e = p < P ? ids[p] : -1;
        int rank = 0;
        for (int l = 0; l < GETP_WAVE; l++) {
            int o = GETP_SHFL(e, l);
            rank += (l < lane && o == e) ? 1 : 0;
        }
        if (e >= 0) atomicAdd(&wcnt[wv][e], 1);
        __syncthreads();
        if (e >= 0) {
            int before = 0;
            for (int w = 0; w < wv; w++) before += wcnt[w][e];
            sorted[run[e] + before + rank] = p;
        }
        __syncthreads();
        for (int x = tid; x < E; x += MOE_SORT_THREADS) {
            int tot = 0;
            for (int w = 0; w < NW; w++) tot += wcnt[w][x];
            run[x] += tot;
        }
        __syncthreads();
    }
}

#endif
