/* arena: a per-request (or per-job) memory pool; everything allocated from it dies at once. */
#ifndef JT_ARENA_H
#define JT_ARENA_H

#include <stddef.h>

struct arena;

/* Creates an arena whose chunks are at least chunk_size bytes. Never NULL (aborts on OOM). */
struct arena *arena_new(size_t chunk_size);

/* Frees every chunk and the arena itself, then sets *a to NULL. NULL-safe. */
void arena_free(struct arena **a);

/* Releases everything allocated since arena_new, keeping the first chunk for reuse. */
void arena_reset(struct arena *a);

/* Returns n zeroed bytes aligned for any type, owned by the arena. Aborts on OOM or on
 * a size that overflows. n == 0 returns a valid unique pointer. */
void *arena_alloc(struct arena *a, size_t n);

/* Copies s (or its first n bytes) into the arena, NUL-terminated. NULL s returns NULL. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
