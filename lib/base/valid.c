/* valid: validators for untrusted input (UTF-8, integers, free text, e-mail, tokens, redirect
 * paths). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/valid.h"

size_t
valid_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;   /* continuation byte, C0/C1 (always overlong) or F5..FF */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t
valid_utf8_cut_bytes(const char *s, size_t max_bytes)
{
	size_t n = strlen(s);

	if (n <= max_bytes)
		return n;
	n = max_bytes;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

size_t
valid_utf8_cut_chars(const char *s, size_t max_chars)
{
	size_t len = strlen(s), off = 0, chars = 0, n;
	uint32_t cp;

	while (off < len && chars < max_chars) {
		n = valid_utf8_next((const unsigned char *)s + off, len - off, &cp);
		if (n == 0)
			break;
		off += n;
		chars++;
	}
	return off;
}

/* True when s[0..len) is well-formed UTF-8 without NUL bytes (see valid.h). */
bool
valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] >= 0x01 && p[i] < 0x80) {
			i++;
			continue;
		}
		n = valid_utf8_next(p + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return false;
		i += n;
	}
	return true;
}

/* Parses a strict base-10 integer within [min, max] (see valid.h); "-0" is refused, zero has
 * one spelling. Returns 0 and stores it, or -1 leaving *out untouched. NULL s is -1. */
int
valid_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s;
	uint64_t mag = 0, limit = (uint64_t)INT64_MAX;
	int64_t v;
	bool neg = false;

	if (s == NULL)
		return -1;
	if (*p == '-') {
		neg = true;
		limit = (uint64_t)INT64_MAX + 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	if (*p == '0' && (p[1] != '\0' || neg))
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (mag > (limit - (uint64_t)(*p - '0')) / 10)
			return -1;
		mag = mag * 10 + (uint64_t)(*p - '0');
	}
	if (neg)
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		v = (int64_t)mag;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static bool
valid_is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xa0 ||
	    cp == 0x3000;
}

/* Free text a person typed (see valid.h). Control characters are C0, DEL and C1; tab is
 * always allowed, CR and LF only when multiline. Whitespace-only text (ASCII blanks, NBSP,
 * the ideographic space U+3000) is refused. */
bool
valid_text(const char *s, size_t len, size_t max_chars, bool multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, chars = 0;
	bool visible = false;
	uint32_t cp;

	if (s == NULL || len == 0)
		return false;
	while (i < len) {
		n = valid_utf8_next(p + i, len - i, &cp);
		if (n == 0)
			return false;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			if (cp != '\t' && !(multiline && (cp == '\r' || cp == '\n')))
				return false;
		}
		if (!valid_is_space(cp))
			visible = true;
		if (++chars > max_chars)
			return false;
		i += n;
	}
	return visible;
}

static bool
valid_email_local_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&*+/=?^_{|}~-", c) != NULL);
}

static bool
valid_email_domain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-';
}

/* An e-mail address a shop would accept (see valid.h). Local part: 1..64 characters of
 * letters, digits and !#$%&*+/=?^_{|}~- with single dots between them. Domain: labels of
 * 1..63 letters, digits and '-' (not at a label's ends) joined by single dots, at least
 * two labels. Quoted local parts, IP literals and comments are refused. */
bool
valid_email(const char *s)
{
	const char *at, *p, *label;
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, 255);
	if (len == 0 || len > 254)
		return false;
	at = strchr(s, '@');
	if (at == NULL || at == s || at - s > 64 || strchr(at + 1, '@') != NULL)
		return false;
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p == s || p + 1 == at || p[1] == '.')
				return false;
		} else if (!valid_email_local_char(*p)) {
			return false;
		}
	}
	if (strchr(at + 1, '.') == NULL)
		return false;
	label = at + 1;
	for (p = label;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || label[0] == '-' || p[-1] == '-')
				return false;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!valid_email_domain_char(*p)) {
			return false;
		}
	}
	return true;
}

/* True when s is min_len..max_len characters of [A-Za-z0-9_-]. NULL is false. */
bool
valid_token(const char *s, size_t min_len, size_t max_len)
{
	size_t i;
	char c;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max_len)
			return false;
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return i >= min_len;
}

/* n ASCII digits at s? */
static bool
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int
valid_kr_mobile(const char *s, char *out, size_t cap)
{
	size_t len = s != NULL ? strnlen(s, VALID_KR_MOBILE_LEN + 1) : 0;
	char sep = '\0';
	const char *mid, *last;

	if (cap > 0)
		out[0] = '\0';
	if (cap <= VALID_KR_MOBILE_LEN || (len != 11 && len != VALID_KR_MOBILE_LEN) ||
	    strncmp(s, "010", 3) != 0)
		return -1;
	if (len == VALID_KR_MOBILE_LEN) {
		sep = s[3];
		if ((sep != '-' && sep != ' ') || s[8] != sep)
			return -1;
	}
	mid = s + 3 + (sep != '\0');
	last = mid + 4 + (sep != '\0');
	if (!all_digits(mid, 4) || !all_digits(last, 4))
		return -1;
	memcpy(out, "010-", 4);
	memcpy(out + 4, mid, 4);
	out[8] = '-';
	memcpy(out + 9, last, 4);
	out[VALID_KR_MOBILE_LEN] = '\0';
	return 0;
}

/* The value of hex digit c, or -1. */
static int
valid_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* True when c may appear as itself in a redirect path: RFC 3986 unreserved, sub-delims,
 * ':', '@', '/', '?', '#' ('%' is handled by the caller). */
static bool
valid_next_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~!$&'()*+,;=:@/?#", c) != NULL);
}

bool
valid_next_path(const char *s, size_t len)
{
	char decoded[VALID_NEXT_PATH_MAX];
	size_t i, n = 0;
	int hi, lo;
	unsigned char b;
	bool query = false;   /* past the first '?': a value, never resolved as a path */

	if (s == NULL || len == 0 || len > VALID_NEXT_PATH_MAX || s[0] != '/')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '/' && i + 1 < len && s[i + 1] == '/')
			return false;
		if (s[i] != '%') {
			if (!valid_next_char(s[i]))
				return false;
			query = query || s[i] == '?' || s[i] == '#';
			if (!query)
				decoded[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			return false;
		hi = valid_hex(s[i + 1]);
		lo = valid_hex(s[i + 2]);
		if (hi < 0 || lo < 0)
			return false;
		i += 2;
		if (query)
			continue;   /* an encoded '/' or '%' in a query value is data */
		b = (unsigned char)(hi << 4 | lo);
		if (b < 0x20 || b == 0x7f || b == '/' || b == '\\' || b == '"' || b == '%')
			return false;
		decoded[n++] = (char)b;
	}
	return valid_utf8(decoded, n);
}
