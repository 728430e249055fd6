/* check_ledger: postings, replays and conflicts, invalid legs, the points limit, the books
 * check finding planted violations, settlement of sales and refunds, and payouts. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "infra/db.h"
#include "base/ids.h"
#include "shop/ledger.h"
#include "infra/migrate.h"
#include "shop/settle.h"
#include "suites.h"
#include "shop/wallet.h"

#ifndef JT_SRCDIR
#define JT_SRCDIR "."
#endif

static struct conf *conf;
static struct db *db;
static struct arena *arena;

static const char *const wipe[] = {
	"SET FOREIGN_KEY_CHECKS = 0",
	"TRUNCATE TABLE ledger_transfers",
	"TRUNCATE TABLE ledger_accounts",
	"TRUNCATE TABLE settlements",
	"TRUNCATE TABLE payouts",
	"TRUNCATE TABLE refund_lines",
	"TRUNCATE TABLE refunds",
	"SET FOREIGN_KEY_CHECKS = 1",
	/* the books check reads every paid order: none but this suite's */
	"UPDATE orders SET paid_at = NULL WHERE paid_at IS NOT NULL",
	NULL,
};

static void
setup(void)
{
	char err[256];
	size_t i;

	conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	db = db_new(conf);
	arena = arena_new(4096);
	ck_assert_int_ge(migrate_run(db, JT_SRCDIR "/sql"), 0);
	for (i = 0; wipe[i] != NULL; i++)
		ck_assert_msg(db_exec_once(db, wipe[i]) >= 0, "%s: %s", wipe[i], db_error(db));
}

static void
teardown(void)
{
	arena_free(&arena);
	db_free(&db);
	conf_free(&conf);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t
balance(const char *code)
{
	struct ledger_account acc;
	int rc = ledger_account_get(db, arena, code, &acc);

	ck_assert_int_ge(rc, 0);
	return rc == 1 ? acc.balance : 0;
}

static int64_t
one_int(const char *sql)
{
	struct db_res res;

	ck_assert_int_eq(db_query(db, arena, &res, sql, ""), 1);
	return db_res_i64(&res, 0, 0);
}

static int64_t
transfers_count(void)
{
	return one_int("SELECT COUNT(*) FROM ledger_transfers");
}

static int64_t
make_user(int64_t points)
{
	char email[64], id[13];

	ids_new(id, sizeof(id));
	snprintf(email, sizeof(email), "ledger-%s@jangteo.test", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO users (email, name, status, points)"
	    " VALUES (?, '원장', 'active', ?)", "si", email, points), 1);
	return db_last_insert_id(db);
}

static int64_t
make_seller(const char *bp)
{
	char name[40], id[13];

	ids_new(id, sizeof(id));
	snprintf(name, sizeof(name), "ledger-seller-%s", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO sellers (name, commission_bp) VALUES (?, ?)",
	    "ss", name, bp), 1);   /* bp NULL: the config's rate */
	return db_last_insert_id(db);
}

static int64_t
make_product(int64_t seller, int64_t price)
{
	char name[40], id[13];

	ids_new(id, sizeof(id));
	snprintf(name, sizeof(name), "p-%s", id);
	ck_assert_int_eq(db_exec(db, "INSERT INTO products (seller_id, name, description, price)"
	    " VALUES (?, ?, '', ?)", "isi", seller, name, price), 1);
	return db_last_insert_id(db);
}

/* A paid order of user with lines (product, quantity, unit price); its public id in out. */
static int64_t
make_order(int64_t user, const int64_t (*lines)[3], size_t n, char out[25])
{
	int64_t id, total = 0;
	size_t i;

	for (i = 0; i < n; i++)
		total += lines[i][1] * lines[i][2];
	ids_new(out, 25);
	ck_assert_int_eq(db_exec(db, "INSERT INTO orders (public_id, user_id, status, pay_method,"
	    " amount, order_name, item_count, expires_at, paid_at) VALUES (?, ?, 'PAID', 'toss', ?,"
	    " '주문', 1, NOW(), NOW())", "sii", out, user, total), 1);
	id = db_last_insert_id(db);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(db_exec(db, "INSERT INTO order_lines (order_id, product_id, seller_id,"
		    " name, unit_price, quantity, amount) SELECT ?, id, seller_id, name, ?, ?, ?"
		    " FROM products WHERE id = ?", "iiiii", id, lines[i][2], lines[i][1],
		    lines[i][1] * lines[i][2], lines[i][0]), 1);
	return id;
}

/* ---- postings --------------------------------------------------------------------------- */

START_TEST(test_paid_posting_replay_and_conflict)
{
	struct ledger_transfer *t;

	ck_assert_int_eq(ledger_post_paid(db, "ORDERAAAAAAAAAAAAAAAAAAA", "toss", 0, 5000),
	    LEDGER_POSTED);
	ck_assert_int_eq(balance("pg_receivable:toss"), 5000);
	ck_assert_int_eq(balance("sales_clearing"), 5000);
	ck_assert_int_eq(transfers_count(), 1);

	/* the same posting again: nothing changes */
	ck_assert_int_eq(ledger_post_paid(db, "ORDERAAAAAAAAAAAAAAAAAAA", "toss", 0, 5000),
	    LEDGER_REPLAYED);
	ck_assert_int_eq(balance("sales_clearing"), 5000);
	ck_assert_int_eq(transfers_count(), 1);

	/* the same id with another amount or another PG: refused, nothing written */
	ck_assert_int_eq(ledger_post_paid(db, "ORDERAAAAAAAAAAAAAAAAAAA", "toss", 0, 5001),
	    LEDGER_CONFLICT);
	ck_assert_int_eq(ledger_post_paid(db, "ORDERAAAAAAAAAAAAAAAAAAA", "kakaopay", 0, 5000),
	    LEDGER_CONFLICT);
	ck_assert_int_eq(balance("sales_clearing"), 5000);
	ck_assert_int_eq(balance("pg_receivable:kakaopay"), 0);
	ck_assert_int_eq(transfers_count(), 1);

	ck_assert_int_eq(ledger_transfers(db, arena, NULL, 0, 10, &t), 1);
	ck_assert_str_eq(t[0].posting_id, "paid:ORDERAAAAAAAAAAAAAAAAAAA");
	ck_assert_str_eq(t[0].debit, "pg_receivable:toss");
	ck_assert_str_eq(t[0].credit, "sales_clearing");
	ck_assert_int_eq(t[0].amount, 5000);
	ck_assert_int_eq(t[0].code, LEDGER_PAID_PG);
	ck_assert_str_eq(t[0].ref_type, "order");
	ck_assert_str_eq(t[0].ref_id, "ORDERAAAAAAAAAAAAAAAAAAA");
	ck_assert_int_eq(strlen(t[0].created_at), 19);
}
END_TEST

START_TEST(test_multi_leg_posting_sums_per_account)
{
	struct ledger_leg legs[] = {
		{ "sales_clearing", "seller_payable:7", 900 },
		{ "sales_clearing", "commission_revenue", 100 },
		{ "sales_clearing", "seller_payable:8", 1800 },
		{ "sales_clearing", "commission_revenue", 200 },
	};
	struct ledger_posting p = { "settle:X", LEDGER_SETTLE, "order", "X", legs, 4 };
	struct ledger_account *accs;
	struct ledger_transfer *t;

	ck_assert_int_eq(ledger_post_paid(db, "X", "kakaopay", 0, 3000), LEDGER_POSTED);
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_POSTED);
	ck_assert_int_eq(balance("sales_clearing"), 0);
	ck_assert_int_eq(balance("seller_payable:7"), 900);
	ck_assert_int_eq(balance("seller_payable:8"), 1800);
	ck_assert_int_eq(balance("commission_revenue"), 300);
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_REPLAYED);
	legs[3].amount = 201;
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_CONFLICT);
	p.nlegs = 3;   /* fewer legs: also another body */
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_CONFLICT);
	ck_assert_int_eq(balance("commission_revenue"), 300);

	ck_assert_int_eq(ledger_accounts(db, arena, &accs), 5);
	ck_assert_str_eq(accs[0].code, "commission_revenue");
	ck_assert_int_eq(accs[0].kind, LEDGER_REVENUE);
	ck_assert_str_eq(accs[1].code, "pg_receivable:kakaopay");
	ck_assert_int_eq(accs[1].kind, LEDGER_ASSET);
	ck_assert_int_eq(accs[1].balance, 3000);
	ck_assert_int_eq(accs[1].debits_posted, 3000);
	ck_assert_int_eq(accs[1].credits_posted, 0);
	ck_assert_str_eq(accs[2].code, "sales_clearing");
	ck_assert_int_eq(accs[2].debits_posted, 3000);
	ck_assert_int_eq(accs[2].credits_posted, 3000);

	/* an account's transfers, newest first, with the cursor */
	ck_assert_int_eq(ledger_transfers(db, arena, "sales_clearing", 0, 10, &t), 5);
	ck_assert_str_eq(t[0].posting_id, "settle:X");
	ck_assert_int_eq(t[0].amount, 200);
	ck_assert_str_eq(t[4].posting_id, "paid:X");
	ck_assert_int_eq(ledger_transfers(db, arena, "sales_clearing", t[1].id, 2, &t), 2);
	ck_assert_int_eq(t[0].amount, 100);
	ck_assert_int_eq(t[1].amount, 900);
	ck_assert_int_eq(ledger_transfers(db, arena, "seller_payable:8", 0, 10, &t), 1);
	ck_assert_int_eq(ledger_transfers(db, arena, "nobody", 0, 10, &t), 0);
}
END_TEST

START_TEST(test_invalid_postings_write_nothing)
{
	struct ledger_leg good = { "cash_at_bank", "points:999999999", 10 };
	struct ledger_leg bad[] = {
		{ "cash_at_bank", "points:5", 0 },
		{ "cash_at_bank", "points:5", -10 },
		{ "cash_at_bank", "points:5", INT64_C(1000000000000001) },
		{ "cash_at_bank", "cash_at_bank", 10 },
		{ "cash_at_bank", "bogus", 10 },
		{ "cash_at_bank", "points:0", 10 },
		{ "cash_at_bank", "points:05", 10 },
		{ "cash_at_bank", "points:-5", 10 },
		{ "cash_at_bank", "points:", 10 },
		{ "cash_at_bank", "seller_payable:x", 10 },
		{ "pg_receivable:paypal", "sales_clearing", 10 },
		{ "pg_receivable:", "sales_clearing", 10 },
		{ "Cash_at_bank", "sales_clearing", 10 },
		{ "cash_at_bank ", "sales_clearing", 10 },
		{ NULL, "sales_clearing", 10 },
	};
	struct ledger_leg many[LEDGER_LEGS_MAX + 1];
	struct ledger_posting p = { "charge:1", LEDGER_POINTS_CHARGE, "charge", "1", NULL, 1 };
	char longid[LEDGER_ID_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.legs = &bad[i];
		ck_assert_msg(ledger_post(db, &p) == LEDGER_INVALID, "leg %zu", i);
	}
	p.legs = &good;
	p.nlegs = 0;
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	for (i = 0; i < LEDGER_LEGS_MAX + 1; i++)
		many[i] = good;
	p.legs = many;
	p.nlegs = LEDGER_LEGS_MAX + 1;
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	p.nlegs = 1;
	p.id = "charge 1";
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	p.id = "";
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	p.id = "charge:\xc3\xa9";
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	p.id = longid;
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	p.id = "charge:1";
	p.code = LEDGER_CODE__MAX;
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	p.code = LEDGER_POINTS_CHARGE;
	p.ref_id = "with space";
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post(db, NULL), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_paid(db, "O1", "paypal", 0, 10), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_paid(db, "O1", "points", 0, 10), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_paid(db, NULL, "toss", 0, 10), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_paid(db, "O1", NULL, 0, 10), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_paid(db, "O1", "toss", 0, 0), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_payout(db, 0, 1, 10), LEDGER_INVALID);
	ck_assert_int_eq(ledger_post_points_charge(db, 1, -1, 10), LEDGER_INVALID);
	ck_assert_int_eq(transfers_count(), 0);
	ck_assert_int_eq(one_int("SELECT COUNT(*) FROM ledger_accounts WHERE debits_posted > 0"
	    " OR credits_posted > 0"), 0);

	/* the good one goes through */
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_INVALID);  /* ref still has a space */
	p.ref_id = "1";
	ck_assert_int_eq(ledger_post(db, &p), LEDGER_POSTED);
	ck_assert_int_eq(balance("points:999999999"), 10);
}
END_TEST

START_TEST(test_points_limit_and_opening_balance)
{
	int64_t user = make_user(0), legacy;
	char code[40], open_id[48];
	struct db_res res;

	snprintf(code, sizeof(code), "points:%" PRId64, user);
	/* users.points carries the caller's change before it posts */
	ck_assert_int_eq(db_exec(db, "UPDATE users SET points = 3000 WHERE id = ?", "i", user), 1);
	ck_assert_int_eq(ledger_post_points_charge(db, 900, user, 3000), LEDGER_POSTED);
	ck_assert_int_eq(balance(code), 3000);
	ck_assert_int_eq(balance("cash_at_bank"), 3000);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-P2", "points", user, 3001), LEDGER_LIMIT);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-P2", "points", user, 3000), LEDGER_POSTED);
	ck_assert_int_eq(balance(code), 0);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-P3", "points", user, 1), LEDGER_LIMIT);
	ck_assert_int_eq(balance("sales_clearing"), 3000);
	/* a replay is a replay even when the balance could not pay it again */
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-P2", "points", user, 3000), LEDGER_REPLAYED);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-P2", "points", user, 2999), LEDGER_CONFLICT);
	ck_assert_int_eq(balance(code), 0);
	ck_assert_int_eq(balance("sales_clearing"), 3000);
	/* a refund gives points back, and may then be spent */
	ck_assert_int_eq(ledger_post_refund(db, "REFUND-1", "ORDER-P2", "points", user, 1000),
	    LEDGER_POSTED);
	ck_assert_int_eq(balance(code), 1000);
	ck_assert_int_eq(balance("refunds"), 1000);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-P3", "points", user, 1000), LEDGER_POSTED);

	/* a user whose points predate the ledger (users.points set directly): the account opens
	 * with the balance before the first posting; the caller has already taken the spend
	 * from users.points */
	legacy = make_user(7000 - 2500);
	snprintf(code, sizeof(code), "points:%" PRId64, legacy);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-L1", "points", legacy, 2500), LEDGER_POSTED);
	ck_assert_int_eq(balance(code), 4500);
	snprintf(open_id, sizeof(open_id), "open:points:%" PRId64, legacy);
	ck_assert_int_eq(db_query(db, arena, &res, "SELECT amount, code FROM ledger_transfers"
	    " WHERE posting_id = ?", "s", open_id), 1);
	ck_assert_int_eq(db_res_i64(&res, 0, 0), 7000);
	ck_assert_str_eq(db_res_str(&res, 0, 1), "points.charge");
	/* opened once only */
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-L2", "points", legacy, 4500), LEDGER_POSTED);
	ck_assert_int_eq(balance(code), 0);
	ck_assert_int_eq(ledger_post_paid(db, "ORDER-L3", "points", legacy, 1), LEDGER_LIMIT);
}
END_TEST

START_TEST(test_check_finds_planted_violations)
{
	struct buf report;
	char oid[25];
	int64_t user = make_user(0), seller = make_seller("1000"), pid = make_product(seller, 100);
	const int64_t lines[][3] = { { pid, 2, 100 } };

	buf_init(&report);
	ck_assert_int_eq(ledger_post_paid(db, "O-CHECK", "toss", 0, 700), LEDGER_POSTED);
	ck_assert_int_eq(ledger_check(db, arena, &report), 0);
	ck_assert_str_eq(buf_cstr(&report), "");

	/* a tampered balance */
	ck_assert_int_eq(db_exec(db, "UPDATE ledger_accounts SET credits_posted = credits_posted"
	    " + 5 WHERE code = 'sales_clearing'", ""), 1);
	ck_assert_int_eq(ledger_check(db, arena, &report), 2);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&report), "account sales_clearing: posted debits 0"
	    " credits 705, its transfers debit 0 credit 700\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&report), "books: accounts' debits 700 != credits"
	    " 705\n"));
	ck_assert_int_eq(db_exec(db, "UPDATE ledger_accounts SET credits_posted = credits_posted"
	    " - 5 WHERE code = 'sales_clearing'", ""), 1);

	/* a paid order without its posting, then with a wrong one */
	make_order(user, lines, 1, oid);
	buf_reset(&report);
	ck_assert_int_eq(ledger_check(db, arena, &report), 1);
	ck_assert_str_eq(buf_cstr(&report), arena_printf(arena, "order %s: no paid:%s posting"
	    " (amount 200)\n", oid, oid));
	ck_assert_int_eq(ledger_post_paid(db, oid, "toss", 0, 199), LEDGER_POSTED);
	buf_reset(&report);
	ck_assert_int_eq(ledger_check(db, arena, &report), 1);
	ck_assert_str_eq(buf_cstr(&report), arena_printf(arena, "order %s: posting paid:%s moves"
	    " 199, the order is 200\n", oid, oid));

	/* a points account below zero (balance forced past the guard) */
	ck_assert_int_eq(ledger_post_points_charge(db, 5, user, 10), LEDGER_POSTED);
	ck_assert_int_eq(db_exec_once(db, "SET SESSION check_constraint_checks = 0"), 0);
	ck_assert_int_eq(db_exec(db, "UPDATE ledger_accounts SET debits_posted = 20"
	    " WHERE code LIKE 'points:%'", ""), 1);
	ck_assert_int_eq(db_exec_once(db, "SET SESSION check_constraint_checks = 1"), 0);
	buf_reset(&report);
	ck_assert_int_eq(ledger_check(db, arena, &report), 5);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&report), arena_printf(arena, "account points:%"
	    PRId64 ": below zero (debits 20, credits 10)\n", user)));

	/* transfers are immutable */
	ck_assert_int_lt(db_exec(db, "UPDATE ledger_transfers SET amount = 1", ""), 0);
	ck_assert_int_lt(db_exec(db, "DELETE FROM ledger_transfers", ""), 0);
	buf_release(&report);
}
END_TEST

/* A posting made in a transaction that stays open a while. */
struct slow_post {
	struct db *db;
	int64_t amount;
	enum ledger_rc rc;
	int tx_rc;
	volatile int posted;   /* set once the posting is made (its rows locked, not committed) */
};

static int
slow_post_fn(struct db *d, void *arg)
{
	struct slow_post *sp = arg;

	sp->rc = ledger_post_paid(d, "ORDER-RACE", "toss", 0, sp->amount);
	__atomic_store_n(&sp->posted, 1, __ATOMIC_RELEASE);
	usleep(300 * 1000);   /* hold the accounts' rows while the other one waits */
	return sp->rc == LEDGER_POSTED || sp->rc == LEDGER_REPLAYED ? 0 : -1;
}

static void *
slow_post_thread(void *arg)
{
	struct slow_post *sp = arg;

	sp->tx_rc = db_tx(sp->db, slow_post_fn, sp);
	return NULL;
}

START_TEST(test_same_posting_racing_itself_counts_once)
{
	struct slow_post first = { db_new(conf), 4200, LEDGER_RC__MAX, 1, 0 };
	struct slow_post second = { db, 4200, LEDGER_RC__MAX, 1, 0 };
	pthread_t th;
	int i;

	ck_assert_int_eq(pthread_create(&th, NULL, slow_post_thread, &first), 0);
	/* the first has posted and holds the rows (however slow the machine), then the second */
	for (i = 0; i < 3000 && !__atomic_load_n(&first.posted, __ATOMIC_ACQUIRE); i++)
		usleep(10 * 1000);
	/* waits for the first's locks, then finds its posting committed: undone, a replay */
	slow_post_thread(&second);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(first.tx_rc, 0);
	ck_assert_int_eq(first.rc, LEDGER_POSTED);
	ck_assert_int_eq(second.tx_rc, 0);
	ck_assert_int_eq(second.rc, LEDGER_REPLAYED);
	ck_assert_int_eq(balance("sales_clearing"), 4200);
	ck_assert_int_eq(balance("pg_receivable:toss"), 4200);
	ck_assert_int_eq(transfers_count(), 1);

	db_free(&first.db);
}
END_TEST

/* ---- settlement --------------------------------------------------------------------------- */

START_TEST(test_commission_arithmetic)
{
	int64_t c, total, prior, part;
	int bp;

	ck_assert_int_eq(settle_commission(10000, 1000, &c), 0);
	ck_assert_int_eq(c, 1000);
	ck_assert_int_eq(settle_commission(999, 1000, &c), 0);
	ck_assert_int_eq(c, 99);   /* floor */
	ck_assert_int_eq(settle_commission(1, 9999, &c), 0);
	ck_assert_int_eq(c, 0);
	ck_assert_int_eq(settle_commission(INT64_C(1000000000000000), 10000, &c), 0);
	ck_assert_int_eq(c, INT64_C(1000000000000000));
	ck_assert_int_eq(settle_commission(-1, 1000, &c), -1);
	ck_assert_int_eq(settle_commission(INT64_C(1000000000000001), 1000, &c), -1);
	ck_assert_int_eq(settle_commission(100, 10001, &c), -1);
	ck_assert_int_eq(settle_commission(100, -1, &c), -1);
	ck_assert_int_eq(settle_refund_commission(-1, 5, 1000, &c), -1);
	ck_assert_int_eq(settle_refund_commission(0, -5, 1000, &c), -1);

	/* refunding a sale in any parts gives back exactly its commission */
	for (bp = 0; bp <= 10000; bp += 333) {
		const int64_t gross = 99991;
		int64_t taken;

		ck_assert_int_eq(settle_commission(gross, bp, &taken), 0);
		total = 0;
		for (prior = 0; prior < gross; prior += part) {
			part = 1 + (prior * 7 + bp) % 997;
			if (prior + part > gross)
				part = gross - prior;
			ck_assert_int_eq(settle_refund_commission(prior, part, bp, &c), 0);
			ck_assert_int_ge(c, 0);
			ck_assert_int_le(c, part);
			total += c;
		}
		ck_assert_int_eq(total, taken);
	}
}
END_TEST

static int64_t
settlement_count(const char *kind, const char *ref)
{
	struct db_res res;

	ck_assert_int_eq(db_query(db, arena, &res, "SELECT COUNT(*) FROM settlements WHERE kind = ?"
	    " AND ref = ?", "ss", kind, ref), 1);
	return db_res_i64(&res, 0, 0);
}

/* A DONE refund of order_id with lines (product, quantity, amount); its public id in out. */
static int64_t
make_refund(int64_t order_id, const char *status, int64_t amount, const int64_t (*lines)[3],
    size_t n, char out[25])
{
	int64_t id;
	size_t i;

	ids_new(out, 25);
	ck_assert_int_eq(db_exec(db, "INSERT INTO refunds (public_id, order_id, amount, status,"
	    " actor) VALUES (?, ?, ?, ?, 'shopper')", "siis", out, order_id, amount, status), 1);
	id = db_last_insert_id(db);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(db_exec(db, "INSERT INTO refund_lines (refund_id, product_id, quantity,"
		    " amount) VALUES (?, ?, ?, ?)", "iiii", id, lines[i][0], lines[i][1], lines[i][2]), 1);
	return id;
}

START_TEST(test_settle_order_and_refunds)
{
	int64_t user = make_user(0), s1 = make_seller(NULL), s2 = make_seller("250");
	int64_t p1 = make_product(s1, 3333), p2 = make_product(s2, 1001), order_id;
	const int64_t lines[][3] = { { p1, 3, 3333 }, { p2, 2, 1001 } };
	char oid[25], rid1[25], rid2[25], rid3[25], pay1[40], pay2[40];
	struct buf report;
	struct wallet w;
	struct wallet_entry *e;

	buf_init(&report);
	snprintf(pay1, sizeof(pay1), "seller_payable:%" PRId64, s1);
	snprintf(pay2, sizeof(pay2), "seller_payable:%" PRId64, s2);
	order_id = make_order(user, lines, 2, oid);   /* 9999 + 2002 = 12001 */
	ck_assert_int_eq(ledger_post_paid(db, oid, "toss", 0, 12001), LEDGER_POSTED);

	/* a refund before its sale is settled waits */
	const int64_t r1[][3] = { { p1, 1, 3333 } };
	make_refund(order_id, "DONE", 3333, r1, 1, rid1);
	ck_assert_int_eq(ledger_post_refund(db, rid1, oid, "toss", 0, 3333), LEDGER_POSTED);
	ck_assert_int_eq(settle_refund(db, arena, NULL, rid1), SETTLE_WAIT);
	ck_assert_int_eq(settlement_count("refund", rid1), 0);

	/* the sale: s1 at the default 10 %, s2 at 2.5 % */
	ck_assert_int_eq(settle_order(db, arena, NULL, oid, 1000), SETTLE_DONE);
	ck_assert_int_eq(balance(pay1), 9999 - 999);
	ck_assert_int_eq(balance(pay2), 2002 - 50);
	ck_assert_int_eq(balance("commission_revenue"), 999 + 50);
	ck_assert_int_eq(balance("sales_clearing"), 0);
	ck_assert_int_eq(settle_order(db, arena, NULL, oid, 1000), SETTLE_REPLAYED);
	ck_assert_int_eq(settle_order(db, arena, NULL, oid, 500), SETTLE_REPLAYED);
	ck_assert_int_eq(balance("commission_revenue"), 1049);
	ck_assert_int_eq(settlement_count("sale", oid), 2);
	ck_assert_int_eq(settle_order(db, arena, NULL, "NO-SUCH-ORDER", 1000), SETTLE_SKIPPED);

	/* the first refund now: 3333 of s1's 9999, commission back C(3333) - C(0) = 333 */
	ck_assert_int_eq(settle_refund(db, arena, NULL, rid1), SETTLE_DONE);
	ck_assert_int_eq(settle_refund(db, arena, NULL, rid1), SETTLE_REPLAYED);
	ck_assert_int_eq(balance(pay1), 9000 - 3000);
	ck_assert_int_eq(balance("commission_revenue"), 1049 - 333);
	ck_assert_int_eq(balance("refunds"), 0);

	/* a refund still REQUESTED waits; a FAILED one is skipped */
	make_refund(order_id, "REQUESTED", 1001, NULL, 0, rid3);
	ck_assert_int_eq(settle_refund(db, arena, NULL, rid3), SETTLE_WAIT);
	ck_assert_int_eq(db_exec(db, "UPDATE refunds SET status = 'FAILED' WHERE public_id = ?",
	    "s", rid3), 1);
	ck_assert_int_eq(settle_refund(db, arena, NULL, rid3), SETTLE_SKIPPED);
	ck_assert_int_eq(settle_refund(db, arena, NULL, "NO-SUCH-REFUND"), SETTLE_SKIPPED);

	/* the rest, recorded without lines (as reconciliation does): split over what each
	 * seller has left, and the whole commission comes back exactly */
	make_refund(order_id, "DONE", 12001 - 3333, NULL, 0, rid2);
	ck_assert_int_eq(ledger_post_refund(db, rid2, oid, "toss", 0, 12001 - 3333),
	    LEDGER_POSTED);
	ck_assert_int_eq(settle_refund(db, arena, NULL, rid2), SETTLE_DONE);
	ck_assert_int_eq(balance(pay1), 0);
	ck_assert_int_eq(balance(pay2), 0);
	ck_assert_int_eq(balance("commission_revenue"), 0);
	ck_assert_int_eq(balance("refunds"), 0);
	ck_assert_int_eq(balance("pg_receivable:toss"), 0);
	ck_assert_int_eq(ledger_check(db, arena, &report), 0);
	ck_assert_str_eq(buf_cstr(&report), "");

	ck_assert_int_eq(wallet_get(db, arena, s1, 1000, &w), 1);
	ck_assert_int_eq(w.commission_bp, 1000);
	ck_assert_int_eq(w.payable, 0);
	ck_assert_int_eq(w.sales_total, 9999);
	ck_assert_int_eq(w.refunds_total, 9999);
	ck_assert_int_eq(w.commission_total, 0);
	ck_assert_int_eq(wallet_entries(db, arena, s1, 10, &e), 3);
	ck_assert_str_eq(e[2].kind, "sale");
	ck_assert_str_eq(e[2].ref, oid);
	ck_assert_int_eq(e[2].gross, 9999);
	ck_assert_int_eq(e[2].commission, 999);
	ck_assert_int_eq(e[2].net, 9000);
	ck_assert_str_eq(e[1].kind, "refund");
	ck_assert_int_eq(e[1].net, -3000);
	ck_assert_int_eq(wallet_get(db, arena, s2, 1000, &w), 1);
	ck_assert_int_eq(w.commission_bp, 250);
	ck_assert_int_eq(wallet_get(db, arena, 999999999, 1000, &w), 0);
	buf_release(&report);
}
END_TEST

START_TEST(test_settle_many_sellers_splits_the_posting)
{
	int64_t user = make_user(0), lines[17][3];
	char oid[25];
	struct db_res res;
	size_t i;

	for (i = 0; i < 17; i++) {
		lines[i][0] = make_product(make_seller("500"), 1000);
		lines[i][1] = 1;
		lines[i][2] = 1000;
	}
	make_order(user, (const int64_t (*)[3])lines, 17, oid);
	ck_assert_int_eq(ledger_post_paid(db, oid, "toss", 0, 17000), LEDGER_POSTED);
	ck_assert_int_eq(settle_order(db, arena, NULL, oid, 1000), SETTLE_DONE);
	ck_assert_int_eq(db_query(db, arena, &res, "SELECT posting_id, COUNT(*), SUM(amount)"
	    " FROM ledger_transfers WHERE ref_id = ? AND code = 'settle' GROUP BY posting_id"
	    " ORDER BY posting_id", "s", oid), 2);
	ck_assert_str_eq(db_res_str(&res, 0, 0), arena_printf(arena, "settle:%s", oid));
	ck_assert_int_eq(db_res_i64(&res, 0, 1), 16);          /* 15 sellers + commission */
	ck_assert_int_eq(db_res_i64(&res, 0, 2), 15000);
	ck_assert_str_eq(db_res_str(&res, 1, 0), arena_printf(arena, "settle:%s/2", oid));
	ck_assert_int_eq(db_res_i64(&res, 1, 1), 3);
	ck_assert_int_eq(db_res_i64(&res, 1, 2), 2000);
	ck_assert_int_eq(balance("sales_clearing"), 0);
	ck_assert_int_eq(balance("commission_revenue"), 17 * 50);
	ck_assert_int_eq(settle_order(db, arena, NULL, oid, 1000), SETTLE_REPLAYED);
	ck_assert_int_eq(balance("commission_revenue"), 17 * 50);
}
END_TEST

START_TEST(test_settle_orders_in_one_batch)
{
	int64_t user = make_user(0), s1 = make_seller(NULL), s2 = make_seller("250");
	int64_t p1 = make_product(s1, 3333), p2 = make_product(s2, 1001), t0, u0;
	const int64_t two[][3] = { { p1, 3, 3333 }, { p2, 2, 1001 } };   /* 12001 */
	const int64_t one[][3] = { { p1, 1, 3333 } };
	char a[25], b[25], c[25], d[25], e[25], pay1[40], pay2[40];
	const char *ids[5];
	enum settle_rc rc[5];
	struct buf report;

	buf_init(&report);
	snprintf(pay1, sizeof(pay1), "seller_payable:%" PRId64, s1);
	snprintf(pay2, sizeof(pay2), "seller_payable:%" PRId64, s2);
	make_order(user, two, 2, a);
	make_order(user, one, 1, b);
	make_order(user, one, 1, c);
	make_order(user, two, 2, d);
	ck_assert_int_eq(ledger_post_paid(db, a, "toss", 0, 12001), LEDGER_POSTED);
	ck_assert_int_eq(ledger_post_paid(db, b, "toss", 0, 3333), LEDGER_POSTED);
	ck_assert_int_eq(ledger_post_paid(db, c, "toss", 0, 3333), LEDGER_POSTED);
	/* c settled before (one by one): the batch replays it */
	ck_assert_int_eq(settle_order(db, arena, NULL, c, 1000), SETTLE_DONE);
	t0 = transfers_count();
	u0 = one_int("SELECT COUNT(*) FROM settlements");
	ids[0] = a;
	ids[1] = "NO-SUCH-ORDER-000000000";
	ids[2] = c;
	ids[3] = b;
	ck_assert_int_eq(settle_orders_batch(db, arena, NULL, ids, 4, 1000, rc), 0);
	ck_assert_int_eq(rc[0], SETTLE_DONE);
	ck_assert_int_eq(rc[1], SETTLE_SKIPPED);
	ck_assert_int_eq(rc[2], SETTLE_REPLAYED);
	ck_assert_int_eq(rc[3], SETTLE_DONE);
	/* the same amounts as one by one: a (3 legs) and b (2 legs) */
	ck_assert_int_eq(transfers_count(), t0 + 5);
	ck_assert_int_eq(one_int("SELECT COUNT(*) FROM settlements"), u0 + 3);
	ck_assert_int_eq(balance(pay1), 2 * (3333 - 333) + 9999 - 999);
	ck_assert_int_eq(balance(pay2), 2002 - 50);
	ck_assert_int_eq(balance("commission_revenue"), 2 * 333 + 999 + 50);
	ck_assert_int_eq(balance("sales_clearing"), 0);
	ck_assert_int_eq(settlement_count("sale", a), 2);
	/* the whole batch again: every order replayed or skipped, nothing written */
	ck_assert_int_eq(settle_orders_batch(db, arena, NULL, ids, 4, 1000, rc), 0);
	ck_assert_int_eq(rc[0], SETTLE_REPLAYED);
	ck_assert_int_eq(rc[3], SETTLE_REPLAYED);
	ck_assert_int_eq(transfers_count(), t0 + 5);
	/* an order whose lines disagree with its amount, beside a good one: the batch writes
	 * nothing and says so (the worker then settles one by one) */
	ck_assert_int_eq(ledger_post_paid(db, d, "toss", 0, 12001), LEDGER_POSTED);
	make_order(user, one, 1, e);
	ck_assert_int_eq(db_exec(db, "UPDATE orders SET amount = amount + 1 WHERE public_id = ?",
	    "s", e), 1);
	ids[0] = d;
	ids[1] = e;
	ck_assert_int_eq(settle_orders_batch(db, arena, NULL, ids, 2, 1000, rc), -1);
	ck_assert_int_eq(settlement_count("sale", d), 0);
	ck_assert_int_eq(transfers_count(), t0 + 5 + 1);   /* d's paid posting only */
	ck_assert_int_eq(settle_orders_batch(db, arena, NULL, ids, 1, 1000, rc), 0);
	ck_assert_int_eq(rc[0], SETTLE_DONE);
	ck_assert_int_eq(settlement_count("sale", e), 0);
	ck_assert_int_eq(ledger_post_paid(db, e, "toss", 0, 3334), LEDGER_POSTED);
	ck_assert_msg(ledger_check(db, arena, &report) == 0, "%s", buf_cstr(&report));
	buf_release(&report);
}
END_TEST

START_TEST(test_payouts)
{
	int64_t user = make_user(0), seller = make_seller("1000"), other = make_seller(NULL);
	int64_t pid = make_product(seller, 5000), id, paid, id2;
	const int64_t lines[][3] = { { pid, 2, 5000 } };
	char oid[25], pay[40];
	struct wallet *ws;
	int64_t n, i;
	bool found = false;

	snprintf(pay, sizeof(pay), "seller_payable:%" PRId64, seller);
	ck_assert_int_eq(wallet_payout(db, seller, -1, 0, NULL, &id, &paid), WALLET_NOTHING);
	make_order(user, lines, 1, oid);
	ck_assert_int_eq(ledger_post_paid(db, oid, "kakaopay", 0, 10000), LEDGER_POSTED);
	ck_assert_int_eq(settle_order(db, arena, NULL, oid, 1000), SETTLE_DONE);
	ck_assert_int_eq(balance(pay), 9000);

	ck_assert_int_eq(wallet_payout(db, seller, 9001, user, "k1", &id, &paid), WALLET_TOO_MUCH);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(wallet_payout(db, seller, 0, user, "k1", &id, &paid), WALLET_BAD_REQUEST);
	ck_assert_int_eq(wallet_payout(db, seller, -2, user, "k1", &id, &paid), WALLET_BAD_REQUEST);
	ck_assert_int_eq(wallet_payout(db, seller, 1, user, "bad key", &id, &paid),
	    WALLET_BAD_REQUEST);
	ck_assert_int_eq(wallet_payout(db, 999999999, 1, user, "k1", &id, &paid), WALLET_NO_SELLER);
	ck_assert_int_eq(wallet_payout(db, seller, 4000, user, "k1", &id, &paid), WALLET_PAID_OUT);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(paid, 4000);
	ck_assert_int_eq(balance(pay), 5000);
	ck_assert_int_eq(balance("cash_at_bank"), -4000);
	/* the same key: a replay; with another amount or seller: refused */
	ck_assert_int_eq(wallet_payout(db, seller, 4000, user, "k1", &id2, &paid), WALLET_REPLAYED);
	ck_assert_int_eq(id2, id);
	ck_assert_int_eq(paid, 4000);
	ck_assert_int_eq(wallet_payout(db, seller, -1, user, "k1", &id2, &paid), WALLET_REPLAYED);
	ck_assert_int_eq(wallet_payout(db, seller, 10, user, "k1", &id2, &paid), WALLET_KEY_REUSED);
	ck_assert_int_eq(wallet_payout(db, other, 4000, user, "k1", &id2, &paid), WALLET_KEY_REUSED);
	ck_assert_int_eq(balance(pay), 5000);
	/* the rest, without a key */
	ck_assert_int_eq(wallet_payout(db, seller, -1, 0, NULL, &id2, &paid), WALLET_PAID_OUT);
	ck_assert_int_eq(paid, 5000);
	ck_assert_int_eq(balance(pay), 0);
	ck_assert_int_eq(wallet_payout(db, seller, -1, 0, NULL, &id2, &paid), WALLET_NOTHING);

	n = wallet_list(db, arena, 700, &ws);
	ck_assert_int_ge(n, 2);
	for (i = 0; i < n; i++) {
		if (ws[i].seller_id == seller) {
			found = true;
			ck_assert_int_eq(ws[i].paid_out_total, 9000);
			ck_assert_int_eq(ws[i].sales_total, 10000);
			ck_assert_int_eq(ws[i].commission_total, 1000);
			ck_assert_int_eq(ws[i].payable, 0);
		} else if (ws[i].seller_id == other) {
			ck_assert_int_eq(ws[i].commission_bp, 700);
			ck_assert_int_eq(ws[i].payable, 0);
		}
	}
	ck_assert(found);
	ck_assert_int_eq(wallet_seller_of_user(db, user, &id), 0);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(db_exec(db, "UPDATE sellers SET owner_user_id = ? WHERE id = ?", "ii", user,
	    seller), 1);
	ck_assert_int_eq(wallet_seller_of_user(db, user, &id), 1);
	ck_assert_int_eq(id, seller);
}
END_TEST

Suite *
ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("postings");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_paid_posting_replay_and_conflict);
	tcase_add_test(tc, test_multi_leg_posting_sums_per_account);
	tcase_add_test(tc, test_invalid_postings_write_nothing);
	tcase_add_test(tc, test_points_limit_and_opening_balance);
	tcase_add_test(tc, test_check_finds_planted_violations);
	tcase_add_test(tc, test_same_posting_racing_itself_counts_once);
	tcase_add_test(tc, test_commission_arithmetic);
	tcase_add_test(tc, test_settle_order_and_refunds);
	tcase_add_test(tc, test_settle_many_sellers_splits_the_posting);
	tcase_add_test(tc, test_payouts);
	tcase_add_test(tc, test_settle_orders_in_one_batch);
	suite_add_tcase(s, tc);
	return s;
}
