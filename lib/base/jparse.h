/* jparse: strict JSON parsing for request bodies (size cap, depth cap, UTF-8, no duplicate keys). */
#ifndef JT_JPARSE_H
#define JT_JPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

enum jparse_err {
	JPARSE_OK,
	JPARSE_EMPTY,     /* no body at all */
	JPARSE_TOO_BIG,   /* len > max_len */
	JPARSE_BAD_UTF8,  /* invalid UTF-8 or a NUL byte anywhere, including inside strings
	                   * (\u0000), or a lone surrogate \u escape */
	JPARSE_SYNTAX,    /* not RFC 8259 JSON (trailing garbage, comments, single quotes, NaN, ...),
	                   * or an integer literal outside int64 (RFC 8259 section 9 allows the limit) */
	JPARSE_TOO_DEEP,  /* nesting deeper than max_depth */
	JPARSE_DUP_KEY,   /* an object with the same key twice */
	JPARSE__MAX
};

/* Parses exactly one JSON value from text[0..len). On JPARSE_OK *out holds a new reference
 * the caller must json_object_put() (NULL when the text is the literal null); otherwise *out
 * is NULL. max_depth is the deepest container nesting accepted: "1" is depth 0, "[]" and
 * {"a":1} depth 1, [[1]] depth 2. Duplicate keys compare decoded, so "a" and "\u0061" clash. */
enum jparse_err jparse(const char *text, size_t len, size_t max_len, int max_depth,
    struct json_object **out);

/* English description of err, for logs and the error envelope's message. */
const char *jparse_strerror(enum jparse_err err);

/* Typed field readers for a parsed object. Each returns 0 and stores the value, 1 when the
 * key is absent, or -1 when it is present with the wrong type (JSON null included) or out of
 * range, or when obj is not an object; on -1 and 1 *out is untouched.
 * jparse_int64 accepts only JSON integers (not 1.0, not "1"). jparse_string checks the
 * length in bytes; the returned pointer is owned by obj. */
int jparse_int64(struct json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out);
int jparse_string(struct json_object *obj, const char *key, size_t max_len, const char **out);
int jparse_bool(struct json_object *obj, const char *key, int *out);

/* 0 when obj is an object whose every key is one of the NULL-terminated list allowed, else
 * -1 (an unknown field is refused, never ignored). */
int jparse_only_keys(struct json_object *obj, const char *const *allowed);

#endif
