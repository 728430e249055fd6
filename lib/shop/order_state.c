/* order_state: the order state machine's table and the only code that moves an order, with
 * the effects of becoming PAID and the stock an order takes and gives back (see
 * order_state.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "shop/catalog.h"
#include "shop/ledger.h"
#include "shop/order_state.h"
#include "shop/orders.h"

/* The guarded UPDATE of each kind of move. Every one names the status it leaves. */
enum move_sql {
	MOVE_PLAIN,         /* the status only */
	MOVE_END,           /* ends an unpaid order: fail_code and fail_message set */
	MOVE_EXPIRE,        /* MOVE_END, only once expires_at has passed */
	MOVE_CONFIRM,       /* the payment key kept, amount checked, not expired: with its
	                     * timeline row, CALL jt_order_confirming (SQL_CONFIRMING) */
	MOVE_PAY,           /* paid_at now, the payment key kept, amount checked, failure cleared */
	MOVE_SQL__MAX
};

static const char *const move_sql[MOVE_SQL__MAX] = {
	[MOVE_PLAIN] =
	    "UPDATE orders SET status = ? WHERE id = ? AND status = ?",
	[MOVE_END] =
	    "UPDATE orders SET status = ?, fail_code = ?, fail_message = ?"
	    " WHERE id = ? AND status = ?",
	[MOVE_EXPIRE] =
	    "UPDATE orders SET status = ?, fail_code = ?, fail_message = ?"
	    " WHERE id = ? AND status = ? AND expires_at <= NOW(3)",
	[MOVE_PAY] =
	    "UPDATE orders SET status = ?, paid_at = NOW(3), payment_key = COALESCE(?, payment_key),"
	    " fail_code = NULL, fail_message = NULL WHERE id = ? AND status = ? AND amount = ?",
};

/* PENDING -> CONFIRMING: the guard, the timeline row and (with a payload) the job, in
 * jt_order_confirming (sql/020_order_confirming.sql), the move's one text:
 * (p_tx, order id, amount, payment key, actor, note, job kind, payload). */
static const char SQL_CONFIRMING[] = "CALL jt_order_confirming(?, ?, ?, ?, ?, ?, ?, ?)";
/* Its refusal when the guard matches nothing (SIGNAL's MESSAGE_TEXT). */
#define CONFIRMING_NOT_MATCHED "not matched"
static const char SQL_EVENT[] =
    "INSERT INTO order_events (order_id, from_status, to_status, actor, note)"
    " VALUES (?, ?, ?, ?, ?)";
static const char SQL_PAYMENT[] =
    "INSERT INTO payments (order_id, pg, payment_key, amount, status, approved_at, method)"
    " VALUES (?, ?, ?, ?, 'DONE', NULLIF(?, ''), NULLIF(?, ''))";
/* The batch's moves to PAID (order_state_paid_batch): one JSON array of [id, from_status,
 * amount, payment_key, note, pg, approved_at, method] per order feeds all three. */
#define PAID_ROWS \
    " JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]'," \
    " from_status VARCHAR(24) PATH '$[1]', amount BIGINT PATH '$[2]'," \
    " payment_key VARCHAR(200) PATH '$[3]', note VARCHAR(255) PATH '$[4]'," \
    " pg VARCHAR(16) PATH '$[5]', approved_at VARCHAR(40) PATH '$[6]'," \
    " method VARCHAR(32) PATH '$[7]')) AS j"
static const char SQL_PAY_MANY[] =
    "UPDATE orders o JOIN" PAID_ROWS " ON o.id = j.id"
    " SET o.status = ?, o.paid_at = NOW(3), o.payment_key = COALESCE(j.payment_key,"
    " o.payment_key), o.fail_code = NULL, o.fail_message = NULL"
    " WHERE o.status = j.from_status AND o.amount = j.amount";
static const char SQL_EVENTS_MANY[] =
    "INSERT INTO order_events (order_id, from_status, to_status, actor, note)"
    " SELECT j.id, j.from_status, ?, ?, j.note FROM" PAID_ROWS;
static const char SQL_PAYMENTS_MANY[] =
    "INSERT INTO payments (order_id, pg, payment_key, amount, status, approved_at, method)"
    " SELECT j.id, j.pg, j.payment_key, j.amount, 'DONE', NULLIF(j.approved_at, ''),"
    " NULLIF(j.method, '') FROM" PAID_ROWS;
/* The guarded take of each line's stock, in product-id order: jt_stock_take
 * (sql/019_checkout.sql), the one text of the rule, which jt_checkout calls too. */
static const char SQL_RESERVE[] = "CALL jt_stock_take(?)";
/* Its refusal (SIGNAL's MESSAGE_TEXT). */
#define RESERVE_SOLD_OUT "sold out"
static const char SQL_RELEASE[] =
    "UPDATE stock SET available = available + ? WHERE product_id = ?";

static const char *const actor_names[ORDER_ACTOR__MAX] = {
	[ORDER_BY_SHOPPER] = "shopper",
	[ORDER_BY_PG] = "pg",
	[ORDER_BY_WORKER] = "worker",
	[ORDER_BY_JANITOR] = "janitor",
	[ORDER_BY_RECONCILE] = "reconcile",
	[ORDER_BY_ADMIN] = "admin",
};

#define BY(a) (1u << (a))
/* Who may complete a refund: the shopper's or an admin's points refund at once, the refund
 * worker after the PG's yes, reconciliation recording a cancel the PG made. */
#define REFUNDERS (BY(ORDER_BY_SHOPPER) | BY(ORDER_BY_ADMIN) | BY(ORDER_BY_WORKER) | \
    BY(ORDER_BY_RECONCILE))
#define DECIDERS (BY(ORDER_BY_WORKER) | BY(ORDER_BY_RECONCILE))

/* The state machine: every move an order can make (docs/ARCHITECTURE.md draws it). */
static const struct transition {
	enum order_status from;
	enum order_status to;
	unsigned actors;            /* BY(actor) for each actor allowed */
	enum move_sql sql;
} transitions[] = {
	{ ORDER_PENDING, ORDER_CONFIRMING, BY(ORDER_BY_PG), MOVE_CONFIRM },
	{ ORDER_PENDING, ORDER_FAILED, BY(ORDER_BY_PG), MOVE_END },
	{ ORDER_PENDING, ORDER_CANCELED, BY(ORDER_BY_SHOPPER), MOVE_END },
	{ ORDER_PENDING, ORDER_EXPIRED, BY(ORDER_BY_JANITOR), MOVE_EXPIRE },
	{ ORDER_CONFIRMING, ORDER_PAID, DECIDERS, MOVE_PAY },
	{ ORDER_CONFIRMING, ORDER_FAILED, DECIDERS, MOVE_END },
	{ ORDER_CONFIRMING, ORDER_UNKNOWN, BY(ORDER_BY_WORKER), MOVE_PLAIN },
	{ ORDER_UNKNOWN, ORDER_PAID, DECIDERS, MOVE_PAY },
	{ ORDER_UNKNOWN, ORDER_FAILED, DECIDERS, MOVE_END },
	{ ORDER_FAILED, ORDER_PAID, BY(ORDER_BY_RECONCILE), MOVE_PAY },
	{ ORDER_EXPIRED, ORDER_PAID, BY(ORDER_BY_RECONCILE), MOVE_PAY },
	{ ORDER_PAID, ORDER_PARTIALLY_CANCELED, REFUNDERS, MOVE_PLAIN },
	{ ORDER_PAID, ORDER_CANCELED, REFUNDERS, MOVE_PLAIN },
	{ ORDER_PARTIALLY_CANCELED, ORDER_PARTIALLY_CANCELED, REFUNDERS, MOVE_PLAIN },
	{ ORDER_PARTIALLY_CANCELED, ORDER_CANCELED, REFUNDERS, MOVE_PLAIN },
};

const char *
order_state_actor_name(enum order_actor a)
{
	return (unsigned)a < ORDER_ACTOR__MAX ? actor_names[a] : "?";
}

/* The table's row for from -> to, or NULL. */
static const struct transition *
find(enum order_status from, enum order_status to)
{
	size_t i;

	for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].from == from && transitions[i].to == to)
			return &transitions[i];
	return NULL;
}

bool
order_state_allowed(enum order_status from, enum order_status to, enum order_actor actor)
{
	const struct transition *t = find(from, to);

	return t != NULL && (unsigned)actor < ORDER_ACTOR__MAX && (t->actors & BY(actor)) != 0;
}

/* Runs the row's guarded UPDATE. Returns the rows it matched or an enum db_rc. */
static int64_t
update(struct db *db, const struct transition *t, const struct order_move *m)
{
	const char *sql = move_sql[t->sql], *to = orders_status_name(m->to),
	    *from = orders_status_name(m->from);

	switch (t->sql) {
	case MOVE_END:
	case MOVE_EXPIRE:
		return db_exec(db, sql, "sssis", to, m->fail_code, m->fail_message, m->order_id, from);
	case MOVE_PAY:
		return db_exec(db, sql, "ssisi", to, m->payment_key, m->order_id, from, m->amount);
	case MOVE_PLAIN:
	default:
		return db_exec(db, sql, "sis", to, m->order_id, from);
	}
}

/* The enum order_state_rc or db_rc of a CALL of jt_order_confirming that answered rc. */
static int
confirming_rc(struct db *db, int64_t rc)
{
	if (rc == DB_REFUSED)
		return strcmp(db_error(db), CONFIRMING_NOT_MATCHED) == 0 ? ORDER_STATE_NOT_MATCHED :
		    DB_ERR;
	if (rc < 0)
		return (int)rc;
	return ORDER_STATE_MOVED;
}

int
order_state_move(struct db *db, const struct order_move *m)
{
	const struct transition *t = find(m->from, m->to);
	int64_t rc;

	if (t == NULL || !order_state_allowed(m->from, m->to, m->actor)) {
		log_error(NULL, "order %lld: %s -> %s by %s is not a move of the order state machine",
		    (long long)m->order_id, orders_status_name(m->from), orders_status_name(m->to),
		    order_state_actor_name(m->actor));
		return ORDER_STATE_REFUSED;
	}
	if (t->sql == MOVE_CONFIRM)  /* the procedure writes the timeline row too */
		return confirming_rc(db, db_exec(db, SQL_CONFIRMING, "iiisssss", (int64_t)0,
		    m->order_id, m->amount, m->payment_key, actor_names[m->actor], m->note, NULL,
		    NULL));
	rc = update(db, t, m);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return ORDER_STATE_NOT_MATCHED;
	rc = db_exec(db, SQL_EVENT, "issss", m->order_id, orders_status_name(m->from),
	    orders_status_name(m->to), actor_names[m->actor], m->note);
	return rc < 0 ? (int)rc : ORDER_STATE_MOVED;
}

int
order_state_confirming(struct db *db, struct arena *a, const struct order_move *m,
    enum job_kind kind, const char *payload, struct bus_batch *jobs)
{
	struct db_res res;
	int64_t rc;

	bus_batch_clear(jobs);
	if (m->from != ORDER_PENDING || m->to != ORDER_CONFIRMING ||
	    !order_state_allowed(m->from, m->to, m->actor)) {
		log_error(NULL, "order %lld: order_state_confirming is for the PG's PENDING ->"
		    " CONFIRMING only", (long long)m->order_id);
		return ORDER_STATE_REFUSED;
	}
	rc = db_tx1(db, a, &res, SQL_CONFIRMING, "iiisssss", (int64_t)1, m->order_id, m->amount,
	    m->payment_key, actor_names[m->actor], m->note, bus_kind_name(kind), payload);
	rc = confirming_rc(db, rc);
	if (rc != ORDER_STATE_MOVED)
		return (int)rc;
	bus_batch_add(jobs, db_res_i64(&res, 0, 0), kind);
	return ORDER_STATE_MOVED;
}

/* order_state_paid without the posting. Returns 0 or an enum db_rc. */
static int
paid_unposted(struct db *db, struct arena *a, const struct order *o,
    const struct order_payment *pay, struct bus_batch *jobs)
{
	struct payload_notify notify = { .order_id = o->public_id, .event = PAYLOAD_EVENT_PAID };
	int64_t rc;
	size_t i;

	if (pay != NULL) {
		rc = db_exec(db, SQL_PAYMENT, "ississ", o->id, pay->pg, pay->payment_key, o->amount,
		    pay->approved_at, pay->method);
		if (rc < 0 && rc != DB_DUP)  /* a duplicate: this approval is recorded already */
			return (int)rc;
	}
	for (i = 0; i < o->nlines; i++) {
		rc = catalog_sale_add(db, o->lines[i].product_id, o->lines[i].quantity);
		if (rc < 0)
			return (int)rc;
	}
	/* Both jobs in one statement: one round trip fewer inside the paying transaction. */
	rc = outbox_queue_many(db, a, (struct outbox_new[]){
		{ JOB_SETTLE, payload_order_build(a, o->public_id), jobs },
		{ JOB_NOTIFY, payload_notify_build(a, &notify), jobs } }, 2);
	return rc < 0 ? (int)rc : 0;
}

/* The JSON text of PAID_ROWS for *v[0..n). */
static const char *
paid_rows(struct arena *a, const struct order_paid_item *const *v, size_t n)
{
	struct json_object *rows = json_object_new_array(), *row;
	const struct order_payment *p;
	const char *text;
	size_t i;

	for (i = 0; i < n; i++) {
		p = &v[i]->pay;
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_int64(v[i]->o->id));
		json_object_array_add(row, json_object_new_string(orders_status_name(v[i]->o->status)));
		json_object_array_add(row, json_object_new_int64(v[i]->o->amount));
		json_object_array_add(row, p->payment_key != NULL ?
		    json_object_new_string(p->payment_key) : NULL);
		json_object_array_add(row, v[i]->note != NULL ? json_object_new_string(v[i]->note) :
		    NULL);
		json_object_array_add(row, json_object_new_string(p->pg));
		json_object_array_add(row, json_object_new_string(p->approved_at != NULL ?
		    p->approved_at : ""));
		json_object_array_add(row, json_object_new_string(p->method != NULL ? p->method : ""));
		json_object_array_add(rows, row);
	}
	text = arena_strdup(a, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
	json_object_put(rows);
	return text;
}

static int
by_order_id(const void *x, const void *y)
{
	const struct order_paid_item *p = *(const struct order_paid_item *const *)x;
	const struct order_paid_item *q = *(const struct order_paid_item *const *)y;

	return (p->o->id > q->o->id) - (p->o->id < q->o->id);
}

int
order_state_paid_batch(struct db *db, struct arena *a, struct order_paid_item *v, size_t n)
{
	struct payload_notify notify = { .event = PAYLOAD_EVENT_PAID };
	struct outbox_new *jobs = arena_alloc(a, 2 * n * sizeof(*jobs));
	const struct order_paid_item **sorted = arena_alloc(a, n * sizeof(*sorted));
	struct catalog_sale *sales;
	const char *rows;
	size_t i, k, nsales = 0;
	int64_t rc;

	for (i = 0; i < n; i++) {
		bus_batch_clear(v[i].jobs);
		if (!order_state_allowed(v[i].o->status, ORDER_PAID, ORDER_BY_WORKER))
			return ORDER_STATE_REFUSED;
		nsales += v[i].o->nlines;
	}
	/* In order-id order: the order the guarded UPDATE locks the rows in. */
	for (i = 0; i < n; i++)
		sorted[i] = &v[i];
	qsort(sorted, n, sizeof(*sorted), by_order_id);
	rows = paid_rows(a, sorted, n);
	rc = db_exec(db, SQL_PAY_MANY, "ss", rows, orders_status_name(ORDER_PAID));
	if (rc < 0)
		return (int)rc;
	if (rc != (int64_t)n)
		return ORDER_STATE_NOT_MATCHED;  /* the caller rolls back what did move */
	rc = db_exec(db, SQL_EVENTS_MANY, "sss", orders_status_name(ORDER_PAID),
	    actor_names[ORDER_BY_WORKER], rows);
	if (rc < 0)
		return (int)rc;
	rc = db_exec(db, SQL_PAYMENTS_MANY, "s", rows);
	if (rc < 0)
		return (int)rc;
	sales = arena_alloc(a, (nsales + 1) * sizeof(*sales));
	for (i = 0, nsales = 0; i < n; i++)
		for (k = 0; k < v[i].o->nlines; k++) {
			sales[nsales].product_id = v[i].o->lines[k].product_id;
			sales[nsales++].quantity = v[i].o->lines[k].quantity;
		}
	rc = catalog_sales_add_many(db, sales, nsales);
	if (rc < 0)
		return (int)rc;
	for (i = 0; i < n; i++) {
		notify.order_id = v[i].o->public_id;
		jobs[2 * i] = (struct outbox_new){ JOB_SETTLE,
			payload_order_build(a, v[i].o->public_id), v[i].jobs };
		jobs[2 * i + 1] = (struct outbox_new){ JOB_NOTIFY,
			payload_notify_build(a, &notify), v[i].jobs };
	}
	rc = outbox_queue_many(db, a, jobs, 2 * n);
	return rc < 0 ? (int)rc : ORDER_STATE_MOVED;
}

int
order_state_paid(struct db *db, struct arena *a, const struct order *o,
    const struct order_payment *pay, struct bus_batch *jobs, enum ledger_rc *ledger_rc)
{
	int rc;

	*ledger_rc = LEDGER_POSTED;
	rc = paid_unposted(db, a, o, pay, jobs);
	if (rc < 0)
		return rc;
	/* The posting last: the hot accounts' rows stay locked only until the commit. */
	*ledger_rc = ledger_post_paid(db, o->public_id, orders_pay_name(o->pay), o->user_id,
	    o->amount);
	if (*ledger_rc == LEDGER_POSTED || *ledger_rc == LEDGER_REPLAYED)
		return 0;
	log_error(NULL, "order %s: paid posting refused: %s", o->public_id,
	    ledger_rc_name(*ledger_rc));
	return *ledger_rc == LEDGER_DB_FAILED ? ledger_tx_rc(db, *ledger_rc) : DB_ABORT;
}

int
order_state_reserve(struct db *db, const struct order_line *lines, size_t n)
{
	struct buf json;
	int64_t rc;
	size_t i;

	buf_init(&json);
	buf_puts(&json, "[");
	for (i = 0; i < n; i++)
		buf_printf(&json, "%s[%" PRId64 ",%" PRId64 "]", i > 0 ? "," : "",
		    lines[i].product_id, (int64_t)lines[i].quantity - lines[i].canceled_quantity);
	buf_puts(&json, "]");
	rc = db_exec(db, SQL_RESERVE, "s", buf_cstr(&json));
	buf_release(&json);
	if (rc == DB_REFUSED)
		return strcmp(db_error(db), RESERVE_SOLD_OUT) == 0 ? 0 : DB_ERR;
	return rc < 0 ? (int)rc : 1;
}

/* The text of jt_stock_take's refusal. */
const char *
order_state_sold_out_text(void)
{
	return RESERVE_SOLD_OUT;
}

int
order_state_release(struct db *db, const struct order_line *lines, size_t n)
{
	int64_t rc, q;
	size_t i;

	for (i = 0; i < n; i++) {
		q = (int64_t)lines[i].quantity - lines[i].canceled_quantity;
		if (q <= 0)
			continue;
		rc = db_exec(db, SQL_RELEASE, "ii", q, lines[i].product_id);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}
