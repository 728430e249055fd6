/* reconcile_repair: one payment of a reconciliation: finds our order, classifies the payment
 * against the PG's records (asking the PG for its balance where the file cannot tell), and
 * repairs what is safe, or reports it for a person (see the top comment of reconcile.c). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/valid.h"
#include "clients/pg.h"
#include "clients/pggate.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "shop/orders.h"
#include "shop/paychecks.h"
#include "shop/reconcile.h"
#include "shop/reconcile_impl.h"
#include "shop/refunds.h"

static const char SQL_ORDER_BY_PAYMENT[] =
    "SELECT o.public_id FROM payments p JOIN orders o ON o.id = p.order_id"
    " WHERE p.pg = ? AND p.payment_key = ? ORDER BY p.id LIMIT 1";
static const char SQL_ORDER_EXTRA[] =
    "SELECT TIMESTAMPDIFF(SECOND, o.updated_at, NOW(3)) AS age_seconds, p.payment_key"
    " FROM orders o LEFT JOIN payments p ON p.order_id = o.id WHERE o.id = ?";
static const char SQL_STOCK[] =
    "SELECT available FROM stock WHERE product_id = ?";

static int
fence_tx_fn(struct db *db, void *arg)
{
	return reconcile_fence_check(db, arg);
}

/* Asks the PG about the payment now, through the gate. Returns r->outcome (PG_NOT_SENT when
 * the breaker refused). */
static enum pg_outcome
look_up(struct recon_ctx *c, const struct recon_group *g, struct pg_result *r)
{
	struct pg_lookup_req q;

	q.payment_key = g->key;
	/* The order id makes the PG's answer prove it is about our order (Toss wants 6..64). */
	q.order_id = valid_token(g->order_id, 6, 64) ? g->order_id : NULL;
	pggate_lookup(pggate_get(c->o->conf, c->o->file->pg, PGGATE_PAY), &q, r);
	return r->outcome;
}

/* Asks the PG for the payment's balance now, where the file cannot settle it. Returns true
 * when the PG answered about a payment of the order's amount (f->pg_amount is its balance);
 * otherwise records f as a report saying why, with *rc its result, and returns false. */
static bool
balance_now(struct recon_ctx *c, struct recon_found *f, const struct recon_group *g,
    const struct order *o, struct pg_result *r, int *rc)
{
	if (look_up(c, g, r) != PG_OK) {
		f->note = reconcile_note(c->scratch, "the PG's lookup failed: %s (HTTP %ld%s%s)",
		    pg_outcome_name(r->outcome), r->http_status, r->code[0] != '\0' ? ", " : "",
		    r->code);
		*rc = reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
		return false;
	}
	f->pg_amount = r->balance_amount;
	if (r->total_amount != o->amount) {
		f->note = reconcile_note(c->scratch, "the PG holds %" PRId64 " won for a %" PRId64
		    " won order", r->total_amount, o->amount);
		*rc = reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
		return false;
	}
	return true;
}

/* The PG approved a payment we do not hold paid: cancel it there (amount: its balance). */
static int
cancel_at_pg(struct recon_ctx *c, struct recon_found *f, const struct recon_ours *ours,
    const struct recon_group *g, int64_t balance, const char *why)
{
	struct pg_cancel_req req;
	struct pg_result r;
	char idem[8 + RECON_KEY_MAX];
	bool pending = ours->o.status == ORDER_UNKNOWN || ours->o.status == ORDER_CONFIRMING;

	if (c->o->dry_run) {
		f->action = "would_cancel_at_pg";
		f->note = why;
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	snprintf(idem, sizeof(idem), "recon-%s", g->key);
	memset(&req, 0, sizeof(req));
	req.payment_key = g->key;
	req.amount = balance;
	req.cancelable = balance;
	req.reason = "정산 대사: 결제되지 않은 주문의 승인 취소";
	req.idempotency_key = idem;
	if (!pggate_cancel(pggate_get(c->o->conf, c->o->file->pg, PGGATE_REFUND), &req, &r) ||
	    r.outcome != PG_OK) {
		f->action = "report";
		f->note = reconcile_note(c->scratch, "%s; the cancel at the PG failed: %s (HTTP %ld%s%s)",
		    why, pg_outcome_name(r.outcome), r.http_status, r.code[0] != '\0' ? ", " : "",
		    r.code);
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	f->action = "canceled_at_pg";
	f->note = why;
	f->pg_amount = r.balance_amount;
	return reconcile_record(c, f, pending ? RECON_REPAIR_FAIL_ORDER : RECON_REPAIR_NONE, ours, g);
}

/* A dry run's look at the stock a FAILED / EXPIRED order would take again: 1 when a line's
 * stock is short, 0 when all fit, or an enum db_rc. */
static int
stock_short(struct recon_ctx *c, const struct order *o)
{
	struct db_res res;
	int64_t rc, q;
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		q = o->lines[i].quantity - o->lines[i].canceled_quantity;
		if (q <= 0)
			continue;
		rc = db_query(c->o->db, c->scratch, &res, SQL_STOCK, "i", o->lines[i].product_id);
		if (rc < 0)
			return (int)rc;
		if (rc != 1 || db_res_i64(&res, 0, 0) < q)
			return 1;
	}
	return 0;
}

/* The PG approved the order's exact amount and still holds it; we hold it unpaid. */
static int
repair_approved(struct recon_ctx *c, struct recon_found *f, const struct recon_ours *ours,
    const struct recon_group *g, int64_t balance)
{
	int rc;

	if (ours->o.status == ORDER_CANCELED)
		return cancel_at_pg(c, f, ours, g, balance,
		    "the shopper cancelled the order before it was paid");
	/* The shop decided this payment was not approved and told the shopper so (the bounded
	 * wait, lib/shop/paychecks.h): an approval after that is a surprise, never a sale. */
	if (ours->o.status == ORDER_FAILED && ours->o.fail_code != NULL &&
	    strcmp(ours->o.fail_code, PAYCHECKS_NOT_APPROVED_CODE) == 0)
		return cancel_at_pg(c, f, ours, g, balance, "approved at the PG after the shop had"
		    " decided it was not approved (FAILED here, the shopper told)");
	if (!c->o->repair_approved)
		return cancel_at_pg(c, f, ours, g, balance, reconcile_note(c->scratch,
		    "approved at the PG, %s here (reconcile.repair_approved is off)",
		    orders_status_name(ours->o.status)));
	if (c->o->dry_run && (ours->o.status == ORDER_FAILED || ours->o.status == ORDER_EXPIRED)) {
		rc = stock_short(c, &ours->o);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return cancel_at_pg(c, f, ours, g, balance, reconcile_note(c->scratch,
			    "approved at the PG, %s here, and its stock is gone: not oversold",
			    orders_status_name(ours->o.status)));
	}
	if (c->o->dry_run) {
		f->action = "would_mark_paid";
		f->note = reconcile_note(c->scratch, "approved at the PG, %s here",
		    orders_status_name(ours->o.status));
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	f->action = "marked_paid";
	f->note = reconcile_note(c->scratch, "approved at the PG, was %s here",
	    orders_status_name(ours->o.status));
	f->our_amount = ours->o.amount;
	rc = reconcile_record(c, f, RECON_REPAIR_MARK_PAID, ours, g);
	if (rc != DB_ABORT || c->stop != RECON_STOCK_GONE)
		return rc;
	f->our_amount = -1;
	return cancel_at_pg(c, f, ours, g, balance, reconcile_note(c->scratch,
	    "approved at the PG, %s here, and its stock is gone: not oversold",
	    orders_status_name(ours->o.status)));
}

/* We hold the order unpaid (no payments row). */
static int
unpaid_here(struct recon_ctx *c, struct recon_found *f, const struct recon_ours *ours,
    const struct recon_group *g)
{
	const struct order *o = &ours->o;
	struct pg_result r;
	bool stale;
	int rc;

	f->cls = RECON_MISSING_HERE;
	f->action = "report";
	stale = o->status == ORDER_CONFIRMING &&
	    ours->age_seconds >= c->o->confirming_stale_seconds;
	if (o->status == ORDER_PENDING || (o->status == ORDER_CONFIRMING && !stale)) {
		f->action = "none";
		f->note = reconcile_note(c->scratch, "the payment is in progress here (%s): the confirm"
		    " decides", orders_status_name(o->status));
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (o->status != ORDER_FAILED && o->status != ORDER_EXPIRED &&
	    o->status != ORDER_UNKNOWN && o->status != ORDER_CONFIRMING &&
	    o->status != ORDER_CANCELED) {
		f->note = reconcile_note(c->scratch, "the order is %s here without a payment",
		    orders_status_name(o->status));
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (g->napprove == 0) {
		f->note = "cancels of an approval this shop never recorded";
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (g->approved != o->amount) {
		f->note = reconcile_note(c->scratch, "the PG approved %" PRId64 " won for a %" PRId64
		    " won order", g->approved, o->amount);
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (!balance_now(c, f, g, o, &r, &rc))
		return rc;
	if (r.state == PG_STATE_CANCELED || r.balance_amount == 0) {
		f->cls = RECON_MATCH;
		f->action = "none";
		f->note = reconcile_note(c->scratch, "approved and cancelled at the PG, %s here",
		    orders_status_name(o->status));
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (r.state != PG_STATE_APPROVED || r.balance_amount != o->amount) {
		f->note = reconcile_note(c->scratch, "%s at the PG with %" PRId64 " won left, %s here",
		    r.status, r.balance_amount, orders_status_name(o->status));
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	return repair_approved(c, f, ours, g, r.balance_amount);
}

/* We hold the order paid (a payments row exists). */
static int
paid_here(struct recon_ctx *c, struct recon_found *f, const struct recon_ours *ours, const struct recon_group *g)
{
	const struct order *o = &ours->o;
	struct pg_result r;
	struct refund ref;
	enum refunds_rc rrc;
	int64_t our_net = o->amount - o->refunded_amount, pg_net = g->approved - g->cancelled;
	int rc;

	f->our_amount = our_net;
	f->cls = RECON_AMOUNT_MISMATCH;
	f->action = "report";
	if (strcmp(ours->paid_key, g->key) != 0) {
		f->cls = RECON_MISSING_HERE;
		f->note = reconcile_note(c->scratch, "the order is paid here by another payment (%s)",
		    ours->paid_key);
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (g->napprove == 1 && g->approved != o->amount) {
		f->note = reconcile_note(c->scratch, "the PG approved %" PRId64 " won, the order is %"
		    PRId64 " won", g->approved, o->amount);
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (g->napprove == 1 && pg_net == our_net) {
		f->cls = RECON_MATCH;
		f->action = "none";
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	/* The file alone does not settle it: its cancels are of another day, or they differ
	 * from our refunds. The PG's balance now does. */
	if (!balance_now(c, f, g, o, &r, &rc))
		return rc;
	if (r.balance_amount == our_net) {
		f->cls = RECON_MATCH;
		f->action = "none";
		f->note = "the PG's balance now agrees (cancels of another day)";
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (r.balance_amount > our_net) {
		f->note = reconcile_note(c->scratch, "we refunded %" PRId64 " won the PG has not"
		    " cancelled (a refund in flight?)", r.balance_amount - our_net);
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (c->o->dry_run) {
		f->action = "would_record_refund";
		f->note = reconcile_note(c->scratch, "the PG cancelled %" PRId64 " won we did not"
		    " refund", our_net - r.balance_amount);
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	rc = db_tx(c->o->db, fence_tx_fn, c);  /* refunds_record_pg_cancel runs its own */
	if (rc != 0)
		return rc;
	rrc = refunds_record_pg_cancel(c->o->db, c->scratch, o->public_id,
	    our_net - r.balance_amount, &ref);
	if (rrc != REFUNDS_DONE) {
		f->note = reconcile_note(c->scratch, "the PG cancelled %" PRId64 " won we did not refund;"
		    " recording it failed (%s)", our_net - r.balance_amount,
		    refunds_rc_name(rrc));
		return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	}
	bus_push_batch(c->o->bus, &ref.jobs);
	f->action = "refund_recorded";
	f->note = reconcile_note(c->scratch, "refund %s of %" PRId64 " won recorded", ref.public_id,
	    our_net - r.balance_amount);
	f->our_amount = r.balance_amount;
	rc = reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
	if (rc == 0)
		c->run->repaired++;
	return rc;
}

/* Finds our order for a payment of the file: by its payments row, else by the order id the
 * PG holds (our public id). 1 found (*ours filled), 0 none, or an enum db_rc. */
static int
find_ours(struct recon_ctx *c, const struct recon_group *g, struct recon_ours *ours)
{
	const char *pg = pg_name(c->o->file->pg), *public_id = g->order_id;
	struct db_res res;
	int64_t rc;

	memset(ours, 0, sizeof(*ours));
	rc = db_query(c->o->db, c->scratch, &res, SQL_ORDER_BY_PAYMENT, "ss", pg, g->key);
	if (rc < 0)
		return (int)rc;
	if (rc == 1)
		public_id = db_res_str(&res, 0, 0);
	rc = orders_get(c->o->db, c->scratch, public_id, true, &ours->o);
	if (rc <= 0)
		return (int)rc;
	rc = db_query(c->o->db, c->scratch, &res, SQL_ORDER_EXTRA, "i", ours->o.id);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return 0;
	ours->age_seconds = db_col_i64(&res, 0, "age_seconds");
	ours->paid_key = db_col_str(&res, 0, "payment_key");
	return 1;
}

int
reconcile_group(struct recon_ctx *c, const struct recon_group *g)
{
	struct recon_found f;
	struct recon_ours ours;
	enum pg_id id;
	int rc;

	memset(&f, 0, sizeof(f));
	f.seq = (int64_t)g->first;
	f.pg_key = g->key;
	f.pg_amount = g->approved - g->cancelled;
	f.our_amount = -1;
	f.action = "report";
	rc = find_ours(c, g, &ours);
	if (rc < 0)
		return rc;
	if (rc == 1)
		f.order_id = ours.o.public_id;
	if (g->napprove > 1 || g->order_conflict) {
		f.cls = RECON_DUPLICATE;
		f.note = g->order_conflict ? "rows of this payment name different orders" :
		    reconcile_note(c->scratch, "%d approvals of one payment in the file", g->napprove);
		return reconcile_record(c, &f, RECON_REPAIR_NONE, NULL, NULL);
	}
	f.cls = RECON_MISSING_HERE;
	if (rc == 0) {
		f.note = reconcile_note(c->scratch, "no order %s here", g->order_id);
		return reconcile_record(c, &f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (pg_parse(orders_pay_name(ours.o.pay), &id) != 0 || id != c->o->file->pg) {
		f.note = reconcile_note(c->scratch, "the order is paid by %s here",
		    orders_pay_name(ours.o.pay));
		return reconcile_record(c, &f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (strcmp(g->order_id, ours.o.public_id) != 0) {
		f.note = reconcile_note(c->scratch, "the PG names order %s", g->order_id);
		return reconcile_record(c, &f, RECON_REPAIR_NONE, NULL, NULL);
	}
	if (ours.paid_key != NULL)
		return paid_here(c, &f, &ours, g);
	return unpaid_here(c, &f, &ours, g);
}

