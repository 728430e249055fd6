/* orders: loading and listing orders, the PG's returns and ready call, cancel and expiry
 * (see orders.h); checkout is orders_create.c, every status change a move of
 * lib/shop/order_state. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/valid.h"
#include "clients/pg.h"
#include "clients/pggate.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "shop/order_state.h"
#include "shop/orders.h"

static const char SQL_BY_CHECKOUT_KEY[] =
    "SELECT public_id FROM orders WHERE user_id = ? AND checkout_key = ?";

#define ORDER_COLUMNS \
    "SELECT id, public_id, user_id, status, pay_method, amount, refunded_amount, order_name," \
    " item_count, payment_key, pg_redirect_url, fail_code, fail_message," \
    " DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s') AS expires_at," \
    " DATE_FORMAT(paid_at, '%Y-%m-%d %H:%i:%s') AS paid_at," \
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at FROM orders"
static const char SQL_GET[] = ORDER_COLUMNS " WHERE public_id = ?";
static const char SQL_LIST[] = ORDER_COLUMNS " WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
static const char SQL_LINES[] =
    "SELECT product_id, seller_id, name, unit_price, quantity, canceled_quantity, amount"
    " FROM order_lines WHERE order_id = ? ORDER BY product_id";
/* Several orders and their lines (orders_get_lines_many): the ids as a JSON array. */
static const char SQL_GET_MANY[] = ORDER_COLUMNS
    " JOIN JSON_TABLE(?, '$[*]' COLUMNS (pid CHAR(24) CHARACTER SET ascii COLLATE ascii_bin"
    " PATH '$')) AS j ON public_id = j.pid";
static const char SQL_LINES_MANY[] =
    "SELECT order_id, product_id, seller_id, name, unit_price, quantity, canceled_quantity,"
    " amount FROM order_lines JOIN JSON_TABLE(?, '$[*]' COLUMNS (oid BIGINT UNSIGNED PATH '$'))"
    " AS j ON order_id = j.oid ORDER BY order_id, product_id";
static const char SQL_EVENTS[] =
    "SELECT from_status, to_status, actor, note,"
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at"
    " FROM order_events WHERE order_id = ? ORDER BY id";
static const char SQL_REACHED_CONFIRMING[] =
    "SELECT 1 FROM order_events WHERE order_id = ? AND to_status = 'CONFIRMING' LIMIT 1";
/* KakaoPay's ready answer on a PENDING order: not a status change. */
static const char SQL_SET_READY[] =
    "UPDATE orders SET payment_key = ?, pg_redirect_url = ?"
    " WHERE id = ? AND status = 'PENDING' AND payment_key IS NULL";
static const char SQL_DUE[] =
    "SELECT public_id FROM orders WHERE status = 'PENDING' AND expires_at <= NOW(3)"
    " ORDER BY expires_at LIMIT ?";

const char *const orders_status_names[ORDER_STATUS__MAX] = {
	"PENDING", "CONFIRMING", "PAID", "FAILED", "UNKNOWN", "EXPIRED", "CANCELED",
	"PARTIALLY_CANCELED",
};

const char *const orders_pay_names[ORDER_PAY__MAX] = { "points", "toss", "kakaopay" };

static const struct db_field order_fields[] = {
	DB_FIELD(struct order, id, DB_F_I64, "id"),
	DB_FIELD(struct order, public_id, DB_F_CHARS, "public_id"),
	DB_FIELD(struct order, user_id, DB_F_I64, "user_id"),
	DB_ENUM(struct order, status, "status", orders_status_names, ORDER_STATUS__MAX),
	DB_ENUM(struct order, pay, "pay_method", orders_pay_names, ORDER_PAY__MAX),
	DB_FIELD(struct order, amount, DB_F_I64, "amount"),
	DB_FIELD(struct order, refunded_amount, DB_F_I64, "refunded_amount"),
	DB_FIELD(struct order, order_name, DB_F_STR, "order_name"),
	DB_FIELD(struct order, item_count, DB_F_INT, "item_count"),
	DB_FIELD(struct order, payment_key, DB_F_STR, "payment_key"),
	DB_FIELD(struct order, pg_redirect_url, DB_F_STR, "pg_redirect_url"),
	DB_FIELD(struct order, fail_code, DB_F_STR, "fail_code"),
	DB_FIELD(struct order, fail_message, DB_F_STR, "fail_message"),
	DB_FIELD(struct order, expires_at, DB_F_STR, "expires_at"),
	DB_FIELD(struct order, paid_at, DB_F_STR, "paid_at"),
	DB_FIELD(struct order, created_at, DB_F_STR, "created_at"),
	DB_FIELDS_END,
};

static const struct db_field line_fields[] = {
	DB_FIELD(struct order_line, product_id, DB_F_I64, "product_id"),
	DB_FIELD(struct order_line, seller_id, DB_F_I64, "seller_id"),
	DB_FIELD(struct order_line, name, DB_F_STR, "name"),
	DB_FIELD(struct order_line, unit_price, DB_F_I64, "unit_price"),
	DB_FIELD(struct order_line, quantity, DB_F_INT, "quantity"),
	DB_FIELD(struct order_line, canceled_quantity, DB_F_INT, "canceled_quantity"),
	DB_FIELD(struct order_line, amount, DB_F_I64, "amount"),
	DB_FIELDS_END,
};

static const struct db_field event_fields[] = {
	DB_FIELD(struct order_event, from, DB_F_STR, "from_status"),
	DB_FIELD(struct order_event, to, DB_F_STR, "to_status"),
	DB_FIELD(struct order_event, actor, DB_F_STR, "actor"),
	DB_FIELD(struct order_event, note, DB_F_STR, "note"),
	DB_FIELD(struct order_event, at, DB_F_STR, "created_at"),
	DB_FIELDS_END,
};

const char *
orders_status_name(enum order_status s)
{
	return (unsigned)s < ORDER_STATUS__MAX ? orders_status_names[s] : "?";
}

int
orders_status_parse(const char *s, enum order_status *out)
{
	int i;

	for (i = 0; s != NULL && i < ORDER_STATUS__MAX; i++) {
		if (strcmp(s, orders_status_names[i]) == 0) {
			*out = (enum order_status)i;
			return 0;
		}
	}
	return -1;
}

const char *
orders_pay_name(enum order_pay p)
{
	return (unsigned)p < ORDER_PAY__MAX ? orders_pay_names[p] : "?";
}

int
orders_pay_parse(const char *s, enum order_pay *out)
{
	int i;

	for (i = 0; s != NULL && i < ORDER_PAY__MAX; i++) {
		if (strcmp(s, orders_pay_names[i]) == 0) {
			*out = (enum order_pay)i;
			return 0;
		}
	}
	return -1;
}

bool
orders_status_final(enum order_status s)
{
	return s == ORDER_PAID || s == ORDER_FAILED || s == ORDER_EXPIRED || s == ORDER_CANCELED ||
	    s == ORDER_PARTIALLY_CANCELED;
}

/* ---- loading ------------------------------------------------------------------------- */

/* Loads the lines of *o. Returns 0 or an enum db_rc. */
static int
load_lines(struct db *db, struct arena *a, struct order *o)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_LINES, "i", o->id);
	if (n < 0)
		return (int)n;
	o->nlines = (size_t)n;
	if (db_res_map_rows(&res, a, line_fields, sizeof(*o->lines), (void **)&o->lines) < 0)
		return DB_ERR;
	return 0;
}

/* Loads the lines and the timeline of *o. Returns 0 or an enum db_rc. */
static int
load_details(struct db *db, struct arena *a, struct order *o)
{
	struct db_res res;
	int64_t n;
	int rc;

	rc = load_lines(db, a, o);
	if (rc < 0)
		return rc;
	n = db_query(db, a, &res, SQL_EVENTS, "i", o->id);
	if (n < 0)
		return (int)n;
	o->nevents = (size_t)n;
	n = db_res_map_rows(&res, a, event_fields, sizeof(*o->events), (void **)&o->events);
	return n < 0 ? (int)n : 0;
}

/* The order row of public_id into *out. Returns 1, 0 unknown or malformed id, or an enum
 * db_rc. */
static int
load_row(struct db *db, struct arena *a, const char *public_id, struct order *out)
{
	struct db_res res;
	int64_t n;

	if (public_id == NULL || strlen(public_id) != ORDERS_ID_LEN ||
	    !valid_token(public_id, ORDERS_ID_LEN, ORDERS_ID_LEN))
		return 0;
	n = db_query(db, a, &res, SQL_GET, "s", public_id);
	if (n <= 0)
		return (int)n;
	memset(out, 0, sizeof(*out));
	if (db_res_map(&res, 0, order_fields, out) != 0)
		return DB_ERR;  /* a stored enum this program does not know */
	return 1;
}

int
orders_get_lines(struct db *db, struct arena *a, const char *public_id, struct order *out)
{
	int rc = load_row(db, a, public_id, out);

	if (rc != 1)
		return rc;
	rc = load_lines(db, a, out);
	return rc < 0 ? rc : 1;
}

int
orders_get_lines_many(struct db *db, struct arena *a, const char *const *public_ids, size_t n,
    struct order *out, int *found)
{
	struct json_object *ids = json_object_new_array();
	struct order *rows = NULL;
	struct order_line *lines = NULL;
	struct db_res res;
	int64_t nrows, nl, k, *line_order;
	size_t i, j;

	for (i = 0; i < n; i++) {
		found[i] = 0;
		memset(&out[i], 0, sizeof(out[i]));
		json_object_array_add(ids, json_object_new_string(public_ids[i] != NULL ?
		    public_ids[i] : ""));
	}
	nrows = db_query(db, a, &res, SQL_GET_MANY, "s",
	    arena_strdup(a, json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN)));
	json_object_put(ids);
	if (nrows < 0)
		return (int)nrows;
	if (db_res_map_rows(&res, a, order_fields, sizeof(*rows), (void **)&rows) < 0)
		return DB_ERR;
	ids = json_object_new_array();
	for (k = 0; k < nrows; k++) {
		for (i = 0; i < n; i++)
			if (public_ids[i] != NULL && strcmp(public_ids[i], rows[k].public_id) == 0) {
				out[i] = rows[k];
				found[i] = 1;
			}
		json_object_array_add(ids, json_object_new_int64(rows[k].id));
	}
	nl = db_query(db, a, &res, SQL_LINES_MANY, "s",
	    arena_strdup(a, json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN)));
	json_object_put(ids);
	if (nl < 0)
		return (int)nl;
	if (db_res_map_rows(&res, a, line_fields, sizeof(*lines), (void **)&lines) < 0)
		return DB_ERR;
	line_order = arena_alloc(a, ((size_t)nl + 1) * sizeof(*line_order));
	for (k = 0; k < nl; k++)
		line_order[k] = db_col_i64(&res, (size_t)k, "order_id");
	/* The lines come sorted by order: each order's run of them, in product order. */
	for (i = 0; i < n; i++) {
		if (!found[i])
			continue;
		for (k = 0; k < nl && line_order[k] != out[i].id; k++)
			;
		out[i].lines = k < nl ? &lines[k] : NULL;
		for (j = 0; k < nl && line_order[k] == out[i].id; k++)
			j++;
		out[i].nlines = j;
	}
	return 0;
}

int
orders_get(struct db *db, struct arena *a, const char *public_id, bool details, struct order *out)
{
	int rc = load_row(db, a, public_id, out);

	if (rc != 1)
		return rc;
	if (details) {
		rc = load_details(db, a, out);
		if (rc < 0)
			return rc;
	}
	return 1;
}

int64_t
orders_list(struct db *db, struct arena *a, int64_t user_id, int64_t before_id, size_t limit,
    struct order **out)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_LIST, "iii", user_id, before_id > 0 ? before_id : INT64_MAX,
	    (int64_t)limit);
	if (n < 0)
		return n;
	return db_res_map_rows(&res, a, order_fields, sizeof(**out), (void **)out);
}

int
orders_by_checkout_key(struct db *db, struct arena *a, int64_t user_id, const char *key,
    struct order *out)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_BY_CHECKOUT_KEY, "is", user_id, key);
	if (n <= 0)
		return (int)n;
	return orders_get(db, a, db_res_str(&res, 0, 0), true, out);
}

/* ---- the PG's returns ----------------------------------------------------------------- */

/* The payment.confirm job of a PG return: everything the confirm worker needs, so it never
 * has to trust a browser again. */
static const char *
confirm_payload(struct arena *a, const struct order *o, const struct orders_pg_return *ret)
{
	struct payload_confirm job;

	job.order_id = o->public_id;
	job.pg = orders_pay_names[o->pay];
	job.amount = o->amount;
	job.payment_key = ret->payment_key != NULL ? ret->payment_key : o->payment_key;
	job.pg_token = ret->pg_token;
	job.user_ref = arena_printf(a, "%" PRId64, o->user_id);
	return payload_confirm_build(a, &job);
}

/* How a PG return that found the order no longer PENDING is answered: a replay of a return
 * that got through (the attempt reached CONFIRMING with this key) is ORDERS_ALREADY. */
static enum orders_move_rc
classify_late_return(struct db *db, struct arena *a, const struct order *o,
    const struct orders_pg_return *ret)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_REACHED_CONFIRMING, "i", o->id);
	if (n < 0)
		return ORDERS_MOVE_FAILED;
	if (n == 0)
		return ORDERS_WRONG_STATE;
	if (ret->payment_key != NULL &&
	    (o->payment_key == NULL || strcmp(o->payment_key, ret->payment_key) != 0))
		return ORDERS_WRONG_STATE;
	return ORDERS_ALREADY;
}

enum orders_move_rc
orders_pg_returned(struct db *db, struct arena *a, const struct orders_pg_return *ret,
    struct order *out)
{
	struct order_move m;
	struct bus_batch jobs;
	int rc;

	rc = orders_get_lines(db, a, ret->public_id, out);
	if (rc < 0)
		return ORDERS_MOVE_FAILED;
	if (rc == 0 || out->user_id != ret->user_id)
		return ORDERS_NOT_FOUND;
	if (out->pay != ret->pay)
		return ORDERS_TAMPERED;
	if (out->status != ORDER_PENDING)
		return classify_late_return(db, a, out, ret);
	if (ret->pay == ORDER_PAY_TOSS && (ret->amount != out->amount || ret->payment_key == NULL))
		return ORDERS_TAMPERED;
	if (ret->pay == ORDER_PAY_KAKAOPAY && (out->payment_key == NULL || ret->pg_token == NULL))
		return ORDERS_WRONG_STATE;  /* no ready call was made for it: nothing to approve */

	/* One round trip: the move, its timeline row and the confirm job (order_state). */
	memset(&m, 0, sizeof(m));
	m.order_id = out->id;
	m.from = ORDER_PENDING;
	m.to = ORDER_CONFIRMING;
	m.actor = ORDER_BY_PG;
	m.amount = out->amount;
	m.payment_key = ret->payment_key;
	bus_batch_clear(&jobs);
	rc = order_state_confirming(db, a, &m, JOB_PAYMENT_CONFIRM, confirm_payload(a, out, ret),
	    &jobs);
	if (rc == ORDER_STATE_NOT_MATCHED || rc == DB_GONE) {
		/* Moved by someone else in between (a replay racing this one), or expired; or the
		 * connection broke and the row tells whether the move was made. */
		if (orders_get_lines(db, a, ret->public_id, out) != 1)
			return ORDERS_MOVE_FAILED;
		if (out->status == ORDER_PENDING)  /* past expires_at: the janitor expires it */
			return rc == DB_GONE ? ORDERS_MOVE_FAILED : ORDERS_WRONG_STATE;
		return classify_late_return(db, a, out, ret);
	}
	if (rc != ORDER_STATE_MOVED)
		return ORDERS_MOVE_FAILED;
	/* The row as the transaction left it, without reading it back. */
	out->status = ORDER_CONFIRMING;
	if (ret->payment_key != NULL)
		out->payment_key = arena_strdup(a, ret->payment_key);
	out->jobs = jobs;
	return ORDERS_MOVED;
}

bool
orders_pay_enabled(const struct conf *c, enum order_pay p)
{
	switch (p) {
	case ORDER_PAY_POINTS:
		return true;
	case ORDER_PAY_TOSS:
		return pg_enabled(c, PG_TOSS);
	case ORDER_PAY_KAKAOPAY:
		return pg_enabled(c, PG_KAKAOPAY);
	default:
		return false;
	}
}

bool
orders_pg_back_canceled(enum order_pay pay, const char *code)
{
	return pay == ORDER_PAY_TOSS && pg_toss_return_canceled(code);
}

enum orders_move_rc
orders_pg_ready(struct db *db, struct arena *a, const struct conf *c,
    const struct orders_return_urls *urls, struct order *o)
{
	struct pg_result res;
	struct pg_ready_req rq;
	enum orders_move_rc mrc;
	int64_t rc;

	memset(&rq, 0, sizeof(rq));
	rq.order_id = o->public_id;
	rq.user_ref = arena_printf(a, "%" PRId64, o->user_id);
	rq.order_name = o->order_name;
	rq.quantity = o->item_count;
	rq.amount = o->amount;
	rq.approval_url = urls->approval;
	rq.cancel_url = urls->cancel;
	rq.fail_url = urls->fail;
	if (pggate_ready(pggate_get(c, PG_KAKAOPAY, PGGATE_PAY), &rq, &res) &&
	    res.outcome == PG_OK && res.payment_key[0] != '\0' && res.redirect_url[0] != '\0') {
		rc = db_exec(db, SQL_SET_READY, "ssi", res.payment_key, res.redirect_url, o->id);
		if (rc < 0 || orders_get(db, a, o->public_id, true, o) != 1)
			return ORDERS_MOVE_FAILED;
		return rc == 1 ? ORDERS_MOVED : ORDERS_ALREADY;
	}
	log_warn(NULL, "order %s: KakaoPay ready failed: %s %ld %s", o->public_id,
	    pg_outcome_name(res.outcome), res.http_status, res.code);
	mrc = orders_abandon(db, a, o->public_id, 0, ORDER_FAILED, ORDER_BY_PG, "PG_READY_FAILED",
	    "결제 준비 실패", o);
	return mrc == ORDERS_MOVE_FAILED ? ORDERS_MOVE_FAILED : ORDERS_WRONG_STATE;
}

/* ---- ending an unpaid order ------------------------------------------------------------ */

struct abandon_tx {
	const struct order *o;
	struct order_move m;
};

static int
abandon_tx_fn(struct db *db, void *arg)
{
	struct abandon_tx *t = arg;
	int rc = order_state_move(db, &t->m);

	if (rc != ORDER_STATE_MOVED)
		return rc < 0 ? rc : DB_ABORT;
	return order_state_release(db, t->o->lines, t->o->nlines);
}

enum orders_move_rc
orders_abandon(struct db *db, struct arena *a, const char *public_id, int64_t user_id,
    enum order_status to, enum order_actor actor, const char *code, const char *message,
    struct order *out)
{
	struct abandon_tx t;
	struct order local;
	struct order *o = out != NULL ? out : &local;
	int rc;

	if (!order_state_allowed(ORDER_PENDING, to, actor))
		return ORDERS_WRONG_STATE;
	rc = orders_get(db, a, public_id, true, o);
	if (rc < 0)
		return ORDERS_MOVE_FAILED;
	if (rc == 0 || (user_id > 0 && o->user_id != user_id))
		return ORDERS_NOT_FOUND;
	if (o->status == to)
		return ORDERS_ALREADY;
	if (o->status != ORDER_PENDING)
		return ORDERS_WRONG_STATE;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.m.order_id = o->id;
	t.m.from = ORDER_PENDING;
	t.m.to = to;
	t.m.actor = actor;
	t.m.note = message;
	t.m.fail_code = code;
	t.m.fail_message = message;
	rc = db_tx(db, abandon_tx_fn, &t);
	if (rc != 0 && rc != DB_ABORT)
		return ORDERS_MOVE_FAILED;
	if (orders_get(db, a, public_id, true, o) != 1)
		return ORDERS_MOVE_FAILED;
	if (rc == DB_ABORT)
		return o->status == to ? ORDERS_ALREADY : ORDERS_WRONG_STATE;
	return ORDERS_MOVED;
}

int64_t
orders_expire_due(struct db *db, struct arena *a, size_t max)
{
	struct db_res res;
	int64_t n, done = 0;
	size_t i;

	n = db_query(db, a, &res, SQL_DUE, "i", (int64_t)max);
	if (n < 0)
		return n;
	for (i = 0; i < (size_t)n; i++) {
		enum orders_move_rc rc = orders_abandon(db, a, db_res_str(&res, i, 0), 0, ORDER_EXPIRED,
		    ORDER_BY_JANITOR, "EXPIRED", "결제 시간이 지나 주문이 만료되었습니다.", NULL);

		if (rc == ORDERS_MOVED)
			done++;
		else if (rc == ORDERS_MOVE_FAILED)
			return done > 0 ? done : DB_ERR;
	}
	return done;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static struct json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
orders_json(const struct order *o)
{
	struct json_object *j = json_object_new_object();
	struct json_object *failure = NULL;
	size_t i;

	json_object_object_add(j, "orderId", json_object_new_string(o->public_id));
	json_object_object_add(j, "status", json_object_new_string(orders_status_names[o->status]));
	json_object_object_add(j, "final", json_object_new_boolean(orders_status_final(o->status)));
	json_object_object_add(j, "payMethod", json_object_new_string(orders_pay_names[o->pay]));
	json_object_object_add(j, "amount", json_object_new_int64(o->amount));
	json_object_object_add(j, "refundedAmount", json_object_new_int64(o->refunded_amount));
	json_object_object_add(j, "orderName", json_object_new_string(o->order_name));
	json_object_object_add(j, "itemCount", json_object_new_int(o->item_count));
	json_object_object_add(j, "createdAt", str_or_null(o->created_at));
	json_object_object_add(j, "paidAt", str_or_null(o->paid_at));
	json_object_object_add(j, "expiresAt", str_or_null(o->expires_at));
	if (o->fail_code != NULL) {
		failure = json_object_new_object();
		json_object_object_add(failure, "code", json_object_new_string(o->fail_code));
		json_object_object_add(failure, "message", str_or_null(o->fail_message));
	}
	json_object_object_add(j, "failure", failure);
	if (o->lines != NULL) {
		struct json_object *lines = json_object_new_array();

		for (i = 0; i < o->nlines; i++) {
			const struct order_line *l = &o->lines[i];
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "productId", json_object_new_int64(l->product_id));
			json_object_object_add(x, "name", json_object_new_string(l->name));
			json_object_object_add(x, "unitPrice", json_object_new_int64(l->unit_price));
			json_object_object_add(x, "quantity", json_object_new_int(l->quantity));
			json_object_object_add(x, "canceledQuantity",
			    json_object_new_int(l->canceled_quantity));
			json_object_object_add(x, "amount", json_object_new_int64(l->amount));
			json_object_array_add(lines, x);
		}
		json_object_object_add(j, "lines", lines);
	}
	if (o->events != NULL) {
		struct json_object *events = json_object_new_array();

		for (i = 0; i < o->nevents; i++) {
			const struct order_event *e = &o->events[i];
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "from", str_or_null(e->from));
			json_object_object_add(x, "to", json_object_new_string(e->to));
			json_object_object_add(x, "actor", json_object_new_string(e->actor));
			json_object_object_add(x, "note", str_or_null(e->note));
			json_object_object_add(x, "at", json_object_new_string(e->at));
			json_object_array_add(events, x);
		}
		json_object_object_add(j, "events", events);
	}
	return j;
}

/* How each payment method is named to shoppers (mails, 알림톡). */
static const char *const pay_labels[ORDER_PAY__MAX] = { "포인트", "토스페이먼츠", "카카오페이" };

const char *
orders_pay_label(enum order_pay p)
{
	return (unsigned)p < ORDER_PAY__MAX ? pay_labels[p] : "-";
}
