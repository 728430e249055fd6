/* ledger_read: reading the books: accounts with their balances, transfers, and the books
 * check that lists every violation (see ledger.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "infra/db.h"
#include "shop/ledger.h"

#define ACCOUNT_COLUMNS "SELECT code, kind, debits_posted, credits_posted FROM ledger_accounts"
static const char SQL_ACCOUNTS[] = ACCOUNT_COLUMNS " ORDER BY code";
static const char SQL_ACCOUNT[] = ACCOUNT_COLUMNS " WHERE code = ?";

#define TRANSFER_COLUMNS \
    "SELECT t.id, t.posting_id, d.code AS debit, c.code AS credit, t.amount, t.code," \
    " t.ref_type, t.ref_id," \
    " DATE_FORMAT(t.created_at, '%Y-%m-%d %H:%i:%s') AS at" \
    " FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id" \
    " JOIN ledger_accounts c ON c.id = t.credit_account_id"
static const char SQL_TRANSFERS_ALL[] =
    TRANSFER_COLUMNS " WHERE t.id < ? ORDER BY t.id DESC LIMIT ?";
/* An account's transfers: its debits and its credits, each walked down its own index. */
static const char SQL_TRANSFERS_OF[] =
    "SELECT * FROM ((" TRANSFER_COLUMNS " WHERE d.code = ? AND t.id < ?"
    " ORDER BY t.id DESC LIMIT ?) UNION ALL (" TRANSFER_COLUMNS
    " WHERE c.code = ? AND t.id < ? ORDER BY t.id DESC LIMIT ?)) x ORDER BY x.id DESC LIMIT ?";

/* The books check. */
static const char SQL_CHECK_TOTALS[] =
    "SELECT COALESCE(SUM(debits_posted), 0) AS debits, COALESCE(SUM(credits_posted), 0) AS"
    " credits, (SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers) AS transfers"
    " FROM ledger_accounts";
static const char SQL_CHECK_ACCOUNTS[] =
    "SELECT a.code, a.debits_posted, a.credits_posted, COALESCE(d.s, 0) AS transfer_debits,"
    " COALESCE(c.s, 0) AS transfer_credits"
    " FROM ledger_accounts a"
    " LEFT JOIN (SELECT debit_account_id AS id, SUM(amount) AS s FROM ledger_transfers"
    " GROUP BY debit_account_id) d ON d.id = a.id"
    " LEFT JOIN (SELECT credit_account_id AS id, SUM(amount) AS s FROM ledger_transfers"
    " GROUP BY credit_account_id) c ON c.id = a.id"
    " WHERE a.debits_posted <> COALESCE(d.s, 0) OR a.credits_posted <> COALESCE(c.s, 0)"
    " ORDER BY a.code";
static const char SQL_CHECK_LIMITS[] =
    "SELECT code, debits_posted, credits_posted FROM ledger_accounts WHERE not_negative = 1"
    " AND IF(kind IN ('asset','expense'), debits_posted < credits_posted,"
    " credits_posted < debits_posted) ORDER BY code";
static const char SQL_CHECK_PAID[] =
    "SELECT o.public_id, o.amount, SUM(t.amount) AS posted, COUNT(t.id) AS transfers,"
    " SUM(c.code <> 'sales_clearing') AS misplaced"
    " FROM orders o"
    " LEFT JOIN ledger_transfers t ON t.posting_id = CONCAT('paid:', o.public_id)"
    " LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id"
    " WHERE o.paid_at IS NOT NULL GROUP BY o.id, o.public_id, o.amount"
    " HAVING COUNT(t.id) = 0 OR SUM(t.amount) <> o.amount"
    " OR SUM(c.code <> 'sales_clearing') > 0 ORDER BY o.id";
static const char SQL_HAS_REFUNDS[] =
    "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE()"
    " AND table_name = 'refunds'";
static const char SQL_CHECK_REFUNDS[] =
    "SELECT r.public_id, r.amount, SUM(t.amount) AS posted, COUNT(t.id) AS transfers,"
    " SUM(d.code <> 'refunds') AS misplaced"
    " FROM refunds r"
    " LEFT JOIN ledger_transfers t ON t.posting_id = CONCAT('refund:', r.public_id)"
    " LEFT JOIN ledger_accounts d ON d.id = t.debit_account_id"
    " WHERE r.status = 'DONE' GROUP BY r.id, r.public_id, r.amount"
    " HAVING COUNT(t.id) = 0 OR SUM(t.amount) <> r.amount"
    " OR SUM(d.code <> 'refunds') > 0 ORDER BY r.id";

/* ---- reading ------------------------------------------------------------------------------ */

static const struct db_field account_fields[] = {
	DB_FIELD(struct ledger_account, code, DB_F_STR, "code"),
	DB_ENUM(struct ledger_account, kind, "kind", ledger_kind_names, LEDGER_KIND__MAX),
	DB_FIELD(struct ledger_account, debits_posted, DB_F_I64, "debits_posted"),
	DB_FIELD(struct ledger_account, credits_posted, DB_F_I64, "credits_posted"),
	DB_FIELDS_END,
};

static const struct db_field transfer_fields[] = {
	DB_FIELD(struct ledger_transfer, id, DB_F_I64, "id"),
	DB_FIELD(struct ledger_transfer, posting_id, DB_F_STR, "posting_id"),
	DB_FIELD(struct ledger_transfer, debit, DB_F_STR, "debit"),
	DB_FIELD(struct ledger_transfer, credit, DB_F_STR, "credit"),
	DB_FIELD(struct ledger_transfer, amount, DB_F_I64, "amount"),
	DB_ENUM(struct ledger_transfer, code, "code", ledger_code_names, LEDGER_CODE__MAX),
	DB_FIELD(struct ledger_transfer, ref_type, DB_F_STR, "ref_type"),
	DB_FIELD(struct ledger_transfer, ref_id, DB_F_STR, "ref_id"),
	DB_FIELD(struct ledger_transfer, created_at, DB_F_STR, "at"),
	DB_FIELDS_END,
};

/* Fills *out from row i of an ACCOUNT_COLUMNS result. Returns 0 or DB_ERR (bad kind). */
static int
account_from_row(const struct db_res *res, size_t i, struct ledger_account *out)
{
	memset(out, 0, sizeof(*out));
	if (db_res_map(res, i, account_fields, out) != 0)
		return DB_ERR;
	if (out->kind == LEDGER_ASSET || out->kind == LEDGER_EXPENSE)
		out->balance = out->debits_posted - out->credits_posted;
	else
		out->balance = out->credits_posted - out->debits_posted;
	return 0;
}

int64_t
ledger_accounts(struct db *db, struct arena *a, struct ledger_account **out)
{
	struct ledger_account *rows;
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_ACCOUNTS, "");
	if (n < 0)
		return n;
	rows = arena_alloc(a, res.nrows * sizeof(*rows));
	for (i = 0; i < res.nrows; i++)
		if (account_from_row(&res, i, &rows[i]) != 0)
			return DB_ERR;
	*out = rows;
	return n;
}

int
ledger_account_get(struct db *db, struct arena *a, const char *code, struct ledger_account *out)
{
	struct db_res res;
	int64_t n;

	if (code == NULL || strlen(code) > LEDGER_ACCOUNT_MAX)
		return 0;
	n = db_query(db, a, &res, SQL_ACCOUNT, "s", code);
	if (n <= 0)
		return (int)n;
	return account_from_row(&res, 0, out) == 0 ? 1 : DB_ERR;
}

int64_t
ledger_transfers(struct db *db, struct arena *a, const char *account, int64_t before_id,
    size_t limit, struct ledger_transfer **out)
{
	struct db_res res;
	int64_t n, before = before_id > 0 ? before_id : INT64_MAX, lim = (int64_t)limit;

	if (account != NULL)
		n = db_query(db, a, &res, SQL_TRANSFERS_OF, "siisiii", account, before, lim,
		    account, before, lim, lim);
	else
		n = db_query(db, a, &res, SQL_TRANSFERS_ALL, "ii", before, lim);
	if (n < 0)
		return n;
	return db_res_map_rows(&res, a, transfer_fields, sizeof(**out), (void **)out);
}

/* ---- the books check ---------------------------------------------------------------------- */

/* Reports the orders (or refunds) whose posting is missing or wrong; sql's rows are
 * (public id, amount, posted sum, transfers, legs on the wrong account). */
static int64_t
check_postings(struct db *db, struct arena *a, struct buf *report, const char *sql,
    const char *what, const char *prefix, const char *side)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, sql, "");
	if (n < 0)
		return n;
	for (i = 0; i < res.nrows; i++) {
		const char *id = db_col_str(&res, i, "public_id");

		if (db_col_i64(&res, i, "transfers") == 0)
			buf_printf(report, "%s %s: no %s%s posting (amount %" PRId64 ")\n", what, id,
			    prefix, id, db_col_i64(&res, i, "amount"));
		else if (db_col_i64(&res, i, "misplaced") > 0)
			buf_printf(report, "%s %s: posting %s%s does not %s %s\n", what, id, prefix,
			    id, strcmp(side, "refunds") == 0 ? "debit" : "credit", side);
		else
			buf_printf(report, "%s %s: posting %s%s moves %" PRId64 ", the %s is %"
			    PRId64 "\n", what, id, prefix, id, db_col_i64(&res, i, "posted"), what,
			    db_col_i64(&res, i, "amount"));
	}
	return n;
}

int64_t
ledger_check(struct db *db, struct arena *a, struct buf *report)
{
	struct db_res res;
	int64_t n, bad = 0, debits;
	size_t i;

	n = db_query(db, a, &res, SQL_CHECK_TOTALS, "");
	if (n < 0)
		return n;
	debits = db_col_i64(&res, 0, "debits");
	if (debits != db_col_i64(&res, 0, "credits")) {
		buf_printf(report, "books: accounts' debits %" PRId64 " != credits %" PRId64 "\n",
		    debits, db_col_i64(&res, 0, "credits"));
		bad++;
	}
	if (debits != db_col_i64(&res, 0, "transfers")) {
		buf_printf(report, "books: accounts' debits %" PRId64 " != transfers %" PRId64 "\n",
		    debits, db_col_i64(&res, 0, "transfers"));
		bad++;
	}

	n = db_query(db, a, &res, SQL_CHECK_ACCOUNTS, "");
	if (n < 0)
		return n;
	for (i = 0; i < res.nrows; i++)
		buf_printf(report, "account %s: posted debits %" PRId64 " credits %" PRId64
		    ", its transfers debit %" PRId64 " credit %" PRId64 "\n",
		    db_col_str(&res, i, "code"), db_col_i64(&res, i, "debits_posted"),
		    db_col_i64(&res, i, "credits_posted"), db_col_i64(&res, i, "transfer_debits"),
		    db_col_i64(&res, i, "transfer_credits"));
	bad += n;

	n = db_query(db, a, &res, SQL_CHECK_LIMITS, "");
	if (n < 0)
		return n;
	for (i = 0; i < res.nrows; i++)
		buf_printf(report, "account %s: below zero (debits %" PRId64 ", credits %" PRId64
		    ")\n", db_col_str(&res, i, "code"), db_col_i64(&res, i, "debits_posted"),
		    db_col_i64(&res, i, "credits_posted"));
	bad += n;

	n = check_postings(db, a, report, SQL_CHECK_PAID, "order", "paid:", "sales_clearing");
	if (n < 0)
		return n;
	bad += n;

	n = db_query(db, a, &res, SQL_HAS_REFUNDS, "");
	if (n < 0)
		return n;
	if (n == 1) {
		n = check_postings(db, a, report, SQL_CHECK_REFUNDS, "refund", "refund:", "refunds");
		if (n < 0)
			return n;
		bad += n;
	}
	return bad;
}
