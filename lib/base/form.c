/* form: parsers for x-www-form-urlencoded text and Cookie headers into key/value pairs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/form.h"
#include "base/valid.h"

static const char *const form_messages[FORM__MAX] = {
	[FORM_OK] = "ok",
	[FORM_TOO_BIG] = "input too large",
	[FORM_TOO_MANY] = "too many fields",
	[FORM_BAD_ESCAPE] = "malformed percent-encoding",
	[FORM_NUL] = "NUL byte in a field",
	[FORM_BAD_UTF8] = "field is not valid UTF-8",
	[FORM_EMPTY_KEY] = "field without a name",
};

static int
form_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) ('+' is a space when plus_is_space, %XX a byte) into a new NUL-terminated
 * arena string. */
static enum form_err
form_decode_any(struct arena *a, const char *s, size_t n, bool plus_is_space, const char **out,
    size_t *out_len)
{
	char *d = arena_alloc(a, n + 1);
	size_t i, j = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+' && plus_is_space) {
			d[j++] = ' ';
		} else if (s[i] == '%') {
			if (n - i < 3)
				return FORM_BAD_ESCAPE;
			hi = form_hex((unsigned char)s[i + 1]);
			lo = form_hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return FORM_BAD_ESCAPE;
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[j++] = s[i];
		}
		if (d[j - 1] == '\0')
			return FORM_NUL;
	}
	d[j] = '\0';
	if (!valid_utf8(d, j))
		return FORM_BAD_UTF8;
	*out = d;
	*out_len = j;
	return FORM_OK;
}

static enum form_err
form_decode(struct arena *a, const char *s, size_t n, const char **out, size_t *out_len)
{
	return form_decode_any(a, s, n, true, out, out_len);
}

enum form_err
form_decode_path_segment(struct arena *a, const char *s, size_t n, const char **out)
{
	size_t len;

	return form_decode_any(a, s, n, false, out, &len);
}

/* Room for the pairs: at most one per separator plus one, and never more than max_pairs. */
static struct form_pair *
form_alloc_pairs(struct arena *a, const char *s, size_t len, char sep, size_t max_pairs)
{
	size_t n = 1, i;

	for (i = 0; i < len; i++)
		if (s[i] == sep)
			n++;
	if (n > max_pairs)
		n = max_pairs;
	if (n > SIZE_MAX / sizeof(struct form_pair)) {
		fprintf(stderr, "form: size overflow\n");
		abort();
	}
	return arena_alloc(a, n * sizeof(struct form_pair));
}

/* Parses urlencoded text (see form.h). Errors in input order: FORM_TOO_BIG first, then the
 * first segment that is bad (FORM_EMPTY_KEY, FORM_TOO_MANY, FORM_BAD_ESCAPE, FORM_NUL,
 * FORM_BAD_UTF8). Strings live in a; on error out->pairs is NULL and out->n 0. */
enum form_err
form_parse_urlencoded(struct arena *a, const char *s, size_t len, size_t max_len,
    size_t max_pairs, struct form *out)
{
	struct form_pair *pairs;
	const char *seg, *end, *eq, *stop = s + len;
	size_t n = 0, klen;
	enum form_err err;

	out->pairs = NULL;
	out->n = 0;
	if (len > max_len)
		return FORM_TOO_BIG;
	if (len == 0)
		return FORM_OK;
	pairs = form_alloc_pairs(a, s, len, '&', max_pairs);
	for (seg = s; seg < stop; seg = end + 1) {
		end = memchr(seg, '&', (size_t)(stop - seg));
		if (end == NULL)
			end = stop;
		if (end == seg)
			continue;
		eq = memchr(seg, '=', (size_t)(end - seg));
		if (eq == seg)
			return FORM_EMPTY_KEY;
		if (n == max_pairs)
			return FORM_TOO_MANY;
		err = form_decode(a, seg, (size_t)((eq != NULL ? eq : end) - seg), &pairs[n].key,
		    &klen);
		if (err != FORM_OK)
			return err;
		if (eq != NULL)
			err = form_decode(a, eq + 1, (size_t)(end - eq - 1), &pairs[n].val,
			    &pairs[n].val_len);
		else
			err = form_decode(a, "", 0, &pairs[n].val, &pairs[n].val_len);
		if (err != FORM_OK)
			return err;
		n++;
	}
	out->pairs = n > 0 ? pairs : NULL;
	out->n = n;
	return FORM_OK;
}

/* RFC 6265 token character (a cookie name). */
static bool
form_cookie_name_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* RFC 6265 cookie-octet (a cookie value, quotes stripped). */
static bool
form_cookie_value_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
	    (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool
form_cookie_span_ok(const char *p, size_t n, bool (*ok)(unsigned char))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ok((unsigned char)p[i]))
			return false;
	return true;
}

/* Parses a Cookie header (see form.h). Blanks around names and values are dropped; a pair
 * whose name is not an RFC 6265 token or whose value has characters outside cookie-octet
 * (after stripping one pair of surrounding quotes) is skipped. Only FORM_TOO_BIG and
 * FORM_TOO_MANY are errors; on error out->pairs is NULL and out->n 0. */
enum form_err
form_parse_cookies(struct arena *a, const char *s, size_t max_len, size_t max_pairs,
    struct form *out)
{
	struct form_pair *pairs;
	const char *seg, *end, *eq, *stop, *k, *ke, *v, *ve;
	size_t len, n = 0;

	out->pairs = NULL;
	out->n = 0;
	len = max_len < PTRDIFF_MAX ? strnlen(s, max_len + 1) : strlen(s);
	if (len > max_len)
		return FORM_TOO_BIG;
	if (len == 0)
		return FORM_OK;
	stop = s + len;
	pairs = form_alloc_pairs(a, s, len, ';', max_pairs);
	for (seg = s; seg < stop; seg = end + 1) {
		end = memchr(seg, ';', (size_t)(stop - seg));
		if (end == NULL)
			end = stop;
		eq = memchr(seg, '=', (size_t)(end - seg));
		if (eq == NULL)
			continue;
		for (k = seg; k < eq && (*k == ' ' || *k == '\t'); k++)
			;
		for (ke = eq; ke > k && (ke[-1] == ' ' || ke[-1] == '\t'); ke--)
			;
		for (v = eq + 1; v < end && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = end; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
			v++;
			ve--;
		}
		if (k == ke || !form_cookie_span_ok(k, (size_t)(ke - k), form_cookie_name_char) ||
		    !form_cookie_span_ok(v, (size_t)(ve - v), form_cookie_value_char))
			continue;
		if (n == max_pairs)
			return FORM_TOO_MANY;
		pairs[n].key = arena_strndup(a, k, (size_t)(ke - k));
		pairs[n].val = arena_strndup(a, v, (size_t)(ve - v));
		pairs[n].val_len = (size_t)(ve - v);
		n++;
	}
	out->pairs = n > 0 ? pairs : NULL;
	out->n = n;
	return FORM_OK;
}

/* Looks key up (see form.h): 0 when it occurs exactly once, 1 absent, -1 repeated. */
int
form_get(const struct form *f, const char *key, const char **val, size_t *len)
{
	const struct form_pair *hit = NULL;
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->pairs[i].key, key) != 0)
			continue;
		if (hit != NULL)
			return -1;
		hit = &f->pairs[i];
	}
	if (hit == NULL)
		return 1;
	*val = hit->val;
	if (len != NULL)
		*len = hit->val_len;
	return 0;
}

/* The first occurrence of key: 0 with *val set, or 1 when absent. */
int
form_get_first(const struct form *f, const char *key, const char **val)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->pairs[i].key, key) == 0) {
			*val = f->pairs[i].val;
			return 0;
		}
	}
	return 1;
}

/* Returns a static English description of e ("unknown error" when out of range). */
const char *
form_strerror(enum form_err e)
{
	if ((unsigned)e >= FORM__MAX)
		return "unknown error";
	return form_messages[e];
}
