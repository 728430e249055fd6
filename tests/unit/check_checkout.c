/* check_checkout: orders_create against the test database: a card checkout is two client
 * statements (the price query and CALL jt_checkout), its rows are the ones the owning modules
 * would write, a refusal by the stock of the second line writes nothing, a checkout key
 * replays, and a points checkout still pays in its transaction. */
#include <check.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/ids.h"
#include "infra/db.h"
#include "infra/migrate.h"
#include "shop/addresses.h"
#include "shop/orders.h"
#include "suites.h"

#ifndef JT_SRCDIR
#define JT_SRCDIR "."
#endif

static struct conf *conf;
static struct db *db;
static struct arena *arena;
static int64_t user_id, seller_id, product[2];

static const char sql_questions[] = "SHOW SESSION STATUS LIKE 'Questions'";
static const char sql_stock[] = "SELECT available FROM stock WHERE product_id = ?";
static const char sql_set_stock[] = "UPDATE stock SET available = ? WHERE product_id = ?";
static const char sql_user_orders[] = "SELECT COUNT(*) FROM orders WHERE user_id = ?";
static const char sql_user_lines[] =
    "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.user_id = ?";
static const char sql_user_events[] =
    "SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.user_id = ?";
static const char sql_user_parcels[] =
    "SELECT COUNT(*) FROM order_deliveries d JOIN orders o ON o.id = d.order_id"
    " WHERE o.user_id = ?";
static const char sql_event[] =
    "SELECT COALESCE(from_status, '-') AS from_status, to_status, actor,"
    " COALESCE(note, '-') AS note FROM order_events WHERE order_id = ?";
static const char sql_parcel[] =
    "SELECT seller_id, shipping_fee, status FROM order_deliveries WHERE order_id = ?";
static const char sql_lines[] =
    "SELECT product_id, seller_id, name, unit_price, quantity, amount FROM order_lines"
    " WHERE order_id = ? ORDER BY product_id";
static const char sql_address[] =
    "SELECT recipient, zipcode, memo FROM order_addresses WHERE order_id = ?";
static const char sql_points[] = "SELECT points FROM users WHERE id = ?";

static int64_t
scalar(struct db *d, const char *sql, int64_t arg)
{
	struct db_res res;

	ck_assert_int_eq(db_query(d, arena, &res, sql, "i", arg), 1);
	return db_res_i64(&res, 0, 0);
}

/* This connection's Questions counter (the SHOW counts itself). */
static int64_t
questions(void)
{
	struct db_res res;

	ck_assert_int_eq(db_query(db, arena, &res, sql_questions, ""), 1);
	return db_col_i64(&res, 0, "Value");
}

static void
setup(void)
{
	char err[256], id[13], email[64], name[48];
	int i;

	conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	db = db_new(conf);
	arena = arena_new(4096);
	ck_assert_int_ge(migrate_run(db, JT_SRCDIR "/sql"), 0);
	ids_new(id, sizeof(id));
	snprintf(email, sizeof(email), "checkout-%s@jangteo.test", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO users (email, name, status, points) VALUES"
	    " (?, '구매자', 'active', 10000)", "s", email), 1);
	user_id = db_last_insert_id(db);
	snprintf(name, sizeof(name), "checkout-seller-%s", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO sellers (name, shipping_fee, free_shipping_over)"
	    " VALUES (?, 2500, 0)", "s", name), 1);
	seller_id = db_last_insert_id(db);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "상품 %d %s", i + 1, id);
		ck_assert_int_eq(db_exec(db, "INSERT INTO products (seller_id, name, description,"
		    " price) VALUES (?, ?, '', ?)", "isi", seller_id, name, (int64_t)(1000 * (i + 1))),
		    1);
		product[i] = db_last_insert_id(db);
		ck_assert_int_eq(db_exec(db, "INSERT INTO stock (product_id, available) VALUES (?, 5)",
		    "i", product[i]), 1);
	}
}

static void
teardown(void)
{
	arena_free(&arena);
	db_free(&db);
	conf_free(&conf);
}

/* A two-line checkout: 2 of product 0 and 1 of product 1. */
static void
make_req(struct orders_create_req *req, struct orders_line_req *lines, enum order_pay pay,
    const char *key)
{
	memset(req, 0, sizeof(*req));
	memset(lines, 0, 2 * sizeof(*lines));
	lines[0].product_id = product[1];   /* listed out of id order on purpose */
	lines[0].quantity = 1;
	lines[1].product_id = product[0];
	lines[1].quantity = 2;
	req->user_id = user_id;
	req->pay = pay;
	req->lines = lines;
	req->nlines = 2;
	req->client_amount = -1;
	req->checkout_key = key;
	req->expire_seconds = 600;
	req->shipping.fee = 0;
	req->shipping.free_over = 0;
}

START_TEST(test_card_two_statements)
{
	struct orders_create_req req;
	struct orders_line_req lines[2];
	struct address ad;
	struct order o;
	struct db_res res;
	int64_t q0, q1, base;

	make_req(&req, lines, ORDER_PAY_TOSS, NULL);
	memset(&ad, 0, sizeof(ad));
	ad.f[ADDRESS_RECIPIENT] = "김장터";
	ad.f[ADDRESS_PHONE] = "01012345678";
	ad.f[ADDRESS_ZIPCODE] = "04524";
	ad.f[ADDRESS_ADDRESS1] = "서울 중구 세종대로 110";
	ad.f[ADDRESS_ADDRESS2] = "";
	ad.f[ADDRESS_MEMO] = "문 앞";
	req.ship_to = &ad;

	/* Warm the statement cache (prepares are not Questions, but keep the count plain) and
	 * measure what reading the counter costs by itself. */
	ck_assert_int_eq(orders_create(db, arena, &req, &o), ORDERS_CREATED);
	q0 = questions();
	q1 = questions();
	base = q1 - q0;
	q0 = questions();
	ck_assert_int_eq(orders_create(db, arena, &req, &o), ORDERS_CREATED);
	q1 = questions();
	ck_assert_int_eq(q1 - q0 - base, 2);

	/* What it wrote: the order, its lines in product-id order, the CREATED event, the
	 * seller's parcel with its fee, the address, the stock. */
	ck_assert_int_eq(o.status, ORDER_PENDING);
	ck_assert_int_eq(o.amount, 2 * 1000 + 2000 + 2500);
	ck_assert_int_eq(o.item_count, 3);
	ck_assert_ptr_nonnull(o.expires_at);
	ck_assert_ptr_nonnull(o.created_at);
	ck_assert_ptr_null(o.paid_at);
	ck_assert_int_eq(db_query(db, arena, &res, sql_lines, "i", o.id), 2);
	ck_assert_int_eq(db_col_i64(&res, 0, "product_id"), product[0]);
	ck_assert_int_eq(db_col_i64(&res, 0, "quantity"), 2);
	ck_assert_int_eq(db_col_i64(&res, 0, "amount"), 2000);
	ck_assert_int_eq(db_col_i64(&res, 1, "product_id"), product[1]);
	ck_assert_int_eq(db_col_i64(&res, 1, "unit_price"), 2000);
	ck_assert_int_eq(db_col_i64(&res, 1, "seller_id"), seller_id);
	ck_assert_int_eq(db_query(db, arena, &res, sql_event, "i", o.id), 1);
	ck_assert_str_eq(db_col_str(&res, 0, "from_status"), "-");
	ck_assert_str_eq(db_col_str(&res, 0, "to_status"), "PENDING");
	ck_assert_str_eq(db_col_str(&res, 0, "actor"), "shopper");
	ck_assert_str_eq(db_col_str(&res, 0, "note"), "-");
	ck_assert_int_eq(db_query(db, arena, &res, sql_parcel, "i", o.id), 1);
	ck_assert_int_eq(db_col_i64(&res, 0, "seller_id"), seller_id);
	ck_assert_int_eq(db_col_i64(&res, 0, "shipping_fee"), 2500);
	ck_assert_str_eq(db_col_str(&res, 0, "status"), "PREPARING");
	ck_assert_int_eq(db_query(db, arena, &res, sql_address, "i", o.id), 1);
	ck_assert_str_eq(db_col_str(&res, 0, "recipient"), "김장터");
	ck_assert_str_eq(db_col_str(&res, 0, "memo"), "문 앞");
	ck_assert_int_eq(scalar(db, sql_stock, product[0]), 5 - 2 * 2);
	ck_assert_int_eq(scalar(db, sql_stock, product[1]), 5 - 2 * 1);
}
END_TEST

START_TEST(test_checkout_key_replays)
{
	struct orders_create_req req;
	struct orders_line_req lines[2];
	struct order o1, o2;
	char key[24];

	ids_new(key, sizeof(key));
	make_req(&req, lines, ORDER_PAY_KAKAOPAY, key);
	ck_assert_int_eq(orders_create(db, arena, &req, &o1), ORDERS_CREATED);
	ck_assert_int_eq(orders_create(db, arena, &req, &o2), ORDERS_REPLAYED);
	ck_assert_str_eq(o1.public_id, o2.public_id);
	ck_assert_int_eq(scalar(db, sql_user_orders, user_id), 1);
	ck_assert_int_eq(scalar(db, sql_stock, product[0]), 3);
	/* Sold out since: the key still answers with its order. */
	ck_assert_int_eq(db_exec(db, sql_set_stock, "ii", (int64_t)0, product[0]), 1);
	ck_assert_int_eq(orders_create(db, arena, &req, &o2), ORDERS_REPLAYED);
	req.checkout_key = NULL;
	ck_assert_int_eq(orders_create(db, arena, &req, &o2), ORDERS_SOLD_OUT);
	ck_assert_int_eq(scalar(db, sql_user_orders, user_id), 1);
}
END_TEST

/* Holds product 1's stock row locked from another connection while the child checks out,
 * then empties it and commits: the child's price query saw the stock, its CALL took product
 * 0 and waited on product 1, whose guard then refuses. */
struct hold {
	int64_t pid;
	int go;          /* write end: the lock is held */
	struct db *watcher;
	bool waited;     /* jt_stock_take's UPDATE was seen waiting on the row */
};

/* jt_stock_take's UPDATE running (waiting) on some connection of ours: the server shows a
 * procedure's statement with its variables as NAME_CONST('v_qty', n). */
static const char sql_take_running[] =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
    " WHERE INFO LIKE 'UPDATE stock SET available = available - %v_qty%' AND ID <> ?";

static int
hold_fn(struct db *d, void *p)
{
	struct hold *h = p;
	char c = 'x';
	int i;

	if (db_exec(d, sql_set_stock, "ii", (int64_t)0, h->pid) != 1)
		return DB_ERR;
	if (write(h->go, &c, 1) != 1)
		return DB_ERR;
	for (i = 0; i < 500 && !h->waited; i++) {
		usleep(10 * 1000);
		h->waited = scalar(h->watcher, sql_take_running, 0) > 0;
	}
	return 0;
}

START_TEST(test_refusal_on_second_line_writes_nothing)
{
	struct orders_create_req req;
	struct orders_line_req lines[2];
	struct order o;
	struct hold h;
	struct db *holder;
	int go[2], status;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Child: its own connection; waits for the lock to be held, then checks out. */
		struct db *cdb;
		struct pollfd pfd = { go[0], POLLIN, 0 };
		int rc;

		if (poll(&pfd, 1, 5000) != 1 || read(go[0], &c, 1) != 1)
			_exit(100);
		cdb = db_new(conf);
		make_req(&req, lines, ORDER_PAY_TOSS, NULL);
		rc = orders_create(cdb, arena, &req, &o);
		db_free(&cdb);
		_exit(rc);
	}
	holder = db_new(conf);
	h.pid = product[1];
	h.go = go[1];
	h.watcher = db;
	h.waited = false;
	ck_assert_int_eq(db_tx(holder, hold_fn, &h), 0);
	ck_assert_msg(h.waited, "the checkout's CALL never waited on the stock row");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), ORDERS_SOLD_OUT);
	db_free(&holder);
	close(go[0]);
	close(go[1]);

	/* No order, line, event or parcel; product 0's stock as it was. */
	ck_assert_int_eq(scalar(db, sql_user_orders, user_id), 0);
	ck_assert_int_eq(scalar(db, sql_user_lines, user_id), 0);
	ck_assert_int_eq(scalar(db, sql_user_events, user_id), 0);
	ck_assert_int_eq(scalar(db, sql_user_parcels, user_id), 0);
	ck_assert_int_eq(scalar(db, sql_stock, product[0]), 5);
	ck_assert_int_eq(scalar(db, sql_stock, product[1]), 0);
	/* The connection is usable after. */
	ck_assert_int_eq(db_exec(db, sql_set_stock, "ii", (int64_t)5, product[1]), 1);
	make_req(&req, lines, ORDER_PAY_TOSS, NULL);
	ck_assert_int_eq(orders_create(db, arena, &req, &o), ORDERS_CREATED);
}
END_TEST

START_TEST(test_points_checkout_pays)
{
	struct orders_create_req req;
	struct orders_line_req lines[2];
	struct order o;
	struct db_res res;

	make_req(&req, lines, ORDER_PAY_POINTS, NULL);
	ck_assert_int_eq(orders_create(db, arena, &req, &o), ORDERS_CREATED);
	ck_assert_int_eq(o.status, ORDER_PAID);
	ck_assert_ptr_nonnull(o.paid_at);
	ck_assert_int_eq(scalar(db, sql_points, user_id), 10000 - 6500);
	ck_assert_int_eq(db_query(db, arena, &res, sql_event, "i", o.id), 1);
	ck_assert_str_eq(db_col_str(&res, 0, "to_status"), "PAID");
	ck_assert_int_eq(scalar(db, sql_stock, product[0]), 3);
	/* Not enough points left for a second: refused, nothing written, stock as it was. */
	ck_assert_int_eq(orders_create(db, arena, &req, &o), ORDERS_NO_POINTS);
	ck_assert_int_eq(scalar(db, sql_user_orders, user_id), 1);
	ck_assert_int_eq(scalar(db, sql_stock, product[0]), 3);
	ck_assert_int_eq(scalar(db, sql_points, user_id), 3500);
}
END_TEST

Suite *
checkout_suite(void)
{
	Suite *s = suite_create("checkout");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_card_two_statements);
	tcase_add_test(tc, test_checkout_key_replays);
	tcase_add_test(tc, test_refusal_on_second_line_writes_nothing);
	tcase_add_test(tc, test_points_checkout_pays);
	suite_add_tcase(s, tc);
	return s;
}
