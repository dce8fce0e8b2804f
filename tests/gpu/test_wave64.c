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

int main(void) {
    for (int trial = 0; trial < 20; trial++) {
        EXPECT(check_mfma_tile() == 0, "MFMA 16x16x16 tile (64 lanes), trial %d", trial);
        EXPECT(check_nv_tile(32) == 0, "mma.sync tile (32 lanes), trial %d", trial);
        EXPECT(check_nv_tile(64) == 0, "m16n8k16 layout on a 64-lane wave (fallback), trial %d", trial);
    }
    EXPECT(check_ownership(1, 64) == 0, "MFMA: every A and B element owned once");
    EXPECT(check_ownership(0, 32) == 0, "mma.sync: every B element once, A once per 32 lanes");
    EXPECT(check_ownership(0, 64) == 0, "fallback, 64 lanes: every B element once, A twice");
    return test_finish();
}
