/* buf: a growable byte buffer, always NUL-terminated, owned by whoever holds the struct. */
#ifndef JT_BUF_H
#define JT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;  /* NUL-terminated once anything was written; NULL when empty and unallocated */
	size_t len;  /* bytes written, not counting the NUL */
	size_t cap;  /* bytes allocated */
};

/* A zeroed struct buf is a valid empty buffer; buf_init just zeroes it. */
void buf_init(struct buf *b);

/* Appends bytes. Aborts on OOM or size overflow. */
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Returns the contents as a C string ("" for an empty buffer); owned by b. */
const char *buf_cstr(struct buf *b);

/* Forgets the contents but keeps the memory. */
void buf_reset(struct buf *b);

/* Shortens the contents to their first len bytes (len <= b->len), keeping the memory. */
void buf_truncate(struct buf *b, size_t len);

/* Frees the memory; b is empty and reusable afterwards. */
void buf_release(struct buf *b);

/* Hands the data to the caller (free() it) and leaves b empty. Never NULL. */
char *buf_steal(struct buf *b);

#endif
