/* jinja_values.c: JSON values written as the gpt-oss chat template's
 * reference renderer writes them (jinja_values.h).
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
 */
#include "jinja_values.h"

void text_add(TextBuf *b, const char *p, size_t n) {
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

void text_puts(TextBuf *b, const char *p) { text_add(b, p, strlen(p)); }

void text_json(TextBuf *b, json_t *s) { text_add(b, json_string_value(s), json_string_length(s)); }

/* Python truthiness, as the template tests `{% if x %}`. Absent = NULL = false. */
int jinja_truthy(json_t *v) {
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
static void js_double(TextBuf *b, double x) {
    if (x == 0.0) { // 0 and -0 alike
        text_puts(b, "0");
        return;
    }
    if (x < 0) {
        text_puts(b, "-");
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
    text_add(b, out, (size_t)o);
}

static void js_number(TextBuf *b, json_t *v) {
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i > -((json_int_t)1 << 53) && i < ((json_int_t)1 << 53)) {
            char buf[32];
            text_add(b, buf, (size_t)snprintf(buf, sizeof buf, "%lld", (long long)i));
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
const char **jinja_keys(json_t *obj, size_t *n) {
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

void jinja_string(TextBuf *b, const char *s, size_t n) {
    text_puts(b, "\"");
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
        text_add(b, s + run, i - run);
        text_puts(b, esc);
        run = i + 1;
    }
    text_add(b, s + run, n - run);
    text_puts(b, "\"");
}

/* `v|tojson`. */
void jinja_tojson(TextBuf *b, json_t *v) {
    switch (json_typeof(v)) {
    case JSON_NULL: text_puts(b, "null"); break;
    case JSON_TRUE: text_puts(b, "true"); break;
    case JSON_FALSE: text_puts(b, "false"); break;
    case JSON_INTEGER:
    case JSON_REAL: js_number(b, v); break;
    case JSON_STRING: jinja_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY:
        text_puts(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) text_puts(b, ", ");
            jinja_tojson(b, json_array_get(v, i));
        }
        text_puts(b, "]");
        break;
    case JSON_OBJECT: {
        size_t n;
        const char **keys = jinja_keys(v, &n);
        text_puts(b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i) text_puts(b, ", ");
            jinja_string(b, keys[i], strlen(keys[i]));
            text_puts(b, ": ");
            jinja_tojson(b, json_object_get(v, keys[i]));
        }
        text_puts(b, "}");
        free(keys);
        break;
    }
    }
}

/* v as a term of `"..." + v`; nested: v is an element of such an array. */
static void concat(TextBuf *b, json_t *v, int nested) {
    switch (json_typeof(v)) {
    case JSON_STRING: text_json(b, v); break;
    case JSON_OBJECT:
        if (nested) jinja_tojson(b, v); // an element's own toString
        else text_puts(b, "[object Map]");
        break;
    case JSON_ARRAY:
        if (nested) {
            jinja_tojson(b, v);
            break;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) text_puts(b, ",");
            concat(b, json_array_get(v, i), 1);
        }
        break;
    case JSON_NULL: text_puts(b, "undefined"); break; // an element: its value is JS undefined
    default: jinja_tojson(b, v); break; // numbers, true, false
    }
}

void jinja_concat(TextBuf *b, json_t *v) { concat(b, v, 0); }
