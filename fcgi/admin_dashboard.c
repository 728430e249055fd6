/* admin_dashboard: the admin console's front page: today's orders by status and revenue
 * (lib/shop/dashboard), queue depths, circuit breakers, and the payments whose outcome is
 * still open (lib/shop/paychecks). A section whose module fails shows
 * ADMIN_COMMON_UNAVAILABLE; the page still answers 200. */
#include <stdbool.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "req.h"
#include "route.h"
#include "shop/dashboard.h"
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

/* GET /admin */
static int
page_dashboard(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "관리자 대시보드");

	add_orders(r, ctx);
	add_revenue(r, ctx);
	admin_common_add_queues(r, ctx);
	admin_common_add_breakers(r, ctx, false);
	add_paychecks(r, ctx);
	return admin_common_page(r, 200, "admin_dashboard", ctx);
}

const struct route admin_dashboard_routes[] = {
	{ METHOD_GET, "/admin", page_dashboard, ROUTE_HTML | ROUTE_ADMIN, "admin_dashboard" },
	{ 0, NULL, NULL, 0, NULL },
};
