/* settle: settling paid orders and refunds with their sellers (see settle.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "base/arena.h"
#include "infra/db.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "infra/outbox.h"
#include "shop/refunds.h"
#include "shop/settle.h"
#include "shop/settle_impl.h"

static const char SQL_ORDER[] =
    "SELECT id, paid_at IS NOT NULL AS paid, amount FROM orders WHERE public_id = ?";
static const char SQL_SETTLED[] =
    "SELECT COUNT(*) FROM settlements WHERE kind = ? AND ref = ?";
/* Each seller's lines and the shipping fee of their parcel (it is theirs: they ship it): the
 * whole sale, before any refund (refunds settle on their own). */
static const char SQL_SELLER_LINES[] =
    "SELECT l.seller_id, SUM(l.amount) + COALESCE(MAX(d.shipping_fee), 0) AS gross,"
    " s.commission_bp FROM order_lines l JOIN sellers s ON s.id = l.seller_id"
    " LEFT JOIN order_deliveries d ON d.order_id = l.order_id AND d.seller_id = l.seller_id"
    " WHERE l.order_id = ? GROUP BY l.seller_id, s.commission_bp ORDER BY l.seller_id";
static const char SQL_INSERT_SETTLEMENT[] =
    "INSERT INTO settlements (kind, ref, order_id, seller_id, gross, commission, net,"
    " commission_bp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_REFUND[] =
    "SELECT r.id, r.status, r.amount, r.order_id FROM refunds r WHERE r.public_id = ?";
/* A refund's settlement locks the order's sale rows first, so the settlements of two refunds
 * of one order (two settle workers) run one after the other: each must see what the other
 * took back (the commission telescopes over them). The refunds already settled are then read
 * with a locking read too, which sees the latest committed rows whatever the isolation
 * level. */
static const char SQL_SALES_OF_ORDER[] =
    "SELECT seller_id, gross, commission_bp FROM settlements"
    " WHERE kind = 'sale' AND order_id = ? ORDER BY seller_id FOR UPDATE";
static const char SQL_REFUNDED_BEFORE[] =
    "SELECT seller_id, SUM(gross) AS gross FROM settlements WHERE kind = 'refund' AND order_id = ?"
    " GROUP BY seller_id FOR UPDATE";
static const char SQL_REFUND_LINES[] =
    "SELECT l.seller_id, SUM(rl.amount) AS gross FROM refund_lines rl"
    " JOIN order_lines l ON l.order_id = ? AND l.product_id = rl.product_id"
    " WHERE rl.refund_id = ? GROUP BY l.seller_id ORDER BY l.seller_id";

/* The refund row settling reads: its id, amount and status (and order_id by name). */
static const struct db_field refund_fields[] = {
	DB_FIELD(struct refund, id, DB_F_I64, "id"),
	DB_FIELD(struct refund, amount, DB_F_I64, "amount"),
	DB_ENUM(struct refund, status, "status", refunds_status_names, REFUND_STATUS__MAX),
	DB_FIELDS_END,
};


static const char *const rc_names[SETTLE_RC__MAX] = {
	"done", "replayed", "wait", "skipped", "lost", "failed",
};

const char *
settle_rc_name(enum settle_rc rc)
{
	return (unsigned)rc < SETTLE_RC__MAX ? rc_names[rc] : "?";
}

int
settle_commission(int64_t gross, int bp, int64_t *out)
{
	if (gross < 0 || gross > MONEY_MAX)
		return -1;
	return money_share_bp(gross, bp, out);
}

int
settle_refund_commission(int64_t prior, int64_t refunded, int bp, int64_t *out)
{
	int64_t total, before, after;

	if (prior < 0 || refunded < 0 || money_add(prior, refunded, &total) != 0 ||
	    settle_commission(prior, bp, &before) != 0 ||
	    settle_commission(total, bp, &after) != 0)
		return -1;
	*out = after - before;
	return 0;
}

/* What a settling transaction does. */
struct settle_tx {
	const struct outbox_claim *claim;
	struct arena *a;
	const char *kind;           /* "sale" or "refund" */
	const char *ref;            /* the order's or the refund's public id */
	int64_t order_id;
	int default_bp;             /* sale */
	int64_t refund_id;          /* refund */
	int64_t refund_amount;      /* refund */
	enum settle_rc rc;          /* out; with DB_ABORT: SETTLE_LOST, or SETTLE_FAILED when the
	                             * data disagree or the ledger refused (logged) */
};

/* Completes the outbox row when there is a claim. Returns 0, DB_ABORT (t->rc SETTLE_LOST)
 * or an enum db_rc. */
static int
complete(struct db *db, struct settle_tx *t)
{
	bool lost;
	int rc;

	if (t->claim == NULL)
		return 0;
	rc = outbox_finish(db, t->claim, &lost);
	if (lost)
		t->rc = SETTLE_LOST;
	return rc;
}

/* The data disagree or the ledger refused (logged): roll back, retry the job later. */
static int
books(struct settle_tx *t)
{
	t->rc = SETTLE_FAILED;
	return DB_ABORT;
}

/* 1 when kind/ref has its settlements already, 0 when not, or an enum db_rc. */
static int
settled_before(struct db *db, struct arena *a, const char *kind, const char *ref)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_SETTLED, "ss", kind, ref);
	if (n < 0)
		return (int)n;
	return n == 1 && db_res_i64(&res, 0, 0) > 0;
}

size_t
settle_share_legs(struct arena *a, const struct settle_share *shares, size_t n, bool sale,
    const char *other, struct ledger_leg *legs)
{
	int64_t commission = 0;
	size_t i, nlegs = 0;

	for (i = 0; i < n; i++) {
		const char *payable = arena_printf(a, "seller_payable:%" PRId64, shares[i].seller_id);

		if (shares[i].net > 0) {
			legs[nlegs].debit = sale ? other : payable;
			legs[nlegs].credit = sale ? payable : other;
			legs[nlegs].amount = shares[i].net;
			nlegs++;
		}
		commission += shares[i].commission;   /* <= gross: no overflow */
	}
	if (commission > 0) {
		legs[nlegs].debit = sale ? other : "commission_revenue";
		legs[nlegs].credit = sale ? "commission_revenue" : other;
		legs[nlegs].amount = commission;
		nlegs++;
	}
	return nlegs;
}

/* Writes the settlements rows and the posting(s) of shares[0..n): each seller's net between
 * seller_payable:<id> and other, and the commission between commission_revenue and other;
 * sale = true moves money from other (sales_clearing) to them, false back to other
 * (refunds). Returns 0, 1 when the sale was settled before (t->rc SETTLE_REPLAYED, nothing
 * written), DB_ABORT (books) or an enum db_rc. */
static int
write_shares(struct db *db, struct settle_tx *t, const struct settle_share *shares, size_t n,
    bool sale, enum ledger_code code, const char *prefix, const char *other)
{
	struct ledger_leg legs[LEDGER_LEGS_MAX];
	struct ledger_posting p;
	enum ledger_rc lrc;
	size_t i, first, nlegs, part = 0;
	int64_t rc;

	for (i = 0; i < n; i++) {
		rc = db_exec(db, SQL_INSERT_SETTLEMENT, "ssiiiiii", t->kind, t->ref, t->order_id,
		    shares[i].seller_id, shares[i].gross, shares[i].commission, shares[i].net,
		    (int64_t)shares[i].bp);
		if (rc == DB_DUP && i == 0 && sale) {
			/* Insert first instead of looking first: a sale's settlements are written
			 * all at once, so the first row's key taken means it is settled (a replay). */
			t->rc = SETTLE_REPLAYED;
			return 1;
		}
		if (rc < 0)
			return (int)rc;  /* DB_DUP: settled meanwhile; the rerun sees it */
	}
	for (first = 0; first < n; first += SELLERS_PER_POSTING) {
		nlegs = settle_share_legs(t->a, shares + first, n - first < SELLERS_PER_POSTING ?
		    n - first : SELLERS_PER_POSTING, sale, other, legs);
		part++;
		if (nlegs == 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.id = part == 1 ? arena_printf(t->a, "%s:%s", prefix, t->ref) :
		    arena_printf(t->a, "%s:%s/%zu", prefix, t->ref, part);
		p.code = code;
		p.ref_type = sale ? "order" : "refund";
		p.ref_id = t->ref;
		p.legs = legs;
		p.nlegs = nlegs;
		lrc = ledger_post(db, &p);
		if (lrc == LEDGER_DB_FAILED)
			return ledger_tx_rc(db, lrc);
		if (lrc != LEDGER_POSTED && lrc != LEDGER_REPLAYED) {
			log_error(NULL, "settle %s %s: the ledger refused %s: %s", t->kind, t->ref, p.id,
			    ledger_rc_name(lrc));
			return books(t);
		}
	}
	return 0;
}

/* ---- sales ---------------------------------------------------------------------------------- */

static int
sale_tx_fn(struct db *db, void *arg)
{
	struct settle_tx *t = arg;
	struct settle_share *shares;
	struct db_res res;
	int64_t n, sum = 0, amount, bp;
	size_t i;
	int rc;

	n = db_query(db, t->a, &res, SQL_ORDER, "s", t->ref);
	if (n < 0)
		return (int)n;
	if (n == 0 || db_col_i64(&res, 0, "paid") == 0) {
		log_error(NULL, "settle: order %s %s: nothing to settle", t->ref,
		    n == 0 ? "is unknown" : "was never paid");
		t->rc = SETTLE_SKIPPED;
		return complete(db, t);
	}
	t->order_id = db_col_i64(&res, 0, "id");
	amount = db_col_i64(&res, 0, "amount");
	n = db_query(db, t->a, &res, SQL_SELLER_LINES, "i", t->order_id);
	if (n < 0)
		return (int)n;
	shares = arena_alloc(t->a, res.nrows * sizeof(*shares));
	for (i = 0; i < res.nrows; i++) {
		struct settle_share *s = &shares[i];

		s->seller_id = db_col_i64(&res, i, "seller_id");
		s->gross = db_col_i64(&res, i, "gross");
		bp = db_col_null(&res, i, "commission_bp") ? t->default_bp :
		    db_col_i64(&res, i, "commission_bp");
		s->bp = (int)bp;
		if (bp < 0 || bp > 10000 || settle_commission(s->gross, s->bp, &s->commission) != 0 ||
		    money_add(sum, s->gross, &sum) != 0)
			return books(t);
		s->net = s->gross - s->commission;
	}
	if (n == 0 || sum != amount) {
		log_error(NULL, "settle: order %s: its lines sum to %" PRId64 ", the order is %"
		    PRId64 ": not settled", t->ref, sum, amount);
		return books(t);
	}
	rc = write_shares(db, t, shares, res.nrows, true, LEDGER_SETTLE, "settle", "sales_clearing");
	if (rc < 0)
		return rc;
	if (rc == 0)
		t->rc = SETTLE_DONE;
	return complete(db, t);
}

/* Runs fn; a duplicate settlement (a concurrent run committed first) reruns it once, when it
 * finds the settlement made. */
static enum settle_rc
run(struct db *db, db_tx_fn fn, struct settle_tx *t)
{
	int rc, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		t->rc = SETTLE_FAILED;
		rc = db_tx(db, fn, t);
		if (rc == 0)
			return t->rc;
		if (rc == DB_ABORT && t->rc == SETTLE_LOST)
			return SETTLE_LOST;
		if (rc != DB_DUP)
			break;
	}
	log_warn(NULL, "settle %s %s: rolled back (%d)", t->kind, t->ref, rc);
	return SETTLE_FAILED;
}

enum settle_rc
settle_order(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *order_public_id, int default_bp)
{
	struct settle_tx t;

	memset(&t, 0, sizeof(t));
	t.claim = claim;
	t.a = a;
	t.kind = "sale";
	t.ref = order_public_id;
	t.default_bp = default_bp;
	return run(db, sale_tx_fn, &t);
}

/* ---- refunds -------------------------------------------------------------------------------- */

/* The sale's share of seller in res (SQL_SALES_OF_ORDER), or -1. */
static ssize_t
sale_row(const struct db_res *res, int64_t seller)
{
	size_t i;

	for (i = 0; i < res->nrows; i++)
		if (db_col_i64(res, i, "seller_id") == seller)
			return (ssize_t)i;
	return -1;
}

/* What earlier refunds took back from seller (SQL_REFUNDED_BEFORE rows). */
static int64_t
refunded_before(const struct db_res *res, int64_t seller)
{
	size_t i;

	for (i = 0; i < res->nrows; i++)
		if (db_col_i64(res, i, "seller_id") == seller)
			return db_col_i64(res, i, "gross");
	return 0;
}

/* The share of seller in shares[0..n), or NULL. */
static struct settle_share *
share_of(struct settle_share *shares, size_t n, int64_t seller)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (shares[i].seller_id == seller)
			return &shares[i];
	return NULL;
}

/* Splits the refund over the sellers: by its lines, then what the lines do not explain (the
 * shipping fees a full cancel returns, or a refund recorded without lines) over what each
 * seller has left, in seller order. Fills shares' seller_id and gross; returns how many, or
 * -1 when it cannot be split. */
static ssize_t
split_refund(const struct settle_tx *t, const struct db_res *lines, const struct db_res *sales,
    const struct db_res *before, struct settle_share *shares)
{
	int64_t left = t->refund_amount, room, take;
	struct settle_share *s;
	size_t i, n = 0;

	for (i = 0; i < lines->nrows; i++) {
		shares[n].seller_id = db_col_i64(lines, i, "seller_id");
		shares[n].gross = db_col_i64(lines, i, "gross");
		if (shares[n].gross < 0 || shares[n].gross > left)
			return -1;
		left -= shares[n].gross;
		n++;
	}
	for (i = 0; i < sales->nrows && left > 0; i++) {
		s = share_of(shares, n, db_col_i64(sales, i, "seller_id"));
		room = db_col_i64(sales, i, "gross") -
		    refunded_before(before, db_col_i64(sales, i, "seller_id")) -
		    (s != NULL ? s->gross : 0);
		take = room < left ? room : left;
		if (take <= 0)
			continue;
		if (s == NULL) {
			s = &shares[n++];
			s->seller_id = db_col_i64(sales, i, "seller_id");
			s->gross = 0;
		}
		s->gross += take;
		left -= take;
	}
	return left == 0 ? (ssize_t)n : -1;
}

static int
refund_tx_fn(struct db *db, void *arg)
{
	struct settle_tx *t = arg;
	struct db_res res, sales, before, lines;
	struct settle_share *shares;
	struct refund refund;
	int64_t n, prior;
	ssize_t ns, row, i;
	int rc;

	n = db_query(db, t->a, &res, SQL_REFUND, "s", t->ref);
	if (n < 0)
		return (int)n;
	if (n != 1 || db_res_map(&res, 0, refund_fields, &refund) != 0 ||
	    refund.status == REFUND_FAILED) {
		log_error(NULL, "settle: refund %s %s: nothing to settle", t->ref,
		    n != 1 ? "is unknown" : "failed");
		t->rc = SETTLE_SKIPPED;
		return complete(db, t);
	}
	if (refund.status != REFUND_DONE) {
		t->rc = SETTLE_WAIT;
		return 0;
	}
	t->refund_id = refund.id;
	t->refund_amount = refund.amount;
	t->order_id = db_col_i64(&res, 0, "order_id");
	rc = settled_before(db, t->a, "refund", t->ref);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		t->rc = SETTLE_REPLAYED;
		return complete(db, t);
	}
	n = db_query(db, t->a, &sales, SQL_SALES_OF_ORDER, "i", t->order_id);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		/* The sale is not settled yet: taking the refund back now would push the
		 * seller below what they were ever credited. Wait for it. */
		t->rc = SETTLE_WAIT;
		return 0;
	}
	n = db_query(db, t->a, &before, SQL_REFUNDED_BEFORE, "i", t->order_id);
	if (n < 0)
		return (int)n;
	n = db_query(db, t->a, &lines, SQL_REFUND_LINES, "ii", t->order_id, t->refund_id);
	if (n < 0)
		return (int)n;
	shares = arena_alloc(t->a, (lines.nrows + sales.nrows) * sizeof(*shares));
	ns = split_refund(t, &lines, &sales, &before, shares);
	if (ns <= 0) {
		log_error(NULL, "settle: refund %s of %" PRId64 " cannot be split over the order's"
		    " sellers", t->ref, t->refund_amount);
		return books(t);
	}
	for (i = 0; i < ns; i++) {
		struct settle_share *s = &shares[i];

		row = sale_row(&sales, s->seller_id);
		prior = refunded_before(&before, s->seller_id);
		if (row < 0 || prior + s->gross > db_col_i64(&sales, (size_t)row, "gross")) {
			log_error(NULL, "settle: refund %s takes %" PRId64 " back from seller %" PRId64
			    " past its sale", t->ref, s->gross, s->seller_id);
			return books(t);
		}
		s->bp = (int)db_col_i64(&sales, (size_t)row, "commission_bp");
		if (settle_refund_commission(prior, s->gross, s->bp, &s->commission) != 0)
			return books(t);
		s->net = s->gross - s->commission;
	}
	rc = write_shares(db, t, shares, (size_t)ns, false, LEDGER_REFUND_SETTLE, "refund.settle",
	    "refunds");
	if (rc < 0)
		return rc;
	t->rc = SETTLE_DONE;
	return complete(db, t);
}

enum settle_rc
settle_refund(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *refund_public_id)
{
	struct settle_tx t;

	memset(&t, 0, sizeof(t));
	t.claim = claim;
	t.a = a;
	t.kind = "refund";
	t.ref = refund_public_id;
	return run(db, refund_tx_fn, &t);
}

/* ---- skipping ------------------------------------------------------------------------------- */

static int
skip_tx_fn(struct db *db, void *arg)
{
	return complete(db, arg);
}

enum settle_rc
settle_skip(struct db *db, const struct outbox_claim *claim)
{
	struct settle_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.claim = claim;
	rc = db_tx(db, skip_tx_fn, &t);
	if (rc == DB_ABORT && t.rc == SETTLE_LOST)
		return SETTLE_LOST;
	return rc == 0 ? SETTLE_SKIPPED : SETTLE_FAILED;
}
