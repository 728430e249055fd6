/* cart: the cart page with its forms (add, change quantity, remove) and the JSON twin under
 * /api/v1/cart. Guests have carts too (kept under their session); a signed-in shopper's cart
 * is kept under their user id and the guest cart joins it at login (fcgi/sess.c). The cart
 * holds quantities only: every amount shown is priced from the database when it is read.
 * 다시 결제하기 (POST /orders/{id}/reorder) puts an unpaid order's lines back into the cart. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "shop/cart.h"
#include "shop/orders.h"
#include "shop/shipping.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/jparse.h"
#include "infra/redis.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

static const char MSG_NO_PRODUCT[] = "해당 상품이 존재하지 않습니다.";
static const char MSG_BAD_ID[] = "잘못된 상품 번호입니다.";
static const char MSG_QTY_MISSING[] = "수량이 누락되었습니다.";

/* Longest `next` path /cart/add accepts. */

/* How a refusal is answered. */
struct answer {
	int status;
	const char *code;
	const char *message;   /* in r's arena or static */
};

/* Whose cart this request works on: the signed-in user's, else the session's (a guest).
 * Returns 0, or -1 when the request has no session (a guest who never got one). */
static int
owner_of(const struct req *r, struct cart_owner *o)
{
	memset(o, 0, sizeof(*o));
	if (sess_user(r) > 0) {
		o->user_id = sess_user(r);
		return 0;
	}
	if (!r->has_sess)
		return -1;
	o->session_id = r->sess.id;
	return 0;
}

static void
limits(const struct req *r, struct cart_limits *lim)
{
	cart_limits_from_conf(r->app->conf, lim);
}

/* The answer for a refused cart call (rc < 0, not CART_DB): lo is the smallest quantity the
 * call accepted (1 to add, 0 to set). */
static struct answer
refusal(struct req *r, int rc, int lo)
{
	struct cart_limits lim;

	limits(r, &lim);
	switch (rc) {
	case CART_NO_PRODUCT:
		return (struct answer){ 404, "PRODUCT_NOT_FOUND", MSG_NO_PRODUCT };
	case CART_BAD_QUANTITY:
		return (struct answer){ 400, "INVALID_QUANTITY", arena_printf(r->a,
		    "수량은 %d~%d 사이의 정수여야 합니다.", lo, lim.max_quantity) };
	case CART_FULL:
		return (struct answer){ 409, "CART_FULL", arena_printf(r->a,
		    "장바구니에는 최대 %d종류의 상품을 담을 수 있습니다.", lim.max_lines) };
	default:
		return (struct answer){ 503, "SERVICE_UNAVAILABLE",
		    "장바구니를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요." };
	}
}

/* The JSON shape of a cart: {"lines": [{"productId", "name", "unitPrice", "quantity",
 * "lineAmount", "available", "active"}], "total", "totalQuantity"}. */
static struct json_object *
cart_json(const struct cart *c)
{
	struct json_object *o = json_object_new_object(), *lines = json_object_new_array();
	size_t i;

	for (i = 0; i < c->nlines; i++) {
		const struct cart_line *l = &c->lines[i];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "productId", json_object_new_int64(l->product_id));
		json_object_object_add(j, "name", json_object_new_string(l->name));
		json_object_object_add(j, "unitPrice", json_object_new_int64(l->unit_price));
		json_object_object_add(j, "quantity", json_object_new_int64(l->quantity));
		json_object_object_add(j, "lineAmount", json_object_new_int64(l->line_amount));
		json_object_object_add(j, "available", json_object_new_int64(l->available));
		json_object_object_add(j, "active", json_object_new_boolean(l->active));
		json_object_array_add(lines, j);
	}
	json_object_object_add(o, "lines", lines);
	json_object_object_add(o, "total", json_object_new_int64(c->total));
	json_object_object_add(o, "totalQuantity", json_object_new_int64(c->total_quantity));
	return o;
}

/* Loads the request's cart into *c (empty for a guest without a session). Returns 0, 1
 * after answering 503 (Redis down), or -1 on a MariaDB failure (nothing answered). */
static int
load_cart(struct req *r, struct cart *c)
{
	struct cart_owner o;
	struct cart_limits lim;
	struct answer ans;
	int rc;

	memset(c, 0, sizeof(*c));
	if (owner_of(r, &o) != 0) {
		/* No session: no cart, unless the session is missing because Redis is down. */
		if (redis_ping(r->app->redis) == 0)
			return 0;
		resp_fail(r, RESP_UNAVAILABLE);
		return 1;
	}
	limits(r, &lim);
	rc = cart_get(r->app->redis, r->app->db, r->a, &o, &lim, c);
	if (rc == CART_OK)
		return 0;
	if (rc == CART_DB)
		return -1;
	ans = refusal(r, rc, 1);
	if (ans.status == 503)
		resp_fail(r, RESP_UNAVAILABLE);
	else
		resp_error(r, ans.status, ans.code, ans.message);
	return 1;
}

/* ---- pages ------------------------------------------------------------------------------- */

/* Quotes the shipping fees of cart c's sold lines (the same quote checkout charges). 0 or
 * -1. */
static int
quote_fees(struct req *r, const struct cart *c, struct shipping_quote *q)
{
	struct shipping_rule shop;
	int64_t *sellers = arena_alloc(r->a, (c->nlines + 1) * sizeof(*sellers));
	int64_t *amounts = arena_alloc(r->a, (c->nlines + 1) * sizeof(*amounts));
	size_t i;

	shipping_rule_from_conf(r->app->conf, &shop);
	for (i = 0; i < c->nlines; i++) {
		sellers[i] = c->lines[i].active ? c->lines[i].seller_id : 0;
		amounts[i] = c->lines[i].line_amount;
	}
	return shipping_quote(r->app->db, r->a, &shop, sellers, amounts, c->nlines, q) == 0 ?
	    0 : -1;
}

/* Renders the cart page with status; error is a message about the last form, or NULL. */
static int
render_cart(struct req *r, int status, const char *error)
{
	struct shipping_quote q;
	struct json_object *ctx, *lines;
	struct cart_limits lim;
	struct cart c;
	const char *csrf;
	bool problem = false;
	size_t i;
	int rc;

	csrf = sess_csrf(r);   /* before loading: a guest's first visit gets a session here */
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	rc = load_cart(r, &c);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	limits(r, &lim);

	lines = json_object_new_array();
	for (i = 0; i < c.nlines; i++) {
		const struct cart_line *l = &c.lines[i];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "product_id", json_object_new_int64(l->product_id));
		json_object_object_add(j, "name", json_object_new_string(l->name));
		json_object_object_add(j, "unit_price", json_object_new_int64(l->unit_price));
		json_object_object_add(j, "quantity", json_object_new_int64(l->quantity));
		json_object_object_add(j, "line_amount", json_object_new_int64(l->line_amount));
		json_object_object_add(j, "available", json_object_new_int64(l->available));
		json_object_object_add(j, "active", json_object_new_boolean(l->active));
		json_object_object_add(j, "seller", json_object_new_string(l->seller));
		if (l->image != NULL)
			json_object_object_add(j, "image", json_object_new_string(l->image));
		if (l->active && l->available == 0)
			json_object_object_add(j, "sold_out", json_object_new_boolean(1));
		else if (l->active && l->available < l->quantity)
			json_object_object_add(j, "short", json_object_new_boolean(1));
		if (!l->active || l->available < l->quantity)
			problem = true;
		json_object_array_add(lines, j);
	}
	if (quote_fees(r, &c, &q) != 0) {
		json_object_put(lines);
		return -1;
	}
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("장바구니"));
	json_object_object_add(ctx, "fees", json_object_new_int64(q.fees));
	json_object_object_add(ctx, "pay_total", json_object_new_int64(q.total));
	json_object_object_add(ctx, "lines", lines);
	json_object_object_add(ctx, "total", json_object_new_int64(c.total));
	json_object_object_add(ctx, "total_quantity", json_object_new_int64(c.total_quantity));
	json_object_object_add(ctx, "max_quantity", json_object_new_int64(lim.max_quantity));
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	if (problem)
		json_object_object_add(ctx, "problem", json_object_new_boolean(1));
	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	return resp_page(r, status, "cart", ctx);
}

/* GET /cart: the cart's lines with current prices, stock warnings, the total, the forms. */
static int
page_cart(struct req *r)
{
	return render_cart(r, 200, NULL);
}

/* The product_id field of the form. Returns 0, 1 after re-rendering the page with 400, or
 * -1 when that failed. */
static int
form_product_or_400(struct req *r, int64_t *id)
{
	const char *s;

	if (form_get(&r->form, "product_id", &s, NULL) == 0 && valid_int64(s, 1, INT64_MAX, id) == 0)
		return 0;
	return render_cart(r, 400, MSG_BAD_ID) == 0 ? 1 : -1;
}

/* The quantity field of the form (dflt when absent and dflt >= 0). Returns 0, 1 after
 * re-rendering the page with 400, or -1 when that failed. Out-of-range integers pass here;
 * lib/shop/cart judges them. */
static int
form_quantity_or_400(struct req *r, int dflt, int lo, int *qty)
{
	const char *s;
	int64_t v;
	int rc = form_get(&r->form, "quantity", &s, NULL);

	if (rc == 1 && dflt >= 0) {
		*qty = dflt;
		return 0;
	}
	if (rc == 0 && valid_int64(s, INT32_MIN, INT32_MAX, &v) == 0) {
		*qty = (int)v;
		return 0;
	}
	return render_cart(r, 400, rc == 1 ? MSG_QTY_MISSING :
	    refusal(r, CART_BAD_QUANTITY, lo).message) == 0 ? 1 : -1;
}

/* Where /cart/add sends the shopper: the `next` field when it is a path on this site
 * (valid_next_path), else /cart. */
static const char *
next_path(struct req *r)
{
	const char *s;
	size_t len;

	if (form_get(&r->form, "next", &s, &len) != 0 || !valid_next_path(s, len))
		return "/cart";
	return s;
}

/* Finishes a form: 303 to where on success, the page with the refusal otherwise. */
static int
form_done(struct req *r, int rc, int lo, const char *where)
{
	struct answer ans;

	if (rc == CART_OK)
		return resp_redirect(r, where);
	if (rc == CART_DB)
		return -1;
	ans = refusal(r, rc, lo);
	if (ans.status == 503)
		return resp_fail(r, RESP_UNAVAILABLE);
	return render_cart(r, ans.status, ans.message);
}

/* POST /cart/add (product_id, quantity = 1, next): adds, then 303 to next or /cart. */
static int
page_cart_add(struct req *r)
{
	struct cart_limits lim;
	struct cart_owner o;
	int64_t id;
	int qty, rc;

	rc = form_product_or_400(r, &id);
	if (rc == 0)
		rc = form_quantity_or_400(r, 1, 1, &qty);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);   /* unreachable: ROUTE_CSRF needs a session */
	limits(r, &lim);
	return form_done(r, cart_add(r->app->redis, r->app->db, &o, &lim, id, qty), 1,
	    next_path(r));
}

/* POST /cart/update (product_id, quantity; 0 removes): 303 to /cart. */
static int
page_cart_update(struct req *r)
{
	struct cart_limits lim;
	struct cart_owner o;
	int64_t id;
	int qty, rc;

	rc = form_product_or_400(r, &id);
	if (rc == 0)
		rc = form_quantity_or_400(r, -1, 0, &qty);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);
	limits(r, &lim);
	return form_done(r, cart_set(r->app->redis, r->app->db, &o, &lim, id, qty), 0, "/cart");
}

/* POST /cart/remove (product_id): 303 to /cart (also when the line was not there). */
static int
page_cart_remove(struct req *r)
{
	struct cart_owner o;
	int64_t id;
	int rc = form_product_or_400(r, &id);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);
	return form_done(r, cart_remove(r->app->redis, &o, id), 0, "/cart");
}

/* POST /orders/{id}/reorder: 다시 결제하기 for the signed-in shopper's order that was not paid
 * (failed, expired, or cancelled before payment): each line goes back into the cart with the
 * order's quantity (a line already there is set to it, so pressing twice adds nothing), then
 * 303 to /checkout. Products no longer sold are left out; when none is left, 409 page. 404
 * for another's order or a paid one. */
static int
page_reorder(struct req *r)
{
	struct cart_limits lim;
	struct cart_owner o = { sess_user(r), NULL };
	struct order ord;
	size_t i, put = 0;
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), true, &ord);

	if (rc < 0)
		return -1;
	if (rc == 0 || ord.user_id != sess_user(r) || !(ord.status == ORDER_FAILED ||
	    ord.status == ORDER_EXPIRED || (ord.status == ORDER_CANCELED && ord.paid_at == NULL)))
		return resp_error(r, 404, "ORDER_NOT_FOUND", "주문을 찾을 수 없습니다.");
	limits(r, &lim);
	for (i = 0; i < ord.nlines; i++) {
		rc = cart_set(r->app->redis, r->app->db, &o, &lim, ord.lines[i].product_id,
		    ord.lines[i].quantity);
		if (rc == CART_UNAVAILABLE)
			return resp_fail(r, RESP_UNAVAILABLE);
		if (rc == CART_DB)
			return -1;
		if (rc == CART_OK)
			put++;
	}
	if (put == 0)
		return resp_error(r, 409, "NOTHING_TO_REORDER",
		    "주문하셨던 상품을 지금은 판매하지 않습니다. 다른 상품을 둘러봐 주세요.");
	return resp_redirect(r, "/checkout");
}

/* ---- JSON -------------------------------------------------------------------------------- */

/* Answers 200 with the request's cart as it is now. */
static int
answer_cart(struct req *r)
{
	struct cart c;
	int rc = load_cart(r, &c);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return resp_json(r, 200, cart_json(&c));
}

/* Answers a cart call's result: the cart, or the refusal's envelope. */
static int
api_done(struct req *r, int rc, int lo)
{
	struct answer ans;

	if (rc == CART_OK)
		return answer_cart(r);
	if (rc == CART_DB)
		return -1;
	ans = refusal(r, rc, lo);
	if (ans.status == 503)
		return resp_fail(r, RESP_UNAVAILABLE);
	return resp_error(r, ans.status, ans.code, ans.message);
}

/* The "quantity" member. Returns 0, or -1 after answering 400 (missing: QUANTITY_REQUIRED
 * unless dflt >= 0; not an integer: INVALID_QUANTITY). Range is judged by lib/shop/cart. */
static int
json_quantity_or_400(struct req *r, int dflt, int lo, int *qty)
{
	int64_t v;

	switch (jparse_int64(r->json, "quantity", INT32_MIN, INT32_MAX, &v)) {
	case 0:
		*qty = (int)v;
		return 0;
	case 1:
		if (dflt >= 0) {
			*qty = dflt;
			return 0;
		}
		resp_error(r, 400, "QUANTITY_REQUIRED", MSG_QTY_MISSING);
		return -1;
	default: {
		/* Not an integer, or one past int32: either way outside lo..max_quantity. */
		struct answer ans = refusal(r, CART_BAD_QUANTITY, lo);

		resp_error(r, ans.status, ans.code, ans.message);
		return -1;
	}
	}
}

/* The {productId} of the path. Returns 0, or -1 after answering 400 INVALID_PRODUCT_ID. */
static int
path_product_or_400(struct req *r, int64_t *id)
{
	if (req_path_id(r, 0, id) == 0)
		return 0;
	resp_error(r, 400, "INVALID_PRODUCT_ID", MSG_BAD_ID);
	return -1;
}

/* GET /api/v1/cart: the cart (an empty one for a guest without a session). 200, 503. */
static int
api_cart(struct req *r)
{
	return answer_cart(r);
}

/* POST /api/v1/cart/items {"productId", "quantity" (default 1)}: adds; the cart. 200, 400
 * (INVALID_FIELDS, INVALID_PRODUCT_ID, INVALID_QUANTITY), 404 PRODUCT_NOT_FOUND, 409
 * CART_FULL, 503. */
static int
api_item_add(struct req *r)
{
	static const char *const fields[] = { "productId", "quantity", NULL };
	struct cart_limits lim;
	struct cart_owner o;
	int64_t id;
	int qty;

	if (jparse_only_keys(r->json, fields) != 0)
		return resp_error(r, 400, "INVALID_FIELDS",
		    "요청 본문은 productId와 quantity만 담은 객체여야 합니다.");
	if (jparse_int64(r->json, "productId", 1, INT64_MAX, &id) != 0)
		return resp_error(r, 400, "INVALID_PRODUCT_ID", MSG_BAD_ID);
	if (json_quantity_or_400(r, 1, 1, &qty) != 0)
		return 0;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);
	limits(r, &lim);
	return api_done(r, cart_add(r->app->redis, r->app->db, &o, &lim, id, qty), 1);
}

/* PUT /api/v1/cart/items/{productId} {"quantity"}: sets the line (0 removes); the cart.
 * 200, 400 (INVALID_FIELDS, INVALID_PRODUCT_ID, QUANTITY_REQUIRED, INVALID_QUANTITY), 404
 * PRODUCT_NOT_FOUND, 409 CART_FULL, 503. */
static int
api_item_set(struct req *r)
{
	static const char *const fields[] = { "quantity", NULL };
	struct cart_limits lim;
	struct cart_owner o;
	int64_t id;
	int qty;

	if (path_product_or_400(r, &id) != 0)
		return 0;
	if (jparse_only_keys(r->json, fields) != 0)
		return resp_error(r, 400, "INVALID_FIELDS",
		    "요청 본문은 quantity 하나만 담은 객체여야 합니다.");
	if (json_quantity_or_400(r, -1, 0, &qty) != 0)
		return 0;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);
	limits(r, &lim);
	return api_done(r, cart_set(r->app->redis, r->app->db, &o, &lim, id, qty), 0);
}

/* The body of a DELETE: none, or {}. Returns 0, or -1 after answering 400 INVALID_FIELDS. */
static int
empty_body_or_400(struct req *r)
{
	static const char *const fields[] = { NULL };

	if (r->json == NULL || jparse_only_keys(r->json, fields) == 0)
		return 0;
	resp_error(r, 400, "INVALID_FIELDS", "요청 본문은 빈 객체({})여야 합니다.");
	return -1;
}

/* DELETE /api/v1/cart/items/{productId} {}: removes the line (absent is fine); the cart.
 * 200, 400, 503. */
static int
api_item_remove(struct req *r)
{
	struct cart_owner o;
	int64_t id;

	if (path_product_or_400(r, &id) != 0 || empty_body_or_400(r) != 0)
		return 0;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);
	return api_done(r, cart_remove(r->app->redis, &o, id), 0);
}

/* DELETE /api/v1/cart {}: empties the cart; the (empty) cart. 200, 400, 503. */
static int
api_clear(struct req *r)
{
	struct cart_owner o;

	if (empty_body_or_400(r) != 0)
		return 0;
	if (owner_of(r, &o) != 0)
		return resp_fail(r, RESP_CSRF);
	return api_done(r, cart_clear(r->app->redis, &o), 0);
}

const struct route cart_routes[] = {
	{ METHOD_GET,    "/cart",                         page_cart,        ROUTE_HTML, "cart" },
	{ METHOD_POST,   "/cart/add",                     page_cart_add,    ROUTE_HTML | ROUTE_CSRF, "cart_add" },
	{ METHOD_POST,   "/cart/update",                  page_cart_update, ROUTE_HTML | ROUTE_CSRF, "cart_update" },
	{ METHOD_POST,   "/cart/remove",                  page_cart_remove, ROUTE_HTML | ROUTE_CSRF, "cart_remove" },
	{ METHOD_POST,   "/orders/{id}/reorder",          page_reorder,     ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "order_reorder" },
	{ METHOD_GET,    "/api/v1/cart",                  api_cart,         ROUTE_JSON, "api_cart" },
	{ METHOD_DELETE, "/api/v1/cart",                  api_clear,        ROUTE_JSON | ROUTE_CSRF, "api_cart_clear" },
	{ METHOD_POST,   "/api/v1/cart/items",            api_item_add,     ROUTE_JSON | ROUTE_CSRF, "api_cart_item_add" },
	{ METHOD_PUT,    "/api/v1/cart/items/{id}",       api_item_set,     ROUTE_JSON | ROUTE_CSRF, "api_cart_item_set" },
	{ METHOD_DELETE, "/api/v1/cart/items/{id}",       api_item_remove,  ROUTE_JSON | ROUTE_CSRF, "api_cart_item_remove" },
	{ 0, NULL, NULL, 0, NULL },
};
