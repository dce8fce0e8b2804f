/* selftest_attention.hip: op tests for RoPE + KV write and attention against
 * cpu_rope / cpu_attention (harness: selftest.h). The KV cache is
 * poisoned (NaN) except for the rows a case fills, so attention reading a
 * position outside its window or ring shows up as NaN. Every case runs on
 * both KV layouts (kernels.h kv_strides: token-major, head-major).
 */
#include "selftest.h"
#include "gpu_check.h"
#include "ops_cpu.h" // cpu_rope, cpu_attention, model_rope_table
#include "kernels.h" // rope_qkv_kvwrite, attention_f32q_bf16kv
#include "attention_common.h" // attention_f32q_bf16kv_by: each kernel by name

static Config st_config(int n_heads, int n_kv) {
    Config c;
    memset(&c, 0, sizeof c);
    c.head_dim = 64;
    c.n_heads = n_heads;
    c.n_kv_heads = n_kv;
    c.rope_theta = 150000.0f;
    c.rope_scaling_factor = 32.0f;
    c.initial_context_length = 4096;
    return c;
}

/* KV head h's row of position p (cap's ring slot) of slot s in a cache laid out by ks. */
static size_t kv_at(KvStrides ks, int s, int h, int p, int cap) {
    return (size_t)(s * ks.slot + (int64_t)h * ks.head + (int64_t)(p % cap) * ks.pos);
}

/* precise: k, v also to the remainder caches; checked as hi + lo (TOL_PAIR). */
static void test_rope(SelfTest *st, int T, int n_heads, int n_kv, int precise, int head_major) {
    const Config c = st_config(n_heads, n_kv);
    const int hd = 64, dq = n_heads * hd, dkv = n_kv * hd, qkv = dq + 2 * dkv;
    const int n_slots = 3, cap = 8192;
    float inv_freq[32], conc;
    model_rope_table(&c, inv_freq, &conc);
    float *x = (float *)xmalloc(4 * (size_t)T * qkv);
    st_fill_f32(st, x, (size_t)T * qkv, 2.0f);
    int32_t *slot = (int32_t *)xmalloc(4 * (size_t)T), *pos = (int32_t *)xmalloc(4 * (size_t)T);
    for (int i = 0; i < T; i++) {
        slot[i] = i % n_slots;
        pos[i] = (i * 131 + (int)st_uniform(st, 0, 100)) % cap; // distinct rows per slot
    }
    void *d_x = st_upload(x, 4 * (size_t)T * qkv), *d_if = st_upload(inv_freq, sizeof inv_freq);
    void *d_slot = st_upload(slot, 4 * (size_t)T), *d_pos = st_upload(pos, 4 * (size_t)T);
    const size_t cache_n = (size_t)n_slots * cap * dkv;
    float *d_q = (float *)st_poisoned(4 * (size_t)T * dq);
    KvLayer kv = {(uint16_t *)st_poisoned(2 * cache_n), (uint16_t *)st_poisoned(2 * cache_n), cap,
                  precise ? (uint16_t *)st_poisoned(2 * cache_n) : NULL,
                  precise ? (uint16_t *)st_poisoned(2 * cache_n) : NULL,
                  kv_strides(head_major, cap, n_kv, hd)};
    const StepTokens tok = {(const int32_t *)d_slot, (const int32_t *)d_pos, T};
    const RopeArgs ra = {d_q, (const float *)d_x, kv, tok, (const float *)d_if, conc, n_heads, n_kv, hd};
    rope_qkv_kvwrite(&ra, st->stream);
    float *q = (float *)xmalloc(4 * (size_t)T * dq);
    uint16_t *kc = (uint16_t *)xmalloc(2 * cache_n), *vc = (uint16_t *)xmalloc(2 * cache_n);
    st_download(q, d_q, 4 * (size_t)T * dq);
    st_download(kc, kv.k, 2 * cache_n);
    st_download(vc, kv.v, 2 * cache_n);
    uint16_t *kcl = NULL, *vcl = NULL;
    if (precise) {
        kcl = (uint16_t *)xmalloc(2 * cache_n), vcl = (uint16_t *)xmalloc(2 * cache_n);
        st_download(kcl, kv.k_lo, 2 * cache_n);
        st_download(vcl, kv.v_lo, 2 * cache_n);
    }
    float *ref = (float *)xmalloc(4 * (size_t)T * qkv), *got = (float *)xmalloc(4 * (size_t)T * qkv);
    memcpy(ref, x, 4 * (size_t)T * qkv);
    for (int i = 0; i < T; i++) {
        float *r = ref + (size_t)i * qkv;
        cpu_rope(r, n_heads + n_kv, hd, pos[i], inv_freq, conc); // q and k heads are contiguous
        memcpy(got + (size_t)i * qkv, q + (size_t)i * dq, 4 * (size_t)dq);
        for (int h = 0; h < n_kv; h++) {
            const size_t row = kv_at(kv.st, slot[i], h, pos[i], cap);
            float *gk = got + (size_t)i * qkv + dq + h * hd, *gv = gk + dkv;
            if (precise) {
                st_pair_to_f32(gk, kc + row, kcl + row, hd);
                st_pair_to_f32(gv, vc + row, vcl + row, hd);
            } else {
                st_bf16_to_f32(gk, kc + row, hd);
                st_bf16_to_f32(gv, vc + row, hd);
            }
        }
    }
    double e_q = 0, e_kv = 0;
    { // q rows vs k|v rows: separate bounds (fp32 vs bf16)
        float *gq = (float *)xmalloc(4 * (size_t)T * dq), *rq = (float *)xmalloc(4 * (size_t)T * dq);
        float *gk = (float *)xmalloc(8 * (size_t)T * dkv), *rk = (float *)xmalloc(8 * (size_t)T * dkv);
        for (int i = 0; i < T; i++) {
            memcpy(gq + (size_t)i * dq, got + (size_t)i * qkv, 4 * (size_t)dq);
            memcpy(rq + (size_t)i * dq, ref + (size_t)i * qkv, 4 * (size_t)dq);
            memcpy(gk + (size_t)i * 2 * dkv, got + (size_t)i * qkv + dq, 8 * (size_t)dkv);
            memcpy(rk + (size_t)i * 2 * dkv, ref + (size_t)i * qkv + dq, 8 * (size_t)dkv);
        }
        e_q = st_nmse(gq, rq, (size_t)T * dq);
        e_kv = st_nmse(gk, rk, (size_t)T * 2 * dkv);
        free(gq), free(rq), free(gk), free(rk);
    }
    char name[96];
    snprintf(name, sizeof name, "rope q%s T=%d heads=%d/%d", head_major ? " (head-major)" : "", T, n_heads, n_kv);
    st_report(st, name, e_q, 1e-10, 0);
    snprintf(name, sizeof name, "rope k,v -> %s cache%s T=%d heads=%d/%d",
             precise ? "hi+lo" : "bf16", head_major ? " (head-major)" : "", T, n_heads, n_kv);
    st_report(st, name, e_kv, precise ? TOL_PAIR : TOL_BF16, 0);
    st_free(d_x), st_free(d_if), st_free(d_slot), st_free(d_pos), st_free(d_q);
    st_free(kv.k), st_free(kv.v);
    if (precise) st_free(kv.k_lo), st_free(kv.v_lo);
    free(x), free(slot), free(pos), free(q), free(kc), free(vc), free(ref), free(got);
    free(kcl), free(vcl);
}

typedef struct {
    int n_heads, n_kv, n_slots, cap, window, T;
    const int32_t *slot, *pos; // (T)
    int chunk_ab; // also run each kernel with a block a chunk and with walking blocks: the same bits
} AttCase;

/* Launches kernel `which` under chunk mapping `mode` (attention_set_chunk_blocks)
 * and downloads out (and out_lo); false if the kernel declines the shape. */
static bool att_run(SelfTest *st, const AttnArgs *aa, int which, int mode, uint16_t *o, uint16_t *ol,
                    size_t n) {
    attention_set_chunk_blocks(mode);
    const bool ran = attention_f32q_bf16kv_by(aa, which, st->stream);
    attention_set_chunk_blocks(0);
    if (ran) {
        st_download(o, aa->out, 2 * n);
        if (ol) st_download(ol, aa->out_lo, 2 * n);
    }
    return ran;
}

/* K/V of logical positions 0..P-1 per slot (bf16); the GPU cache holds the
 * last `cap` of them at row p % cap, the rest of the cache stays NaN.
 * precise: K/V are fp32, cached as hi + lo, the output read as hi + lo. */
static void test_attention1(SelfTest *st, const AttCase *ac, const char *what, int precise, int head_major) {
    const Config c = st_config(ac->n_heads, ac->n_kv);
    const int hd = 64, dq = ac->n_heads * hd, dkv = ac->n_kv * hd, T = ac->T;
    int P = 1;
    for (int i = 0; i < T; i++) P = ac->pos[i] + 1 > P ? ac->pos[i] + 1 : P;
    const size_t log_n = (size_t)ac->n_slots * P * dkv, cache_n = (size_t)ac->n_slots * ac->cap * dkv;
    uint16_t *kl = (uint16_t *)xmalloc(2 * log_n), *vl = (uint16_t *)xmalloc(2 * log_n);
    uint16_t *kll = (uint16_t *)xmalloc(2 * log_n), *vll = (uint16_t *)xmalloc(2 * log_n);
    float *kf = (float *)xmalloc(4 * log_n), *vf = (float *)xmalloc(4 * log_n);
    if (precise) {
        st_fill_f32(st, kf, log_n, 1.0f);
        st_fill_f32(st, vf, log_n, 1.0f);
        st_split(kf, kl, kll, log_n);
        st_split(vf, vl, vll, log_n);
    } else {
        st_fill_bf16(st, kl, kf, log_n, 1.0f);
        st_fill_bf16(st, vl, vf, log_n, 1.0f);
    }
    uint16_t *kc = (uint16_t *)xmalloc(2 * cache_n), *vc = (uint16_t *)xmalloc(2 * cache_n);
    uint16_t *kcl = (uint16_t *)xmalloc(2 * cache_n), *vcl = (uint16_t *)xmalloc(2 * cache_n);
    memset(kc, 0xFF, 2 * cache_n);
    memset(vc, 0xFF, 2 * cache_n);
    memset(kcl, 0xFF, 2 * cache_n);
    memset(vcl, 0xFF, 2 * cache_n);
    const KvStrides ks = kv_strides(head_major, ac->cap, ac->n_kv, hd);
    for (int s = 0; s < ac->n_slots; s++) {
        int last = -1;
        for (int i = 0; i < T; i++)
            if (ac->slot[i] == s && ac->pos[i] > last) last = ac->pos[i];
        for (int p = last - ac->cap + 1 > 0 ? last - ac->cap + 1 : 0; p <= last; p++)
            for (int h = 0; h < ac->n_kv; h++) {
                const size_t src = ((size_t)s * P + p) * dkv + (size_t)h * hd, dst = kv_at(ks, s, h, p, ac->cap);
                memcpy(kc + dst, kl + src, 2 * (size_t)hd);
                memcpy(vc + dst, vl + src, 2 * (size_t)hd);
                memcpy(kcl + dst, kll + src, 2 * (size_t)hd);
                memcpy(vcl + dst, vll + src, 2 * (size_t)hd);
            }
    }
    float *q = (float *)xmalloc(4 * (size_t)T * dq), *sinks = (float *)xmalloc(4 * (size_t)ac->n_heads);
    st_fill_f32(st, q, (size_t)T * dq, 3.0f);
    st_fill_f32(st, sinks, ac->n_heads, 2.0f);
    float *ref = (float *)xmalloc(4 * (size_t)T * dq), *got = (float *)xmalloc(4 * (size_t)T * dq);
    for (int i = 0; i < T; i++) {
        const size_t base = (size_t)ac->slot[i] * P * dkv;
        cpu_attention(ref + (size_t)i * dq, q + (size_t)i * dq, kf + base, vf + base, ac->pos[i],
                      ac->window, sinks, &c);
    }
    KvLayer kv = {(uint16_t *)st_upload(kc, 2 * cache_n), (uint16_t *)st_upload(vc, 2 * cache_n),
                  ac->cap, precise ? (uint16_t *)st_upload(kcl, 2 * cache_n) : NULL,
                  precise ? (uint16_t *)st_upload(vcl, 2 * cache_n) : NULL, ks};
    void *d_q = st_upload(q, 4 * (size_t)T * dq), *d_s = st_upload(sinks, 4 * (size_t)ac->n_heads);
    void *d_slot = st_upload(ac->slot, 4 * (size_t)T), *d_pos = st_upload(ac->pos, 4 * (size_t)T);
    const StepTokens tok = {(const int32_t *)d_slot, (const int32_t *)d_pos, T};
    uint16_t *o = (uint16_t *)xmalloc(2 * (size_t)T * dq), *ol = (uint16_t *)xmalloc(2 * (size_t)T * dq);
    /* every kernel the dispatcher can pick in this build (those that take the shape) */
    static const struct { int which; const char *name; } kern[] = {
        {ATT_EXTRA, "extra"}, {ATT_TILED, "tile"}, {ATT_SCALAR, "scalar"}};
    for (size_t kk = 0; kk < sizeof kern / sizeof kern[0]; kk++) {
        uint16_t *d_o = (uint16_t *)st_poisoned(2 * (size_t)T * dq);
        uint16_t *d_ol = precise ? (uint16_t *)st_poisoned(2 * (size_t)T * dq) : NULL;
        const AttnArgs aa = {d_o, d_ol, (const float *)d_q, kv, tok, (const float *)d_s, ac->window,
                             ac->n_heads, ac->n_kv, hd};
        if (att_run(st, &aa, kern[kk].which, 0, o, precise ? ol : NULL, (size_t)T * dq)) {
            if (ac->chunk_ab && !precise) { // every mapping of chunks and tokens to blocks, bit for bit
                uint16_t *o1 = (uint16_t *)xmalloc(2 * (size_t)T * dq);
                static const char *mname[] = {"", "walking blocks", "a block a chunk"};
                for (int mode = 1; mode <= 2; mode++) {
                    att_run(st, &aa, kern[kk].which, mode, o1, NULL, (size_t)T * dq);
                    long bad = 0;
                    for (size_t e = 0; e < (size_t)T * dq; e++) bad += o1[e] != o[e];
                    char nm[128];
                    snprintf(nm, sizeof nm, "attention[%s]%s mappings: %s == the default, bitwise, %s T=%d",
                             kern[kk].name, head_major ? " head-major" : "", mname[mode], what, T);
                    st_report(st, nm, 0.0, TOL_EXACT, bad);
                }
                free(o1);
            }
            if (precise) {
                st_pair_to_f32(got, o, ol, (size_t)T * dq);
            } else {
                st_bf16_to_f32(got, o, (size_t)T * dq);
            }
            char name[112];
            snprintf(name, sizeof name, "attention[%s]%s%s %s T=%d win=%d cap=%d", kern[kk].name,
                     precise ? " hi+lo" : "", head_major ? " head-major" : "", what, T, ac->window, ac->cap);
            st_report(st, name, st_nmse(got, ref, (size_t)T * dq), precise ? TOL_PAIR : TOL_BF16, 0);
        }
        st_free(d_o);
        if (precise) st_free(d_ol);
    }
    st_free(kv.k), st_free(kv.v), st_free(d_q), st_free(d_s), st_free(d_slot), st_free(d_pos);
    if (precise) st_free(kv.k_lo), st_free(kv.v_lo);
    free(kl), free(vl), free(kll), free(vll), free(kf), free(vf), free(kc), free(vc), free(kcl);
    free(vcl), free(q), free(sinks), free(ref), free(got), free(o), free(ol);
}

static void test_attention(SelfTest *st, const AttCase *ac, const char *what, int precise) {
    for (int hm = 0; hm < 2; hm++) test_attention1(st, ac, what, precise, hm);
}

static void attention_cases(SelfTest *st, int n_heads, int n_kv) {
    int32_t slot[300], pos[300];
    /* decode: one token per slot, full attention */
    for (int i = 0; i < 6; i++) slot[i] = i, pos[i] = (int)st_uniform(st, 0, 700);
    pos[0] = 0;
    AttCase a = {n_heads, n_kv, 6, 701, 0, 6, slot, pos, 0};
    test_attention(st, &a, "decode", 0);
    /* decode, sliding window 128, ring of 129 */
    a.window = 128, a.cap = 129;
    test_attention(st, &a, "decode ring", 0);
    test_attention(st, &a, "decode ring", 1);
    /* prefill chunk of 77 at position 300, window 128, ring of window + chunk */
    for (int i = 0; i < 77; i++) slot[i] = 0, pos[i] = 300 + i;
    AttCase b = {n_heads, n_kv, 1, 128 + 77, 128, 77, slot, pos, 0};
    test_attention(st, &b, "prefill ring", 0);
    test_attention(st, &b, "prefill ring", 1);
    /* prefill from position 0, full attention */
    for (int i = 0; i < 45; i++) slot[i] = 0, pos[i] = i;
    AttCase d = {n_heads, n_kv, 1, 45, 0, 45, slot, pos, 0};
    test_attention(st, &d, "prefill", 0);
    /* mixed: a prefill chunk of slot 2 between decode tokens of slots 0, 1, 3 */
    int T = 0;
    slot[T] = 0, pos[T++] = 513;
    slot[T] = 1, pos[T++] = 3;
    for (int i = 0; i < 33; i++) slot[T] = 2, pos[T++] = 130 + i;
    slot[T] = 3, pos[T++] = 999;
    AttCase e = {n_heads, n_kv, 4, 1000, 0, T, slot, pos, 0};
    test_attention(st, &e, "mixed", 0);
    test_attention(st, &e, "mixed", 1);
    e.window = 128;
    test_attention(st, &e, "mixed window", 0);
    /* long contexts: the split over the context (attention_common.h: chunks of
     * 1,024 positions, 2,048 past 16,384), decode tokens of 2 .. 5 chunks and a
     * window of 2,000 over a ring; each kernel also with both mappings of
     * chunks to blocks */
    T = 0;
    slot[T] = 0, pos[T++] = 1024;  // 1,025 positions: 2 chunks, the last of 1
    slot[T] = 1, pos[T++] = 2047;  // 2 full chunks
    slot[T] = 2, pos[T++] = 4100 + (int)st_uniform(st, 0, 800);
    AttCase f = {n_heads, n_kv, 3, 4901, 0, T, slot, pos, 1};
    test_attention(st, &f, "long", 0);
    test_attention(st, &f, "long", 1);
    for (int i = 0; i < 3; i++) slot[i] = i, pos[i] = 2100 + 1000 * i + (int)st_uniform(st, 0, 50);
    AttCase g = {n_heads, n_kv, 3, 2001, 2000, 3, slot, pos, 1};
    test_attention(st, &g, "long window ring", 0);
    /* a long prefill run between decode tokens (T x KV heads > 256 at 8 KV heads:
     * walking blocks by default, a block a chunk at 2), crossing chunk boundaries
     * 1,024 and 2,048, and a run of one sequence only */
    T = 0;
    slot[T] = 1, pos[T++] = 3000 + (int)st_uniform(st, 0, 500);
    for (int i = 0; i < 70; i++) slot[T] = 0, pos[T++] = 1000 + 15 * i;
    slot[T] = 2, pos[T++] = 1023;
    slot[T] = 1, pos[T++] = 2500;
    AttCase k = {n_heads, n_kv, 3, 3501, 0, T, slot, pos, 1};
    test_attention(st, &k, "long prefill", 0);
    for (int i = 0; i < 37; i++) slot[i] = 0, pos[i] = 2040 + i; // one sequence only
    AttCase k2 = {n_heads, n_kv, 1, 2077, 0, 37, slot, pos, 1};
    test_attention(st, &k2, "long prefill run", 0);
    if (n_kv <= 2) { // past 16 chunks of 1,024: chunks of 2,048 (kept to the small shape: host memory)
        slot[0] = 0, pos[0] = 16384 + 600 + (int)st_uniform(st, 0, 400);
        AttCase h = {n_heads, n_kv, 1, pos[0] + 1, 0, 1, slot, pos, 1};
        test_attention(st, &h, "longest", 0);
    }
}

void selftest_attention_ops(SelfTest *st) {
    for (int hm = 0; hm < 2; hm++) {
        test_rope(st, 1, 64, 8, 0, hm);
        test_rope(st, 61, 64, 8, 0, hm);
        test_rope(st, 9, 16, 2, 0, hm);
        test_rope(st, 61, 64, 8, 1, hm);
    }
    attention_cases(st, 64, 8);
    attention_cases(st, 4, 2); // the tiny preset: 2 query heads per KV head
}
