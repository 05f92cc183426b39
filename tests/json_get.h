/* The tests read JSON (golden manifests, the apps' --json output) with
 * jansson. One helper on top: a member's number, or fallback when it is
 * absent or not a number, so that a missing value (fallback NAN) never
 * passes a check. */
#ifndef PCL_TEST_JSON_GET_H
#define PCL_TEST_JSON_GET_H

#include <jansson.h>

static inline double json_member_number(const json_t *object, const char *key, double fallback)
{
    const json_t *value = json_object_get(object, key);
    return json_is_number(value) ? json_number_value(value) : fallback;
}

#endif
