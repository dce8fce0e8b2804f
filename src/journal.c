/* journal.c: the journal of finished requests (journal.h). */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h> // crc32_z

static const char MAGIC[8] = {'G', 'E', 'T', 'P', 'J', 'R', 'N', 1};
enum { IDENTITY_MAX = 1 << 20 }; // longest identity text read back

/* ------------------------------------------------------------ Output bytes */

/* What precedes the arrays of a packed Output. */
typedef struct {
    int64_t index;
    int32_t finish;
    int32_t n_tokens;
    int32_t n_top; // -1: no logprobs
    int32_t reserved;
} PackHead;

/* Bytes of an Output of n ids with n_top alternatives each (-1: no logprobs). */
static size_t pack_size(int32_t n_tokens, int32_t n_top) {
    size_t n = n_tokens > 0 ? (size_t)n_tokens : 0, s = sizeof(PackHead) + n * sizeof(int32_t);
    if (n_top >= 0) s += n * sizeof(float) + n * (size_t)n_top * (sizeof(int32_t) + sizeof(float));
    return s;
}

size_t output_pack_size(const Output *o) { return pack_size(o->n_tokens, o->logprobs ? o->n_top : -1); }

static uint8_t *put(uint8_t *at, const void *src, size_t bytes) {
    if (bytes) memcpy(at, src, bytes);
    return at + bytes;
}

void output_pack(const Output *o, uint8_t *buf) {
    PackHead h;
    memset(&h, 0, sizeof h);
    h.index = o->index;
    h.finish = o->finish;
    h.n_tokens = o->n_tokens > 0 ? o->n_tokens : 0;
    h.n_top = o->logprobs ? o->n_top : -1;
    const size_t n = (size_t)h.n_tokens, na = h.n_top > 0 ? n * (size_t)h.n_top : 0;
    uint8_t *at = put(buf, &h, sizeof h);
    at = put(at, o->tokens, n * sizeof(int32_t));
    if (h.n_top < 0) return;
    at = put(at, o->logprobs, n * sizeof(float));
    at = put(at, o->top_ids, na * sizeof(int32_t));
    put(at, o->top_logprobs, na * sizeof(float));
}

static void *take(const uint8_t **at, size_t bytes) {
    void *p = xmalloc(bytes ? bytes : 1);
    if (bytes) memcpy(p, *at, bytes);
    *at += bytes;
    return p;
}

int output_unpack(const uint8_t *buf, size_t len, Output *o, Err *err) {
    memset(o, 0, sizeof *o);
    PackHead h;
    if (len < sizeof h) return err_set(err, "record of %zu bytes is shorter than its head", len);
    memcpy(&h, buf, sizeof h);
    if (h.n_tokens < 0 || h.n_top < -1 || h.n_top > GETP_MAX_TOP_LOGPROBS || h.finish < FINISH_NONE ||
        h.finish > FINISH_ERROR || h.index < 0)
        return err_set(err, "record head out of range (index %lld, %d tokens, %d alternatives)",
                       (long long)h.index, h.n_tokens, h.n_top);
    size_t want = pack_size(h.n_tokens, h.n_top);
    if (want != len) return err_set(err, "record of %zu bytes, its head says %zu", len, want);
    o->index = h.index;
    o->finish = h.finish;
    o->n_tokens = h.n_tokens;
    o->n_top = h.n_top > 0 ? h.n_top : 0;
    const size_t n = (size_t)h.n_tokens, na = n * (size_t)o->n_top;
    const uint8_t *at = buf + sizeof h;
    o->tokens = (int32_t *)take(&at, n * sizeof(int32_t));
    if (h.n_top >= 0) {
        o->logprobs = (float *)take(&at, n * sizeof(float));
        o->top_ids = (int32_t *)take(&at, na * sizeof(int32_t));
        o->top_logprobs = (float *)take(&at, na * sizeof(float));
    }
    return GETP_OK;
}

/* crc32 of the length field and the bytes it announces. */
static uint32_t frame_crc(uint32_t len, const void *bytes) {
    uLong c = crc32_z(0L, Z_NULL, 0);
    c = crc32_z(c, (const Bytef *)&len, sizeof len);
    return (uint32_t)crc32_z(c, (const Bytef *)bytes, len);
}

/* ------------------------------------------------------------------ writing */

struct Journal {
    int fd;
    char *path;
    off_t header_len;
    int64_t count;
    uint8_t *buf; // record staging
    size_t cap;
};

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int journal_create(const char *path, const char *identity, Journal **out, Err *err) {
    *out = NULL;
    size_t tl = strlen(identity);
    if (tl > IDENTITY_MAX) return err_set(err, "journal identity of %zu bytes is too long", tl);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, "cannot create the journal %s: %s", path, strerror(errno));
    uint32_t len = (uint32_t)tl, crc = frame_crc(len, identity);
    size_t hl = sizeof MAGIC + 8 + tl;
    uint8_t *h = (uint8_t *)xmalloc(hl);
    memcpy(h, MAGIC, sizeof MAGIC);
    memcpy(h + 8, &len, 4);
    memcpy(h + 12, &crc, 4);
    memcpy(h + 16, identity, tl);
    int bad = write_all(fd, h, hl) != 0 || fsync(fd) != 0;
    free(h);
    if (bad) {
        int e = errno;
        close(fd);
        return err_set(err, "writing the journal %s: %s", path, strerror(e));
    }
    Journal *j = (Journal *)xcalloc(1, sizeof *j);
    j->fd = fd;
    j->path = xstrdup(path);
    j->header_len = (off_t)hl;
    *out = j;
    return GETP_OK;
}

int journal_append(Journal *j, const Output *o, Err *err) {
    size_t n = output_pack_size(o);
    if (n > (size_t)INT32_MAX) return err_set(err, "request %lld: record of %zu bytes", (long long)o->index, n);
    if (8 + n > j->cap) {
        j->cap = 2 * (8 + n);
        j->buf = (uint8_t *)xrealloc(j->buf, j->cap);
    }
    uint32_t len = (uint32_t)n;
    output_pack(o, j->buf + 8);
    uint32_t crc = frame_crc(len, j->buf + 8);
    memcpy(j->buf, &len, 4);
    memcpy(j->buf + 4, &crc, 4);
    if (write_all(j->fd, j->buf, 8 + n) != 0)
        return err_set(err, "appending to the journal %s: %s", j->path, strerror(errno));
    j->count++;
    return GETP_OK;
}

int journal_sync(Journal *j, Err *err) {
    if (fsync(j->fd) != 0) return err_set(err, "syncing the journal %s: %s", j->path, strerror(errno));
    return GETP_OK;
}

int journal_rewind(Journal *j, Err *err) {
    if (ftruncate(j->fd, j->header_len) != 0)
        return err_set(err, "truncating the journal %s: %s", j->path, strerror(errno));
    j->count = 0;
    return GETP_OK;
}

int journal_fd(const Journal *j) { return j ? j->fd : -1; }
const char *journal_path(const Journal *j) { return j ? j->path : NULL; }
int64_t journal_count(const Journal *j) { return j ? j->count : 0; }

void journal_close(Journal *j, int remove_it) {
    if (!j) return;
    close(j->fd);
    if (remove_it) unlink(j->path);
    free(j->path);
    free(j->buf);
    free(j);
}

/* ------------------------------------------------------------------ reading */

static void set_push(JournalSet *s, const Output *o) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->outs = (Output *)xrealloc(s->outs, (size_t)s->cap * sizeof *s->outs);
    }
    s->outs[s->n++] = *o;
}

void journal_identity_diff(const char *a, const char *b, char *buf, size_t n) {
    buf[0] = '\0';
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0) {
            size_t key = strcspn(a, " \n");
            const char *va = a + key + (a[key] == ' '), *vb = b + key + (b[key] == ' ');
            int same_key = strncmp(a, b, key) == 0 && (b[key] == ' ' || b[key] == '\n' || !b[key]);
            if (same_key)
                snprintf(buf, n, "%.*s: %.*s there, %.*s here", (int)key, a, (int)(la - (size_t)(va - a)), va,
                         (int)(lb - (size_t)(vb - b)), vb);
            else
                snprintf(buf, n, "'%.*s' there, '%.*s' here", (int)la, a, (int)lb, b);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
}

int journal_read(const char *path, const char *identity, int64_t min_index, JournalSet *set,
                 JournalReadInfo *info, Err *err) {
    memset(info, 0, sizeof *info);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "cannot open the journal %s: %s", path, strerror(errno));
    struct stat st;
    int64_t size = fstat(fileno(f), &st) == 0 ? (int64_t)st.st_size : 0;
    uint8_t head[16];
    size_t got = fread(head, 1, sizeof head, f);
    int rc = GETP_OK;
    uint8_t *buf = NULL;
    char *text = NULL;
    if (got >= sizeof MAGIC ? memcmp(head, MAGIC, sizeof MAGIC) != 0 : memcmp(head, MAGIC, got) != 0) {
        rc = err_set(err, "%s is not a getp journal (remove it to go on)", path);
        goto done;
    }
    uint32_t len = 0, crc = 0;
    if (got == sizeof head) {
        memcpy(&len, head + 8, 4);
        memcpy(&crc, head + 12, 4);
    }
    if (got < sizeof head || len > IDENTITY_MAX || (int64_t)(16 + len) > size)
        goto done; // killed while creating it: no records
    text = (char *)xmalloc((size_t)len + 1);
    if (fread(text, 1, len, f) != len) goto done;
    text[len] = '\0';
    if (frame_crc(len, text) != crc) {
        rc = err_set(err, "%s: the journal's header is damaged (remove it to go on)", path);
        goto done;
    }
    info->header_ok = 1;
    if (strcmp(text, identity) != 0) {
        char diff[256];
        journal_identity_diff(text, identity, diff, sizeof diff);
        rc = err_set(err, "%s was written by another run (%s)", path, diff);
        goto done;
    }
    int64_t at = 16 + (int64_t)len;
    size_t cap = 0;
    for (;;) {
        uint8_t fr[8];
        if (fread(fr, 1, 8, f) != 8) break;
        uint32_t rlen, rcrc;
        memcpy(&rlen, fr, 4);
        memcpy(&rcrc, fr + 4, 4);
        if ((int64_t)rlen > size - at - 8) break;
        if (rlen > cap) {
            cap = rlen;
            buf = (uint8_t *)xrealloc(buf, cap);
        }
        if (fread(buf, 1, rlen, f) != rlen || frame_crc(rlen, buf) != rcrc) break;
        Output o;
        Err uerr;
        if (output_unpack(buf, rlen, &o, &uerr) != GETP_OK) break;
        at += 8 + (int64_t)rlen;
        info->records++;
        if (o.index >= min_index) {
            set_push(set, &o);
            info->kept++;
        } else {
            output_free(&o);
        }
    }
    info->torn_bytes = size - at;
done:
    free(text);
    free(buf);
    fclose(f);
    return rc;
}

static int by_index(const void *a, const void *b) {
    int64_t x = ((const Output *)a)->index, y = ((const Output *)b)->index;
    return x < y ? -1 : x > y;
}

void journal_set_finish(JournalSet *s) {
    if (s->n > 1) qsort(s->outs, (size_t)s->n, sizeof *s->outs, by_index);
    int64_t w = 0;
    for (int64_t r = 0; r < s->n; r++) {
        if (w > 0 && s->outs[w - 1].index == s->outs[r].index) {
            output_free(&s->outs[r]); // the same request journaled twice (a resumed resume)
            continue;
        }
        s->outs[w++] = s->outs[r];
    }
    s->n = w;
}

const Output *journal_set_find(const JournalSet *s, int64_t index) {
    int64_t lo = 0, hi = s->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->outs[mid].index < index) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->n && s->outs[lo].index == index ? &s->outs[lo] : NULL;
}

void journal_set_free(JournalSet *s) {
    for (int64_t i = 0; i < s->n; i++) output_free(&s->outs[i]);
    free(s->outs);
    memset(s, 0, sizeof *s);
}

static void sync_parent_dir(const char *path) {
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int journal_write_set(const char *path, const char *identity, const JournalSet *s, Err *err) {
    size_t n = strlen(path) + 8;
    char *tmp = (char *)xmalloc(n);
    snprintf(tmp, n, "%s.tmp", path);
    Journal *j = NULL;
    int rc = journal_create(tmp, identity, &j, err);
    for (int64_t i = 0; rc == GETP_OK && i < s->n; i++) rc = journal_append(j, &s->outs[i], err);
    if (rc == GETP_OK) rc = journal_sync(j, err);
    if (rc == GETP_OK && rename(tmp, path) != 0)
        rc = err_set(err, "renaming %s to %s: %s", tmp, path, strerror(errno));
    journal_close(j, rc != GETP_OK);
    if (rc == GETP_OK) sync_parent_dir(path);
    free(tmp);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int journal_list(const char *dir, char ***paths, int *n, Err *err) {
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return GETP_OK;
        return err_set(err, "cannot read the journal folder %s: %s", dir, strerror(errno));
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "rank-", 5) != 0 && strncmp(e->d_name, "carry", 5) != 0) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *paths = (char **)xrealloc(*paths, (size_t)cap * sizeof **paths);
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = (char *)xmalloc(len);
        snprintf(p, len, "%s/%s", dir, e->d_name);
        (*paths)[(*n)++] = p;
    }
    closedir(d);
    if (*n > 1) qsort(*paths, (size_t)*n, sizeof **paths, cmp_str);
    return GETP_OK;
}

void journal_list_free(char **paths, int n) {
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}
