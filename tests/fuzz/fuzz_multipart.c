/* fuzz_multipart: the multipart/form-data reader never crashes and what it returns keeps its
 * promises (names UTF-8 without controls, text fields UTF-8 without NUL, every content
 * NUL-terminated at its length and inside the body, caps honoured, nothing on error).
 *
 * Input: the first line is the Content-Type header (its boundary read by
 * multipart_boundary); the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/multipart.h"
#include "base/valid.h"
#include "fuzz.h"

#define FUZZ_MAX_LEN 8192
#define FUZZ_MAX_PARTS 8

static void
check_parts(const struct multipart *m, enum multipart_err err, size_t body_len)
{
	const struct multipart_part *got;
	size_t i, j;

	if ((unsigned)err >= MULTIPART__MAX || multipart_strerror(err) == NULL)
		abort();
	if (err != MULTIPART_OK) {
		if (m->n != 0 || m->parts != NULL)
			abort();
		return;
	}
	if (m->n > FUZZ_MAX_PARTS)
		abort();
	for (i = 0; i < m->n; i++) {
		const struct multipart_part *p = &m->parts[i];

		if (p->name == NULL || p->name[0] == '\0' || p->data == NULL ||
		    p->len > body_len || p->data[p->len] != '\0')
			abort();
		if (!valid_utf8(p->name, strlen(p->name)))
			abort();
		for (j = 0; p->name[j] != '\0'; j++)
			if ((unsigned char)p->name[j] < 0x20)
				abort();
		if (p->filename == NULL && (memchr(p->data, '\0', p->len) != NULL ||
		    !valid_utf8(p->data, p->len)))
			abort();
		if (multipart_get(m, p->name, &got) == 1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct multipart m = { 0 };
	const char *line, *body, *boundary = NULL;
	size_t line_len, body_len;
	enum multipart_err err;
	char *ct;

	fuzz_split(data, size, &line, &line_len, &body, &body_len);
	ct = arena_strndup(a, line, line_len);
	err = multipart_boundary(a, ct, &boundary);
	if ((err == MULTIPART_OK) != (boundary != NULL))
		abort();
	if (err == MULTIPART_OK && (strlen(boundary) == 0 ||
	    strlen(boundary) > MULTIPART_BOUNDARY_MAX || !multipart_is_form_data(ct)))
		abort();
	/* A fixed boundary as well, so bodies are explored when the header line is broken. */
	err = multipart_parse(a, body, body_len, boundary != NULL ? boundary : "b", FUZZ_MAX_LEN,
	    FUZZ_MAX_PARTS, &m);
	if (body_len > FUZZ_MAX_LEN && err != MULTIPART_TOO_BIG)
		abort();
	check_parts(&m, err, body_len);
	arena_free(&a);
	return 0;
}
