/* A small JSON reader for the tests (golden manifests): parses a whole
 * document into a tree. Numbers are doubles; strings are unescaped for the
 * simple escapes only (the manifests use none beyond \" and \\). */
#ifndef PCL_TEST_MINI_JSON_H
#define PCL_TEST_MINI_JSON_H

#include <stddef.h>

typedef enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_kind;

typedef struct json {
    json_kind kind;
    double number;       /* JSON_NUMBER, JSON_BOOL (0 / 1) */
    char *string;        /* JSON_STRING */
    struct json **items; /* JSON_ARRAY, JSON_OBJECT values */
    char **keys;         /* JSON_OBJECT keys */
    size_t count;
} json;

/* Parses text; NULL on a syntax error (message in err, offset included). */
json *json_parse(const char *text, char *err, size_t err_size);
/* Reads and parses a file. */
json *json_parse_file(const char *path, char *err, size_t err_size);
void json_free(json *value);

/* Member of an object by key (NULL if absent or not an object). */
const json *json_get(const json *object, const char *key);
/* Element of an array (NULL if out of range). */
const json *json_at(const json *array, size_t index);
/* Number of a member path "a.b" of numbers; returns fallback when absent. */
double json_number(const json *object, const char *key, double fallback);

#endif
