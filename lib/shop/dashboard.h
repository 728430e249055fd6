/* dashboard: today's figures for the admin console's front page, read from MariaDB and never
 * written: how many orders were placed today in each status, and what today's payments came
 * to. "Today" is the database server's calendar day (CURDATE()). Knows nothing of HTTP. */
#ifndef JT_DASHBOARD_H
#define JT_DASHBOARD_H

#include <stdint.h>

#include "shop/orders.h"

struct arena;
struct db;

/* Today's payments: orders paid today, the sum they were paid, what has been refunded of
 * them, and the difference. Won. */
struct dashboard_revenue {
	int64_t orders;
	int64_t paid;
	int64_t refunded;
	int64_t net;
};

/* One calendar day's payments (the database's days). */
struct dashboard_day {
	char day[11];           /* "YYYY-MM-DD" */
	int64_t orders;         /* orders paid that day */
	int64_t paid;           /* what they were paid, won */
};

#define DASHBOARD_DAYS_MAX 60

/* The payments of the last ndays days (1..DASHBOARD_DAYS_MAX) up to and including today,
 * oldest first, into out[ndays]; a day without payments counts 0. Returns 0 or an enum
 * db_rc (DB_ERR for ndays out of range). */
int dashboard_sales_days(struct db *db, struct arena *a, int ndays, struct dashboard_day *out);

/* The orders created today, counted by status into counts[ORDER_STATUS__MAX] (a status
 * without orders counts 0; a status the database spells in a way orders_status_parse does
 * not know is left out). Returns 0 or an enum db_rc. */
int dashboard_orders_today(struct db *db, struct arena *a, int64_t counts[ORDER_STATUS__MAX]);

/* Today's payments into *out. Returns 0, or an enum db_rc (DB_ERR also when paid - refunded
 * overflows, which no real shop reaches). */
int dashboard_revenue_today(struct db *db, struct arena *a, struct dashboard_revenue *out);

#endif
