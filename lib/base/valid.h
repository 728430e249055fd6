/* valid: input validators. Each checks raw bytes and, when a value is produced, stores it typed. */
#ifndef JT_VALID_H
#define JT_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no NUL byte. */
bool valid_utf8(const char *s, size_t len);

/* Decodes one UTF-8 sequence at s[0..len), len > 0. Returns its length (1..4) and stores the
 * code point, or returns 0 when the sequence is malformed, overlong, a surrogate, above
 * U+10FFFF or truncated. NUL decodes (length 1, code point 0): callers decide. The one UTF-8
 * decoder of the project. */
size_t valid_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* The length in bytes of the longest prefix of the NUL-terminated s that holds at most
 * max_bytes bytes without splitting a UTF-8 sequence (strlen(s) when all of s fits). Cuts
 * text to a column's width: copy that many bytes. */
size_t valid_utf8_cut_bytes(const char *s, size_t max_bytes);

/* The length in bytes of the first max_chars characters of the valid UTF-8 string s (all of
 * it when it has fewer; a malformed sequence ends the count). */
size_t valid_utf8_cut_chars(const char *s, size_t max_chars);

/* Parses a strict base-10 integer: optional '-', digits, no spaces or '+', no leading zeros
 * (except "0"; "-0" is refused), within [min, max]. Returns 0 and stores it, or -1 leaving
 * *out untouched. */
int valid_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Free text a person typed: valid UTF-8, 1..max_chars code points, no control characters
 * (tab and, when multiline, CR/LF allowed), not only whitespace. */
bool valid_text(const char *s, size_t len, size_t max_chars, bool multiline);

/* An e-mail address as a shop would accept it: local@domain, <= 254 bytes, ASCII, one '@',
 * a dot in the domain, no spaces, quotes or angle brackets. */
bool valid_email(const char *s);

/* An opaque token: min_len..max_len characters of [A-Za-z0-9_-]. */
bool valid_token(const char *s, size_t min_len, size_t max_len);

#define VALID_KR_MOBILE_LEN 13  /* "010-1234-5678" */

/* A Korean mobile number as a shopper types it: 010, four digits, four digits, written
 * together ("01012345678") or with one '-' or one space between the groups, the same both
 * times ("010-1234-5678", "010 1234 5678"). Anything else (other prefixes, "+82", other
 * grouping, other characters) is refused. Writes the canonical "010-1234-5678" into out
 * (cap > VALID_KR_MOBILE_LEN) and returns 0, or returns -1 with out "" (when cap > 0). */
int valid_kr_mobile(const char *s, char *out, size_t cap);

#define VALID_NEXT_PATH_MAX 512   /* bytes of a path a redirect may return to */

/* A path on this site that a redirect may send the browser to (a ?next= parameter, a form's
 * next field, the return path kept in an OAuth state): the one rule for every Location built
 * from input. Accepted: 1..VALID_NEXT_PATH_MAX bytes, '/' first, then only RFC 3986 URL
 * characters (letters, digits, "-._~!$&'()*+,;=:@/?#" and %XX with two hex digits), with
 *   - no "//" anywhere (a leading one names another host; elsewhere it has no use);
 *   - no '\', '"', space, control or non-ASCII byte (browsers turn '\' into '/' and strip
 *     tab, CR and LF before parsing; '"' is how a quoted header escape used to smuggle
 *     '\' in);
 *   - in the path (before the first '?' or '#'), no %XX that decodes to '/', '\', '"', '%'
 *     (a second decoding) or a control byte, and the path's decoded bytes are well-formed
 *     UTF-8 (no overlong '/'); in the query and fragment any %XX is data (the login page's
 *     /login?next=%2Fadmin) — no URL parser resolves it.
 * Such a path resolves to this site's host under every URL parser (WHATWG or RFC 3986). The
 * caller uses it exactly as given: it is never decoded. s need not be NUL-terminated; NULL
 * is false. */
bool valid_next_path(const char *s, size_t len);

#endif
