/* orderview: the admin console's read-only queries over orders (see orderview.h). */
#include <string.h>

#include "base/arena.h"
#include "infra/db.h"
#include "shop/orderview.h"

/* The search: a NULL (or 0) parameter switches its condition off. One text per sort (an ORDER
 * BY cannot be a parameter); the columns are the same in each. */
#define SQL_SEARCH_BODY \
    "SELECT o.id, o.public_id, o.status, o.pay_method, o.amount, o.refunded_amount," \
    " o.order_name, DATE_FORMAT(o.created_at, '%Y-%m-%d %H:%i:%s'), u.id, u.email," \
    " u.name" \
    " FROM orders o JOIN users u ON u.id = o.user_id" \
    " WHERE (? IS NULL OR o.public_id = ?)" \
    " AND (? = 0 OR o.id = ?)" \
    " AND (? IS NULL OR (o.created_at >= ? AND o.created_at < DATE_ADD(?, INTERVAL 1 DAY)))" \
    " AND (? = 0 OR o.user_id = ?)" \
    " AND (? IS NULL OR u.email = ?)" \
    " AND (? IS NULL OR o.status = ?)" \
    " AND (? IS NULL OR o.created_at >= ?)" \
    " AND (? IS NULL OR o.created_at < DATE_ADD(?, INTERVAL 1 DAY))" \
    " AND (? IS NULL OR o.pay_method = ?)" \
    " AND (? = 0 OR o.id < ?)"
static const struct {
	const char *name;
	const char *sql;
} sorts[ORDERVIEW_SORT__MAX] = {
	[ORDERVIEW_NEWEST] = { "new", SQL_SEARCH_BODY " ORDER BY o.id DESC LIMIT ? OFFSET ?" },
	[ORDERVIEW_OLDEST] = { "old", SQL_SEARCH_BODY " ORDER BY o.id ASC LIMIT ? OFFSET ?" },
	[ORDERVIEW_AMOUNT_DESC] = { "amount_desc",
	    SQL_SEARCH_BODY " ORDER BY o.amount DESC, o.id DESC LIMIT ? OFFSET ?" },
	[ORDERVIEW_AMOUNT_ASC] = { "amount_asc",
	    SQL_SEARCH_BODY " ORDER BY o.amount ASC, o.id DESC LIMIT ? OFFSET ?" },
};
enum {
	SEARCH_ID, SEARCH_PUBLIC_ID, SEARCH_STATUS, SEARCH_PAY_METHOD, SEARCH_AMOUNT,
	SEARCH_REFUNDED, SEARCH_ORDER_NAME, SEARCH_CREATED_AT, SEARCH_USER_ID, SEARCH_EMAIL,
	SEARCH_USER_NAME
};

static const char SQL_PAYMENT[] =
    "SELECT pg, payment_key, amount, status, approved_at, method,"
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM payments WHERE order_id = ?";
enum {
	PAYMENT_PG, PAYMENT_KEY, PAYMENT_AMOUNT, PAYMENT_STATUS, PAYMENT_APPROVED_AT,
	PAYMENT_METHOD, PAYMENT_CREATED_AT
};

const char *
orderview_sort_name(enum orderview_sort s)
{
	return (unsigned)s < ORDERVIEW_SORT__MAX ? sorts[s].name : sorts[ORDERVIEW_NEWEST].name;
}

int
orderview_sort_parse(const char *name, enum orderview_sort *out)
{
	int i;

	for (i = 0; i < ORDERVIEW_SORT__MAX; i++) {
		if (strcmp(name, sorts[i].name) == 0) {
			*out = (enum orderview_sort)i;
			return 0;
		}
	}
	return -1;
}

int64_t
orderview_search(struct db *db, struct arena *a, const struct orderview_query *q,
    size_t limit, struct orderview_row **out)
{
	const char *status = q->status < ORDER_STATUS__MAX ? orders_status_name(q->status) : NULL;
	struct orderview_row *rows;
	struct db_res res;
	int64_t n;
	size_t i;
	const char *sql = sorts[(unsigned)q->sort < ORDERVIEW_SORT__MAX ? q->sort :
	    ORDERVIEW_NEWEST].sql;

	*out = NULL;
	n = db_query(db, a, &res, sql, "ssiisssiissssssssssiiii",
	    q->public_id, q->public_id, q->id, q->id, q->created_day, q->created_day,
	    q->created_day, q->user_id, q->user_id, q->email, q->email, status, status,
	    q->from_day, q->from_day, q->to_day, q->to_day, q->pay_method, q->pay_method,
	    q->before_id, q->before_id, (int64_t)limit, q->offset);
	if (n < 0)
		return n;
	rows = arena_alloc(a, (res.nrows > 0 ? res.nrows : 1) * sizeof(*rows));
	for (i = 0; i < res.nrows; i++) {
		struct orderview_row *o = &rows[i];

		o->id = db_res_i64(&res, i, SEARCH_ID);
		o->public_id = db_res_str(&res, i, SEARCH_PUBLIC_ID);
		o->status = db_res_str(&res, i, SEARCH_STATUS);
		o->pay_method = db_res_str(&res, i, SEARCH_PAY_METHOD);
		o->amount = db_res_i64(&res, i, SEARCH_AMOUNT);
		o->refunded_amount = db_res_i64(&res, i, SEARCH_REFUNDED);
		o->order_name = db_res_str(&res, i, SEARCH_ORDER_NAME);
		o->created_at = db_res_str(&res, i, SEARCH_CREATED_AT);
		o->user_id = db_res_i64(&res, i, SEARCH_USER_ID);
		o->email = db_res_str(&res, i, SEARCH_EMAIL);
		o->user_name = db_res_str(&res, i, SEARCH_USER_NAME);
	}
	*out = rows;
	return (int64_t)res.nrows;
}

int
orderview_payment(struct db *db, struct arena *a, int64_t order_id,
    struct orderview_payment *out)
{
	struct db_res res;
	int64_t n;

	memset(out, 0, sizeof(*out));
	n = db_query(db, a, &res, SQL_PAYMENT, "i", order_id);
	if (n <= 0)
		return (int)n;
	out->pg = db_res_str(&res, 0, PAYMENT_PG);
	out->payment_key = db_res_str(&res, 0, PAYMENT_KEY);
	out->amount = db_res_i64(&res, 0, PAYMENT_AMOUNT);
	out->status = db_res_str(&res, 0, PAYMENT_STATUS);
	out->approved_at = db_res_str(&res, 0, PAYMENT_APPROVED_AT);
	out->method = db_res_str(&res, 0, PAYMENT_METHOD);
	out->created_at = db_res_str(&res, 0, PAYMENT_CREATED_AT);
	return 1;
}
