/* accept: choosing a representation by the Accept header (see accept.h). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "base/accept.h"

/* One media range as it appears in the header: pointers into it, not NUL-terminated. */
struct range {
	const char *type, *sub;
	size_t type_len, sub_len;
	int q;
};

static bool
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Reads a token at *p; returns its length (0: none) and advances *p past it. */
static size_t
read_token(const char **p)
{
	const char *s = *p;

	while (is_tchar(**p))
		(*p)++;
	return (size_t)(*p - s);
}

/* Reads a quoted-string at *p (which starts with '"'); advances past it. 0 or -1. */
static int
read_quoted(const char **p)
{
	const char *s = *p + 1;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			if (s[1] == '\0' || (unsigned char)s[1] < 0x20)
				return -1;
			s++;
			continue;
		}
		if (*s == '"') {
			*p = s + 1;
			return 0;
		}
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return -1;
	}
	return -1;
}

/* Parses a qvalue of exactly n bytes at s into thousandths. 0 or -1. */
static int
parse_qvalue(const char *s, size_t n, int *out)
{
	size_t i;
	int v;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	v = (s[0] - '0') * 1000;
	if (n == 1) {
		*out = v;
		return 0;
	}
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++) {
		int scale = i == 2 ? 100 : i == 3 ? 10 : 1;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		v += (s[i] - '0') * scale;
	}
	if (v > 1000)
		return -1;
	*out = v;
	return 0;
}

/* Moves *p to the comma ending the current element (or the end), stepping over quoted
 * strings so a comma inside one does not end it. */
static void
skip_element(const char **p)
{
	const char *s = *p;

	while (*s != '\0' && *s != ',') {
		if (*s == '"') {
			if (read_quoted(&s) != 0) {
				s += strlen(s);
				break;
			}
			continue;
		}
		s++;
	}
	*p = s;
}

/* Parses the element at *p into *r. Returns 0 when it follows the grammar, -1 when not; in
 * both cases *p is left at the comma that ends the element (or the end). */
static int
parse_range(const char **p, struct range *r)
{
	const char *s = *p, *name, *val;
	size_t name_len, val_len;
	int rc = -1;

	r->type = s;
	r->type_len = read_token(&s);
	if (r->type_len == 0 || *s != '/')
		goto out;
	s++;
	r->sub = s;
	r->sub_len = read_token(&s);
	if (r->sub_len == 0)
		goto out;
	if (r->type_len == 1 && r->type[0] == '*' && !(r->sub_len == 1 && r->sub[0] == '*'))
		goto out;  /* "* /json" is no media range */
	r->q = 1000;
	for (;;) {
		s = skip_ows(s);
		if (*s != ';')
			break;
		s = skip_ows(s + 1);
		if (*s == ',' || *s == '\0')
			break;  /* a trailing ';': lenient */
		name = s;
		name_len = read_token(&s);
		if (name_len == 0 || *s != '=')
			goto out;
		s++;
		val = s;
		if (*s == '"') {
			if (read_quoted(&s) != 0)
				goto out;
		} else if (read_token(&s) == 0) {
			goto out;
		}
		val_len = (size_t)(s - val);
		if (name_len == 1 && (name[0] == 'q' || name[0] == 'Q') &&
		    parse_qvalue(val, val_len, &r->q) != 0)
			goto out;
	}
	if (*s == ',' || *s == '\0')
		rc = 0;
out:
	*p = s;
	skip_element(p);
	return rc;
}

/* How specifically range r names the type/sub split of a media type: 2, 1, 0, or -1 when
 * it does not match. */
static int
range_specificity(const struct range *r, const char *type, size_t type_len, const char *sub,
    size_t sub_len)
{
	if (r->type_len == 1 && r->type[0] == '*')
		return 0;
	if (r->type_len != type_len || strncasecmp(r->type, type, type_len) != 0)
		return -1;
	if (r->sub_len == 1 && r->sub[0] == '*')
		return 1;
	if (r->sub_len != sub_len || strncasecmp(r->sub, sub, sub_len) != 0)
		return -1;
	return 2;
}

void
accept_match(const char *header, const char *type, struct accept_match *out)
{
	const char *slash = strchr(type, '/'), *p;
	size_t type_len, sub_len, n = 0;
	struct range r;
	int spec;

	out->q = 1000;
	out->specificity = 0;
	if (header == NULL || strlen(header) > ACCEPT_HEADER_MAX || slash == NULL)
		return;
	p = skip_ows(header);
	if (*p == '\0')
		return;
	type_len = (size_t)(slash - type);
	sub_len = strlen(slash + 1);
	out->q = 0;
	out->specificity = -1;
	while (*p != '\0' && n < ACCEPT_RANGES_MAX) {
		p = skip_ows(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		n++;
		if (parse_range(&p, &r) != 0)
			continue;
		spec = range_specificity(&r, type, type_len, slash + 1, sub_len);
		if (spec < 0 || spec < out->specificity)
			continue;
		if (spec > out->specificity || r.q > out->q)
			out->q = r.q;
		out->specificity = spec;
	}
}

bool
accept_prefers(const char *header, const char *a, const char *b)
{
	struct accept_match ma, mb;

	accept_match(header, a, &ma);
	accept_match(header, b, &mb);
	if (ma.q == 0)
		return false;
	return ma.q > mb.q || (ma.q == mb.q && ma.specificity > mb.specificity);
}
