/* dashboard: today's order counts and revenue for the admin console (see dashboard.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static const char SQL_TODAY[] = "SELECT DATE_FORMAT(CURDATE(), '%Y-%m-%d')";

/* Days ago (0: today) for the last ? days, with the payments of each day that had any. */
static const char SQL_SALES_DAYS[] =
    "SELECT DATEDIFF(CURDATE(), DATE(paid_at)), COUNT(*), COALESCE(SUM(amount), 0)"
    " FROM orders WHERE paid_at >= CURDATE() - INTERVAL ? DAY"
    " GROUP BY DATE(paid_at)";
enum { SALES_DAYS_AGO, SALES_ORDERS, SALES_PAID };

int
dashboard_sales_days(struct db *db, struct arena *a, int ndays, struct dashboard_day *out)
{
	struct db_res res;
	struct tm tm;
	int64_t n, ago;
	size_t i;
	int k;

	if (ndays < 1 || ndays > DASHBOARD_DAYS_MAX)
		return DB_ERR;
	memset(out, 0, sizeof(*out) * (size_t)ndays);
	n = db_query(db, a, &res, SQL_TODAY, "");
	if (n < 0)
		return (int)n;
	memset(&tm, 0, sizeof(tm));
	if (n != 1 || db_res_str(&res, 0, 0) == NULL ||
	    sscanf(db_res_str(&res, 0, 0), "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday) != 3)
		return DB_ERR;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	/* Label each day by walking back from today; timegm/gmtime_r normalise the month ends. */
	for (k = 0; k < ndays; k++) {
		struct tm d = tm;
		time_t t;

		d.tm_mday -= ndays - 1 - k;
		d.tm_hour = 12;
		t = timegm(&d);
		if (gmtime_r(&t, &d) == NULL ||
		    strftime(out[k].day, sizeof(out[k].day), "%Y-%m-%d", &d) == 0)
			return DB_ERR;
	}
	n = db_query(db, a, &res, SQL_SALES_DAYS, "i", (int64_t)(ndays - 1));
	if (n < 0)
		return (int)n;
	for (i = 0; i < res.nrows; i++) {
		ago = db_res_i64(&res, i, SALES_DAYS_AGO);
		if (ago < 0 || ago >= ndays)
			continue;  /* paid "in the future" by a clock step: not on the chart */
		out[ndays - 1 - ago].orders = db_res_i64(&res, i, SALES_ORDERS);
		out[ndays - 1 - ago].paid = db_res_i64(&res, i, SALES_PAID);
	}
	return 0;
}

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
