/* pricecmp: the lowest price of a product on Naver Shopping, for the product page (seed 004's
 * price comparison). One GET to naver.shop_url (?query=<product name>&display=10&start=1&
 * sort=asc&exclude=used:rental:cbshop) with the client id and secret in headers, through
 * lib/infra/http with naver.timeout_ms as the whole-call timeout, behind a circuit breaker named
 * "naver" (lib/infra/breaker, breaker.* settings), answers cached in Redis:
 *   pricecmp:{product id}       the fresh answer (found or none) for naver.cache_seconds
 *                               (0 = not cached);
 *   pricecmp:{product id}:last  the last known answer for PRICECMP_LAST_KNOWN_SECONDS, shown
 *                               (marked stale, with its age) when the breaker is open or the
 *                               call fails.
 * Both hold the query they answer, so a renamed product is looked up again. The page is never
 * held up for long: the timeout is short and an open breaker fails at once; Redis being down
 * only loses the cache.
 *
 * Two Naver contracts (pg-api-contracts.md section 3): the classic Open API
 * (https://openapi.naver.com/v1/search/shop.json, headers X-Naver-Client-Id /
 * X-Naver-Client-Secret) and the NAVER API HUB gateway
 * (https://naverapihub.apigw.ntruss.com/search/v1/shop, headers X-NCP-APIGW-API-KEY-ID /
 * X-NCP-APIGW-API-KEY). The URL's path picks the headers: a path ending in /search/v1/shop or
 * /search/v1/shop.json is the gateway, anything else the classic API. Same response shape.
 *
 * Off (PRICECMP_OFF, no call, nothing shown) when naver.client_id is empty. */
#ifndef JT_PRICECMP_H
#define JT_PRICECMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"

struct conf;
struct log_ctx;
struct redis;
struct pricecmp;

#define PRICECMP_PRICE_MAX INT64_C(100000000000) /* won (1,000억): above this is garbage */
#define PRICECMP_PRICE_DIGITS 12                 /* most digits of an lprice string */
#define PRICECMP_MALL_MAX 200                    /* bytes of a mall name */
#define PRICECMP_LINK_MAX 2048                   /* bytes of a product link */
#define PRICECMP_TITLE_MAX 400                   /* bytes of a title kept (longer: cut) */
#define PRICECMP_QUERY_MAX 200                   /* bytes of the product name sent (cut at a
                                                  * character boundary) */
#define PRICECMP_ITEMS_MAX 100                   /* items an answer may hold (display <= 100) */
#define PRICECMP_BODY_MAX (512 * 1024)           /* bytes of an answer parsed */
#define PRICECMP_LAST_KNOWN_SECONDS (7 * 86400)  /* life of the last known answer */
#define PRICECMP_PUBLISH_MS 15000                /* breaker report to Redis at most this often
                                                  * (and at every transition) */
#define PRICECMP_PUBLISH_TTL 86400               /* life of those reports in Redis */

/* What the page shows. */
enum pricecmp_status {
	PRICECMP_OFF,          /* naver.client_id is empty: show nothing */
	PRICECMP_FOUND,        /* a lowest price */
	PRICECMP_NONE,         /* Naver answered with no items */
	PRICECMP_UNAVAILABLE,  /* no answer now and none known */
	PRICECMP_STATUS__MAX
};

/* Why no fresh answer could be had (logs, tests); PRICECMP_OK when one was. */
enum pricecmp_rc {
	PRICECMP_OK,
	PRICECMP_ERR_TRANSPORT,     /* no complete HTTP answer: connect, timeout, reset, too big */
	PRICECMP_ERR_SERVER,        /* HTTP 5xx */
	PRICECMP_ERR_RATE_LIMITED,  /* HTTP 429, or errorCode 010 / 012 */
	PRICECMP_ERR_AUTH,          /* HTTP 401 / 403: credentials refused */
	PRICECMP_ERR_BAD_RESPONSE,  /* any other status, or a body not in the documented shape */
	PRICECMP_ERR_BREAKER_OPEN,  /* not called: the breaker failed fast */
	PRICECMP_ERR_USAGE,         /* nothing sent: unusable URL or empty product name */
	PRICECMP_RC__MAX
};

/* Which Naver contract a URL speaks. */
enum pricecmp_api {
	PRICECMP_API_OPENAPI,  /* openapi.naver.com/v1/search/shop.json */
	PRICECMP_API_HUB,      /* naverapihub.apigw.ntruss.com/search/v1/shop */
	PRICECMP_API__MAX
};

/* The cheapest item of an answer. Strings are valid UTF-8, NUL-terminated. */
struct pricecmp_offer {
	int64_t price;                         /* won, 1..PRICECMP_PRICE_MAX */
	char mall[PRICECMP_MALL_MAX + 1];      /* "네이버" for a price-comparison catalog item */
	char link[PRICECMP_LINK_MAX + 1];      /* http:// or https://, printable ASCII */
	char title[PRICECMP_TITLE_MAX + 1];    /* <b> tags stripped, entities decoded */
};

struct pricecmp_result {
	enum pricecmp_status status;
	struct pricecmp_offer offer;   /* FOUND only */
	int64_t fetched_at;            /* Unix seconds Naver gave this answer; 0 for OFF and
	                                * UNAVAILABLE */
	bool cached;                   /* read from Redis, not fetched for this request */
	bool stale;                    /* the last known answer, shown because no fresh one could
	                                * be had (rc says why) */
	enum pricecmp_rc rc;           /* PRICECMP_OK, or why the fresh answer is missing */
};

/* ---- pure parts (unit-tested) ------------------------------------------------------------- */

/* Classifies and parses one Naver answer: status 200 with a strict JSON object holding an
 * "items" array (at most PRICECMP_ITEMS_MAX) of objects, each with "title", "link",
 * "mallName" and "lprice" strings: lprice 1..PRICECMP_PRICE_DIGITS decimal digits, no sign,
 * no leading zero, value 1..PRICECMP_PRICE_MAX; link http(s):// printable ASCII without
 * spaces, at most PRICECMP_LINK_MAX bytes; mallName at most PRICECMP_MALL_MAX bytes. Any item
 * breaking a rule makes the whole answer PRICECMP_ERR_BAD_RESPONSE (a provider sending
 * garbage is not trusted for the rest). An "errorCode" member (Naver sometimes sends errors
 * with 200) is an error. Returns PRICECMP_OK with out->status FOUND (out->offer = the item
 * with the lowest lprice, the first of equals) or NONE (empty items), or an error rc (out is
 * then zeroed with status UNAVAILABLE). out->fetched_at, cached and stale are left 0. */
enum pricecmp_rc pricecmp_parse(long status, const char *body, size_t len,
    struct pricecmp_result *out);

/* Copies a Naver title into out (cap >= 1 bytes) without <b> and </b> tags (any case) and
 * with &amp; &lt; &gt; &quot; &apos; and numeric references (&#39; &#x27;) decoded, except
 * those naming control characters or surrogates (other '&' text is kept as is); cut to fit
 * cap - 1 bytes at a UTF-8 character boundary. in must be valid UTF-8. */
void pricecmp_strip_title(const char *in, char *out, size_t cap);

/* The contract url speaks (see the top of the file). */
enum pricecmp_api pricecmp_api_for_url(const char *url);

/* Appends the request URL for product name (cut to PRICECMP_QUERY_MAX bytes at a character
 * boundary, surrounding spaces removed) to out. Returns 0, or -1 (nothing appended) when the
 * name is empty or not valid UTF-8. */
int pricecmp_request_url(const char *base_url, const char *name, struct buf *out);

/* The cache entry for a FOUND or NONE result answering query: a JSON object. Appends it to
 * out. Returns 0, or -1 for another status. */
int pricecmp_cache_encode(const struct pricecmp_result *r, const char *query, struct buf *out);

/* Reads a cache entry back. Returns 0 and fills *out (status FOUND or NONE, fetched_at, offer;
 * cached set, stale and rc clear) when text is a well-formed entry for this very query, else
 * -1 (anything malformed, out of range or for another query; *out untouched). */
int pricecmp_cache_decode(const char *text, size_t len, const char *query,
    struct pricecmp_result *out);

/* "off", "found", "none", "unavailable"; "?" out of range. */
const char *pricecmp_status_name(enum pricecmp_status s);

/* English name of rc, for logs. */
const char *pricecmp_rc_name(enum pricecmp_rc rc);

/* ---- the lookup ------------------------------------------------------------------------- */

/* True when naver.client_id is set. */
bool pricecmp_enabled(const struct conf *c);

/* The lookup state of one process: its HTTP client (libcurl's connection cache) and its
 * "naver" breaker with the breaker.* settings. c and redis must outlive it (redis may be
 * NULL: no cache, no breaker reports). Never NULL. Owned by the caller: pricecmp_free. */
struct pricecmp *pricecmp_new(const struct conf *c, struct redis *redis);

/* Frees pc and sets *pc to NULL. NULL-safe. */
void pricecmp_free(struct pricecmp **pc);

/* The lowest price of product id named name: OFF when switched off; the fresh cache entry if
 * any; else, when the breaker allows, a call to Naver (its answer cached); else, or when the
 * call failed, the last known answer (stale) or UNAVAILABLE. Logs failures and breaker
 * transitions on log (may be NULL). Always fills *out. */
void pricecmp_lookup(struct pricecmp *pc, int64_t id, const char *name,
    const struct log_ctx *log, struct pricecmp_result *out);

#endif
