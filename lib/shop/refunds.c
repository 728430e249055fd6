/* refunds: reserving refunds of paid orders: a shopper's or an admin's request (see
 * refunds.h), and what the other files of the module share (refunds_impl.h).
 *
 * Every refund of an order starts by locking the order row (SELECT ... FOR UPDATE), so the
 * refunds of one order are decided one after another: the idempotency key is looked up, the
 * lines are chosen and the guarded UPDATEs run under that lock. The guarded UPDATEs would
 * refuse an over-refund even without it (refunded_amount + amount <= amount, canceled_quantity
 * + quantity <= quantity); the lock makes the answer precise (a replayed key finds its first
 * refund instead of "nothing left") and keeps the lock order fixed: order, lines, stock,
 * users, ledger accounts. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "shop/audit.h"
#include "shop/fulfilment.h"
#include "shop/orders.h"
#include "shop/refunds.h"
#include "shop/refunds_impl.h"

static const char SQL_LOCK_ORDER[] =
    "SELECT status, pay_method, amount, refunded_amount, user_id, public_id,"
    " paid_at IS NOT NULL AND paid_at >= NOW(3) - INTERVAL ? DAY AS in_window"
    " FROM orders WHERE id = ? FOR UPDATE";
static const char SQL_BY_KEY[] =
    "SELECT id, whole, public_id FROM refunds WHERE order_id = ? AND idem_key = ?";
static const char SQL_KEY_LINES[] =
    "SELECT product_id, quantity FROM refund_lines WHERE refund_id = ?";
static const char SQL_LOCK_LINES[] =
    "SELECT product_id, unit_price, quantity, canceled_quantity FROM order_lines"
    " WHERE order_id = ? ORDER BY product_id FOR UPDATE";
static const char SQL_RESERVE_ORDER[] =
    "UPDATE orders SET refunded_amount = refunded_amount + ?"
    " WHERE id = ? AND status IN ('PAID','PARTIALLY_CANCELED') AND refunded_amount + ? <= amount";
static const char SQL_RESERVE_LINE[] =
    "UPDATE order_lines SET canceled_quantity = canceled_quantity + ?"
    " WHERE order_id = ? AND product_id = ? AND canceled_quantity + ? <= quantity";
static const char SQL_INSERT_REFUND[] =
    "INSERT INTO refunds (public_id, order_id, amount, status, reason, actor, idem_key, whole,"
    " done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, IF(? = 'DONE', NOW(3), NULL))";
static const char SQL_INSERT_LINE[] =
    "INSERT INTO refund_lines (refund_id, product_id, quantity, amount) VALUES (?, ?, ?, ?)";

/* ---- names --------------------------------------------------------------------------------- */

const char *const refunds_status_names[REFUND_STATUS__MAX] = { "REQUESTED", "DONE", "FAILED" };

static const struct db_field locked_order_fields[] = {
	DB_ENUM(struct refunds_order, status, "status", orders_status_names, ORDER_STATUS__MAX),
	DB_ENUM(struct refunds_order, pay, "pay_method", orders_pay_names, ORDER_PAY__MAX),
	DB_FIELD(struct refunds_order, amount, DB_F_I64, "amount"),
	DB_FIELD(struct refunds_order, refunded, DB_F_I64, "refunded_amount"),
	DB_FIELD(struct refunds_order, user_id, DB_F_I64, "user_id"),
	DB_FIELD(struct refunds_order, public_id, DB_F_CHARS, "public_id"),
	DB_FIELD(struct refunds_order, in_window, DB_F_BOOL, "in_window"),
	DB_FIELDS_END,
};

static const struct db_field locked_line_fields[] = {
	DB_FIELD(struct refunds_line, product_id, DB_F_I64, "product_id"),
	DB_FIELD(struct refunds_line, unit_price, DB_F_I64, "unit_price"),
	DB_FIELD(struct refunds_line, quantity, DB_F_I64, "quantity"),
	DB_FIELD(struct refunds_line, canceled, DB_F_I64, "canceled_quantity"),
	DB_FIELDS_END,
};

static const char *const rc_names[REFUNDS_RC__MAX] = {
	"accepted", "done", "replayed", "key_reused", "not_found", "wrong_state", "too_late",
	"shipped", "exceeds", "bad_line", "failed",
};

static const char *const job_rc_names[REFUNDS_JOB__MAX] = { "done", "skipped", "lost", "db_failed" };

/* How each outcome is answered (refunds_rc_answer). */
static const struct {
	int status;
	const char *code;
	const char *message;
} answers[REFUNDS_RC__MAX] = {
	[REFUNDS_ACCEPTED]    = { 202, NULL, NULL },
	[REFUNDS_DONE]        = { 200, NULL, NULL },
	[REFUNDS_REPLAYED]    = { 200, NULL, NULL },
	[REFUNDS_KEY_REUSED]  = { 422, "IDEMPOTENCY_KEY_REUSED", "이미 다른 환불 요청에 사용된 멱등성 키입니다." },
	[REFUNDS_NOT_FOUND]   = { 404, "ORDER_NOT_FOUND", "주문을 찾을 수 없습니다." },
	[REFUNDS_WRONG_STATE] = { 409, "REFUND_NOT_ALLOWED", "결제가 완료된 주문만 환불할 수 있습니다." },
	[REFUNDS_TOO_LATE]    = { 409, "REFUND_PERIOD_OVER",
	                          "환불 가능 기간이 지났습니다. 고객센터에 문의해 주세요." },
	[REFUNDS_SHIPPED]     = { 409, "ALREADY_SHIPPED",
	                          "이미 배송이 시작된 주문입니다. 받으신 뒤 반품을 신청해 주세요." },
	[REFUNDS_EXCEEDS]     = { 409, "REFUND_EXCEEDS_BALANCE",
	                          "환불할 수 있는 수량이나 금액을 넘었습니다." },
	[REFUNDS_BAD_LINE]    = { 400, "REFUND_LINES_INVALID",
	                          "환불할 상품이 주문에 없거나 수량이 올바르지 않습니다." },
	[REFUNDS_FAILED]      = { 500, "REFUND_FAILED",
	                          "환불을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요." },
};

/* Most lines one request may name (the handlers allow far fewer). */
#define LINES_MAX 1000
/* Longest idempotency key (the column). */
#define KEY_MAX 64

const char *
refunds_status_name(enum refund_status s)
{
	return (unsigned)s < REFUND_STATUS__MAX ? refunds_status_names[s] : "?";
}

const char *
refunds_rc_name(enum refunds_rc rc)
{
	return (unsigned)rc < REFUNDS_RC__MAX ? rc_names[rc] : "?";
}

const char *
refunds_job_rc_name(enum refunds_job_rc rc)
{
	return (unsigned)rc < REFUNDS_JOB__MAX ? job_rc_names[rc] : "?";
}

void
refunds_rc_answer(enum refunds_rc rc, int *status, const char **code, const char **message)
{
	if ((unsigned)rc >= REFUNDS_RC__MAX)
		rc = REFUNDS_FAILED;
	*status = answers[rc].status;
	*code = answers[rc].code;
	*message = answers[rc].message;
}

const char *
refunds_cut_bytes(struct arena *a, const char *s, size_t max)
{
	return s != NULL ? arena_strndup(a, s, valid_utf8_cut_bytes(s, max)) : NULL;
}

/* The first max_chars characters of s (a copy in a), or NULL when s is NULL, empty or not
 * valid UTF-8. */
static const char *
cut_chars(struct arena *a, const char *s, size_t max_chars)
{
	if (s == NULL || *s == '\0' || !valid_utf8(s, strlen(s)))
		return NULL;
	return arena_strndup(a, s, valid_utf8_cut_chars(s, max_chars));
}

/* ---- shared by the module's transactions ------------------------------------------------- */

int
refunds_lock_order(struct db *db, struct arena *a, int64_t order_id, int shopper_days,
    struct refunds_order *out)
{
	struct db_res res;
	int64_t n;

	memset(out, 0, sizeof(*out));
	n = db_query(db, a, &res, SQL_LOCK_ORDER, "ii", (int64_t)(shopper_days > 0 ?
	    shopper_days : 0), order_id);
	if (n <= 0)
		return (int)n;
	return db_res_map(&res, 0, locked_order_fields, out) == 0 ? 1 : 0;
}

int64_t
refunds_lock_lines(struct db *db, struct arena *a, int64_t order_id, struct refunds_line **out)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_LOCK_LINES, "i", order_id);
	if (n < 0)
		return n;
	*out = arena_alloc(a, ((size_t)n + 1) * sizeof(**out));
	for (i = 0; i < (size_t)n; i++)
		if (db_res_map(&res, i, locked_line_fields, &(*out)[i]) != 0)
			return DB_ERR;
	return n;
}

static int
cmp_chosen(const void *x, const void *y)
{
	const struct refunds_chosen *a = x, *b = y;

	return (a->product_id > b->product_id) - (a->product_id < b->product_id);
}

int64_t
refunds_reserve(struct db *db, const struct refunds_new *n)
{
	const char *status = refunds_status_names[n->status];
	int64_t rc, id;
	size_t i;

	rc = db_exec(db, SQL_RESERVE_ORDER, "iii", n->amount, n->order_id, n->amount);
	if (rc <= 0)
		return rc;
	qsort(n->lines, n->nlines, sizeof(*n->lines), cmp_chosen);
	for (i = 0; i < n->nlines; i++) {
		rc = db_exec(db, SQL_RESERVE_LINE, "iiii", n->lines[i].quantity, n->order_id,
		    n->lines[i].product_id, n->lines[i].quantity);
		if (rc <= 0)
			return rc;
	}
	rc = db_exec(db, SQL_INSERT_REFUND, "siissssis", n->public_id, n->order_id, n->amount,
	    status, n->reason, n->actor, n->key, (int64_t)(n->whole ? 1 : 0), status);
	if (rc < 0)
		return rc;
	id = db_last_insert_id(db);
	for (i = 0; i < n->nlines; i++) {
		rc = db_exec(db, SQL_INSERT_LINE, "iiii", id, n->lines[i].product_id,
		    n->lines[i].quantity, n->lines[i].amount);
		if (rc < 0)
			return rc;
	}
	return id;
}

/* ---- a request -------------------------------------------------------------------------------- */

struct request_tx {
	const struct refunds_req *req;
	struct arena *a;
	int64_t order_id;
	bool points;                 /* the order was paid with points: DONE at once */
	const char *reason;
	const char *actor;
	/* out */
	enum refunds_rc why;         /* DB_ABORT: the refusal, or the key's replay */
	char public_id[REFUNDS_ID_LEN + 1];
	char replay_public_id[REFUNDS_ID_LEN + 1];
	struct bus_batch jobs;
};

/* Ends the transaction with why: DB_ABORT (nothing written). */
static int
refuse(struct request_tx *t, enum refunds_rc why)
{
	t->why = why;
	return DB_ABORT;
}

/* The key was used on this order before: REFUNDS_REPLAYED when its refund asked for the
 * same lines, REFUNDS_KEY_REUSED otherwise (t->replay_public_id names it), REFUNDS_ACCEPTED
 * when the key is new; REFUNDS_FAILED (*rc the enum db_rc) when the database failed. */
static enum refunds_rc
check_key(struct db *db, struct request_tx *t, int *rc)
{
	const struct refunds_req *req = t->req;
	struct db_res res;
	int64_t n, id;
	bool whole;
	size_t i, j;

	n = db_query(db, t->a, &res, SQL_BY_KEY, "is", t->order_id, req->key);
	*rc = n < 0 ? (int)n : 0;
	if (n <= 0)
		return n < 0 ? REFUNDS_FAILED : REFUNDS_ACCEPTED;
	id = db_col_i64(&res, 0, "id");
	snprintf(t->replay_public_id, sizeof(t->replay_public_id), "%s",
	    db_col_str(&res, 0, "public_id"));
	whole = db_col_i64(&res, 0, "whole") == 1;
	if (whole || req->nlines == 0)
		return whole && req->nlines == 0 ? REFUNDS_REPLAYED : REFUNDS_KEY_REUSED;
	n = db_query(db, t->a, &res, SQL_KEY_LINES, "i", id);
	*rc = n < 0 ? (int)n : 0;
	if (n < 0)
		return REFUNDS_FAILED;
	if ((size_t)n != req->nlines)
		return REFUNDS_KEY_REUSED;
	for (i = 0; i < req->nlines; i++) {
		for (j = 0; j < (size_t)n; j++)
			if (db_col_i64(&res, j, "product_id") == req->lines[i].product_id)
				break;
		if (j == (size_t)n || db_col_i64(&res, j, "quantity") != req->lines[i].quantity)
			return REFUNDS_KEY_REUSED;
	}
	return REFUNDS_REPLAYED;
}

/* Appends to c[*n] line l of the order, q units of it, adding its amount to *sum. Returns 0
 * or -1 when the amounts overflow. */
static int
choose(struct refunds_chosen *c, size_t *n, const struct refunds_line *l, int64_t q,
    int64_t *sum)
{
	c[*n].product_id = l->product_id;
	c[*n].quantity = q;
	if (money_mul(l->unit_price, q, &c[*n].amount) != 0 ||
	    money_add(*sum, c[*n].amount, sum) != 0)
		return -1;
	(*n)++;
	return 0;
}

/* Chooses what req cancels from the locked lines: its own lines, or everything left (whole).
 * Stores them in *out (*nout) with their sum in *sum. Returns REFUNDS_ACCEPTED,
 * REFUNDS_BAD_LINE or REFUNDS_EXCEEDS. */
static enum refunds_rc
choose_lines(struct arena *a, const struct refunds_req *req, const struct refunds_line *lines,
    size_t nlines, struct refunds_chosen **out, size_t *nout, int64_t *sum)
{
	struct refunds_chosen *c = arena_alloc(a, (nlines + req->nlines + 1) * sizeof(*c));
	size_t i, j, n = 0;

	*sum = 0;
	for (i = 0; req->nlines == 0 && i < nlines; i++) {
		if (lines[i].quantity - lines[i].canceled > 0 &&
		    choose(c, &n, &lines[i], lines[i].quantity - lines[i].canceled, sum) != 0)
			return REFUNDS_EXCEEDS;
	}
	for (i = 0; i < req->nlines; i++) {
		for (j = 0; j < nlines; j++)
			if (lines[j].product_id == req->lines[i].product_id)
				break;
		if (j == nlines)
			return REFUNDS_BAD_LINE;
		if (req->lines[i].quantity > lines[j].quantity - lines[j].canceled ||
		    choose(c, &n, &lines[j], req->lines[i].quantity, sum) != 0)
			return REFUNDS_EXCEEDS;
	}
	*out = c;
	*nout = n;
	return REFUNDS_ACCEPTED;
}

/* The admin's request audited as "refund.request" in its transaction: before {"status",
 * "refundedAmount"} of the order under the lock, after the refund as written with "full". */
static int
audit_request(struct db *db, const struct request_tx *t, const struct refunds_order *o,
    const struct refunds_new *n)
{
	struct json_object *before = json_object_new_object(), *after = json_object_new_object();
	struct json_object *lines = json_object_new_array();
	size_t i;
	int rc;

	json_object_object_add(before, "status", json_object_new_string(
	    orders_status_name(o->status)));
	json_object_object_add(before, "refundedAmount", json_object_new_int64(o->refunded));
	json_object_object_add(after, "refundId", json_object_new_string(n->public_id));
	json_object_object_add(after, "orderId", json_object_new_string(o->public_id));
	json_object_object_add(after, "amount", json_object_new_int64(n->amount));
	json_object_object_add(after, "status", json_object_new_string(
	    refunds_status_names[n->status]));
	json_object_object_add(after, "reason",
	    n->reason != NULL ? json_object_new_string(n->reason) : NULL);
	for (i = 0; i < n->nlines; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "productId", json_object_new_int64(n->lines[i].product_id));
		json_object_object_add(x, "quantity", json_object_new_int64(n->lines[i].quantity));
		json_object_object_add(x, "amount", json_object_new_int64(n->lines[i].amount));
		json_object_array_add(lines, x);
	}
	json_object_object_add(after, "lines", lines);
	json_object_object_add(after, "full", json_object_new_boolean(n->whole));
	rc = audit_record_json(db, t->req->admin_id, "refund.request",
	    arena_printf(t->a, "order:%s", o->public_id), before, after);
	json_object_put(before);
	json_object_put(after);
	return rc;
}

/* What a reserved refund causes: the PG cancel queued, or (points) the refund done at once. */
static int
after_reserve(struct db *db, struct request_tx *t, const struct refunds_order *o,
    const struct refunds_new *n, int64_t id)
{
	struct refunds_effects e;
	int64_t rc;

	if (!t->points) {
		rc = outbox_queue(db, &t->jobs, JOB_REFUND, payload_refund_build(t->a, t->public_id));
		return rc < 0 ? (int)rc : 0;
	}
	memset(&e, 0, sizeof(e));
	e.a = t->a;
	e.order_id = t->order_id;
	e.order = o;
	e.refund_id = id;
	e.refund_public_id = t->public_id;
	e.amount = n->amount;
	e.actor = t->req->user_id > 0 ? ORDER_BY_SHOPPER : ORDER_BY_ADMIN;
	e.notify = true;
	e.jobs = &t->jobs;
	return refunds_done_effects(db, &e);
}

static int
request_tx_fn(struct db *db, void *arg)
{
	struct request_tx *t = arg;
	const struct refunds_req *req = t->req;
	struct refunds_line *lines;
	struct refunds_order o;
	struct refunds_new n;
	enum refunds_rc why;
	int64_t id;
	int rc = 0;

	bus_batch_clear(&t->jobs);
	id = refunds_lock_order(db, t->a, t->order_id, req->shopper_days, &o);
	if (id <= 0)
		return id < 0 ? (int)id : refuse(t, REFUNDS_WRONG_STATE);
	why = req->key != NULL ? check_key(db, t, &rc) : REFUNDS_ACCEPTED;
	if (rc < 0)
		return rc;
	if (why != REFUNDS_ACCEPTED)
		return refuse(t, why);
	if (o.status != ORDER_PAID && o.status != ORDER_PARTIALLY_CANCELED)
		return refuse(t, REFUNDS_WRONG_STATE);
	if (req->user_id > 0 && (req->shopper_days <= 0 || !o.in_window))
		return refuse(t, REFUNDS_TOO_LATE);
	if (req->user_id > 0) {
		/* Read under the order's lock: a ship waits for it, so none slips in between. */
		rc = fulfilment_started(db, t->order_id);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return refuse(t, REFUNDS_SHIPPED);
	}

	memset(&n, 0, sizeof(n));
	id = refunds_lock_lines(db, t->a, t->order_id, &lines);
	if (id < 0)
		return (int)id;
	why = choose_lines(t->a, req, lines, (size_t)id, &n.lines, &n.nlines, &n.amount);
	if (why != REFUNDS_ACCEPTED)
		return refuse(t, why);
	if (req->nlines == 0)
		n.amount = o.amount - o.refunded;  /* everything left, amount-only refunds included */
	if (n.amount <= 0 || n.amount > o.amount - o.refunded)
		return refuse(t, REFUNDS_EXCEEDS);

	ids_new(t->public_id, sizeof(t->public_id));
	n.order_id = t->order_id;
	n.public_id = t->public_id;
	n.status = t->points ? REFUND_DONE : REFUND_REQUESTED;
	n.reason = t->reason;
	n.actor = t->actor;
	n.key = req->key;
	n.whole = req->nlines == 0;
	id = refunds_reserve(db, &n);
	if (id <= 0)
		return id < 0 ? (int)id : refuse(t, REFUNDS_EXCEEDS);
	t->why = REFUNDS_FAILED;  /* a DB_ABORT from here on is a failure */
	rc = after_reserve(db, t, &o, &n, id);
	if (rc != 0)
		return rc;
	return req->admin_id > 0 ? audit_request(db, t, &o, &n) : 0;
}

/* True when req's lines are well formed: at most LINES_MAX, ids and quantities positive, no
 * product twice. */
static bool
lines_ok(const struct refunds_req *req)
{
	size_t i, j;

	if (req->nlines > LINES_MAX || (req->nlines > 0 && req->lines == NULL))
		return false;
	for (i = 0; i < req->nlines; i++) {
		if (req->lines[i].product_id < 1 || req->lines[i].quantity < 1)
			return false;
		for (j = 0; j < i; j++)
			if (req->lines[j].product_id == req->lines[i].product_id)
				return false;
	}
	return true;
}

/* Loads the refund a transaction wrote (or found) into *out and answers ok, or
 * REFUNDS_FAILED when it cannot be read back. */
static enum refunds_rc
load_written(struct db *db, struct arena *a, const char *public_id, enum refunds_rc ok,
    struct refund *out)
{
	if (refunds_get(db, a, public_id, out) != 1)
		return REFUNDS_FAILED;
	return ok;
}

enum refunds_rc
refunds_request(struct db *db, struct arena *a, const struct refunds_req *req,
    struct refund *out)
{
	struct request_tx t;
	struct order o;
	enum refunds_rc rrc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!lines_ok(req) || (req->key != NULL && !valid_token(req->key, 1, KEY_MAX)))
		return REFUNDS_BAD_LINE;
	if (req->user_id <= 0 && req->admin_id <= 0)
		return REFUNDS_NOT_FOUND;  /* nobody asked: refuse rather than guess */
	rc = orders_get(db, a, req->order_public_id, false, &o);
	if (rc < 0)
		return REFUNDS_FAILED;
	if (rc == 0 || (req->user_id > 0 && o.user_id != req->user_id))
		return REFUNDS_NOT_FOUND;

	memset(&t, 0, sizeof(t));
	t.req = req;
	t.a = a;
	t.order_id = o.id;
	t.points = o.pay == ORDER_PAY_POINTS;
	t.reason = cut_chars(a, req->reason, REFUNDS_REASON_MAX);
	t.actor = req->user_id > 0 ? "shopper" : arena_printf(a, "admin:%" PRId64, req->admin_id);
	rc = db_tx(db, request_tx_fn, &t);
	if (rc == DB_ABORT && (t.why == REFUNDS_REPLAYED || t.why == REFUNDS_KEY_REUSED))
		return load_written(db, a, t.replay_public_id, t.why, out);  /* as it is now */
	if (rc == DB_ABORT)
		return t.why;
	if (rc != 0) {
		log_error(NULL, "refund of order %s failed (%d)", o.public_id, rc);
		return REFUNDS_FAILED;
	}
	rrc = load_written(db, a, t.public_id, t.points ? REFUNDS_DONE : REFUNDS_ACCEPTED, out);
	/* The jobs are pushed by the caller even when reloading failed: they are committed. */
	out->jobs = t.jobs;
	if (rrc == REFUNDS_FAILED)
		log_error(NULL, "refund %s committed but not reloaded", t.public_id);
	log_info(NULL, "refund %s of order %s: %s", t.public_id, o.public_id,
	    refunds_rc_name(rrc));
	return rrc;
}
