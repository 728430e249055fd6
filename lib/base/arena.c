/* arena: a chunked bump allocator; everything allocated from one arena dies with it. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

#define ARENA_ALIGN 16
#define ARENA_MIN_CHUNK 256

/* One malloc'd block. The usable bytes follow the header, starting at the first
 * ARENA_ALIGN boundary; ptr is the next free byte, end one past the last. */
struct arena_chunk {
	struct arena_chunk *next;
	char *ptr;
	char *end;
};

/* chunks heads the list and is the chunk small allocations come from; big allocations are
 * linked in behind it. first is the chunk made by arena_new, kept by arena_reset. */
struct arena {
	struct arena_chunk *chunks;
	struct arena_chunk *first;
	size_t chunk_size;
};

static void
arena_die(const char *what)
{
	fprintf(stderr, "arena: %s\n", what);
	abort();
}

static char *
arena_chunk_start(struct arena_chunk *c)
{
	uintptr_t p = (uintptr_t)(c + 1);

	return (char *)((p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
}

/* A chunk with at least size usable, aligned bytes. */
static struct arena_chunk *
arena_chunk_new(size_t size)
{
	struct arena_chunk *c;
	size_t total;

	if (size > SIZE_MAX - sizeof(*c) - ARENA_ALIGN)
		arena_die("size overflow");
	total = sizeof(*c) + ARENA_ALIGN + size;
	c = malloc(total);
	if (c == NULL)
		arena_die("out of memory");
	c->next = NULL;
	c->ptr = arena_chunk_start(c);
	c->end = (char *)c + total;
	return c;
}

/* Creates an arena with chunks of at least chunk_size bytes (raised to a small minimum) and
 * allocates its first chunk. Never NULL; aborts on OOM. Free with arena_free. */
struct arena *
arena_new(size_t chunk_size)
{
	struct arena *a;

	if (chunk_size < ARENA_MIN_CHUNK)
		chunk_size = ARENA_MIN_CHUNK;
	a = malloc(sizeof(*a));
	if (a == NULL)
		arena_die("out of memory");
	a->chunk_size = chunk_size;
	a->first = arena_chunk_new(chunk_size);
	a->chunks = a->first;
	return a;
}

/* Frees every chunk and the arena, then sets *a to NULL. NULL-safe (a or *a). */
void
arena_free(struct arena **a)
{
	struct arena_chunk *c, *next;

	if (a == NULL || *a == NULL)
		return;
	for (c = (*a)->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(*a);
	*a = NULL;
}

/* Frees every chunk but the first and makes the first one empty again. Every pointer the
 * arena handed out is invalid afterwards. */
void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		if (c != a->first)
			free(c);
	}
	a->chunks = a->first;
	a->first->next = NULL;
	a->first->ptr = arena_chunk_start(a->first);
}

/* Returns n zeroed bytes aligned to 16, owned by the arena. n == 0 yields a unique pointer
 * (it takes 16 bytes). Requests larger than a quarter chunk get a chunk of their own, so
 * the current chunk's free space is not wasted. Aborts on OOM or size overflow. */
void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->chunks;
	size_t need;
	char *p;

	if (n > SIZE_MAX - ARENA_ALIGN)
		arena_die("size overflow");
	need = n == 0 ? ARENA_ALIGN : (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if ((size_t)(c->end - c->ptr) < need) {
		c = arena_chunk_new(need > a->chunk_size / 4 ? need : a->chunk_size);
		if (need > a->chunk_size / 4) {
			/* Behind the current chunk, which keeps serving small requests. */
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	p = c->ptr;
	c->ptr += need;
	memset(p, 0, n);
	return p;
}

/* Copies the first n bytes of s (fewer if s has a NUL earlier) into the arena, adding a NUL.
 * Returns NULL only when s is NULL. */
char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (s == NULL)
		return NULL;
	n = strnlen(s, n);
	if (n == SIZE_MAX)
		arena_die("size overflow");
	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Copies the C string s into the arena. Returns NULL only when s is NULL. */
char *
arena_strdup(struct arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return arena_strndup(a, s, strlen(s));
}

/* Formats into a new NUL-terminated string owned by the arena. Aborts on a formatting
 * error. */
char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		arena_die("vsnprintf failed");
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	n = vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		arena_die("vsnprintf failed");
	return p;
}
