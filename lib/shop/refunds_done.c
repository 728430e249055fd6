/* refunds_done: a refund becoming DONE or FAILED: the effects of a DONE refund (shared with a
 * points refund done at once), the refund job's transactions on the PG's answer, and a
 * cancel that reconciliation found at the PG (see refunds.h).
 *
 * refunds_record_pg_cancel chooses its lines greedily from the order's last line (highest
 * product id) to its first, taking as many whole remaining units of each as still fit in the
 * amount. When that lands exactly on the amount the refund cancels those units (and their
 * stock comes back); otherwise it is an amount-only refund with no lines and no stock back
 * (a PG cancel that is not a sum of unit prices cannot be tied to goods). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/money.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "shop/ledger.h"
#include "shop/order_state.h"
#include "shop/orders.h"
#include "shop/refunds.h"
#include "shop/refunds_impl.h"

static const char SQL_HEAD[] =
    "SELECT r.id AS refund_id, r.order_id AS order_id, r.amount AS amount, o.pay_method"
    " FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.public_id = ?";
static const char SQL_TO_DONE[] =
    "UPDATE refunds SET status = 'DONE', done_at = NOW(3) WHERE id = ? AND status = 'REQUESTED'";
static const char SQL_TO_FAILED[] =
    "UPDATE refunds SET status = 'FAILED', fail_code = ?, fail_message = ?"
    " WHERE id = ? AND status = 'REQUESTED'";
static const char SQL_DONE_SUM[] =
    "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE order_id = ? AND status = 'DONE'";
static const char SQL_PAYMENT_TO[] =
    "UPDATE payments SET status = ? WHERE order_id = ?";
static const char SQL_REFUND_LINES[] =
    "SELECT product_id, quantity FROM refund_lines WHERE refund_id = ? ORDER BY product_id";
static const char SQL_POINTS_BACK[] =
    "UPDATE users SET points = points + ? WHERE id = ?";
static const char SQL_UNRESERVE_ORDER[] =
    "UPDATE orders SET refunded_amount = refunded_amount - ? WHERE id = ? AND refunded_amount >= ?";
static const char SQL_UNRESERVE_LINE[] =
    "UPDATE order_lines SET canceled_quantity = canceled_quantity - ?"
    " WHERE order_id = ? AND product_id = ? AND canceled_quantity >= ?";

/* The lines of refund refund_id as order lines to give stock back for (quantity each,
 * nothing cancelled before), in product-id order, into an array from a. Returns the count or
 * an enum db_rc. */
static int64_t
refund_lines(struct db *db, struct arena *a, int64_t refund_id, struct order_line **out)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_REFUND_LINES, "i", refund_id);
	if (n < 0)
		return n;
	*out = arena_alloc(a, ((size_t)n + 1) * sizeof(**out));
	memset(*out, 0, ((size_t)n + 1) * sizeof(**out));
	for (i = 0; i < (size_t)n; i++) {
		(*out)[i].product_id = db_col_i64(&res, i, "product_id");
		(*out)[i].quantity = (int)db_col_i64(&res, i, "quantity");
	}
	return n;
}

/* The order's move: CANCELED once the DONE refunds add up to its amount, else
 * PARTIALLY_CANCELED; and its payments row likewise. Returns 0, DB_ABORT (not moved:
 * logged) or an enum db_rc. */
static int
move_order(struct db *db, const struct refunds_effects *e, char *won)
{
	struct order_move m;
	struct db_res res;
	int64_t rc;

	rc = db_query(db, e->a, &res, SQL_DONE_SUM, "i", e->order_id);
	if (rc < 0)
		return (int)rc;
	memset(&m, 0, sizeof(m));
	m.order_id = e->order_id;
	m.from = e->order->status;
	m.to = db_res_i64(&res, 0, 0) >= e->order->amount ? ORDER_CANCELED :
	    ORDER_PARTIALLY_CANCELED;
	m.actor = e->actor;
	m.note = arena_printf(e->a, "환불 %s %s원", e->refund_public_id,
	    money_format(e->amount, won));
	rc = order_state_move(db, &m);
	if (rc < 0)
		return (int)rc;
	if (rc != ORDER_STATE_MOVED) {
		log_error(NULL, "refund %s: order %s not moved from %s", e->refund_public_id,
		    e->order->public_id, orders_status_name(e->order->status));
		return DB_ABORT;
	}
	if (e->order->pay == ORDER_PAY_POINTS)
		return 0;
	rc = db_exec(db, SQL_PAYMENT_TO, "si", m.to == ORDER_CANCELED ? "CANCELED" :
	    "PARTIAL_CANCELED", e->order_id);
	return rc < 0 ? (int)rc : 0;
}

int
refunds_done_effects(struct db *db, const struct refunds_effects *e)
{
	struct payload_notify notify = { .order_id = e->order->public_id,
		.event = PAYLOAD_EVENT_REFUNDED, .refund_id = e->refund_public_id };
	char won[MONEY_FMT_MAX];
	struct order_line *lines;
	enum ledger_rc lrc;
	int64_t rc;

	rc = move_order(db, e, won);
	if (rc != 0)
		return (int)rc;
	/* The stock of the cancelled units, in product-id order as checkouts take it. */
	rc = refund_lines(db, e->a, e->refund_id, &lines);
	if (rc < 0)
		return (int)rc;
	rc = order_state_release(db, lines, (size_t)rc);
	if (rc < 0)
		return (int)rc;
	if (e->order->pay == ORDER_PAY_POINTS) {
		rc = db_exec(db, SQL_POINTS_BACK, "ii", e->amount, e->order->user_id);
		if (rc <= 0)
			return rc < 0 ? (int)rc : DB_ABORT;
	}
	lrc = ledger_post_refund(db, e->refund_public_id, e->order->public_id,
	    orders_pay_name(e->order->pay), e->order->user_id, e->amount);
	if (lrc != LEDGER_POSTED && lrc != LEDGER_REPLAYED) {
		log_error(NULL, "refund %s: ledger posting refused (%s)", e->refund_public_id,
		    ledger_rc_name(lrc));
		return ledger_tx_rc(db, lrc);  /* DB_RETRY after a deadlock: db_tx reruns */
	}
	rc = outbox_queue(db, e->jobs, JOB_REFUND_SETTLE,
	    payload_refund_build(e->a, e->refund_public_id));
	if (rc < 0 || !e->notify)
		return rc < 0 ? (int)rc : 0;
	rc = outbox_queue(db, e->jobs, JOB_NOTIFY, payload_notify_build(e->a, &notify));
	return rc < 0 ? (int)rc : 0;
}

/* ---- the PG's answer ------------------------------------------------------------------------- */

/* What a refund job's transaction works on. */
struct job_tx {
	struct arena *a;
	const struct outbox_claim *claim;
	const char *refund_public_id;
	bool done;                   /* complete (true) or release (false) */
	const char *code;
	const char *message;
	bool moved;                  /* out */
	bool lost;                   /* out: the outbox claim was gone */
	struct bus_batch jobs;       /* out */
};

/* Gives back what refund id reserved on its order. Returns 0, DB_ABORT (a guard refused) or
 * an enum db_rc. */
static int
unreserve(struct db *db, struct arena *a, int64_t refund_id, int64_t order_id, int64_t amount)
{
	struct order_line *lines;
	int64_t rc, n;
	size_t i;

	rc = db_exec(db, SQL_UNRESERVE_ORDER, "iii", amount, order_id, amount);
	if (rc <= 0)
		return rc < 0 ? (int)rc : DB_ABORT;
	n = refund_lines(db, a, refund_id, &lines);
	if (n < 0)
		return (int)n;
	for (i = 0; i < (size_t)n; i++) {
		int64_t q = lines[i].quantity;

		rc = db_exec(db, SQL_UNRESERVE_LINE, "iiii", q, order_id, lines[i].product_id, q);
		if (rc <= 0)
			return rc < 0 ? (int)rc : DB_ABORT;
	}
	return 0;
}

/* Moves the refund the job names and applies what that causes. */
static int
job_refund(struct db *db, struct job_tx *t)
{
	struct refunds_effects e;
	struct refunds_order o;
	struct db_res head;
	enum order_pay pay;
	int64_t rc, refund_id, order_id, amount;

	rc = db_query(db, t->a, &head, SQL_HEAD, "s", t->refund_public_id);
	if (rc <= 0 || orders_pay_parse(db_col_str(&head, 0, "pay_method"), &pay) != 0)
		return rc < 0 ? (int)rc : 0;
	refund_id = db_col_i64(&head, 0, "refund_id");
	order_id = db_col_i64(&head, 0, "order_id");
	amount = db_col_i64(&head, 0, "amount");
	/* The order first, as every refund transaction locks it. */
	rc = refunds_lock_order(db, t->a, order_id, 0, &o);
	if (rc < 0)
		return (int)rc;
	if (t->done)
		rc = rc == 1 ? db_exec(db, SQL_TO_DONE, "i", refund_id) : 0;
	else
		rc = db_exec(db, SQL_TO_FAILED, "ssi", t->code, t->message, refund_id);
	if (rc < 0)
		return (int)rc;
	t->moved = rc == 1;
	if (!t->moved)
		return 0;
	if (!t->done)
		return unreserve(db, t->a, refund_id, order_id, amount);
	memset(&e, 0, sizeof(e));
	e.a = t->a;
	e.order_id = order_id;
	e.order = &o;
	e.refund_id = refund_id;
	e.refund_public_id = t->refund_public_id;
	e.amount = amount;
	e.actor = ORDER_BY_WORKER;
	e.notify = true;
	e.jobs = &t->jobs;
	return refunds_done_effects(db, &e);
}

static int
job_tx_fn(struct db *db, void *arg)
{
	struct job_tx *t = arg;
	int64_t rc;

	t->moved = false;
	t->lost = false;  /* a refund's own DB_ABORT is no lost claim */
	bus_batch_clear(&t->jobs);
	if (t->refund_public_id != NULL) {
		rc = job_refund(db, t);
		if (rc != 0)
			return (int)rc;
	}
	return outbox_finish(db, t->claim, &t->lost);
}

static enum refunds_job_rc
job_run(struct db *db, struct job_tx *t)
{
	int rc = db_tx(db, job_tx_fn, t);

	if (rc == DB_ABORT && t->lost)
		return REFUNDS_JOB_LOST;
	if (rc != 0) {
		log_error(NULL, "refund %s: transaction failed (%d)",
		    t->refund_public_id != NULL ? t->refund_public_id : "-", rc);
		return REFUNDS_JOB_DB_FAILED;
	}
	return t->moved ? REFUNDS_JOB_DONE : REFUNDS_JOB_SKIPPED;
}

enum refunds_job_rc
refunds_complete(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *refund_public_id, struct bus_batch *jobs)
{
	struct job_tx t;
	enum refunds_job_rc rc;

	memset(&t, 0, sizeof(t));
	t.a = a;
	t.claim = claim;
	t.refund_public_id = refund_public_id;
	t.done = true;
	rc = job_run(db, &t);
	bus_batch_clear(jobs);
	if (rc == REFUNDS_JOB_DONE)
		*jobs = t.jobs;
	return rc;
}

enum refunds_job_rc
refunds_release(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *refund_public_id, const char *code, const char *message)
{
	struct job_tx t;

	memset(&t, 0, sizeof(t));
	t.a = a;
	t.claim = claim;
	t.refund_public_id = refund_public_id;
	t.done = false;
	t.code = refunds_cut_bytes(a, code, REFUNDS_FAIL_CODE_MAX);
	t.message = refunds_cut_bytes(a, message, REFUNDS_FAIL_MESSAGE_MAX);
	return job_run(db, &t);
}

enum refunds_job_rc
refunds_skip(struct db *db, const struct outbox_claim *claim)
{
	struct job_tx t;

	memset(&t, 0, sizeof(t));
	t.claim = claim;
	return job_run(db, &t);
}

/* ---- reconciliation ------------------------------------------------------------------------ */

struct record_tx {
	struct arena *a;
	int64_t order_id;
	int64_t amount;
	enum refunds_rc why;                  /* out, DB_ABORT: the refusal */
	char public_id[REFUNDS_ID_LEN + 1];   /* out */
	struct bus_batch jobs;                /* out */
};

/* The greedy choice of the top comment: whole units from the last line backwards. Returns the
 * number of lines chosen when they add up to exactly amount, else 0 (amount-only). */
static size_t
choose_for_amount(const struct refunds_line *lines, size_t nlines, int64_t amount,
    struct refunds_chosen *c)
{
	int64_t left = amount;
	size_t i, n = 0;

	for (i = nlines; i-- > 0 && left > 0;) {
		int64_t units = lines[i].quantity - lines[i].canceled;

		if (units <= 0 || lines[i].unit_price <= 0)
			continue;
		if (units > left / lines[i].unit_price)
			units = left / lines[i].unit_price;
		if (units == 0)
			continue;
		c[n].product_id = lines[i].product_id;
		c[n].quantity = units;
		c[n].amount = units * lines[i].unit_price;  /* <= left: cannot overflow */
		left -= c[n].amount;
		n++;
	}
	return left == 0 ? n : 0;
}

static int
record_tx_fn(struct db *db, void *arg)
{
	struct record_tx *t = arg;
	struct refunds_line *lines;
	struct refunds_effects e;
	struct refunds_order o;
	struct refunds_new n;
	int64_t rc, id;

	bus_batch_clear(&t->jobs);
	t->why = REFUNDS_WRONG_STATE;
	rc = refunds_lock_order(db, t->a, t->order_id, 0, &o);
	if (rc <= 0)
		return rc < 0 ? (int)rc : DB_ABORT;
	if (o.pay == ORDER_PAY_POINTS ||
	    (o.status != ORDER_PAID && o.status != ORDER_PARTIALLY_CANCELED))
		return DB_ABORT;
	t->why = REFUNDS_EXCEEDS;
	if (t->amount > o.amount - o.refunded)
		return DB_ABORT;
	rc = refunds_lock_lines(db, t->a, t->order_id, &lines);
	if (rc < 0)
		return (int)rc;
	memset(&n, 0, sizeof(n));
	n.lines = arena_alloc(t->a, ((size_t)rc + 1) * sizeof(*n.lines));
	n.nlines = choose_for_amount(lines, (size_t)rc, t->amount, n.lines);
	ids_new(t->public_id, sizeof(t->public_id));
	n.order_id = t->order_id;
	n.amount = t->amount;
	n.public_id = t->public_id;
	n.status = REFUND_DONE;
	n.reason = "PG에서 확인된 취소 (정산 대사)";
	n.actor = "reconcile";
	id = refunds_reserve(db, &n);
	if (id <= 0)
		return id < 0 ? (int)id : DB_ABORT;
	memset(&e, 0, sizeof(e));
	e.a = t->a;
	e.order_id = t->order_id;
	e.order = &o;
	e.refund_id = id;
	e.refund_public_id = t->public_id;
	e.amount = t->amount;
	e.actor = ORDER_BY_RECONCILE;
	e.notify = false;
	e.jobs = &t->jobs;
	t->why = REFUNDS_FAILED;
	return refunds_done_effects(db, &e);
}

enum refunds_rc
refunds_record_pg_cancel(struct db *db, struct arena *a, const char *order_public_id,
    int64_t amount, struct refund *out)
{
	struct record_tx t;
	struct order o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (amount < 1 || amount > MONEY_MAX)
		return REFUNDS_EXCEEDS;
	rc = orders_get(db, a, order_public_id, false, &o);
	if (rc < 0)
		return REFUNDS_FAILED;
	if (rc == 0)
		return REFUNDS_NOT_FOUND;
	memset(&t, 0, sizeof(t));
	t.a = a;
	t.order_id = o.id;
	t.amount = amount;
	rc = db_tx(db, record_tx_fn, &t);
	if (rc == DB_ABORT && t.why != REFUNDS_FAILED)
		return t.why;
	if (rc != 0) {
		log_error(NULL, "recording a PG cancel of order %s failed (%d)", o.public_id, rc);
		return REFUNDS_FAILED;
	}
	log_info(NULL, "refund %s of order %s recorded from the PG (%" PRId64 " won)", t.public_id,
	    o.public_id, amount);
	rc = refunds_get(db, a, t.public_id, out);
	out->jobs = t.jobs;  /* committed: the caller pushes them even when reloading failed */
	return rc == 1 ? REFUNDS_DONE : REFUNDS_FAILED;
}
