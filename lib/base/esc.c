/* esc: one escaper per output context (HTML, URL path/query, quoted header, script JSON). */
#include <stddef.h>

#include "base/buf.h"
#include "base/esc.h"

static const char esc_hex[] = "0123456789ABCDEF";

/* Appends s with every byte for which repl() returns a replacement swapped for it. Runs of
 * bytes that need nothing are copied in one append. */
static void
esc_runs(struct buf *out, const char *s, const char *(*repl)(unsigned char c))
{
	const char *run = s, *p, *r;

	for (p = s; *p != '\0'; p++) {
		r = repl((unsigned char)*p);
		if (r == NULL)
			continue;
		buf_append(out, run, (size_t)(p - run));
		buf_puts(out, r);
		run = p + 1;
	}
	buf_append(out, run, (size_t)(p - run));
}

/* The HTML entity for c, or NULL when c is safe in text and in a "-quoted attribute. */
static const char *
esc_html_repl(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

/* Appends s escaped for HTML text or a double-quoted attribute value. NULL appends nothing. */
void
esc_html(struct buf *out, const char *s)
{
	if (s == NULL)
		return;
	esc_runs(out, s, esc_html_repl);
}

/* True for the RFC 3986 unreserved set: A-Z a-z 0-9 - . _ ~ */
static int
esc_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes every byte outside the unreserved set, with uppercase hex digits. */
static void
esc_percent(struct buf *out, const char *s)
{
	const unsigned char *p;
	char enc[3];

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (esc_is_unreserved(*p)) {
			buf_putc(out, (char)*p);
			continue;
		}
		enc[0] = '%';
		enc[1] = esc_hex[*p >> 4];
		enc[2] = esc_hex[*p & 0x0f];
		buf_append(out, enc, sizeof(enc));
	}
}

/* Appends s as one URL path segment ('/' becomes %2F). NULL appends nothing. */
void
esc_url_path(struct buf *out, const char *s)
{
	esc_percent(out, s);
}

/* Appends s as a query key or value (space becomes %20, '&', '=', '+' are encoded). NULL
 * appends nothing. */
void
esc_url_query(struct buf *out, const char *s)
{
	esc_percent(out, s);
}

/* Appends s for the inside of a quoted header value: '"' and '\' get a backslash; bytes
 * below 0x20 (CR, LF, TAB, ...) and DEL are dropped. NULL appends nothing. */
void
esc_header_quoted(struct buf *out, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			continue;
		if (*p == '"' || *p == '\\')
			buf_putc(out, '\\');
		buf_putc(out, (char)*p);
	}
}

/* True when p starts with the UTF-8 form of U+2028 or U+2029 (E2 80 A8 / E2 80 A9). Reads
 * no further than the string's NUL. */
static int
esc_is_line_sep(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9);
}

/* Appends the JSON text json for a <script> element: '<', '>', '&' and the UTF-8 forms of
 * U+2028 / U+2029 become \u escapes. Since those characters only occur inside JSON strings
 * or as invalid JSON, the result is the same JSON value. NULL appends nothing. */
void
esc_script_json(struct buf *out, const char *json)
{
	const char *run, *p;

	if (json == NULL)
		return;
	run = json;
	for (p = json; *p != '\0'; p++) {
		const char *r = NULL;
		size_t skip = 1;

		if (*p == '<')
			r = "\\u003c";
		else if (*p == '>')
			r = "\\u003e";
		else if (*p == '&')
			r = "\\u0026";
		else if (esc_is_line_sep(p)) {
			r = (unsigned char)p[2] == 0xa8 ? "\\u2028" : "\\u2029";
			skip = 3;
		}
		if (r == NULL)
			continue;
		buf_append(out, run, (size_t)(p - run));
		buf_puts(out, r);
		p += skip - 1;
		run = p + 1;
	}
	buf_append(out, run, (size_t)(p - run));
}
