/* orders: the order pages: the "order received" page that polls, the PG hand-off link, My
 * orders and the order page with its timeline, its refunds and its refund form, the order
 * API's reads, and cancelling an order: an unpaid one is abandoned, a paid one is refunded in
 * full (lib/shop/refunds.c). Creating an order and the PGs' returns are fcgi/checkout.c's;
 * the rules live in lib/shop/orders*.c and lib/shop/refunds*.c. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "infra/bus.h"
#include "shop/cart.h"
#include "shop/catalog.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/ids.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/money.h"
#include "shop/orders.h"
#include "shop/points.h"
#include "shop/refunds.h"
#include "shop/addresses.h"
#include "shop/labels.h"
#include "shopview.h"
#include "req.h"
#include "resp.h"
#include "orders.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";
static const char MSG_NOT_CANCELABLE[] = "결제가 진행 중이거나 끝난 주문은 취소할 수 없습니다.";

/* The order {id} of the path if the signed-in user may see it (theirs; an admin any).
 * Returns 1 with *o filled (with details), 0 after answering 404, -1 on a database error. */
static int
path_order(struct req *r, struct order *o)
{
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), true, o);

	if (rc < 0)
		return -1;
	if (rc == 0 || (o->user_id != sess_user(r) && !sess_is_admin(r))) {
		resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
		return 0;
	}
	return 1;
}

/* ---- the order page ------------------------------------------------------------------------- */

/* Adds what the order page shows about refunds to ctx: "refunds" (the order's refunds, when
 * it has any) and "may_refund" when the signed-in shopper may still refund it (the refund and
 * cancel pages, fcgi/refunds.c, ask for confirmation). Returns 0, or -1 on a database error. */
static int
refund_context(struct req *r, const struct order *o, struct json_object *ctx)
{
	struct json_object *list;
	struct refund *rs;
	int64_t n, i;
	int rc;

	if (o->status != ORDER_PAID && o->status != ORDER_PARTIALLY_CANCELED &&
	    o->status != ORDER_CANCELED)
		return 0;
	n = refunds_of_order(r->app->db, r->a, o->id, &rs);
	if (n < 0)
		return -1;
	if (n > 0) {
		list = json_object_new_array();
		for (i = 0; i < n; i++)
			json_object_array_add(list, shopview_refund_json(r, &rs[i]));
		json_object_object_add(ctx, "refunds", list);
	}
	if (o->user_id != sess_user(r) || o->status == ORDER_CANCELED)
		return 0;
	rc = refunds_shopper_may(r->app->db, r->a, o->id,
	    (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS));
	if (rc < 0)
		return -1;
	if (rc > 0)
		json_object_object_add(ctx, "may_refund", json_object_new_boolean(true));
	return 0;
}

int
orders_page_render(struct req *r, int status, const struct order *o, bool received,
    const char *notice, bool error)
{
	struct json_object *ctx = json_object_new_object(), *view;
	bool mine = o->user_id == sess_user(r);

	if (!received && (refund_context(r, o, ctx) != 0 || shopview_ship_to(r, o, ctx) != 0 ||
	    (o->paid_at != NULL && shopview_deliveries(r, o, ctx) != 0))) {
		json_object_put(ctx);
		return -1;
	}
	if (received) {  /* the received page shows neither lines nor timeline: no pictures */
		struct order head = *o;

		head.lines = NULL;
		head.nlines = 0;
		head.events = NULL;
		head.nevents = 0;
		view = shopview_json(r, &head);
	} else {
		view = shopview_json(r, o);
	}
	if (view == NULL) {
		json_object_put(ctx);
		return -1;
	}
	if (mine && (o->status == ORDER_PENDING || o->status == ORDER_FAILED ||
	    o->status == ORDER_EXPIRED || (o->status == ORDER_CANCELED && o->paid_at == NULL))) {
		const char *csrf = sess_csrf(r);  /* the 다시 결제하기 form */

		if (csrf == NULL) {
			json_object_put(ctx);
			json_object_put(view);
			return resp_fail(r, RESP_UNAVAILABLE);
		}
		json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	}
	if (o->status == ORDER_PENDING && mine) {
		json_object_object_add(ctx, "cancelable", json_object_new_boolean(true));
		if (checkout_pay_url(r, o) != NULL)
			json_object_object_add(ctx, "pay_path", json_object_new_string(
			    arena_printf(r->a, "/orders/%s/pay", o->public_id)));
	}
	json_object_object_add(ctx, "mine", json_object_new_boolean(mine));
	json_object_object_add(ctx, "title", json_object_new_string(received ? "주문 접수" : "주문 상세"));
	json_object_object_add(ctx, "order", view);
	if (notice != NULL)
		json_object_object_add(ctx, error ? "problem" : "notice",
		    json_object_new_string(notice));
	return resp_page(r, status, received ? "order_received" : "order", ctx);
}


/* ---- order pages ------------------------------------------------------------------------------ */

/* GET /orders/{id}/pay: the link to the PG's payment window for a PENDING order; any other
 * order goes to its page. */
static int
page_order_pay(struct req *r)
{
	struct json_object *ctx, *view;
	struct order o;
	const char *url;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	url = o.user_id == sess_user(r) ? checkout_pay_url(r, &o) : NULL;
	if (url == NULL)
		return resp_redirect(r, arena_printf(r->a, "/orders/%s", o.public_id));
	view = shopview_json(r, &o);
	if (view == NULL)
		return -1;
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("결제하기"));
	json_object_object_add(ctx, "order", view);
	json_object_object_add(ctx, "pay_url", json_object_new_string(url));
	json_object_object_add(ctx, "pg", json_object_new_string(orders_pay_name(o.pay)));
	return resp_page(r, 200, "order_pay", ctx);
}

/* GET /orders/{id}[?done=<code>]: the order; done names the result of the POST that
 * redirected here (shopview_done_message). */
static int
page_order(struct req *r)
{
	struct order o;
	const char *done, *notice = NULL;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	if (form_get(&r->query, "done", &done, NULL) == 0)
		notice = shopview_done_message(done);
	return orders_page_render(r, 200, &o, false, notice, false);
}

/* The ?cursor= of a list, decoded into *before_id (0 when absent). 0, or -1 after 400. */
static int
list_cursor(struct req *r, int64_t *before_id)
{
	const char *v;
	int rc = form_get(&r->query, "cursor", &v, NULL);

	*before_id = 0;
	if (rc < 0 || (rc == 0 && *v != '\0' && catalog_cursor_decode(v, before_id) != 0)) {
		resp_error(r, 400, "CURSOR_INVALID", "잘못된 페이지 커서입니다.");
		return -1;
	}
	return 0;
}

/* Loads one page of the signed-in user's orders; *next is the cursor of the next page or
 * NULL. Returns the count, or -1 after answering / on error (*answered tells which). */
static int64_t
list_page(struct req *r, struct order **orders, const char **next, bool *answered)
{
	int64_t before, n;
	size_t limit = (size_t)conf_int(r->app->conf, CONF_ORDERS_PAGE_SIZE);
	char cur[64];

	*answered = false;
	*next = NULL;
	if (list_cursor(r, &before) != 0) {
		*answered = true;
		return -1;
	}
	n = orders_list(r->app->db, r->a, sess_user(r), before, limit + 1, orders);
	if (n < 0)
		return -1;
	if ((size_t)n > limit) {
		n = (int64_t)limit;
		if (catalog_cursor_encode((*orders)[n - 1].id, cur, sizeof(cur)) == 0)
			*next = arena_strdup(r->a, cur);
	}
	return n;
}

/* The orders of a page as a JSON array (new reference): the API's shape (html false) or the
 * page's (shopview_json). */
static struct json_object *
orders_array(struct req *r, const struct order *orders, int64_t n, bool html)
{
	struct json_object *list = json_object_new_array();
	int64_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(list, html ? shopview_json(r, &orders[i]) :
		    shopview_api_json(&orders[i]));
	return list;
}

/* GET /orders[?cursor=] */
static int
page_orders(struct req *r)
{
	struct order *orders;
	struct json_object *ctx, *list;
	const char *next;
	bool answered;
	int64_t n;

	n = list_page(r, &orders, &next, &answered);
	if (n < 0)
		return answered ? 0 : -1;
	list = orders_array(r, orders, n, true);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("주문 내역"));
	json_object_object_add(ctx, "orders", list);
	if (next != NULL)
		json_object_object_add(ctx, "next", json_object_new_string(next));
	return resp_page(r, 200, "orders", ctx);
}

/* Cancels the unpaid order {id} of the signed-in user. Returns the outcome; *o is the order
 * afterwards. */
static enum orders_move_rc
cancel_order(struct req *r, struct order *o)
{
	memset(o, 0, sizeof(*o));
	return orders_abandon(r->app->db, r->a, req_path_param(r, 0), sess_user(r), ORDER_CANCELED,
	    ORDER_BY_SHOPPER, "CANCELED_BY_SHOPPER", "주문자가 결제 전에 주문을 취소했습니다.", o);
}

/* The signed-in shopper's order {id} when it is paid and theirs: "cancel" then means a full
 * refund. With a key (replay), a paid order already CANCELED counts too: the replay of a
 * cancel whose refund is done must answer with that refund (refunds_request finds the key),
 * not as the cancel of an unpaid order. Returns 1 (*o loaded, without details), 0 for any
 * other order, -1 on a database error. */
static int
paid_order(struct req *r, struct order *o, bool keyed)
{
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), false, o);

	if (rc <= 0)
		return rc;
	return o->user_id == sess_user(r) &&
	    (o->status == ORDER_PAID || o->status == ORDER_PARTIALLY_CANCELED ||
	    (keyed && o->status == ORDER_CANCELED && o->paid_at != NULL));
}

/* Refunds everything left of the signed-in shopper's paid order {id} (key: the form's or the
 * Idempotency-Key header, or NULL) and pushes the jobs that queued. */
static enum refunds_rc
refund_order(struct req *r, const char *key, struct refund *out)
{
	struct refunds_req q;
	enum refunds_rc rc;

	memset(&q, 0, sizeof(q));
	q.order_public_id = req_path_param(r, 0);
	q.user_id = sess_user(r);
	q.shopper_days = (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS);
	q.key = key;
	rc = refunds_request(r->app->db, r->a, &q, out);
	bus_push_batch(r->app->bus, &out->jobs);
	if (rc == REFUNDS_ACCEPTED || rc == REFUNDS_DONE)
		log_info(&r->log, "orders: full refund %s of %s: %s", out->public_id, q.order_public_id,
		    refunds_rc_name(rc));
	return rc;
}

/* The refund key of a cancel: the form's "key" field or the Idempotency-Key header, absent
 * (NULL) or valid. Returns 0, or -1 after answering 400. */
static int
cancel_key(struct req *r, bool form, const char **key)
{
	*key = NULL;
	if (form) {
		if (form_get(&r->form, "key", key, NULL) < 0)
			*key = "";
	} else {
		*key = req_param(r, "HTTP_IDEMPOTENCY_KEY");
	}
	if (*key != NULL && !valid_token(*key, 1, ORDERS_KEY_MAX)) {
		resp_error(r, 400, "IDEMPOTENCY_KEY_INVALID",
		    "멱등성 키는 영문, 숫자, '-', '_'로 이루어진 1~64자여야 합니다.");
		return -1;
	}
	return 0;
}

/* POST /orders/{id}/cancel (csrf_token[, key]) → 303 to the order with ?done=canceled,
 * refund_requested or refunded: an unpaid order is cancelled, a paid one refunded in full.
 * The order page links to the confirmation page (GET, fcgi/refunds.c) that posts here. */
static int
page_order_cancel(struct req *r)
{
	struct order o;
	struct refund ref;
	enum refunds_rc rrc;
	const char *key, *code, *message;
	int rc, status;

	if (cancel_key(r, true, &key) != 0)
		return 0;
	rc = paid_order(r, &o, key != NULL);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		rrc = refund_order(r, key, &ref);
		if (rrc == REFUNDS_FAILED)
			return -1;
		refunds_rc_answer(rrc, &status, &code, &message);
		if (code == NULL)
			return resp_redirect(r, arena_printf(r->a, "/orders/%s?done=%s", o.public_id,
			    rrc == REFUNDS_ACCEPTED || ref.status == REFUND_REQUESTED ?
			    "refund_requested" : "refunded"));
		if (orders_get(r->app->db, r->a, o.public_id, true, &o) != 1)
			return -1;
		return orders_page_render(r, status, &o, false, message, true);
	}

	switch (cancel_order(r, &o)) {
	case ORDERS_MOVED:
	case ORDERS_ALREADY:
		return resp_redirect(r, arena_printf(r->a, "/orders/%s?done=canceled", o.public_id));
	case ORDERS_NOT_FOUND:
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	case ORDERS_WRONG_STATE:
		return orders_page_render(r, 409, &o, false, MSG_NOT_CANCELABLE, true);
	default:
		return -1;
	}
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* GET /api/v1/orders[?cursor=]: {"orders": [...], "nextCursor": str|null} */
static int
api_orders(struct req *r)
{
	struct order *orders;
	struct json_object *o, *list;
	const char *next;
	bool answered;
	int64_t n;

	n = list_page(r, &orders, &next, &answered);
	if (n < 0)
		return answered ? 0 : -1;
	list = orders_array(r, orders, n, false);
	o = json_object_new_object();
	json_object_object_add(o, "orders", list);
	json_object_object_add(o, "nextCursor", next != NULL ? json_object_new_string(next) : NULL);
	return resp_json(r, 200, o);
}

/* GET /api/v1/orders/{id}: the order with lines and timeline (what the received page polls). */
static int
api_order_get(struct req *r)
{
	struct order o;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	return resp_json(r, 200, shopview_api_json(&o));
}

/* POST /api/v1/orders/{id}/cancel (optional Idempotency-Key header): an unpaid order is
 * cancelled: 200 with the order; a paid one is refunded in full: 202 with the order and its
 * "refund" (the PG cancel is queued), 200 when done at once (points) or replayed, or the
 * refund's errors (409 REFUND_PERIOD_OVER ...); 404; 409 when it cannot be cancelled. */
static int
api_order_cancel(struct req *r)
{
	struct order o;
	struct refund ref;
	struct json_object *j;
	enum refunds_rc rrc;
	const char *key, *code, *message;
	int rc, status;

	if (cancel_key(r, false, &key) != 0)
		return 0;
	rc = paid_order(r, &o, key != NULL);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		rrc = refund_order(r, key, &ref);
		if (rrc == REFUNDS_FAILED)
			return -1;
		refunds_rc_answer(rrc, &status, &code, &message);
		if (code != NULL)
			return resp_error(r, status, code, message);
		if (orders_get(r->app->db, r->a, o.public_id, true, &o) != 1)
			return -1;
		j = shopview_api_json(&o);
		json_object_object_add(j, "refund", refunds_json(&ref));
		return resp_json(r, status, j);
	}

	switch (cancel_order(r, &o)) {
	case ORDERS_MOVED:
	case ORDERS_ALREADY:
		return resp_json(r, 200, shopview_api_json(&o));
	case ORDERS_NOT_FOUND:
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	case ORDERS_WRONG_STATE:
		return resp_error(r, 409, "ORDER_NOT_CANCELABLE", MSG_NOT_CANCELABLE);
	default:
		return -1;
	}
}

const struct route orders_routes[] = {
	{ METHOD_GET,  "/orders",                     page_orders,           ROUTE_HTML | ROUTE_LOGIN, "orders" },
	{ METHOD_GET,  "/orders/{id}",                page_order,            ROUTE_HTML | ROUTE_LOGIN, "order" },
	{ METHOD_GET,  "/orders/{id}/pay",            page_order_pay,        ROUTE_HTML | ROUTE_LOGIN, "order_pay" },
	{ METHOD_POST, "/orders/{id}/cancel",         page_order_cancel,     ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "order_cancel" },
	{ METHOD_GET,  "/api/v1/orders",              api_orders,            ROUTE_JSON | ROUTE_LOGIN, "api_orders" },
	{ METHOD_GET,  "/api/v1/orders/{id}",         api_order_get,         ROUTE_JSON | ROUTE_LOGIN, "api_order_get" },
	{ METHOD_POST, "/api/v1/orders/{id}/cancel",  api_order_cancel,      ROUTE_JSON | ROUTE_LOGIN | ROUTE_CSRF, "api_order_cancel" },
	{ 0, NULL, NULL, 0, NULL },
};
