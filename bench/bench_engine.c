/* bench_engine.c: first throughput figures of the GPU engine.
 *
 * Usage: bench_engine MODEL [NEW_TOKENS [BATCH...]]
 * For each batch size B (default 1 and 64): B requests with 16-token random
 * prompts, run to prompt + NEW_TOKENS positions (default 256) with no stop
 * ids; prints generated tok/s over the generate() call and the GPU memory the
 * engine holds (verbose lines on stderr). A warm-up generate of a few tokens
 * comes first so module load stays out of the numbers. GETP_PRECISE=1: the
 * engine in precise mode.
 */
#include "engine.h"
#include "engine_gpu.h"

static int run_batch(Engine *e, int B, int n_prompt, int new_tokens, int V) {
    Request *r = calloc((size_t)B, sizeof(Request));
    Output *o = calloc((size_t)B, sizeof(Output));
    int32_t *prompts = malloc(sizeof(int32_t) * (size_t)B * n_prompt);
    for (int i = 0; i < B * n_prompt; i++) prompts[i] = (int32_t)((i * 2654435761u) % (unsigned)V);
    for (int i = 0; i < B; i++) {
        request_params_default(&r[i].p);
        r[i].p.index = i;
        r[i].p.n_prompt = n_prompt;
        r[i].p.steps = n_prompt + new_tokens - 1;
        r[i].p.n_stop = 0;
        r[i].prompt = prompts + (size_t)i * n_prompt;
    }
    Err err = {{0}};
    double t0 = now_seconds();
    int rc = e->generate(e, r, B, o, &err);
    double dt = now_seconds() - t0;
    long ntok = 0;
    for (int i = 0; i < B; i++) ntok += o[i].n_tokens, output_free(&o[i]);
    if (rc != GETP_OK) printf("generate: %s\n", err.msg);
    else if (new_tokens > 4)
        printf("bench: batch %4d: %6ld tokens in %7.3f s = %9.1f tok/s (%.2f ms/step)\n", B, ntok, dt,
               ntok / dt, 1e3 * dt / (new_tokens + 1));
    free(r), free(o), free(prompts);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_engine MODEL [NEW_TOKENS [BATCH...]]\n");
        return 2;
    }
    const int new_tokens = argc > 2 ? atoi(argv[2]) : 256;
    Model m;
    Err err = {{0}};
    if (model_load(argv[1], &m, &err) != GETP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    double t0 = now_seconds();
    GpuOptions opt = {0, 0, 1, env_flag("GETP_PRECISE"), 0, 0}; // GETP_PRECISE=1: precise mode
    Engine *e = engine_gpu_create(&m, &opt, &err);
    if (!e) return fprintf(stderr, "%s\n", err.msg), 1;
    printf("bench: warm-up (engine create) %.2f s\n", now_seconds() - t0);
    run_batch(e, 2, 16, 2, m.cfg.vocab_size); // warm-up
    if (argc > 3)
        for (int i = 3; i < argc; i++) run_batch(e, atoi(argv[i]), 16, new_tokens, m.cfg.vocab_size);
    else {
        run_batch(e, 1, 16, new_tokens, m.cfg.vocab_size);
        run_batch(e, 64, 16, new_tokens, m.cfg.vocab_size);
    }
    e->destroy(e);
    model_free(&m);
    return 0;
}
