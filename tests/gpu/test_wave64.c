/* test_wave64.c: the matrix tile's lane maps (gpu/port/port_layouts.h), run on
 * the host for every lane of a wave, against models of the hardware
 * instructions written here from the vendors' documented layouts. No GPU: this
 * is how the AMD tile (64 lanes, MFMA) is checked in CI, where no MI250 is.
 *
 * The instruction models (independent of port_layouts.h):
 *  - AMD v_mfma_f32_16x16x16bf16_1k (CDNA2/CDNA3 ISA, "matrix fused multiply
 *    add", 16x16x16 with 4-element operands): lane l holds A[l % 16][4 (l / 16)
 *    + j] and B[4 (l / 16) + j][l % 16] (j < 4), and D[4 (l / 16) + j][l % 16].
 *  - NVIDIA mma.sync.m16n8k16 .bf16 (PTX ISA "matrix fragments for
 *    mma.m16n8k16"): g = lane / 4, t = lane % 4; A registers a0..a3 hold (g,
 *    2t..2t+1), (g + 8, 2t..), (g, 2t + 8..), (g + 8, 2t + 8..); B b0, b1
 *    hold (k 2t..2t+1, n g), (k 2t + 8.., n g); C c0..c3 at (g, 2t), (g, 2t +
 *    1), (g + 8, 2t), (g + 8, 2t + 1).
 * The tile built on them (gpu/port/port_hip.h, port_cuda.h, and the shuffle
 * fallback port_tile_fallback.h on a 64-lane wave) is fed, lane by lane, the
 * operands the lane maps say it owns, and its C must be the plain product of
 * random A (16 x 32) and B (TILE_N x 32): exact, since the values are small
 * integers (every product and sum is exact in fp32). Each map is also checked
 * to cover every element exactly once, and the MFMA tile's partner rule
 * (column ^ 1 lives in lane ^ 1, same item) is checked.
 */
#include "port_layouts.h"

#include "../expect.h" // EXPECT, test_finish

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TK = 32 }; // k per tile step

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static int small_int(void) { // -4..4
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (int)(rng % 9) - 4;
}

/* ---- instruction models ---- */

/* MFMA 16x16x16: a, b, d are [64][4] (the lane's 4 elements). */
static void model_mfma16(float d[64][4], const float a[64][4], const float b[64][4]) {
    float A[16][16], B[16][16], D[16][16];
    for (int l = 0; l < 64; l++)
        for (int j = 0; j < 4; j++) {
            A[l % 16][4 * (l / 16) + j] = a[l][j];
            B[4 * (l / 16) + j][l % 16] = b[l][j];
            D[4 * (l / 16) + j][l % 16] = d[l][j];
        }
    for (int i = 0; i < 16; i++)
        for (int n = 0; n < 16; n++)
            for (int k = 0; k < 16; k++) D[i][n] += A[i][k] * B[k][n];
    for (int l = 0; l < 64; l++)
        for (int j = 0; j < 4; j++) d[l][j] = D[4 * (l / 16) + j][l % 16];
}

/* mma.sync m16n8k16 on 32 lanes: a [32][8] (a0..a7 = registers 0..3, two
 * elements each), b [32][4], c [32][4]. */
static void model_mma16x8(float c[32][4], const float a[32][8], const float b[32][4]) {
    float A[16][16], B[16][8], C[16][8];
    for (int l = 0; l < 32; l++) {
        const int g = l / 4, t = l % 4;
        for (int e = 0; e < 2; e++) {
            A[g][2 * t + e] = a[l][0 + e];
            A[g + 8][2 * t + e] = a[l][2 + e];
            A[g][2 * t + 8 + e] = a[l][4 + e];
            A[g + 8][2 * t + 8 + e] = a[l][6 + e];
            B[2 * t + e][g] = b[l][0 + e];
            B[2 * t + 8 + e][g] = b[l][2 + e];
            C[g][2 * t + e] = c[l][e];
            C[g + 8][2 * t + e] = c[l][2 + e];
        }
    }
    for (int i = 0; i < 16; i++)
        for (int n = 0; n < 8; n++)
            for (int k = 0; k < 16; k++) C[i][n] += A[i][k] * B[k][n];
    for (int l = 0; l < 32; l++) {
        const int g = l / 4, t = l % 4;
        for (int e = 0; e < 2; e++) {
            c[l][e] = C[g][2 * t + e];
            c[l][2 + e] = C[g + 8][2 * t + e];
        }
    }
}

/* ---- the tiles as the port composes them ---- */

/* port_hip.h: two MFMAs, the lane's k_off..+3 then +4..+7 (words x,y then z,w). */
static int check_mfma_tile(void) {
    float At[16][TK], Bt[16][TK], ref[16][16];
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < TK; k++) At[i][k] = (float)small_int(), Bt[i][k] = (float)small_int();
    for (int i = 0; i < 16; i++)
        for (int n = 0; n < 16; n++) {
            ref[i][n] = 0;
            for (int k = 0; k < TK; k++) ref[i][n] += At[i][k] * Bt[n][k];
        }
    float acc[64][4] = {{0}};
    for (int h = 0; h < 2; h++) {
        float a[64][4], b[64][4];
        for (int l = 0; l < 64; l++)
            for (int j = 0; j < 4; j++) {
                a[l][j] = At[mfma16_a_row(l)][mfma16_k_off(l) + 4 * h + j];
                b[l][j] = Bt[mfma16_b_row(l)][mfma16_k_off(l) + 4 * h + j];
            }
        model_mfma16(acc, a, b);
    }
    int bad = 0, seen[16][16] = {{0}};
    for (int l = 0; l < 64; l++)
        for (int i = 0; i < 4; i++) {
            const int r = mfma16_c_row(l, i), c = mfma16_c_col(l, i);
            seen[r][c]++;
            bad += acc[l][i] != ref[r][c];
            /* tile_c_partner: the element at column c ^ 1 is lane l ^ 1's item i */
            bad += mfma16_c_row(l ^ 1, i) != r || mfma16_c_col(l ^ 1, i) != (c ^ 1);
            /* tile_c_row_partner: the element at row r ^ 1 is this lane's item i ^ 1 */
            bad += mfma16_c_row(l, i ^ 1) != (r ^ 1) || mfma16_c_col(l, i ^ 1) != c;
        }
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) bad += seen[r][c] != 1;
    return bad;
}

/* port_cuda.h (and the fallback, which repeats it per 32 lanes): per 32 lanes
 * two mma.sync, registers (v0.x, v1.x, v0.y, v1.y | b.x, b.y) then (z, w). */
static int check_nv_tile(int wave) {
    const int tn = 8 * (wave / 32);
    float At[16][TK], Bt[16][TK], ref[16][16];
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < TK; k++) At[i][k] = (float)small_int(), Bt[i][k] = (float)small_int();
    for (int i = 0; i < 16; i++)
        for (int n = 0; n < tn; n++) {
            ref[i][n] = 0;
            for (int k = 0; k < TK; k++) ref[i][n] += At[i][k] * Bt[n][k];
        }
    int bad = 0, seen[16][16] = {{0}};
    for (int half = 0; half < wave / 32; half++) {
        float acc[32][4] = {{0}};
        for (int h = 0; h < 2; h++) { // words (x, y), then (z, w)
            float a[32][8], b[32][4];
            for (int l0 = 0; l0 < 32; l0++) {
                const int l = half * 32 + l0, k0 = nv16x8_k_off(l) + 4 * h;
                for (int e = 0; e < 2; e++) {
                    a[l0][0 + e] = At[nv16x8_a_row(l, 0)][k0 + e];     // v0 word x / z
                    a[l0][2 + e] = At[nv16x8_a_row(l, 1)][k0 + e];     // v1 word x / z
                    a[l0][4 + e] = At[nv16x8_a_row(l, 0)][k0 + 2 + e]; // v0 word y / w
                    a[l0][6 + e] = At[nv16x8_a_row(l, 1)][k0 + 2 + e]; // v1 word y / w
                    b[l0][0 + e] = Bt[nv16x8_b_row(l)][k0 + e];
                    b[l0][2 + e] = Bt[nv16x8_b_row(l)][k0 + 2 + e];
                }
            }
            model_mma16x8(acc, a, b);
        }
        for (int l0 = 0; l0 < 32; l0++)
            for (int i = 0; i < 4; i++) {
                const int l = half * 32 + l0, r = nv16x8_c_row(l, i), c = nv16x8_c_col(l, i);
                if (r < 0 || r >= 16 || c < 0 || c >= tn) {
                    bad++;
                    continue;
                }
                /* the hardware's C element of this lane is at (g + 8 (i / 2), 2t + i % 2) of its
                 * half's 16x8 tile, column offset by the half */
                seen[r][c]++;
                bad += acc[l0][i] != ref[r][c];
                bad += nv16x8_c_col(l, i ^ 1) != (c ^ 1) || nv16x8_c_row(l, i ^ 1) != r; // partner: item i ^ 1
                /* row partner (tile_c_row_partner): row r ^ 1 is lane l ^ 4's item i */
                bad += nv16x8_c_row(l ^ 4, i) != (r ^ 1) || nv16x8_c_col(l ^ 4, i) != c;
            }
    }
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < tn; c++) bad += seen[r][c] != 1;
    return bad;
}

/* A and B ownership: every (row, k) of the A tile is held by exactly
 * wave * 8 * TILE_A_ROWS / (16 * 32) lanes... precisely: each A element by
 * TILE_N / 8 (nv) or 1 (mfma) lanes, each B element by exactly one lane. */
static int check_ownership(int mfma, int wave) {
    int a_cnt[16][TK] = {{0}}, b_cnt[16][TK] = {{0}}, bad = 0;
    const int tn = mfma ? 16 : 8 * (wave / 32), rows = mfma ? 1 : 2;
    for (int l = 0; l < wave; l++) {
        for (int r = 0; r < rows; r++) {
            const int ar = mfma ? mfma16_a_row(l) : nv16x8_a_row(l, r), ko = mfma ? mfma16_k_off(l) : nv16x8_k_off(l);
            for (int k = 0; k < 8; k++) a_cnt[ar][ko + k]++;
        }
        const int br = mfma ? mfma16_b_row(l) : nv16x8_b_row(l), ko = mfma ? mfma16_k_off(l) : nv16x8_k_off(l);
        if (br >= tn) bad++;
        else
            for (int k = 0; k < 8; k++) b_cnt[br][ko + k]++;
    }
    const int a_copies = mfma ? 1 : wave / 32;
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < TK; k++) {
            bad += a_cnt[i][k] != a_copies;
            if (i < tn) bad += b_cnt[i][k] != 1;
        }
    return bad;
}

/* ---- chaining two products through C (port_tile_chain.h, attention) ----
 * The attention kernel's two products on one wave, run on the instruction
 * models with the port's maps: S = Q K^T (16 x TILE_N per C tile, 64 dims);
 * the fold (rows r, r ^ 8) and the row reduction checked on S's C; then P
 * (16 x 32 positions), given as C tiles, converted to A by the port's rule
 * (LDS for mfma16, registers and lane ^ 32 for nv16x8), V loaded as the kernel
 * loads it (lane: positions chain_pos(k_off + e), dims NB * b_row + c), and
 * O += P V must be the plain product, block c column n at dim NB * n + c. */

/* One tile step on lane arrays: a[lane][r][8] (A rows a_row(lane, r)), b[lane][8]
 * (k_off .. +7 each), c[lane][4]; as the port composes the instructions. */
static void run_tile(int mfma, int wave, float c[64][4], const float a[64][2][8], const float b[64][8]) {
    for (int h = 0; h < 2; h++) { // the lane's k 0..3, then 4..7
        if (mfma) {
            float aa[64][4], bb[64][4];
            for (int l = 0; l < 64; l++)
                for (int j = 0; j < 4; j++) aa[l][j] = a[l][0][4 * h + j], bb[l][j] = b[l][4 * h + j];
            model_mfma16(c, aa, bb);
            continue;
        }
        for (int half = 0; half < wave / 32; half++) {
            float aa[32][8], bb[32][4], cc[32][4];
            for (int l0 = 0; l0 < 32; l0++) {
                const int l = half * 32 + l0;
                for (int e = 0; e < 2; e++) {
                    aa[l0][0 + e] = a[l][0][4 * h + e];
                    aa[l0][2 + e] = a[l][1][4 * h + e];
                    aa[l0][4 + e] = a[l][0][4 * h + 2 + e];
                    aa[l0][6 + e] = a[l][1][4 * h + 2 + e];
                    bb[l0][0 + e] = b[l][4 * h + e];
                    bb[l0][2 + e] = b[l][4 * h + 2 + e];
                }
                memcpy(cc[l0], c[l], sizeof cc[l0]);
            }
            model_mma16x8(cc, aa, bb);
            for (int l0 = 0; l0 < 32; l0++) memcpy(c[half * 32 + l0], cc[l0], sizeof cc[l0]);
        }
    }
}

static int lay_a_row(int mfma, int l, int r) { return mfma ? mfma16_a_row(l) : nv16x8_a_row(l, r); }
static int lay_b_row(int mfma, int l) { return mfma ? mfma16_b_row(l) : nv16x8_b_row(l); }
static int lay_k_off(int mfma, int l) { return mfma ? mfma16_k_off(l) : nv16x8_k_off(l); }
static int lay_c_row(int mfma, int l, int i) { return mfma ? mfma16_c_row(l, i) : nv16x8_c_row(l, i); }
static int lay_c_col(int mfma, int l, int i) { return mfma ? mfma16_c_col(l, i) : nv16x8_c_col(l, i); }
static int lay_pos(int mfma, int k) { return mfma ? mfma16_chain_pos(k) : nv16x8_chain_pos(k); }

/* The C -> A conversion as the device code does it: v[j][lane][i] -> a[lane][r][e]. */
static void chain_convert(int mfma, int wave, float a[64][2][8], float v[4][64][4], int ns) {
    if (mfma) {
        float lds[16 * MFMA16_CHAIN_LD];
        for (int x = 0; x < 16 * MFMA16_CHAIN_LD; x++) lds[x] = -1e30f; // never read
        for (int l = 0; l < 64; l++)
            for (int j = 0; j < ns; j++)
                for (int i = 0; i < 4; i++) lds[mfma16_chain_w(l, j, i)] = v[j][l][i];
        for (int l = 0; l < 64; l++)
            for (int e = 0; e < 8; e++) a[l][0][e] = lds[mfma16_chain_r(l) + e];
        return;
    }
    for (int l = 0; l < wave; l++)
        for (int r = 0; r < 2; r++)
            for (int w = 0; w < 4; w++) {
                const int j = nv16x8_chain_tile(w, wave), src = nv16x8_chain_src(l, w, wave);
                a[l][r][2 * w] = v[j][src][2 * r];
                a[l][r][2 * w + 1] = v[j][src][2 * r + 1];
            }
}

static int check_chain(int mfma, int wave) {
    const int tn = mfma ? 16 : 8 * (wave / 32), ns = TK / tn, nb = 64 / tn, rows = mfma ? 1 : 2;
    int bad = 0;
    /* chain_pos: a bijection of the 32-step */
    int seen[TK] = {0};
    for (int k = 0; k < TK; k++) {
        const int ps = lay_pos(mfma, k);
        if (ps < 0 || ps >= TK) return 1;
        seen[ps]++;
    }
    for (int k = 0; k < TK; k++) bad += seen[k] != 1;
    /* fold: partner at row ^ 8, same column; row reduction: the xor closure of
     * row_xor (and items i, i ^ 1 on nv16x8) holds each column of the row once */
    for (int l = 0; l < wave; l++)
        for (int i = 0; i < 4; i++) {
            const int r = lay_c_row(mfma, l, i), c = lay_c_col(mfma, l, i);
            const int fl = mfma ? mfma16_fold_lane(l) : l, fi = mfma ? i : nv16x8_fold_item(i);
            bad += fl >= wave || lay_c_row(mfma, fl, fi) != (r ^ 8) || lay_c_col(mfma, fl, fi) != c;
            const int nx = mfma ? MFMA16_ROW_XORS : NV16X8_ROW_XORS(wave);
            int cols[16] = {0};
            for (int m = 0; m < (1 << nx); m++) {
                int x = 0;
                for (int s = 0; s < nx; s++)
                    if (m >> s & 1) x ^= mfma ? mfma16_row_xor(s) : nv16x8_row_xor(s);
                const int ll = l ^ x;
                if (ll >= wave) { bad++; continue; }
                for (int ii = 0; ii < 4; ii++) {
                    if (mfma ? ii != i : (ii >> 1) != (i >> 1)) continue; // the lane's items of this row
                    bad += lay_c_row(mfma, ll, ii) != r;
                    cols[lay_c_col(mfma, ll, ii) & 15]++;
                }
            }
            for (int cc = 0; cc < tn; cc++) bad += cols[cc] != 1;
        }
    /* S = Q K^T through the fold: rows h and h + 8 sum to head h's score */
    static float Q[16][64], K[16][64], P[16][TK], V[TK][64];
    for (int i = 0; i < 16; i++)
        for (int d = 0; d < 64; d++) Q[i][d] = (float)small_int(), K[i][d] = (float)small_int();
    {
        float c[64][4] = {{0}};
        for (int ks = 0; ks < 2; ks++) {
            float a[64][2][8], b[64][8];
            for (int l = 0; l < wave; l++) {
                for (int r = 0; r < rows; r++)
                    for (int e = 0; e < 8; e++) a[l][r][e] = Q[lay_a_row(mfma, l, r)][32 * ks + lay_k_off(mfma, l) + e];
                for (int e = 0; e < 8; e++) b[l][e] = K[lay_b_row(mfma, l)][32 * ks + lay_k_off(mfma, l) + e];
            }
            run_tile(mfma, wave, c, a, b);
        }
        for (int l = 0; l < wave; l++)
            for (int i = 0; i < 4; i++) {
                const int r = lay_c_row(mfma, l, i), col = lay_c_col(mfma, l, i);
                const int fl = mfma ? mfma16_fold_lane(l) : l, fi = mfma ? i : nv16x8_fold_item(i);
                float ref = 0;
                for (int d = 0; d < 64; d++) ref += (Q[r & 7][d] + Q[(r & 7) + 8][d]) * K[col][d];
                bad += c[l][i] + c[fl][fi] != ref;
            }
    }
    /* O += P V: P given as ns C tiles, converted to A; V as the kernel loads it */
    for (int i = 0; i < 16; i++)
        for (int t = 0; t < TK; t++) P[i][t] = (float)small_int();
    for (int t = 0; t < TK; t++)
        for (int d = 0; d < 64; d++) V[t][d] = (float)small_int();
    float v[4][64][4], a[64][2][8];
    for (int j = 0; j < ns; j++)
        for (int l = 0; l < wave; l++)
            for (int i = 0; i < 4; i++) v[j][l][i] = P[lay_c_row(mfma, l, i)][j * tn + lay_c_col(mfma, l, i)];
    chain_convert(mfma, wave, a, v, ns);
    for (int l = 0; l < wave; l++) // A element (row, k) is P at column chain_pos(k)
        for (int r = 0; r < rows; r++)
            for (int e = 0; e < 8; e++)
                bad += a[l][r][e] != P[lay_a_row(mfma, l, r)][lay_pos(mfma, lay_k_off(mfma, l) + e)];
    for (int cb = 0; cb < nb; cb++) {
        float c[64][4] = {{0}}, b[64][8];
        for (int l = 0; l < wave; l++)
            for (int e = 0; e < 8; e++)
                b[l][e] = V[lay_pos(mfma, lay_k_off(mfma, l) + e)][nb * lay_b_row(mfma, l) + cb];
        run_tile(mfma, wave, c, a, b);
        for (int l = 0; l < wave; l++)
            for (int i = 0; i < 4; i++) {
                const int r = lay_c_row(mfma, l, i), d = nb * lay_c_col(mfma, l, i) + cb;
                float ref = 0;
                for (int t = 0; t < TK; t++) ref += P[r][t] * V[t][d];
                bad += c[l][i] != ref;
            }
    }
    return bad;
}

int main(void) {
    for (int trial = 0; trial < 20; trial++) {
        EXPECT(check_mfma_tile() == 0, "MFMA 16x16x16 tile (64 lanes), trial %d", trial);
        EXPECT(check_nv_tile(32) == 0, "mma.sync tile (32 lanes), trial %d", trial);
        EXPECT(check_nv_tile(64) == 0, "m16n8k16 layout on a 64-lane wave (fallback), trial %d", trial);
    }
    for (int trial = 0; trial < 5; trial++) {
        EXPECT(check_chain(1, 64) == 0, "attention chain on the MFMA tile (64 lanes, LDS), trial %d", trial);
        EXPECT(check_chain(0, 32) == 0, "attention chain on mma.sync (32 lanes, registers), trial %d", trial);
        EXPECT(check_chain(0, 64) == 0, "attention chain on the fallback (64 lanes, lane ^ 32), trial %d", trial);
    }
    EXPECT(check_ownership(1, 64) == 0, "MFMA: every A and B element owned once");
    EXPECT(check_ownership(0, 32) == 0, "mma.sync: every B element once, A once per 32 lanes");
    EXPECT(check_ownership(0, 64) == 0, "fallback, 64 lanes: every B element once, A twice");
    return test_finish();
}
