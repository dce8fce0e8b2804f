/* port_tile_types.h: the operand and accumulator types of tile.h's matrix
 * tile, written once for every vendor (included by the vendor header after it
 * fixed TILE_A_ROWS). */
#ifndef GETP_PORT_TILE_TYPES_H
#define GETP_PORT_TILE_TYPES_H

#define TILE_M 16
#define TILE_K 32

typedef struct {
    uint4 v[TILE_A_ROWS];  // 8 bf16 of row tile_a_row(r), k = tile_k_off() .. +7
} TileA;
typedef struct {
    uint4 v;  // 8 bf16 of row tile_b_row(), k = tile_k_off() .. +7
} TileB;
typedef struct {
    float c[4];  // element i at (tile_c_row(i), tile_c_col(i))
} TileC;

__device__ __forceinline__ int tile_lane(void) { return (int)(threadIdx.x % GETP_WAVE); }

#endif
