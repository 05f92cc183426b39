/* A small recursive-descent JSON reader for the test manifests. */
#include "mini_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t pos;
    char *err;
    size_t err_size;
    int failed;
} parser;

static void fail(parser *p, const char *what)
{
    if (!p->failed) snprintf(p->err, p->err_size, "JSON offset %zu: %s", p->pos, what);
    p->failed = 1;
}

static void skip_ws(parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r' || p->s[p->pos] == '\t') p->pos++;
}

static json *new_value(json_kind kind)
{
    json *v = calloc(1, sizeof *v);
    if (v) v->kind = kind;
    return v;
}

static char *parse_string_raw(parser *p)
{
    if (p->s[p->pos] != '"') {
        fail(p, "expected '\"'");
        return NULL;
    }
    p->pos++;
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    while (out && p->s[p->pos] && p->s[p->pos] != '"') {
        char c = p->s[p->pos++];
        if (c == '\\') {
            char e = p->s[p->pos++];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
            if (e == 'u') { /* keep \uXXXX as '?' (not used by the manifests) */
                p->pos += 4;
                c = '?';
            }
        }
        if (len + 2 > cap) {
            cap *= 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                out = NULL;
                break;
            }
            out = grown;
        }
        out[len++] = c;
    }
    if (!out || p->s[p->pos] != '"') {
        free(out);
        fail(p, "unterminated string");
        return NULL;
    }
    p->pos++;
    out[len] = 0;
    return out;
}

static json *parse_value(parser *p, int depth);

static int append(json *v, json *item, char *key)
{
    json **items = realloc(v->items, (v->count + 1) * sizeof *items);
    if (!items) return 0;
    v->items = items;
    if (v->kind == JSON_OBJECT) {
        char **keys = realloc(v->keys, (v->count + 1) * sizeof *keys);
        if (!keys) return 0;
        v->keys = keys;
        v->keys[v->count] = key;
    }
    v->items[v->count++] = item;
    return 1;
}

static json *parse_container(parser *p, int depth, int object)
{
    json *v = new_value(object ? JSON_OBJECT : JSON_ARRAY);
    p->pos++;
    skip_ws(p);
    if (p->s[p->pos] == (object ? '}' : ']')) {
        p->pos++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (object) {
            key = parse_string_raw(p);
            if (!key) break;
            skip_ws(p);
            if (p->s[p->pos] != ':') {
                free(key);
                fail(p, "expected ':'");
                break;
            }
            p->pos++;
        }
        json *item = parse_value(p, depth + 1);
        if (!item || !append(v, item, key)) {
            json_free(item);
            free(key);
            fail(p, "bad value");
            break;
        }
        skip_ws(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == (object ? '}' : ']')) {
            p->pos++;
            return v;
        }
        fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    json_free(v);
    return NULL;
}

static json *parse_value(parser *p, int depth)
{
    if (depth > 64) {
        fail(p, "nested too deeply");
        return NULL;
    }
    skip_ws(p);
    const char c = p->s[p->pos];
    if (c == '{' || c == '[') return parse_container(p, depth, c == '{');
    if (c == '"') {
        char *s = parse_string_raw(p);
        if (!s) return NULL;
        json *v = new_value(JSON_STRING);
        v->string = s;
        return v;
    }
    if (!strncmp(p->s + p->pos, "true", 4) || !strncmp(p->s + p->pos, "false", 5)) {
        json *v = new_value(JSON_BOOL);
        v->number = c == 't';
        p->pos += c == 't' ? 4 : 5;
        return v;
    }
    if (!strncmp(p->s + p->pos, "null", 4)) {
        p->pos += 4;
        return new_value(JSON_NULL);
    }
    char *end = NULL;
    double d = strtod(p->s + p->pos, &end);
    if (end == p->s + p->pos) {
        fail(p, "unexpected character");
        return NULL;
    }
    p->pos = (size_t)(end - p->s);
    json *v = new_value(JSON_NUMBER);
    v->number = d;
    return v;
}

json *json_parse(const char *text, char *err, size_t err_size)
{
    parser p = {text, 0, err, err_size, 0};
    json *v = parse_value(&p, 0);
    skip_ws(&p);
    if (v && p.s[p.pos]) {
        fail(&p, "trailing characters");
        json_free(v);
        return NULL;
    }
    return p.failed ? (json_free(v), NULL) : v;
}

json *json_parse_file(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!text || got != (size_t)size) {
        free(text);
        snprintf(err, err_size, "%s: read failed", path);
        return NULL;
    }
    text[size] = 0;
    json *v = json_parse(text, err, err_size);
    free(text);
    return v;
}

void json_free(json *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const json *json_get(const json *o, const char *key)
{
    if (!o || o->kind != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < o->count; i++)
        if (!strcmp(o->keys[i], key)) return o->items[i];
    return NULL;
}

const json *json_at(const json *a, size_t index)
{
    if (!a || (a->kind != JSON_ARRAY && a->kind != JSON_OBJECT) || index >= a->count) return NULL;
    return a->items[index];
}

double json_number(const json *o, const char *key, double fallback)
{
    const json *v = json_get(o, key);
    return v && (v->kind == JSON_NUMBER || v->kind == JSON_BOOL) ? v->number : fallback;
}
