/* moe_mxint.h: MXFP4 -> bf16 by integer byte permutes (no floating point),
 * plain host/device code over the port's byte permute (port_bytes.h, B =
 * PortBytes on the GPU), so tests/gpu/test_mxint.cpp checks it on the host for
 * every scale byte and code under models of both vendors' instructions.
 *
 * Every e2m1 value times 2^(s - 127) is a bf16 (two significant bits), and
 * the 32 values of a block share s, so a block's 8 magnitudes are an 8-entry
 * table of bf16 bit patterns: its low bytes in one 8-byte table, its high
 * bytes in another. A code's low 3 bits (the magnitude) index both; its bit 3
 * (the sign) goes to bit 15. Per 8 codes: 4 permutes look the bytes up (4
 * codes each), 2 permutes gather the signs, 4 permutes interleave low and
 * high bytes into bf16 pairs. The same bits as mx_dequant8, since the table
 * holds its values (zero as +0, so code 8 gives -0 as there).
 *
 * The table: mx_table_int builds it by integer adds for 2 <= s <= 252
 * (mx_int_ok), where every nonzero magnitude is a normal finite bf16: code
 * m >= 2 is (s - 1) << 7 plus m << 6 (the e1 e0 m bits over the exponent of
 * 2^(s-127)), code 1 (0.5) is (s - 1) << 7, code 0 is 0. Outside that range
 * (denormals, overflow to inf) the caller fills the 8 entries with the exact
 * floating-point decode (mx_table_pairs from mx_bf16); the lookup is the same.
 */
#ifndef GETP_MOE_MXINT_H
#define GETP_MOE_MXINT_H

#include "port_bytes.h" // PORT_BYTES_FN, the permute's encodings

struct MxTable {
    uint32_t lo0, lo1; // low bytes of the entries 0..3, 4..7
    uint32_t hi0, hi1; // high bytes
};

/* The integer table is exact for these scale bytes. */
PORT_BYTES_FN bool mx_int_ok(uint32_t s) { return s - 2u <= 250u; }

/* Table from the 8 entries as 4 bf16 pairs: p[j] = entry 2j | entry 2j+1 << 16. */
template <class B>
PORT_BYTES_FN MxTable mx_table_pairs(uint32_t p01, uint32_t p23, uint32_t p45, uint32_t p67) {
    MxTable t;
    t.lo0 = B::perm(p01, p23, B::sel(0, 2, 4, 6));
    t.hi0 = B::perm(p01, p23, B::sel(1, 3, 5, 7));
    t.lo1 = B::perm(p45, p67, B::sel(0, 2, 4, 6));
    t.hi1 = B::perm(p45, p67, B::sel(1, 3, 5, 7));
    return t;
}

/* Entries for 2 <= s <= 252: x = (s << 7) in both halves; entry 2 = s << 7,
 * 3 = (s << 7) + 64, 4 = (s + 1) << 7, ... 7 = ((s + 2) << 7) + 64, 1 =
 * (s - 1) << 7, 0 = 0. No half carries into the next (all < 0x7F80). */
template <class B>
PORT_BYTES_FN MxTable mx_table_int(uint32_t s) {
    const uint32_t x = s * 0x00800080u;
    return mx_table_pairs<B>((s - 1u) << 23, x + 0x00400000u, x + 0x00C00080u, x + 0x01400100u);
}

/* 8 codes (element 2j in the low nibble of byte j, 2j+1 in the high one) ->
 * 8 bf16 in o[0..3] (o[j] = element 2j | element 2j+1 << 16). */
template <class B>
PORT_BYTES_FN void mx_lookup8(uint32_t w, const MxTable &t, uint32_t o[4]) {
    const uint32_t s0 = B::nibble_sel(w, 0), s1 = B::nibble_sel(w, 1);
    const uint32_t l0 = B::perm(t.lo0, t.lo1, s0), l1 = B::perm(t.lo0, t.lo1, s1);
    uint32_t h0 = B::perm(t.hi0, t.hi1, s0), h1 = B::perm(t.hi0, t.hi1, s1);
    /* signs: bit 3 of the low nibble of byte j is bit 7 of byte j of w << 4,
     * bit 3 of the high one bit 7 of byte j of w */
    const uint32_t w4 = w << 4;
    h0 |= B::perm(w4, w, B::sel(0, 4, 1, 5)) & 0x80808080u;
    h1 |= B::perm(w4, w, B::sel(2, 6, 3, 7)) & 0x80808080u;
    o[0] = B::perm(l0, h0, B::sel(0, 4, 1, 5));
    o[1] = B::perm(l0, h0, B::sel(2, 6, 3, 7));
    o[2] = B::perm(l1, h1, B::sel(0, 4, 1, 5));
    o[3] = B::perm(l1, h1, B::sel(2, 6, 3, 7));
}

#endif
