/* multipart: a strict reader of multipart/form-data bodies (RFC 7578 over RFC 2046): the
 * boundary from a Content-Type header, then the parts with their Content-Disposition name and
 * filename. Pure functions over bytes; everything it returns lives in the caller's arena. */
#ifndef JT_MULTIPART_H
#define JT_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/* Longest boundary RFC 2046 allows. */
#define MULTIPART_BOUNDARY_MAX 70

/* One part. */
struct multipart_part {
	const char *name;          /* the form field's name: non-empty, UTF-8, no control bytes */
	const char *filename;      /* a file part's name as sent ("" when no file was chosen: a
	                            * browser still sends the part), or NULL for a text field */
	const char *content_type;  /* the part's Content-Type, or NULL when it sent none */
	const char *data;          /* the content, NUL-terminated after len bytes; a text field's
	                            * is valid UTF-8 without NUL, a file's any bytes */
	size_t len;
};

struct multipart {
	struct multipart_part *parts;  /* in input order, duplicates kept */
	size_t n;
};

enum multipart_err {
	MULTIPART_OK,
	MULTIPART_NOT_MULTIPART,  /* the Content-Type is not multipart/form-data */
	MULTIPART_BAD_BOUNDARY,   /* no boundary parameter, or one RFC 2046 does not allow */
	MULTIPART_TOO_BIG,        /* the body is longer than max_len */
	MULTIPART_TOO_MANY,       /* more than max_parts parts */
	MULTIPART_BAD_FRAMING,    /* no opening delimiter, a delimiter not followed by CRLF or
	                           * "--", no closing delimiter, bytes after it */
	MULTIPART_BAD_HEADER,     /* a part header malformed, too long, unknown or repeated */
	MULTIPART_BAD_DISPOSITION,/* no Content-Disposition, not form-data, no name, a bad or
	                           * repeated parameter */
	MULTIPART_BAD_TEXT,       /* a text field's value is not UTF-8 or holds a NUL */
	MULTIPART__MAX
};

/* The boundary of a Content-Type header "multipart/form-data; boundary=XYZ" (the media type
 * case-insensitive, the boundary maybe quoted). Returns MULTIPART_OK with *out (in a's
 * memory), MULTIPART_NOT_MULTIPART, or MULTIPART_BAD_BOUNDARY. ct may be NULL. */
enum multipart_err multipart_boundary(struct arena *a, const char *ct, const char **out);

/* True when ct's media type is multipart/form-data (whatever its parameters). */
bool multipart_is_form_data(const char *ct);

/* Parses body (len bytes) framed by boundary: "--boundary" CRLF, a part's headers (only
 * Content-Disposition and Content-Type, each once, lines up to 1024 bytes), CRLF, its content,
 * CRLF "--boundary" ... "--boundary--" and at most one CRLF. No preamble, no epilogue, no
 * Content-Transfer-Encoding. On error *out is empty. */
enum multipart_err multipart_parse(struct arena *a, const char *body, size_t len,
    const char *boundary, size_t max_len, size_t max_parts, struct multipart *out);

/* The part named name. Returns 0 with *out when it occurs exactly once, 1 when absent, -1 when
 * it occurs more than once. */
int multipart_get(const struct multipart *m, const char *name, const struct multipart_part **out);

/* An English reason for logs and the refusal's detail. */
const char *multipart_strerror(enum multipart_err e);

#endif
