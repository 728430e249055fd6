/* payments: applies a PG confirm outcome to the order and completes the outbox claim, in one
 * transaction per outcome (see payments.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/valid.h"
#include "clients/pg.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "shop/ledger.h"
#include "shop/order_state.h"
#include "shop/orders.h"
#include "shop/payments.h"

static const char SQL_LOCK_ORDER[] =
    "SELECT status FROM orders WHERE id = ? FOR UPDATE";

/* Widths of the columns written from PG text, in bytes (the columns count characters, which
 * is never fewer). */
#define FAIL_CODE_MAX 64
#define FAIL_MESSAGE_MAX 512

/* Shown to the shopper when the PG's "no" came without a message of its own. */
static const char MSG_ABORTED[] = "결제가 승인되지 않았습니다.";
static const char MSG_EXPIRED[] = "결제 유효 시간이 만료되었습니다.";
static const char MSG_NOT_FOUND[] = "결제 정보를 찾을 수 없습니다.";

static const char *const rc_names[PAYMENTS__MAX] = {
	"done", "skipped", "mismatch", "lost", "db_failed",
};

struct pay_tx {
	const struct outbox_claim *claim;
	const struct order *o;
	struct arena *a;
	struct order_move m;         /* m.to: PAID, FAILED, UNKNOWN; ORDER_STATUS__MAX: none */
	const struct pg_result *r;   /* PAID */
	bool moved;                  /* out: the order changed status */
	bool lost;                   /* out: the outbox claim was gone */
	struct bus_batch jobs;       /* out: PAID */
};

const char *
payments_rc_name(enum payments_rc rc)
{
	return (unsigned)rc < PAYMENTS__MAX ? rc_names[rc] : "?";
}

/* s cut to at most max bytes without splitting a UTF-8 sequence (a copy in a when cut). NULL
 * stays NULL. */
static const char *
cut_utf8(struct arena *a, const char *s, size_t max)
{
	return s != NULL ? arena_strndup(a, s, valid_utf8_cut_bytes(s, max)) : NULL;
}

/* What the move causes, after it matched: the paid effects, or the stock back. */
static int
effects(struct db *db, struct pay_tx *t)
{
	struct order_payment pay;
	enum ledger_rc lrc;

	if (t->m.to == ORDER_FAILED)
		return order_state_release(db, t->o->lines, t->o->nlines);
	if (t->m.to != ORDER_PAID)
		return 0;
	pay.pg = orders_pay_name(t->o->pay);
	pay.payment_key = t->r->payment_key;
	pay.approved_at = t->r->approved_at;
	pay.method = t->r->method;
	return order_state_paid(db, t->a, t->o, &pay, &t->jobs, &lrc);
}

static int
pay_tx_fn(struct db *db, void *arg)
{
	struct pay_tx *t = arg;
	struct db_res res;
	int64_t rc;

	t->moved = false;
	t->lost = false;  /* an effect's own DB_ABORT is no lost claim */
	bus_batch_clear(&t->jobs);
	if (t->m.to != ORDER_STATUS__MAX) {
		/* Update first: the guarded move from the status the worker loaded (the common
		 * case) locks the row like a locking read would, so a racing janitor or admin
		 * waits for us; only when the order moved meanwhile is its status read (locked),
		 * so the event names the status really left. */
		t->m.from = t->o->status;
		rc = ORDER_STATE_NOT_MATCHED;
		if (order_state_allowed(t->m.from, t->m.to, ORDER_BY_WORKER)) {
			rc = order_state_move(db, &t->m);
			if (rc < 0)
				return (int)rc;
		}
		if (rc != ORDER_STATE_MOVED) {
			rc = db_query(db, t->a, &res, SQL_LOCK_ORDER, "i", t->o->id);
			if (rc < 0)
				return (int)rc;
			if (rc == 1 && orders_status_parse(db_res_str(&res, 0, 0), &t->m.from) == 0 &&
			    t->m.from != t->o->status &&
			    order_state_allowed(t->m.from, t->m.to, ORDER_BY_WORKER)) {
				rc = order_state_move(db, &t->m);
				if (rc < 0)
					return (int)rc;
			}
		}
		t->moved = rc == ORDER_STATE_MOVED;
		if (t->moved) {
			rc = effects(db, t);
			if (rc < 0)
				return (int)rc;
		}
	}
	return outbox_finish(db, t->claim, &t->lost);
}

/* A pay_tx for moving o to to (ORDER_STATUS__MAX: only the claim), with the event's note. */
static void
pay_tx_init(struct pay_tx *t, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, enum order_status to, const char *note)
{
	memset(t, 0, sizeof(*t));
	t->claim = claim;
	t->o = o;
	t->a = a;
	t->m.to = to;
	t->m.actor = ORDER_BY_WORKER;
	if (o != NULL) {
		t->m.order_id = o->id;
		t->m.amount = o->amount;
	}
	t->m.note = cut_utf8(a, note, PAYMENTS_NOTE_MAX);
}

/* Runs the transaction and maps its result. */
static enum payments_rc
run(struct db *db, struct pay_tx *t)
{
	int rc = db_tx(db, pay_tx_fn, t);

	if (rc == DB_ABORT && t->lost)
		return PAYMENTS_LOST;
	if (rc != 0)
		return PAYMENTS_DB_FAILED;
	return t->moved ? PAYMENTS_DONE : PAYMENTS_SKIPPED;
}

enum payments_rc
payments_mark_unknown(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, const char *note)
{
	struct pay_tx t;

	pay_tx_init(&t, a, claim, o, ORDER_UNKNOWN, note);
	return run(db, &t);
}

/* True when r is an approval of exactly o. */
static bool
approval_agrees(const struct order *o, const struct pg_result *r)
{
	return r->outcome == PG_OK && r->state == PG_STATE_APPROVED &&
	    strcmp(r->order_id, o->public_id) == 0 && r->total_amount == o->amount &&
	    r->payment_key[0] != '\0';
}

/* A batch of approvals being recorded. */
struct paid_batch_tx {
	struct arena *a;
	struct payments_paid *v;
	size_t n;
	bool lost;
};

/* Moves every order of the batch to PAID with its effects, posts their paid postings as one
 * ledger batch and completes their claims. Any order that does not move at once (someone
 * else decided it), a refused posting or a lost claim aborts the whole batch. */
static int
paid_batch_fn(struct db *db, void *arg)
{
	struct paid_batch_tx *t = arg;
	struct ledger_posting *ps = arena_alloc(t->a, t->n * sizeof(*ps));
	struct ledger_leg *legs = arena_alloc(t->a, t->n * sizeof(*legs));
	const struct outbox_claim **claims = arena_alloc(t->a, t->n * sizeof(*claims));
	struct order_paid_item *items = arena_alloc(t->a, t->n * sizeof(*items));
	int64_t rc;
	size_t i;

	t->lost = false;
	for (i = 0; i < t->n; i++) {
		const struct order *o = t->v[i].o;
		const struct pg_result *r = t->v[i].r;

		memset(&items[i], 0, sizeof(items[i]));
		items[i].o = o;
		items[i].pay.pg = orders_pay_name(o->pay);
		items[i].pay.payment_key = r->payment_key;
		items[i].pay.approved_at = r->approved_at;
		items[i].pay.method = r->method;
		items[i].note = cut_utf8(t->a, arena_printf(t->a, "%s %s", orders_pay_name(o->pay),
		    r->payment_key), PAYMENTS_NOTE_MAX);
		items[i].jobs = &t->v[i].jobs;
		if (ledger_paid_posting(t->a, o->public_id, items[i].pay.pg, o->amount, &ps[i],
		    &legs[i]) != 0)
			return DB_ABORT;
		claims[i] = t->v[i].claim;
	}
	/* Every move and its effects by statement for the batch; anything not plain (decided
	 * meanwhile, a payments row already there) rolls back to the one-by-one path. */
	rc = order_state_paid_batch(db, t->a, items, t->n);
	if (rc < 0 && rc != DB_DUP)
		return (int)rc;
	if (rc != ORDER_STATE_MOVED)
		return DB_ABORT;
	/* The postings last: the hot accounts' rows stay locked only until the commit. */
	if (ledger_post_batch(db, t->a, ps, t->n) != LEDGER_POSTED)
		return DB_ABORT;
	return outbox_finish_some(db, t->a, claims, t->n, &t->lost);
}

int
payments_mark_paid_batch(struct db *db, struct arena *a, struct payments_paid *v, size_t n)
{
	struct paid_batch_tx t = { a, v, n, false };
	size_t i;

	for (i = 0; i < n; i++) {
		bus_batch_clear(&v[i].jobs);
		v[i].rc = PAYMENTS_DB_FAILED;
		if (!approval_agrees(v[i].o, v[i].r) || v[i].o->pay == ORDER_PAY_POINTS)
			return -1;
	}
	if (n == 0 || db_tx(db, paid_batch_fn, &t) != 0) {
		for (i = 0; i < n; i++)
			bus_batch_clear(&v[i].jobs);
		if (n > 0)
			log_warn(NULL, "payments: a batch of %zu approvals rolled back%s: recorded one"
			    " by one", n, t.lost ? " (a claim was lost)" : "");
		return -1;
	}
	for (i = 0; i < n; i++)
		v[i].rc = PAYMENTS_DONE;
	return 0;
}

enum payments_rc
payments_mark_paid(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, const struct pg_result *r, struct bus_batch *jobs)
{
	struct pay_tx t;
	enum payments_rc rc;

	bus_batch_clear(jobs);
	if (!approval_agrees(o, r)) {
		log_error(NULL, "order %s: PG approval disagrees with the order (status %s, order %s,"
		    " amount %" PRId64 " vs %" PRId64 "): not marked paid", o->public_id, r->status,
		    r->order_id, r->total_amount, o->amount);
		rc = payments_mark_unknown(db, a, claim, o, arena_printf(a,
		    "approval mismatch: PG amount %" PRId64 ", order amount %" PRId64,
		    r->total_amount, o->amount));
		return rc == PAYMENTS_DONE || rc == PAYMENTS_SKIPPED ? PAYMENTS_MISMATCH : rc;
	}
	pay_tx_init(&t, a, claim, o, ORDER_PAID,
	    arena_printf(a, "%s %s", orders_pay_name(o->pay), r->payment_key));
	t.r = r;
	rc = run(db, &t);
	if (rc == PAYMENTS_DONE)
		*jobs = t.jobs;
	return rc;
}

enum payments_rc
payments_mark_failed(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, const char *code, const char *message)
{
	struct pay_tx t;

	pay_tx_init(&t, a, claim, o, ORDER_FAILED, cut_utf8(a, code, FAIL_CODE_MAX));
	t.m.fail_code = cut_utf8(a, code, FAIL_CODE_MAX);
	t.m.fail_message = cut_utf8(a, message, FAIL_MESSAGE_MAX);
	return run(db, &t);
}

enum payments_rc
payments_skip(struct db *db, const struct outbox_claim *claim)
{
	struct pay_tx t;

	pay_tx_init(&t, NULL, claim, NULL, ORDER_STATUS__MAX, NULL);
	return run(db, &t);
}

enum payments_verdict
payments_verdict(const struct order *o, const struct pg_result *r)
{
	bool other;

	if (r->outcome == PG_NOT_FOUND)
		return PAYMENTS_NOT_FOUND;
	if (r->outcome != PG_OK)
		return PAYMENTS_OPEN;
	/* Toss answers an order's latest attempt: a final "no" about another payment of the
	 * same order decides nothing about ours. */
	other = o->payment_key != NULL && r->payment_key[0] != '\0' &&
	    strcmp(o->payment_key, r->payment_key) != 0;
	switch (r->state) {
	case PG_STATE_APPROVED:
		return PAYMENTS_PAID;
	case PG_STATE_ABORTED:
	case PG_STATE_EXPIRED:
		return other ? PAYMENTS_OPEN : PAYMENTS_FAILED;
	case PG_STATE_CANCELED:
	case PG_STATE_PARTIAL_CANCELED:
		return PAYMENTS_ADMIN;
	default:
		return PAYMENTS_OPEN;  /* open at the PG: not decided yet */
	}
}

enum payments_rc
payments_mark_failed_as(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, const struct pg_result *r)
{
	const char *code, *message;

	if (r->outcome == PG_NOT_FOUND) {
		code = r->code[0] != '\0' ? r->code : "NOT_FOUND_PAYMENT";
		message = MSG_NOT_FOUND;
	} else {
		code = r->code[0] != '\0' ? r->code : r->status;
		message = r->message[0] != '\0' ? r->message :
		    r->state == PG_STATE_EXPIRED ? MSG_EXPIRED : MSG_ABORTED;
	}
	return payments_mark_failed(db, a, claim, o, code, message);
}
