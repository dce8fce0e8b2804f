/* test_mxint.cpp: the integer MXFP4 decode (gpu/kernels/moe_mxint.h) over the
 * port's byte permute (gpu/port/port_bytes.h), run on the host under models of
 * both vendors' instructions, for every scale byte (0..255) and every code at
 * every position of a word, against the MXFP4 definition (e2m1 value times
 * 2^(s - 127), as bf16 bits: exact, +-0 for codes 0 and 8, inf past the
 * range). No GPU: this is how the AMD permute path is checked in CI; `getp
 * --selftest` runs the same decode on the device against mx_dequant8.
 *
 * The instruction models (independent of port_bytes.h):
 *  - NVIDIA prmt.b32 d, a, b, c (PTX ISA, "prmt", default mode): the 8 bytes
 *    {b, a} (a = bytes 0..3); for output byte k the selector nibble c[4k+3:4k]:
 *    its low 3 bits pick the byte, its bit 3 replicates that byte's sign bit.
 *  - AMD v_perm_b32 d, s0, s1, sel (CDNA3 ISA, "V_PERM_B32"): the 8 bytes
 *    {s0, s1} (s1 = bytes 0..3); for output byte k the selector byte
 *    sel[8k+7:8k]: 0..7 picks a byte, 8..11 the sign of bytes 1, 3, 5, 7
 *    replicated, 12 gives 0x00, 13..255 give 0xFF.
 * Each table the decode builds for the integer range is also checked to be
 * exact exactly on the range mx_int_ok accepts, so the fallback boundary is
 * tight.
 */
#include "moe_mxint.h"

extern "C" {
#include "../expect.h" // EXPECT, test_finish
}

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- instruction models ---- */

static uint8_t byte_of(uint64_t v, unsigned i) { return (uint8_t)(v >> (8 * i)); }

struct PrmtModel {
    static uint32_t perm(uint32_t a, uint32_t b, uint32_t c) {
        const uint64_t src = (uint64_t)b << 32 | a;
        uint32_t d = 0;
        for (unsigned k = 0; k < 4; k++) {
            const unsigned nib = (c >> (4 * k)) & 15u;
            uint8_t v = byte_of(src, nib & 7u);
            if (nib & 8u) v = (v & 0x80u) ? 0xFFu : 0x00u;
            d |= (uint32_t)v << (8 * k);
        }
        return d;
    }
};

struct VpermModel {
    static uint32_t perm(uint32_t s0, uint32_t s1, uint32_t sel) {
        const uint64_t src = (uint64_t)s0 << 32 | s1;
        uint32_t d = 0;
        for (unsigned k = 0; k < 4; k++) {
            const unsigned x = (sel >> (8 * k)) & 255u;
            uint8_t v;
            if (x < 8) v = byte_of(src, x);
            else if (x < 12) v = (byte_of(src, 2 * (x - 8) + 1) & 0x80u) ? 0xFFu : 0x00u;
            else if (x == 12) v = 0x00u;
            else v = 0xFFu;
            d |= (uint32_t)v << (8 * k);
        }
        return d;
    }
};

/* ---- the definition ---- */

static uint16_t ref_bits[256][16]; // [scale byte][code] -> bf16 bits

static void ref_init(void) {
    static const float e2m1[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    for (int s = 0; s < 256; s++)
        for (int c = 0; c < 16; c++) {
            float v = ldexpf(e2m1[c & 7], s - 127); // exact, or inf past the range
            if (c & 8) v = -v;
            uint32_t u;
            memcpy(&u, &v, 4);
            ref_bits[s][c] = (uint16_t)(u >> 16); // exact: two significant bits
        }
}

static uint32_t ref_pair(int s, int m) { return ref_bits[s][2 * m] | (uint32_t)ref_bits[s][2 * m + 1] << 16; }

/* ---- checks, per vendor ---- */

template <class B>
static void check_vendor(const char *name) {
    /* the permute's meaning, on its encodings */
    EXPECT(B::perm(0x03020100u, 0x07060504u, B::sel(7, 0, 5, 2)) == 0x02050007u, "%s perm", name);
    EXPECT(B::perm(0x76543210u, 0xFEDCBA98u, B::nibble_sel(0x4F3A9C51u, 0)) == 0x3298BA32u,
           "%s nibble_sel 0: %08x", name, B::perm(0x76543210u, 0xFEDCBA98u, B::nibble_sel(0x4F3A9C51u, 0)));
    EXPECT(B::perm(0x76543210u, 0xFEDCBA98u, B::nibble_sel(0x4F3A9C51u, 1)) == 0x98FE7654u,
           "%s nibble_sel 1: %08x", name, B::perm(0x76543210u, 0xFEDCBA98u, B::nibble_sel(0x4F3A9C51u, 1)));

    long int_exact = 0, int_bad_inside = 0, int_exact_outside = 0, bad = 0, checked = 0;
    for (int s = 0; s < 256; s++) {
        const MxTable ti = mx_table_int<B>((uint32_t)s);
        const MxTable tr = mx_table_pairs<B>(ref_pair(s, 0), ref_pair(s, 1), ref_pair(s, 2), ref_pair(s, 3));
        const bool same = !memcmp(&ti, &tr, sizeof ti);
        int_exact += same;
        if (mx_int_ok((uint32_t)s) && !same) int_bad_inside++;
        if (!mx_int_ok((uint32_t)s) && same) int_exact_outside++;
        const MxTable t = mx_int_ok((uint32_t)s) ? ti : tr; // what the kernels use
        long bad_s = 0;
        /* every 16-bit pattern in the low half; the high half an odd-multiplier
         * bijection of it: every code at every position, in many neighbourhoods */
        for (uint32_t x = 0; x < 65536; x++) {
            const uint32_t w = x | ((x * 0x9E37u + 0x1234u) & 0xFFFFu) << 16;
            uint32_t o[4];
            mx_lookup8<B>(w, t, o);
            for (int j = 0; j < 8; j++) {
                const uint32_t got = (o[j / 2] >> (16 * (j % 2))) & 0xFFFFu;
                const uint32_t want = ref_bits[s][(w >> (4 * j)) & 15u];
                if (got != want && bad_s++ < 3)
                    fprintf(stderr, "%s s=%d w=%08x element %d: %04x, want %04x\n", name, s, w, j, got, want);
            }
            checked += 8;
        }
        bad += bad_s;
    }
    EXPECT(bad == 0, "%s: %ld of %ld decoded values differ", name, bad, checked);
    EXPECT(int_bad_inside == 0, "%s: integer table wrong for %ld scales it claims", name, int_bad_inside);
    EXPECT(int_exact_outside == 0, "%s: mx_int_ok rejects %ld scales the integer table gets right", name,
           int_exact_outside);
    EXPECT(int_exact == 251, "%s: integer table exact for %ld scales (want 251: 2..252)", name, int_exact);
    printf("%s: %ld values over 256 scales, integer table exact for %ld scales\n", name, checked, int_exact);
}

int main(void) {
    ref_init();
    /* the models against the documents' own examples */
    EXPECT(PrmtModel::perm(0x33221100u, 0x77665544u, 0x3210u) == 0x33221100u, "prmt identity");
    EXPECT(PrmtModel::perm(0x33221100u, 0xF7665544u, 0xF007u) == 0xFF0000F7u, "prmt sign mode");
    EXPECT(VpermModel::perm(0x77665544u, 0x33221100u, 0x03020100u) == 0x33221100u, "v_perm identity");
    EXPECT(VpermModel::perm(0xF7665544u, 0x33221100u, 0x0D0C0B07u) == 0xFF00FFF7u, "v_perm constants");
    check_vendor<BytesNv<PrmtModel>>("prmt (NVIDIA)");
    check_vendor<BytesAmd<VpermModel>>("v_perm (AMD)");
    return test_finish();
}
