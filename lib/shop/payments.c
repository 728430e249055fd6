/* payments: applies a PG confirm outcome to the order and completes the outbox claim, in one
 * transaction per outcome (see payments.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "shop/catalog.h"
#include "infra/db.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "shop/orders.h"
#include "infra/outbox.h"
#include "shop/payments.h"
#include "clients/pg.h"

static const char SQL_LOCK_ORDER[] =
    "SELECT status, amount FROM orders WHERE id = ? FOR UPDATE";
static const char SQL_TO_PAID[] =
    "UPDATE orders SET status = 'PAID', paid_at = NOW(3)"
    " WHERE id = ? AND status IN ('CONFIRMING','UNKNOWN') AND amount = ?";
static const char SQL_TO_FAILED[] =
    "UPDATE orders SET status = 'FAILED', fail_code = ?, fail_message = ?"
    " WHERE id = ? AND status IN ('CONFIRMING','UNKNOWN')";
static const char SQL_TO_UNKNOWN[] =
    "UPDATE orders SET status = 'UNKNOWN' WHERE id = ? AND status = 'CONFIRMING'";
static const char SQL_INSERT_PAYMENT[] =
    "INSERT INTO payments (order_id, pg, payment_key, amount, status, approved_at, method)"
    " VALUES (?, ?, ?, ?, 'DONE', NULLIF(?, ''), NULLIF(?, ''))";
static const char SQL_INSERT_EVENT[] =
    "INSERT INTO order_events (order_id, from_status, to_status, actor, note)"
    " VALUES (?, ?, ?, ?, ?)";

/* Widths of the columns written from PG text, in bytes (the columns count characters, which
 * is never fewer). */
#define FAIL_CODE_MAX 64
#define FAIL_MESSAGE_MAX 512

/* Results of the transaction functions besides 0 and the enum db_rc values. */
enum payments_tx_rc {
	TX_LOST = -300,     /* outbox_complete found the claim gone */
};

enum payments_move { MOVE_PAID, MOVE_FAILED, MOVE_UNKNOWN, MOVE_NONE, MOVE__MAX };

static const char *const rc_names[PAYMENTS__MAX] = {
	"done", "skipped", "mismatch", "lost", "db_failed",
};

struct pay_tx {
	enum payments_move move;
	const struct outbox_claim *claim;
	const struct order *o;
	struct arena *a;
	const struct pg_result *r;   /* MOVE_PAID */
	const char *code;            /* MOVE_FAILED */
	const char *message;         /* MOVE_FAILED */
	const char *note;            /* event note */
	bool moved;                  /* out: the order changed status */
	int64_t settle_job;          /* out: MOVE_PAID */
};

const char *
payments_rc_name(enum payments_rc rc)
{
	return (unsigned)rc < PAYMENTS__MAX ? rc_names[rc] : "?";
}

/* s cut to at most max bytes without splitting a UTF-8 sequence (copy in a when cut). NULL
 * stays NULL. */
static const char *
cut_utf8(struct arena *a, const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return arena_strndup(a, s, n);
}

/* True when the order may make this move from status (the database's spelling). */
static bool
move_allowed(enum payments_move m, const char *status)
{
	if (m == MOVE_PAID || m == MOVE_FAILED)
		return strcmp(status, "CONFIRMING") == 0 || strcmp(status, "UNKNOWN") == 0;
	if (m == MOVE_UNKNOWN)
		return strcmp(status, "CONFIRMING") == 0;
	return false;
}

/* The paid side effects after the guarded UPDATE matched. */
static int
paid_effects(struct db *db, struct pay_tx *t)
{
	const struct pg_result *r = t->r;
	enum ledger_rc lrc;
	int64_t rc;
	size_t i;

	rc = db_exec(db, SQL_INSERT_PAYMENT, "ississ", t->o->id, orders_pay_name(t->o->pay),
	    r->payment_key, t->o->amount, r->approved_at, r->method);
	if (rc < 0 && rc != DB_DUP)  /* a duplicate: this approval is recorded already */
		return (int)rc;
	for (i = 0; i < t->o->nlines; i++) {
		rc = catalog_sale_add(db, t->o->lines[i].product_id, t->o->lines[i].quantity);
		if (rc < 0)
			return (int)rc;
	}
	t->settle_job = outbox_add(db, JOB_SETTLE,
	    arena_printf(t->a, "{\"orderId\":\"%s\"}", t->o->public_id));
	if (t->settle_job < 0)
		return (int)t->settle_job;
	/* The shopper's mail: pushed by the janitor within janitor.grace_ms. */
	rc = outbox_add(db, JOB_NOTIFY,
	    arena_printf(t->a, "{\"orderId\":\"%s\",\"event\":\"paid\"}", t->o->public_id));
	if (rc < 0)
		return (int)rc;
	/* The posting last: the hot accounts' rows stay locked only until the commit. */
	lrc = ledger_post_paid(db, t->o->public_id, orders_pay_name(t->o->pay), t->o->user_id,
	    t->o->amount);
	if (lrc != LEDGER_POSTED && lrc != LEDGER_REPLAYED) {
		log_error(NULL, "order %s: paid posting refused: %s", t->o->public_id,
		    ledger_rc_name(lrc));
		return ledger_tx_rc(db, lrc);
	}
	return 0;
}

static int
pay_tx_fn(struct db *db, void *arg)
{
	struct pay_tx *t = arg;
	static const char *const to_names[MOVE__MAX] = { "PAID", "FAILED", "UNKNOWN", NULL };
	struct db_res res;
	const char *from;
	int64_t rc;

	t->moved = false;
	t->settle_job = 0;
	if (t->move != MOVE_NONE) {
		/* Lock the order first: the event names the status really left, and a racing
		 * janitor or admin waits for us instead of deciding the same order at once. */
		rc = db_query(db, t->a, &res, SQL_LOCK_ORDER, "i", t->o->id);
		if (rc < 0)
			return (int)rc;
		from = rc == 1 ? db_res_str(&res, 0, 0) : NULL;
		if (from != NULL && move_allowed(t->move, from)) {
			if (t->move == MOVE_PAID)
				rc = db_exec(db, SQL_TO_PAID, "ii", t->o->id, t->o->amount);
			else if (t->move == MOVE_FAILED)
				rc = db_exec(db, SQL_TO_FAILED, "ssi", t->code, t->message, t->o->id);
			else
				rc = db_exec(db, SQL_TO_UNKNOWN, "i", t->o->id);
			if (rc < 0)
				return (int)rc;
			t->moved = rc == 1;
		}
		if (t->moved) {
			rc = db_exec(db, SQL_INSERT_EVENT, "issss", t->o->id, from,
			    to_names[t->move], "worker", t->note);
			if (rc < 0)
				return (int)rc;
			if (t->move == MOVE_PAID)
				rc = paid_effects(db, t);
			else if (t->move == MOVE_FAILED)
				rc = orders_release_stock(db, t->o);
			else
				rc = 0;
			if (rc < 0)
				return (int)rc;
		}
	}
	rc = outbox_complete(db, t->claim);
	if (rc < 0)
		return (int)rc;
	return rc == 0 ? TX_LOST : 0;
}

/* Runs the transaction and maps its result. */
static enum payments_rc
run(struct db *db, struct pay_tx *t)
{
	int rc = db_tx(db, pay_tx_fn, t);

	if (rc == TX_LOST)
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

	memset(&t, 0, sizeof(t));
	t.move = MOVE_UNKNOWN;
	t.claim = claim;
	t.o = o;
	t.a = a;
	t.note = cut_utf8(a, note, PAYMENTS_NOTE_MAX);
	return run(db, &t);
}

enum payments_rc
payments_mark_paid(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, const struct pg_result *r, int64_t *settle_job)
{
	struct pay_tx t;
	enum payments_rc rc;

	*settle_job = 0;
	if (r->outcome != PG_OK || strcmp(r->status, "DONE") != 0 ||
	    strcmp(r->order_id, o->public_id) != 0 || r->total_amount != o->amount ||
	    r->payment_key[0] == '\0') {
		log_error(NULL, "order %s: PG approval disagrees with the order (status %s, order %s,"
		    " amount %" PRId64 " vs %" PRId64 "): not marked paid", o->public_id, r->status,
		    r->order_id, r->total_amount, o->amount);
		rc = payments_mark_unknown(db, a, claim, o, arena_printf(a,
		    "approval mismatch: PG amount %" PRId64 ", order amount %" PRId64,
		    r->total_amount, o->amount));
		return rc == PAYMENTS_DONE || rc == PAYMENTS_SKIPPED ? PAYMENTS_MISMATCH : rc;
	}
	memset(&t, 0, sizeof(t));
	t.move = MOVE_PAID;
	t.claim = claim;
	t.o = o;
	t.a = a;
	t.r = r;
	t.note = cut_utf8(a, arena_printf(a, "%s %s", orders_pay_name(o->pay), r->payment_key),
	    PAYMENTS_NOTE_MAX);
	rc = run(db, &t);
	if (rc == PAYMENTS_DONE)
		*settle_job = t.settle_job;
	return rc;
}

enum payments_rc
payments_mark_failed(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const struct order *o, const char *code, const char *message)
{
	struct pay_tx t;

	memset(&t, 0, sizeof(t));
	t.move = MOVE_FAILED;
	t.claim = claim;
	t.o = o;
	t.a = a;
	t.code = cut_utf8(a, code, FAIL_CODE_MAX);
	t.message = cut_utf8(a, message, FAIL_MESSAGE_MAX);
	t.note = t.code != NULL ? cut_utf8(a, t.code, PAYMENTS_NOTE_MAX) : NULL;
	return run(db, &t);
}

enum payments_rc
payments_skip(struct db *db, const struct outbox_claim *claim)
{
	struct pay_tx t;

	memset(&t, 0, sizeof(t));
	t.move = MOVE_NONE;
	t.claim = claim;
	return run(db, &t);
}
