/* refunds: a shopper's cancels and refunds of their own order: the confirmation pages the
 * order page links to (GET /orders/{id}/cancel; GET /orders/{id}/refund, a form whose confirm
 * step shows what will be refunded before anything changes), the refund POST they lead to,
 * and its JSON twins (POST and GET /api/v1/orders/{id}/refunds).
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
#include "base/ids.h"
#include "base/money.h"
#include "shopview.h"
#include "shop/labels.h"

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
		return resp_redirect(r, arena_printf(r->a, "/orders/%s?done=%s", order_id,
		    out->status == REFUND_REQUESTED ? "refund_requested" : "refunded"));
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

/* True when lines[0..n) take everything left of order o's lines (loaded with details): the
 * shopper chose all of it, which is a full cancel (the shipping fees come back too). */
static bool
takes_everything(const struct order *o, const struct refunds_line_req *lines, size_t n)
{
	size_t i, j;

	for (i = 0; i < o->nlines; i++) {
		int left = o->lines[i].quantity - o->lines[i].canceled_quantity;

		if (left <= 0)
			continue;
		for (j = 0; j < n; j++)
			if (lines[j].product_id == o->lines[i].product_id)
				break;
		if (j == n || lines[j].quantity != left)
			return false;
	}
	return n > 0;
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

/* POST /orders/{id}/refund (csrf_token, key, reason, qty_<productId>...) → 303 to the order
 * with ?done=refund_requested or refunded. The confirm step of GET /orders/{id}/refund has
 * checked the fields next to each one; what is refused here (a race, a replay) is a page. */
static int
page_refund(struct req *r)
{
	struct refunds_req q;
	struct refund out;
	enum refunds_rc rc;

	struct order o;

	req_init(r, &q);
	if (read_form(r, &q) != 0)
		return 0;
	/* Everything left, chosen line by line, is the full cancel it amounts to: the shipping
	 * fees come back with it (a refund of chosen lines keeps them: the rest still ships). */
	if (orders_get(r->app->db, r->a, q.order_public_id, true, &o) == 1 &&
	    o.user_id == sess_user(r) && takes_everything(&o, q.lines, q.nlines))
		q.nlines = 0;
	rc = refunds_request(r->app->db, r->a, &q, &out);
	return answer(r, rc, &out, true, q.order_public_id);
}

/* ---- the confirmation pages ------------------------------------------------------------------ */

/* The signed-in shopper's order {id} with details into *o. Returns 1, 0 after answering 404
 * (unknown, or someone else's), -1 on a database error. */
static int
my_order_or_404(struct req *r, struct order *o)
{
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), true, o);

	if (rc < 0)
		return -1;
	if (rc == 0 || o->user_id != sess_user(r)) {
		resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
		return 0;
	}
	return 1;
}

/* 1 when the shopper may refund order o now (paid, in the window, something left), 0 when
 * not, -1 on a database error. */
static int
refundable(struct req *r, const struct order *o)
{
	if (o->status != ORDER_PAID && o->status != ORDER_PARTIALLY_CANCELED)
		return 0;
	return refunds_shopper_may(r->app->db, r->a, o->id,
	    (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS));
}

/* A confirmation page's common values: the order's view, the CSRF token and a fresh key (one
 * per rendered form: a double submit acts once). NULL after answering 503, or on a database
 * error (*failed set). */
static struct json_object *
confirm_ctx(struct req *r, const struct order *o, const char *title, bool *failed)
{
	struct json_object *ctx, *view;
	char key[ORDERS_ID_LEN + 1];
	const char *csrf = sess_csrf(r);

	*failed = false;
	if (csrf == NULL) {
		resp_fail(r, RESP_UNAVAILABLE);
		return NULL;
	}
	view = shopview_json(r, o);
	if (view == NULL) {
		*failed = true;
		return NULL;
	}
	ids_new(key, sizeof(key));
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(title));
	json_object_object_add(ctx, "order", view);
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "key", json_object_new_string(key));
	return ctx;
}

/* GET /orders/{id}/cancel: asks before cancelling: an unpaid order is given up (its stock
 * returns), a paid one is refunded in full through its payment method. The form posts to
 * POST /orders/{id}/cancel (fcgi/orders.c). 404 for another's order; 409 page when the order
 * can no longer be cancelled here. */
static int
page_cancel_confirm(struct req *r)
{
	struct json_object *ctx;
	struct order o;
	bool failed;
	int rc = my_order_or_404(r, &o), may;

	if (rc <= 0)
		return rc;
	may = o.status == ORDER_PENDING ? 1 : refundable(r, &o);
	if (may < 0)
		return -1;
	if (may == 0)
		return resp_error(r, 409, "ORDER_NOT_CANCELABLE",
		    "이 주문은 지금 취소할 수 없습니다. 배송이 시작되었거나 취소 기간이 지났다면 고객센터로 문의해 주세요.");
	ctx = confirm_ctx(r, &o, "주문 취소", &failed);
	if (ctx == NULL)
		return failed ? -1 : 0;
	json_object_object_add(ctx, "unpaid", json_object_new_boolean(o.status == ORDER_PENDING));
	return resp_page(r, 200, "order_cancel", ctx);
}

/* What the refund form asked for, line by line, and what was wrong with it. */
struct refund_choice {
	struct json_object *lines;   /* the form's lines, each with "asked" and its "error" */
	struct refunds_line_req *picked;
	size_t npicked;
	int64_t amount;              /* what the picked lines are worth */
	const char *reason;          /* NULL when none */
	const char *reason_error;
	const char *lines_error;     /* nothing picked, or a quantity was wrong */
};

/* Reads ?qty_<productId>= and ?reason= of the refund form against order o's lines into *c.
 * Returns 1 when everything is acceptable and something was picked, 0 when the form must be
 * shown again with its errors (only when confirm: a first visit shows no errors). */
static int
refund_choice_read(struct req *r, const struct order *o, bool confirm, struct refund_choice *c)
{
	const char *v;
	size_t i;
	bool bad = false;

	memset(c, 0, sizeof(*c));
	c->lines = json_object_new_array();
	c->picked = arena_alloc(r->a, (o->nlines + 1) * sizeof(*c->picked));
	for (i = 0; i < o->nlines; i++) {
		const struct order_line *l = &o->lines[i];
		struct json_object *x;
		int left = l->quantity - l->canceled_quantity;
		int64_t asked = 0, worth;

		if (left <= 0)
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "product_id", json_object_new_int64(l->product_id));
		json_object_object_add(x, "name", json_object_new_string(l->name));
		json_object_object_add(x, "unit_price", json_object_new_int64(l->unit_price));
		json_object_object_add(x, "left", json_object_new_int(left));
		if (form_get(&r->query, arena_printf(r->a, QTY_PREFIX "%" PRId64, l->product_id),
		    &v, NULL) == 0 && v[0] != '\0' && valid_int64(v, 0, left, &asked) != 0) {
			json_object_object_add(x, "error", json_object_new_string(arena_printf(r->a,
			    "0~%d 사이의 수량을 입력해 주세요.", left)));
			json_object_object_add(x, "typed", json_object_new_string(v));
			bad = true;
			asked = 0;
		}
		json_object_object_add(x, "asked", json_object_new_int64(asked));
		if (asked > 0 && money_mul(l->unit_price, asked, &worth) == 0 &&
		    money_add(c->amount, worth, &c->amount) == 0) {
			c->picked[c->npicked].product_id = l->product_id;
			c->picked[c->npicked].quantity = (int)asked;
			c->npicked++;
			json_object_object_add(x, "worth", json_object_new_int64(worth));
		}
		json_object_array_add(c->lines, x);
	}
	if (form_get(&r->query, "reason", &v, NULL) == 0 && v[0] != '\0') {
		c->reason = v;
		if (read_reason(v, &c->reason) != 0) {
			c->reason_error = "환불 사유는 200자까지 입력해 주세요.";
			bad = true;
		}
	}
	if (!bad && c->npicked == 0)
		c->lines_error = "환불할 상품의 수량을 하나 이상 입력해 주세요.";
	if (bad && c->reason_error == NULL && c->npicked == 0)
		c->lines_error = "수량을 확인해 주세요.";
	if (!confirm) {
		c->reason_error = NULL;
		c->lines_error = NULL;
		return 0;
	}
	return !bad && c->npicked > 0;
}

/* GET /orders/{id}/refund[?step=confirm&qty_<productId>=&reason=]: the partial refund form
 * (how many of each line, why); its submit is a GET to the confirm step, which shows the
 * errors next to their fields, or what will be refunded and for how much with the form that
 * POSTs /orders/{id}/refund. 404 for another's order; 409 page past the window. */
static int
page_refund_form(struct req *r)
{
	struct refund_choice c;
	struct json_object *ctx;
	struct order o;
	const char *step;
	bool failed, confirm;
	int rc = my_order_or_404(r, &o), may;

	if (rc <= 0)
		return rc;
	may = refundable(r, &o);
	if (may < 0)
		return -1;
	if (may == 0)
		return resp_error(r, 409, "REFUND_NOT_ALLOWED",
		    "이 주문은 지금 환불을 신청할 수 없습니다. 고객센터로 문의해 주세요.");
	confirm = form_get(&r->query, "step", &step, NULL) == 0 && strcmp(step, "confirm") == 0;
	rc = refund_choice_read(r, &o, confirm, &c);
	ctx = confirm_ctx(r, &o, "환불 신청", &failed);
	if (ctx == NULL) {
		json_object_put(c.lines);
		return failed ? -1 : 0;
	}
	json_object_object_add(ctx, "lines", c.lines);
	if (c.reason != NULL)
		json_object_object_add(ctx, "reason", json_object_new_string(c.reason));
	if (c.reason_error != NULL)
		json_object_object_add(ctx, "reason_error", json_object_new_string(c.reason_error));
	if (c.lines_error != NULL)
		json_object_object_add(ctx, "lines_error", json_object_new_string(c.lines_error));
	if (rc == 1) {
		bool all = takes_everything(&o, c.picked, c.npicked);

		json_object_object_add(ctx, "confirm", json_object_new_boolean(true));
		json_object_object_add(ctx, "amount", json_object_new_int64(all ?
		    o.amount - o.refunded_amount : c.amount));
		json_object_object_add(ctx, "with_fees", json_object_new_boolean(all &&
		    o.amount - o.refunded_amount > c.amount));
	}
	return resp_page(r, confirm && rc != 1 ? 400 : 200, "order_refund", ctx);
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
	{ METHOD_GET,  "/orders/{id}/cancel",          page_cancel_confirm, ROUTE_HTML | ROUTE_LOGIN, "order_cancel_confirm" },
	{ METHOD_GET,  "/orders/{id}/refund",          page_refund_form,  ROUTE_HTML | ROUTE_LOGIN, "order_refund_form" },
	{ METHOD_POST, "/orders/{id}/refund",          page_refund,       ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "order_refund" },
	{ METHOD_POST, "/api/v1/orders/{id}/refunds",  api_refund_create, ROUTE_JSON | ROUTE_LOGIN | ROUTE_CSRF, "api_refund_create" },
	{ METHOD_GET,  "/api/v1/orders/{id}/refunds",  api_refunds_list,  ROUTE_JSON | ROUTE_LOGIN, "api_refunds_list" },
	{ 0, NULL, NULL, 0, NULL },
};
