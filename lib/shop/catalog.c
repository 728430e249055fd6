/* catalog: product pages behind an opaque cursor, one product, the popular list, and their
 * Redis cache under a version number (see catalog.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "shop/catalog.h"
#include "infra/db.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/redis.h"
#include "base/valid.h"

static const char SQL_PAGE_FIRST[] =
    "SELECT p.id, p.name, p.price, COALESCE(s.available, 0), e.name"
    " FROM products p JOIN sellers e ON e.id = p.seller_id"
    " LEFT JOIN stock s ON s.product_id = p.id"
    " WHERE p.active = 1 ORDER BY p.id DESC LIMIT ?";
/* From the cursor's product itself (<=), so we learn whether it exists (see page_from_db). */
static const char SQL_PAGE_FROM[] =
    "SELECT p.id, p.name, p.price, COALESCE(s.available, 0), e.name"
    " FROM products p JOIN sellers e ON e.id = p.seller_id"
    " LEFT JOIN stock s ON s.product_id = p.id"
    " WHERE p.active = 1 AND p.id <= ? ORDER BY p.id DESC LIMIT ?";
/* Live stock (and the active flag) for a cached page: its id range, newest first. */
static const char SQL_STOCK_RANGE[] =
    "SELECT p.id, COALESCE(s.available, 0) FROM products p"
    " LEFT JOIN stock s ON s.product_id = p.id"
    " WHERE p.active = 1 AND p.id BETWEEN ? AND ? ORDER BY p.id DESC";
static const char SQL_GET[] =
    "SELECT p.id, p.name, p.price, COALESCE(s.available, 0), e.name, p.description"
    " FROM products p JOIN sellers e ON e.id = p.seller_id"
    " LEFT JOIN stock s ON s.product_id = p.id"
    " WHERE p.id = ? AND p.active = 1";
/* The sum is capped at INT64_MAX so no planted row can make it unreadable. */
static const char SQL_POPULAR[] =
    "SELECT p.id, p.name, LEAST(SUM(d.quantity), 9223372036854775807) AS sold"
    " FROM sales_daily d JOIN products p ON p.id = d.product_id"
    " WHERE d.day BETWEEN CURRENT_DATE() - INTERVAL ? DAY AND CURRENT_DATE() AND p.active = 1"
    " GROUP BY p.id, p.name HAVING sold > 0 ORDER BY sold DESC, p.id ASC LIMIT ?";
static const char SQL_SALE_ADD[] =
    "INSERT INTO sales_daily (product_id, day, quantity) VALUES (?, CURRENT_DATE(), ?)"
    " ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)";

/* Redis keys: the version, and entries that embed it so a bump orphans them all. */
static const char KEY_VERSION[] = "catalog:version";
#define KEY_MAX 128

/* The cursor before base64url: a version byte, the id (8 bytes, big-endian) and an FNV-1a
 * checksum of those 9 bytes (4 bytes, big-endian): 13 bytes, always 18 characters. */
#define CURSOR_VERSION 1
#define CURSOR_BYTES 13
#define CURSOR_CHARS 18

/* Largest cached value we read back (100 products of 200-character names and sellers fit). */
#define CACHE_VALUE_MAX (1024 * 1024)

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- the cursor ----------------------------------------------------------------------- */

/* base64url without padding of in[0..n) into out; returns the length or 0 when it does not
 * fit (cap counts the NUL). */
static size_t
b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0, need = (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
	uint32_t v;

	if (need + 1 > cap)
		return 0;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = B64URL[v >> 18 & 63];
		out[o++] = B64URL[v >> 12 & 63];
		out[o++] = B64URL[v >> 6 & 63];
		out[o++] = B64URL[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = B64URL[v >> 18 & 63];
		out[o++] = B64URL[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = B64URL[v >> 18 & 63];
		out[o++] = B64URL[v >> 12 & 63];
		out[o++] = B64URL[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64url_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(B64URL, c);
	return p != NULL ? (int)(p - B64URL) : -1;
}

/* Decodes unpadded base64url s[0..n) into out (cap bytes). Returns the decoded length, or -1
 * on a character outside the alphabet, an impossible length, or no room. Non-canonical
 * trailing bits are caught by the caller re-encoding. */
static long
b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	size_t i, o = 0;
	uint32_t v = 0;
	int bits = 0, d;

	if (n % 4 == 1 || (n / 4) * 3 + (n % 4 == 0 ? 0 : n % 4 - 1) > cap)
		return -1;
	for (i = 0; i < n; i++) {
		d = b64url_value(s[i]);
		if (d < 0)
			return -1;
		v = (v << 6 | (uint32_t)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	return (long)o;
}

/* 32-bit FNV-1a of p[0..n). */
static uint32_t
fnv1a32(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

int
catalog_cursor_encode(int64_t after_id, char *out, size_t cap)
{
	unsigned char raw[CURSOR_BYTES];
	uint64_t v = (uint64_t)after_id;
	uint32_t sum;
	int i;

	if (after_id < 1)
		return -1;
	raw[0] = CURSOR_VERSION;
	for (i = 0; i < 8; i++)
		raw[1 + i] = (unsigned char)(v >> (56 - 8 * i));
	sum = fnv1a32(raw, 9);
	for (i = 0; i < 4; i++)
		raw[9 + i] = (unsigned char)(sum >> (24 - 8 * i));
	return b64url_encode(raw, sizeof(raw), out, cap) == CURSOR_CHARS ? 0 : -1;
}

int
catalog_cursor_decode(const char *s, int64_t *after_id)
{
	unsigned char raw[CURSOR_BYTES];
	char again[CURSOR_CHARS + 1];
	uint64_t v = 0;
	uint32_t sum = 0;
	int i;

	if (s == NULL || strnlen(s, CURSOR_CHARS + 1) != CURSOR_CHARS ||
	    b64url_decode(s, CURSOR_CHARS, raw, sizeof(raw)) != CURSOR_BYTES ||
	    raw[0] != CURSOR_VERSION)
		return -1;
	for (i = 0; i < 8; i++)
		v = v << 8 | raw[1 + i];
	for (i = 0; i < 4; i++)
		sum = sum << 8 | raw[9 + i];
	if (sum != fnv1a32(raw, 9) || v < 1 || v > (uint64_t)INT64_MAX)
		return -1;
	/* Canonical form only (no stray bits in the last character): one text per position. */
	if (catalog_cursor_encode((int64_t)v, again, sizeof(again)) != 0 || strcmp(again, s) != 0)
		return -1;
	*after_id = (int64_t)v;
	return 0;
}

/* ---- the cache ------------------------------------------------------------------------ */

/* The current catalog version: 0 when never bumped, -1 when Redis is unusable (no cache). */
static int64_t
cache_version(struct redis *redis)
{
	redisReply *rep;
	int64_t v = -1;

	if (redis == NULL)
		return -1;
	rep = redis_cmdl(redis, "GET", KEY_VERSION, NULL);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_NIL)
		v = 0;
	else if (rep->type != REDIS_REPLY_STRING || valid_int64(rep->str, 0, INT64_MAX, &v) != 0)
		log_warn(NULL, "catalog: %s holds no version; not caching", KEY_VERSION);
	freeReplyObject(rep);
	return v;
}

/* The cached value at key parsed as JSON (caller puts it), or NULL on a miss or any error. */
static struct json_object *
cache_get(struct redis *redis, const char *key)
{
	struct json_object *o = NULL;
	redisReply *rep = redis_cmdl(redis, "GET", key, NULL);

	if (rep == NULL)
		return NULL;
	if (rep->type == REDIS_REPLY_STRING &&
	    jparse(rep->str, rep->len, CACHE_VALUE_MAX, 4, &o) != JPARSE_OK) {
		log_warn(NULL, "catalog: unreadable cache entry %s ignored", key);
		o = NULL;
	}
	freeReplyObject(rep);
	return o;
}

/* Stores obj's JSON text at key for ttl seconds; takes obj. Failures only cost speed. */
static void
cache_put(struct redis *redis, const char *key, int ttl, struct json_object *obj)
{
	char ttl_s[16];
	redisReply *rep;

	snprintf(ttl_s, sizeof(ttl_s), "%d", ttl);
	rep = redis_cmdl(redis, "SET", key,
	    json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN), "EX", ttl_s, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		log_warn(NULL, "catalog: could not cache %s", key);
	freeReplyObject(rep);
	json_object_put(obj);
}

/* Element i of array arr as a JSON integer in [min, max]; 0 or -1. */
static int
elem_int(struct json_object *arr, size_t i, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *e = json_object_array_get_idx(arr, i);

	if (e == NULL || !json_object_is_type(e, json_type_int))
		return -1;
	*out = json_object_get_int64(e);
	return *out >= min && *out <= max ? 0 : -1;
}

/* Element i of array arr as a string copied into a; 0 or -1. */
static int
elem_str(struct arena *a, struct json_object *arr, size_t i, const char **out)
{
	struct json_object *e = json_object_array_get_idx(arr, i);

	if (e == NULL || !json_object_is_type(e, json_type_string))
		return -1;
	*out = arena_strndup(a, json_object_get_string(e), (size_t)json_object_get_string_len(e));
	return 0;
}

/* A cached page {"items": [[id, name, price, seller], ...], "next": N} into *out (stock not
 * filled). 0, or -1 when its shape is not what page_to_json writes. */
static int
page_from_json(struct arena *a, struct json_object *o, int limit, struct catalog_page *out)
{
	struct json_object *items, *next, *row;
	size_t i, n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "items", &items) ||
	    !json_object_is_type(items, json_type_array) ||
	    !json_object_object_get_ex(o, "next", &next) || !json_object_is_type(next, json_type_int))
		return -1;
	n = json_object_array_length(items);
	if (n > (size_t)limit || json_object_get_int64(next) < 0)
		return -1;
	out->items = arena_alloc(a, (n > 0 ? n : 1) * sizeof(*out->items));
	for (i = 0; i < n; i++) {
		struct catalog_item *it = &out->items[i];

		row = json_object_array_get_idx(items, i);
		if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) != 4 ||
		    elem_int(row, 0, 1, INT64_MAX, &it->id) != 0 ||
		    elem_str(a, row, 1, &it->name) != 0 ||
		    elem_int(row, 2, 1, INT64_MAX, &it->price) != 0 ||
		    elem_str(a, row, 3, &it->seller) != 0)
			return -1;
		if (i > 0 && it->id >= out->items[i - 1].id)
			return -1;
	}
	out->n = n;
	out->next_after = json_object_get_int64(next);
	return 0;
}

static struct json_object *
page_to_json(const struct catalog_page *p)
{
	struct json_object *o = json_object_new_object(), *items = json_object_new_array();
	size_t i;

	for (i = 0; i < p->n; i++) {
		struct json_object *row = json_object_new_array();

		json_object_array_add(row, json_object_new_int64(p->items[i].id));
		json_object_array_add(row, json_object_new_string(p->items[i].name));
		json_object_array_add(row, json_object_new_int64(p->items[i].price));
		json_object_array_add(row, json_object_new_string(p->items[i].seller));
		json_object_array_add(items, row);
	}
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next", json_object_new_int64(p->next_after));
	return o;
}

/* ---- the list ------------------------------------------------------------------------- */

/* Reads the page from MariaDB (stock included). *cacheable is set when the page may be
 * cached: the first page, or a cursor naming an active product (as every cursor we hand out
 * does). A cursor forged for any other id still gets its page, but no cache entry, so
 * clients cannot fill Redis with keys of their choosing. 0 or -1. */
static int
page_from_db(struct db *db, struct arena *a, int64_t after_id, int limit,
    struct catalog_page *out, bool *cacheable)
{
	struct db_res res;
	int64_t rows;
	size_t i, skip = 0, avail;

	/* One row more than asked tells whether another page follows; with a cursor, one more
	 * again for the cursor's own product. */
	if (after_id == 0)
		rows = db_query(db, a, &res, SQL_PAGE_FIRST, "i", (int64_t)limit + 1);
	else
		rows = db_query(db, a, &res, SQL_PAGE_FROM, "ii", after_id, (int64_t)limit + 2);
	if (rows < 0)
		return -1;
	if (after_id != 0 && rows > 0 && db_res_i64(&res, 0, 0) == after_id)
		skip = 1;
	*cacheable = after_id == 0 || skip == 1;
	avail = (size_t)rows - skip;
	out->n = avail > (size_t)limit ? (size_t)limit : avail;
	out->items = arena_alloc(a, (out->n > 0 ? out->n : 1) * sizeof(*out->items));
	for (i = 0; i < out->n; i++) {
		struct catalog_item *it = &out->items[i];

		it->id = db_res_i64(&res, skip + i, 0);
		it->name = db_res_str(&res, skip + i, 1);
		it->price = db_res_i64(&res, skip + i, 2);
		it->stock = db_res_i64(&res, skip + i, 3);
		it->seller = db_res_str(&res, skip + i, 4);
	}
	out->next_after = avail > (size_t)limit ? out->items[out->n - 1].id : 0;
	return 0;
}

/* Fills in live stock for a page read from the cache and drops products that are no longer
 * active. 0 or -1. */
static int
page_live_stock(struct db *db, struct arena *a, struct catalog_page *p)
{
	struct db_res res;
	int64_t rows;
	size_t i, j = 0, kept = 0;

	if (p->n == 0)
		return 0;
	rows = db_query(db, a, &res, SQL_STOCK_RANGE, "ii", p->items[p->n - 1].id, p->items[0].id);
	if (rows < 0)
		return -1;
	/* Both lists run id descending: one merge pass. */
	for (i = 0; i < p->n; i++) {
		while (j < (size_t)rows && db_res_i64(&res, j, 0) > p->items[i].id)
			j++;
		if (j == (size_t)rows || db_res_i64(&res, j, 0) != p->items[i].id)
			continue;  /* inactive now */
		p->items[kept] = p->items[i];
		p->items[kept].stock = db_res_i64(&res, j, 1);
		kept++;
	}
	p->n = kept;
	return 0;
}

int
catalog_list(struct db *db, struct redis *redis, struct arena *a, int64_t after_id,
    int limit, int cache_seconds, struct catalog_page *out)
{
	struct json_object *cached;
	char key[KEY_MAX] = "";
	int64_t version = -1;
	bool cacheable = false;

	memset(out, 0, sizeof(*out));
	if (after_id < 0 || limit < 1 || limit > CATALOG_LIMIT_MAX)
		return -1;
	if (cache_seconds > 0)
		version = cache_version(redis);
	if (version >= 0) {
		snprintf(key, sizeof(key), "catalog:%" PRId64 ":list:%" PRId64 ":%d", version,
		    after_id, limit);
		cached = cache_get(redis, key);
		if (cached != NULL) {
			int rc = page_from_json(a, cached, limit, out);

			json_object_put(cached);
			if (rc == 0) {
				out->from_cache = true;
				return page_live_stock(db, a, out);
			}
			log_warn(NULL, "catalog: cache entry %s has a bad shape; reading MariaDB", key);
			memset(out, 0, sizeof(*out));
		}
	}
	if (page_from_db(db, a, after_id, limit, out, &cacheable) != 0)
		return -1;
	if (version >= 0 && cacheable)
		cache_put(redis, key, cache_seconds, page_to_json(out));
	return 0;
}

/* ---- one product ---------------------------------------------------------------------- */

int
catalog_get(struct db *db, struct arena *a, int64_t id, struct catalog_item *out)
{
	struct db_res res;
	int64_t rows;

	memset(out, 0, sizeof(*out));
	rows = db_query(db, a, &res, SQL_GET, "i", id);
	if (rows < 0)
		return -1;
	if (rows == 0)
		return 0;
	out->id = db_res_i64(&res, 0, 0);
	out->name = db_res_str(&res, 0, 1);
	out->price = db_res_i64(&res, 0, 2);
	out->stock = db_res_i64(&res, 0, 3);
	out->seller = db_res_str(&res, 0, 4);
	out->description = db_res_str(&res, 0, 5);
	return 1;
}

/* ---- popular products ----------------------------------------------------------------- */

/* A cached list [[id, name, count], ...] into out; 0, or -1 when its shape is wrong. */
static int
popular_from_json(struct arena *a, struct json_object *o, struct catalog_popular *out,
    size_t *n)
{
	size_t i, len;

	if (!json_object_is_type(o, json_type_array))
		return -1;
	len = json_object_array_length(o);
	if (len > CATALOG_POPULAR_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		struct json_object *row = json_object_array_get_idx(o, i);

		if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) != 3 ||
		    elem_int(row, 0, 1, INT64_MAX, &out[i].id) != 0 ||
		    elem_str(a, row, 1, &out[i].name) != 0 ||
		    elem_int(row, 2, 1, INT64_MAX, &out[i].sale_count) != 0)
			return -1;
	}
	*n = len;
	return 0;
}

static struct json_object *
popular_to_json(const struct catalog_popular *p, size_t n)
{
	struct json_object *o = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *row = json_object_new_array();

		json_object_array_add(row, json_object_new_int64(p[i].id));
		json_object_array_add(row, json_object_new_string(p[i].name));
		json_object_array_add(row, json_object_new_int64(p[i].sale_count));
		json_object_array_add(o, row);
	}
	return o;
}

int
catalog_popular(struct db *db, struct redis *redis, struct arena *a, int cache_seconds,
    struct catalog_popular *out, size_t *n)
{
	struct json_object *cached;
	struct db_res res;
	char key[KEY_MAX] = "";
	int64_t version = -1, rows;
	size_t i;

	*n = 0;
	if (cache_seconds > 0)
		version = cache_version(redis);
	if (version >= 0) {
		snprintf(key, sizeof(key), "catalog:%" PRId64 ":popular", version);
		cached = cache_get(redis, key);
		if (cached != NULL) {
			int rc = popular_from_json(a, cached, out, n);

			json_object_put(cached);
			if (rc == 0)
				return 0;
			log_warn(NULL, "catalog: cache entry %s has a bad shape; reading MariaDB", key);
			*n = 0;
		}
	}
	rows = db_query(db, a, &res, SQL_POPULAR, "ii", (int64_t)(CATALOG_POPULAR_DAYS - 1),
	    (int64_t)CATALOG_POPULAR_MAX);
	if (rows < 0)
		return -1;
	for (i = 0; i < (size_t)rows && i < CATALOG_POPULAR_MAX; i++) {
		out[i].id = db_res_i64(&res, i, 0);
		out[i].name = db_res_str(&res, i, 1);
		out[i].sale_count = db_res_i64(&res, i, 2);
	}
	*n = i;
	if (version >= 0)
		cache_put(redis, key, cache_seconds, popular_to_json(out, *n));
	return 0;
}

int
catalog_sale_add(struct db *db, int64_t product_id, int64_t quantity)
{
	int64_t rc;

	if (product_id < 1 || quantity < 1)
		return DB_ERR;
	rc = db_exec(db, SQL_SALE_ADD, "ii", product_id, quantity);
	return rc < 0 ? (int)rc : 0;
}

int64_t
catalog_invalidate(struct redis *redis)
{
	redisReply *rep = redis_cmdl(redis, "INCR", KEY_VERSION, NULL);
	int64_t v = -1;

	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	else
		log_warn(NULL, "catalog: could not bump %s: %s", KEY_VERSION,
		    rep != NULL && rep->type == REDIS_REPLY_ERROR ? rep->str : redis_error(redis));
	freeReplyObject(rep);
	return v;
}
