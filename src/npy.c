/* npy.c: .npy v1.0 writer/reader for 2-D float32 (see npy.h).
 * Format: "\x93NUMPY", version 1.0, u16 header length, an ASCII Python dict
 * padded with spaces and ending in '\n' so that the data starts at a multiple
 * of 64 bytes, then the raw little-endian data. */
#include "npy.h"

#include <errno.h>
#include <inttypes.h>

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols, Err *err) {
    char dict[128];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%" PRId64 ", %" PRId64 "), }",
                     rows, cols);
    size_t pre = 10, total = pre + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f) return err_set(err, "cannot write %s: %s", path, strerror(errno));
    unsigned char head[10] = {0};
    memcpy(head, MAGIC, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    int ok = fwrite(head, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    size_t count = (size_t)(rows * cols);
    ok = ok && fwrite(data, sizeof(float), count, f) == count; /* host is little-endian (x86-64, arm64) */
    if (fclose(f) != 0) ok = 0;
    return ok ? GETP_OK : err_set(err, "write failed on %s: %s", path, strerror(errno));
}

int npy_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols, Err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "cannot open %s: %s", path, strerror(errno));
    unsigned char head[10];
    char dict[1024];
    int rc = GETP_ERR;
    if (fread(head, 1, 10, f) != 10 || memcmp(head, MAGIC, 6) != 0 || head[6] != 1) {
        err_set(err, "%s: not a .npy v1 file", path);
        goto done;
    }
    size_t hlen = head[8] | ((size_t)head[9] << 8);
    if (hlen >= sizeof dict || fread(dict, 1, hlen, f) != hlen) {
        err_set(err, "%s: bad .npy header length %zu", path, hlen);
        goto done;
    }
    dict[hlen] = '\0';
    long long r, c;
    const char *shape = strstr(dict, "'shape': (");
    if (!strstr(dict, "'descr': '<f4'") || !strstr(dict, "'fortran_order': False") || !shape ||
        sscanf(shape, "'shape': (%lld, %lld)", &r, &c) != 2 || r < 0 || c < 0) {
        err_set(err, "%s: expected a 2-D '<f4' C-order array, header %s", path, dict);
        goto done;
    }
    size_t count = (size_t)(r * c);
    *data = xmalloc(count * sizeof(float));
    if (fread(*data, sizeof(float), count, f) != count) {
        free(*data);
        *data = NULL;
        err_set(err, "%s: truncated data (%lld x %lld floats expected)", path, r, c);
        goto done;
    }
    *rows = r;
    *cols = c;
    rc = GETP_OK;
done:
    fclose(f);
    return rc;
}
