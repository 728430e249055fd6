/* jparse: strict JSON for request bodies: a validating scanner (RFC 8259 grammar, depth,
 * duplicate keys, UTF-8, surrogates, int64 range) runs first, then json-c builds the tree. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jparse.h"
#include "base/valid.h"

static const char *const jparse_messages[JPARSE__MAX] = {
	[JPARSE_OK] = "ok",
	[JPARSE_EMPTY] = "empty body",
	[JPARSE_TOO_BIG] = "body too large",
	[JPARSE_BAD_UTF8] = "invalid UTF-8, NUL byte or lone surrogate",
	[JPARSE_SYNTAX] = "malformed JSON",
	[JPARSE_TOO_DEEP] = "JSON nested too deeply",
	[JPARSE_DUP_KEY] = "duplicate key in JSON object",
};

/* A decoded object key: bytes [off, off + len) of the scanner's key buffer. */
struct jparse_key {
	size_t off;
	size_t len;
};

/* One open container: '[' or '{'; for objects the index of its first key in keys[] and
 * where its decoded keys start in kbuf. */
struct jparse_frame {
	char kind;
	size_t key_base;
	size_t key_off;
};

/* Scanner state. Keys of every open object live in keys[]/kbuf, innermost last; an object's
 * keys are sorted and checked for duplicates when it closes, then dropped. */
struct jparse_scan {
	const unsigned char *s;
	size_t len;
	size_t pos;
	int max_depth;
	int deepest;
	struct jparse_frame *stack;
	size_t depth;
	size_t stack_cap;
	struct jparse_key *keys;
	size_t nkeys;
	size_t keys_cap;
	struct buf kbuf;
};

static void *
jparse_grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap == 0 ? 16 : *cap;

	while (n < need) {
		if (n > SIZE_MAX / 2 / elem) {
			fprintf(stderr, "jparse: size overflow\n");
			abort();
		}
		n *= 2;
	}
	if (n == *cap)
		return p;
	p = realloc(p, n * elem);
	if (p == NULL) {
		fprintf(stderr, "jparse: out of memory\n");
		abort();
	}
	*cap = n;
	return p;
}

static void
jparse_ws(struct jparse_scan *sc)
{
	while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
	    sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
		sc->pos++;
}

static int
jparse_hex4(const unsigned char *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (uint32_t)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (uint32_t)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (uint32_t)(p[i] - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void
jparse_put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 4);
	}
}

/* Scans a string starting at the opening quote; appends its decoded bytes to out when out
 * is not NULL. The raw bytes were already checked as UTF-8 without NUL. */
static enum jparse_err
jparse_string_scan(struct jparse_scan *sc, struct buf *out)
{
	const unsigned char *s = sc->s;
	size_t i = sc->pos + 1, run;
	uint32_t cp, lo;

	for (;;) {
		run = i;
		while (i < sc->len && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20)
			i++;
		if (out != NULL)
			buf_append(out, s + run, i - run);
		if (i >= sc->len || s[i] < 0x20)
			return JPARSE_SYNTAX;
		if (s[i] == '"')
			break;
		/* A backslash. */
		if (i + 1 >= sc->len)
			return JPARSE_SYNTAX;
		switch (s[i + 1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (sc->len - i < 6 || jparse_hex4(s + i + 2, &cp) != 0)
				return JPARSE_SYNTAX;
			i += 4;
			if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return JPARSE_BAD_UTF8;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (sc->len - i < 8 || s[i + 2] != '\\' || s[i + 3] != 'u' ||
				    jparse_hex4(s + i + 4, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
					return JPARSE_BAD_UTF8;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			break;
		default:
			return JPARSE_SYNTAX;
		}
		if (out != NULL)
			jparse_put_utf8(out, cp);
		i += 2;
	}
	sc->pos = i + 1;
	return JPARSE_OK;
}

/* Scans a number per RFC 8259; an integer (no fraction, no exponent) must fit int64. */
static enum jparse_err
jparse_number_scan(struct jparse_scan *sc)
{
	const unsigned char *s = sc->s;
	size_t i = sc->pos;
	uint64_t mag = 0, limit = (uint64_t)INT64_MAX;
	bool integer = true, overflow = false;

	if (s[i] == '-') {
		limit = (uint64_t)INT64_MAX + 1;
		i++;
	}
	if (i >= sc->len || s[i] < '0' || s[i] > '9')
		return JPARSE_SYNTAX;
	if (s[i] == '0') {
		i++;
	} else {
		for (; i < sc->len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (mag > (limit - (uint64_t)(s[i] - '0')) / 10)
				overflow = true;
			else
				mag = mag * 10 + (uint64_t)(s[i] - '0');
		}
	}
	if (i < sc->len && s[i] == '.') {
		integer = false;
		i++;
		if (i >= sc->len || s[i] < '0' || s[i] > '9')
			return JPARSE_SYNTAX;
		while (i < sc->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < sc->len && (s[i] == 'e' || s[i] == 'E')) {
		integer = false;
		i++;
		if (i < sc->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= sc->len || s[i] < '0' || s[i] > '9')
			return JPARSE_SYNTAX;
		while (i < sc->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (integer && overflow)
		return JPARSE_SYNTAX;
	sc->pos = i;
	return JPARSE_OK;
}

static enum jparse_err
jparse_literal_scan(struct jparse_scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return JPARSE_SYNTAX;
	sc->pos += n;
	return JPARSE_OK;
}

static enum jparse_err
jparse_push(struct jparse_scan *sc, char kind)
{
	if (sc->depth >= (size_t)sc->max_depth)
		return JPARSE_TOO_DEEP;
	sc->stack = jparse_grow(sc->stack, &sc->stack_cap, sc->depth + 1, sizeof(*sc->stack));
	sc->stack[sc->depth].kind = kind;
	sc->stack[sc->depth].key_base = sc->nkeys;
	sc->stack[sc->depth].key_off = sc->kbuf.len;
	sc->depth++;
	if ((int)sc->depth > sc->deepest)
		sc->deepest = (int)sc->depth;
	sc->pos++;
	return JPARSE_OK;
}

/* Scans "key" ':' at pos (whitespace before the key already skipped) and records the key. */
static enum jparse_err
jparse_key_scan(struct jparse_scan *sc)
{
	enum jparse_err err;
	size_t off = sc->kbuf.len;

	if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
		return JPARSE_SYNTAX;
	err = jparse_string_scan(sc, &sc->kbuf);
	if (err != JPARSE_OK)
		return err;
	sc->keys = jparse_grow(sc->keys, &sc->keys_cap, sc->nkeys + 1, sizeof(*sc->keys));
	sc->keys[sc->nkeys].off = off;
	sc->keys[sc->nkeys].len = sc->kbuf.len - off;
	sc->nkeys++;
	jparse_ws(sc);
	if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
		return JPARSE_SYNTAX;
	sc->pos++;
	return JPARSE_OK;
}

static int
jparse_key_cmp(const void *x, const void *y, void *arg)
{
	const struct jparse_key *a = x, *b = y;
	const char *base = arg;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(base + a->off, base + b->off, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Closes the innermost container at pos; for an object, refuses duplicate keys. */
static enum jparse_err
jparse_pop(struct jparse_scan *sc)
{
	struct jparse_frame *f = &sc->stack[sc->depth - 1];
	struct jparse_key *k;
	size_t n, i;

	if (f->kind == '{') {
		n = sc->nkeys - f->key_base;
		if (n > 1) {
			k = sc->keys + f->key_base;
			qsort_r(k, n, sizeof(*k), jparse_key_cmp, sc->kbuf.data);
			for (i = 1; i < n; i++)
				if (jparse_key_cmp(&k[i - 1], &k[i], sc->kbuf.data) == 0)
					return JPARSE_DUP_KEY;
		}
		sc->nkeys = f->key_base;
		buf_truncate(&sc->kbuf, f->key_off);
	}
	sc->depth--;
	sc->pos++;
	return JPARSE_OK;
}

/* Checks that s[0..len) is exactly one RFC 8259 value within the depth cap, free of
 * duplicate keys, lone surrogates, \u0000 and integers outside int64. Raw UTF-8 was checked
 * by the caller. */
static enum jparse_err
jparse_scan(struct jparse_scan *sc)
{
	enum jparse_err err;
	unsigned char c;

	jparse_ws(sc);
value:
	if (sc->pos >= sc->len)
		return JPARSE_SYNTAX;
	c = sc->s[sc->pos];
	if (c == '{' || c == '[') {
		err = jparse_push(sc, (char)c);
		if (err != JPARSE_OK)
			return err;
		jparse_ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == (c == '{' ? '}' : ']')) {
			err = jparse_pop(sc);
			if (err != JPARSE_OK)
				return err;
			goto after;
		}
		if (c == '{') {
			err = jparse_key_scan(sc);
			if (err != JPARSE_OK)
				return err;
			jparse_ws(sc);
		}
		goto value;
	}
	if (c == '"')
		err = jparse_string_scan(sc, NULL);
	else if (c == '-' || (c >= '0' && c <= '9'))
		err = jparse_number_scan(sc);
	else if (c == 't')
		err = jparse_literal_scan(sc, "true");
	else if (c == 'f')
		err = jparse_literal_scan(sc, "false");
	else if (c == 'n')
		err = jparse_literal_scan(sc, "null");
	else
		err = JPARSE_SYNTAX;
	if (err != JPARSE_OK)
		return err;
after:
	jparse_ws(sc);
	if (sc->depth == 0)
		return sc->pos == sc->len ? JPARSE_OK : JPARSE_SYNTAX;
	if (sc->pos >= sc->len)
		return JPARSE_SYNTAX;
	c = sc->s[sc->pos];
	if (c == ',') {
		sc->pos++;
		jparse_ws(sc);
		if (sc->stack[sc->depth - 1].kind == '{') {
			err = jparse_key_scan(sc);
			if (err != JPARSE_OK)
				return err;
			jparse_ws(sc);
		}
		goto value;
	}
	if (c == (sc->stack[sc->depth - 1].kind == '{' ? '}' : ']')) {
		err = jparse_pop(sc);
		if (err != JPARSE_OK)
			return err;
		goto after;
	}
	return JPARSE_SYNTAX;
}

/* Parses exactly one JSON value (see jparse.h). Checks, in order: empty, size (also capped
 * at INT_MAX - 1, json-c's limit), raw UTF-8 and NUL, then the strict scanner, then json-c
 * in strict mode. A top-level "null" is JPARSE_OK with *out == NULL (json-c's null). */
enum jparse_err
jparse(const char *text, size_t len, size_t max_len, int max_depth, struct json_object **out)
{
	struct jparse_scan sc;
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;
	enum jparse_err err;

	*out = NULL;
	if (text == NULL || len == 0)
		return JPARSE_EMPTY;
	if (len > max_len || len >= INT_MAX)
		return JPARSE_TOO_BIG;
	if (!valid_utf8(text, len))
		return JPARSE_BAD_UTF8;

	memset(&sc, 0, sizeof(sc));
	sc.s = (const unsigned char *)text;
	sc.len = len;
	sc.max_depth = max_depth < 0 ? 0 : max_depth;
	err = jparse_scan(&sc);
	if (err != JPARSE_OK)
		goto out;

	/* json-c counts a container's members as one level deeper than the container. */
	tok = json_tokener_new_ex(sc.deepest + 1);
	if (tok == NULL) {
		fprintf(stderr, "jparse: out of memory\n");
		abort();
	}
#ifdef JSON_TOKENER_VALIDATE_UTF8
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
#else
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
#endif
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* A bare number is only complete once json-c sees what follows it. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		err = jerr == json_tokener_error_depth ? JPARSE_TOO_DEEP : JPARSE_SYNTAX;
		goto out;
	}
	*out = obj;
out:
	if (tok != NULL)
		json_tokener_free(tok);
	free(sc.stack);
	free(sc.keys);
	buf_release(&sc.kbuf);
	return err;
}

/* Returns a static English description of err ("unknown error" when out of range). */
const char *
jparse_strerror(enum jparse_err err)
{
	if ((unsigned)err >= JPARSE__MAX)
		return "unknown error";
	return jparse_messages[err];
}

/* Looks key up in obj. Returns 1 when absent, -1 when obj is not an object, 0 with *v set
 * otherwise (*v is NULL for a JSON null). */
static int
jparse_field(struct json_object *obj, const char *key, struct json_object **v)
{
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return -1;
	if (!json_object_object_get_ex(obj, key, v))
		return 1;
	return 0;
}

/* Reads an integer field within [min, max] (see jparse.h). JSON null, floats (1.0, 1e3),
 * strings and booleans are -1. */
int
jparse_int64(struct json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	int64_t n;
	int rc;

	rc = jparse_field(obj, key, &v);
	if (rc != 0)
		return rc;
	if (v == NULL || !json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	/* jparse refuses integer literals outside int64; objects built elsewhere may hold a
	 * uint64 that json-c would saturate to INT64_MAX. */
	if (n == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return -1;
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Reads a string field of at most max_len bytes (see jparse.h); the pointer is owned by
 * obj. JSON null and non-strings are -1. */
int
jparse_string(struct json_object *obj, const char *key, size_t max_len, const char **out)
{
	struct json_object *v;
	int rc;

	rc = jparse_field(obj, key, &v);
	if (rc != 0)
		return rc;
	if (v == NULL || !json_object_is_type(v, json_type_string))
		return -1;
	if ((size_t)json_object_get_string_len(v) > max_len)
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

/* Reads a true/false field into *out as 1/0 (see jparse.h). 0, 1, "true" and null are -1. */
int
jparse_bool(struct json_object *obj, const char *key, int *out)
{
	struct json_object *v;
	int rc;

	rc = jparse_field(obj, key, &v);
	if (rc != 0)
		return rc;
	if (v == NULL || !json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

int
jparse_only_keys(struct json_object *obj, const char *const *allowed)
{
	size_t i;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return -1;
	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL)
			return -1;
	}
	return 0;
}
