/* settle_batch: settling a batch of paid orders in one transaction (settle_orders_batch,
 * see settle.h): one read of the batch, one insert of its settlements, the ledger's batch
 * posting, one completion of its outbox rows. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/money.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "shop/ledger.h"
#include "shop/settle.h"
#include "shop/settle_impl.h"

/* A batch of sales (settle_orders_batch): per order of the JSON array of public ids, its
 * row, each seller's gross and rate (as settle.c's SQL_SELLER_LINES), and whether it is settled. An
 * unknown order gives one row with a NULL id. */
static const char SQL_BATCH_SALES[] =
    "SELECT j.pid AS public_id, o.id, o.paid_at IS NOT NULL AS paid, o.amount, l.seller_id,"
    " SUM(l.amount) + COALESCE(MAX(d.shipping_fee), 0) AS gross, s.commission_bp,"
    " EXISTS (SELECT 1 FROM settlements x WHERE x.kind = 'sale' AND x.ref = j.pid) AS settled"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (pid VARCHAR(24) CHARACTER SET ascii COLLATE ascii_bin"
    " PATH '$')) AS j"
    " LEFT JOIN orders o ON o.public_id = j.pid"
    " LEFT JOIN order_lines l ON l.order_id = o.id"
    " LEFT JOIN sellers s ON s.id = l.seller_id"
    " LEFT JOIN order_deliveries d ON d.order_id = l.order_id AND d.seller_id = l.seller_id"
    " GROUP BY j.pid, o.id, o.paid_at, o.amount, l.seller_id, s.commission_bp"
    " ORDER BY j.pid, l.seller_id";
/* The batch's settlements rows in one statement: [ref, order_id, seller_id, gross,
 * commission, net, commission_bp] per row. */
static const char SQL_BATCH_INSERT_SETTLEMENTS[] =
    "INSERT INTO settlements (kind, ref, order_id, seller_id, gross, commission, net,"
    " commission_bp) SELECT 'sale', j.r, j.o, j.s, j.g, j.c, j.n, j.b"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (r VARCHAR(24) CHARACTER SET ascii COLLATE ascii_bin"
    " PATH '$[0]',"
    " o BIGINT UNSIGNED PATH '$[1]', s BIGINT UNSIGNED PATH '$[2]', g BIGINT PATH '$[3]',"
    " c BIGINT PATH '$[4]', n BIGINT PATH '$[5]', b INT PATH '$[6]')) AS j";
/* ---- sales in batches ----------------------------------------------------------------------- */

/* A batch of sales being settled. */
struct batch_tx {
	const struct outbox_claim *claims;  /* the batch's claims (one token), or NULL */
	const char *const *ids;             /* the orders' public ids */
	size_t n;
	int default_bp;
	struct arena *a;
	enum settle_rc *rc;                 /* out, per order */
	bool lost;
};

/* The shares of the order whose SQL_BATCH_SALES rows are res rows [from, to), into shares;
 * checks them against amount. Returns 0, or -1 when the books disagree (logged). */
static int
batch_shares(const struct db_res *res, size_t from, size_t to, int64_t amount, int default_bp,
    struct settle_share *shares)
{
	int64_t sum = 0, bp;
	size_t i;

	for (i = from; i < to; i++) {
		struct settle_share *s = &shares[i - from];

		if (db_col_null(res, i, "seller_id"))
			return -1;  /* an order without lines */
		s->seller_id = db_col_i64(res, i, "seller_id");
		s->gross = db_col_i64(res, i, "gross");
		bp = db_col_null(res, i, "commission_bp") ? default_bp :
		    db_col_i64(res, i, "commission_bp");
		s->bp = (int)bp;
		if (bp < 0 || bp > 10000 || settle_commission(s->gross, s->bp, &s->commission) != 0 ||
		    money_add(sum, s->gross, &sum) != 0)
			return -1;
		s->net = s->gross - s->commission;
	}
	if (sum != amount) {
		log_error(NULL, "settle: order %s: its lines sum to %" PRId64 ", the order is %"
		    PRId64, db_col_str(res, from, "public_id"), sum, amount);
		return -1;
	}
	return 0;
}

/* Appends the settlements rows of shares[0..n) of order (ref, order_id) to rows. */
static void
batch_rows_add(struct json_object *rows, const char *ref, int64_t order_id,
    const struct settle_share *shares, size_t n)
{
	struct json_object *row;
	size_t i;

	for (i = 0; i < n; i++) {
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_string(ref));
		json_object_array_add(row, json_object_new_int64(order_id));
		json_object_array_add(row, json_object_new_int64(shares[i].seller_id));
		json_object_array_add(row, json_object_new_int64(shares[i].gross));
		json_object_array_add(row, json_object_new_int64(shares[i].commission));
		json_object_array_add(row, json_object_new_int64(shares[i].net));
		json_object_array_add(row, json_object_new_int64(shares[i].bp));
		json_object_array_add(rows, row);
	}
}

/* The JSON array of the batch's public ids, in a. */
static const char *
batch_ids(struct arena *a, const char *const *ids, size_t n)
{
	struct json_object *arr = json_object_new_array();
	const char *text;
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(ids[i]));
	text = arena_strdup(a, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return text;
}

/* Settles what is to settle of the batch and completes its outbox rows. Returns 0, DB_ABORT
 * (the books disagree, a sale with more sellers than one posting carries, the ledger refused,
 * or a claim was lost: rolled back, the caller goes one by one) or an enum db_rc. */
static int
batch_tx_fn(struct db *db, void *arg)
{
	struct batch_tx *t = arg;
	struct ledger_posting *ps = arena_alloc(t->a, t->n * sizeof(*ps));
	struct json_object *rows = json_object_new_array();
	struct settle_share *shares;
	struct db_res res;
	size_t i, k, end, ngroups, np = 0, nrows = 0;
	int64_t n;
	int rc = DB_ABORT;

	n = db_query(db, t->a, &res, SQL_BATCH_SALES, "s", batch_ids(t->a, t->ids, t->n));
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	for (k = 0; k < t->n; k++)
		t->rc[k] = SETTLE_RC__MAX;  /* not seen */
	for (i = 0, ngroups = 0; i < res.nrows; i = end, ngroups++) {
		const char *ref = db_col_str(&res, i, "public_id");

		for (end = i + 1; end < res.nrows && strcmp(db_col_str(&res, end, "public_id"),
		    ref) == 0; end++)
			continue;
		for (k = 0; k < t->n && strcmp(ref, t->ids[k]) != 0; k++)
			continue;
		if (k == t->n || t->rc[k] != SETTLE_RC__MAX)
			goto out;  /* an id twice: not a batch this function takes */
		if (db_col_null(&res, i, "id") || db_col_i64(&res, i, "paid") == 0) {
			log_error(NULL, "settle: order %s %s: nothing to settle", ref,
			    db_col_null(&res, i, "id") ? "is unknown" : "was never paid");
			t->rc[k] = SETTLE_SKIPPED;
			continue;
		}
		if (db_col_i64(&res, i, "settled") != 0) {
			t->rc[k] = SETTLE_REPLAYED;
			continue;
		}
		if (end - i > SELLERS_PER_POSTING)
			goto out;
		shares = arena_alloc(t->a, (end - i) * sizeof(*shares));
		if (batch_shares(&res, i, end, db_col_i64(&res, i, "amount"), t->default_bp,
		    shares) != 0)
			goto out;
		batch_rows_add(rows, ref, db_col_i64(&res, i, "id"), shares, end - i);
		nrows += end - i;
		memset(&ps[np], 0, sizeof(ps[np]));
		ps[np].legs = arena_alloc(t->a, LEDGER_LEGS_MAX * sizeof(struct ledger_leg));
		ps[np].nlegs = settle_share_legs(t->a, shares, end - i, true, "sales_clearing",
		    (struct ledger_leg *)ps[np].legs);
		ps[np].id = arena_printf(t->a, "settle:%s", ref);
		ps[np].code = LEDGER_SETTLE;
		ps[np].ref_type = "order";
		ps[np].ref_id = ref;
		if (ps[np].nlegs > 0)
			np++;
		t->rc[k] = SETTLE_DONE;
	}
	if (ngroups != t->n)
		goto out;
	if (nrows > 0) {
		n = db_exec(db, SQL_BATCH_INSERT_SETTLEMENTS, "s", arena_strdup(t->a,
		    json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN)));
		if (n < 0) {
			rc = n == DB_DUP ? DB_ABORT : (int)n;  /* settled meanwhile: one by one */
			goto out;
		}
	}
	if (np > 0 && ledger_post_batch(db, t->a, ps, np) != LEDGER_POSTED)
		goto out;
	rc = t->claims != NULL ? outbox_finish_batch(db, &t->claims[0], t->n, &t->lost) : 0;
out:
	json_object_put(rows);
	return rc;
}

int
settle_orders_batch(struct db *db, struct arena *a, const struct outbox_claim *claims,
    const char *const *ids, size_t n, int default_bp, enum settle_rc *rc)
{
	struct batch_tx t;

	memset(&t, 0, sizeof(t));
	t.claims = claims;
	t.ids = ids;
	t.n = n;
	t.default_bp = default_bp;
	t.a = a;
	t.rc = rc;
	if (n == 0 || db_tx(db, batch_tx_fn, &t) != 0) {
		if (n > 0)
			log_warn(NULL, "settle: a batch of %zu orders rolled back%s: settled one by one",
			    n, t.lost ? " (a claim was lost)" : "");
		return -1;
	}
	return 0;
}
