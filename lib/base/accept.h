/* accept: reading an Accept request header (RFC 9110 section 12.5.1) to choose between the
 * representations a resource has. Pure: no allocation, no I/O.
 *
 * Grammar read: a comma-separated list of media ranges ("*" "/" "*", type "/" "*", or
 * type "/" subtype, tokens compared case-insensitively), each with optional parameters
 * (";" name "=" token or quoted-string); the "q" parameter is a qvalue ("0", "0.5", "1.000",
 * at most three decimals, at most 1). An element that does not follow the grammar is
 * skipped, not fatal: a client's odd header never turns a page into an error. Parameters
 * other than q are read and ignored (no representation here carries any). */
#ifndef JT_ACCEPT_H
#define JT_ACCEPT_H

#include <stdbool.h>

#define ACCEPT_HEADER_MAX 4096   /* a longer header is treated as absent */
#define ACCEPT_RANGES_MAX 64     /* elements looked at; later ones are ignored */

/* How a header accepts one media type. */
struct accept_match {
	int q;            /* quality in thousandths, 0..1000; 0: not acceptable */
	int specificity;  /* of the range that decided q: 2 type/subtype, 1 type/ *, 0 * / *
	                   * or no header; -1 when no range matched (q is then 0) */
};

/* Fills *out with how header (NULL or blank: no header, which accepts everything at q 1000
 * with specificity 0) accepts media type type ("application/json"): the quality of the most
 * specific range that matches it (the highest q among equally specific ones). */
void accept_match(const char *header, const char *type, struct accept_match *out);

/* True when header prefers type a over type b: a is acceptable (q > 0) and either has the
 * higher quality or the same quality from a more specific range. A tie, no header, or a
 * header that accepts neither prefers b: pass the default representation as b.
 * "application/json" vs "text/html": "application/json" and "application/json, * / *" pick
 * a; a browser's "text/html,...,* / *;q=0.8", "* / *" and no header pick b. */
bool accept_prefers(const char *header, const char *a, const char *b);

#endif
