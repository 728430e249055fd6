/* check_cart: carts against the stack's Redis and MariaDB: add/set/remove with caps and the
 * line limit, prices and stock joined from the catalog, inactive and vanished products, the
 * login merge, concurrent adds from several processes, hostile owners and stored garbage,
 * Redis down. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "shop/cart.h"
#include "base/conf.h"
#include "infra/db.h"
#include "base/ids.h"
#include "infra/migrate.h"
#include "infra/redis.h"
#include "shop/session.h"
#include "suites.h"

#ifndef JT_SRCDIR
#define JT_SRCDIR "."
#endif

static const char SQL_SELLER[] =
    "INSERT INTO sellers (name) VALUES ('check_cart 판매자') ON DUPLICATE KEY UPDATE name = name";
static const char SQL_SELLER_ID[] =
    "SELECT id FROM sellers WHERE name = 'check_cart 판매자'";
static const char SQL_PRODUCT[] =
    "INSERT INTO products (seller_id, name, description, price, active) VALUES (?, ?, '', ?, ?)"
    " ON DUPLICATE KEY UPDATE price = VALUES(price), active = VALUES(active)";
static const char SQL_PRODUCT_ID[] =
    "SELECT id FROM products WHERE seller_id = ? AND name = ?";
static const char SQL_STOCK[] =
    "INSERT INTO stock (product_id, available) VALUES (?, ?)"
    " ON DUPLICATE KEY UPDATE available = VALUES(available)";
static const char SQL_DEACTIVATE[] =
    "UPDATE products SET active = 0 WHERE id = ?";
static const char SQL_MAX_ID[] =
    "SELECT COALESCE(MAX(id), 0) FROM products";

static struct conf *conf;
static struct redis *redis;
static struct db *db;
static struct arena *arena;
static int64_t seller;

/* Products every test starts from (prices, stock and flags reset in setup). */
static int64_t apple, pear, plum, fig, gone_soon, dear;   /* dear: price 10^15 */
static int64_t missing;                                   /* an id no product has */

static const struct cart_limits lim = { 3, 5, 600 };

static int64_t
product(const char *name, int64_t price, int64_t stock, int active)
{
	struct db_res res;

	ck_assert_int_ge(db_exec(db, SQL_PRODUCT, "isii", seller, name, price, (int64_t)active), 0);
	ck_assert_int_eq(db_query(db, arena, &res, SQL_PRODUCT_ID, "is", seller, name), 1);
	ck_assert_int_ge(db_exec(db, SQL_STOCK, "ii", db_res_i64(&res, 0, 0), stock), 0);
	return db_res_i64(&res, 0, 0);
}

static void
setup(void)
{
	char err[256];
	struct db_res res;

	conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	redis = redis_new(conf);
	db = db_new(conf);
	arena = arena_new(4096);
	ck_assert_int_eq(redis_ping(redis), 0);
	ck_assert_int_ge(migrate_run(db, JT_SRCDIR "/sql"), 0);
	ck_assert_int_ge(db_exec(db, SQL_SELLER, ""), 0);
	ck_assert_int_eq(db_query(db, arena, &res, SQL_SELLER_ID, ""), 1);
	seller = db_res_i64(&res, 0, 0);
	apple = product("check_cart 사과", 1500, 10, 1);
	pear = product("check_cart 배 <b>", 3000, 0, 1);
	plum = product("check_cart 자두", 700, 2, 1);
	fig = product("check_cart 무화과", 2200, 50, 1);
	gone_soon = product("check_cart 단종", 990, 5, 1);
	dear = product("check_cart 비싼 것", INT64_C(1000000000000000), 3, 1);
	product("check_cart 판매중지", 100, 5, 0);
	ck_assert_int_eq(db_query(db, arena, &res, SQL_MAX_ID, ""), 1);
	missing = db_res_i64(&res, 0, 0) + 1000000;
}

static void
teardown(void)
{
	arena_free(&arena);
	db_free(&db);
	redis_free(&redis);
	conf_free(&conf);
}

/* A fresh guest owner (a new random session id in sid). */
static struct cart_owner
guest(char sid[SESSION_ID_LEN + 1])
{
	ids_new(sid, SESSION_ID_LEN + 1);
	return (struct cart_owner){ 0, sid };
}

/* A user id no other test run uses. */
static int64_t
fresh_user(void)
{
	return (int64_t)(ids_uniform(1000000000UL) + 1000000000UL);
}

static long long
redis_int(const char *cmd, const char *key, const char *field)
{
	redisReply *rep = field != NULL ? redis_cmdl(redis, cmd, key, field, NULL) :
	    redis_cmdl(redis, cmd, key, NULL);
	long long v = -99;

	ck_assert_ptr_nonnull(rep);
	if (rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	else if (rep->type == REDIS_REPLY_STRING)
		v = strtoll(rep->str, NULL, 10);
	else if (rep->type == REDIS_REPLY_NIL)
		v = -1;
	freeReplyObject(rep);
	return v;
}

static void
redis_ok(const char *a, const char *b, const char *c, const char *d)
{
	redisReply *rep = redis_cmdl(redis, a, b, c, d, NULL);

	ck_assert_ptr_nonnull(rep);
	ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
}

static void
key_of_user(char *key, size_t cap, int64_t uid)
{
	snprintf(key, cap, "cart:u:%" PRId64, uid);
}

static void
pid_text(char *out, size_t cap, int64_t id)
{
	snprintf(out, cap, "%" PRId64, id);
}

static struct cart
get_ok(const struct cart_owner *o, const struct cart_limits *l)
{
	struct cart c;

	ck_assert_int_eq(cart_get(redis, db, arena, o, l, &c), CART_OK);
	return c;
}

START_TEST(test_add_grows_caps_and_prices_from_the_database)
{
	char sid[SESSION_ID_LEN + 1], key[80];
	struct cart_owner o = guest(sid);
	struct cart c;

	ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, 2), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, 2), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, plum, 1), CART_OK);
	c = get_ok(&o, &lim);
	ck_assert_uint_eq(c.nlines, 2);
	ck_assert_int_eq(c.lines[0].product_id, apple);
	ck_assert_int_eq(c.lines[0].quantity, 4);
	ck_assert_str_eq(c.lines[0].name, "check_cart 사과");
	ck_assert_int_eq(c.lines[0].unit_price, 1500);
	ck_assert_int_eq(c.lines[0].line_amount, 6000);
	ck_assert_int_eq(c.lines[0].available, 10);
	ck_assert_int_eq(c.lines[0].active, 1);
	ck_assert_int_eq(c.lines[1].product_id, plum);
	ck_assert_int_eq(c.lines[1].line_amount, 700);
	ck_assert_int_eq(c.lines[1].available, 2);
	ck_assert_int_eq(c.total, 6700);
	ck_assert_int_eq(c.total_quantity, 5);

	/* Past max_quantity the line is capped, not refused. */
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, 5), CART_OK);
	c = get_ok(&o, &lim);
	ck_assert_int_eq(c.lines[0].quantity, 5);
	ck_assert_int_eq(c.total, 5 * 1500 + 700);

	/* A price change shows at once: the cart holds no prices. */
	ck_assert_int_ge(db_exec(db, "UPDATE products SET price = 1234 WHERE id = ?", "i", apple), 0);
	c = get_ok(&o, &lim);
	ck_assert_int_eq(c.lines[0].line_amount, 5 * 1234);
	ck_assert_int_eq(c.total, 5 * 1234 + 700);

	/* The key and its sliding TTL. */
	snprintf(key, sizeof(key), "cart:s:%s", sid);
	ck_assert_int_gt(redis_int("TTL", key, NULL), 590);
	ck_assert_int_le(redis_int("TTL", key, NULL), 600);
	ck_assert_int_eq(cart_clear(redis, &o), CART_OK);
	ck_assert_int_eq(redis_int("EXISTS", key, NULL), 0);
	c = get_ok(&o, &lim);
	ck_assert_uint_eq(c.nlines, 0);
	ck_assert_int_eq(c.total, 0);
}
END_TEST

START_TEST(test_refusals_change_nothing)
{
	char sid[SESSION_ID_LEN + 1], key[80];
	struct cart_owner o = guest(sid);
	int64_t bad_ids[] = { 0, -1, INT64_MIN, INT64_MAX, missing };
	int bad_qty[] = { 0, -1, 6, INT32_MAX, INT32_MIN };
	size_t i;

	snprintf(key, sizeof(key), "cart:s:%s", sid);
	for (i = 0; i < sizeof(bad_qty) / sizeof(bad_qty[0]); i++)
		ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, bad_qty[i]), CART_BAD_QUANTITY);
	for (i = 1; i < sizeof(bad_qty) / sizeof(bad_qty[0]); i++)
		ck_assert_int_eq(cart_set(redis, db, &o, &lim, apple, bad_qty[i]), CART_BAD_QUANTITY);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		ck_assert_int_eq(cart_add(redis, db, &o, &lim, bad_ids[i], 1), CART_NO_PRODUCT);
		ck_assert_int_eq(cart_set(redis, db, &o, &lim, bad_ids[i], 1), CART_NO_PRODUCT);
		ck_assert_int_eq(cart_remove(redis, &o, bad_ids[i]), CART_OK);
	}
	{
		struct db_res res;

		ck_assert_int_eq(db_query(db, arena, &res, SQL_PRODUCT_ID, "is", seller,
		    "check_cart 판매중지"), 1);
		ck_assert_int_eq(cart_add(redis, db, &o, &lim, db_res_i64(&res, 0, 0), 1),
		    CART_NO_PRODUCT);
	}
	ck_assert_int_eq(redis_int("EXISTS", key, NULL), 0);
}
END_TEST

START_TEST(test_set_and_remove)
{
	char sid[SESSION_ID_LEN + 1];
	struct cart_owner o = guest(sid);
	struct cart c;

	ck_assert_int_eq(cart_set(redis, db, &o, &lim, pear, 2), CART_OK);   /* not there: added */
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, pear, 5), CART_OK);
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, apple, 1), CART_OK);
	c = get_ok(&o, &lim);
	ck_assert_uint_eq(c.nlines, 2);
	ck_assert_int_eq(c.lines[1].product_id, pear);
	ck_assert_int_eq(c.lines[1].quantity, 5);
	ck_assert_str_eq(c.lines[1].name, "check_cart 배 <b>");
	ck_assert_int_eq(c.lines[1].available, 0);       /* sold out: still in the cart */
	ck_assert_int_eq(c.total, 5 * 3000 + 1500);
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, pear, 0), CART_OK);   /* 0 removes */
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, missing, 0), CART_OK);
	c = get_ok(&o, &lim);
	ck_assert_uint_eq(c.nlines, 1);
	ck_assert_int_eq(c.lines[0].product_id, apple);
	ck_assert_int_eq(cart_remove(redis, &o, apple), CART_OK);
	ck_assert_int_eq(cart_remove(redis, &o, apple), CART_OK);   /* absent: fine */
	c = get_ok(&o, &lim);
	ck_assert_uint_eq(c.nlines, 0);
}
END_TEST

START_TEST(test_line_limit)
{
	char sid[SESSION_ID_LEN + 1];
	struct cart_owner o = guest(sid);
	struct cart c;

	ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, 1), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, pear, 1), CART_OK);
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, plum, 1), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, fig, 1), CART_FULL);
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, fig, 1), CART_FULL);
	/* Existing lines still change. */
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, 1), CART_OK);
	ck_assert_int_eq(cart_set(redis, db, &o, &lim, pear, 4), CART_OK);
	c = get_ok(&o, &lim);
	ck_assert_uint_eq(c.nlines, 3);
	ck_assert_int_eq(c.lines[0].quantity, 2);
	ck_assert_int_eq(c.lines[1].quantity, 4);
	/* Room again after a removal. */
	ck_assert_int_eq(cart_remove(redis, &o, plum), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &o, &lim, fig, 1), CART_OK);
	cart_clear(redis, &o);
}
END_TEST

START_TEST(test_inactive_and_vanished_products)
{
	char sid[SESSION_ID_LEN + 1], key[80], pid[24];
	struct cart_owner o = guest(sid);
	struct cart_limits wide = { 10, 5, 600 };
	struct cart c;

	ck_assert_int_eq(cart_add(redis, db, &o, &wide, apple, 2), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &o, &wide, gone_soon, 3), CART_OK);
	ck_assert_int_eq(db_exec(db, SQL_DEACTIVATE, "i", gone_soon), 1);
	/* A product deleted from the database (written straight into the hash). */
	snprintf(key, sizeof(key), "cart:s:%s", sid);
	pid_text(pid, sizeof(pid), missing);
	redis_ok("HSET", key, pid, "2");
	c = get_ok(&o, &wide);
	ck_assert_uint_eq(c.nlines, 3);
	ck_assert_int_eq(c.lines[0].product_id, apple);
	ck_assert_int_eq(c.lines[0].active, 1);
	ck_assert_int_eq(c.lines[1].product_id, gone_soon);
	ck_assert_int_eq(c.lines[1].active, 0);
	ck_assert_str_eq(c.lines[1].name, "check_cart 단종");
	ck_assert_int_eq(c.lines[1].unit_price, 0);
	ck_assert_int_eq(c.lines[1].line_amount, 0);
	ck_assert_int_eq(c.lines[1].quantity, 3);
	ck_assert_int_eq(c.lines[2].product_id, missing);
	ck_assert_int_eq(c.lines[2].active, 0);
	ck_assert_str_eq(c.lines[2].name, "");
	ck_assert_int_eq(c.lines[2].available, 0);
	ck_assert_int_eq(c.total, 3000);        /* inactive lines not counted */
	ck_assert_int_eq(c.total_quantity, 2);
	/* Quantity changes of a deactivated product are refused; removing it works. */
	ck_assert_int_eq(cart_set(redis, db, &o, &wide, gone_soon, 1), CART_NO_PRODUCT);
	ck_assert_int_eq(cart_remove(redis, &o, gone_soon), CART_OK);
	cart_clear(redis, &o);
}
END_TEST

START_TEST(test_merge_sums_caps_and_deletes_the_guest_cart)
{
	char sid[SESSION_ID_LEN + 1], gkey[80], ukey[80];
	struct cart_owner g = guest(sid);
	int64_t uid = fresh_user();
	struct cart_owner u = { uid, NULL };
	struct cart c;

	snprintf(gkey, sizeof(gkey), "cart:s:%s", sid);
	key_of_user(ukey, sizeof(ukey), uid);
	ck_assert_int_eq(cart_add(redis, db, &g, &lim, apple, 4), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &g, &lim, pear, 1), CART_OK);
	ck_assert_int_eq(cart_add(redis, db, &u, &lim, apple, 3), CART_OK);
	ck_assert_int_eq(cart_merge(redis, sid, uid, &lim), CART_OK);
	ck_assert_int_eq(redis_int("EXISTS", gkey, NULL), 0);
	c = get_ok(&u, &lim);
	ck_assert_uint_eq(c.nlines, 2);
	ck_assert_int_eq(c.lines[0].product_id, apple);
	ck_assert_int_eq(c.lines[0].quantity, 5);        /* 4 + 3 capped at 5 */
	ck_assert_int_eq(c.lines[1].product_id, pear);
	ck_assert_int_eq(c.lines[1].quantity, 1);
	ck_assert_int_gt(redis_int("TTL", ukey, NULL), 590);
	/* Twice: nothing more happens. */
	ck_assert_int_eq(cart_merge(redis, sid, uid, &lim), CART_OK);
	c = get_ok(&u, &lim);
	ck_assert_uint_eq(c.nlines, 2);
	ck_assert_int_eq(c.lines[0].quantity, 5);
	/* A guest with an empty cart changes nothing; a hostile id is no cart. */
	ck_assert_int_eq(cart_merge(redis, guest(sid).session_id, uid, &lim), CART_OK);
	ck_assert_int_eq(cart_merge(redis, "*", uid, &lim), CART_OK);
	ck_assert_int_eq(cart_merge(redis, NULL, uid, &lim), CART_OK);
	ck_assert_int_eq(cart_merge(redis, "cart:u:1", uid, &lim), CART_OK);
	ck_assert_int_eq(redis_int("HLEN", ukey, NULL), 2);
	cart_clear(redis, &u);
}
END_TEST

START_TEST(test_merge_keeps_the_lowest_ids_within_the_limit)
{
	char sid[SESSION_ID_LEN + 1], gkey[80], ukey[80];
	int64_t uid = fresh_user();

	guest(sid);
	snprintf(gkey, sizeof(gkey), "cart:s:%s", sid);
	key_of_user(ukey, sizeof(ukey), uid);
	/* Ids past 2^53 keep every digit; garbage in either cart is dropped. */
	redis_ok("HSET", gkey, "9007199254740993", "2");
	redis_ok("HSET", gkey, "12", "1");
	redis_ok("HSET", gkey, "abc", "1");
	redis_ok("HSET", gkey, "13", "-4");
	redis_ok("HSET", ukey, "9007199254740992", "1");
	redis_ok("HSET", ukey, "100", "7");
	redis_ok("HSET", ukey, "012", "1");
	ck_assert_int_eq(cart_merge(redis, sid, uid, &lim), CART_OK);
	ck_assert_int_eq(redis_int("HLEN", ukey, NULL), 3);
	ck_assert_int_eq(redis_int("HGET", ukey, "12"), 1);
	ck_assert_int_eq(redis_int("HGET", ukey, "100"), 5);          /* capped */
	ck_assert_int_eq(redis_int("HGET", ukey, "9007199254740992"), 1);
	ck_assert_int_eq(redis_int("HGET", ukey, "9007199254740993"), -1);   /* dropped: 4th */
	ck_assert_int_eq(redis_int("EXISTS", gkey, NULL), 0);
	redis_ok("DEL", ukey, NULL, NULL);
}
END_TEST

START_TEST(test_stored_garbage_is_skipped_or_capped)
{
	char sid[SESSION_ID_LEN + 1], key[80], pid[24];
	struct cart_owner o = guest(sid);
	struct cart_limits wide = { 10, 5, 600 };
	struct cart c;

	snprintf(key, sizeof(key), "cart:s:%s", sid);
	pid_text(pid, sizeof(pid), apple);
	redis_ok("HSET", key, pid, "100");
	redis_ok("HSET", key, "abc", "1");
	redis_ok("HSET", key, "-5", "1");
	redis_ok("HSET", key, "99999999999999999999999", "1");
	pid_text(pid, sizeof(pid), plum);
	redis_ok("HSET", key, pid, "zz");
	c = get_ok(&o, &wide);
	ck_assert_uint_eq(c.nlines, 1);
	ck_assert_int_eq(c.lines[0].product_id, apple);
	ck_assert_int_eq(c.lines[0].quantity, 5);
	ck_assert_int_eq(c.total, 7500);
	/* Adding to a garbage line starts it from 0. */
	ck_assert_int_eq(cart_add(redis, db, &o, &wide, plum, 2), CART_OK);
	ck_assert_int_eq(redis_int("HGET", key, pid), 2);
	/* A key of the wrong type: refused, untouched. */
	redis_ok("DEL", key, NULL, NULL);
	redis_ok("SET", key, "not a hash", NULL);
	ck_assert_int_eq(cart_add(redis, db, &o, &wide, apple, 1), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_set(redis, db, &o, &wide, apple, 1), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_get(redis, db, arena, &o, &wide, &c), CART_UNAVAILABLE);
	ck_assert_uint_eq(c.nlines, 0);
	redis_ok("DEL", key, NULL, NULL);
}
END_TEST

START_TEST(test_hostile_owners_touch_nothing)
{
	const char *ids[] = { "*", "", "../../etc", "cart:u:1",
	    "0123456789012345678901234567890123456789X", "012345678901234567890123456789012345678*" };
	struct cart c;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct cart_owner o = { 0, ids[i] };

		ck_assert_int_eq(cart_add(redis, db, &o, &lim, apple, 1), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_set(redis, db, &o, &lim, apple, 1), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_remove(redis, &o, apple), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_clear(redis, &o), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_get(redis, db, arena, &o, &lim, &c), CART_UNAVAILABLE);
	}
	{
		struct cart_owner none = { 0, NULL }, both = { 7, "0123456789012345678901234567890123456789" },
		    neg = { -3, NULL };

		ck_assert_int_eq(cart_add(redis, db, &none, &lim, apple, 1), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_add(redis, db, &both, &lim, apple, 1), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_add(redis, db, &neg, &lim, apple, 1), CART_UNAVAILABLE);
		ck_assert_int_eq(cart_merge(redis, "0123456789012345678901234567890123456789", 0, &lim),
		    CART_UNAVAILABLE);
	}
	ck_assert_int_eq(redis_int("EXISTS", "cart:s:*", NULL), 0);
	ck_assert_int_eq(redis_int("EXISTS", "cart:u:-3", NULL), 0);
}
END_TEST

START_TEST(test_amounts_past_int64_are_an_error)
{
	char sid[SESSION_ID_LEN + 1];
	struct cart_owner o = guest(sid);
	struct cart_limits big = { 3, 9999, 600 };
	struct cart c;

	ck_assert_int_eq(cart_set(redis, db, &o, &big, dear, 9000), CART_OK);
	c = get_ok(&o, &big);
	ck_assert_int_eq(c.total, INT64_C(9000000000000000000));
	ck_assert_int_eq(cart_set(redis, db, &o, &big, dear, 9999), CART_OK);   /* 9.999e18 */
	ck_assert_int_eq(cart_get(redis, db, arena, &o, &big, &c), CART_DB);
	ck_assert_uint_eq(c.nlines, 0);
	cart_clear(redis, &o);
}
END_TEST

#define RACERS 8
#define ADDS 25

/* Several processes (tabs) add to one cart at once: every unit lands. */
START_TEST(test_concurrent_adds_lose_nothing)
{
	char sid[SESSION_ID_LEN + 1], key[80], pid[24];
	struct cart_owner o = guest(sid);
	struct cart_limits wide = { 10, 9999, 600 };
	pid_t kids[RACERS];
	int i, status;

	for (i = 0; i < RACERS; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			struct redis *r = redis_new(conf);
			struct db *d = db_new(conf);
			int j, bad = 0;

			for (j = 0; j < ADDS; j++) {
				bad |= cart_add(r, d, &o, &wide, apple, 1) != CART_OK;
				bad |= cart_add(r, d, &o, &wide, (j + i) % 2 ? plum : fig, 2) != CART_OK;
			}
			redis_free(&r);
			db_free(&d);
			_exit(bad);
		}
	}
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	snprintf(key, sizeof(key), "cart:s:%s", sid);
	pid_text(pid, sizeof(pid), apple);
	ck_assert_int_eq(redis_int("HGET", key, pid), RACERS * ADDS);
	ck_assert_int_eq(redis_int("HLEN", key, NULL), 3);
	{
		char p2[24], p3[24];

		pid_text(p2, sizeof(p2), plum);
		pid_text(p3, sizeof(p3), fig);
		ck_assert_int_eq(redis_int("HGET", key, p2) + redis_int("HGET", key, p3),
		    2 * RACERS * ADDS);
	}
	cart_clear(redis, &o);
}
END_TEST

/* Two tabs racing to add the line that passes max_lines: exactly max_lines lines result. */
START_TEST(test_concurrent_new_lines_respect_the_limit)
{
	char sid[SESSION_ID_LEN + 1], key[80];
	struct cart_owner o = guest(sid);
	struct cart_limits two = { 2, 5, 600 };
	int64_t ps[4] = { apple, pear, plum, fig };
	pid_t kids[4];
	int i, status, full = 0;

	for (i = 0; i < 4; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			struct redis *r = redis_new(conf);
			struct db *d = db_new(conf);
			int rc = cart_add(r, d, &o, &two, ps[i], 1);

			redis_free(&r);
			db_free(&d);
			_exit(rc == CART_OK ? 0 : rc == CART_FULL ? 1 : 2);
		}
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
		full += WEXITSTATUS(status);
	}
	ck_assert_int_eq(full, 2);
	snprintf(key, sizeof(key), "cart:s:%s", sid);
	ck_assert_int_eq(redis_int("HLEN", key, NULL), 2);
	cart_clear(redis, &o);
}
END_TEST

START_TEST(test_redis_down_changes_nothing)
{
	char err[256], sid[SESSION_ID_LEN + 1];
	struct conf *dead = conf_parse("redis.socket = /nonexistent/jt-cart.sock\n"
	    "redis.timeout_ms = 100\n", err, sizeof(err));
	struct redis *down;
	struct cart_owner o = guest(sid);
	struct cart c;

	ck_assert_msg(dead != NULL, "%s", err);
	down = redis_new(dead);
	ck_assert_int_eq(cart_add(down, db, &o, &lim, apple, 1), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_set(down, db, &o, &lim, apple, 1), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_remove(down, &o, apple), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_clear(down, &o), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_get(down, db, arena, &o, &lim, &c), CART_UNAVAILABLE);
	ck_assert_int_eq(cart_merge(down, sid, 5, &lim), CART_UNAVAILABLE);
	/* The product is checked before Redis is asked. */
	ck_assert_int_eq(cart_add(down, db, &o, &lim, missing, 1), CART_NO_PRODUCT);
	redis_free(&down);
	conf_free(&dead);
}
END_TEST

START_TEST(test_limits_from_conf)
{
	char err[256];
	struct conf *c = conf_parse("cart.max_lines = 7\ncart.max_quantity = 12\n"
	    "cart.ttl_seconds = 3600\n", err, sizeof(err));
	struct cart_limits l;

	ck_assert_msg(c != NULL, "%s", err);
	cart_limits_from_conf(c, &l);
	ck_assert_int_eq(l.max_lines, 7);
	ck_assert_int_eq(l.max_quantity, 12);
	ck_assert_int_eq(l.ttl_seconds, 3600);
	conf_free(&c);
	c = conf_parse("", err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	cart_limits_from_conf(c, &l);
	ck_assert_int_eq(l.max_lines, 30);
	ck_assert_int_eq(l.max_quantity, 99);
	ck_assert_int_eq(l.ttl_seconds, 2592000);
	conf_free(&c);
}
END_TEST

Suite *
cart_suite(void)
{
	Suite *s = suite_create("cart");
	TCase *tc = tcase_create("cart");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_add_grows_caps_and_prices_from_the_database);
	tcase_add_test(tc, test_refusals_change_nothing);
	tcase_add_test(tc, test_set_and_remove);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_inactive_and_vanished_products);
	tcase_add_test(tc, test_merge_sums_caps_and_deletes_the_guest_cart);
	tcase_add_test(tc, test_merge_keeps_the_lowest_ids_within_the_limit);
	tcase_add_test(tc, test_stored_garbage_is_skipped_or_capped);
	tcase_add_test(tc, test_hostile_owners_touch_nothing);
	tcase_add_test(tc, test_amounts_past_int64_are_an_error);
	tcase_add_test(tc, test_concurrent_adds_lose_nothing);
	tcase_add_test(tc, test_concurrent_new_lines_respect_the_limit);
	tcase_add_test(tc, test_redis_down_changes_nothing);
	tcase_add_test(tc, test_limits_from_conf);
	suite_add_tcase(s, tc);
	return s;
}
