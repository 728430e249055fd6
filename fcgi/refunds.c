/* refunds: a shopper's refunds of their own paid order: the order page's refund form
 * (POST /orders/{id}/refund) and its JSON twins (POST and GET /api/v1/orders/{id}/refunds).
 * Which lines, how much, the window and the concurrency rules live in lib/shop/refunds.c; this file
 * reads and validates the input and answers. Admins refund through the admin console. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/jparse.h"
#include "base/log.h"
#include "shop/orders.h"
#include "shop/refunds.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";
static const char MSG_BODY[] = "요청 본문은 lines와 reason만 담은 객체여야 합니다.";
static const char MSG_REASON[] = "환불 사유는 1~200자의 글이어야 합니다.";
static const char MSG_KEY[] = "멱등성 키는 영문, 숫자, '-', '_'로 이루어진 1~64자여야 합니다.";
static const char MSG_NOTHING[] = "환불할 상품의 수량을 하나 이상 골라 주세요.";

/* Longest reason in bytes before its characters are counted (200 characters of 4 bytes). */
#define REASON_BYTES_MAX (REFUNDS_REASON_MAX * 4)
/* The form's fields: "qty_<productId>" per line. */
#define QTY_PREFIX "qty_"

/* Answers 400 with code and message; returns -1 so readers can "return refuse(...)". */
static int
refuse(struct req *r, const char *code, const char *message)
{
	resp_error(r, 400, code, message);
	return -1;
}

/* Answers a refunds_request outcome: the refund (202 or 200), or the error. Pushes the jobs
 * the call queued. */
static int
answer(struct req *r, enum refunds_rc rc, struct refund *out, bool html, const char *order_id)
{
	const char *code, *message;
	int status;

	bus_push_batch(r->app->bus, &out->jobs);
	refunds_rc_answer(rc, &status, &code, &message);
	if (rc == REFUNDS_FAILED)
		return -1;
	if (code != NULL)
		return resp_error(r, status, code, message);
	log_info(&r->log, "refunds: %s of order %s: %s %" PRId64 " won", out->public_id, order_id,
	    refunds_rc_name(rc), out->amount);
	if (html)
		return resp_redirect(r, arena_printf(r->a, "/orders/%s", order_id));
	return resp_json(r, status, refunds_json(out));
}

/* The request every door fills the same way: the signed-in shopper, their window. */
static void
req_init(struct req *r, struct refunds_req *q)
{
	memset(q, 0, sizeof(*q));
	q->order_public_id = req_path_param(r, 0);
	q->user_id = sess_user(r);
	q->shopper_days = (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS);
}

/* A reason as typed: NULL when absent or blank. Returns 0, or -1 when it is not acceptable
 * text. */
static int
read_reason(const char *s, const char **out)
{
	size_t len;

	*out = NULL;
	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0)
		return 0;
	if (len > REASON_BYTES_MAX || !valid_text(s, len, REFUNDS_REASON_MAX, false))
		return -1;
	*out = s;
	return 0;
}

/* ---- the form ------------------------------------------------------------------------------ */

/* Reads the refund form into q: qty_<productId> (empty or 0 = not this line), reason, key.
 * Returns 0, or -1 after answering 400. */
static int
read_form(struct req *r, struct refunds_req *q)
{
	int64_t max_lines = conf_int(r->app->conf, CONF_ORDERS_MAX_LINES);
	int64_t max_q = conf_int(r->app->conf, CONF_CART_MAX_QUANTITY);
	struct refunds_line_req *lines;
	const char *reason = NULL, *key = NULL;
	size_t i, j, n = 0;

	lines = arena_alloc(r->a, (r->form.n + 1) * sizeof(*lines));
	for (i = 0; i < r->form.n; i++) {
		const struct form_pair *f = &r->form.pairs[i];
		int64_t pid, qty = 0;

		if (strcmp(f->key, "csrf_token") == 0)
			continue;
		if (strcmp(f->key, "reason") == 0 && reason == NULL) {
			reason = f->val;
			continue;
		}
		if (strcmp(f->key, "key") == 0 && key == NULL) {
			key = f->val;
			continue;
		}
		if (strncmp(f->key, QTY_PREFIX, strlen(QTY_PREFIX)) != 0 ||
		    valid_int64(f->key + strlen(QTY_PREFIX), 1, INT64_MAX, &pid) != 0 ||
		    (f->val[0] != '\0' && valid_int64(f->val, 0, max_q, &qty) != 0))
			return refuse(r, "REFUND_LINES_INVALID", arena_printf(r->a,
			    "환불 수량은 0~%" PRId64 " 사이의 정수여야 합니다.", max_q));
		if (f->val[0] == '\0' || qty == 0)
			continue;
		for (j = 0; j < n; j++)
			if (lines[j].product_id == pid)
				return refuse(r, "REFUND_LINES_INVALID",
				    "같은 상품이 두 번 들어 있습니다.");
		if ((int64_t)n >= max_lines)
			return refuse(r, "REFUND_LINES_INVALID",
			    "환불할 상품이 너무 많습니다.");
		lines[n].product_id = pid;
		lines[n].quantity = (int)qty;
		n++;
	}
	if (n == 0)
		return refuse(r, "REFUND_LINES_INVALID", MSG_NOTHING);
	if (read_reason(reason, &q->reason) != 0)
		return refuse(r, "REFUND_REASON_INVALID", MSG_REASON);
	if (key != NULL && key[0] != '\0') {
		if (!valid_token(key, 1, ORDERS_KEY_MAX))
			return refuse(r, "IDEMPOTENCY_KEY_INVALID", MSG_KEY);
		q->key = key;
	}
	q->lines = lines;
	q->nlines = n;
	return 0;
}

/* POST /orders/{id}/refund (csrf_token, key, reason, qty_<productId>...) → 303 to the order. */
static int
page_refund(struct req *r)
{
	struct refunds_req q;
	struct refund out;
	enum refunds_rc rc;

	req_init(r, &q);
	if (read_form(r, &q) != 0)
		return 0;
	rc = refunds_request(r->app->db, r->a, &q, &out);
	return answer(r, rc, &out, true, q.order_public_id);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* Reads the optional "lines" array of a refund body into q. Returns 0, or -1 after
 * answering 400. */
static int
read_lines(struct req *r, struct json_object *arr, struct refunds_req *q)
{
	static const char *const line_fields[] = { "productId", "quantity", NULL };
	int64_t max_lines = conf_int(r->app->conf, CONF_ORDERS_MAX_LINES);
	int64_t max_q = conf_int(r->app->conf, CONF_CART_MAX_QUANTITY);
	struct refunds_line_req *lines;
	size_t len, i, j;

	len = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	if (len == 0 || (int64_t)len > max_lines)
		return refuse(r, "REFUND_LINES_INVALID", arena_printf(r->a,
		    "lines는 1~%" PRId64 "개의 {productId, quantity} 객체 배열이어야 합니다.",
		    max_lines));
	lines = arena_alloc(r->a, len * sizeof(*lines));
	for (i = 0; i < len; i++) {
		struct json_object *x = json_object_array_get_idx(arr, i);
		int64_t pid, qty;

		if (x == NULL || !json_object_is_type(x, json_type_object) ||
		    jparse_only_keys(x, line_fields) != 0 ||
		    jparse_int64(x, "productId", 1, INT64_MAX, &pid) != 0 ||
		    jparse_int64(x, "quantity", 1, max_q, &qty) != 0)
			return refuse(r, "REFUND_LINES_INVALID", arena_printf(r->a,
			    "각 줄은 productId(양의 정수)와 quantity(1~%" PRId64 ")만 담아야 합니다.",
			    max_q));
		for (j = 0; j < i; j++)
			if (lines[j].product_id == pid)
				return refuse(r, "REFUND_LINES_INVALID",
				    "같은 상품이 두 번 들어 있습니다. 수량을 합쳐 주세요.");
		lines[i].product_id = pid;
		lines[i].quantity = (int)qty;
	}
	q->lines = lines;
	q->nlines = len;
	return 0;
}

/* POST /api/v1/orders/{id}/refunds {"lines": [{"productId", "quantity"}] (optional: omitted
 * = everything left), "reason": str (optional)}; optional Idempotency-Key header. 202 with
 * the refund (the PG cancel is queued), 200 (points: refunded now; or a replayed key); 400,
 * 404, 409, 422. */
static int
api_refund_create(struct req *r)
{
	static const char *const fields[] = { "lines", "reason", NULL };
	struct json_object *lines;
	struct refunds_req q;
	struct refund out;
	enum refunds_rc rc;
	const char *reason = NULL;

	req_init(r, &q);
	q.key = req_param(r, "HTTP_IDEMPOTENCY_KEY");
	if (q.key != NULL && !valid_token(q.key, 1, ORDERS_KEY_MAX))
		return resp_error(r, 400, "IDEMPOTENCY_KEY_INVALID", MSG_KEY);
	if (!json_object_is_type(r->json, json_type_object) || jparse_only_keys(r->json, fields) != 0)
		return resp_error(r, 400, "REFUND_BODY_INVALID", MSG_BODY);
	if (jparse_string(r->json, "reason", REASON_BYTES_MAX, &reason) < 0 ||
	    (reason != NULL && (reason[0] == '\0' || read_reason(reason, &q.reason) != 0)))
		return resp_error(r, 400, "REFUND_REASON_INVALID", MSG_REASON);
	if (json_object_object_get_ex(r->json, "lines", &lines) && read_lines(r, lines, &q) != 0)
		return 0;
	rc = refunds_request(r->app->db, r->a, &q, &out);
	return answer(r, rc, &out, false, q.order_public_id);
}

/* GET /api/v1/orders/{id}/refunds: {"refunds": [...]} oldest first, for the order's shopper
 * (or an admin); 404 otherwise. */
static int
api_refunds_list(struct req *r)
{
	struct json_object *o, *list;
	struct refund *rs;
	struct order ord;
	int64_t n, i;
	int rc;

	rc = orders_get(r->app->db, r->a, req_path_param(r, 0), false, &ord);
	if (rc < 0)
		return -1;
	if (rc == 0 || (ord.user_id != sess_user(r) && !sess_is_admin(r)))
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	n = refunds_of_order(r->app->db, r->a, ord.id, &rs);
	if (n < 0)
		return -1;
	list = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(list, refunds_json(&rs[i]));
	o = json_object_new_object();
	json_object_object_add(o, "refunds", list);
	return resp_json(r, 200, o);
}

const struct route refunds_routes[] = {
	{ METHOD_POST, "/orders/{id}/refund",          page_refund,       ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "order_refund" },
	{ METHOD_POST, "/api/v1/orders/{id}/refunds",  api_refund_create, ROUTE_JSON | ROUTE_LOGIN | ROUTE_CSRF, "api_refund_create" },
	{ METHOD_GET,  "/api/v1/orders/{id}/refunds",  api_refunds_list,  ROUTE_JSON | ROUTE_LOGIN, "api_refunds_list" },
	{ 0, NULL, NULL, 0, NULL },
};
