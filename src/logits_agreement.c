/* logits_agreement.c: how closely one engine's logits follow a reference's
 * (engine.h), shared by test_gpu_e2e and getp-precision-budget. */
#include "engine.h"

#include <math.h>

LogitsAgreement logits_agreement(const float *l, const float *ref, int n, int V) {
    LogitsAgreement r = {0, 0, 0, 0.0};
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        const float *a = l + (size_t)i * V, *b = ref + (size_t)i * V;
        int ia = 0, ib = 0;
        double e2 = 0;
        for (int v = 0; v < V; v++) {
            r.nan += isnan(a[v]);
            e2 += ((double)a[v] - b[v]) * ((double)a[v] - b[v]);
            den += (double)b[v] * b[v];
            if (a[v] > a[ia]) ia = v;
            if (b[v] > b[ib]) ib = v;
        }
        num += e2;
        r.agree += ia == ib;
        r.agree_margin += b[ia] >= b[ib] - 4.0 * sqrt(e2 / V);
    }
    r.rel = den > 0 ? sqrt(num / den) : 0.0;
    return r;
}
