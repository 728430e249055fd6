/* multipart: the strict multipart/form-data reader (RFC 7578, RFC 2046 framing). */
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/multipart.h"
#include "base/valid.h"

#define MULTIPART_HEADER_MAX 1024   /* bytes of one part header line */
#define MULTIPART_NAME_MAX 255      /* bytes of a field name or a file name */

static const char *const errors[MULTIPART__MAX] = {
	[MULTIPART_OK] = "ok",
	[MULTIPART_NOT_MULTIPART] = "not multipart/form-data",
	[MULTIPART_BAD_BOUNDARY] = "missing or malformed boundary",
	[MULTIPART_TOO_BIG] = "body too large",
	[MULTIPART_TOO_MANY] = "too many parts",
	[MULTIPART_BAD_FRAMING] = "malformed multipart framing",
	[MULTIPART_BAD_HEADER] = "malformed part header",
	[MULTIPART_BAD_DISPOSITION] = "malformed Content-Disposition",
	[MULTIPART_BAD_TEXT] = "a text field is not UTF-8 without NUL",
};

const char *
multipart_strerror(enum multipart_err e)
{
	return (unsigned)e < MULTIPART__MAX ? errors[e] : "unknown";
}

bool
multipart_is_form_data(const char *ct)
{
	static const char mt[] = "multipart/form-data";
	const char *p;

	if (ct == NULL || strncasecmp(ct, mt, sizeof(mt) - 1) != 0)
		return false;
	p = ct + sizeof(mt) - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' || *p == ';';
}

/* RFC 2046 bchars: DIGIT / ALPHA / "'()+_,-./:=?" and space (never last). */
static bool
bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

enum multipart_err
multipart_boundary(struct arena *a, const char *ct, const char **out)
{
	const char *p, *start;
	size_t n, i;
	bool quoted;

	*out = NULL;
	if (!multipart_is_form_data(ct))
		return MULTIPART_NOT_MULTIPART;
	p = strchr(ct, ';');
	/* Parameters: "; name=value" ... ; only boundary is read, others skipped (charset). */
	while (p != NULL && *p == ';') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0) {
			p = strchr(p, ';');
			continue;
		}
		if (*out != NULL) {
			*out = NULL;
			return MULTIPART_BAD_BOUNDARY;  /* two boundaries */
		}
		p += 9;
		quoted = *p == '"';
		if (quoted)
			p++;
		start = p;
		while (*p != '\0' && (quoted ? *p != '"' : (*p != ';' && *p != ' ' && *p != '\t')))
			p++;
		n = (size_t)(p - start);
		if (quoted) {
			if (*p != '"')
				return MULTIPART_BAD_BOUNDARY;
			p++;
		}
		if (n == 0 || n > MULTIPART_BOUNDARY_MAX || start[n - 1] == ' ')
			return MULTIPART_BAD_BOUNDARY;
		for (i = 0; i < n; i++)
			if (!bchar(start[i]))
				return MULTIPART_BAD_BOUNDARY;
		*out = arena_strndup(a, start, n);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != ';') {
			*out = NULL;
			return MULTIPART_BAD_BOUNDARY;
		}
	}
	return *out != NULL ? MULTIPART_OK : MULTIPART_BAD_BOUNDARY;
}

/* First occurrence of needle (nlen > 0 bytes) in hay (hlen bytes), or NULL. */
static const char *
find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *p = hay, *end = hay + hlen;

	while ((size_t)(end - p) >= nlen) {
		p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1);
		if (p == NULL)
			return NULL;
		if (memcmp(p, needle, nlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* A name or file name: valid UTF-8 without control bytes. */
static bool
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n > MULTIPART_NAME_MAX || !valid_utf8(s, n))
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Reads one parameter value at *pp (a quoted-string without escapes, as browsers send it, or a
 * token) up to end; sets *v and *vn. 0 or -1. */
static int
param_value(const char **pp, const char *end, const char **v, size_t *vn)
{
	const char *p = *pp, *q;

	if (p < end && *p == '"') {
		q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (q == NULL)
			return -1;
		*v = p + 1;
		*vn = (size_t)(q - p - 1);
		*pp = q + 1;
		return 0;
	}
	q = p;
	while (q < end && *q != ';' && *q != ' ' && *q != '\t' && *q != '"')
		q++;
	if (q == p)
		return -1;
	*v = p;
	*vn = (size_t)(q - p);
	*pp = q;
	return 0;
}

/* Content-Disposition's value (s..end): form-data; name="x"[; filename="y"]. */
static enum multipart_err
parse_disposition(struct arena *a, const char *s, const char *end, struct multipart_part *pt)
{
	const char *p = s, *v;
	size_t vn;
	bool have_name = false, have_file = false;

	if ((size_t)(end - p) < 9 || strncasecmp(p, "form-data", 9) != 0)
		return MULTIPART_BAD_DISPOSITION;
	p += 9;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (*p != ';')
			return MULTIPART_BAD_DISPOSITION;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > 5 && strncasecmp(p, "name=", 5) == 0) {
			p += 5;
			if (have_name || param_value(&p, end, &v, &vn) != 0 || vn == 0 ||
			    !name_ok(v, vn))
				return MULTIPART_BAD_DISPOSITION;
			pt->name = arena_strndup(a, v, vn);
			have_name = true;
		} else if ((size_t)(end - p) > 9 && strncasecmp(p, "filename=", 9) == 0) {
			p += 9;
			if (have_file || param_value(&p, end, &v, &vn) != 0 || !name_ok(v, vn))
				return MULTIPART_BAD_DISPOSITION;
			pt->filename = arena_strndup(a, v, vn);
			have_file = true;
		} else {
			return MULTIPART_BAD_DISPOSITION;  /* filename*= and anything else */
		}
	}
	return have_name ? MULTIPART_OK : MULTIPART_BAD_DISPOSITION;
}

/* Parses the headers at hs (up to the blank line; hlen bytes including each line's CRLF). */
static enum multipart_err
parse_headers(struct arena *a, const char *hs, size_t hlen, struct multipart_part *pt)
{
	const char *p = hs, *end = hs + hlen, *eol, *v;
	bool have_disp = false, have_ct = false;
	size_t i;
	enum multipart_err e;

	while (p < end) {
		eol = find(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL || (size_t)(eol - p) > MULTIPART_HEADER_MAX)
			return MULTIPART_BAD_HEADER;
		for (i = 0; p + i < eol; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return MULTIPART_BAD_HEADER;
		if ((size_t)(eol - p) > 20 && strncasecmp(p, "Content-Disposition:", 20) == 0) {
			if (have_disp)
				return MULTIPART_BAD_HEADER;
			v = p + 20;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			e = parse_disposition(a, v, eol, pt);
			if (e != MULTIPART_OK)
				return e;
			have_disp = true;
		} else if ((size_t)(eol - p) > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
			if (have_ct)
				return MULTIPART_BAD_HEADER;
			v = p + 13;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v == eol || !valid_utf8(v, (size_t)(eol - v)))
				return MULTIPART_BAD_HEADER;
			pt->content_type = arena_strndup(a, v, (size_t)(eol - v));
			have_ct = true;
		} else {
			return MULTIPART_BAD_HEADER;
		}
		p = eol + 2;
	}
	return have_disp ? MULTIPART_OK : MULTIPART_BAD_DISPOSITION;
}

enum multipart_err
multipart_parse(struct arena *a, const char *body, size_t len, const char *boundary,
    size_t max_len, size_t max_parts, struct multipart *out)
{
	const char *p, *end = body + len, *hend, *next;
	struct multipart_part *parts;
	enum multipart_err e;
	char *delim, *data;
	size_t blen, dlen, n = 0;

	out->parts = NULL;
	out->n = 0;
	if (len > max_len)
		return MULTIPART_TOO_BIG;
	blen = boundary != NULL ? strlen(boundary) : 0;
	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX || max_parts == 0)
		return MULTIPART_BAD_BOUNDARY;
	/* delim = CRLF "--" boundary; the body opens with it minus the CRLF. */
	dlen = blen + 4;
	delim = arena_alloc(a, dlen + 1);
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen + 1);
	if (len < dlen - 2 || memcmp(body, delim + 2, dlen - 2) != 0)
		return MULTIPART_BAD_FRAMING;
	parts = arena_alloc(a, max_parts * sizeof(*parts));
	p = body + dlen - 2;
	for (;;) {
		/* p is just after a delimiter: "--" closes, CRLF opens a part. */
		if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-') {
			p += 2;
			if (p == end || ((size_t)(end - p) == 2 && p[0] == '\r' && p[1] == '\n'))
				break;
			return MULTIPART_BAD_FRAMING;
		}
		if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n')
			return MULTIPART_BAD_FRAMING;
		p += 2;
		if (n == max_parts)
			return MULTIPART_TOO_MANY;
		memset(&parts[n], 0, sizeof(parts[n]));
		/* Headers end at the first empty line; a part with no headers is refused. */
		hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL)
			return MULTIPART_BAD_HEADER;
		e = parse_headers(a, p, (size_t)(hend - p) + 2, &parts[n]);
		if (e != MULTIPART_OK)
			return e;
		p = hend + 4;
		next = find(p, (size_t)(end - p), delim, dlen);
		if (next == NULL)
			return MULTIPART_BAD_FRAMING;
		parts[n].len = (size_t)(next - p);
		data = arena_alloc(a, parts[n].len + 1);  /* a file may hold NUL: no strndup */
		memcpy(data, p, parts[n].len);
		data[parts[n].len] = '\0';
		parts[n].data = data;
		if (parts[n].filename == NULL && (memchr(p, '\0', parts[n].len) != NULL ||
		    !valid_utf8(p, parts[n].len)))
			return MULTIPART_BAD_TEXT;
		n++;
		p = next + dlen;
	}
	out->parts = parts;
	out->n = n;
	return MULTIPART_OK;
}

int
multipart_get(const struct multipart *m, const char *name, const struct multipart_part **out)
{
	size_t i;
	int found = 0;

	*out = NULL;
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->parts[i].name, name) != 0)
			continue;
		if (found) {
			*out = NULL;
			return -1;
		}
		*out = &m->parts[i];
		found = 1;
	}
	return found ? 0 : 1;
}
