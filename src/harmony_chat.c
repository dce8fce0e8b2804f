/* harmony_chat.c: a chat request rendered as the official gpt-oss chat
 * template renders it (harmony.h; the rules, field by field, are in
 * docs/io_formats.md, "Chats").
 *
 * The template is a Jinja program; the reference renderer of our oracle test
 * (tests/io/chat_template_oracle.mjs) is @huggingface/jinja, whose values are
 * JavaScript values. Three of its behaviours decide bytes and are emulated
 * here exactly:
 *  - `tojson` (tool-call arguments, tool results, parameter defaults) is
 *    JSON.stringify with ", " between items and ": " after keys, non-ASCII
 *    kept as is, only `"`, `\` and control characters escaped (\b \f \n \r \t,
 *    else \u00xx in lowercase hex). Numbers are JavaScript doubles printed the
 *    shortest way that reads back (1.0 -> 1, 1e21 -> 1e+21, 1e-7, 0.000001,
 *    -0 -> 0; integers past 2^53 lose their low digits). Object keys come in
 *    JavaScript's order: keys that are array indices ("0".."4294967294",
 *    no leading zero) first in numeric order, then the others as written.
 *  - `a + b` with a string on one side writes the other side's toString:
 *    a string as is, a number as above, true/false, an object "[object Map]",
 *    an array its elements' texts joined by "," (nested arrays and objects as
 *    `tojson`, a null element as "undefined"); null itself is an error.
 *  - `==` is JavaScript's loose equality, so a schema `"type": ["array"]`
 *    equals "array"; truthiness is Python's (empty string, list, object, 0,
 *    null are false).
 * The whitespace the template leaves in nested types ("x: \n" and 16 spaces
 * before a nested property's type; 20 spaces before a oneOf variant's
 * default) is part of the prompt the model was served and is reproduced.
 */
#include "harmony.h"

#include <time.h>

/* ------------------------------------------------------------ text buffer */

typedef struct {
    char *s;
    size_t n, cap;
} Str;

static void str_add(Str *b, const char *p, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void str_puts(Str *b, const char *p) { str_add(b, p, strlen(p)); }

static void str_json(Str *b, json_t *s) { str_add(b, json_string_value(s), json_string_length(s)); }

/* ------------------------------------------------ JavaScript's JSON values */

/* Python truthiness, as the template tests `{% if x %}`. Absent = NULL = false. */
static int truthy(json_t *v) {
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT: return json_object_size(v) > 0;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0;
    case JSON_TRUE: return 1;
    default: return 0;
    }
}

/* A double as JavaScript's Number.prototype.toString writes it: the
 * shortest digits that read back, plain between 1e-7 and 1e21, else
 * exponential ("1e+21", "1.5e-7"). */
static void js_double(Str *b, double x) {
    if (x == 0.0) { // 0 and -0 alike
        str_puts(b, "0");
        return;
    }
    if (x < 0) {
        str_puts(b, "-");
        x = -x;
    }
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, x);
        if (strtod(e, NULL) == x) break;
    }
    char digits[24];
    int k = 0;
    const char *c = e;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') digits[k++] = *c;
    while (k > 1 && digits[k - 1] == '0') k--;
    int n = atoi(c + 1) + 1; // the decimal point sits after n digits
    char out[64];
    int o = 0;
    if (k <= n && n <= 21) {
        for (int i = 0; i < k; i++) out[o++] = digits[i];
        for (int i = k; i < n; i++) out[o++] = '0';
    } else if (0 < n && n <= 21) {
        for (int i = 0; i < k; i++) {
            if (i == n) out[o++] = '.';
            out[o++] = digits[i];
        }
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n; i++) out[o++] = '0';
        for (int i = 0; i < k; i++) out[o++] = digits[i];
    } else {
        out[o++] = digits[0];
        if (k > 1) out[o++] = '.';
        for (int i = 1; i < k; i++) out[o++] = digits[i];
        o += snprintf(out + o, sizeof out - (size_t)o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    str_add(b, out, (size_t)o);
}

static void js_number(Str *b, json_t *v) {
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > -((json_int_t)1 << 53) && i < ((json_int_t)1 << 53)) {
            char buf[32];
            str_add(b, buf, (size_t)snprintf(buf, sizeof buf, "%lld", (long long)i));
            return;
        }
        js_double(b, (double)i);
        return;
    }
    js_double(b, json_real_value(v));
}

/* 1 if key is an array index: "0".."4294967294" without leading zeros. */
static int is_array_index(const char *key, unsigned long long *value) {
    size_t n = strlen(key);
    if (n == 0 || n > 10 || (n > 1 && key[0] == '0')) return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (key[i] < '0' || key[i] > '9') return 0;
        v = v * 10 + (unsigned long long)(key[i] - '0');
    }
    *value = v;
    return v <= 4294967294ULL;
}

/* The keys of an object in JavaScript's order (malloc'ed array, *n keys). */
static const char **js_keys(json_t *obj, size_t *n) {
    size_t cap = json_object_size(obj);
    const char **keys = xmalloc((cap ? cap : 1) * sizeof *keys);
    unsigned long long *num = xmalloc((cap ? cap : 1) * sizeof *num);
    size_t n_index = 0, i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        unsigned long long x;
        if (is_array_index(key, &x)) { // insertion sort: few keys
            size_t j = n_index++;
            for (; j > 0 && num[j - 1] > x; j--) num[j] = num[j - 1];
            num[j] = x;
        }
    }
    char buf[16];
    for (size_t j = 0; j < n_index; j++) { // the index keys, in numeric order
        snprintf(buf, sizeof buf, "%llu", num[j]);
        keys[i++] = json_object_iter_key(json_object_iter_at(obj, buf)); // the object's own copy
    }
    json_object_foreach(obj, key, v) {
        unsigned long long x;
        if (!is_array_index(key, &x)) keys[i++] = key;
    }
    free(num);
    *n = i;
    return keys;
}

static void js_string(Str *b, const char *s, size_t n) {
    str_puts(b, "\"");
    size_t run = 0; // start of the bytes not yet written
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (!esc) continue;
        str_add(b, s + run, i - run);
        str_puts(b, esc);
        run = i + 1;
    }
    str_add(b, s + run, n - run);
    str_puts(b, "\"");
}

/* `v|tojson`. */
static void js_tojson(Str *b, json_t *v) {
    switch (json_typeof(v)) {
    case JSON_NULL: str_puts(b, "null"); break;
    case JSON_TRUE: str_puts(b, "true"); break;
    case JSON_FALSE: str_puts(b, "false"); break;
    case JSON_INTEGER:
    case JSON_REAL: js_number(b, v); break;
    case JSON_STRING: js_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY:
        str_puts(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) str_puts(b, ", ");
            js_tojson(b, json_array_get(v, i));
        }
        str_puts(b, "]");
        break;
    case JSON_OBJECT: {
        size_t n;
        const char **keys = js_keys(v, &n);
        str_puts(b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i) str_puts(b, ", ");
            js_string(b, keys[i], strlen(keys[i]));
            str_puts(b, ": ");
            js_tojson(b, json_object_get(v, keys[i]));
        }
        str_puts(b, "}");
        free(keys);
        break;
    }
    }
}

void harmony_tojson(json_t *v, char **buf, size_t *len) {
    Str b = {*buf, *len, *buf ? *len + 1 : 0};
    js_tojson(&b, v);
    *buf = b.s;
    *len = b.n;
}

/* The text `"..." + v` appends for v (null was refused before). */
static void js_concat(Str *b, json_t *v, int nested) {
    switch (json_typeof(v)) {
    case JSON_STRING: str_json(b, v); break;
    case JSON_OBJECT:
        if (nested) js_tojson(b, v); // an element's own toString
        else str_puts(b, "[object Map]");
        break;
    case JSON_ARRAY:
        if (nested) {
            js_tojson(b, v);
            break;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) str_puts(b, ",");
            js_concat(b, json_array_get(v, i), 1);
        }
        break;
    case JSON_NULL: str_puts(b, "undefined"); break; // an element: its value is JS undefined
    default: js_tojson(b, v); break; // numbers, true, false
    }
}

/* ------------------------------------------------------- prompt as text */

/* The prompt as the template's text, with the specials kept apart: special
 * k sits at byte at[k] of text. Tokenizing each stretch between specials as
 * one run is what a tokenizer does to the template's text. */
typedef struct {
    Str text;
    size_t *at;
    int32_t *id;
    int n, cap;
    int32_t start, message, end, channel, call; // the specials the template writes
} Doc;

static void doc_special(Doc *d, int32_t id) {
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 32;
        d->at = xrealloc(d->at, (size_t)d->cap * sizeof *d->at);
        d->id = xrealloc(d->id, (size_t)d->cap * sizeof *d->id);
    }
    d->at[d->n] = d->text.n;
    d->id[d->n++] = id;
}

static void doc_free(Doc *d) {
    free(d->text.s);
    free(d->at);
    free(d->id);
}

static int doc_ids(const Tokenizer *t, const Doc *d, int32_t **ids, int *n_ids, Err *err) {
    int32_t *out = NULL;
    int n = 0, cap = 0;
    size_t from = 0;
    for (int k = 0; k <= d->n; k++) {
        size_t to = k < d->n ? d->at[k] : d->text.n;
        int32_t *part = NULL;
        int np = 0;
        if (to > from && tokenizer_encode(t, d->text.s + from, to - from, &part, &np, err) != GETP_OK) {
            free(out);
            return GETP_ERR;
        }
        if (n + np + 1 > cap) {
            cap = 2 * (n + np + 1);
            out = xrealloc(out, (size_t)cap * sizeof *out);
        }
        if (np) memcpy(out + n, part, (size_t)np * sizeof *out);
        n += np;
        free(part);
        if (k < d->n) out[n++] = d->id[k];
        from = to;
    }
    *ids = out;
    *n_ids = n;
    return GETP_OK;
}

/* ------------------------------------------------- tools as TypeScript */

/* Paths in error messages: "tools[0].function.parameters.properties.x". */
typedef struct {
    char s[200];
} Path;

static Path path_sub(const Path *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static Path path_sub(const Path *p, const char *fmt, ...) {
    Path q = *p;
    size_t n = strlen(q.s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q.s + n, sizeof q.s - n, fmt, ap);
    va_end(ap);
    return q;
}

/* `spec.type == name` under JavaScript's loose equality: a one-element
 * array equals its element. */
static int type_is(json_t *type, const char *name) {
    if (json_is_array(type) && json_array_size(type) == 1) type = json_array_get(type, 0);
    return json_is_string(type) && strcmp(json_string_value(type), name) == 0;
}

/* UTF-16 code units of UTF-8 text (JavaScript's string length). */
static size_t utf16_len(const char *s, size_t n) {
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) u++;
        if (c >= 0xF0) u++;
    }
    return u;
}

/* A field the template prints after "// ": absent or false, or a string. */
static int optional_text(json_t *o, const char *key, const Path *p, json_t **out, Err *err) {
    json_t *v = json_object_get(o, key);
    *out = truthy(v) ? v : NULL;
    if (*out && !json_is_string(v)) return err_set(err, "%s.%s must be a string", p->s, key);
    return GETP_OK;
}

/* An array the template reads when it is not false (enum, oneOf, required). */
static int optional_array(json_t *o, const char *key, const Path *p, json_t **out, Err *err) {
    json_t *v = json_object_get(o, key);
    *out = truthy(v) ? v : NULL;
    if (*out && !json_is_array(v)) return err_set(err, "%s.%s must be an array", p->s, key);
    return GETP_OK;
}

static int in_required(json_t *required, const char *name) {
    for (size_t i = 0; required && i < json_array_size(required); i++) {
        json_t *r = json_array_get(required, i);
        if (json_is_string(r) && strcmp(json_string_value(r), name) == 0) return 1;
    }
    return 0;
}

static int ts_type(Str *b, json_t *spec, const Path *p, Err *err);

/* The template's macro render_typescript_type for arrays. */
static int ts_array(Str *b, json_t *spec, const Path *p, Err *err) {
    json_t *items = json_object_get(spec, "items");
    if (truthy(items)) {
        if (!json_is_object(items)) return err_set(err, "%s.items must be an object", p->s);
        json_t *it = json_object_get(items, "type");
        if (type_is(it, "string")) str_puts(b, "string[]");
        else if (type_is(it, "number") || type_is(it, "integer")) str_puts(b, "number[]");
        else if (type_is(it, "boolean")) str_puts(b, "boolean[]");
        else {
            Str inner = {0};
            Path q = path_sub(p, ".items");
            if (ts_type(&inner, items, &q, err) != GETP_OK) {
                free(inner.s);
                return GETP_ERR;
            }
            if ((inner.n == 15 && memcmp(inner.s, "object | object", 15) == 0) ||
                utf16_len(inner.s, inner.n) > 50)
                str_puts(b, "any[]");
            else {
                str_add(b, inner.s, inner.n);
                str_puts(b, "[]");
            }
            free(inner.s);
        }
    } else {
        str_puts(b, "any[]");
    }
    if (truthy(json_object_get(spec, "nullable"))) str_puts(b, " | null");
    return GETP_OK;
}

static int ts_one_of(Str *b, json_t *one_of, const Path *p, Err *err) {
    /* The template's has_object_variants flag is set inside its loop and so
     * never leaves it (Jinja scoping): every variant is written. */
    size_t n = json_array_size(one_of);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(one_of, i), *desc;
        Path q = path_sub(p, ".oneOf[%zu]", i);
        if (!json_is_object(v)) return err_set(err, "%s must be an object", q.s);
        if (ts_type(b, v, &q, err) != GETP_OK) return GETP_ERR;
        if (optional_text(v, "description", &q, &desc, err) != GETP_OK) return GETP_ERR;
        if (desc) {
            str_puts(b, "// ");
            str_json(b, desc);
        }
        json_t *def = json_object_get(v, "default");
        if (def) {
            str_puts(b, "                    // default: ");
            js_tojson(b, def);
        }
        if (i + 1 < n) str_puts(b, " | \n");
    }
    return GETP_OK;
}

static int ts_object(Str *b, json_t *spec, const Path *p, Err *err) {
    json_t *props = json_object_get(spec, "properties"), *required;
    if (!truthy(props)) {
        str_puts(b, "object");
        return GETP_OK;
    }
    if (!json_is_object(props)) return err_set(err, "%s.properties must be an object", p->s);
    if (optional_array(spec, "required", p, &required, err) != GETP_OK) return GETP_ERR;
    size_t n;
    const char **keys = js_keys(props, &n);
    str_puts(b, "{\n");
    int rc = GETP_OK;
    for (size_t i = 0; i < n && rc == GETP_OK; i++) {
        json_t *prop = json_object_get(props, keys[i]);
        Path q = path_sub(p, ".properties.%s", keys[i]);
        if (!json_is_object(prop)) {
            rc = err_set(err, "%s must be an object", q.s);
            break;
        }
        str_puts(b, keys[i]);
        if (!in_required(required, keys[i])) str_puts(b, "?");
        str_puts(b, ": \n                ");
        rc = ts_type(b, prop, &q, err);
        if (i + 1 < n) str_puts(b, ", ");
    }
    free(keys);
    if (rc == GETP_OK) str_puts(b, "}");
    return rc;
}

/* The template's macro render_typescript_type: the TypeScript text of a
 * JSON Schema, branch for branch in the template's order. */
static int ts_type(Str *b, json_t *spec, const Path *p, Err *err) {
    json_t *type = json_object_get(spec, "type"), *one_of, *en;
    if (type && !json_is_null(type) && !json_is_string(type)) {
        int ok = json_is_array(type);
        for (size_t i = 0; ok && i < json_array_size(type); i++) ok = json_is_string(json_array_get(type, i));
        if (!ok) return err_set(err, "%s.type must be a string or an array of strings", p->s);
    }
    if (type_is(type, "array")) return ts_array(b, spec, p, err);
    if (json_is_array(type) && json_array_size(type) > 0) { // ["string", "null"]
        for (size_t i = 0; i < json_array_size(type); i++) {
            if (i) str_puts(b, " | ");
            str_json(b, json_array_get(type, i));
        }
        return GETP_OK;
    }
    if (optional_array(spec, "oneOf", p, &one_of, err) != GETP_OK) return GETP_ERR;
    if (one_of) return ts_one_of(b, one_of, p, err);
    if (type_is(type, "string")) {
        if (optional_array(spec, "enum", p, &en, err) != GETP_OK) return GETP_ERR;
        if (en) { // '"' + enum|join('" | "') + '"'
            str_puts(b, "\"");
            for (size_t i = 0; i < json_array_size(en); i++) {
                json_t *e = json_array_get(en, i);
                if (i) str_puts(b, "\" | \"");
                if (json_is_array(e) || json_is_object(e))
                    return err_set(err, "%s.enum[%zu] must be a string, number, boolean or null", p->s, i);
                if (!json_is_null(e)) js_concat(b, e, 0); // join writes null as ""
            }
            str_puts(b, "\"");
        } else {
            str_puts(b, "string");
            if (truthy(json_object_get(spec, "nullable"))) str_puts(b, " | null");
        }
    } else if (type_is(type, "number") || type_is(type, "integer")) {
        str_puts(b, "number");
    } else if (type_is(type, "boolean")) {
        str_puts(b, "boolean");
    } else if (type_is(type, "object")) {
        return ts_object(b, spec, p, err);
    } else {
        str_puts(b, "any");
    }
    return GETP_OK;
}

/* A tool or function name: 1-64 of A-Z a-z 0-9 _ - . (OpenAI's rule, plus the dot). */
static int name_valid(json_t *v) {
    if (!json_is_string(v)) return 0;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* One parameter line of a tool: description, name, type, default. */
static int ts_param(Str *b, const char *name, json_t *spec, json_t *required, const Path *p, Err *err) {
    json_t *desc, *en, *one_of;
    if (!json_is_object(spec)) return err_set(err, "%s must be an object", p->s);
    if (optional_text(spec, "description", p, &desc, err) != GETP_OK) return GETP_ERR;
    if (desc) {
        str_puts(b, "// ");
        str_json(b, desc);
        str_puts(b, "\n");
    }
    str_puts(b, name);
    if (!in_required(required, name)) str_puts(b, "?");
    str_puts(b, ": ");
    if (ts_type(b, spec, p, err) != GETP_OK) return GETP_ERR;
    json_t *def = json_object_get(spec, "default");
    if (def) {
        if (optional_array(spec, "enum", p, &en, err) != GETP_OK) return GETP_ERR;
        one_of = json_object_get(spec, "oneOf");
        if ((en || truthy(one_of)) && json_is_null(def))
            return err_set(err, "%s.default must not be null here (the template cannot write it)", p->s);
        if (en) {
            str_puts(b, ", // default: ");
            js_concat(b, def, 0);
        } else if (truthy(one_of)) {
            str_puts(b, "// default: ");
            js_concat(b, def, 0);
        } else {
            str_puts(b, ", // default: ");
            js_tojson(b, def);
        }
    }
    str_puts(b, ",\n");
    return GETP_OK;
}

/* The template's macro render_tool_namespace("functions", tools). */
static int ts_namespace(Str *b, json_t *tools, Err *err) {
    str_puts(b, "## functions\n\nnamespace functions {\n\n");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        json_t *tool = json_array_get(tools, i), *fn = json_object_get(tool, "function");
        Path p = {{0}};
        snprintf(p.s, sizeof p.s, "tools[%zu].function", i);
        json_t *name = json_object_get(fn, "name"), *desc = json_object_get(fn, "description");
        json_t *params = json_object_get(fn, "parameters"), *props = NULL, *required = NULL;
        str_puts(b, "// ");
        str_json(b, desc);
        str_puts(b, "\ntype ");
        str_json(b, name);
        str_puts(b, " = ");
        if (truthy(params)) props = json_object_get(params, "properties");
        if (!truthy(props)) {
            str_puts(b, "() => any;\n\n");
            continue;
        }
        Path pp = path_sub(&p, ".parameters");
        if (!json_is_object(props)) return err_set(err, "%s.properties must be an object", pp.s);
        if (optional_array(params, "required", &pp, &required, err) != GETP_OK) return GETP_ERR;
        str_puts(b, "(_: {\n");
        size_t n;
        const char **keys = js_keys(props, &n);
        for (size_t k = 0; k < n; k++) {
            Path q = path_sub(&pp, ".properties.%s", keys[k]);
            if (ts_param(b, keys[k], json_object_get(props, keys[k]), required, &q, err) != GETP_OK) {
                free(keys);
                return GETP_ERR;
            }
        }
        free(keys);
        str_puts(b, "}) => any;\n\n");
    }
    str_puts(b, "} // namespace functions");
    return GETP_OK;
}

/* tools: OpenAI function definitions, checked before anything is written. */
static int check_tools(json_t *tools, Err *err) {
    if (!json_is_array(tools)) return err_set(err, "\"tools\" must be an array");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        json_t *tool = json_array_get(tools, i), *type = json_object_get(tool, "type");
        json_t *fn = json_object_get(tool, "function");
        if (!json_is_object(tool)) return err_set(err, "tools[%zu] must be an object", i);
        if (!json_is_string(type) || strcmp(json_string_value(type), "function") != 0)
            return err_set(err, "tools[%zu].type must be \"function\" (no other tool type is supported)", i);
        if (!json_is_object(fn)) return err_set(err, "tools[%zu].function must be an object", i);
        if (!name_valid(json_object_get(fn, "name")))
            return err_set(err, "tools[%zu].function.name must be 1 to 64 of a-z A-Z 0-9 _ - .", i);
        if (!json_is_string(json_object_get(fn, "description")))
            return err_set(err, "tools[%zu].function.description must be a string (the chat template writes "
                                "it; \"\" is allowed)", i);
        json_t *params = json_object_get(fn, "parameters");
        if (params && !json_is_null(params) && !json_is_object(params))
            return err_set(err, "tools[%zu].function.parameters must be an object", i);
    }
    return GETP_OK;
}

/* ------------------------------------------------------------- messages */

typedef struct {
    const char *role;
    Str content;      // text of "content" (text parts joined)
    int has_content;  // content given (not absent, not null)
    json_t *content_obj; // a tool message's object content (written with tojson)
    Str thinking;     // "thinking" (or "reasoning_content" / "reasoning")
    int has_thinking;
    json_t *call;     // the first tool call's function object; NULL: no tool_calls
} ChatMsg;

/* A member that is absent or JSON null counts as absent. */
static json_t *member(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

/* A string, or an array of {"type": "text", "text"} parts (joined). */
static int text_value(json_t *v, int i, const char *key, Str *out, Err *err) {
    if (json_is_string(v)) {
        str_json(out, v);
        return GETP_OK;
    }
    if (!json_is_array(v)) return err_set(err, "messages[%d].%s must be a string or an array of text parts", i, key);
    str_add(out, "", 0);
    for (size_t k = 0; k < json_array_size(v); k++) {
        json_t *part = json_array_get(v, k), *ty = json_object_get(part, "type"), *tx = json_object_get(part, "text");
        if (!json_is_string(ty) || strcmp(json_string_value(ty), "text") != 0 || !json_is_string(tx))
            return err_set(err, "messages[%d].%s[%zu] must be {\"type\": \"text\", \"text\": string}", i, key, k);
        str_json(out, tx);
    }
    return GETP_OK;
}

/* The text of a special token inside s, if any (its name in *tag). */
static int has_special_text(const Tokenizer *t, const Str *s, char tag[64]) {
    for (size_t i = 0; i + 1 < s->n; i++) {
        if (s->s[i] != '<' || s->s[i + 1] != '|') continue;
        for (size_t j = i + 2; j + 1 < s->n && j - i < 60; j++) {
            if (s->s[j] != '|' || s->s[j + 1] != '>') continue;
            memcpy(tag, s->s + i, j + 2 - i);
            tag[j + 2 - i] = '\0';
            if (tokenizer_special_id(t, tag) >= 0) return 1;
            break;
        }
    }
    return 0;
}

static int read_message(const Tokenizer *t, json_t *m, int i, ChatMsg *c, Err *err) {
    if (!json_is_object(m)) return err_set(err, "messages[%d] must be an object", i);
    json_t *role = json_object_get(m, "role"), *v;
    if (!json_is_string(role)) return err_set(err, "messages[%d].role must be a string", i);
    c->role = json_string_value(role);
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    int known = 0;
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) known |= strcmp(c->role, roles[k]) == 0;
    if (!known)
        return err_set(err, "messages[%d].role \"%.40s\" is not system, developer, user, assistant or tool", i,
                       c->role);
    if ((v = member(m, "content"))) {
        c->has_content = 1;
        if (json_is_object(v) && strcmp(c->role, "tool") == 0) c->content_obj = v;
        else if (text_value(v, i, "content", &c->content, err) != GETP_OK) return GETP_ERR;
    }
    if (strcmp(c->role, "assistant") != 0) return GETP_OK;
    static const char *const thinking[] = {"thinking", "reasoning_content", "reasoning"};
    const char *given = NULL;
    for (size_t k = 0; k < 3; k++) {
        if (!(v = member(m, thinking[k]))) continue;
        if (given) return err_set(err, "messages[%d] has both \"%s\" and \"%s\"; give one", i, given, thinking[k]);
        given = thinking[k];
        c->has_thinking = 1;
        if (text_value(v, i, thinking[k], &c->thinking, err) != GETP_OK) return GETP_ERR;
    }
    char tag[64];
    if (has_special_text(t, &c->content, tag) || (given && has_special_text(t, &c->thinking, tag)))
        return err_set(err, "messages[%d] (assistant) carries the harmony tag %s in its text: give the analysis "
                            "text in \"thinking\" and the final text in \"content\", without tags", i, tag);
    if ((v = member(m, "tool_calls"))) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return err_set(err, "messages[%d].tool_calls must be a non-empty array", i);
        json_t *tc = json_array_get(v, 0), *fn;
        if (!json_is_object(tc)) return err_set(err, "messages[%d].tool_calls[0] must be an object", i);
        fn = member(tc, "function");
        if (truthy(fn) && !json_is_object(fn))
            return err_set(err, "messages[%d].tool_calls[0].function must be an object", i);
        c->call = truthy(fn) ? fn : tc;
        if (!name_valid(member(c->call, "name")))
            return err_set(err, "messages[%d].tool_calls[0].function.name must be 1 to 64 of a-z A-Z 0-9 _ - .", i);
        if ((v = member(c->call, "content_type")) && !json_is_string(v))
            return err_set(err, "messages[%d].tool_calls[0].function.content_type must be a string", i);
    }
    return GETP_OK;
}

/* `arguments|tojson`; arguments given as JSON text (OpenAI's form) are read first. */
static int call_arguments(Str *b, json_t *call, int i, Err *err) {
    json_t *args = member(call, "arguments");
    if (!args) {
        str_puts(b, "null");
        return GETP_OK;
    }
    if (!json_is_string(args)) {
        js_tojson(b, args);
        return GETP_OK;
    }
    json_error_t je;
    /* every JSON number is a double in the template's renderer */
    json_t *parsed = json_loadb(json_string_value(args), json_string_length(args),
                                JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (!parsed)
        return err_set(err, "messages[%d].tool_calls[0].function.arguments is not valid JSON: %s", i, je.text);
    js_tojson(b, parsed);
    json_decref(parsed);
    return GETP_OK;
}

static void open_message(Doc *d, const char *header, const char *channel) {
    doc_special(d, d->start);
    str_puts(&d->text, header);
    if (channel) {
        doc_special(d, d->channel);
        str_puts(&d->text, channel);
    }
    doc_special(d, d->message);
}

/* The loop over messages[first..n) of the template. */
static int render_messages(Doc *d, ChatMsg *m, int first, int n, Err *err) {
    const char *last_call = NULL; // the template's last_tool_call.name
    for (int i = first; i < n; i++) {
        ChatMsg *c = &m[i];
        if (!strcmp(c->role, "system") || !strcmp(c->role, "developer"))
            return err_set(err, "messages[%d]: a %s message is only allowed first (the chat template would drop "
                                "it)", i, c->role);
        if (!strcmp(c->role, "user")) {
            if (!c->has_content) return err_set(err, "messages[%d].content is missing", i);
            open_message(d, "user", NULL);
            str_add(&d->text, c->content.s, c->content.n);
            doc_special(d, d->end);
        } else if (!strcmp(c->role, "tool")) {
            if (!last_call)
                return err_set(err, "messages[%d]: a tool message with no assistant tool call before it", i);
            doc_special(d, d->start);
            str_puts(&d->text, "functions.");
            str_puts(&d->text, last_call);
            str_puts(&d->text, " to=assistant");
            doc_special(d, d->channel);
            str_puts(&d->text, "commentary");
            doc_special(d, d->message);
            if (c->content_obj) js_tojson(&d->text, c->content_obj);
            else if (c->has_content) js_string(&d->text, c->content.s, c->content.n);
            else str_puts(&d->text, "null");
            doc_special(d, d->end);
        } else if (c->call) {
            /* the analysis before a tool call stays unless a final answer follows */
            int future_final = 0;
            for (int j = i + 1; j < n; j++) future_final |= !strcmp(m[j].role, "assistant") && !m[j].call;
            int content = c->content.n > 0, thinking = c->thinking.n > 0;
            if (content && thinking)
                return err_set(err, "messages[%d] has tool_calls and both content and thinking (the chat template "
                                    "refuses it: give the analysis in one of them)", i);
            if ((content || thinking) && !future_final) {
                open_message(d, "assistant", "analysis");
                const Str *s = content ? &c->content : &c->thinking;
                str_add(&d->text, s->s, s->n);
                doc_special(d, d->end);
            }
            json_t *name = member(c->call, "name"), *ctype = member(c->call, "content_type");
            doc_special(d, d->start);
            str_puts(&d->text, "assistant to=functions.");
            str_json(&d->text, name);
            doc_special(d, d->channel);
            str_puts(&d->text, "commentary ");
            if (ctype) str_json(&d->text, ctype);
            else str_puts(&d->text, "json");
            doc_special(d, d->message);
            if (call_arguments(&d->text, c->call, i, err) != GETP_OK) return GETP_ERR;
            doc_special(d, d->call);
            last_call = json_string_value(name);
        } else {
            if (!c->has_content)
                return err_set(err, "messages[%d] (assistant) needs \"content\" or \"tool_calls\"", i);
            open_message(d, "assistant", "final");
            str_add(&d->text, c->content.s, c->content.n);
            doc_special(d, d->end);
            last_call = NULL;
        }
    }
    return GETP_OK;
}

/* ------------------------------------------------------------ the request */

int harmony_effort_valid(const char *s) {
    return s && (!strcmp(s, "low") || !strcmp(s, "medium") || !strcmp(s, "high"));
}

int harmony_date_valid(const char *s) {
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
    if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1]) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(mo == 2 && d == 29 && !leap);
}

void harmony_today(char out[11]) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The request's own options over the defaults; *tools NULL when none are rendered. */
static int read_options(json_t *req, const HarmonyChatDefaults *d, const char **effort, json_t **identity,
                        json_t **tools, Err *err) {
    json_t *v;
    *effort = d->reasoning_effort ? d->reasoning_effort : "medium";
    if ((v = member(req, "reasoning_effort"))) {
        if (!json_is_string(v) || !harmony_effort_valid(json_string_value(v)))
            return err_set(err, "unknown reasoning_effort %s%.20s%s (use \"low\", \"medium\" or \"high\")",
                           json_is_string(v) ? "\"" : "", json_is_string(v) ? json_string_value(v) : "(not a string)",
                           json_is_string(v) ? "\"" : "");
        *effort = json_string_value(v);
    }
    if ((*identity = member(req, "model_identity")) && !json_is_string(*identity))
        return err_set(err, "\"model_identity\" must be a string");
    if (member(req, "builtin_tools"))
        return err_set(err, "\"builtin_tools\" (browser, python) are not supported; give function tools in \"tools\"");
    *tools = member(req, "tools");
    if (*tools && check_tools(*tools, err) != GETP_OK) return GETP_ERR;
    if ((v = member(req, "tool_choice"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (s && !strcmp(s, "none")) *tools = NULL;
        else if (s && !strcmp(s, "required"))
            return err_set(err, "tool_choice \"required\" is not supported (use \"auto\" or \"none\")");
        else if (!s)
            return err_set(err, "a named tool_choice is not supported (use \"auto\" or \"none\")");
        else if (strcmp(s, "auto") != 0)
            return err_set(err, "unknown tool_choice \"%.40s\" (use \"auto\" or \"none\")", s);
    }
    if (*tools && json_array_size(*tools) == 0) *tools = NULL; // the template's `if tools`
    return GETP_OK;
}

static int render(const Tokenizer *t, Doc *d, json_t *req, const HarmonyChatDefaults *dflt, ChatMsg *m, int n,
                  Err *err) {
    const char *effort = NULL;
    json_t *identity = NULL, *tools = NULL;
    if (read_options(req, dflt, &effort, &identity, &tools, err) != GETP_OK) return GETP_ERR;
    json_t *msgs = json_object_get(req, "messages");
    for (int i = 0; i < n; i++)
        if (read_message(t, json_array_get(msgs, (size_t)i), i, &m[i], err) != GETP_OK) return GETP_ERR;
    /* the system message */
    open_message(d, "system", NULL);
    if (identity) str_json(&d->text, identity);
    else str_puts(&d->text, "You are ChatGPT, a large language model trained by OpenAI.");
    str_puts(&d->text, "\nKnowledge cutoff: 2024-06\nCurrent date: ");
    str_puts(&d->text, dflt->date);
    str_puts(&d->text, "\n\nReasoning: ");
    str_puts(&d->text, effort);
    str_puts(&d->text, "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.");
    if (tools) str_puts(&d->text, "\nCalls to these tools must go to the commentary channel: 'functions'.");
    doc_special(d, d->end);
    /* the developer message: instructions from a first system/developer message, and the tools */
    int first = !strcmp(m[0].role, "system") || !strcmp(m[0].role, "developer");
    const Str *instr = first && m[0].content.n > 0 ? &m[0].content : NULL;
    if (instr || tools) {
        open_message(d, "developer", NULL);
        if (instr) {
            str_puts(&d->text, "# Instructions\n\n");
            str_add(&d->text, instr->s, instr->n);
            str_puts(&d->text, "\n\n");
        }
        if (tools) {
            str_puts(&d->text, "# Tools\n\n");
            if (ts_namespace(&d->text, tools, err) != GETP_OK) return GETP_ERR;
        }
        doc_special(d, d->end);
    }
    if (render_messages(d, m, first, n, err) != GETP_OK) return GETP_ERR;
    doc_special(d, d->start);
    str_puts(&d->text, "assistant");
    return GETP_OK;
}

int harmony_render_chat(const Tokenizer *t, json_t *req, const HarmonyChatDefaults *dflt, int32_t **ids,
                        int *n_ids, Err *err) {
    *ids = NULL;
    *n_ids = 0;
    json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs)) return err_set(err, "\"messages\" must be an array");
    int n = (int)json_array_size(msgs);
    if (n == 0) return err_set(err, "\"messages\" is empty");
    if (!dflt->date || !harmony_date_valid(dflt->date))
        return err_set(err, "the current date \"%s\" is not YYYY-MM-DD", dflt->date ? dflt->date : "(none)");
    Doc d = {0};
    d.start = tokenizer_special_id(t, "<|start|>");
    d.message = tokenizer_special_id(t, "<|message|>");
    d.end = tokenizer_special_id(t, "<|end|>");
    d.channel = tokenizer_special_id(t, "<|channel|>");
    d.call = tokenizer_special_id(t, "<|call|>");
    if (d.start < 0 || d.message < 0 || d.end < 0 || d.channel < 0 || d.call < 0)
        return err_set(err, "the tokenizer has no harmony special tokens (not o200k_harmony?)");
    ChatMsg *m = xcalloc((size_t)n, sizeof *m);
    int rc = render(t, &d, req, dflt, m, n, err);
    if (rc == GETP_OK && dflt->max_text_bytes > 0 && d.text.n > dflt->max_text_bytes)
        rc = err_set(err, "the chat renders to %zu bytes of text, more than the step limit can take", d.text.n);
    if (rc == GETP_OK) rc = doc_ids(t, &d, ids, n_ids, err);
    for (int i = 0; i < n; i++) {
        free(m[i].content.s);
        free(m[i].thinking.s);
    }
    free(m);
    doc_free(&d);
    return rc;
}
