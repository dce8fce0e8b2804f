/* npy_argmax: prints "ROWS COLS ARGMAX_OF_LAST_ROW" of a 2-D float32 .npy, and
 * fails on NaN/Inf. Used by test_cli.sh to check -m logits output. */
#include "npy.h"
#include "sampler.h"

#include <math.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: npy_argmax FILE.npy\n");
        return 2;
    }
    float *d;
    int64_t r, c;
    Err err = {{0}};
    if (npy_read_f32(argv[1], &d, &r, &c, &err) != GETP_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int64_t i = 0; i < r * c; i++)
        if (!isfinite(d[i])) {
            fprintf(stderr, "%s: non-finite value at %lld\n", argv[1], (long long)i);
            return 1;
        }
    printf("%lld %lld %d\n", (long long)r, (long long)c, r ? argmax_f32(d + (r - 1) * c, (int)c) : -1);
    free(d);
    return 0;
}
