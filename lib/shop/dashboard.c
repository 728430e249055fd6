/* dashboard: today's order counts and revenue for the admin console (see dashboard.h). */
#include <string.h>

#include "base/log.h"
#include "base/money.h"
#include "infra/db.h"
#include "shop/dashboard.h"

static const char SQL_ORDERS_TODAY[] =
    "SELECT status, COUNT(*) FROM orders WHERE created_at >= CURDATE() GROUP BY status";
enum { ORDERS_TODAY_STATUS, ORDERS_TODAY_COUNT };

static const char SQL_REVENUE_TODAY[] =
    "SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(refunded_amount), 0)"
    " FROM orders WHERE paid_at >= CURDATE()";
enum { REVENUE_ORDERS, REVENUE_PAID, REVENUE_REFUNDED };

int
dashboard_orders_today(struct db *db, struct arena *a, int64_t counts[ORDER_STATUS__MAX])
{
	struct db_res res;
	enum order_status s;
	int64_t n;
	size_t i;

	memset(counts, 0, sizeof(counts[0]) * ORDER_STATUS__MAX);
	n = db_query(db, a, &res, SQL_ORDERS_TODAY, "");
	if (n < 0)
		return (int)n;
	for (i = 0; i < res.nrows; i++) {
		if (orders_status_parse(db_res_str(&res, i, ORDERS_TODAY_STATUS), &s) == 0)
			counts[s] = db_res_i64(&res, i, ORDERS_TODAY_COUNT);
	}
	return 0;
}

int
dashboard_revenue_today(struct db *db, struct arena *a, struct dashboard_revenue *out)
{
	struct db_res res;
	int64_t n;

	memset(out, 0, sizeof(*out));
	n = db_query(db, a, &res, SQL_REVENUE_TODAY, "");
	if (n < 0)
		return (int)n;
	if (n != 1)
		return DB_ERR;
	out->orders = db_res_i64(&res, 0, REVENUE_ORDERS);
	out->paid = db_res_i64(&res, 0, REVENUE_PAID);
	out->refunded = db_res_i64(&res, 0, REVENUE_REFUNDED);
	if (money_sub(out->paid, out->refunded, &out->net) != 0) {
		log_error(NULL, "dashboard: today's revenue overflows (%lld - %lld)",
		    (long long)out->paid, (long long)out->refunded);
		return DB_ERR;
	}
	return 0;
}
