/* catalog: the product catalog: pages of active products behind an opaque cursor (newest
 * first, no OFFSET), one product, and the five best sellers of the last three days. Pages and
 * the popular list are cached in Redis under a catalog version number; catalog_invalidate
 * bumps it after a product changes. Stock is never taken from the cache (it changes with
 * every order): it is read live from MariaDB on every request. Redis being down only costs
 * speed: everything is then read from MariaDB. */
#ifndef JT_CATALOG_H
#define JT_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;
struct redis;

#define CATALOG_LIMIT_MAX 100     /* most products on one page */
#define CATALOG_POPULAR_MAX 5     /* products in the popular list */
#define CATALOG_POPULAR_DAYS 3    /* days counted by the popular list, today included */
#define CATALOG_CURSOR_MAX 32     /* room for a cursor's text (they are 18 characters) */

/* One product as shoppers see it. Strings live in the arena given to the call. */
struct catalog_item {
	int64_t id;
	const char *name;
	int64_t price;              /* won */
	int64_t stock;              /* units available now (0: sold out) */
	const char *seller;         /* the seller's name */
	const char *description;    /* catalog_get only; NULL in a page */
};

/* One page of the list. */
struct catalog_page {
	struct catalog_item *items; /* n items, id descending, in the arena */
	size_t n;
	int64_t next_after;         /* > 0: more products follow; pass it as after_id (or encode
	                             * it with catalog_cursor_encode). 0: this is the last page */
	bool from_cache;            /* the product list came from Redis (stock is live anyway) */
};

/* One line of the popular list. */
struct catalog_popular {
	int64_t id;
	const char *name;
	int64_t sale_count;         /* units sold in the last CATALOG_POPULAR_DAYS days */
};

/* Encodes a position (the id of the last product a client has seen, >= 1) as an opaque
 * cursor: 18 characters of base64url (no padding) over a version byte, the id and a checksum.
 * The checksum catches a truncated, mistyped or edited cursor; it is not a signature (anyone
 * who reads this code can make a cursor, which only names a position in a public list).
 * out must hold CATALOG_CURSOR_MAX + 1 bytes. Returns 0, or -1 when after_id < 1 or out is
 * too small. */
int catalog_cursor_encode(int64_t after_id, char *out, size_t cap);

/* Decodes a cursor made by catalog_cursor_encode. Strict: exactly 18 characters of the
 * base64url alphabet in canonical form, the current version, a matching checksum, an id in
 * 1..INT64_MAX. Returns 0 and stores the id, or -1 (leaving *after_id untouched) for anything
 * else, NULL included. Pure. */
int catalog_cursor_decode(const char *s, int64_t *after_id);

/* The page of active products with id < after_id (after_id 0: from the newest), at most
 * limit (1..CATALOG_LIMIT_MAX) of them, id descending. The product list is read from the
 * Redis cache when present (key under the current catalog version, stored for cache_seconds;
 * 0 = no cache; only the first page and pages after an existing active product are stored);
 * stock comes from MariaDB in either case, and a product that has become inactive since the
 * page was cached is left out. Memory from a. Returns 0, or -1 on a
 * MariaDB error (logged) or bad arguments. redis may be NULL (no cache). */
int catalog_list(struct db *db, struct redis *redis, struct arena *a, int64_t after_id,
    int limit, int cache_seconds, struct catalog_page *out);

/* One active product, with its description, read from MariaDB (never cached: a primary-key
 * lookup). Returns 1 and fills *out (memory from a), 0 when no active product has this id,
 * or -1 on a MariaDB error. */
int catalog_get(struct db *db, struct arena *a, int64_t id, struct catalog_item *out);

/* The best sellers among active products: the sum of sales_daily.quantity over the last
 * CATALOG_POPULAR_DAYS days (today included, by the database's date), highest first, ties by
 * product id ascending, products that sold nothing left out; at most CATALOG_POPULAR_MAX.
 * Cached in Redis for cache_seconds (0 = no cache) under the catalog version. Fills out
 * (CATALOG_POPULAR_MAX entries, names in a) and *n. Returns 0, or -1 on a MariaDB error. */
int catalog_popular(struct db *db, struct redis *redis, struct arena *a, int cache_seconds,
    struct catalog_popular *out, size_t *n);

/* Counts quantity units of product_id as sold today (sales_daily, today by the database's
 * date). Call inside the transaction that marks an order paid, once per order line, so the
 * count commits or rolls back with the payment. quantity >= 1. Returns 0 or an enum db_rc
 * (< 0). */
int catalog_sale_add(struct db *db, int64_t product_id, int64_t quantity);

/* Makes every cached page and popular list stale at once (INCR of the catalog version). Call
 * after committing any change to a product's name, price, seller, description or active flag,
 * or after inserting one. Stock changes need no call (stock is read live). Returns the new
 * version (> 0), or -1 when Redis could not be reached (the old entries then live until their
 * TTL, at most catalog.cache_seconds). */
int64_t catalog_invalidate(struct redis *redis);

#endif
