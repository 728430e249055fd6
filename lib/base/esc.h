/* esc: one escaper per output context. Each appends the escaped form of s to out; a NULL s
 * appends nothing. */
#ifndef JT_ESC_H
#define JT_ESC_H

#include "base/buf.h"

/* HTML text and attribute values (always quoted with "): & < > " ' are escaped. */
void esc_html(struct buf *out, const char *s);

/* A URL path segment: everything outside RFC 3986 unreserved is %XX (so '/' is too). */
void esc_url_path(struct buf *out, const char *s);

/* A URL query key or value (application/x-www-form-urlencoded: space becomes %20, not '+'). */
void esc_url_query(struct buf *out, const char *s);

/* The inside of a quoted HTTP header value: '"' and '\' get a backslash, CR, LF and other
 * control bytes are dropped. */
void esc_header_quoted(struct buf *out, const char *s);

/* JSON text placed inside an HTML <script> block: '<', '>', '&', U+2028 and U+2029 become
 * \u escapes so the text cannot close the script element. s must already be JSON. */
void esc_script_json(struct buf *out, const char *json);

#endif
