/* admin_dashboard: the admin console's front page: today's orders by status and revenue
 * (lib/shop/dashboard) with the last 14 days' payments as a server-rendered SVG bar chart,
 * queue depths and the outbox's backlog, circuit breakers, and the payments whose outcome is
 * still open (lib/shop/paychecks). A section whose module fails shows
 * ADMIN_COMMON_UNAVAILABLE; the page still answers 200. */
#include <inttypes.h>
#include <stdbool.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/money.h"
#include "req.h"
#include "route.h"
#include "shop/dashboard.h"
#include "shop/labels.h"
#include "shop/orders.h"
#include "shop/paychecks.h"

static void
add_orders(struct req *r, struct json_object *ctx)
{
	int64_t counts[ORDER_STATUS__MAX];
	struct json_object *rows;
	int64_t total = 0;
	enum order_status s;

	if (dashboard_orders_today(r->app->db, r->a, counts) != 0) {
		admin_common_unavailable(r, ctx, "orders_error", "dashboard_orders_today");
		return;
	}
	rows = json_object_new_array();
	for (s = 0; s < ORDER_STATUS__MAX; s++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(orders_status_name(s)));
		json_object_object_add(o, "label",
		    json_object_new_string(admin_common_status_label(s)));
		json_object_object_add(o, "tone", json_object_new_string(
		    labels_tone(LABEL_ORDER, orders_status_name(s))));
		json_object_object_add(o, "count", json_object_new_int64(counts[s]));
		json_object_array_add(rows, o);
		total += counts[s];
	}
	json_object_object_add(ctx, "orders_today", rows);
	json_object_object_add(ctx, "orders_total", json_object_new_int64(total));
}

static void
add_revenue(struct req *r, struct json_object *ctx)
{
	struct dashboard_revenue rev;
	struct json_object *o;

	if (dashboard_revenue_today(r->app->db, r->a, &rev) != 0) {
		admin_common_unavailable(r, ctx, "revenue_error", "dashboard_revenue_today");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "orders", json_object_new_int64(rev.orders));
	json_object_object_add(o, "paid", json_object_new_int64(rev.paid));
	json_object_object_add(o, "refunded", json_object_new_int64(rev.refunded));
	json_object_object_add(o, "net", json_object_new_int64(rev.net));
	json_object_object_add(ctx, "revenue", o);
}

static void
add_paychecks(struct req *r, struct json_object *ctx)
{
	struct paycheck *p;
	struct json_object *rows;
	int64_t n, i;

	n = paychecks_open(r->app->db, r->a, ADMIN_COMMON_PAGE_ROWS, &p);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "paychecks_error", "paychecks_open");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "orderId", admin_common_jstr(p[i].order_public_id));
		json_object_object_add(o, "status", admin_common_jstr(p[i].status));
		json_object_object_add(o, "pg", admin_common_jstr(p[i].pg));
		json_object_object_add(o, "statusLabel", json_object_new_string(labels_text(
		    LABEL_ORDER, p[i].status)));
		json_object_object_add(o, "statusTone", json_object_new_string(labels_tone(
		    LABEL_ORDER, p[i].status)));
		json_object_object_add(o, "pgLabel", json_object_new_string(labels_text(LABEL_PAY,
		    p[i].pg)));
		json_object_object_add(o, "amount", json_object_new_int64(p[i].amount));
		json_object_object_add(o, "checks", json_object_new_int(p[i].checks));
		json_object_object_add(o, "nextAt", admin_common_jstr(p[i].next_at));
		json_object_object_add(o, "lastResult", admin_common_jstr(p[i].last_result));
		json_object_object_add(o, "needsAdmin", json_object_new_boolean(p[i].needs_admin));
		json_object_object_add(o, "since", admin_common_jstr(p[i].since));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "paychecks", rows);
}

/* The sales chart's geometry (SVG user units; the SVG scales to its box). */
#define CHART_DAYS 14
#define CHART_W 700          /* stretched to the box's width (preserveAspectRatio none) */
#define CHART_H 160
#define CHART_LEFT 0
#define CHART_TOP 8
#define CHART_BOTTOM 159     /* the baseline */
#define CHART_STEP 50        /* a day's slot: (CHART_W - 2 * CHART_LEFT) / CHART_DAYS */
#define CHART_BAR 30

/* paid scaled to 0..CHART_BOTTOM - CHART_TOP against max (the busiest day), without the
 * product paid * span that could overflow for sums near the money limit. */
static int64_t
bar_height(int64_t paid, int64_t max)
{
	const int64_t span = CHART_BOTTOM - CHART_TOP;

	if (max <= 0 || paid <= 0)
		return 0;
	if (max < INT64_MAX / span)
		return paid * span / max;
	return paid / (max / span + 1);
}

/* Adds ctx["chart"]: the last CHART_DAYS days' payments as bars {"x", "y", "w", "h", "label"
 * ("12/07", every other day and today; the template writes them in HTML under the SVG so
 * they stay readable at any width), "day", "orders", "paid", "title"} with the tallest
 * bar's amount ("max"), the SVG's size and baseline, and the days' totals; or marks
 * "chart_error". Heights are integers scaled to the busiest day. */
static void
add_chart(struct req *r, struct json_object *ctx)
{
	struct dashboard_day days[CHART_DAYS];
	struct json_object *chart, *bars;
	char won[MONEY_FMT_MAX];
	int64_t max = 0, total = 0, orders = 0;
	int k;

	if (dashboard_sales_days(r->app->db, r->a, CHART_DAYS, days) != 0) {
		admin_common_unavailable(r, ctx, "chart_error", "dashboard_sales_days");
		return;
	}
	for (k = 0; k < CHART_DAYS; k++) {
		if (days[k].paid > max)
			max = days[k].paid;
		if (money_add(total, days[k].paid, &total) != 0)
			total = MONEY_MAX;
		orders += days[k].orders;
	}
	chart = json_object_new_object();
	bars = json_object_new_array();
	for (k = 0; k < CHART_DAYS; k++) {
		struct json_object *b = json_object_new_object();
		int64_t h = bar_height(days[k].paid, max);
		const char *md = days[k].day + 5;  /* "MM-DD" */
		const char *label = arena_printf(r->a, "%.2s/%.2s", md, md + 3);

		if (days[k].paid > 0 && h < 2)
			h = 2;  /* a day with sales is never an invisible bar */
		json_object_object_add(b, "x", json_object_new_int(CHART_LEFT + k * CHART_STEP +
		    (CHART_STEP - CHART_BAR) / 2));
		json_object_object_add(b, "y", json_object_new_int64(CHART_BOTTOM - h));
		json_object_object_add(b, "w", json_object_new_int(CHART_BAR));
		json_object_object_add(b, "h", json_object_new_int64(h));
		json_object_object_add(b, "cx", json_object_new_int(CHART_LEFT + k * CHART_STEP +
		    CHART_STEP / 2));
		if (k % 2 == 1 || k == CHART_DAYS - 1)
			json_object_object_add(b, "label", json_object_new_string(label));
		json_object_object_add(b, "day", json_object_new_string(days[k].day));
		json_object_object_add(b, "orders", json_object_new_int64(days[k].orders));
		json_object_object_add(b, "paid", json_object_new_int64(days[k].paid));
		json_object_object_add(b, "title", json_object_new_string(arena_printf(r->a,
		    "%s · %" PRId64 "건 · %s원", label, days[k].orders,
		    money_format(days[k].paid, won))));
		json_object_object_add(b, "today", json_object_new_boolean(k == CHART_DAYS - 1));
		json_object_array_add(bars, b);
	}
	json_object_object_add(chart, "bars", bars);
	json_object_object_add(chart, "max", json_object_new_int64(max));
	json_object_object_add(chart, "total", json_object_new_int64(total));
	json_object_object_add(chart, "orders", json_object_new_int64(orders));
	json_object_object_add(chart, "days", json_object_new_int(CHART_DAYS));
	json_object_object_add(chart, "width", json_object_new_int(CHART_W));
	json_object_object_add(chart, "height", json_object_new_int(CHART_H));
	json_object_object_add(chart, "top", json_object_new_int(CHART_TOP));
	json_object_object_add(chart, "base", json_object_new_int(CHART_BOTTOM));
	json_object_object_add(chart, "right", json_object_new_int(CHART_W - CHART_LEFT));
	json_object_object_add(chart, "labelY", json_object_new_int(CHART_BOTTOM + 18));
	json_object_object_add(ctx, "chart", chart);
}

/* Adds ctx["backlog"]: the outbox's waiting and dead jobs summed over the kinds in
 * ctx["queues"] (admin_common_add_queues ran first), for the dashboard's card. */
static void
add_backlog(struct json_object *ctx)
{
	struct json_object *queues, *o, *v;
	int64_t pending = 0, dead = 0;
	size_t i, n;

	if (!json_object_object_get_ex(ctx, "queues", &queues))
		return;
	n = json_object_array_length(queues);
	for (i = 0; i < n; i++) {
		struct json_object *q = json_object_array_get_idx(queues, i);

		if (json_object_object_get_ex(q, "pending", &v))
			pending += json_object_get_int64(v);
		if (json_object_object_get_ex(q, "dead", &v))
			dead += json_object_get_int64(v);
	}
	o = json_object_new_object();
	json_object_object_add(o, "pending", json_object_new_int64(pending));
	json_object_object_add(o, "dead", json_object_new_int64(dead));
	json_object_object_add(ctx, "backlog", o);
}

/* GET /admin */
static int
page_dashboard(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "관리자 대시보드");

	add_orders(r, ctx);
	add_revenue(r, ctx);
	add_chart(r, ctx);
	admin_common_add_queues(r, ctx);
	add_backlog(ctx);
	admin_common_add_breakers(r, ctx, false);
	add_paychecks(r, ctx);
	return admin_common_page(r, 200, "admin_dashboard", ctx);
}

const struct route admin_dashboard_routes[] = {
	{ METHOD_GET, "/admin", page_dashboard, ROUTE_HTML | ROUTE_ADMIN, "admin_dashboard" },
	{ 0, NULL, NULL, 0, NULL },
};
