/* check_order_state: the order state machine against the test database. Every (from, to,
 * actor) of the statuses and actors is tried on a fresh order: the moves the spec below
 * allows change the status and write exactly one timeline row; every other one is refused
 * without a write. Then the guards (amount, expiry, a status that moved on), the paid effects
 * (payments row, sale, settle and notify jobs, posting) and the stock taken and given back. */
#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/ids.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/migrate.h"
#include "shop/ledger.h"
#include "shop/order_state.h"
#include "shop/orders.h"
#include "suites.h"

#ifndef JT_SRCDIR
#define JT_SRCDIR "."
#endif

static struct conf *conf;
static struct db *db;
static struct arena *arena;
static int64_t user_id, product_id;

#define AMOUNT 1500

/* The spec, written apart from lib/shop/order_state.c's table: who may make each move. */
#define S ORDER_BY_SHOPPER
#define P ORDER_BY_PG
#define W ORDER_BY_WORKER
#define J ORDER_BY_JANITOR
#define R ORDER_BY_RECONCILE
#define A ORDER_BY_ADMIN
static const struct {
	enum order_status from, to;
	enum order_actor actors[ORDER_ACTOR__MAX];
	size_t n;
} spec[] = {
	{ ORDER_PENDING, ORDER_CONFIRMING, { P }, 1 },
	{ ORDER_PENDING, ORDER_FAILED, { P }, 1 },
	{ ORDER_PENDING, ORDER_CANCELED, { S }, 1 },
	{ ORDER_PENDING, ORDER_EXPIRED, { J }, 1 },
	{ ORDER_CONFIRMING, ORDER_PAID, { W, R }, 2 },
	{ ORDER_CONFIRMING, ORDER_FAILED, { W, R }, 2 },
	{ ORDER_CONFIRMING, ORDER_UNKNOWN, { W }, 1 },
	{ ORDER_UNKNOWN, ORDER_PAID, { W, R }, 2 },
	{ ORDER_UNKNOWN, ORDER_FAILED, { W, R }, 2 },
	{ ORDER_FAILED, ORDER_PAID, { R }, 1 },
	{ ORDER_EXPIRED, ORDER_PAID, { R }, 1 },
	{ ORDER_PAID, ORDER_PARTIALLY_CANCELED, { S, A, W, R }, 4 },
	{ ORDER_PAID, ORDER_CANCELED, { S, A, W, R }, 4 },
	{ ORDER_PARTIALLY_CANCELED, ORDER_PARTIALLY_CANCELED, { S, A, W, R }, 4 },
	{ ORDER_PARTIALLY_CANCELED, ORDER_CANCELED, { S, A, W, R }, 4 },
};

static bool
spec_allows(enum order_status from, enum order_status to, enum order_actor actor)
{
	size_t i, j;

	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		if (spec[i].from != from || spec[i].to != to)
			continue;
		for (j = 0; j < spec[i].n; j++)
			if (spec[i].actors[j] == actor)
				return true;
	}
	return false;
}

static void
setup(void)
{
	char err[256], id[13], email[64], name[40];

	conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	db = db_new(conf);
	arena = arena_new(4096);
	ck_assert_int_ge(migrate_run(db, JT_SRCDIR "/sql"), 0);
	ids_new(id, sizeof(id));
	snprintf(email, sizeof(email), "state-%s@jangteo.test", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO users (email, name, status) VALUES (?, '상태',"
	    " 'active')", "s", email), 1);
	user_id = db_last_insert_id(db);
	snprintf(name, sizeof(name), "state-seller-%s", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO sellers (name) VALUES (?)", "s", name), 1);
	ck_assert_int_eq(db_exec(db, "INSERT INTO products (seller_id, name, description, price)"
	    " VALUES (?, ?, '', 500)", "is", db_last_insert_id(db), name), 1);
	product_id = db_last_insert_id(db);
	ck_assert_int_eq(db_exec(db, "INSERT INTO stock (product_id, available) VALUES (?, 10)",
	    "i", product_id), 1);
}

static void
teardown(void)
{
	arena_free(&arena);
	db_free(&db);
	conf_free(&conf);
}

/* A fresh order of AMOUNT won (three units of the product) in status, expiring in the past
 * when expired, else in an hour. Fills *o (id, public_id, user, pay, amount, lines). */
static void
make_order(enum order_status status, bool expired, struct order *o)
{
	memset(o, 0, sizeof(*o));
	ids_new(o->public_id, sizeof(o->public_id));
	ck_assert_int_eq(db_exec(db, "INSERT INTO orders (public_id, user_id, status, pay_method,"
	    " amount, order_name, item_count, expires_at) VALUES (?, ?, ?, 'toss', ?, '상태', 3,"
	    " NOW(3) + INTERVAL ? SECOND)", "sisii", o->public_id, user_id,
	    orders_status_name(status), (int64_t)AMOUNT, (int64_t)(expired ? -60 : 3600)), 1);
	o->id = db_last_insert_id(db);
	ck_assert_int_eq(db_exec(db, "INSERT INTO order_lines (order_id, product_id, seller_id,"
	    " name, unit_price, quantity, amount) SELECT ?, id, seller_id, name, 500, 3, 1500"
	    " FROM products WHERE id = ?", "ii", o->id, product_id), 1);
	o->user_id = user_id;
	o->status = status;
	o->pay = ORDER_PAY_TOSS;
	o->amount = AMOUNT;
	o->nlines = 1;
	o->lines = arena_alloc(arena, sizeof(*o->lines));
	memset(o->lines, 0, sizeof(*o->lines));
	o->lines[0].product_id = product_id;
	o->lines[0].quantity = 3;
}

static int64_t
scalar(const char *sql, int64_t id)
{
	struct db_res res;

	ck_assert_int_eq(db_query(db, arena, &res, sql, "i", id), 1);
	return db_res_i64(&res, 0, 0);
}

static const char *
status_of(int64_t order_id)
{
	struct db_res res;

	ck_assert_int_eq(db_query(db, arena, &res, "SELECT status FROM orders WHERE id = ?", "i",
	    order_id), 1);
	return db_res_str(&res, 0, 0);
}

static int64_t
events_of(int64_t order_id)
{
	return scalar("SELECT COUNT(*) FROM order_events WHERE order_id = ?", order_id);
}

struct move_tx {
	const struct order_move *m;
	int rc;
};

static int
move_fn(struct db *d, void *arg)
{
	struct move_tx *t = arg;

	t->rc = order_state_move(d, t->m);
	return t->rc < 0 ? t->rc : 0;
}

/* Runs m in a transaction of its own. Returns order_state_move's result. */
static int
move(const struct order_move *m)
{
	struct move_tx t = { m, -1 };

	ck_assert_int_eq(db_tx(db, move_fn, &t), 0);
	return t.rc;
}

static void
move_init(struct order_move *m, const struct order *o, enum order_status to,
    enum order_actor actor)
{
	memset(m, 0, sizeof(*m));
	m->order_id = o->id;
	m->from = o->status;
	m->to = to;
	m->actor = actor;
	m->amount = o->amount;
	m->note = "check_order_state";
	if (to == ORDER_FAILED || to == ORDER_CANCELED || to == ORDER_EXPIRED) {
		m->fail_code = "TEST";
		m->fail_message = "테스트";
	}
	if (to == ORDER_CONFIRMING || to == ORDER_PAID)
		m->payment_key = "pk-state";
}

START_TEST(test_every_pair_and_actor)
{
	enum order_status from, to;
	enum order_actor actor;
	struct order_move m;
	struct order o;
	int allowed = 0, refused = 0;

	for (from = 0; from < ORDER_STATUS__MAX; from++) {
		for (to = 0; to < ORDER_STATUS__MAX; to++) {
			for (actor = 0; actor < ORDER_ACTOR__MAX; actor++) {
				bool ok = spec_allows(from, to, actor);

				ck_assert_msg(order_state_allowed(from, to, actor) == ok,
				    "%s -> %s by %s: the table says %d", orders_status_name(from),
				    orders_status_name(to), order_state_actor_name(actor), !ok);
				make_order(from, to == ORDER_EXPIRED, &o);
				move_init(&m, &o, to, actor);
				if (!ok) {
					ck_assert_int_eq(move(&m), ORDER_STATE_REFUSED);
					ck_assert_str_eq(status_of(o.id), orders_status_name(from));
					ck_assert_int_eq(events_of(o.id), 0);
					refused++;
					continue;
				}
				ck_assert_msg(move(&m) == ORDER_STATE_MOVED, "%s -> %s by %s",
				    orders_status_name(from), orders_status_name(to),
				    order_state_actor_name(actor));
				ck_assert_str_eq(status_of(o.id), orders_status_name(to));
				ck_assert_int_eq(events_of(o.id), 1);
				ck_assert_int_eq(db_query(db, arena, &(struct db_res){ 0 },
				    "SELECT 1 FROM order_events WHERE order_id = ? AND from_status = ?"
				    " AND to_status = ? AND actor = ? AND note = 'check_order_state'",
				    "isss", o.id, orders_status_name(from), orders_status_name(to),
				    order_state_actor_name(actor)), 1);
				allowed++;
				arena_reset(arena);
			}
		}
	}
	ck_assert_int_eq(allowed, 31);
	ck_assert_int_eq(allowed + refused, ORDER_STATUS__MAX * ORDER_STATUS__MAX * ORDER_ACTOR__MAX);
}
END_TEST

/* A move whose guard fails matches nothing and writes nothing. */
START_TEST(test_guards)
{
	struct order_move m;
	struct order o;

	/* The status moved on since the caller looked. */
	make_order(ORDER_PAID, false, &o);
	move_init(&m, &o, ORDER_PAID, ORDER_BY_WORKER);
	m.from = ORDER_CONFIRMING;
	ck_assert_int_eq(move(&m), ORDER_STATE_NOT_MATCHED);
	ck_assert_int_eq(events_of(o.id), 0);
	/* Another amount than the order's. */
	make_order(ORDER_CONFIRMING, false, &o);
	move_init(&m, &o, ORDER_PAID, ORDER_BY_WORKER);
	m.amount = AMOUNT + 1;
	ck_assert_int_eq(move(&m), ORDER_STATE_NOT_MATCHED);
	ck_assert_str_eq(status_of(o.id), "CONFIRMING");
	ck_assert_int_eq(scalar("SELECT paid_at IS NULL FROM orders WHERE id = ?", o.id), 1);
	/* A PG's return after the order expired. */
	make_order(ORDER_PENDING, true, &o);
	move_init(&m, &o, ORDER_CONFIRMING, ORDER_BY_PG);
	ck_assert_int_eq(move(&m), ORDER_STATE_NOT_MATCHED);
	ck_assert_int_eq(events_of(o.id), 0);
	/* Expiry before the time. */
	make_order(ORDER_PENDING, false, &o);
	move_init(&m, &o, ORDER_EXPIRED, ORDER_BY_JANITOR);
	ck_assert_int_eq(move(&m), ORDER_STATE_NOT_MATCHED);
	ck_assert_str_eq(status_of(o.id), "PENDING");
	/* What the moves keep: the payment key and paid_at; the failure cleared on PAID. */
	make_order(ORDER_FAILED, false, &o);
	move_init(&m, &o, ORDER_PAID, ORDER_BY_RECONCILE);
	ck_assert_int_eq(move(&m), ORDER_STATE_MOVED);
	ck_assert_int_eq(scalar("SELECT paid_at IS NOT NULL AND payment_key = 'pk-state'"
	    " AND fail_code IS NULL FROM orders WHERE id = ?", o.id), 1);
}
END_TEST

/* The PG's return in one round trip: the move, its timeline row and the job, committed
 * together; a guard that matches nothing (expired, moved on, another amount) writes none of
 * them. */
START_TEST(test_confirming_with_its_job)
{
	struct bus_batch jobs;
	struct order_move m;
	struct order o;
	const char *payload = "{\"orderId\":\"check-confirming\"}";
	int64_t before;

	make_order(ORDER_PENDING, false, &o);
	move_init(&m, &o, ORDER_CONFIRMING, ORDER_BY_PG);
	ck_assert_int_eq(order_state_confirming(db, arena, &m, JOB_PAYMENT_CONFIRM, payload, &jobs),
	    ORDER_STATE_MOVED);
	ck_assert_str_eq(status_of(o.id), "CONFIRMING");
	ck_assert_int_eq(scalar("SELECT payment_key = 'pk-state' FROM orders WHERE id = ?", o.id),
	    1);
	ck_assert_int_eq(scalar("SELECT COUNT(*) FROM order_events WHERE order_id = ? AND"
	    " from_status = 'PENDING' AND to_status = 'CONFIRMING' AND actor = 'pg'", o.id), 1);
	ck_assert_uint_eq(jobs.n, 1);
	ck_assert_int_eq(jobs.jobs[0].kind, JOB_PAYMENT_CONFIRM);
	ck_assert_int_eq(scalar("SELECT COUNT(*) FROM outbox WHERE id = ? AND kind ="
	    " 'payment.confirm' AND status = 'pending' AND payload = '{\"orderId\":"
	    "\"check-confirming\"}'", jobs.jobs[0].outbox_id), 1);
	ck_assert(!db_in_tx(db));
	/* Again: the order is CONFIRMING now. */
	before = scalar("SELECT COUNT(*) FROM outbox WHERE id > ?", 0);
	ck_assert_int_eq(order_state_confirming(db, arena, &m, JOB_PAYMENT_CONFIRM, payload, &jobs),
	    ORDER_STATE_NOT_MATCHED);
	ck_assert_uint_eq(jobs.n, 0);
	ck_assert_int_eq(events_of(o.id), 1);
	/* Expired, or another amount: nothing written. */
	make_order(ORDER_PENDING, true, &o);
	move_init(&m, &o, ORDER_CONFIRMING, ORDER_BY_PG);
	ck_assert_int_eq(order_state_confirming(db, arena, &m, JOB_PAYMENT_CONFIRM, payload, &jobs),
	    ORDER_STATE_NOT_MATCHED);
	make_order(ORDER_PENDING, false, &o);
	move_init(&m, &o, ORDER_CONFIRMING, ORDER_BY_PG);
	m.amount = AMOUNT + 1;
	ck_assert_int_eq(order_state_confirming(db, arena, &m, JOB_PAYMENT_CONFIRM, payload, &jobs),
	    ORDER_STATE_NOT_MATCHED);
	ck_assert_str_eq(status_of(o.id), "PENDING");
	ck_assert_int_eq(events_of(o.id), 0);
	ck_assert_int_eq(scalar("SELECT COUNT(*) FROM outbox WHERE id > ?", 0), before);
	/* Only that move, only by the PG. */
	move_init(&m, &o, ORDER_CONFIRMING, ORDER_BY_SHOPPER);
	ck_assert_int_eq(order_state_confirming(db, arena, &m, JOB_PAYMENT_CONFIRM, payload, &jobs),
	    ORDER_STATE_REFUSED);
	arena_reset(arena);
}
END_TEST

struct paid_tx {
	const struct order *o;
	struct bus_batch jobs;
	enum ledger_rc lrc;
};

static int
paid_fn(struct db *d, void *arg)
{
	struct paid_tx *t = arg;
	struct order_payment pay = { "toss", "pk-paid", "2024-01-01T00:00:00+09:00", "카드" };

	bus_batch_clear(&t->jobs);
	return order_state_paid(d, arena, t->o, &pay, &t->jobs, &t->lrc);
}

/* Every paid order gets its payments row, its sale counted, a settle and a notify job and
 * its posting; a second time only what is not there yet (a replayed posting). */
START_TEST(test_paid_effects)
{
	struct paid_tx t;
	struct order o;
	char posting[64];

	make_order(ORDER_PAID, false, &o);
	memset(&t, 0, sizeof(t));
	t.o = &o;
	ck_assert_int_eq(db_tx(db, paid_fn, &t), 0);
	ck_assert_int_eq(t.lrc, LEDGER_POSTED);
	ck_assert_uint_eq(t.jobs.n, 2);
	ck_assert_int_eq(t.jobs.jobs[0].kind, JOB_SETTLE);
	ck_assert_int_eq(t.jobs.jobs[1].kind, JOB_NOTIFY);
	ck_assert_int_eq(scalar("SELECT COUNT(*) FROM payments WHERE order_id = ? AND amount = 1500"
	    " AND payment_key = 'pk-paid' AND status = 'DONE'", o.id), 1);
	ck_assert_int_eq(scalar("SELECT COUNT(*) FROM outbox WHERE id = ? AND kind = 'notify'",
	    t.jobs.jobs[1].outbox_id), 1);
	snprintf(posting, sizeof(posting), "paid:%s", o.public_id);
	ck_assert_int_eq(db_query(db, arena, &(struct db_res){ 0 },
	    "SELECT 1 FROM ledger_transfers WHERE posting_id = ? LIMIT 1", "s", posting), 1);
	ck_assert_int_eq(db_tx(db, paid_fn, &t), 0);
	ck_assert_int_eq(t.lrc, LEDGER_REPLAYED);
	ck_assert_int_eq(scalar("SELECT COUNT(*) FROM payments WHERE order_id = ?", o.id), 1);
}
END_TEST

struct stock_tx {
	const struct order *o;
	int rc;
	bool release;
};

static int
stock_fn(struct db *d, void *arg)
{
	struct stock_tx *t = arg;

	t->rc = t->release ? order_state_release(d, t->o->lines, t->o->nlines) :
	    order_state_reserve(d, t->o->lines, t->o->nlines);
	return t->rc < 0 ? t->rc : 0;
}

/* Stock is taken only while there is enough, and given back as it was taken. */
START_TEST(test_stock)
{
	struct stock_tx t = { NULL, 0, false };
	struct order o;

	make_order(ORDER_PENDING, false, &o);
	t.o = &o;
	ck_assert_int_eq(db_exec(db, "UPDATE stock SET available = 4 WHERE product_id = ?", "i",
	    product_id), 1);
	ck_assert_int_eq(db_tx(db, stock_fn, &t), 0);
	ck_assert_int_eq(t.rc, 1);
	ck_assert_int_eq(scalar("SELECT available FROM stock WHERE product_id = ?", product_id), 1);
	ck_assert_int_eq(db_tx(db, stock_fn, &t), 0);
	ck_assert_int_eq(t.rc, 0);
	ck_assert_int_eq(scalar("SELECT available FROM stock WHERE product_id = ?", product_id), 1);
	t.release = true;
	ck_assert_int_eq(db_tx(db, stock_fn, &t), 0);
	ck_assert_int_eq(scalar("SELECT available FROM stock WHERE product_id = ?", product_id), 4);
	o.lines[0].canceled_quantity = 3;  /* all cancelled before: nothing to give back */
	ck_assert_int_eq(db_tx(db, stock_fn, &t), 0);
	ck_assert_int_eq(scalar("SELECT available FROM stock WHERE product_id = ?", product_id), 4);
}
END_TEST

Suite *
order_state_suite(void)
{
	Suite *s = suite_create("order_state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_pair_and_actor);
	tcase_add_test(tc, test_guards);
	tcase_add_test(tc, test_confirming_with_its_job);
	tcase_add_test(tc, test_paid_effects);
	tcase_add_test(tc, test_stock);
	suite_add_tcase(s, tc);
	return s;
}
