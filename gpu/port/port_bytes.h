/* port_bytes.h: the byte permute of both vendors as one primitive with a
 * portable meaning, written (like port_layouts.h) as plain host/device code
 * over the instruction, so tests/gpu/test_mxint.cpp runs it on the host
 * against models of both instructions written from the vendors' documents.
 *
 * Meaning: perm(lo, hi, sel) = four bytes picked from the 8 bytes of (hi:lo)
 * (byte i of lo is byte i, byte i of hi is byte 4 + i), output byte k from
 * source byte index k of sel; indices 0..7 only. A selector is in the
 * vendor's encoding: sel(b0, b1, b2, b3) for constants, nibble_sel(w, h) for
 * the indices held in the low 3 bits of the 4 nibbles of half h of w (bit 3
 * of each nibble ignored): the lookup of 4 packed 3-bit codes in an 8-byte
 * table.
 *
 *   BytesNv   NVIDIA prmt.b32 (default mode): selector nibble k = index of
 *             output byte k (bit 3 of a nibble = sign-replicate mode, never
 *             set here); only c[15:0] is read. nibble_sel: one mask.
 *   BytesAmd  AMD v_perm_b32 D, S0, S1, sel (CDNA ISA): selector byte k =
 *             index of output byte k into {S0, S1} with S1 as bytes 0..3
 *             (values 8..15 are constants or sign replicas, never used
 *             here). nibble_sel: the nibbles spread to bytes by one permute of
 *             (w, w >> 4) and a mask.
 * I is the instruction: I::perm(a, b, c) with the vendor's operand order
 * (prmt a, b, c; v_perm S0, S1, sel). The device sides are in port_cuda.h /
 * port_hip.h (PortBytes).
 */
#ifndef GETP_PORT_BYTES_H
#define GETP_PORT_BYTES_H

#include <stdint.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define PORT_BYTES_FN __host__ __device__ static __forceinline__
#else
#define PORT_BYTES_FN static inline
#endif

template <class I>
struct BytesNv {
    PORT_BYTES_FN uint32_t sel(uint32_t b0, uint32_t b1, uint32_t b2, uint32_t b3) {
        return b0 | b1 << 4 | b2 << 8 | b3 << 12;
    }
    PORT_BYTES_FN uint32_t perm(uint32_t lo, uint32_t hi, uint32_t s) { return I::perm(lo, hi, s); }
    PORT_BYTES_FN uint32_t nibble_sel(uint32_t w, int h) { return (w >> (16 * h)) & 0x7777u; }
};

template <class I>
struct BytesAmd {
    PORT_BYTES_FN uint32_t sel(uint32_t b0, uint32_t b1, uint32_t b2, uint32_t b3) {
        return b0 | b1 << 8 | b2 << 16 | b3 << 24;
    }
    PORT_BYTES_FN uint32_t perm(uint32_t lo, uint32_t hi, uint32_t s) { return I::perm(hi, lo, s); }
    /* bytes (w.b[2h], (w >> 4).b[2h], w.b[2h+1], (w >> 4).b[2h+1]): nibble k of
     * the half in the low bits of byte k */
    PORT_BYTES_FN uint32_t nibble_sel(uint32_t w, int h) {
        return perm(w, w >> 4, h ? sel(2, 6, 3, 7) : sel(0, 4, 1, 5)) & 0x07070707u;
    }
};

#endif
