/* catalog: product pages behind an opaque cursor, one product, the popular list, and their
 * Redis cache under a version number (see catalog.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/buf.h"
#include "shop/catalog.h"
#include "infra/db.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/redis.h"
#include "base/valid.h"

/* The columns of a list row, in the order every page statement selects them. */
enum page_col { PC_ID, PC_NAME, PC_PRICE, PC_LIST_PRICE, PC_STOCK, PC_SELLER_ID, PC_SELLER,
	PC_CATEGORY, PC_IMAGE, PC_ALT, PC_SOLD, PC__N };
#define PAGE_COLUMNS \
    "SELECT p.id, p.name, p.price, p.list_price, COALESCE(s.available, 0), e.id, e.name," \
    " p.category_id, i.url, i.alt,"
#define PAGE_JOINS \
    " FROM products p JOIN sellers e ON e.id = p.seller_id" \
    " LEFT JOIN stock s ON s.product_id = p.id" \
    " LEFT JOIN product_images i ON i.product_id = p.id AND i.position = 0"
/* Category (0 = any) and search ('' = none; a LIKE pattern with '!' as its escape). */
#define PAGE_FILTERS \
    " WHERE p.active = 1 AND (? = 0 OR p.category_id = ?) AND (? = '' OR p.name LIKE ? ESCAPE '!')"
/* One statement per order; the first page passes a position before every product. Parameters:
 * category twice, pattern twice, then the position, then the limit. */
static const char SQL_PAGE_NEW[] =
    PAGE_COLUMNS " 0" PAGE_JOINS PAGE_FILTERS
    " AND p.id < ? ORDER BY p.id DESC LIMIT ?";
static const char SQL_PAGE_PRICE[] =
    PAGE_COLUMNS " 0" PAGE_JOINS PAGE_FILTERS
    " AND (p.price > ? OR (p.price = ? AND p.id > ?)) ORDER BY p.price ASC, p.id ASC LIMIT ?";
/* The units sold per product over the ranking window; the sum is capped at INT64_MAX. */
static const char SQL_PAGE_POPULAR[] =
    PAGE_COLUMNS " COALESCE(t.sold, 0) AS sold" PAGE_JOINS
    " LEFT JOIN (SELECT product_id, LEAST(SUM(quantity), 9223372036854775807) AS sold"
    "   FROM sales_daily WHERE day BETWEEN CURRENT_DATE() - INTERVAL ? DAY AND CURRENT_DATE()"
    "   GROUP BY product_id) t"
    " ON t.product_id = p.id" PAGE_FILTERS
    " AND (COALESCE(t.sold, 0) < ? OR (COALESCE(t.sold, 0) = ? AND p.id < ?))"
    " ORDER BY sold DESC, p.id DESC LIMIT ?";
/* Live stock (and the active flag) of the products of a cached page, by id. */
static const char SQL_STOCK_OF[] =
    "SELECT p.id, COALESCE(s.available, 0)"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j"
    " JOIN products p ON p.id = j.id AND p.active = 1"
    " LEFT JOIN stock s ON s.product_id = p.id";
enum get_col { GC_DESCRIPTION = PC__N, GC__N };
static const char SQL_GET[] =
    PAGE_COLUMNS " 0, p.description" PAGE_JOINS
    " WHERE p.id = ? AND p.active = 1";
enum category_col { CC_ID, CC_SLUG, CC_NAME, CC_ICON };
static const char SQL_CATEGORIES[] =
    "SELECT id, slug, name, icon_url FROM categories ORDER BY position, id LIMIT ?";
static const char SQL_CATEGORY_BY_SLUG[] =
    "SELECT id, slug, name, icon_url FROM categories WHERE slug = ?";
static const char SQL_FIRST_IMAGES[] =
    "SELECT j.id, i.url"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j"
    " JOIN product_images i ON i.product_id = j.id AND i.position = 0";
static const char SQL_IMAGES[] =
    "SELECT url, alt FROM product_images WHERE product_id = ? ORDER BY position LIMIT ?";
/* The sum is capped at INT64_MAX so no planted row can make it unreadable. */
static const char SQL_POPULAR[] =
    "SELECT p.id, p.name, LEAST(SUM(d.quantity), 9223372036854775807) AS sold"
    " FROM sales_daily d JOIN products p ON p.id = d.product_id"
    " WHERE d.day BETWEEN CURRENT_DATE() - INTERVAL ? DAY AND CURRENT_DATE() AND p.active = 1"
    " GROUP BY p.id, p.name HAVING sold > 0 ORDER BY sold DESC, p.id ASC LIMIT ?";
static const char SQL_SALE_ADD[] =
    "INSERT INTO sales_daily (product_id, day, quantity) VALUES (?, CURRENT_DATE(), ?)"
    " ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)";
/* Several sales: a JSON array of [product_id, quantity], summed per product, each product's
 * row touched once, in product-id order (the order every counter locks them in). */
static const char SQL_SALES_ADD_MANY[] =
    "INSERT INTO sales_daily (product_id, day, quantity)"
    " SELECT j.product_id, CURRENT_DATE(), SUM(j.quantity) FROM JSON_TABLE(?, '$[*]' COLUMNS"
    " (product_id BIGINT UNSIGNED PATH '$[0]', quantity BIGINT PATH '$[1]')) AS j"
    " GROUP BY j.product_id ORDER BY j.product_id"
    " ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)";

/* Redis keys: the version, and entries that embed it so a bump orphans them all. */
static const char KEY_VERSION[] = "catalog:version";
#define KEY_MAX 128

/* The cursor before base64url: a version byte, the id (8 bytes, big-endian) and an FNV-1a
 * checksum of those 9 bytes (4 bytes, big-endian): 13 bytes, always 18 characters. */
#define CURSOR_VERSION 1
#define CURSOR_BYTES 13
#define CURSOR_CHARS 18
/* A sorted position: version 2, the sort, the key and the id (8 bytes each, big-endian) and the
 * FNV-1a checksum of the first 18 bytes: 22 bytes, always 30 characters. */
#define POS_VERSION 2
#define POS_BYTES 22
#define POS_CHARS 30

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

static const char *const sort_names[CATALOG_SORT__MAX] = {
	[CATALOG_SORT_NEW] = "new", [CATALOG_SORT_PRICE] = "price",
	[CATALOG_SORT_POPULAR] = "popular",
};

const char *
catalog_sort_name(enum catalog_sort s)
{
	return (unsigned)s < CATALOG_SORT__MAX ? sort_names[s] : "new";
}

int
catalog_sort_parse(const char *s, enum catalog_sort *out)
{
	int i;

	for (i = 0; s != NULL && i < CATALOG_SORT__MAX; i++) {
		if (strcmp(s, sort_names[i]) == 0) {
			*out = (enum catalog_sort)i;
			return 0;
		}
	}
	return -1;
}

/* Writes v big-endian into p[0..8). */
static void
put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
catalog_pos_encode(const struct catalog_pos *pos, char *out, size_t cap)
{
	unsigned char raw[POS_BYTES];
	uint32_t sum;
	int i;

	if (pos->sort == CATALOG_SORT_NEW)
		return catalog_cursor_encode(pos->id, out, cap);
	if ((unsigned)pos->sort >= CATALOG_SORT__MAX || pos->id < 1 || pos->key < 0)
		return -1;
	raw[0] = POS_VERSION;
	raw[1] = (unsigned char)pos->sort;
	put_be64(raw + 2, (uint64_t)pos->key);
	put_be64(raw + 10, (uint64_t)pos->id);
	sum = fnv1a32(raw, 18);
	for (i = 0; i < 4; i++)
		raw[18 + i] = (unsigned char)(sum >> (24 - 8 * i));
	return b64url_encode(raw, sizeof(raw), out, cap) == POS_CHARS ? 0 : -1;
}

int
catalog_pos_decode(const char *s, enum catalog_sort sort, struct catalog_pos *out)
{
	unsigned char raw[POS_BYTES];
	char again[POS_CHARS + 1];
	struct catalog_pos p = { sort, 0, 0 };
	uint64_t key, id;
	uint32_t sum = 0;
	int i;

	if (sort == CATALOG_SORT_NEW) {
		if (catalog_cursor_decode(s, &p.id) != 0)
			return -1;
		*out = p;
		return 0;
	}
	if ((unsigned)sort >= CATALOG_SORT__MAX || s == NULL ||
	    strnlen(s, POS_CHARS + 1) != POS_CHARS ||
	    b64url_decode(s, POS_CHARS, raw, sizeof(raw)) != POS_BYTES ||
	    raw[0] != POS_VERSION || raw[1] != (unsigned char)sort)
		return -1;
	for (i = 0; i < 4; i++)
		sum = sum << 8 | raw[18 + i];
	key = get_be64(raw + 2);
	id = get_be64(raw + 10);
	if (sum != fnv1a32(raw, 18) || key > (uint64_t)INT64_MAX || id < 1 ||
	    id > (uint64_t)INT64_MAX)
		return -1;
	p.key = (int64_t)key;
	p.id = (int64_t)id;
	/* Canonical form only: one text per position. */
	if (catalog_pos_encode(&p, again, sizeof(again)) != 0 || strcmp(again, s) != 0)
		return -1;
	*out = p;
	return 0;
}

int
catalog_discount_pct(int64_t price, int64_t list_price)
{
	if (price < 1 || list_price <= price || list_price > INT64_MAX / 100)
		return 0;
	return (int)((list_price - price) * 100 / list_price);
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

/* Element i of array arr as a string copied into a, or NULL for JSON null; 0 or -1. */
static int
elem_str_or_null(struct arena *a, struct json_object *arr, size_t i, const char **out)
{
	struct json_object *e = json_object_array_get_idx(arr, i);

	if (e == NULL) {
		*out = NULL;  /* json-c answers NULL for an element that is JSON null */
		return i < json_object_array_length(arr) ? 0 : -1;
	}
	return elem_str(a, arr, i, out);
}

/* The number of fields page_to_json writes per item. */
#define CACHE_ITEM_FIELDS 9

/* A cached page {"items": [[id, name, price, list_price, seller_id, seller, category_id, image,
 * alt], ...], "next": [key, id]} into *out (stock not filled). 0, or -1 when its shape is not
 * what page_to_json writes. */
static int
page_from_json(struct arena *a, struct json_object *o, const struct catalog_query *q,
    struct catalog_page *out)
{
	struct json_object *items, *next, *row;
	size_t i, n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "items", &items) ||
	    !json_object_is_type(items, json_type_array) ||
	    !json_object_object_get_ex(o, "next", &next) ||
	    !json_object_is_type(next, json_type_array) || json_object_array_length(next) != 2 ||
	    elem_int(next, 0, 0, INT64_MAX, &out->next.key) != 0 ||
	    elem_int(next, 1, 0, INT64_MAX, &out->next.id) != 0)
		return -1;
	out->next.sort = q->sort;
	n = json_object_array_length(items);
	if (n > (size_t)q->limit)
		return -1;
	out->items = arena_alloc(a, (n > 0 ? n : 1) * sizeof(*out->items));
	for (i = 0; i < n; i++) {
		struct catalog_item *it = &out->items[i];

		memset(it, 0, sizeof(*it));
		row = json_object_array_get_idx(items, i);
		if (!json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) != CACHE_ITEM_FIELDS ||
		    elem_int(row, 0, 1, INT64_MAX, &it->id) != 0 ||
		    elem_str(a, row, 1, &it->name) != 0 ||
		    elem_int(row, 2, 1, INT64_MAX, &it->price) != 0 ||
		    elem_int(row, 3, 0, INT64_MAX, &it->list_price) != 0 ||
		    elem_int(row, 4, 1, INT64_MAX, &it->seller_id) != 0 ||
		    elem_str(a, row, 5, &it->seller) != 0 ||
		    elem_int(row, 6, 0, INT64_MAX, &it->category_id) != 0 ||
		    elem_str_or_null(a, row, 7, &it->image) != 0 ||
		    elem_str_or_null(a, row, 8, &it->image_alt) != 0)
			return -1;
		if (it->image_alt == NULL)
			it->image_alt = "";
	}
	out->n = n;
	return 0;
}

static struct json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static struct json_object *
page_to_json(const struct catalog_page *p)
{
	struct json_object *o = json_object_new_object(), *items = json_object_new_array();
	struct json_object *next = json_object_new_array();
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct catalog_item *it = &p->items[i];
		struct json_object *row = json_object_new_array();

		json_object_array_add(row, json_object_new_int64(it->id));
		json_object_array_add(row, json_object_new_string(it->name));
		json_object_array_add(row, json_object_new_int64(it->price));
		json_object_array_add(row, json_object_new_int64(it->list_price));
		json_object_array_add(row, json_object_new_int64(it->seller_id));
		json_object_array_add(row, json_object_new_string(it->seller));
		json_object_array_add(row, json_object_new_int64(it->category_id));
		json_object_array_add(row, str_or_null(it->image));
		json_object_array_add(row, str_or_null(it->image_alt));
		json_object_array_add(items, row);
	}
	json_object_array_add(next, json_object_new_int64(p->next.key));
	json_object_array_add(next, json_object_new_int64(p->next.id));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next", next);
	return o;
}

/* ---- the list ------------------------------------------------------------------------- */

/* Fills *it from row i of a page statement's result (strings stay in the result's arena). */
static void
item_from_row(const struct db_res *res, size_t i, struct catalog_item *it)
{
	memset(it, 0, sizeof(*it));
	it->id = db_res_i64(res, i, PC_ID);
	it->name = db_res_str(res, i, PC_NAME);
	it->price = db_res_i64(res, i, PC_PRICE);
	it->list_price = db_res_i64(res, i, PC_LIST_PRICE);
	if (it->list_price <= it->price)
		it->list_price = 0;  /* nothing to show struck through */
	it->stock = db_res_i64(res, i, PC_STOCK);
	it->seller_id = db_res_i64(res, i, PC_SELLER_ID);
	it->seller = db_res_str(res, i, PC_SELLER);
	it->category_id = db_res_i64(res, i, PC_CATEGORY);
	it->image = db_res_str(res, i, PC_IMAGE);
	it->image_alt = db_res_null(res, i, PC_ALT) ? "" : db_res_str(res, i, PC_ALT);
	it->sold = db_res_i64(res, i, PC_SOLD);
}

/* The LIKE pattern for a search: '%' q '%' with %, _ and the escape '!' escaped; "" for none. */
static const char *
like_pattern(struct arena *a, const char *q)
{
	struct buf b;
	const char *s, *out;

	if (q == NULL || *q == '\0')
		return "";
	buf_init(&b);
	buf_putc(&b, '%');
	for (s = q; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '!')
			buf_putc(&b, '!');
		buf_putc(&b, *s);
	}
	buf_putc(&b, '%');
	out = arena_strdup(a, buf_cstr(&b));
	buf_release(&b);
	return out;
}

/* Reads the page from MariaDB (stock included): one row more than asked tells whether another
 * page follows. 0 or -1. */
static int
page_from_db(struct db *db, struct arena *a, const struct catalog_query *q,
    struct catalog_page *out)
{
	const struct catalog_pos *at = &q->after;
	const char *pat = like_pattern(a, q->q);
	int64_t cat = q->category_id, rows, lim = (int64_t)q->limit + 1;
	struct db_res res;
	size_t i;

	switch (q->sort) {
	case CATALOG_SORT_NEW:
		rows = db_query(db, a, &res, SQL_PAGE_NEW, "iissii", cat, cat, pat, pat,
		    at->id > 0 ? at->id : INT64_MAX, lim);
		break;
	case CATALOG_SORT_PRICE:
		rows = db_query(db, a, &res, SQL_PAGE_PRICE, "iissiiii", cat, cat, pat, pat,
		    at->id > 0 ? at->key : (int64_t)0, at->id > 0 ? at->key : (int64_t)0,
		    at->id > 0 ? at->id : (int64_t)0, lim);
		break;
	case CATALOG_SORT_POPULAR:
		rows = db_query(db, a, &res, SQL_PAGE_POPULAR, "iiissiiii",
		    (int64_t)(CATALOG_RANK_DAYS - 1), cat, cat, pat, pat,
		    at->id > 0 ? at->key : INT64_MAX, at->id > 0 ? at->key : INT64_MAX,
		    at->id > 0 ? at->id : INT64_MAX, lim);
		break;
	default:
		return -1;
	}
	if (rows < 0)
		return -1;
	out->n = rows > q->limit ? (size_t)q->limit : (size_t)rows;
	out->items = arena_alloc(a, (out->n > 0 ? out->n : 1) * sizeof(*out->items));
	for (i = 0; i < out->n; i++)
		item_from_row(&res, i, &out->items[i]);
	memset(&out->next, 0, sizeof(out->next));
	out->next.sort = q->sort;
	if (rows > q->limit) {
		const struct catalog_item *last = &out->items[out->n - 1];

		out->next.id = last->id;
		out->next.key = q->sort == CATALOG_SORT_PRICE ? last->price :
		    q->sort == CATALOG_SORT_POPULAR ? last->sold : 0;
	}
	return 0;
}

/* Fills in live stock for a page read from the cache and drops products that are no longer
 * active. 0 or -1. */
static int
page_live_stock(struct db *db, struct arena *a, struct catalog_page *p)
{
	struct json_object *ids;
	struct db_res res;
	int64_t rows, r;
	size_t i, kept = 0;
	int rc = 0;

	if (p->n == 0)
		return 0;
	ids = json_object_new_array();
	for (i = 0; i < p->n; i++)
		json_object_array_add(ids, json_object_new_int64(p->items[i].id));
	rows = db_query(db, a, &res, SQL_STOCK_OF, "s",
	    json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN));
	json_object_put(ids);
	if (rows < 0)
		return -1;
	for (i = 0; i < p->n; i++) {
		for (r = 0; r < rows; r++)
			if (db_res_i64(&res, (size_t)r, 0) == p->items[i].id)
				break;
		if (r == rows)
			continue;  /* inactive now */
		p->items[kept] = p->items[i];
		p->items[kept].stock = db_res_i64(&res, (size_t)r, 1);
		kept++;
	}
	p->n = kept;
	return rc;
}

int
catalog_list(struct db *db, struct redis *redis, struct arena *a,
    const struct catalog_query *q, int cache_seconds, struct catalog_page *out)
{
	struct json_object *cached;
	char key[KEY_MAX] = "";
	int64_t version = -1;
	bool cacheable;

	memset(out, 0, sizeof(*out));
	if ((unsigned)q->sort >= CATALOG_SORT__MAX || q->after.sort != q->sort ||
	    q->after.id < 0 || q->after.key < 0 || q->category_id < 0 || q->limit < 1 ||
	    q->limit > CATALOG_LIMIT_MAX)
		return -1;
	cacheable = q->after.id == 0 && (q->q == NULL || *q->q == '\0');
	if (cacheable && cache_seconds > 0)
		version = cache_version(redis);
	if (version >= 0) {
		snprintf(key, sizeof(key), "catalog:%" PRId64 ":list:%s:%" PRId64 ":%d", version,
		    catalog_sort_name(q->sort), q->category_id, q->limit);
		cached = cache_get(redis, key);
		if (cached != NULL) {
			int rc = page_from_json(a, cached, q, out);

			json_object_put(cached);
			if (rc == 0) {
				out->from_cache = true;
				return page_live_stock(db, a, out);
			}
			log_warn(NULL, "catalog: cache entry %s has a bad shape; reading MariaDB", key);
			memset(out, 0, sizeof(*out));
		}
	}
	if (page_from_db(db, a, q, out) != 0)
		return -1;
	if (version >= 0)
		cache_put(redis, key, cache_seconds, page_to_json(out));
	return 0;
}

/* ---- one product, its images, the categories ------------------------------------------ */

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
	item_from_row(&res, 0, out);
	out->description = db_res_str(&res, 0, GC_DESCRIPTION);
	return 1;
}

int
catalog_images(struct db *db, struct arena *a, int64_t id, struct catalog_image *out)
{
	struct db_res res;
	int64_t rows, i;

	rows = db_query(db, a, &res, SQL_IMAGES, "ii", id, (int64_t)CATALOG_IMAGES_MAX);
	if (rows < 0)
		return -1;
	for (i = 0; i < rows && i < CATALOG_IMAGES_MAX; i++) {
		out[i].url = db_res_str(&res, (size_t)i, 0);
		out[i].alt = db_res_str(&res, (size_t)i, 1);
	}
	return (int)i;
}

int
catalog_first_images(struct db *db, struct arena *a, const int64_t *ids, size_t n,
    const char **urls)
{
	struct json_object *arr;
	struct db_res res;
	int64_t rows;
	size_t i, k;

	for (i = 0; i < n; i++)
		urls[i] = NULL;
	if (n == 0)
		return 0;
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int64(ids[i]));
	rows = db_query(db, a, &res, SQL_FIRST_IMAGES, "s",
	    json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	if (rows < 0)
		return -1;
	for (k = 0; k < (size_t)rows; k++)
		for (i = 0; i < n; i++)
			if (ids[i] == db_res_i64(&res, k, 0))
				urls[i] = db_res_str(&res, k, 1);
	return 0;
}

/* Fills *c from row i of a categories result. */
static void
category_from_row(const struct db_res *res, size_t i, struct catalog_category *c)
{
	c->id = db_res_i64(res, i, CC_ID);
	c->slug = db_res_str(res, i, CC_SLUG);
	c->name = db_res_str(res, i, CC_NAME);
	c->icon = db_res_str(res, i, CC_ICON);
}

int
catalog_categories(struct db *db, struct arena *a, struct catalog_category *out, size_t max)
{
	struct db_res res;
	int64_t rows;
	size_t i;

	rows = db_query(db, a, &res, SQL_CATEGORIES, "i", (int64_t)max);
	if (rows < 0)
		return -1;
	for (i = 0; i < (size_t)rows && i < max; i++)
		category_from_row(&res, i, &out[i]);
	return (int)i;
}

int
catalog_category_by_slug(struct db *db, struct arena *a, const char *slug,
    struct catalog_category *out)
{
	struct db_res res;
	int64_t rows;

	if (slug == NULL || !valid_token(slug, 1, 40))
		return 0;
	rows = db_query(db, a, &res, SQL_CATEGORY_BY_SLUG, "s", slug);
	if (rows <= 0)
		return rows < 0 ? -1 : 0;
	category_from_row(&res, 0, out);
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

int
catalog_sales_add_many(struct db *db, const struct catalog_sale *v, size_t n)
{
	struct json_object *rows = json_object_new_array(), *row;
	int64_t rc;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].product_id < 1 || v[i].quantity < 1) {
			json_object_put(rows);
			return DB_ERR;
		}
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_int64(v[i].product_id));
		json_object_array_add(row, json_object_new_int64(v[i].quantity));
		json_object_array_add(rows, row);
	}
	rc = n == 0 ? 0 : db_exec(db, SQL_SALES_ADD_MANY, "s",
	    json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
	json_object_put(rows);
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
