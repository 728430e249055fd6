/* form: parsers for application/x-www-form-urlencoded text (query strings, form bodies) and
 * Cookie headers. Pure functions over bytes, memory from an arena. */
#ifndef JT_FORM_H
#define JT_FORM_H

#include <stddef.h>

struct arena;

struct form_pair {
	const char *key;   /* decoded, NUL-terminated, valid UTF-8 */
	const char *val;   /* decoded, NUL-terminated, valid UTF-8 */
	size_t val_len;
};

struct form {
	struct form_pair *pairs;  /* in input order, duplicates kept */
	size_t n;
};

enum form_err {
	FORM_OK,
	FORM_TOO_BIG,       /* input longer than max_len */
	FORM_TOO_MANY,      /* more than max_pairs pairs */
	FORM_BAD_ESCAPE,    /* '%' not followed by two hex digits */
	FORM_NUL,           /* a decoded NUL byte (%00) */
	FORM_BAD_UTF8,      /* decoded bytes are not valid UTF-8 */
	FORM_EMPTY_KEY,     /* "=value" */
	FORM__MAX
};

/* Parses "a=1&b=x+y%21". '+' decodes to a space; "a" alone is a key with an empty value;
 * empty segments ("a=1&&b=2") are skipped. On error *out is empty. */
enum form_err form_parse_urlencoded(struct arena *a, const char *s, size_t len, size_t max_len,
    size_t max_pairs, struct form *out);

/* Parses a Cookie header "a=1; b=2" (no percent-decoding; values may be quoted, quotes are
 * stripped). Malformed pairs are skipped, never an error except FORM_TOO_BIG/FORM_TOO_MANY. */
enum form_err form_parse_cookies(struct arena *a, const char *s, size_t max_len,
    size_t max_pairs, struct form *out);

/* Percent-decodes one URL path segment ('+' stays '+'). FORM_BAD_ESCAPE, FORM_NUL or
 * FORM_BAD_UTF8 on bad input; FORM_OK with *out in the arena. */
enum form_err form_decode_path_segment(struct arena *a, const char *s, size_t n,
    const char **out);

/* Looks key up. Returns 0 and sets *val (and *len if non-NULL) when it occurs exactly once,
 * 1 when absent, -1 when it occurs more than once (a client sending a field twice is
 * refused, never silently resolved). */
int form_get(const struct form *f, const char *key, const char **val, size_t *len);

/* The first occurrence (for cookies, where the most specific comes first). 0 or 1. */
int form_get_first(const struct form *f, const char *key, const char **val);

const char *form_strerror(enum form_err e);

#endif
