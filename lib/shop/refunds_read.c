/* refunds_read: loading refunds (an order's, one by id, a refund job's task) and their JSON
 * (see refunds.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/valid.h"
#include "infra/db.h"
#include "shop/orders.h"
#include "shop/refunds.h"
#include "shop/refunds_impl.h"

#define REFUND_COLUMNS \
    "SELECT r.id AS id, r.public_id AS public_id, o.public_id AS order_public_id," \
    " r.amount AS amount, r.status AS status, r.reason AS reason, r.actor AS actor," \
    " r.fail_code AS fail_code, DATE_FORMAT(r.created_at, '%Y-%m-%d %H:%i:%s') AS created_at," \
    " DATE_FORMAT(r.done_at, '%Y-%m-%d %H:%i:%s') AS done_at, r.order_id AS order_id" \
    " FROM refunds r JOIN orders o ON o.id = r.order_id"
static const char SQL_OF_ORDER[] = REFUND_COLUMNS " WHERE r.order_id = ? ORDER BY r.id";
static const char SQL_BY_PUBLIC[] = REFUND_COLUMNS " WHERE r.public_id = ?";
static const char SQL_LINES_OF_ORDER[] =
    "SELECT rl.refund_id, rl.product_id, ol.name, rl.quantity, rl.amount FROM refund_lines rl"
    " JOIN refunds r ON r.id = rl.refund_id"
    " JOIN order_lines ol ON ol.order_id = r.order_id AND ol.product_id = rl.product_id"
    " WHERE r.order_id = ? ORDER BY rl.refund_id, rl.product_id";
/* Not once a parcel left: the shopper's way back is then a return (lib/shop/fulfilment.c). */
static const char SQL_SHOPPER_MAY[] =
    "SELECT 1 FROM orders o WHERE o.id = ? AND o.status IN ('PAID','PARTIALLY_CANCELED')"
    " AND o.refunded_amount < o.amount AND o.paid_at >= NOW(3) - INTERVAL ? DAY"
    " AND NOT EXISTS (SELECT 1 FROM order_deliveries d WHERE d.order_id = o.id"
    " AND d.status <> 'PREPARING')";
static const char SQL_TASK[] =
    "SELECT r.id AS refund_id, r.public_id AS public_id, o.public_id AS order_public_id,"
    " r.status AS status, o.pay_method AS pg,"
    " COALESCE(p.payment_key, o.payment_key) AS payment_key, r.amount AS amount,"
    " o.amount AS order_amount, r.reason AS reason,"
    " (SELECT COALESCE(SUM(d.amount), 0) FROM refunds d"
    "   WHERE d.order_id = r.order_id AND d.status = 'DONE') AS done_sum,"
    " (SELECT COUNT(*) FROM refunds w"
    "   WHERE w.order_id = r.order_id AND w.status = 'REQUESTED' AND w.id < r.id)"
    "   AS older_requested"
    " FROM refunds r JOIN orders o ON o.id = r.order_id"
    " LEFT JOIN payments p ON p.order_id = o.id WHERE r.public_id = ?";

static const struct db_field refund_fields[] = {
	DB_FIELD(struct refund, id, DB_F_I64, "id"),
	DB_FIELD(struct refund, public_id, DB_F_CHARS, "public_id"),
	DB_FIELD(struct refund, order_public_id, DB_F_STR, "order_public_id"),
	DB_FIELD(struct refund, amount, DB_F_I64, "amount"),
	DB_ENUM(struct refund, status, "status", refunds_status_names, REFUND_STATUS__MAX),
	DB_FIELD(struct refund, reason, DB_F_STR, "reason"),
	DB_FIELD(struct refund, actor, DB_F_STR, "actor"),
	DB_FIELD(struct refund, fail_code, DB_F_STR, "fail_code"),
	DB_FIELD(struct refund, created_at, DB_F_STR, "created_at"),
	DB_FIELD(struct refund, done_at, DB_F_STR, "done_at"),
	DB_FIELDS_END,
};

static const struct db_field line_fields[] = {
	DB_FIELD(struct refund_line, product_id, DB_F_I64, "product_id"),
	DB_FIELD(struct refund_line, name, DB_F_STR, "name"),
	DB_FIELD(struct refund_line, quantity, DB_F_INT, "quantity"),
	DB_FIELD(struct refund_line, amount, DB_F_I64, "amount"),
	DB_FIELDS_END,
};

static const struct db_field task_fields[] = {
	DB_FIELD(struct refunds_task, refund_id, DB_F_I64, "refund_id"),
	DB_FIELD(struct refunds_task, public_id, DB_F_CHARS, "public_id"),
	DB_FIELD(struct refunds_task, order_public_id, DB_F_CHARS, "order_public_id"),
	DB_ENUM(struct refunds_task, status, "status", refunds_status_names, REFUND_STATUS__MAX),
	DB_FIELD(struct refunds_task, pg, DB_F_STR, "pg"),
	DB_FIELD(struct refunds_task, payment_key, DB_F_STR, "payment_key"),
	DB_FIELD(struct refunds_task, amount, DB_F_I64, "amount"),
	DB_FIELD(struct refunds_task, reason, DB_F_STR, "reason"),
	DB_FIELD(struct refunds_task, older_requested, DB_F_I64, "older_requested"),
	DB_FIELDS_END,
};

/* True when id is a well-formed refund public id. */
static bool
id_ok(const char *id)
{
	return id != NULL && strlen(id) == REFUNDS_ID_LEN &&
	    valid_token(id, REFUNDS_ID_LEN, REFUNDS_ID_LEN);
}

/* Attaches the lines of order order_id's refunds to the n refunds in rs. 0 or an enum db_rc. */
static int
attach_lines(struct db *db, struct arena *a, int64_t order_id, struct refund *rs, size_t n)
{
	struct db_res res;
	int64_t m;
	size_t i, j, k;

	m = db_query(db, a, &res, SQL_LINES_OF_ORDER, "i", order_id);
	if (m < 0)
		return (int)m;
	for (i = 0; i < n; i++) {
		size_t count = 0;

		for (j = 0; j < (size_t)m; j++)
			if (db_col_i64(&res, j, "refund_id") == rs[i].id)
				count++;
		rs[i].lines = arena_alloc(a, (count + 1) * sizeof(*rs[i].lines));
		for (j = 0, k = 0; j < (size_t)m; j++) {
			if (db_col_i64(&res, j, "refund_id") != rs[i].id)
				continue;
			if (db_res_map(&res, j, line_fields, &rs[i].lines[k++]) != 0)
				return DB_ERR;
		}
		rs[i].nlines = count;
	}
	return 0;
}

int64_t
refunds_of_order(struct db *db, struct arena *a, int64_t order_id, struct refund **out)
{
	struct db_res res;
	int64_t n;
	int rc;

	n = db_query(db, a, &res, SQL_OF_ORDER, "i", order_id);
	if (n < 0)
		return n;
	if (db_res_map_rows(&res, a, refund_fields, sizeof(**out), (void **)out) < 0)
		return DB_ERR;  /* a status this program does not know */
	if (n == 0)
		return 0;
	rc = attach_lines(db, a, order_id, *out, (size_t)n);
	return rc < 0 ? rc : n;
}

int
refunds_get(struct db *db, struct arena *a, const char *refund_public_id, struct refund *out)
{
	struct db_res res;
	int64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id_ok(refund_public_id))
		return 0;
	n = db_query(db, a, &res, SQL_BY_PUBLIC, "s", refund_public_id);
	if (n <= 0)
		return (int)n;
	if (db_res_map(&res, 0, refund_fields, out) != 0)
		return DB_ERR;
	rc = attach_lines(db, a, db_col_i64(&res, 0, "order_id"), out, 1);
	return rc < 0 ? rc : 1;
}

int
refunds_shopper_may(struct db *db, struct arena *a, int64_t order_id, int shopper_days)
{
	struct db_res res;
	int64_t n;

	if (shopper_days <= 0)
		return 0;
	n = db_query(db, a, &res, SQL_SHOPPER_MAY, "ii", order_id, (int64_t)shopper_days);
	return n < 0 ? (int)n : n > 0;
}

int
refunds_task_get(struct db *db, struct arena *a, const char *refund_public_id,
    struct refunds_task *out)
{
	struct db_res res;
	int64_t n;

	memset(out, 0, sizeof(*out));
	if (!id_ok(refund_public_id))
		return 0;
	n = db_query(db, a, &res, SQL_TASK, "s", refund_public_id);
	if (n <= 0)
		return (int)n;
	if (db_res_map(&res, 0, task_fields, out) != 0)
		return DB_ERR;
	out->cancelable = db_col_i64(&res, 0, "order_amount") - db_col_i64(&res, 0, "done_sum");
	return 1;
}

/* ---- output ----------------------------------------------------------------------------------- */

static struct json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
refunds_json(const struct refund *r)
{
	struct json_object *j = json_object_new_object();
	struct json_object *lines = json_object_new_array();
	size_t i;

	json_object_object_add(j, "refundId", json_object_new_string(r->public_id));
	json_object_object_add(j, "orderId", str_or_null(r->order_public_id));
	json_object_object_add(j, "amount", json_object_new_int64(r->amount));
	json_object_object_add(j, "status", json_object_new_string(refunds_status_name(r->status)));
	json_object_object_add(j, "reason", str_or_null(r->reason));
	json_object_object_add(j, "actor", str_or_null(r->actor));
	json_object_object_add(j, "failCode", str_or_null(r->fail_code));
	json_object_object_add(j, "createdAt", str_or_null(r->created_at));
	json_object_object_add(j, "doneAt", str_or_null(r->done_at));
	for (i = 0; i < r->nlines; i++) {
		const struct refund_line *l = &r->lines[i];
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "productId", json_object_new_int64(l->product_id));
		json_object_object_add(x, "name", str_or_null(l->name));
		json_object_object_add(x, "quantity", json_object_new_int(l->quantity));
		json_object_object_add(x, "amount", json_object_new_int64(l->amount));
		json_object_array_add(lines, x);
	}
	json_object_object_add(j, "lines", lines);
	return j;
}
