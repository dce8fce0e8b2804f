/* harmony_tools.c: function tools as the gpt-oss chat template writes them
 * (harmony_tools.h): its macros render_tool_namespace and
 * render_typescript_type, branch for branch in the template's order. The
 * whitespace the template leaves in nested types ("x: \n" and 16 spaces
 * before a nested property's type; 20 spaces before a oneOf variant's
 * default) is part of the prompt the model was served and is reproduced.
 * Where the template reads a field of the wrong JSON type, the tool is
 * refused with the field's path ("tools[0].function.parameters...").
 */
#include "harmony_tools.h"

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
    *out = jinja_truthy(v) ? v : NULL;
    if (*out && !json_is_string(v)) return err_set(err, "%s.%s must be a string", p->s, key);
    return GETP_OK;
}

/* An array the template reads when it is not false (enum, oneOf, required). */
static int optional_array(json_t *o, const char *key, const Path *p, json_t **out, Err *err) {
    json_t *v = json_object_get(o, key);
    *out = jinja_truthy(v) ? v : NULL;
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

static int ts_type(TextBuf *b, json_t *spec, const Path *p, Err *err);

/* The template's macro render_typescript_type for arrays. */
static int ts_array(TextBuf *b, json_t *spec, const Path *p, Err *err) {
    json_t *items = json_object_get(spec, "items");
    if (jinja_truthy(items)) {
        if (!json_is_object(items)) return err_set(err, "%s.items must be an object", p->s);
        json_t *it = json_object_get(items, "type");
        if (type_is(it, "string")) text_puts(b, "string[]");
        else if (type_is(it, "number") || type_is(it, "integer")) text_puts(b, "number[]");
        else if (type_is(it, "boolean")) text_puts(b, "boolean[]");
        else {
            TextBuf inner = {0};
            Path q = path_sub(p, ".items");
            if (ts_type(&inner, items, &q, err) != GETP_OK) {
                free(inner.s);
                return GETP_ERR;
            }
            if ((inner.n == 15 && memcmp(inner.s, "object | object", 15) == 0) ||
                utf16_len(inner.s, inner.n) > 50)
                text_puts(b, "any[]");
            else {
                text_add(b, inner.s, inner.n);
                text_puts(b, "[]");
            }
            free(inner.s);
        }
    } else {
        text_puts(b, "any[]");
    }
    if (jinja_truthy(json_object_get(spec, "nullable"))) text_puts(b, " | null");
    return GETP_OK;
}

static int ts_one_of(TextBuf *b, json_t *one_of, const Path *p, Err *err) {
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
            text_puts(b, "// ");
            text_json(b, desc);
        }
        json_t *def = json_object_get(v, "default");
        if (def) {
            text_puts(b, "                    // default: ");
            jinja_tojson(b, def);
        }
        if (i + 1 < n) text_puts(b, " | \n");
    }
    return GETP_OK;
}

static int ts_object(TextBuf *b, json_t *spec, const Path *p, Err *err) {
    json_t *props = json_object_get(spec, "properties"), *required;
    if (!jinja_truthy(props)) {
        text_puts(b, "object");
        return GETP_OK;
    }
    if (!json_is_object(props)) return err_set(err, "%s.properties must be an object", p->s);
    if (optional_array(spec, "required", p, &required, err) != GETP_OK) return GETP_ERR;
    size_t n;
    const char **keys = jinja_keys(props, &n);
    text_puts(b, "{\n");
    int rc = GETP_OK;
    for (size_t i = 0; i < n && rc == GETP_OK; i++) {
        json_t *prop = json_object_get(props, keys[i]);
        Path q = path_sub(p, ".properties.%s", keys[i]);
        if (!json_is_object(prop)) {
            rc = err_set(err, "%s must be an object", q.s);
            break;
        }
        text_puts(b, keys[i]);
        if (!in_required(required, keys[i])) text_puts(b, "?");
        text_puts(b, ": \n                ");
        rc = ts_type(b, prop, &q, err);
        if (i + 1 < n) text_puts(b, ", ");
    }
    free(keys);
    if (rc == GETP_OK) text_puts(b, "}");
    return rc;
}

/* The template's macro render_typescript_type: the TypeScript text of a
 * JSON Schema, branch for branch in the template's order. */
static int ts_type(TextBuf *b, json_t *spec, const Path *p, Err *err) {
    json_t *type = json_object_get(spec, "type"), *one_of, *en;
    if (type && !json_is_null(type) && !json_is_string(type)) {
        int ok = json_is_array(type);
        for (size_t i = 0; ok && i < json_array_size(type); i++) ok = json_is_string(json_array_get(type, i));
        if (!ok) return err_set(err, "%s.type must be a string or an array of strings", p->s);
    }
    if (type_is(type, "array")) return ts_array(b, spec, p, err);
    if (json_is_array(type) && json_array_size(type) > 0) { // ["string", "null"]
        for (size_t i = 0; i < json_array_size(type); i++) {
            if (i) text_puts(b, " | ");
            text_json(b, json_array_get(type, i));
        }
        return GETP_OK;
    }
    if (optional_array(spec, "oneOf", p, &one_of, err) != GETP_OK) return GETP_ERR;
    if (one_of) return ts_one_of(b, one_of, p, err);
    if (type_is(type, "string")) {
        if (optional_array(spec, "enum", p, &en, err) != GETP_OK) return GETP_ERR;
        if (en) { // '"' + enum|join('" | "') + '"'
            text_puts(b, "\"");
            for (size_t i = 0; i < json_array_size(en); i++) {
                json_t *e = json_array_get(en, i);
                if (i) text_puts(b, "\" | \"");
                if (json_is_array(e) || json_is_object(e))
                    return err_set(err, "%s.enum[%zu] must be a string, number, boolean or null", p->s, i);
                if (!json_is_null(e)) jinja_concat(b, e); // join writes null as ""
            }
            text_puts(b, "\"");
        } else {
            text_puts(b, "string");
            if (jinja_truthy(json_object_get(spec, "nullable"))) text_puts(b, " | null");
        }
    } else if (type_is(type, "number") || type_is(type, "integer")) {
        text_puts(b, "number");
    } else if (type_is(type, "boolean")) {
        text_puts(b, "boolean");
    } else if (type_is(type, "object")) {
        return ts_object(b, spec, p, err);
    } else {
        text_puts(b, "any");
    }
    return GETP_OK;
}

/* A tool or function name: 1-64 of A-Z a-z 0-9 _ - . (OpenAI's rule, plus the dot). */
int harmony_name_valid(json_t *v) {
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
static int ts_param(TextBuf *b, const char *name, json_t *spec, json_t *required, const Path *p, Err *err) {
    json_t *desc, *en, *one_of;
    if (!json_is_object(spec)) return err_set(err, "%s must be an object", p->s);
    if (optional_text(spec, "description", p, &desc, err) != GETP_OK) return GETP_ERR;
    if (desc) {
        text_puts(b, "// ");
        text_json(b, desc);
        text_puts(b, "\n");
    }
    text_puts(b, name);
    if (!in_required(required, name)) text_puts(b, "?");
    text_puts(b, ": ");
    if (ts_type(b, spec, p, err) != GETP_OK) return GETP_ERR;
    json_t *def = json_object_get(spec, "default");
    if (def) {
        if (optional_array(spec, "enum", p, &en, err) != GETP_OK) return GETP_ERR;
        one_of = json_object_get(spec, "oneOf");
        if ((en || jinja_truthy(one_of)) && json_is_null(def))
            return err_set(err, "%s.default must not be null here (the template cannot write it)", p->s);
        if (en) {
            text_puts(b, ", // default: ");
            jinja_concat(b, def);
        } else if (jinja_truthy(one_of)) {
            text_puts(b, "// default: ");
            jinja_concat(b, def);
        } else {
            text_puts(b, ", // default: ");
            jinja_tojson(b, def);
        }
    }
    text_puts(b, ",\n");
    return GETP_OK;
}

/* The template's macro render_tool_namespace("functions", tools). */
int harmony_tools_render(TextBuf *b, json_t *tools, Err *err) {
    text_puts(b, "## functions\n\nnamespace functions {\n\n");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        json_t *tool = json_array_get(tools, i), *fn = json_object_get(tool, "function");
        Path p = {{0}};
        snprintf(p.s, sizeof p.s, "tools[%zu].function", i);
        json_t *name = json_object_get(fn, "name"), *desc = json_object_get(fn, "description");
        json_t *params = json_object_get(fn, "parameters"), *props = NULL, *required = NULL;
        text_puts(b, "// ");
        text_json(b, desc);
        text_puts(b, "\ntype ");
        text_json(b, name);
        text_puts(b, " = ");
        if (jinja_truthy(params)) props = json_object_get(params, "properties");
        if (!jinja_truthy(props)) {
            text_puts(b, "() => any;\n\n");
            continue;
        }
        Path pp = path_sub(&p, ".parameters");
        if (!json_is_object(props)) return err_set(err, "%s.properties must be an object", pp.s);
        if (optional_array(params, "required", &pp, &required, err) != GETP_OK) return GETP_ERR;
        text_puts(b, "(_: {\n");
        size_t n;
        const char **keys = jinja_keys(props, &n);
        for (size_t k = 0; k < n; k++) {
            Path q = path_sub(&pp, ".properties.%s", keys[k]);
            if (ts_param(b, keys[k], json_object_get(props, keys[k]), required, &q, err) != GETP_OK) {
                free(keys);
                return GETP_ERR;
            }
        }
        free(keys);
        text_puts(b, "}) => any;\n\n");
    }
    text_puts(b, "} // namespace functions");
    return GETP_OK;
}

/* tools: OpenAI function definitions, checked before anything is written. */
int harmony_tools_check(json_t *tools, Err *err) {
    if (!json_is_array(tools)) return err_set(err, "\"tools\" must be an array");
    for (size_t i = 0; i < json_array_size(tools); i++) {
        json_t *tool = json_array_get(tools, i), *type = json_object_get(tool, "type");
        json_t *fn = json_object_get(tool, "function");
        if (!json_is_object(tool)) return err_set(err, "tools[%zu] must be an object", i);
        if (!json_is_string(type) || strcmp(json_string_value(type), "function") != 0)
            return err_set(err, "tools[%zu].type must be \"function\" (no other tool type is supported)", i);
        if (!json_is_object(fn)) return err_set(err, "tools[%zu].function must be an object", i);
        if (!harmony_name_valid(json_object_get(fn, "name")))
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

