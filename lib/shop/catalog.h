/* catalog: the product catalog: pages of active products behind an opaque cursor (newest
 * first, cheapest first or best selling first; by category; by a piece of the name; no
 * OFFSET), one product with its images, the categories, and the five best sellers of the last
 * three days. First pages and the popular list are cached in Redis under a catalog version
 * number; catalog_invalidate bumps it after a product changes. Stock is never taken from the cache (it changes with
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
#define CATALOG_CURSOR_MAX 32     /* room for a cursor's text (18 or 30 characters) */

/* The orders a list can be walked in (the shop's 최신순, 낮은 가격순, 인기순). Each is a keyset
 * on (sort key, id), so a page never repeats or skips a product that stays put, whatever is
 * inserted meanwhile; there is no OFFSET anywhere. */
enum catalog_sort {
	CATALOG_SORT_NEW,       /* id descending */
	CATALOG_SORT_PRICE,     /* price ascending, then id ascending */
	CATALOG_SORT_POPULAR,   /* units sold in the last CATALOG_RANK_DAYS days descending, then
	                         * id descending (a product's rank moves as it sells: a walk
	                         * started before a sale may show it again or not at all, never
	                         * loop) */
	CATALOG_SORT__MAX
};

#define CATALOG_RANK_DAYS 30     /* days of sales the 인기순 order counts, today included */
#define CATALOG_QUERY_MAX 50     /* longest search, in characters */
#define CATALOG_IMAGES_MAX 8     /* images shown on a product page */

/* A place in a list: the sort key and id of the last product a client has seen. id 0 means
 * "from the start" (key is then ignored). */
struct catalog_pos {
	enum catalog_sort sort;
	int64_t key;                /* PRICE: the price; POPULAR: units sold; NEW: unused (0) */
	int64_t id;
};

/* What a list asks for. */
struct catalog_query {
	enum catalog_sort sort;
	int64_t category_id;        /* 0: every category */
	const char *q;              /* a piece of the name to look for (1..CATALOG_QUERY_MAX
	                             * characters of valid text, the caller checked it), or NULL */
	struct catalog_pos after;   /* after.sort must equal sort */
	int limit;                  /* 1..CATALOG_LIMIT_MAX */
};

/* One product as shoppers see it. Strings live in the arena given to the call. */
struct catalog_item {
	int64_t id;
	const char *name;
	int64_t price;              /* won */
	int64_t list_price;         /* won before the discount; 0 when there is none to show */
	int64_t stock;              /* units available now (0: sold out) */
	int64_t seller_id;
	const char *seller;         /* the seller's name */
	int64_t category_id;        /* 0 when the product has none */
	const char *image;          /* the first image's URL, or NULL */
	const char *image_alt;      /* its text alternative ("" when the image says nothing more) */
	const char *description;    /* catalog_get only; NULL in a page */
	int64_t sold;               /* POPULAR pages only: units sold in the ranking window */
};

/* One page of a list. */
struct catalog_page {
	struct catalog_item *items; /* n items in the query's order, in the arena */
	size_t n;
	struct catalog_pos next;    /* next.id > 0: more products follow; pass it as the next
	                             * query's after (or encode it with catalog_pos_encode).
	                             * next.id 0: this is the last page */
	bool from_cache;            /* the product list came from Redis (stock is live anyway) */
};

/* A category of the storefront. */
struct catalog_category {
	int64_t id;
	const char *slug;           /* [a-z0-9-], the ?category= of the list's URL */
	const char *name;
	const char *icon;           /* an image URL, or NULL */
};

/* An image of a product. */
struct catalog_image {
	const char *url;            /* a same-site path under /static/ */
	const char *alt;
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

/* Encodes a position as an opaque cursor. A CATALOG_SORT_NEW position is the id cursor of
 * catalog_cursor_encode (18 characters); the others are 30 characters of base64url over a
 * version byte (2), the sort, the key and the id (8 bytes each, big-endian) and an FNV-1a
 * checksum. out must hold CATALOG_CURSOR_MAX + 1 bytes. Returns 0, or -1 for pos->id < 1, a
 * negative key, or too small an out. */
int catalog_pos_encode(const struct catalog_pos *pos, char *out, size_t cap);

/* Decodes a cursor made by catalog_pos_encode for a list walked in sort: strict as
 * catalog_cursor_decode (canonical base64url, known version, matching checksum, id in
 * 1..INT64_MAX, key >= 0), and the cursor's sort must be sort. Returns 0 and fills *out, or -1
 * (leaving *out untouched). Pure. */
int catalog_pos_decode(const char *s, enum catalog_sort sort, struct catalog_pos *out);

/* The URL spelling of a sort ("new", "price", "popular") and back (0, or -1 when unknown). */
const char *catalog_sort_name(enum catalog_sort s);
int catalog_sort_parse(const char *s, enum catalog_sort *out);

/* The discount rate shown beside a price: floor((list_price - price) * 100 / list_price) in
 * 1..99, or 0 when list_price is 0, not above price, or the rate would round to 0. Pure. */
int catalog_discount_pct(int64_t price, int64_t list_price);

/* A page of active products as q asks (its order, category and search), starting after
 * q->after. The first page of a list without a search is read from the Redis cache when
 * present (key under the current catalog version, the sort, the category and the limit;
 * stored for cache_seconds; 0 = no cache); stock comes from MariaDB in either case, and a
 * product that has become inactive since the page was cached is left out. Searches and later
 * pages are always read from MariaDB (clients cannot fill Redis with keys of their choosing).
 * Memory from a. Returns 0, or -1 on a MariaDB error (logged) or bad arguments. redis may be
 * NULL (no cache). */
int catalog_list(struct db *db, struct redis *redis, struct arena *a,
    const struct catalog_query *q, int cache_seconds, struct catalog_page *out);

/* The storefront's categories in their display order (at most max) into out (strings in a).
 * Returns the count, or -1 on a MariaDB error. */
int catalog_categories(struct db *db, struct arena *a, struct catalog_category *out,
    size_t max);

/* The category whose slug is slug into *out. Returns 1, 0 when there is none, -1 on a
 * MariaDB error. */
int catalog_category_by_slug(struct db *db, struct arena *a, const char *slug,
    struct catalog_category *out);

/* The images of product id in display order, at most CATALOG_IMAGES_MAX, into out (strings in
 * a). Returns the count, or -1 on a MariaDB error. */
int catalog_images(struct db *db, struct arena *a, int64_t id, struct catalog_image *out);

/* The first image of each of the n products in ids (active or not: an order's lines keep
 * theirs) into urls[i] (NULL when the product has none; strings in a). One statement. Returns
 * 0, or -1 on a MariaDB error. */
int catalog_first_images(struct db *db, struct arena *a, const int64_t *ids, size_t n,
    const char **urls);

/* One active product, with its description, list price, category and first image, read from
 * MariaDB (never cached: a primary-key lookup). Returns 1 and fills *out (memory from a), 0
 * when no active product has this id, or -1 on a MariaDB error. */
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

/* One sale of catalog_sales_add_many. */
struct catalog_sale {
	int64_t product_id;
	int64_t quantity;           /* >= 1 */
};

/* catalog_sale_add for v[0..n) in one statement (several lines of one product are summed),
 * for a transaction that marks a batch of orders paid. Returns 0 or an enum db_rc. */
int catalog_sales_add_many(struct db *db, const struct catalog_sale *v, size_t n);

/* Makes every cached page and popular list stale at once (INCR of the catalog version). Call
 * after committing any change to a product's name, price, seller, description or active flag,
 * or after inserting one. Stock changes need no call (stock is read live). Returns the new
 * version (> 0), or -1 when Redis could not be reached (the old entries then live until their
 * TTL, at most catalog.cache_seconds). */
int64_t catalog_invalidate(struct redis *redis);

#endif
