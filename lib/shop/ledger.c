/* ledger: double-entry postings, balances and the books check in MariaDB (see ledger.h). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "infra/db.h"
#include "shop/ledger.h"
#include "shop/ledger_impl.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"

/* ---- statements --------------------------------------------------------------------------- */

static const char SQL_POSTING[] =
    "SELECT t.leg, d.code AS debit, c.code AS credit, t.amount, t.code, t.ref_type, t.ref_id"
    " FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id"
    " JOIN ledger_accounts c ON c.id = t.credit_account_id"
    " WHERE t.posting_id = ? ORDER BY t.leg";
static const char SQL_ACCOUNT_ID[] =
    "SELECT id FROM ledger_accounts WHERE code = ?";
static const char SQL_USER_POINTS[] =
    "SELECT points FROM users WHERE id = ?";
static const char SQL_INSERT_ACCOUNT[] =
    "INSERT INTO ledger_accounts (code, kind, owner_user_id, owner_seller_id, pg, not_negative)"
    " VALUES (?, ?, NULLIF(?, 0), NULLIF(?, 0), ?, ?)";
/* The guarded balance update. The limit is the row's own flag: the balance on the normal
 * side after the change may not be negative. id = LAST_INSERT_ID(id) hands the row's id back
 * without another statement. */
static const char SQL_MOVE_DEBIT_SIDE[] =
    "UPDATE ledger_accounts SET debits_posted = debits_posted + ?,"
    " credits_posted = credits_posted + ?, id = LAST_INSERT_ID(id)"
    " WHERE code = ? AND (not_negative = 0 OR debits_posted + ? >= credits_posted + ?)";
static const char SQL_MOVE_CREDIT_SIDE[] =
    "UPDATE ledger_accounts SET debits_posted = debits_posted + ?,"
    " credits_posted = credits_posted + ?, id = LAST_INSERT_ID(id)"
    " WHERE code = ? AND (not_negative = 0 OR credits_posted + ? >= debits_posted + ?)";
static const char SQL_UNMOVE[] =
    "UPDATE ledger_accounts SET debits_posted = debits_posted - ?,"
    " credits_posted = credits_posted - ? WHERE id = ?";
static const char SQL_INSERT_TRANSFER[] =
    "INSERT INTO ledger_transfers (posting_id, leg, debit_account_id, credit_account_id, amount,"
    " code, ref_type, ref_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
/* ---- names -------------------------------------------------------------------------------- */

static const char *const rc_names[LEDGER_RC__MAX] = {
	"posted", "replayed", "conflict", "invalid", "limit", "db_failed",
};

const char *const ledger_code_names[LEDGER_CODE__MAX] = {
	"paid.pg", "paid.points", "settle", "refund.pg", "refund.points", "refund.settle",
	"points.charge", "payout", "pg.fee",
};

const char *const ledger_kind_names[LEDGER_KIND__MAX] = {
	"asset", "liability", "revenue", "expense",
};

const char *
ledger_rc_name(enum ledger_rc rc)
{
	return (unsigned)rc < LEDGER_RC__MAX ? rc_names[rc] : "?";
}

const char *
ledger_code_name(enum ledger_code c)
{
	return (unsigned)c < LEDGER_CODE__MAX ? ledger_code_names[c] : "?";
}

const char *
ledger_kind_name(enum ledger_kind k)
{
	return (unsigned)k < LEDGER_KIND__MAX ? ledger_kind_names[k] : "?";
}

/* ---- the chart ---------------------------------------------------------------------------- */

/* The fixed accounts of the chart. */
static const struct {
	const char *code;
	enum ledger_kind kind;
} fixed_accounts[] = {
	{ "cash_at_bank", LEDGER_ASSET },
	{ "sales_clearing", LEDGER_LIABILITY },
	{ "refunds", LEDGER_EXPENSE },
	{ "commission_revenue", LEDGER_REVENUE },
	{ "pg_fees", LEDGER_EXPENSE },
};

/* The PGs that have a receivable account. */
static const char *const chart_pgs[] = { "toss", "kakaopay" };

/* When code starts with prefix, the rest; else NULL. */
static const char *
after_prefix(const char *code, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(code, prefix, n) == 0 ? code + n : NULL;
}

/* Parses an account code of the chart into *e. Returns 0, or -1 for a code not in it. */
static int
chart_parse(const char *code, struct chart_entry *e)
{
	const char *rest;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (code == NULL || strlen(code) > LEDGER_ACCOUNT_MAX)
		return -1;
	for (i = 0; i < sizeof(fixed_accounts) / sizeof(fixed_accounts[0]); i++) {
		if (strcmp(code, fixed_accounts[i].code) == 0) {
			e->kind = fixed_accounts[i].kind;
			return 0;
		}
	}
	rest = after_prefix(code, "pg_receivable:");
	if (rest != NULL) {
		for (i = 0; i < sizeof(chart_pgs) / sizeof(chart_pgs[0]); i++) {
			if (strcmp(rest, chart_pgs[i]) == 0) {
				e->kind = LEDGER_ASSET;
				e->pg = chart_pgs[i];
				return 0;
			}
		}
		return -1;
	}
	rest = after_prefix(code, "points:");
	if (rest != NULL) {
		e->kind = LEDGER_LIABILITY;
		e->not_negative = true;
		return valid_int64(rest, 1, INT64_MAX, &e->owner_user);
	}
	rest = after_prefix(code, "seller_payable:");
	if (rest != NULL) {
		e->kind = LEDGER_LIABILITY;
		return valid_int64(rest, 1, INT64_MAX, &e->owner_seller);
	}
	return -1;
}

/* ---- posting ------------------------------------------------------------------------------ */

/* Longest ref_type and ref_id (the columns). */
#define REF_TYPE_MAX 16
#define REF_ID_MAX 100

/* True for 1..max bytes of printable ASCII without spaces. */
static bool
printable_id(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* True when s is NULL or 0..max bytes of printable ASCII without spaces. */
static bool
optional_ref(const char *s, size_t max)
{
	return s == NULL || s[0] == '\0' || printable_id(s, max);
}

int
ledger_cmp_touch(const void *a, const void *b)
{
	const struct touch *x = a, *y = b;

	return strcmp(x->code, y->code);
}

/* The touch of code in w, added when missing. Returns NULL for a code not in the chart. */
static struct touch *
touch_of(struct post_work *w, const char *code)
{
	struct touch *t;
	size_t i;

	for (i = 0; i < w->ntouches; i++)
		if (strcmp(w->touches[i].code, code) == 0)
			return &w->touches[i];
	if (w->ntouches == sizeof(w->touches) / sizeof(w->touches[0]))
		return NULL;
	t = &w->touches[w->ntouches];
	memset(t, 0, sizeof(*t));
	if (chart_parse(code, &t->e) != 0)
		return NULL;
	t->code = code;
	w->ntouches++;
	return t;
}

/* Checks p and sums its legs per account into w. Returns 0 or -1 (invalid; logged). */
int
ledger_collect(const struct ledger_posting *p, struct post_work *w)
{
	struct touch *d, *c;
	size_t i;

	memset(w, 0, sizeof(*w));
	w->p = p;
	if (!printable_id(p->id, LEDGER_ID_MAX) || (unsigned)p->code >= LEDGER_CODE__MAX ||
	    !optional_ref(p->ref_type, REF_TYPE_MAX) || !optional_ref(p->ref_id, REF_ID_MAX) ||
	    p->legs == NULL || p->nlegs == 0 || p->nlegs > LEDGER_LEGS_MAX)
		return -1;
	for (i = 0; i < p->nlegs; i++) {
		const struct ledger_leg *l = &p->legs[i];

		if (l->amount <= 0 || l->amount > MONEY_MAX || l->debit == NULL ||
		    l->credit == NULL || strcmp(l->debit, l->credit) == 0)
			return -1;
		d = touch_of(w, l->debit);
		c = touch_of(w, l->credit);
		if (d == NULL || c == NULL)
			return -1;
		if (money_add(d->debits, l->amount, &d->debits) != 0 ||
		    money_add(c->credits, l->amount, &c->credits) != 0)
			return -1;
	}
	return 0;
}

const char *
ledger_ref_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Compares the stored posting in res (SQL_POSTING's rows) with p. */
static enum ledger_rc
compare_stored(const struct ledger_posting *p, const struct db_res *res)
{
	size_t i;

	if (res->nrows != p->nlegs)
		goto conflict;
	for (i = 0; i < p->nlegs; i++) {
		if (db_col_i64(res, i, "leg") != (int64_t)i ||
		    strcmp(db_col_str(res, i, "debit"), p->legs[i].debit) != 0 ||
		    strcmp(db_col_str(res, i, "credit"), p->legs[i].credit) != 0 ||
		    db_col_i64(res, i, "amount") != p->legs[i].amount ||
		    strcmp(db_col_str(res, i, "code"), ledger_code_names[p->code]) != 0 ||
		    strcmp(db_col_str(res, i, "ref_type"), ledger_ref_or_empty(p->ref_type)) != 0 ||
		    strcmp(db_col_str(res, i, "ref_id"), ledger_ref_or_empty(p->ref_id)) != 0)
			goto conflict;
	}
	return LEDGER_REPLAYED;
conflict:
	log_error(NULL, "ledger: posting %s was made before with a different body: refused",
	    p->id);
	return LEDGER_CONFLICT;
}

/* Looks the posting up. Returns LEDGER_POSTED when it does not exist yet, LEDGER_REPLAYED,
 * LEDGER_CONFLICT or LEDGER_DB_FAILED. */
static enum ledger_rc
stored_posting(struct db *db, struct arena *a, const struct ledger_posting *p)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_POSTING, "s", p->id);
	if (n < 0)
		return LEDGER_DB_FAILED;
	if (n == 0)
		return LEDGER_POSTED;
	return compare_stored(p, &res);
}

/* Creates the account of t. Returns 0, 1 when it exists already (made meanwhile), or -1. */
static int
create_account(struct db *db, const struct touch *t)
{
	int64_t rc;

	rc = db_exec(db, SQL_INSERT_ACCOUNT, "ssiisi", t->code, ledger_kind_names[t->e.kind],
	    t->e.owner_user, t->e.owner_seller, t->e.pg, (int64_t)t->e.not_negative);
	if (rc == DB_DUP)
		return 1;
	return rc < 0 ? -1 : 0;
}

/* A points account made now opens with the user's balance as it stood before this posting
 * (users.points already carries the caller's change): the points a user had before the
 * ledger knew them, recorded as a top-up (cash_at_bank -> points:<user>). Adds the opening
 * to t's credits. Returns 0 or -1 (database). */
static int
plan_opening(struct db *db, struct arena *a, struct touch *t)
{
	struct db_res res;
	int64_t n, points, opening;

	n = db_query(db, a, &res, SQL_USER_POINTS, "i", t->e.owner_user);
	if (n < 0)
		return -1;
	points = n == 1 ? db_res_i64(&res, 0, 0) : 0;
	/* opening = points - (credits - debits), computed without overflow */
	if (money_sub(points, t->credits, &opening) != 0 ||
	    money_add(opening, t->debits, &opening) != 0 || opening <= 0)
		return 0;
	if (money_add(t->credits, opening, &t->credits) != 0)
		return -1;
	t->opening = opening;
	return 0;
}

/* Adds t's debits and credits to its account with the limit guard, creating the account on
 * first use (a points account with its opening). Sets t->id. */
enum ledger_rc
ledger_move_account(struct db *db, struct arena *a, struct touch *t)
{
	bool debit_side = t->e.kind == LEDGER_ASSET || t->e.kind == LEDGER_EXPENSE;
	const char *sql = debit_side ? SQL_MOVE_DEBIT_SIDE : SQL_MOVE_CREDIT_SIDE;
	struct db_res res;
	int64_t rc;
	int attempt, made;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = db_exec(db, sql, "iisii", t->debits, t->credits, t->code,
		    debit_side ? t->debits : t->credits, debit_side ? t->credits : t->debits);
		if (rc < 0)
			return LEDGER_DB_FAILED;
		if (rc == 1) {
			t->id = db_last_insert_id(db);
			return LEDGER_POSTED;
		}
		rc = db_query(db, a, &res, SQL_ACCOUNT_ID, "s", t->code);
		if (rc < 0)
			return LEDGER_DB_FAILED;
		if (rc == 1 || attempt > 0)
			return LEDGER_LIMIT;
		if (t->e.owner_user != 0 && plan_opening(db, a, t) != 0)
			return LEDGER_DB_FAILED;
		made = create_account(db, t);
		if (made < 0)
			return LEDGER_DB_FAILED;
		if (made == 1 && t->opening > 0) {
			/* Another transaction opened this points account meanwhile: our opening
			 * would count the balance twice. The caller rolls back and tries later. */
			log_warn(NULL, "ledger: account %s opened concurrently", t->code);
			return LEDGER_DB_FAILED;
		}
	}
	return LEDGER_DB_FAILED;
}

static int64_t
touch_id(const struct post_work *w, const char *code)
{
	size_t i;

	for (i = 0; i < w->ntouches; i++)
		if (strcmp(w->touches[i].code, code) == 0)
			return w->touches[i].id;
	return 0;
}

/* Undoes the balance changes of the first n touches of w (moved before a replay was found).
 * Returns 0 or -1. */
static int
unmove(struct db *db, const struct post_work *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (db_exec(db, SQL_UNMOVE, "iii", w->touches[i].debits, w->touches[i].credits,
		    w->touches[i].id) < 0)
			return -1;
	return 0;
}

/* Debits cash_at_bank with the openings of w and writes their transfers (posting
 * open:points:<user>). cash_at_bank is locked out of code order here, after a points account:
 * harmless, as an opening happens once per user and the user's row, which every points
 * movement locks first, keeps that user's postings apart. Returns 0 or -1. */
static int
write_openings(struct db *db, struct arena *a, const struct post_work *w)
{
	struct touch cash;
	size_t i;

	memset(&cash, 0, sizeof(cash));
	cash.code = "cash_at_bank";
	if (chart_parse(cash.code, &cash.e) != 0)
		return -1;
	for (i = 0; i < w->ntouches; i++)
		if (money_add(cash.debits, w->touches[i].opening, &cash.debits) != 0)
			return -1;
	if (cash.debits == 0)
		return 0;
	if (ledger_move_account(db, a, &cash) != LEDGER_POSTED)
		return -1;
	for (i = 0; i < w->ntouches; i++) {
		const struct touch *t = &w->touches[i];
		char user[24];

		if (t->opening == 0)
			continue;
		snprintf(user, sizeof(user), "%" PRId64, t->e.owner_user);
		if (db_exec(db, SQL_INSERT_TRANSFER, "siiiisss",
		    arena_printf(a, "open:%s", t->code), (int64_t)0, cash.id, t->id, t->opening,
		    ledger_code_names[LEDGER_POINTS_CHARGE], "user", user) < 0)
			return -1;
		log_info(NULL, "ledger: %s opened with %" PRId64 " won held before the ledger",
		    t->code, t->opening);
	}
	return 0;
}

/* After moving the first n touches, a limit or a duplicate key stopped the posting: takes
 * the moves back (so even outside a transaction nothing is left) and answers as a replay
 * would when the posting exists, else with fallback. */
static enum ledger_rc
undo_for_replay(struct db *db, struct arena *a, const struct post_work *w, size_t n,
    enum ledger_rc fallback)
{
	enum ledger_rc rc;

	rc = stored_posting(db, a, w->p);
	if (rc == LEDGER_DB_FAILED || unmove(db, w, n) != 0)
		return LEDGER_DB_FAILED;
	return rc == LEDGER_POSTED ? fallback : rc;
}

/* Posting without asking first whether the id exists: the unique (posting_id, leg) key says
 * so when the first transfer is inserted, and a limit refusal looks it up, so the common case
 * costs one statement per account and per leg. */
enum ledger_rc
ledger_post(struct db *db, const struct ledger_posting *p)
{
	struct post_work w;
	struct arena *a = arena_new(2048);
	enum ledger_rc rc;
	bool opened = false;
	int64_t n;
	size_t i;

	if (p == NULL || ledger_collect(p, &w) != 0) {
		log_error(NULL, "ledger: invalid posting %s", p != NULL && p->id != NULL ? p->id : "-");
		rc = LEDGER_INVALID;
		goto out;
	}
	/* Every posting locks its accounts in code order: no two postings deadlock on them. */
	qsort(w.touches, w.ntouches, sizeof(w.touches[0]), ledger_cmp_touch);
	for (i = 0; i < w.ntouches; i++) {
		rc = ledger_move_account(db, a, &w.touches[i]);
		if (rc == LEDGER_LIMIT) {
			rc = undo_for_replay(db, a, &w, i, LEDGER_LIMIT);
			if (rc == LEDGER_LIMIT)
				log_warn(NULL, "ledger: posting %s: account %s would pass its limit",
				    p->id, w.touches[i].code);
			goto out;
		}
		if (rc != LEDGER_POSTED)
			goto out;
		opened = opened || w.touches[i].opening > 0;
	}
	if (opened && write_openings(db, a, &w) != 0) {
		rc = LEDGER_DB_FAILED;
		goto out;
	}
	for (i = 0; i < p->nlegs; i++) {
		n = db_exec(db, SQL_INSERT_TRANSFER, "siiiisss", p->id, (int64_t)i,
		    touch_id(&w, p->legs[i].debit), touch_id(&w, p->legs[i].credit), p->legs[i].amount,
		    ledger_code_names[p->code], ledger_ref_or_empty(p->ref_type),
		    ledger_ref_or_empty(p->ref_id));
		if (n == DB_DUP && i == 0 && !opened) {
			/* Made before, or by a transaction that committed while we waited for its
			 * locks: take our balances back and answer as a replay. */
			rc = undo_for_replay(db, a, &w, w.ntouches, LEDGER_DB_FAILED);
			goto out;
		}
		if (n < 0) {
			rc = LEDGER_DB_FAILED;
			goto out;
		}
	}
	rc = LEDGER_POSTED;
out:
	if (rc == LEDGER_DB_FAILED)
		log_error(NULL, "ledger: posting %s failed: %s", p != NULL && p->id != NULL ? p->id :
		    "-", db_error(db));
	arena_free(&a);
	return rc;
}

/* ---- the shop's postings ------------------------------------------------------------------ */

/* The account a payment came from or a refund goes back to. Returns 0 or -1 (unknown pg). */
static int
source_account(const char *pg, int64_t user_id, char *out, size_t size)
{
	size_t i;

	if (pg == NULL)
		return -1;
	if (strcmp(pg, "points") == 0) {
		if (user_id <= 0)
			return -1;
		snprintf(out, size, "points:%" PRId64, user_id);
		return 0;
	}
	for (i = 0; i < sizeof(chart_pgs) / sizeof(chart_pgs[0]); i++) {
		if (strcmp(pg, chart_pgs[i]) == 0) {
			snprintf(out, size, "pg_receivable:%s", pg);
			return 0;
		}
	}
	return -1;
}

/* Posts one leg. */
static enum ledger_rc
post_one(struct db *db, const char *id, enum ledger_code code, const char *ref_type,
    const char *ref_id, const char *debit, const char *credit, int64_t amount)
{
	struct ledger_leg leg = { debit, credit, amount };
	struct ledger_posting p = { id, code, ref_type, ref_id, &leg, 1 };

	return ledger_post(db, &p);
}

enum ledger_rc
ledger_post_paid(struct db *db, const char *order_public_id, const char *pg, int64_t user_id,
    int64_t amount)
{
	char id[LEDGER_ID_MAX + 1], from[LEDGER_ACCOUNT_MAX + 1];

	if (order_public_id == NULL || source_account(pg, user_id, from, sizeof(from)) != 0 ||
	    (size_t)snprintf(id, sizeof(id), "paid:%s", order_public_id) >= sizeof(id))
		return LEDGER_INVALID;
	return post_one(db, id, strcmp(pg, "points") == 0 ? LEDGER_PAID_POINTS : LEDGER_PAID_PG,
	    "order", order_public_id, from, "sales_clearing", amount);
}

int
ledger_paid_posting(struct arena *a, const char *order_public_id, const char *pg,
    int64_t amount, struct ledger_posting *p, struct ledger_leg *leg)
{
	char from[LEDGER_ACCOUNT_MAX + 1];

	if (order_public_id == NULL || pg == NULL || strcmp(pg, "points") == 0 ||
	    source_account(pg, 0, from, sizeof(from)) != 0 ||
	    strlen(order_public_id) + 5 > LEDGER_ID_MAX)
		return -1;
	leg->debit = arena_strdup(a, from);
	leg->credit = "sales_clearing";
	leg->amount = amount;
	memset(p, 0, sizeof(*p));
	p->id = arena_printf(a, "paid:%s", order_public_id);
	p->code = LEDGER_PAID_PG;
	p->ref_type = "order";
	p->ref_id = order_public_id;
	p->legs = leg;
	p->nlegs = 1;
	return 0;
}

enum ledger_rc
ledger_post_refund(struct db *db, const char *refund_public_id, const char *order_public_id,
    const char *pg, int64_t user_id, int64_t amount)
{
	char id[LEDGER_ID_MAX + 1], to[LEDGER_ACCOUNT_MAX + 1];

	if (refund_public_id == NULL || source_account(pg, user_id, to, sizeof(to)) != 0 ||
	    (size_t)snprintf(id, sizeof(id), "refund:%s", refund_public_id) >= sizeof(id))
		return LEDGER_INVALID;
	(void)order_public_id;   /* the refund's row names its order */
	return post_one(db, id, strcmp(pg, "points") == 0 ? LEDGER_REFUND_POINTS : LEDGER_REFUND_PG,
	    "refund", refund_public_id, "refunds", to, amount);
}

enum ledger_rc
ledger_post_points_charge(struct db *db, int64_t charge_id, int64_t user_id, int64_t amount)
{
	char id[LEDGER_ID_MAX + 1], to[LEDGER_ACCOUNT_MAX + 1], ref[24];

	if (charge_id <= 0 || user_id <= 0)
		return LEDGER_INVALID;
	snprintf(id, sizeof(id), "charge:%" PRId64, charge_id);
	snprintf(to, sizeof(to), "points:%" PRId64, user_id);
	snprintf(ref, sizeof(ref), "%" PRId64, charge_id);
	return post_one(db, id, LEDGER_POINTS_CHARGE, "charge", ref, "cash_at_bank", to, amount);
}

enum ledger_rc
ledger_post_payout(struct db *db, int64_t payout_id, int64_t seller_id, int64_t amount)
{
	char id[LEDGER_ID_MAX + 1], from[LEDGER_ACCOUNT_MAX + 1], ref[24];

	if (payout_id <= 0 || seller_id <= 0)
		return LEDGER_INVALID;
	snprintf(id, sizeof(id), "payout:%" PRId64, payout_id);
	snprintf(from, sizeof(from), "seller_payable:%" PRId64, seller_id);
	snprintf(ref, sizeof(ref), "%" PRId64, payout_id);
	return post_one(db, id, LEDGER_PAYOUT, "payout", ref, from, "cash_at_bank", amount);
}

int
ledger_tx_rc(struct db *db, enum ledger_rc rc)
{
	unsigned e = db_errno(db);

	if (rc == LEDGER_DB_FAILED && (e == 1213 || e == 1205))
		return DB_RETRY;
	return DB_ERR;
}
