/* wallet: sellers' wallets read from the ledger and settlements, and payouts (see wallet.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "shop/audit.h"
#include "infra/db.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"
#include "shop/wallet.h"

/* A wallet per seller: the payable account joined by owner, the settlements and payouts
 * summed per seller. */
#define WALLET_SQL(inner, where) \
    "SELECT s.id, s.name, s.commission_bp," \
    " COALESCE(a.credits_posted - a.debits_posted, 0) AS payable," \
    " COALESCE(st.sales, 0) AS sales_total, COALESCE(st.commission, 0) AS commission_total," \
    " COALESCE(st.refunds, 0) AS refunds_total, COALESCE(p.paid, 0) AS paid_out_total" \
    " FROM sellers s" \
    " LEFT JOIN ledger_accounts a ON a.owner_seller_id = s.id" \
    " LEFT JOIN (SELECT seller_id, SUM(IF(kind = 'sale', gross, 0)) AS sales," \
    " SUM(IF(kind = 'sale', commission, -commission)) AS commission," \
    " SUM(IF(kind = 'refund', gross, 0)) AS refunds FROM settlements" inner \
    " GROUP BY seller_id) st ON st.seller_id = s.id" \
    " LEFT JOIN (SELECT seller_id, SUM(amount) AS paid FROM payouts" inner \
    " GROUP BY seller_id) p ON p.seller_id = s.id" where
static const char SQL_WALLETS[] = WALLET_SQL("", " ORDER BY s.id");
static const char SQL_WALLET[] = WALLET_SQL(" WHERE seller_id = ?", " WHERE s.id = ?");

static const char SQL_ENTRIES[] =
    "SELECT kind, ref, gross, commission, net, at FROM ("
    " SELECT kind, ref, gross, commission, IF(kind = 'sale', net, -net) AS net,"
    " created_at AS at, id FROM settlements WHERE seller_id = ?"
    " UNION ALL"
    " SELECT 'payout', CAST(id AS CHAR), amount, 0, -amount, created_at, id FROM payouts"
    " WHERE seller_id = ?) x ORDER BY at DESC, id DESC LIMIT ?";
static const char SQL_SELLER_OF_USER[] =
    "SELECT id FROM sellers WHERE owner_user_id = ?";
static const char SQL_SELLER_EXISTS[] =
    "SELECT 1 FROM sellers WHERE id = ?";
static const char SQL_LOCK_PAYABLE[] =
    "SELECT credits_posted - debits_posted AS payable FROM ledger_accounts WHERE code = ?"
    " FOR UPDATE";
static const char SQL_PAYOUT_BY_KEY[] =
    "SELECT id, seller_id, amount FROM payouts WHERE idempotency_key = ?";
static const char SQL_INSERT_PAYOUT[] =
    "INSERT INTO payouts (seller_id, amount, actor_user_id, idempotency_key)"
    " VALUES (?, ?, NULLIF(?, 0), ?)";

static const char *const payout_rc_names[WALLET_PAYOUT__MAX] = {
	"paid_out", "replayed", "nothing", "too_much", "no_seller", "failed", "key_reused",
	"bad_request",
};

const char *
wallet_payout_rc_name(enum wallet_payout_rc rc)
{
	return (unsigned)rc < WALLET_PAYOUT__MAX ? payout_rc_names[rc] : "?";
}

static const struct db_field wallet_fields[] = {
	DB_FIELD(struct wallet, seller_id, DB_F_I64, "id"),
	DB_FIELD(struct wallet, seller_name, DB_F_STR, "name"),
	DB_FIELD(struct wallet, commission_bp, DB_F_INT, "commission_bp"),
	DB_FIELD(struct wallet, payable, DB_F_I64, "payable"),
	DB_FIELD(struct wallet, sales_total, DB_F_I64, "sales_total"),
	DB_FIELD(struct wallet, commission_total, DB_F_I64, "commission_total"),
	DB_FIELD(struct wallet, refunds_total, DB_F_I64, "refunds_total"),
	DB_FIELD(struct wallet, paid_out_total, DB_F_I64, "paid_out_total"),
	DB_FIELDS_END,
};

static const struct db_field entry_fields[] = {
	DB_FIELD(struct wallet_entry, kind, DB_F_STR, "kind"),
	DB_FIELD(struct wallet_entry, ref, DB_F_STR, "ref"),
	DB_FIELD(struct wallet_entry, gross, DB_F_I64, "gross"),
	DB_FIELD(struct wallet_entry, commission, DB_F_I64, "commission"),
	DB_FIELD(struct wallet_entry, net, DB_F_I64, "net"),
	DB_FIELD(struct wallet_entry, at, DB_F_STR, "at"),
	DB_FIELDS_END,
};

/* Fills *w from row i of a WALLET_SQL result. Returns 0 or DB_ERR. */
static int
wallet_from_row(const struct db_res *res, size_t i, int default_bp, struct wallet *w)
{
	memset(w, 0, sizeof(*w));
	if (db_res_map(res, i, wallet_fields, w) != 0)
		return DB_ERR;
	if (db_col_null(res, i, "commission_bp"))
		w->commission_bp = default_bp;
	return 0;
}

int64_t
wallet_list(struct db *db, struct arena *a, int default_bp, struct wallet **out)
{
	struct wallet *rows;
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_WALLETS, "");
	if (n < 0)
		return n;
	rows = arena_alloc(a, (res.nrows + 1) * sizeof(*rows));
	for (i = 0; i < res.nrows; i++)
		if (wallet_from_row(&res, i, default_bp, &rows[i]) != 0)
			return DB_ERR;
	*out = rows;
	return n;
}

int
wallet_get(struct db *db, struct arena *a, int64_t seller_id, int default_bp, struct wallet *out)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_WALLET, "iii", seller_id, seller_id, seller_id);
	if (n <= 0)
		return (int)n;
	return wallet_from_row(&res, 0, default_bp, out) == 0 ? 1 : DB_ERR;
}

int64_t
wallet_entries(struct db *db, struct arena *a, int64_t seller_id, size_t limit,
    struct wallet_entry **out)
{
	struct wallet_entry *rows;
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_ENTRIES, "iii", seller_id, seller_id, (int64_t)limit);
	if (n < 0)
		return n;
	if (db_res_map_rows(&res, a, entry_fields, sizeof(*rows), (void **)&rows) < 0)
		return DB_ERR;
	/* "YYYY-MM-DD HH:MM:SS.mmm" from the DATETIME(3): keep the seconds */
	for (i = 0; i < res.nrows; i++)
		rows[i].at = rows[i].at != NULL ? arena_strndup(a, rows[i].at, 19) : "";
	*out = rows;
	return n;
}

int
wallet_seller_of_user(struct db *db, int64_t user_id, int64_t *seller_id)
{
	struct arena *a = arena_new(512);
	struct db_res res;
	int64_t n;

	*seller_id = 0;
	n = db_query(db, a, &res, SQL_SELLER_OF_USER, "i", user_id);
	if (n == 1)
		*seller_id = db_res_i64(&res, 0, 0);
	arena_free(&a);
	return n < 0 ? (int)n : n == 1;
}

/* ---- payouts -------------------------------------------------------------------------------- */

struct payout_tx {
	int64_t seller_id;
	int64_t amount;             /* -1: everything */
	int64_t actor;
	const char *key;
	struct arena *a;
	enum wallet_payout_rc rc;   /* out */
	int64_t payout_id;          /* out */
	int64_t paid;               /* out */
};

/* The admin's payout audited as "wallet.payout" in its own transaction: before {"payable"},
 * after {"payoutId", "paid", "payable"}. Returns 0 or an enum db_rc. */
static int
audit_payout(struct db *db, const struct payout_tx *t, int64_t payable)
{
	struct json_object *before = json_object_new_object(), *after = json_object_new_object();
	int rc;

	json_object_object_add(before, "payable", json_object_new_int64(payable));
	json_object_object_add(after, "payoutId", json_object_new_int64(t->payout_id));
	json_object_object_add(after, "paid", json_object_new_int64(t->paid));
	json_object_object_add(after, "payable", json_object_new_int64(payable - t->paid));
	rc = audit_record_json(db, t->actor, "wallet.payout",
	    arena_printf(t->a, "seller:%" PRId64, t->seller_id), before, after);
	json_object_put(before);
	json_object_put(after);
	return rc;
}

static int
payout_tx_fn(struct db *db, void *arg)
{
	struct payout_tx *t = arg;
	struct db_res res;
	enum ledger_rc lrc;
	int64_t n, payable, amount;

	n = db_query(db, t->a, &res, SQL_SELLER_EXISTS, "i", t->seller_id);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		t->rc = WALLET_NO_SELLER;
		return DB_ABORT;
	}
	/* The seller's payable row first: payouts of one seller run one at a time, and a key
	 * used twice at once is seen by the second after the first commits. */
	n = db_query(db, t->a, &res, SQL_LOCK_PAYABLE, "s",
	    arena_printf(t->a, "seller_payable:%" PRId64, t->seller_id));
	if (n < 0)
		return (int)n;
	payable = n == 1 ? db_col_i64(&res, 0, "payable") : 0;
	if (t->key != NULL) {
		n = db_query(db, t->a, &res, SQL_PAYOUT_BY_KEY, "s", t->key);
		if (n < 0)
			return (int)n;
		if (n == 1) {
			if (db_col_i64(&res, 0, "seller_id") != t->seller_id ||
			    (t->amount != -1 && db_col_i64(&res, 0, "amount") != t->amount)) {
				t->rc = WALLET_KEY_REUSED;
				return DB_ABORT;
			}
			t->payout_id = db_col_i64(&res, 0, "id");
			t->paid = db_col_i64(&res, 0, "amount");
			t->rc = WALLET_REPLAYED;
			return 0;
		}
	}
	if (payable <= 0) {
		t->rc = WALLET_NOTHING;
		return DB_ABORT;
	}
	amount = t->amount == -1 ? payable : t->amount;
	if (amount > payable) {
		t->rc = WALLET_TOO_MUCH;
		return DB_ABORT;
	}
	n = db_exec(db, SQL_INSERT_PAYOUT, "iiis", t->seller_id, amount, t->actor, t->key);
	if (n < 0)
		return (int)n;   /* DB_DUP: the key was taken meanwhile; the rerun sees it */
	t->payout_id = db_last_insert_id(db);
	lrc = ledger_post_payout(db, t->payout_id, t->seller_id, amount);
	if (lrc != LEDGER_POSTED) {
		log_error(NULL, "payout %" PRId64 ": posting refused: %s", t->payout_id,
		    ledger_rc_name(lrc));
		return ledger_tx_rc(db, lrc);
	}
	t->paid = amount;
	t->rc = WALLET_PAID_OUT;
	return t->actor > 0 ? audit_payout(db, t, payable) : 0;
}

enum wallet_payout_rc
wallet_payout(struct db *db, int64_t seller_id, int64_t amount, int64_t actor_user_id,
    const char *key, int64_t *payout_id, int64_t *paid)
{
	struct payout_tx t;
	int rc, attempt;

	*payout_id = 0;
	*paid = 0;
	if ((amount != -1 && (amount <= 0 || amount > MONEY_MAX)) ||
	    (key != NULL && !valid_token(key, 1, 64)) || actor_user_id < 0)
		return WALLET_BAD_REQUEST;
	if (seller_id <= 0)
		return WALLET_NO_SELLER;
	memset(&t, 0, sizeof(t));
	t.seller_id = seller_id;
	t.amount = amount;
	t.actor = actor_user_id;
	t.key = key;
	t.a = arena_new(1024);
	for (attempt = 0; attempt < 2; attempt++) {
		t.rc = WALLET_PAYOUT_FAILED;
		rc = db_tx(db, payout_tx_fn, &t);
		if (rc != DB_DUP)
			break;
	}
	arena_free(&t.a);
	if (rc == 0 || rc == DB_ABORT) {
		if (t.rc == WALLET_PAID_OUT || t.rc == WALLET_REPLAYED) {
			*payout_id = t.payout_id;
			*paid = t.paid;
		}
		return t.rc;
	}
	log_error(NULL, "payout of seller %" PRId64 " failed (%d)", seller_id, rc);
	return WALLET_PAYOUT_FAILED;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

struct json_object *
wallet_json(const struct wallet *w, const struct wallet_entry *entries, size_t n)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array();
	size_t i;

	json_object_object_add(o, "sellerId", json_object_new_int64(w->seller_id));
	json_object_object_add(o, "sellerName", json_object_new_string(w->seller_name));
	json_object_object_add(o, "commissionBp", json_object_new_int(w->commission_bp));
	json_object_object_add(o, "payable", json_object_new_int64(w->payable));
	json_object_object_add(o, "salesTotal", json_object_new_int64(w->sales_total));
	json_object_object_add(o, "commissionTotal", json_object_new_int64(w->commission_total));
	json_object_object_add(o, "refundsTotal", json_object_new_int64(w->refunds_total));
	json_object_object_add(o, "paidOutTotal", json_object_new_int64(w->paid_out_total));
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "kind", json_object_new_string(entries[i].kind));
		json_object_object_add(e, "ref", json_object_new_string(entries[i].ref));
		json_object_object_add(e, "gross", json_object_new_int64(entries[i].gross));
		json_object_object_add(e, "commission", json_object_new_int64(entries[i].commission));
		json_object_object_add(e, "net", json_object_new_int64(entries[i].net));
		json_object_object_add(e, "at", json_object_new_string(entries[i].at));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "entries", list);
	return o;
}
