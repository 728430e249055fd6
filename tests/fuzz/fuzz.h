/* fuzz: what the fuzz targets share. An input may start with one line of words that picks
 * what to run (a PG call and an HTTP status, say), so corpus files stay readable; the rest of
 * the input is the bytes under test. Header-only: each target is one program. */
#ifndef JT_FUZZ_H
#define JT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits data at its first '\n': the line before it (without the '\n') and what follows.
 * Without a '\n' the line is empty and the rest is all of data. */
static inline void
fuzz_split(const uint8_t *data, size_t size, const char **line, size_t *line_len,
    const char **rest, size_t *rest_len)
{
	const uint8_t *nl = memchr(data, '\n', size);

	if (nl == NULL) {
		*line = "";
		*line_len = 0;
		*rest = (const char *)data;
		*rest_len = size;
		return;
	}
	*line = (const char *)data;
	*line_len = (size_t)(nl - data);
	*rest = (const char *)nl + 1;
	*rest_len = size - *line_len - 1;
}

/* The index in words (NULL-terminated) of the first blank-separated word of line[0..len)
 * starting at *pos, advancing *pos past it; -1 when it is none of them. */
static inline int
fuzz_word(const char *line, size_t len, size_t *pos, const char *const *words)
{
	size_t start, n;
	int i;

	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	start = *pos;
	while (*pos < len && line[*pos] != ' ')
		(*pos)++;
	n = *pos - start;
	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && memcmp(words[i], line + start, n) == 0)
			return i;
	return -1;
}

/* A decimal number 0..999999 at *pos of line (after blanks), advancing past it; dflt when
 * there is none. */
static inline long
fuzz_number(const char *line, size_t len, size_t *pos, long dflt)
{
	long v = 0;
	size_t digits = 0;

	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	while (*pos < len && line[*pos] >= '0' && line[*pos] <= '9' && digits < 6) {
		v = v * 10 + (line[*pos] - '0');
		(*pos)++;
		digits++;
	}
	return digits > 0 ? v : dflt;
}

/* Aborts unless s holds a NUL within its cap bytes (a fixed-size field was terminated). */
static inline void
fuzz_terminated(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

/* A NUL-terminated malloc'd copy of data[0..size) (the parsers that want C strings). */
static inline char *
fuzz_cstr(const char *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
