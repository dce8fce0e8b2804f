/* precision_budget: where the GPU engine's logits leave the fp32 reference.
 *
 * Usage: getp-precision-budget MODEL [-n POSITIONS] [-s SEED]
 *
 * The GPU engine rounds values to bf16 at seven points (engine.h CPU_BF16_*:
 * the inputs of its GEMMs and the KV cache); everything else is fp32-grade.
 * This runs the CPU engine teacher-forced on one random token sequence,
 * exactly (fp32) and with each rounding point emulated alone and all
 * together, and prints for each: top-1 agreement with the exact logits,
 * relative logit error ||l - l_exact|| / ||l_exact||, and how many of the
 * disagreeing positions were near-ties (exact top-2 gap within 4x the row's
 * RMS error). It needs no GPU: the table says how much of the GPU-vs-CPU
 * difference the precision design explains before a kernel is suspected.
 */
#include "engine.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
    fprintf(stderr, "usage: getp-precision-budget MODEL [-n POSITIONS] [-s SEED]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *path = argv[1];
    int n = 200;
    unsigned long long seed = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else usage();
    }
    if (n < 1) usage();
    Model m;
    Err err = {{0}};
    if (model_load(path, &m, &err) != GETP_OK) {
        fprintf(stderr, "getp-precision-budget: %s\n", err.msg);
        return 1;
    }
    const int V = m.cfg.vocab_size;
    if (n > m.cfg.max_seq_len) n = m.cfg.max_seq_len;
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)n);
    uint64_t r = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < n; i++) {
        r ^= r >> 12, r ^= r << 25, r ^= r >> 27;
        tok[i] = (int32_t)((r * 0x2545F4914F6CDD1Dull >> 33) % (uint64_t)V);
    }
    float *ref = malloc(sizeof(float) * (size_t)n * V), *l = malloc(sizeof(float) * (size_t)n * V);
    if (!tok || !ref || !l) {
        fprintf(stderr, "getp-precision-budget: out of memory for %d x %d logits\n", n, V);
        return 1;
    }
    static const struct {
        unsigned points;
        const char *name;
    } rows[] = {{CPU_BF16_ATTN_IN, "attention input (QKV GEMM)"},
                {CPU_BF16_KV, "KV cache"},
                {CPU_BF16_ATT_OUT, "attention output (O GEMM)"},
                {CPU_BF16_ROUTER_IN, "router input"},
                {CPU_BF16_MLP_IN, "MoE input (mlp1)"},
                {CPU_BF16_SWIGLU, "SwiGLU output (mlp2)"},
                {CPU_BF16_HEAD_IN, "final norm (LM head)"},
                {CPU_BF16_ALL & ~CPU_BF16_ROUTER_IN, "all but the router input"},
                {CPU_BF16_ALL & ~CPU_BF16_KV, "all but the KV cache"},
                {CPU_BF16_ALL, "all seven (the GPU engine)"}};
    Engine *e = engine_cpu_create(&m, &err);
    if (!e || e->logits(e, tok, n, ref, &err) != GETP_OK) {
        fprintf(stderr, "getp-precision-budget: %s\n", err.msg);
        return 1;
    }
    e->destroy(e);
    printf("model %s: %d layers, hidden %d, vocab %d; %d teacher-forced positions, seed %llu\n",
           path, m.cfg.n_layers, m.cfg.hidden, V, n, seed);
    printf("%-28s %9s %10s %12s\n", "bf16 rounding at", "top-1", "rel. err", "flips: ties");
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        e = engine_cpu_create_emulated(&m, rows[k].points, &err);
        if (!e || e->logits(e, tok, n, l, &err) != GETP_OK) {
            fprintf(stderr, "getp-precision-budget: %s\n", err.msg);
            return 1;
        }
        e->destroy(e);
        LogitsAgreement c = logits_agreement(l, ref, n, V);
        printf("%-28s %8.2f%% %10.2e %6d: %d\n", rows[k].name, 100.0 * c.agree / n, c.rel,
               n - c.agree, c.agree_margin - c.agree);
        fflush(stdout);
    }
    free(tok);
    free(ref);
    free(l);
    model_free(&m);
    return 0;
}
