/* npy.h: NumPy .npy v1.0 files of little-endian float32 matrices (C order),
 * for -m logits: anyone can np.load() getp's numbers. */
#ifndef GETP_NPY_H
#define GETP_NPY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write data (rows, cols) as '<f4' C-order .npy. */
int npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols, Err *err);

/* Read a 2-D '<f4' C-order .npy written by npy_write_f32 (or NumPy):
 * *data malloc'ed. Refuses anything else with a message. */
int npy_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols, Err *err);

#ifdef __cplusplus
}
#endif
#endif
