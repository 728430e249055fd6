/* pricewatch: the lowest price of a catalog product elsewhere (Naver Shopping), for the
 * product page and its API twin. The shop decides whether the comparison is on (naver.client_id
 * set) and asks lib/clients/pricecmp, which owns the call, its timeout, its "naver" circuit
 * breaker and the Redis cache (fresh and last-known answers): an open breaker or a failed
 * call still answers at once, with the last known price or "unavailable". The handlers
 * (fcgi/catalog.c) call this and render the answer; they never reach Naver themselves.
 *
 * One struct pricewatch per process (it holds the HTTP client, libcurl's connection cache,
 * and the breaker). */
#ifndef JT_PRICEWATCH_H
#define JT_PRICEWATCH_H

#include "clients/pricecmp.h"   /* struct pricecmp_result: what a lookup answers */
#include "shop/catalog.h"

struct conf;
struct log_ctx;
struct redis;
struct pricewatch;

/* The process's price comparison. c and redis must outlive it (redis may be NULL: no cache,
 * no breaker reports). Never NULL. Owned by the caller: pricewatch_free. */
struct pricewatch *pricewatch_new(const struct conf *c, struct redis *redis);

/* Frees pw and sets *pw to NULL. NULL-safe. */
void pricewatch_free(struct pricewatch **pw);

/* The lowest price of product it on Naver Shopping into *out: status PRICECMP_OFF when the
 * comparison is switched off; else the fresh cached answer, a new one from Naver when its
 * breaker allows, or the last known answer (stale) or PRICECMP_UNAVAILABLE. Logs failures
 * and breaker transitions on log (may be NULL). Always fills *out. */
void pricewatch_lowest(struct pricewatch *pw, const struct catalog_item *it,
    const struct log_ctx *log, struct pricecmp_result *out);

/* "off", "found", "none", "unavailable": the name of an answer's status. */
const char *pricewatch_status_name(enum pricecmp_status s);

#endif
