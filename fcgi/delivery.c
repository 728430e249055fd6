/* delivery: the shopper's side of fulfilment: asking to return a delivered parcel (a
 * confirmation page with the reason, then the POST). The rules live in lib/shop/fulfilment.c;
 * the staff ship and deliver on the admin console (admin_fulfilment.c). */
#include <inttypes.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/log.h"
#include "base/valid.h"
#include "shopview.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/fulfilment.h"
#include "shop/orders.h"

static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";
static const char MSG_REASON[] = "반품 사유를 1~200자로 적어 주세요.";

/* How each refused move is answered to the shopper. */
static const struct {
	int status;
	const char *code;
	const char *message;
} move_answers[FULFILMENT_RC__MAX] = {
	[FULFILMENT_NOT_FOUND]   = { 404, "ORDER_NOT_FOUND", "주문을 찾을 수 없습니다." },
	[FULFILMENT_WRONG_STATE] = { 409, "DELIVERY_WRONG_STATE",
	                             "지금 배송 상태에서는 할 수 없는 요청입니다." },
	[FULFILMENT_TOO_LATE]    = { 409, "RETURN_PERIOD_OVER",
	                             "반품 신청 기간이 지났습니다. 고객센터로 문의해 주세요." },
	[FULFILMENT_BAD_INPUT]   = { 400, "DELIVERY_INPUT_INVALID",
	                             "택배사, 운송장 번호나 사유가 올바르지 않습니다." },
	[FULFILMENT_FAILED]      = { 500, "DELIVERY_FAILED",
	                             "처리하지 못했습니다. 잠시 후 다시 시도해 주세요." },
};

/* The ?seller= / seller field: a positive id. 0 when absent or malformed. */
static int64_t
seller_of(const struct form *f)
{
	const char *v;
	int64_t id;

	if (form_get(f, "seller", &v, NULL) != 0 || valid_int64(v, 1, INT64_MAX, &id) != 0)
		return 0;
	return id;
}

/* Renders the return page of the signed-in shopper's order {id} for seller_id: 404 unless a
 * delivery of theirs may be returned now; reason / reason_error are what was typed and what
 * was wrong with it. */
static int
render_return(struct req *r, int status, int64_t seller_id, const char *reason,
    const char *reason_error)
{
	struct json_object *ctx, *view, *list, *found = NULL;
	struct order o;
	const char *csrf;
	size_t i;
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), true, &o);

	if (rc < 0)
		return -1;
	if (rc == 0 || o.user_id != sess_user(r) || o.paid_at == NULL)
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	csrf = sess_csrf(r);
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	ctx = json_object_new_object();
	view = shopview_json(r, &o);
	if (view == NULL || shopview_deliveries(r, &o, ctx) != 0) {
		json_object_put(view);
		json_object_put(ctx);
		return -1;
	}
	json_object_object_get_ex(ctx, "deliveries", &list);
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *d = json_object_array_get_idx(list, i), *v;

		if (json_object_object_get_ex(d, "seller_id", &v) &&
		    json_object_get_int64(v) == seller_id &&
		    json_object_object_get_ex(d, "returnable", &v) && json_object_get_boolean(v))
			found = d;
	}
	if (found == NULL) {
		json_object_put(view);
		json_object_put(ctx);
		return resp_error(r, 409, "RETURN_NOT_ALLOWED",
		    "이 배송은 지금 반품을 신청할 수 없습니다. 배송완료 후 반품 기간 안에 신청해 주세요.");
	}
	json_object_object_add(ctx, "delivery", json_object_get(found));
	json_object_object_add(ctx, "title", json_object_new_string("반품 신청"));
	json_object_object_add(ctx, "order", view);
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "return_days", json_object_new_int64(
	    conf_int(r->app->conf, CONF_SHIPPING_RETURN_DAYS)));
	if (reason != NULL)
		json_object_object_add(ctx, "reason", json_object_new_string(reason));
	if (reason_error != NULL)
		json_object_object_add(ctx, "reason_error", json_object_new_string(reason_error));
	return resp_page(r, status, "order_return", ctx);
}

/* GET /orders/{id}/return?seller=N: asks why before a delivered parcel goes back. */
static int
page_return_form(struct req *r)
{
	return render_return(r, 200, seller_of(&r->query), NULL, NULL);
}

/* POST /orders/{id}/return (csrf_token, seller, reason) → 303 to the order with
 * ?done=return_requested. A missing or too long reason shows the page again with the message
 * next to the field (400); a return the rules refuse is an error page. */
static int
page_return(struct req *r)
{
	int64_t seller_id = seller_of(&r->form);
	const char *reason;
	enum fulfilment_rc rc;

	if (form_get(&r->form, "reason", &reason, NULL) != 0)
		reason = "";
	if (!valid_text(reason, strlen(reason), FULFILMENT_REASON_MAX, true))
		return render_return(r, 400, seller_id, valid_utf8(reason, strlen(reason)) ?
		    reason : NULL, MSG_REASON);
	rc = fulfilment_request_return(r->app->db, req_path_param(r, 0), sess_user(r), seller_id,
	    reason, (int)conf_int(r->app->conf, CONF_SHIPPING_RETURN_DAYS));
	if (rc == FULFILMENT_DONE || rc == FULFILMENT_ALREADY) {
		log_info(&r->log, "delivery: return of seller %" PRId64 " of %s asked: %s", seller_id,
		    req_path_param(r, 0), fulfilment_rc_name(rc));
		return resp_redirect(r, arena_printf(r->a, "/orders/%s?done=return_requested",
		    req_path_param(r, 0)));
	}
	return delivery_refused(r, rc);
}

/* Answers a refused fulfilment move (rc is an enum fulfilment_rc other than DONE and
 * ALREADY): its status, code and Korean message. */
int
delivery_refused(struct req *r, int rc)
{
	if (rc < 0 || rc >= FULFILMENT_RC__MAX || move_answers[rc].code == NULL)
		rc = FULFILMENT_FAILED;
	return resp_error(r, move_answers[rc].status, move_answers[rc].code,
	    move_answers[rc].message);
}

const struct route delivery_routes[] = {
	{ METHOD_GET,  "/orders/{id}/return",                 page_return_form, ROUTE_HTML | ROUTE_LOGIN, "order_return_form" },
	{ METHOD_POST, "/orders/{id}/return",                 page_return,      ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "order_return" },
	{ 0, NULL, NULL, 0, NULL },
};
