/* model_internal.h: helpers shared by the model loaders (model.c,
 * model_bin.c, model_st.c); not part of the model API. */
#ifndef GETP_MODEL_INTERNAL_H
#define GETP_MODEL_INTERNAL_H

#include "model.h" // Model, Tensor, Err

struct stat;
/* Open a model file read-only; refused (-1, err set) unless it is a regular
 * file; never blocks on a FIFO. */
int model_open_regular(const char *path, struct stat *st, Err *err);

/* mmap `path` read-only and record the mapping in m (freed by model_free).
 * An empty file maps to addr NULL, len 0. */
int model_map_file(Model *m, const char *path, const uint8_t **addr, size_t *len, Err *err);

/* The checkpoint's pieces on bytes in memory (model_st.c; the fuzz targets
 * in fuzz/ call them): config.json text into a validated Config, and one
 * safetensors file's header validated against its size. name is for messages. */
int model_st_config_parse(const char *name, const char *text, size_t len, Config *c, Err *err);
int model_st_header_check(const char *name, const uint8_t *base, size_t size, Err *err);

/* A Tensor view of up to four dims. */
static inline Tensor tensor_view(DType dt, const void *data, int ndim, const int64_t *shape) {
    Tensor t = {.dtype = dt, .ndim = ndim, .data = data, .scales = NULL};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    return t;
}

#endif
