/* cart: shoppers' carts as Redis hashes (product id -> quantity) joined with the catalog on
 * read (see cart.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "base/arena.h"
#include "base/buf.h"
#include "shop/cart.h"
#include "base/conf.h"
#include "infra/db.h"
#include "base/log.h"
#include "base/money.h"
#include "infra/redis.h"
#include "shop/session.h"
#include "base/valid.h"

/* Is the product for sale? */
static const char SQL_ACTIVE[] =
    "SELECT 1 FROM products WHERE id = ? AND active = 1";

/* The cart's products, names, prices and stock in one statement. The ids come as ONE JSON
 * array parameter unpacked by JSON_TABLE (MariaDB 10.6+), so a single text is prepared once
 * per connection and serves every cart size: an "IN (?, ?, ...)" list would need one
 * statement per line count (up to cart.max_lines cached statements) or text built at run
 * time. The array is written here from ids already parsed as integers, and it is bound, never
 * pasted into SQL. A product that no longer exists comes back with p.id NULL. */
enum line_col { LC_ID, LC_EXISTS, LC_NAME, LC_PRICE, LC_ACTIVE, LC_AVAILABLE, LC_SELLER_ID,
	LC_SELLER, LC_IMAGE };
static const char SQL_LINES[] =
    "SELECT j.id, p.id IS NOT NULL, p.name, p.price, COALESCE(p.active, 0),"
    " COALESCE(s.available, 0), p.seller_id, e.name, i.url"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j"
    " LEFT JOIN products p ON p.id = j.id"
    " LEFT JOIN stock s ON s.product_id = p.id"
    " LEFT JOIN sellers e ON e.id = p.seller_id"
    " LEFT JOIN product_images i ON i.product_id = p.id AND i.position = 0"
    " ORDER BY j.id";

/* Most lines cart_get reads from one hash (cart.max_lines is at most 100; a hash larger than
 * this was not written by this module). */
#define CART_READ_MAX 256

/* Room for "cart:s:" or "cart:u:" plus a session id or an int64 in decimal. */
#define KEY_MAX 64

/* Room for an int64 in decimal with its sign and NUL. */
#define NUM_MAX 24

/* Adding: a Lua script runs atomically in Redis, so two tabs adding at once cannot interleave
 * between the read and the write: no line is lost and the cap and the line limit hold without
 * WATCH/MULTI retries. (A bare HINCRBY would be atomic too, but could neither refuse a new
 * line past max_lines nor cap the sum.) A stored value that is not a plain positive number
 * (never written by this module) counts as 0.
 * KEYS[1] the cart; ARGV: product id, quantity to add, max_quantity, max_lines, TTL.
 * Returns the line's new quantity, or -1 when a new line would pass max_lines. */
static const char LUA_ADD[] =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not cur and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end\n"
    "local have = 0\n"
    "if cur and #cur <= 9 and string.match(cur, '^[1-9][0-9]*$') then have = tonumber(cur) end\n"
    "local n = have + tonumber(ARGV[2])\n"
    "if n > tonumber(ARGV[3]) then n = tonumber(ARGV[3]) end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], n)\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
    "return n\n";

/* Setting: HSET of the given quantity, refused when it would be a new line past max_lines.
 * KEYS[1] the cart; ARGV: product id, quantity, max_lines, TTL. Returns 1, or -1 when full. */
static const char LUA_SET[] =
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and"
    " redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
    "return 1\n";

/* Merging the guest cart KEYS[1] into the user cart KEYS[2], atomically: quantities of the
 * same product are summed and capped at ARGV[1] (max_quantity), the lowest ARGV[2]
 * (max_lines) product ids are kept, the user cart gets TTL ARGV[3], the guest cart is
 * deleted. Ids compare as canonical decimal text (length, then bytes): Lua numbers are
 * doubles and would round ids above 2^53. Malformed fields or values are dropped. Returns the
 * number of lines of the merged cart, or 0 when the guest cart was empty (nothing done). */
static const char LUA_MERGE[] =
    "local g = redis.call('HGETALL', KEYS[1])\n"
    "if #g == 0 then return 0 end\n"
    "local maxq, maxl = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local m = {}\n"
    "local function put(k, v)\n"
    "  if #k > 19 or not string.match(k, '^[1-9][0-9]*$') then return end\n"
    "  if #v > 9 or not string.match(v, '^[1-9][0-9]*$') then return end\n"
    "  local n = (m[k] or 0) + tonumber(v)\n"
    "  if n > maxq then n = maxq end\n"
    "  m[k] = n\n"
    "end\n"
    "local u = redis.call('HGETALL', KEYS[2])\n"
    "for i = 1, #u, 2 do put(u[i], u[i + 1]) end\n"
    "for i = 1, #g, 2 do put(g[i], g[i + 1]) end\n"
    "local ids = {}\n"
    "for k in pairs(m) do ids[#ids + 1] = k end\n"
    "table.sort(ids, function(a, b) return #a < #b or (#a == #b and a < b) end)\n"
    "redis.call('DEL', KEYS[2])\n"
    "local kept = 0\n"
    "for i = 1, #ids do\n"
    "  if kept >= maxl then break end\n"
    "  redis.call('HSET', KEYS[2], ids[i], m[ids[i]])\n"
    "  kept = kept + 1\n"
    "end\n"
    "if kept > 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return kept\n";

void
cart_limits_from_conf(const struct conf *c, struct cart_limits *out)
{
	out->max_lines = (int)conf_int(c, CONF_CART_MAX_LINES);
	out->max_quantity = (int)conf_int(c, CONF_CART_MAX_QUANTITY);
	out->ttl_seconds = conf_int(c, CONF_CART_TTL_SECONDS);
}

/* The Redis key of o's cart into key. Returns 0, or -1 when o names no cart (both or
 * neither owner set, a user id < 1, a session id that is not a session id). */
static int
owner_key(const struct cart_owner *o, char key[KEY_MAX])
{
	if (o == NULL)
		return -1;
	if (o->user_id > 0 && o->session_id == NULL) {
		snprintf(key, KEY_MAX, "cart:u:%" PRId64, o->user_id);
		return 0;
	}
	if (o->user_id == 0 && o->session_id != NULL &&
	    valid_token(o->session_id, SESSION_ID_LEN, SESSION_ID_LEN)) {
		snprintf(key, KEY_MAX, "cart:s:%s", o->session_id);
		return 0;
	}
	log_error(NULL, "cart: call with an owner that names no cart");
	return -1;
}

static int
limits_ok(const struct cart_limits *lim)
{
	return lim != NULL && lim->max_lines >= 1 && lim->max_quantity >= 1 &&
	    lim->ttl_seconds >= 1;
}

/* Whether product_id is an active product: 1 yes, 0 no, -1 on a MariaDB error. */
static int
product_active(struct db *db, int64_t product_id)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_ACTIVE, "i", product_id);
	arena_free(&a);
	if (n < 0)
		return -1;
	return n > 0 ? 1 : 0;
}

/* Runs script with one or two keys and argv. Returns its integer reply in *out and CART_OK,
 * or CART_UNAVAILABLE when Redis did not answer or answered an error (logged). */
static int
run_script(struct redis *r, const char *script, int nkeys, const char **keys_and_args,
    int nrest, int64_t *out)
{
	const char *argv[16];
	char nk[NUM_MAX];
	redisReply *rep;
	int argc = 0, i, rc = CART_UNAVAILABLE;

	if (3 + nrest > (int)(sizeof(argv) / sizeof(argv[0])))
		abort();
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = nk;
	for (i = 0; i < nrest; i++)
		argv[argc++] = keys_and_args[i];
	rep = redis_cmd(r, argc, argv, NULL);
	if (rep == NULL) {
		log_warn(NULL, "cart: Redis did not answer: %s", redis_error(r));
		return CART_UNAVAILABLE;
	}
	if (rep->type == REDIS_REPLY_INTEGER) {
		*out = rep->integer;
		rc = CART_OK;
	} else {
		log_error(NULL, "cart: script failed: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	}
	freeReplyObject(rep);
	return rc;
}

/* The checks cart_add and cart_set share: product id, quantity (lo..max_quantity), limits,
 * the active product. Returns CART_OK or the cart_rc to answer. */
static int
check_line(struct db *db, const struct cart_limits *lim, int64_t product_id, int quantity,
    int lo)
{
	int rc;

	if (quantity < lo || quantity > lim->max_quantity)
		return CART_BAD_QUANTITY;
	if (product_id < 1)
		return CART_NO_PRODUCT;
	rc = product_active(db, product_id);
	if (rc < 0)
		return CART_DB;
	return rc == 1 ? CART_OK : CART_NO_PRODUCT;
}

int
cart_add(struct redis *r, struct db *db, const struct cart_owner *o,
    const struct cart_limits *lim, int64_t product_id, int quantity)
{
	char key[KEY_MAX], pid[NUM_MAX], qty[NUM_MAX], maxq[NUM_MAX], maxl[NUM_MAX], ttl[NUM_MAX];
	const char *args[6] = { key, pid, qty, maxq, maxl, ttl };
	int64_t n;
	int rc;

	if (owner_key(o, key) != 0 || !limits_ok(lim))
		return CART_UNAVAILABLE;
	rc = check_line(db, lim, product_id, quantity, 1);
	if (rc != CART_OK)
		return rc;
	snprintf(pid, sizeof(pid), "%" PRId64, product_id);
	snprintf(qty, sizeof(qty), "%d", quantity);
	snprintf(maxq, sizeof(maxq), "%d", lim->max_quantity);
	snprintf(maxl, sizeof(maxl), "%d", lim->max_lines);
	snprintf(ttl, sizeof(ttl), "%" PRId64, lim->ttl_seconds);
	rc = run_script(r, LUA_ADD, 1, args, 6, &n);
	if (rc != CART_OK)
		return rc;
	return n < 0 ? CART_FULL : CART_OK;
}

int
cart_set(struct redis *r, struct db *db, const struct cart_owner *o,
    const struct cart_limits *lim, int64_t product_id, int quantity)
{
	char key[KEY_MAX], pid[NUM_MAX], qty[NUM_MAX], maxl[NUM_MAX], ttl[NUM_MAX];
	const char *args[5] = { key, pid, qty, maxl, ttl };
	int64_t n;
	int rc;

	if (owner_key(o, key) != 0 || !limits_ok(lim))
		return CART_UNAVAILABLE;
	if (quantity == 0)
		return cart_remove(r, o, product_id);
	rc = check_line(db, lim, product_id, quantity, 1);
	if (rc != CART_OK)
		return rc;
	snprintf(pid, sizeof(pid), "%" PRId64, product_id);
	snprintf(qty, sizeof(qty), "%d", quantity);
	snprintf(maxl, sizeof(maxl), "%d", lim->max_lines);
	snprintf(ttl, sizeof(ttl), "%" PRId64, lim->ttl_seconds);
	rc = run_script(r, LUA_SET, 1, args, 5, &n);
	if (rc != CART_OK)
		return rc;
	return n < 0 ? CART_FULL : CART_OK;
}

int
cart_remove(struct redis *r, const struct cart_owner *o, int64_t product_id)
{
	char key[KEY_MAX], pid[NUM_MAX];
	redisReply *rep;
	int ok;

	if (owner_key(o, key) != 0)
		return CART_UNAVAILABLE;
	if (product_id < 1)
		return CART_OK;   /* no such line can exist */
	snprintf(pid, sizeof(pid), "%" PRId64, product_id);
	rep = redis_cmdl(r, "HDEL", key, pid, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	if (rep != NULL && !ok)
		log_error(NULL, "cart: HDEL failed: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	freeReplyObject(rep);
	return ok ? CART_OK : CART_UNAVAILABLE;
}

int
cart_clear(struct redis *r, const struct cart_owner *o)
{
	char key[KEY_MAX];
	redisReply *rep;
	int ok;

	if (owner_key(o, key) != 0)
		return CART_UNAVAILABLE;
	rep = redis_cmdl(r, "DEL", key, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	return ok ? CART_OK : CART_UNAVAILABLE;
}

int
cart_remove_products(struct redis *r, const struct cart_owner *o, const int64_t *ids, size_t n)
{
	char key[KEY_MAX];
	const char **argv;
	char (*nums)[NUM_MAX];
	redisReply *rep;
	size_t i;
	int ok;

	if (owner_key(o, key) != 0)
		return CART_UNAVAILABLE;
	if (n == 0)
		return CART_OK;
	argv = calloc(n + 2, sizeof(*argv));
	nums = calloc(n, sizeof(*nums));
	if (argv == NULL || nums == NULL)
		abort();
	argv[0] = "HDEL";
	argv[1] = key;
	for (i = 0; i < n; i++) {
		snprintf(nums[i], NUM_MAX, "%" PRId64, ids[i]);
		argv[i + 2] = nums[i];
	}
	rep = redis_cmd(r, (int)(n + 2), argv, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	free(argv);
	free(nums);
	return ok ? CART_OK : CART_UNAVAILABLE;
}

int
cart_count(struct redis *r, const struct cart_owner *o)
{
	char key[KEY_MAX];
	redisReply *rep;
	int n = -1;

	if (owner_key(o, key) != 0)
		return -1;
	rep = redis_cmdl(r, "HLEN", key, NULL);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer >= 0 &&
	    rep->integer <= INT32_MAX)
		n = (int)rep->integer;
	freeReplyObject(rep);
	return n;
}

int
cart_merge(struct redis *r, const char *session_id, int64_t user_id,
    const struct cart_limits *lim)
{
	char gkey[KEY_MAX], ukey[KEY_MAX], maxq[NUM_MAX], maxl[NUM_MAX], ttl[NUM_MAX];
	const char *args[5] = { gkey, ukey, maxq, maxl, ttl };
	struct cart_owner guest = { 0, session_id }, user = { user_id, NULL };
	int64_t n;

	if (session_id == NULL || !valid_token(session_id, SESSION_ID_LEN, SESSION_ID_LEN))
		return CART_OK;   /* not a session id: no guest cart can exist under it */
	if (owner_key(&guest, gkey) != 0 || owner_key(&user, ukey) != 0 || !limits_ok(lim))
		return CART_UNAVAILABLE;
	snprintf(maxq, sizeof(maxq), "%d", lim->max_quantity);
	snprintf(maxl, sizeof(maxl), "%d", lim->max_lines);
	snprintf(ttl, sizeof(ttl), "%" PRId64, lim->ttl_seconds);
	return run_script(r, LUA_MERGE, 2, args, 5, &n);
}

/* ---- reading ----------------------------------------------------------------------------- */

static int
line_cmp(const void *pa, const void *pb)
{
	const struct cart_line *a = pa, *b = pb;

	return a->product_id < b->product_id ? -1 : a->product_id > b->product_id;
}

/* Parses a Redis bulk string as an integer in lo..hi. Returns 0 or -1. */
static int
reply_int(const redisReply *e, int64_t lo, int64_t hi, int64_t *out)
{
	char s[NUM_MAX];

	if (e == NULL || e->type != REDIS_REPLY_STRING || e->len >= sizeof(s))
		return -1;
	memcpy(s, e->str, e->len);
	s[e->len] = '\0';
	return valid_int64(s, lo, hi, out);
}

/* Reads the hash at key into lines (sorted, quantities capped at max_quantity; malformed
 * entries skipped) and slides its TTL. Returns CART_OK or CART_UNAVAILABLE. */
static int
read_hash(struct redis *r, struct arena *a, const char *key, const struct cart_limits *lim,
    struct cart *out)
{
	char ttl[NUM_MAX];
	redisReply *rep;
	size_t i, cap, n = 0;
	int64_t pid, qty;

	rep = redis_cmdl(r, "HGETALL", key, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep != NULL)
			log_error(NULL, "cart: HGETALL failed: %s",
			    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		freeReplyObject(rep);
		return CART_UNAVAILABLE;
	}
	cap = rep->elements / 2 < CART_READ_MAX ? rep->elements / 2 : CART_READ_MAX;
	out->lines = arena_alloc(a, sizeof(*out->lines) * (cap + 1));
	for (i = 0; i + 1 < rep->elements && n < cap; i += 2) {
		if (reply_int(rep->element[i], 1, INT64_MAX, &pid) != 0 ||
		    reply_int(rep->element[i + 1], 1, INT64_MAX, &qty) != 0)
			continue;
		out->lines[n].product_id = pid;
		out->lines[n].quantity = qty > lim->max_quantity ? lim->max_quantity : (int)qty;
		n++;
	}
	if (rep->elements / 2 > CART_READ_MAX)
		log_warn(NULL, "cart: %s holds %zu lines; only %d read", key, rep->elements / 2,
		    CART_READ_MAX);
	freeReplyObject(rep);
	out->nlines = n;
	if (n > 0) {
		qsort(out->lines, n, sizeof(*out->lines), line_cmp);
		snprintf(ttl, sizeof(ttl), "%" PRId64, lim->ttl_seconds);
		rep = redis_cmdl(r, "EXPIRE", key, ttl, NULL);
		freeReplyObject(rep);   /* a TTL not slid this once costs nothing */
	}
	return CART_OK;
}

/* The line of product_id in the sorted lines, or NULL. */
static struct cart_line *
find_line(struct cart *c, int64_t product_id)
{
	struct cart_line key = { .product_id = product_id };

	return bsearch(&key, c->lines, c->nlines, sizeof(*c->lines), line_cmp);
}

/* Fills names, prices, stock and amounts of c's lines from MariaDB (one query). Returns
 * CART_OK or CART_DB (a MariaDB error, or a total past int64: logged). */
static int
join_catalog(struct db *db, struct arena *a, struct cart *c)
{
	struct db_res res;
	struct buf ids = { 0 };
	struct cart_line *l;
	int64_t n, row, avail;
	size_t i;

	buf_puts(&ids, "[");
	for (i = 0; i < c->nlines; i++)
		buf_printf(&ids, "%s%" PRId64, i > 0 ? "," : "", c->lines[i].product_id);
	buf_puts(&ids, "]");
	n = db_query(db, a, &res, SQL_LINES, "s", ids.data);
	buf_release(&ids);
	if (n < 0)
		return CART_DB;
	for (i = 0; i < c->nlines; i++) {
		c->lines[i].name = "";
		c->lines[i].seller = "";
		c->lines[i].active = 0;
	}
	for (row = 0; row < n; row++) {
		size_t k = (size_t)row;

		l = find_line(c, db_res_i64(&res, k, LC_ID));
		if (l == NULL || db_res_i64(&res, k, LC_EXISTS) == 0)
			continue;   /* a product that no longer exists: inactive, no name */
		l->name = arena_strdup(a, db_res_str(&res, k, LC_NAME));
		avail = db_res_i64(&res, k, LC_AVAILABLE);
		l->available = avail < 0 ? 0 : avail > INT32_MAX ? INT32_MAX : (int)avail;
		l->active = db_res_i64(&res, k, LC_ACTIVE) != 0;
		if (l->active)
			l->unit_price = db_res_i64(&res, k, LC_PRICE);
		l->seller_id = db_res_i64(&res, k, LC_SELLER_ID);
		if (!db_res_null(&res, k, LC_SELLER))
			l->seller = arena_strdup(a, db_res_str(&res, k, LC_SELLER));
		if (!db_res_null(&res, k, LC_IMAGE))
			l->image = arena_strdup(a, db_res_str(&res, k, LC_IMAGE));
	}
	c->total = 0;
	c->total_quantity = 0;
	for (i = 0; i < c->nlines; i++) {
		l = &c->lines[i];
		if (!l->active)
			continue;
		if (money_mul(l->unit_price, l->quantity, &l->line_amount) != 0 ||
		    money_add(c->total, l->line_amount, &c->total) != 0) {
			log_error(NULL, "cart: amounts past int64 (product %" PRId64 ")", l->product_id);
			return CART_DB;
		}
		c->total_quantity += l->quantity;
	}
	return CART_OK;
}

int
cart_get(struct redis *r, struct db *db, struct arena *a, const struct cart_owner *o,
    const struct cart_limits *lim, struct cart *out)
{
	char key[KEY_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	if (owner_key(o, key) != 0 || !limits_ok(lim))
		return CART_UNAVAILABLE;
	rc = read_hash(r, a, key, lim, out);
	if (rc != CART_OK || out->nlines == 0)
		return rc;
	rc = join_catalog(db, a, out);
	if (rc != CART_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
