/* checkout: creating an order and handing the shopper to the PG: the checkout page over the
 * cart (address, fees, method, consent), POST /api/v1/orders in seed 002's shape and the PG's
 * payment window (Toss's URL, KakaoPay's ready call through lib/shop/orders). Prices and
 * amounts come only from the database; the rules live in lib/shop/orders*.c. The PGs' return
 * URLs are fcgi/pg_return.c's, the order pages fcgi/orders.c's (fcgi/orders.h is what the
 * three share). */
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
#include "shop/shipping.h"
#include "shopview.h"
#include "req.h"
#include "orders.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

static const char MSG_METHOD[] = "사용할 수 없는 결제 수단입니다.";
static const char MSG_READY_FAILED[] =
    "결제를 준비하지 못했습니다. 잠시 후 다시 시도해 주세요. 재고는 되돌려졌습니다.";
static const char MSG_EMPTY_CART[] = "장바구니가 비어 있습니다.";

/* How each refused checkout is answered (CREATED, REPLAYED and FAILED are answered apart). */
static const struct {
	int status;
	const char *code;
	const char *message;
} create_answers[ORDERS_CREATE__MAX] = {
	[ORDERS_KEY_REUSED]      = { 422, "IDEMPOTENCY_KEY_REUSED", "이미 다른 주문에 사용된 멱등성 키입니다." },
	[ORDERS_NO_PRODUCT]      = { 404, "PRODUCT_NOT_FOUND", "해당 상품이 존재하지 않습니다." },
	[ORDERS_SOLD_OUT]        = { 409, "SOLD_OUT", "품절된 상품이 존재합니다." },
	[ORDERS_AMOUNT_MISMATCH] = { 409, "AMOUNT_MISMATCH",
	                             "상품 정보가 변경되어 결제 금액이 주문 금액과 다릅니다. 상품 가격을 다시 확인해 주세요." },
	[ORDERS_PRODUCT_CHANGED] = { 409, "PRODUCT_CHANGED",
	                             "상품 정보가 변경되었습니다. 상품명과 가격을 다시 확인한 뒤 주문해 주세요." },
	[ORDERS_NO_POINTS]       = { 409, "INSUFFICIENT_POINTS", "결제 금액이 부족합니다." },
	[ORDERS_TOO_LARGE]       = { 422, "AMOUNT_TOO_LARGE", "주문 금액이 너무 큽니다." },
	[ORDERS_NO_USER]         = { 404, "USER_NOT_FOUND", "해당 유저가 존재하지 않습니다." },
};

static bool
method_enabled(struct req *r, enum order_pay pay)
{
	return orders_pay_enabled(r->app->conf, pay);
}

void
checkout_forget_bought(struct req *r, const struct order *o)
{
	struct cart_owner owner = { sess_user(r), NULL };
	int64_t *ids = arena_alloc(r->a, (o->nlines + 1) * sizeof(*ids));
	size_t i;

	for (i = 0; i < o->nlines; i++)
		ids[i] = o->lines[i].product_id;
	if (cart_remove_products(r->app->redis, &owner, ids, o->nlines) != CART_OK)
		log_warn(&r->log, "orders: the lines of %s stay in user %" PRId64 "'s cart",
		    o->public_id, sess_user(r));
}

/* ---- what the PG's payment window needs -------------------------------------------------- */

static const char *
site_url(struct req *r, const char *path)
{
	return arena_printf(r->a, "%s%s", conf_str(r->app->conf, CONF_SITE_BASE_URL), path);
}

/* Toss's payment window URL with what it needs in the query. */
static const char *
toss_checkout_url(struct req *r, const struct order *o)
{
	struct buf u;
	const char *out;

	buf_init(&u);
	buf_puts(&u, conf_str(r->app->conf, CONF_PG_TOSS_CHECKOUT_URL));
	buf_puts(&u, "?orderId=");
	esc_url_query(&u, o->public_id);
	buf_printf(&u, "&amount=%" PRId64 "&orderName=", o->amount);
	esc_url_query(&u, o->order_name);
	buf_puts(&u, "&successUrl=");
	esc_url_query(&u, site_url(r, "/checkout/toss/success"));
	buf_puts(&u, "&failUrl=");
	esc_url_query(&u, site_url(r, "/checkout/toss/fail"));
	buf_puts(&u, "&clientKey=");
	esc_url_query(&u, conf_str(r->app->conf, CONF_PG_TOSS_CLIENT_KEY));
	out = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return out;
}

/* Where the shopper goes to pay a PENDING PG order: NULL when there is nowhere (points, or a
 * KakaoPay order whose ready call never answered). */
const char *
checkout_pay_url(struct req *r, const struct order *o)
{
	if (o->status != ORDER_PENDING)
		return NULL;
	if (o->pay == ORDER_PAY_TOSS)
		return toss_checkout_url(r, o);
	if (o->pay == ORDER_PAY_KAKAOPAY)
		return o->pg_redirect_url;
	return NULL;
}

/* The "payment" member of a checkout's answer: what a script needs to open the PG's window. */
static struct json_object *
payment_json(struct req *r, const struct order *o)
{
	struct json_object *p;
	const char *url = checkout_pay_url(r, o);

	if (url == NULL)
		return NULL;
	p = json_object_new_object();
	json_object_object_add(p, "pg", json_object_new_string(orders_pay_name(o->pay)));
	json_object_object_add(p, "redirectUrl", json_object_new_string(url));
	if (o->pay == ORDER_PAY_TOSS) {
		json_object_object_add(p, "clientKey", json_object_new_string(
		    conf_str(r->app->conf, CONF_PG_TOSS_CLIENT_KEY)));
		json_object_object_add(p, "orderId", json_object_new_string(o->public_id));
		json_object_object_add(p, "amount", json_object_new_int64(o->amount));
		json_object_object_add(p, "orderName", json_object_new_string(o->order_name));
		json_object_object_add(p, "successUrl", json_object_new_string(
		    site_url(r, "/checkout/toss/success")));
		json_object_object_add(p, "failUrl", json_object_new_string(
		    site_url(r, "/checkout/toss/fail")));
	}
	return p;
}

/* KakaoPay's ready call for a new order (lib/shop/orders, through the breaker gate, outside
 * any transaction). On failure the order is ended (FAILED, stock back) and *o reloaded.
 * Returns 0 ready, 1 failed (answer MSG_READY_FAILED), -1 on a database error. */
static int
kakaopay_ready(struct req *r, struct order *o)
{
	struct orders_return_urls urls = {
		site_url(r, arena_printf(r->a, "/checkout/kakaopay/approve?orderId=%s", o->public_id)),
		site_url(r, arena_printf(r->a, "/checkout/kakaopay/cancel?orderId=%s", o->public_id)),
		site_url(r, arena_printf(r->a, "/checkout/kakaopay/fail?orderId=%s", o->public_id)),
	};

	switch (orders_pg_ready(r->app->db, r->a, r->app->conf, &urls, o)) {
	case ORDERS_MOVED:
	case ORDERS_ALREADY:
		return 0;
	case ORDERS_WRONG_STATE:
		log_warn(&r->log, "orders: KakaoPay ready for %s failed: the order was ended",
		    o->public_id);
		return 1;
	default:
		return -1;
	}
}

/* ---- checkout ------------------------------------------------------------------------------ */

/* The outcome of one checkout, whichever door it came through. */
struct checkout {
	enum orders_create_rc rc;
	struct order order;
	bool ready_failed;          /* KakaoPay's ready call failed: the order was ended */
};

/* Creates the order and, for KakaoPay, makes the ready call. Returns 0 (see c->rc), or -1 on
 * an internal failure before anything was answered. */
static int
checkout_run(struct req *r, const struct orders_create_req *cr, struct checkout *c)
{
	struct orders_create_req q = *cr;

	memset(c, 0, sizeof(*c));
	shipping_rule_from_conf(r->app->conf, &q.shipping);  /* the API's orders ship too */
	c->rc = orders_create(r->app->db, r->a, &q, &c->order);
	if (c->rc == ORDERS_CREATE_FAILED)
		return -1;
	if (c->rc != ORDERS_CREATED && c->rc != ORDERS_REPLAYED)
		return 0;
	bus_push_batch(r->app->bus, &c->order.jobs);
	if (c->rc == ORDERS_CREATED && c->order.pay == ORDER_PAY_KAKAOPAY) {
		int rc = kakaopay_ready(r, &c->order);

		if (rc < 0)
			return -1;
		c->ready_failed = rc == 1;
	}
	log_info(&r->log, "orders: %s %s %s %" PRId64 " won", c->rc == ORDERS_CREATED ?
	    "created" : "replayed", c->order.public_id, orders_pay_name(c->order.pay),
	    c->order.amount);
	return 0;
}

/* The origin (scheme://host[:port]) of an http(s) URL, in the arena, or NULL when it has none
 * or holds anything but [A-Za-z0-9.:-] (it goes into a CSP header). */
static const char *
url_origin(struct req *r, const char *url)
{
	const char *host, *p;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return NULL;
	for (p = host; *p != '\0' && *p != '/' && *p != '?' && *p != '#'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == ':' || *p == '-'))
			return NULL;
	return p == host ? NULL : arena_strndup(r->a, url, (size_t)(p - url));
}

/* The PG payment windows the checkout form may lead to (its 303 goes straight there), for the
 * page's CSP form-action: Toss's from pg.toss_checkout_url, KakaoPay's from
 * pg.kakaopay_window_origin, each while its PG is on. NULL when none. */
static const char *
checkout_targets(struct req *r)
{
	const char *toss = NULL, *kakao = NULL;

	if (method_enabled(r, ORDER_PAY_TOSS))
		toss = url_origin(r, conf_str(r->app->conf, CONF_PG_TOSS_CHECKOUT_URL));
	if (method_enabled(r, ORDER_PAY_KAKAOPAY))
		kakao = url_origin(r, conf_str(r->app->conf, CONF_PG_KAKAOPAY_WINDOW_ORIGIN));
	if (toss != NULL && kakao != NULL && strcmp(toss, kakao) != 0)
		return arena_printf(r->a, "%s %s", toss, kakao);
	return toss != NULL ? toss : kakao;
}

/* What the checkout form sent, as it goes back into the page when something must be fixed:
 * the choices and, per field, what is wrong. */
struct checkout_form {
	const char *pay;                          /* the method chosen, or NULL */
	int64_t address_id;                       /* the address chosen, 0 for none */
	bool consent;
	const char *fields[ADDRESS_FIELD__MAX];   /* a new address typed in the form */
	const char *address_errors[ADDRESS_FIELD__MAX];
	const char *pay_error, *consent_error, *address_error;
};

/* The checkout page's parcels: [{"seller", "fee", "goods", "free_over", "more" (won more of
 * this seller's goods for free shipping), "lines": [...]}] over the priced cart c, and the
 * quote into *q. NULL on a database error. */
static struct json_object *
parcels_json(struct req *r, const struct cart *c, struct shipping_quote *q)
{
	struct shipping_rule shop;
	struct json_object *list;
	int64_t *sellers, *amounts;
	size_t i, k;

	shipping_rule_from_conf(r->app->conf, &shop);
	sellers = arena_alloc(r->a, (c->nlines + 1) * sizeof(*sellers));
	amounts = arena_alloc(r->a, (c->nlines + 1) * sizeof(*amounts));
	for (i = 0; i < c->nlines; i++) {
		sellers[i] = c->lines[i].active ? c->lines[i].seller_id : 0;
		amounts[i] = c->lines[i].line_amount;
	}
	if (shipping_quote(r->app->db, r->a, &shop, sellers, amounts, c->nlines, q) != 0)
		return NULL;
	list = json_object_new_array();
	for (k = 0; k < q->n; k++) {
		const struct shipping_parcel *p = &q->parcels[k];
		struct json_object *x = json_object_new_object(), *lines = json_object_new_array();

		for (i = 0; i < c->nlines; i++) {
			const struct cart_line *l = &c->lines[i];
			struct json_object *y;
			bool short_stock = l->active && l->available < l->quantity;

			if (sellers[i] != p->seller_id)
				continue;
			y = json_object_new_object();
			json_object_object_add(y, "product_id", json_object_new_int64(l->product_id));
			json_object_object_add(y, "name", json_object_new_string(l->name));
			json_object_object_add(y, "unit_price", json_object_new_int64(l->unit_price));
			json_object_object_add(y, "quantity", json_object_new_int(l->quantity));
			json_object_object_add(y, "line_amount", json_object_new_int64(l->line_amount));
			json_object_object_add(y, "short", json_object_new_boolean(short_stock));
			if (l->image != NULL)
				json_object_object_add(y, "image", json_object_new_string(l->image));
			json_object_array_add(lines, y);
			json_object_object_add(x, "seller", json_object_new_string(l->seller));
		}
		json_object_object_add(x, "fee", json_object_new_int64(p->fee));
		json_object_object_add(x, "goods", json_object_new_int64(p->goods));
		if (p->rule.fee > 0 && p->rule.free_over > 0) {
			json_object_object_add(x, "free_over", json_object_new_int64(p->rule.free_over));
			if (p->fee > 0)
				json_object_object_add(x, "more", json_object_new_int64(
				    p->rule.free_over - p->goods));
		}
		json_object_object_add(x, "lines", lines);
		json_object_array_add(list, x);
	}
	return list;
}

/* The address book for the form: [{"id", "label", ..., "checked"}], the chosen one (or the
 * default) checked. Fills *chosen with its id (0 when the book is empty). NULL on a database
 * error. */
static struct json_object *
book_json(struct req *r, int64_t want, int64_t *chosen)
{
	struct json_object *list;
	struct address *ads;
	int64_t n, i;
	int f;

	*chosen = 0;
	n = addresses_list(r->app->db, r->a, sess_user(r), &ads);
	if (n < 0)
		return NULL;
	for (i = 0; i < n && want > 0; i++)
		if (ads[i].id == want)
			*chosen = want;
	if (*chosen == 0 && n > 0)
		*chosen = ads[0].id;   /* the default comes first */
	list = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "id", json_object_new_int64(ads[i].id));
		for (f = 0; f < ADDRESS_FIELD__MAX; f++)
			json_object_object_add(x, addresses_field_name((enum address_field)f),
			    json_object_new_string(ads[i].f[f]));
		json_object_object_add(x, "is_default", json_object_new_boolean(ads[i].is_default));
		json_object_object_add(x, "checked", json_object_new_boolean(ads[i].id == *chosen));
		json_object_array_add(list, x);
	}
	return list;
}

/* Renders the checkout page over the signed-in user's cart: the parcels by seller with their
 * shipping fees, the address (chosen from the book, or typed here when the book is empty),
 * the payment methods (none chosen until the shopper chooses), the purchase consent, and the
 * amount. form (NULL on a first visit) brings back what was sent and what to fix; error is a
 * message above the form. */
static int
render_checkout(struct req *r, int status, const struct checkout_form *form, const char *error)
{
	struct cart_owner owner = { sess_user(r), NULL };
	struct cart_limits lim;
	struct cart cart;
	struct points_user u;
	struct shipping_quote q;
	struct json_object *ctx, *parcels, *methods, *book, *typed, *errs;
	char key[ORDERS_ID_LEN + 1];
	const char *csrf;
	int64_t chosen;
	bool buyable = true;
	size_t i;
	int rc, m, f;

	cart_limits_from_conf(r->app->conf, &lim);
	rc = cart_get(r->app->redis, r->app->db, r->a, &owner, &lim, &cart);
	if (rc == CART_UNAVAILABLE)
		return resp_fail(r, RESP_UNAVAILABLE);
	if (rc != CART_OK)
		return -1;
	rc = points_get(r->app->db, r->a, sess_user(r), &u);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "USER_NOT_FOUND", "해당 유저가 존재하지 않습니다.");
	csrf = sess_csrf(r);
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	ids_new(key, sizeof(key));  /* one key per rendered form: a double submit orders once */
	for (i = 0; i < cart.nlines; i++)
		if (!cart.lines[i].active || cart.lines[i].available < cart.lines[i].quantity)
			buyable = false;
	parcels = parcels_json(r, &cart, &q);
	if (parcels == NULL)
		return -1;
	book = book_json(r, form != NULL ? form->address_id : 0, &chosen);
	if (book == NULL) {
		json_object_put(parcels);
		return -1;
	}
	methods = json_object_new_array();
	for (m = 0; m < ORDER_PAY__MAX; m++) {
		struct json_object *x;
		const char *name = orders_pay_name((enum order_pay)m);

		if (!method_enabled(r, (enum order_pay)m))
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "value", json_object_new_string(name));
		json_object_object_add(x, "label", json_object_new_string(labels_text(LABEL_PAY, name)));
		json_object_object_add(x, "checked", json_object_new_boolean(
		    form != NULL && form->pay != NULL && strcmp(form->pay, name) == 0));
		json_object_array_add(methods, x);
	}
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("주문/결제"));
	json_object_object_add(ctx, "parcels", parcels);
	json_object_object_add(ctx, "goods", json_object_new_int64(q.goods));
	json_object_object_add(ctx, "fees", json_object_new_int64(q.fees));
	json_object_object_add(ctx, "total", json_object_new_int64(q.total));
	json_object_object_add(ctx, "empty", json_object_new_boolean(cart.nlines == 0));
	if (cart.nlines > 0 && !money_amount_ok(q.total) && error == NULL)
		error = create_answers[ORDERS_TOO_LARGE].message;   /* said before the submit */
	json_object_object_add(ctx, "buyable", json_object_new_boolean(buyable && cart.nlines > 0));
	json_object_object_add(ctx, "points", json_object_new_int64(u.amount));
	json_object_object_add(ctx, "methods", methods);
	json_object_object_add(ctx, "addresses", book);
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "checkout_key", json_object_new_string(key));
	if (form != NULL) {
		typed = json_object_new_object();
		errs = json_object_new_object();
		for (f = 0; f < ADDRESS_FIELD__MAX; f++) {
			const char *name = addresses_field_name((enum address_field)f);

			if (form->fields[f] != NULL)
				json_object_object_add(typed, name, json_object_new_string(form->fields[f]));
			if (form->address_errors[f] != NULL)
				json_object_object_add(errs, name,
				    json_object_new_string(form->address_errors[f]));
		}
		if (form->pay_error != NULL)
			json_object_object_add(errs, "pay", json_object_new_string(form->pay_error));
		if (form->consent_error != NULL)
			json_object_object_add(errs, "consent",
			    json_object_new_string(form->consent_error));
		if (form->address_error != NULL)
			json_object_object_add(errs, "address",
			    json_object_new_string(form->address_error));
		json_object_object_add(ctx, "typed", typed);
		json_object_object_add(ctx, "errors", errs);
		json_object_object_add(ctx, "consent", json_object_new_boolean(form->consent));
	}
	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	r->form_targets = checkout_targets(r);  /* the form's 303 leads into a PG's window */
	return resp_page(r, status, "checkout", ctx);
}

/* GET /checkout */
static int
page_checkout(struct req *r)
{
	return render_checkout(r, 200, NULL, NULL);
}

/* Where the checkout sends the shopper after the order is made: straight into the PG's
 * payment window (no page in between), or to the order (points: paid already). A window on
 * an origin the checkout page's CSP did not name (a KakaoPay answer we did not expect) gets
 * the pay page and its link instead, which the browser may follow. */
static int
checkout_answer(struct req *r, const struct order *o)
{
	const char *url, *origin, *allowed;

	if (o->pay == ORDER_PAY_POINTS)
		return resp_redirect(r, arena_printf(r->a, "/orders/%s", o->public_id));
	url = checkout_pay_url(r, o);
	if (url == NULL)   /* nowhere to send them (a KakaoPay order without its page) */
		return resp_redirect(r, arena_printf(r->a, "/orders/%s", o->public_id));
	origin = url_origin(r, url);
	allowed = checkout_targets(r);
	if (origin == NULL || allowed == NULL || strstr(allowed, origin) == NULL) {
		log_warn(&r->log, "orders: the payment window of %s is on an origin the checkout"
		    " form may not lead to; showing the pay page", o->public_id);
		return resp_redirect(r, arena_printf(r->a, "/orders/%s/pay", o->public_id));
	}
	return resp_redirect_away(r, url);
}

/* Reads and checks the checkout form into *f and *ship_to (the address: chosen from the book,
 * or typed in the form when the book is empty). Returns 0 when everything is acceptable, -1
 * when the page must be shown again with f's messages, -2 on a database error. */
static int
read_checkout_form(struct req *r, struct checkout_form *f, struct address *ship_to,
    enum order_pay *pay)
{
	const char *v;
	int bad = 0, rc, k;

	memset(f, 0, sizeof(*f));
	if (form_get(&r->form, "pay_method", &v, NULL) == 0 && orders_pay_parse(v, pay) == 0 &&
	    method_enabled(r, *pay))
		f->pay = v;
	else {
		f->pay_error = "결제 수단을 선택해 주세요.";
		bad = 1;
	}
	f->consent = form_get(&r->form, "consent", &v, NULL) == 0 && strcmp(v, "1") == 0;
	if (!f->consent) {
		f->consent_error = "주문 내용을 확인하고 결제 진행에 동의해 주세요.";
		bad = 1;
	}
	if (form_get(&r->form, "address_id", &v, NULL) == 0) {
		if (valid_int64(v, 1, INT64_MAX, &f->address_id) != 0)
			f->address_id = 0;
		rc = f->address_id > 0 ? addresses_get(r->app->db, r->a, sess_user(r),
		    f->address_id, ship_to) : 0;
		if (rc < 0)
			return -2;
		if (rc == 0) {
			f->address_error = "배송지를 선택해 주세요.";
			bad = 1;
		}
		return bad ? -1 : 0;
	}
	/* No book yet: the address typed here, saved as the first (default) one. */
	for (k = 0; k < ADDRESS_FIELD__MAX; k++)
		if (form_get(&r->form, addresses_field_name((enum address_field)k), &f->fields[k],
		    NULL) != 0)
			f->fields[k] = NULL;
	if (addresses_check(r->a, f->fields, ship_to, f->address_errors) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

/* POST /checkout (csrf_token, checkout_key, amount, pay_method, consent, address_id or a new
 * address's fields): orders the cart with its shipping fees to the address. Points → 303 to
 * the order; a PG → 303 straight into its payment window. Missing choices re-render the page
 * with the message next to the field (400); refusals re-render it with the reason. */
static int
page_checkout_submit(struct req *r)
{
	struct cart_owner owner = { sess_user(r), NULL };
	struct cart_limits lim;
	struct cart cart;
	struct orders_line_req *lines;
	struct orders_create_req cr;
	struct checkout_form form;
	struct address ship_to;
	struct checkout c;
	enum order_pay pay = ORDER_PAY_POINTS;
	const char *key, *amount_s;
	int64_t amount;
	size_t i;
	int rc;

	if (form_get(&r->form, "checkout_key", &key, NULL) != 0 ||
	    !valid_token(key, 1, ORDERS_KEY_MAX) ||
	    form_get(&r->form, "amount", &amount_s, NULL) != 0 ||
	    valid_int64(amount_s, 0, INT64_MAX, &amount) != 0)   /* the limit is orders_create's */
		return render_checkout(r, 400, NULL, "주문서가 올바르지 않습니다. 다시 시도해 주세요.");
	rc = read_checkout_form(r, &form, &ship_to, &pay);
	if (rc == -2)
		return -1;
	if (rc != 0)
		return render_checkout(r, 400, &form, "입력하신 내용을 확인해 주세요.");

	cart_limits_from_conf(r->app->conf, &lim);
	rc = cart_get(r->app->redis, r->app->db, r->a, &owner, &lim, &cart);
	if (rc == CART_UNAVAILABLE)
		return resp_fail(r, RESP_UNAVAILABLE);
	if (rc != CART_OK)
		return -1;
	if (cart.nlines == 0) {
		/* A double submit whose first half already emptied the cart: show that order. */
		struct order o;

		rc = orders_by_checkout_key(r->app->db, r->a, sess_user(r), key, &o);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return resp_redirect(r, arena_printf(r->a, "/orders/%s", o.public_id));
		return render_checkout(r, 409, &form, MSG_EMPTY_CART);
	}
	if ((int64_t)cart.nlines > conf_int(r->app->conf, CONF_ORDERS_MAX_LINES))
		return render_checkout(r, 400, &form, "한 번에 주문할 수 있는 상품 수를 넘었습니다.");
	lines = arena_alloc(r->a, cart.nlines * sizeof(*lines));
	for (i = 0; i < cart.nlines; i++) {
		lines[i].product_id = cart.lines[i].product_id;
		lines[i].quantity = cart.lines[i].quantity;
	}
	memset(&cr, 0, sizeof(cr));
	cr.user_id = sess_user(r);
	cr.pay = pay;
	cr.lines = lines;
	cr.nlines = cart.nlines;
	cr.client_amount = amount;
	cr.checkout_key = key;
	cr.expire_seconds = conf_int(r->app->conf, CONF_ORDERS_EXPIRE_SECONDS);
	cr.ship_to = &ship_to;
	if (checkout_run(r, &cr, &c) != 0)
		return -1;
	if (c.rc != ORDERS_CREATED && c.rc != ORDERS_REPLAYED)
		return render_checkout(r, create_answers[c.rc].status, &form,
		    create_answers[c.rc].message);
	if (c.rc == ORDERS_CREATED && form.address_id == 0 &&
	    addresses_save(r->app->db, sess_user(r), &ship_to, true, NULL) != ADDRESSES_OK)
		log_warn(&r->log, "orders: the address of %s was not kept in the book",
		    c.order.public_id);
	/* A PG order keeps the cart until the PG sends the shopper back with success
	 * (checkout_forget_bought), so a cancelled or failed payment loses nothing; points are paid now. */
	if (c.order.pay == ORDER_PAY_POINTS)
		checkout_forget_bought(r, &c.order);
	if (c.ready_failed)
		return render_checkout(r, 502, &form, MSG_READY_FAILED);
	return checkout_answer(r, &c.order);
}

/* Reads the "products" array of a checkout body into lines. Returns 0, or -1 after
 * answering 400. */
static int
read_lines(struct req *r, struct json_object *products, struct orders_line_req **out,
    size_t *n)
{
	static const char *const line_fields[] = { "id", "quantity", "name", NULL };
	int64_t max_lines = conf_int(r->app->conf, CONF_ORDERS_MAX_LINES);
	int64_t max_q = conf_int(r->app->conf, CONF_CART_MAX_QUANTITY);
	struct orders_line_req *lines;
	size_t len, i, j;

	if (products == NULL || !json_object_is_type(products, json_type_array)) {
		resp_error(r, 400, "PRODUCTS_INVALID", "products는 주문할 상품의 배열이어야 합니다.");
		return -1;
	}
	len = json_object_array_length(products);
	if (len == 0 || (int64_t)len > max_lines) {
		resp_error(r, 400, "PRODUCTS_INVALID", arena_printf(r->a,
		    "한 번에 1~%" PRId64 "개의 상품을 주문할 수 있습니다.", max_lines));
		return -1;
	}
	lines = arena_alloc(r->a, len * sizeof(*lines));
	for (i = 0; i < len; i++) {
		struct json_object *p = json_object_array_get_idx(products, i);
		const char *name = NULL;
		int64_t id, q;

		if (p == NULL || !json_object_is_type(p, json_type_object) ||
		    jparse_only_keys(p, line_fields) != 0 ||
		    jparse_int64(p, "id", 1, INT64_MAX, &id) != 0 ||
		    jparse_string(p, "name", ORDERS_CLIENT_NAME_MAX, &name) < 0) {
			resp_error(r, 400, "PRODUCTS_INVALID",
			    "각 상품은 id(양의 정수), quantity(정수)와 선택 항목 name(문자열)을 담은 객체여야 합니다.");
			return -1;
		}
		if (jparse_int64(p, "quantity", 1, max_q, &q) != 0) {
			resp_error(r, 400, "QUANTITY_INVALID", arena_printf(r->a,
			    "주문 수량은 1~%" PRId64 " 사이의 정수여야 합니다.", max_q));
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (lines[j].product_id == id) {
				resp_error(r, 400, "DUPLICATE_PRODUCT",
				    "같은 상품이 두 번 들어 있습니다. 수량을 합쳐 주세요.");
				return -1;
			}
		}
		lines[i].product_id = id;
		lines[i].quantity = (int)q;
		lines[i].client_name = name;  /* NULL when not sent (jparse_string left it) */
	}
	*out = lines;
	*n = len;
	return 0;
}

/* POST /api/v1/orders {"products": [{"id", "quantity"[, "name"]}], "paymentMethod":
 * "points"|"toss"|"kakaopay" (default points, as seed 002), "paymentAmount": the total the
 * client expects (optional), "user_id": optional, must be the signed-in user, "id": seed
 * 002's client-side order number (optional, an integer >= 0, not used: the shop numbers its
 * orders)}; optional Idempotency-Key header. A "name" or "paymentAmount" that is not the
 * shop's current one is 409 (lib/shop/orders.c decides). 201 with the order and "payment"
 * (where to send the shopper), 200 for a replayed key; 400, 403, 404, 409, 422, 502
 * (KakaoPay's ready failed). */
static int
api_order_create(struct req *r)
{
	static const char *const fields[] = { "products", "paymentMethod", "paymentAmount",
		"user_id", "id", NULL };
	struct orders_create_req cr;
	struct checkout c;
	struct json_object *products = NULL, *o;
	const char *key, *method;
	int64_t amount = -1, uid, client_order;
	enum order_pay pay = ORDER_PAY_POINTS;
	int rc;

	memset(&cr, 0, sizeof(cr));
	key = req_param(r, "HTTP_IDEMPOTENCY_KEY");
	if (key != NULL && !valid_token(key, 1, ORDERS_KEY_MAX))
		return resp_error(r, 400, "IDEMPOTENCY_KEY_INVALID",
		    "멱등성 키는 영문, 숫자, '-', '_'로 이루어진 1~64자여야 합니다.");
	if (!json_object_is_type(r->json, json_type_object) || jparse_only_keys(r->json, fields) != 0)
		return resp_error(r, 400, "INVALID_FIELDS",
		    "요청 본문은 products, paymentMethod, paymentAmount, user_id, id만 담은 객체여야"
		    " 합니다.");
	if (jparse_int64(r->json, "id", 0, INT64_MAX, &client_order) < 0)
		return resp_error(r, 400, "ORDER_ID_INVALID", "id는 0 이상의 정수여야 합니다.");
	rc = jparse_int64(r->json, "user_id", 1, INT64_MAX, &uid);
	if (rc < 0)
		return resp_error(r, 400, "USER_ID_INVALID", "user_id는 양의 정수여야 합니다.");
	if (rc == 0 && uid != sess_user(r))
		return resp_fail(r, RESP_FORBIDDEN);
	rc = jparse_string(r->json, "paymentMethod", 16, &method);
	if (rc < 0 || (rc == 0 && (orders_pay_parse(method, &pay) != 0 || !method_enabled(r, pay))))
		return resp_error(r, 400, "PAYMENT_METHOD_INVALID", MSG_METHOD);
	rc = jparse_int64(r->json, "paymentAmount", 0, MONEY_MAX, &amount);
	if (rc < 0)
		return resp_error(r, 400, "PAYMENT_AMOUNT_INVALID",
		    "paymentAmount는 0 이상 1,000,000,000,000,000 이하의 정수(원)여야 합니다.");
	if (rc == 1)
		amount = -1;
	json_object_object_get_ex(r->json, "products", &products);
	if (read_lines(r, products, (struct orders_line_req **)&cr.lines, &cr.nlines) != 0)
		return 0;

	cr.user_id = sess_user(r);
	cr.pay = pay;
	cr.client_amount = amount;
	cr.checkout_key = key;
	cr.expire_seconds = conf_int(r->app->conf, CONF_ORDERS_EXPIRE_SECONDS);
	if (checkout_run(r, &cr, &c) != 0)
		return -1;
	if (c.rc != ORDERS_CREATED && c.rc != ORDERS_REPLAYED)
		return resp_error(r, create_answers[c.rc].status, create_answers[c.rc].code,
		    create_answers[c.rc].message);
	if (c.ready_failed)
		return resp_error(r, 502, "PG_READY_FAILED", MSG_READY_FAILED);
	o = shopview_api_json(&c.order);
	json_object_object_add(o, "payment", payment_json(r, &c.order));
	return resp_json(r, c.rc == ORDERS_CREATED ? 201 : 200, o);
}

const struct route checkout_routes[] = {
	{ METHOD_GET,  "/checkout",                   page_checkout,         ROUTE_HTML | ROUTE_LOGIN, "checkout" },
	{ METHOD_POST, "/checkout",                   page_checkout_submit,  ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "checkout_submit" },
	{ METHOD_POST, "/api/v1/orders",              api_order_create,      ROUTE_JSON | ROUTE_LOGIN | ROUTE_CSRF, "api_order_create" },
	{ 0, NULL, NULL, 0, NULL },
};
