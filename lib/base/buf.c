/* buf: a growable, always NUL-terminated byte buffer (see buf.h for the contract). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define BUF_MIN_CAP 64

/* Makes room for at least extra more bytes plus the NUL. Aborts on overflow or OOM. */
static void
buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1) {
		fprintf(stderr, "buf: size overflow\n");
		abort();
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		fprintf(stderr, "buf: out of memory\n");
		abort();
	}
	b->data = p;
	b->cap = cap;
}

/* Zeroes b: a valid empty buffer owning no memory. */
void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

/* Appends n bytes from p (p may be NULL when n == 0). Aborts on OOM or size overflow. */
void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends the C string s. */
void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Appends one byte (which may be NUL; len counts it). */
void
buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

/* Appends printf-formatted text. Aborts on OOM or on a formatting error. */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* va_list form of buf_printf. */
void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		fprintf(stderr, "buf: vsnprintf failed\n");
		abort();
	}
	buf_grow(b, (size_t)n);
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		fprintf(stderr, "buf: vsnprintf failed\n");
		abort();
	}
	b->len += (size_t)n;
}

/* Returns the contents as a C string, "" when nothing was written; owned by b and valid
 * until the next append, reset, release or steal. */
const char *
buf_cstr(struct buf *b)
{
	if (b->data == NULL)
		return "";
	return b->data;
}

/* Forgets the contents, keeps the memory. */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Keeps only the first len bytes; aborts if len > b->len. Keeps the memory. */
void
buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len) {
		fprintf(stderr, "buf: truncate to %zu beyond length %zu\n", len, b->len);
		abort();
	}
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

/* Frees the memory; b is an empty buffer afterwards. */
void
buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Returns the malloc'd contents (never NULL; "" for an empty buffer), owned by the caller
 * who must free() it; b is left empty and owning nothing. */
char *
buf_steal(struct buf *b)
{
	char *p;

	if (b->data == NULL) {
		buf_grow(b, 0);
		b->data[0] = '\0';
	}
	p = b->data;
	buf_init(b);
	return p;
}
