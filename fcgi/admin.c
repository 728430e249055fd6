/* admin: the admin console's dashboard, products (create, edit, deactivate, stock adjust with
 * a reason) and orders (search, detail with timeline and payment, full or partial refund),
 * plus the helpers every admin page family shares (admin.h). Admin role and CSRF are the
 * dispatcher's (ROUTE_ADMIN, ROUTE_CSRF); every change is audited in its own transaction by
 * the module that makes it (lib/shop/inventory.c, refunds.c, wallet.c). A section whose
 * module fails shows ADMIN_UNAVAILABLE instead of failing the page. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "admin.h"
#include "app.h"
#include "base/arena.h"
#include "shop/audit.h"
#include "base/buf.h"
#include "infra/bus.h"
#include "shop/catalog.h"
#include "base/conf.h"
#include "infra/db.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/ids.h"
#include "shop/inventory.h"
#include "base/log.h"
#include "base/money.h"
#include "shop/orders.h"
#include "infra/outbox.h"
#include "shop/paychecks.h"
#include "shop/refunds.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

static const char SQL_ORDERS_TODAY[] =
    "SELECT status, COUNT(*) FROM orders WHERE created_at >= CURDATE() GROUP BY status";
static const char SQL_REVENUE_TODAY[] =
    "SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(refunded_amount), 0)"
    " FROM orders WHERE paid_at >= CURDATE()";
/* The order search: a NULL (or 0) parameter switches its condition off. */
static const char SQL_ORDER_SEARCH[] =
    "SELECT o.id, o.public_id, o.status, o.pay_method, o.amount, o.refunded_amount,"
    " o.order_name, DATE_FORMAT(o.created_at, '%Y-%m-%d %H:%i:%s'), u.id, u.email"
    " FROM orders o JOIN users u ON u.id = o.user_id"
    " WHERE (? IS NULL OR o.public_id = ?)"
    " AND (? = 0 OR o.user_id = ?)"
    " AND (? IS NULL OR u.email = ?)"
    " AND (? IS NULL OR o.status = ?)"
    " AND (? IS NULL OR o.created_at >= ?)"
    " AND (? IS NULL OR o.created_at < DATE_ADD(?, INTERVAL 1 DAY))"
    " AND (? = 0 OR o.id < ?)"
    " ORDER BY o.id DESC LIMIT ?";
static const char SQL_ORDER_USER[] =
    "SELECT email, name FROM users WHERE id = ?";
static const char SQL_ORDER_PAYMENT[] =
    "SELECT pg, payment_key, amount, status, approved_at, method,"
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM payments WHERE order_id = ?";

/* What a finished POST says on the page it redirects to (?ok=<code>). */
static const struct {
	const char *code;
	const char *message;
} flashes[] = {
	{ "product_created", "상품을 등록했습니다." },
	{ "product_updated", "상품 정보를 저장했습니다." },
	{ "product_unchanged", "바뀐 내용이 없습니다." },
	{ "product_deactivated", "상품 판매를 중지했습니다." },
	{ "product_activated", "상품 판매를 다시 시작했습니다." },
	{ "stock_adjusted", "재고를 조정했습니다." },
	{ "refund_accepted", "환불을 접수했습니다. PG 승인 후 완료됩니다." },
	{ "refund_done", "환불을 완료했습니다." },
	{ "refund_replayed", "이미 접수된 환불 요청입니다." },
	{ "payout_done", "지급을 완료했습니다." },
	{ "payout_replayed", "이미 처리된 지급 요청입니다." },
	{ "job_retried", "작업을 다시 대기열에 넣었습니다." },
};

static const char MSG_NO_PRODUCT[] = "상품을 찾을 수 없습니다.";
static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";

/* Korean names of the order statuses, for the console. */
static const char *const status_labels[ORDER_STATUS__MAX] = {
	[ORDER_PENDING] = "결제 대기",
	[ORDER_CONFIRMING] = "결제 확인 중",
	[ORDER_PAID] = "결제 완료",
	[ORDER_FAILED] = "결제 실패",
	[ORDER_UNKNOWN] = "결제 확인 필요",
	[ORDER_EXPIRED] = "기한 만료",
	[ORDER_CANCELED] = "취소",
	[ORDER_PARTIALLY_CANCELED] = "부분 취소",
};

/* ---- shared helpers (admin.h) ------------------------------------------------------------- */

struct json_object *
admin_jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
admin_ctx(struct req *r, const char *title)
{
	struct json_object *ctx = json_object_new_object();
	const char *csrf = sess_csrf(r);
	const char *ok;
	size_t i;

	json_object_object_add(ctx, "title", json_object_new_string(title));
	if (csrf != NULL)
		json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	if (form_get(&r->query, "ok", &ok, NULL) == 0) {
		for (i = 0; i < sizeof(flashes) / sizeof(flashes[0]); i++) {
			if (strcmp(ok, flashes[i].code) == 0) {
				json_object_object_add(ctx, "flash",
				    json_object_new_string(flashes[i].message));
				break;
			}
		}
	}
	return ctx;
}

int
admin_page(struct req *r, int status, const char *page, struct json_object *ctx)
{
	return resp_page(r, status, page, ctx);
}

void
admin_unavailable(struct req *r, struct json_object *ctx, const char *key, const char *what)
{
	log_warn(&r->log, "admin: %s failed; the page says it could not be read", what);
	json_object_object_add(ctx, key, json_object_new_string(ADMIN_UNAVAILABLE));
}

int
admin_done(struct req *r, const char *path, const char *code)
{
	return resp_redirect(r, arena_printf(r->a, "%s?ok=%s", path, code));
}

/* A query or form value: 1 present, 0 absent or empty, -1 repeated. */
static int
field(const struct form *f, const char *name, const char **out, size_t *len)
{
	int rc = form_get(f, name, out, len);

	if (rc < 0)
		return -1;
	if (rc > 0 || *len == 0)
		return 0;
	return 1;
}

int
admin_query_id(struct req *r, const char *name, int64_t *out)
{
	const char *v;
	size_t len;
	int rc = field(&r->query, name, &v, &len);

	if (rc <= 0)
		return rc;
	return valid_int64(v, 1, INT64_MAX, out) == 0 ? 1 : -1;
}

static int
text_field(const struct form *f, const char *name, size_t max_chars, const char **out)
{
	const char *v;
	size_t len;
	int rc = field(f, name, &v, &len);

	if (rc <= 0)
		return rc;
	if (!valid_text(v, len, max_chars, false))
		return -1;
	*out = v;
	return 1;
}

int
admin_query_text(struct req *r, const char *name, size_t max_chars, const char **out)
{
	return text_field(&r->query, name, max_chars, out);
}

int
admin_form_text(struct req *r, const char *name, size_t max_chars, const char **out)
{
	return text_field(&r->form, name, max_chars, out);
}

/* ---- dashboard ------------------------------------------------------------------------------ */

static void
dash_orders(struct req *r, struct json_object *ctx)
{
	struct json_object *rows;
	struct db_res res;
	int64_t counts[ORDER_STATUS__MAX] = { 0 };
	int64_t total = 0;
	enum order_status s;
	size_t i;

	if (db_query(r->app->db, r->a, &res, SQL_ORDERS_TODAY, "") < 0) {
		admin_unavailable(r, ctx, "orders_error", "orders today");
		return;
	}
	for (i = 0; i < res.nrows; i++) {
		if (orders_status_parse(db_res_str(&res, i, 0), &s) == 0)
			counts[s] = db_res_i64(&res, i, 1);
	}
	rows = json_object_new_array();
	for (s = 0; s < ORDER_STATUS__MAX; s++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(orders_status_name(s)));
		json_object_object_add(o, "label", json_object_new_string(status_labels[s]));
		json_object_object_add(o, "count", json_object_new_int64(counts[s]));
		json_object_array_add(rows, o);
		total += counts[s];
	}
	json_object_object_add(ctx, "orders_today", rows);
	json_object_object_add(ctx, "orders_total", json_object_new_int64(total));
}

static void
dash_revenue(struct req *r, struct json_object *ctx)
{
	struct json_object *o;
	struct db_res res;
	int64_t paid, refunded, net;

	if (db_query(r->app->db, r->a, &res, SQL_REVENUE_TODAY, "") != 1) {
		admin_unavailable(r, ctx, "revenue_error", "revenue today");
		return;
	}
	paid = db_res_i64(&res, 0, 1);
	refunded = db_res_i64(&res, 0, 2);
	if (money_sub(paid, refunded, &net) != 0) {
		admin_unavailable(r, ctx, "revenue_error", "revenue today (overflow)");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "orders", json_object_new_int64(db_res_i64(&res, 0, 0)));
	json_object_object_add(o, "paid", json_object_new_int64(paid));
	json_object_object_add(o, "refunded", json_object_new_int64(refunded));
	json_object_object_add(o, "net", json_object_new_int64(net));
	json_object_object_add(ctx, "revenue", o);
}

static void
dash_queues(struct req *r, struct json_object *ctx)
{
	struct outbox_depth *d;
	struct json_object *rows;
	int64_t n, i;

	n = outbox_depths(r->app->db, r->a, &d);
	if (n < 0) {
		admin_unavailable(r, ctx, "queues_error", "outbox depths");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "kind", json_object_new_string(d[i].kind));
		json_object_object_add(o, "pending", json_object_new_int64(d[i].pending));
		json_object_object_add(o, "claimed", json_object_new_int64(d[i].claimed));
		json_object_object_add(o, "dead", json_object_new_int64(d[i].dead));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "queues", rows);
}

static void
dash_paychecks(struct req *r, struct json_object *ctx)
{
	struct paycheck *p;
	struct json_object *rows;
	int64_t n, i;

	n = paychecks_open(r->app->db, r->a, ADMIN_PAGE_ROWS, &p);
	if (n < 0) {
		admin_unavailable(r, ctx, "paychecks_error", "paychecks_open");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "orderId", admin_jstr(p[i].order_public_id));
		json_object_object_add(o, "status", admin_jstr(p[i].status));
		json_object_object_add(o, "pg", admin_jstr(p[i].pg));
		json_object_object_add(o, "amount", json_object_new_int64(p[i].amount));
		json_object_object_add(o, "checks", json_object_new_int(p[i].checks));
		json_object_object_add(o, "nextAt", admin_jstr(p[i].next_at));
		json_object_object_add(o, "lastResult", admin_jstr(p[i].last_result));
		json_object_object_add(o, "needsAdmin", json_object_new_boolean(p[i].needs_admin));
		json_object_object_add(o, "since", admin_jstr(p[i].since));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "paychecks", rows);
}

/* GET /admin */
static int
page_dashboard(struct req *r)
{
	struct json_object *ctx = admin_ctx(r, "관리자 대시보드");
	struct json_object *breakers;

	dash_orders(r, ctx);
	dash_revenue(r, ctx);
	dash_queues(r, ctx);
	breakers = admin_ops_breakers_json(r, false);
	if (breakers == NULL)
		admin_unavailable(r, ctx, "breakers_error", "breakers from Redis");
	else
		json_object_object_add(ctx, "breakers", breakers);
	dash_paychecks(r, ctx);
	return admin_page(r, 200, "admin_dashboard", ctx);
}

/* ---- products ------------------------------------------------------------------------------- */

static struct json_object *
product_json(const struct inventory_product *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "sellerId", json_object_new_int64(p->seller_id));
	json_object_object_add(o, "seller", admin_jstr(p->seller_name));
	json_object_object_add(o, "name", admin_jstr(p->name));
	json_object_object_add(o, "description", admin_jstr(p->description));
	json_object_object_add(o, "price", json_object_new_int64(p->price));
	json_object_object_add(o, "active", json_object_new_boolean(p->active));
	json_object_object_add(o, "stock", json_object_new_int64(p->stock));
	json_object_object_add(o, "updatedAt", admin_jstr(p->updated_at));
	return o;
}

/* GET /admin/products?q=&before= */
static int
page_products(struct req *r)
{
	struct json_object *ctx = admin_ctx(r, "상품 관리");
	struct inventory_product *p;
	struct json_object *rows;
	const char *q = NULL;
	int64_t before = 0, n, i;

	if (admin_query_text(r, "q", INVENTORY_NAME_MAX, &q) < 0 ||
	    admin_query_id(r, "before", &before) < 0) {
		json_object_object_add(ctx, "error", json_object_new_string("검색어가 올바르지 않습니다."));
		return admin_page(r, 400, "admin_products", ctx);
	}
	if (q != NULL)
		json_object_object_add(ctx, "q", json_object_new_string(q));
	n = inventory_list(r->app->db, r->a, q, before, ADMIN_PAGE_ROWS, &p);
	if (n < 0) {
		admin_unavailable(r, ctx, "products_error", "inventory_list");
		return admin_page(r, 200, "admin_products", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, product_json(&p[i]));
	json_object_object_add(ctx, "products", rows);
	if (n == ADMIN_PAGE_ROWS) {
		struct buf u;

		buf_init(&u);
		buf_printf(&u, "/admin/products?before=%" PRId64, p[n - 1].id);
		if (q != NULL) {
			buf_puts(&u, "&q=");
			esc_url_query(&u, q);
		}
		json_object_object_add(ctx, "next", json_object_new_string(buf_cstr(&u)));
		buf_release(&u);
	}
	return admin_page(r, 200, "admin_products", ctx);
}

/* The sellers for the product form's choice, marking selected. */
static void
add_sellers(struct req *r, struct json_object *ctx, int64_t selected)
{
	struct inventory_seller *s;
	struct json_object *rows;
	int64_t n, i;

	n = inventory_sellers(r->app->db, r->a, &s);
	if (n < 0) {
		admin_unavailable(r, ctx, "sellers_error", "inventory_sellers");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(s[i].id));
		json_object_object_add(o, "name", json_object_new_string(s[i].name));
		json_object_object_add(o, "selected", json_object_new_boolean(s[i].id == selected));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "sellers", rows);
}

/* What the product form shows: the submitted values after a refusal, else the product's. */
struct product_form {
	const char *seller_id;
	const char *name;
	const char *description;
	const char *price;
	const char *stock;
};

static struct json_object *
product_form_json(const struct product_form *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "sellerId", admin_jstr(f->seller_id));
	json_object_object_add(o, "name", admin_jstr(f->name));
	json_object_object_add(o, "description", admin_jstr(f->description));
	json_object_object_add(o, "price", admin_jstr(f->price));
	json_object_object_add(o, "stock", admin_jstr(f->stock));
	return o;
}

/* The "new product" page, with error and the submitted form when a create was refused. */
static int
render_new_product(struct req *r, int status, const char *error, const struct product_form *f)
{
	struct json_object *ctx = admin_ctx(r, "상품 등록");
	struct product_form empty = { .stock = "0" };
	int64_t selected = 0;

	if (f == NULL)
		f = &empty;
	if (f->seller_id != NULL && valid_int64(f->seller_id, 1, INT64_MAX, &selected) != 0)
		selected = 0;
	json_object_object_add(ctx, "is_new", json_object_new_boolean(true));
	json_object_object_add(ctx, "form", product_form_json(f));
	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	add_sellers(r, ctx, selected);
	return admin_page(r, status, "admin_product", ctx);
}

/* The product page: edit form, (de)activation, stock adjust form and history. edit (may be
 * NULL) is the refused edit's submitted values; error goes at the top; adjust_error at the
 * stock form with the submitted delta and reason. */
struct product_view {
	int status;
	const char *error;
	const struct product_form *edit;
	const char *adjust_error;
	const char *delta;
	const char *reason;
};

static int
render_product(struct req *r, const struct inventory_product *p, const struct product_view *v)
{
	struct json_object *ctx = admin_ctx(r, "상품 관리");
	struct inventory_adjustment *adj;
	struct product_form pf;
	struct json_object *rows;
	int64_t n, i, selected = p->seller_id;

	json_object_object_add(ctx, "product", product_json(p));
	if (v->edit != NULL) {
		pf = *v->edit;
		if (pf.seller_id == NULL || valid_int64(pf.seller_id, 1, INT64_MAX, &selected) != 0)
			selected = p->seller_id;
	} else {
		pf.seller_id = arena_printf(r->a, "%" PRId64, p->seller_id);
		pf.name = p->name;
		pf.description = p->description;
		pf.price = arena_printf(r->a, "%" PRId64, p->price);
		pf.stock = NULL;
	}
	json_object_object_add(ctx, "form", product_form_json(&pf));
	if (v->error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(v->error));
	if (v->adjust_error != NULL)
		json_object_object_add(ctx, "adjust_error", json_object_new_string(v->adjust_error));
	json_object_object_add(ctx, "delta", admin_jstr(v->delta));
	json_object_object_add(ctx, "reason", admin_jstr(v->reason));
	add_sellers(r, ctx, selected);
	n = inventory_adjustments(r->app->db, r->a, p->id, ADMIN_PAGE_ROWS, &adj);
	if (n < 0) {
		admin_unavailable(r, ctx, "adjustments_error", "inventory_adjustments");
	} else {
		rows = json_object_new_array();
		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "at", admin_jstr(adj[i].at));
			json_object_object_add(o, "actor", admin_jstr(adj[i].actor_email));
			json_object_object_add(o, "delta", json_object_new_int64(adj[i].delta));
			json_object_object_add(o, "before", json_object_new_int64(adj[i].before_qty));
			json_object_object_add(o, "after", json_object_new_int64(adj[i].after_qty));
			json_object_object_add(o, "reason", admin_jstr(adj[i].reason));
			json_object_array_add(rows, o);
		}
		json_object_object_add(ctx, "adjustments", rows);
	}
	return admin_page(r, v->status, "admin_product", ctx);
}

/* The product {id} of the path. Returns 1 with *p filled, 0 after answering 404, -1 on a
 * database error. */
static int
path_product(struct req *r, struct inventory_product *p)
{
	int64_t id;
	int rc;

	if (req_path_id(r, 0, &id) != 0) {
		resp_error(r, 404, "PRODUCT_NOT_FOUND", MSG_NO_PRODUCT);
		return 0;
	}
	rc = inventory_get(r->app->db, r->a, id, p);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		resp_error(r, 404, "PRODUCT_NOT_FOUND", MSG_NO_PRODUCT);
		return 0;
	}
	return 1;
}

/* Reads the product form. Returns NULL with *f and *out filled, or the Korean reason the
 * input was refused. with_stock: the create form's initial stock. */
static const char *
read_product_form(struct req *r, bool with_stock, struct product_form *f,
    struct inventory_fields *out, int64_t *stock)
{
	size_t len;

	memset(f, 0, sizeof(*f));
	if (form_get(&r->form, "seller_id", &f->seller_id, NULL) != 0)
		f->seller_id = NULL;
	if (form_get(&r->form, "name", &f->name, NULL) != 0)
		f->name = NULL;
	if (form_get(&r->form, "description", &f->description, NULL) != 0)
		f->description = NULL;
	if (form_get(&r->form, "price", &f->price, NULL) != 0)
		f->price = NULL;
	if (with_stock && form_get(&r->form, "stock", &f->stock, NULL) != 0)
		f->stock = NULL;

	if (f->seller_id == NULL || valid_int64(f->seller_id, 1, INT64_MAX, &out->seller_id) != 0)
		return "판매자를 선택해 주세요.";
	if (f->name == NULL || !valid_text(f->name, strlen(f->name), INVENTORY_NAME_MAX, false))
		return "상품명은 1~200자로 입력해 주세요. 제어 문자는 쓸 수 없습니다.";
	out->name = f->name;
	if (f->description == NULL)
		f->description = "";
	len = strlen(f->description);
	if (len > 0 && !valid_text(f->description, len, INVENTORY_DESC_MAX, true))
		return "상품 설명은 5000자 이하로 입력해 주세요. 제어 문자는 쓸 수 없습니다.";
	out->description = f->description;
	if (f->price == NULL || money_parse(f->price, &out->price) != 0 || out->price < 1)
		return "가격은 1원 이상의 정수로 입력해 주세요.";
	if (with_stock) {
		if (f->stock == NULL || f->stock[0] == '\0')
			*stock = 0;
		else if (valid_int64(f->stock, 0, INVENTORY_STOCK_MAX, stock) != 0)
			return "재고는 0 이상 1,000,000,000 이하의 정수로 입력해 주세요.";
	}
	return NULL;
}

/* The Korean message of a refused inventory change, with its status. */
static const char *
inventory_message(enum inventory_rc rc, int *status)
{
	*status = 409;
	switch (rc) {
	case INVENTORY_NO_SELLER:
		*status = 400;
		return "없는 판매자입니다.";
	case INVENTORY_DUP_NAME:
		return "이 판매자에게 같은 이름의 상품이 이미 있습니다.";
	case INVENTORY_INVALID:
		*status = 400;
		return "입력값이 올바르지 않습니다.";
	case INVENTORY_NEGATIVE:
		return "재고는 0개 미만이 될 수 없습니다.";
	case INVENTORY_TOO_MUCH:
		return "재고는 1,000,000,000개를 넘을 수 없습니다.";
	case INVENTORY_NOT_FOUND:
		*status = 404;
		return MSG_NO_PRODUCT;
	default:
		*status = 500;
		return "저장하지 못했습니다. 잠시 후 다시 시도해 주세요.";
	}
}

/* GET /admin/products/new */
static int
page_product_new(struct req *r)
{
	return render_new_product(r, 200, NULL, NULL);
}

/* POST /admin/products */
static int
page_product_create(struct req *r)
{
	struct inventory_fields in;
	struct product_form f;
	const char *err;
	int64_t stock = 0, id;
	enum inventory_rc rc;
	int status;

	err = read_product_form(r, true, &f, &in, &stock);
	if (err != NULL)
		return render_new_product(r, 400, err, &f);
	rc = inventory_create(r->app->db, sess_user(r), &in, stock, &id);
	if (rc != INVENTORY_OK) {
		err = inventory_message(rc, &status);
		return render_new_product(r, status, err, &f);
	}
	catalog_invalidate(r->app->redis);
	log_info(&r->log, "admin: product %" PRId64 " created", id);
	return admin_done(r, arena_printf(r->a, "/admin/products/%" PRId64, id), "product_created");
}

/* GET /admin/products/{id} */
static int
page_product(struct req *r)
{
	struct inventory_product p;
	struct product_view v = { .status = 200 };
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	return render_product(r, &p, &v);
}

/* POST /admin/products/{id}: the edit form. */
static int
page_product_update(struct req *r)
{
	struct inventory_product p;
	struct inventory_fields in;
	struct product_form f;
	struct product_view v = { 0 };
	enum inventory_rc irc;
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	v.error = read_product_form(r, false, &f, &in, NULL);
	v.edit = &f;
	if (v.error != NULL) {
		v.status = 400;
		return render_product(r, &p, &v);
	}
	irc = inventory_update(r->app->db, sess_user(r), p.id, &in);
	if (irc == INVENTORY_UNCHANGED)
		return admin_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
		    "product_unchanged");
	if (irc != INVENTORY_OK) {
		v.error = inventory_message(irc, &v.status);
		return render_product(r, &p, &v);
	}
	catalog_invalidate(r->app->redis);
	return admin_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
	    "product_updated");
}

static int
set_active(struct req *r, bool active)
{
	struct inventory_product p;
	struct product_view v = { 0 };
	enum inventory_rc irc;
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	irc = inventory_set_active(r->app->db, sess_user(r), p.id, active);
	if (irc != INVENTORY_OK && irc != INVENTORY_UNCHANGED) {
		v.error = inventory_message(irc, &v.status);
		return render_product(r, &p, &v);
	}
	if (irc == INVENTORY_OK)
		catalog_invalidate(r->app->redis);
	return admin_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
	    active ? "product_activated" : "product_deactivated");
}

/* POST /admin/products/{id}/deactivate */
static int
page_product_deactivate(struct req *r)
{
	return set_active(r, false);
}

/* POST /admin/products/{id}/activate */
static int
page_product_activate(struct req *r)
{
	return set_active(r, true);
}

/* POST /admin/products/{id}/stock: delta (non-zero integer) and reason (required). */
static int
page_product_stock(struct req *r)
{
	struct inventory_product p;
	struct product_view v = { .status = 400 };
	enum inventory_rc irc;
	int64_t delta = 0;
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	if (form_get(&r->form, "delta", &v.delta, NULL) != 0)
		v.delta = NULL;
	if (form_get(&r->form, "reason", &v.reason, NULL) != 0)
		v.reason = NULL;
	if (v.delta == NULL || valid_int64(v.delta, -INVENTORY_STOCK_MAX, INVENTORY_STOCK_MAX,
	    &delta) != 0 || delta == 0) {
		v.adjust_error = "조정 수량은 0이 아닌 정수로 입력해 주세요. (예: 5, -3)";
		return render_product(r, &p, &v);
	}
	if (v.reason == NULL || !valid_text(v.reason, strlen(v.reason), INVENTORY_REASON_MAX,
	    false)) {
		v.adjust_error = "조정 사유를 1~200자로 입력해 주세요.";
		return render_product(r, &p, &v);
	}
	irc = inventory_adjust(r->app->db, sess_user(r), p.id, delta, v.reason, NULL, NULL);
	if (irc != INVENTORY_OK) {
		v.adjust_error = inventory_message(irc, &v.status);
		if (irc == INVENTORY_NEGATIVE || irc == INVENTORY_TOO_MUCH)
			v.status = 400;
		if (inventory_get(r->app->db, r->a, p.id, &p) != 1)
			return -1;
		return render_product(r, &p, &v);
	}
	return admin_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
	    "stock_adjusted");
}

/* ---- orders ---------------------------------------------------------------------------------- */

/* The search form's values, kept to show them again. */
struct order_search {
	const char *order;      /* public id */
	const char *user;       /* e-mail or numeric id */
	const char *status;
	const char *from;
	const char *to;
	int64_t before;
};

static struct json_object *
search_json(const struct order_search *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "order", admin_jstr(s->order));
	json_object_object_add(o, "user", admin_jstr(s->user));
	json_object_object_add(o, "status", admin_jstr(s->status));
	json_object_object_add(o, "from", admin_jstr(s->from));
	json_object_object_add(o, "to", admin_jstr(s->to));
	return o;
}

static struct json_object *
status_choices(const char *selected)
{
	struct json_object *rows = json_object_new_array();
	enum order_status s;

	for (s = 0; s < ORDER_STATUS__MAX; s++) {
		struct json_object *o = json_object_new_object();
		const char *name = orders_status_name(s);

		json_object_object_add(o, "value", json_object_new_string(name));
		json_object_object_add(o, "label", json_object_new_string(status_labels[s]));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    selected != NULL && strcmp(selected, name) == 0));
		json_object_array_add(rows, o);
	}
	return rows;
}

/* Reads the search; returns NULL or the Korean reason it was refused. */
static const char *
read_search(struct req *r, struct order_search *s)
{
	enum order_status st;

	memset(s, 0, sizeof(*s));
	if (admin_query_text(r, "order", ORDERS_ID_LEN, &s->order) < 0 ||
	    (s->order != NULL && !valid_token(s->order, 1, ORDERS_ID_LEN)))
		return "주문 번호가 올바르지 않습니다.";
	if (admin_query_text(r, "user", 254, &s->user) < 0)
		return "회원 이메일 또는 번호가 올바르지 않습니다.";
	if (admin_query_text(r, "status", 32, &s->status) < 0 ||
	    (s->status != NULL && orders_status_parse(s->status, &st) != 0))
		return "주문 상태가 올바르지 않습니다.";
	if (admin_query_text(r, "from", 10, &s->from) < 0 ||
	    (s->from != NULL && !audit_day_ok(s->from)) ||
	    admin_query_text(r, "to", 10, &s->to) < 0 || (s->to != NULL && !audit_day_ok(s->to)))
		return "날짜는 YYYY-MM-DD 형식으로 입력해 주세요.";
	if (s->from != NULL && s->to != NULL && strcmp(s->from, s->to) > 0)
		return "시작 날짜가 끝 날짜보다 늦습니다.";
	if (admin_query_id(r, "before", &s->before) < 0)
		return "페이지 정보가 올바르지 않습니다.";
	return NULL;
}

/* The query string of s without paging, for the next-page link. */
static void
search_query(struct buf *u, const struct order_search *s)
{
	const char *names[] = { "order", "user", "status", "from", "to" };
	const char *vals[] = { s->order, s->user, s->status, s->from, s->to };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (vals[i] == NULL)
			continue;
		buf_printf(u, "&%s=", names[i]);
		esc_url_query(u, vals[i]);
	}
}

/* GET /admin/orders?order=&user=&status=&from=&to=&before= */
static int
page_orders(struct req *r)
{
	struct json_object *ctx = admin_ctx(r, "주문 관리");
	struct order_search s;
	struct json_object *rows;
	struct db_res res;
	const char *err, *email = NULL;
	int64_t user_id = 0, n;
	size_t i;

	err = read_search(r, &s);
	json_object_object_add(ctx, "search", search_json(&s));
	json_object_object_add(ctx, "statuses", status_choices(s.status));
	if (err != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(err));
		return admin_page(r, 400, "admin_orders", ctx);
	}
	if (s.user != NULL && valid_int64(s.user, 1, INT64_MAX, &user_id) != 0) {
		if (!valid_email(s.user)) {
			json_object_object_add(ctx, "error", json_object_new_string(
			    "회원 이메일 또는 번호가 올바르지 않습니다."));
			return admin_page(r, 400, "admin_orders", ctx);
		}
		email = s.user;
	}
	n = db_query(r->app->db, r->a, &res, SQL_ORDER_SEARCH, "ssiissssssssiii",
	    s.order, s.order, user_id, user_id, email, email, s.status, s.status, s.from, s.from,
	    s.to, s.to, s.before, s.before, (int64_t)ADMIN_PAGE_ROWS);
	if (n < 0) {
		admin_unavailable(r, ctx, "orders_error", "order search");
		return admin_page(r, 200, "admin_orders", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < res.nrows; i++) {
		struct json_object *o = json_object_new_object();
		enum order_status st;

		json_object_object_add(o, "orderId", admin_jstr(db_res_str(&res, i, 1)));
		json_object_object_add(o, "status", admin_jstr(db_res_str(&res, i, 2)));
		if (orders_status_parse(db_res_str(&res, i, 2), &st) == 0)
			json_object_object_add(o, "statusLabel", json_object_new_string(
			    status_labels[st]));
		json_object_object_add(o, "payMethod", admin_jstr(db_res_str(&res, i, 3)));
		json_object_object_add(o, "amount", json_object_new_int64(db_res_i64(&res, i, 4)));
		json_object_object_add(o, "refundedAmount",
		    json_object_new_int64(db_res_i64(&res, i, 5)));
		json_object_object_add(o, "orderName", admin_jstr(db_res_str(&res, i, 6)));
		json_object_object_add(o, "createdAt", admin_jstr(db_res_str(&res, i, 7)));
		json_object_object_add(o, "userId", json_object_new_int64(db_res_i64(&res, i, 8)));
		json_object_object_add(o, "email", admin_jstr(db_res_str(&res, i, 9)));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "orders", rows);
	if (res.nrows == ADMIN_PAGE_ROWS) {
		struct buf u;

		buf_init(&u);
		buf_printf(&u, "/admin/orders?before=%" PRId64,
		    db_res_i64(&res, res.nrows - 1, 0));
		search_query(&u, &s);
		json_object_object_add(ctx, "next", json_object_new_string(buf_cstr(&u)));
		buf_release(&u);
	}
	return admin_page(r, 200, "admin_orders", ctx);
}

/* The order {id} of the path with details. Returns 1, 0 after answering 404, -1 on a
 * database error. */
static int
path_order(struct req *r, struct order *o)
{
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), true, o);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
		return 0;
	}
	return 1;
}

static bool
refundable(enum order_status s)
{
	return s == ORDER_PAID || s == ORDER_PARTIALLY_CANCELED;
}

static void
add_refunds(struct req *r, struct json_object *ctx, const struct order *o)
{
	struct refund *rf;
	struct json_object *rows;
	int64_t n, i;
	size_t k;

	n = refunds_of_order(r->app->db, r->a, o->id, &rf);
	if (n < 0) {
		admin_unavailable(r, ctx, "refunds_error", "refunds_of_order");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_new_object();
		struct json_object *lines = json_object_new_array();

		json_object_object_add(x, "refundId", json_object_new_string(rf[i].public_id));
		json_object_object_add(x, "amount", json_object_new_int64(rf[i].amount));
		json_object_object_add(x, "status", json_object_new_string(
		    refunds_status_name(rf[i].status)));
		json_object_object_add(x, "reason", admin_jstr(rf[i].reason));
		json_object_object_add(x, "actor", admin_jstr(rf[i].actor));
		json_object_object_add(x, "failCode", admin_jstr(rf[i].fail_code));
		json_object_object_add(x, "createdAt", admin_jstr(rf[i].created_at));
		json_object_object_add(x, "doneAt", admin_jstr(rf[i].done_at));
		for (k = 0; k < rf[i].nlines; k++) {
			struct json_object *l = json_object_new_object();

			json_object_object_add(l, "name", admin_jstr(rf[i].lines[k].name));
			json_object_object_add(l, "quantity",
			    json_object_new_int(rf[i].lines[k].quantity));
			json_object_object_add(l, "amount",
			    json_object_new_int64(rf[i].lines[k].amount));
			json_object_array_add(lines, l);
		}
		json_object_object_add(x, "lines", lines);
		json_object_array_add(rows, x);
	}
	json_object_object_add(ctx, "refunds", rows);
}

static void
add_payment(struct req *r, struct json_object *ctx, const struct order *o)
{
	struct json_object *p;
	struct db_res res;
	int64_t n;

	n = db_query(r->app->db, r->a, &res, SQL_ORDER_PAYMENT, "i", o->id);
	if (n < 0) {
		admin_unavailable(r, ctx, "payment_error", "payments row");
		return;
	}
	if (n == 0)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "pg", admin_jstr(db_res_str(&res, 0, 0)));
	json_object_object_add(p, "paymentKey", admin_jstr(db_res_str(&res, 0, 1)));
	json_object_object_add(p, "amount", json_object_new_int64(db_res_i64(&res, 0, 2)));
	json_object_object_add(p, "status", admin_jstr(db_res_str(&res, 0, 3)));
	json_object_object_add(p, "approvedAt", admin_jstr(db_res_str(&res, 0, 4)));
	json_object_object_add(p, "method", admin_jstr(db_res_str(&res, 0, 5)));
	json_object_object_add(p, "createdAt", admin_jstr(db_res_str(&res, 0, 6)));
	json_object_object_add(ctx, "payment", p);
}

/* The order page; error (may be NULL) is a refused refund's reason, shown at the form. */
static int
render_order(struct req *r, int status, const struct order *o, const char *error)
{
	struct json_object *ctx = admin_ctx(r, "주문 상세");
	struct json_object *oj = orders_json(o), *lines;
	struct db_res res;
	char key[25];
	size_t i;

	/* Each line's refundable rest, for the refund form's inputs. */
	if (json_object_object_get_ex(oj, "lines", &lines)) {
		for (i = 0; i < o->nlines && i < json_object_array_length(lines); i++)
			json_object_object_add(json_object_array_get_idx(lines, i), "remaining",
			    json_object_new_int(o->lines[i].quantity - o->lines[i].canceled_quantity));
	}
	json_object_object_add(ctx, "order", oj);
	json_object_object_add(ctx, "statusLabel", json_object_new_string(
	    status_labels[o->status]));
	if (db_query(r->app->db, r->a, &res, SQL_ORDER_USER, "i", o->user_id) == 1) {
		json_object_object_add(ctx, "userId", json_object_new_int64(o->user_id));
		json_object_object_add(ctx, "userEmail", admin_jstr(db_res_str(&res, 0, 0)));
		json_object_object_add(ctx, "userName", admin_jstr(db_res_str(&res, 0, 1)));
	}
	add_payment(r, ctx, o);
	add_refunds(r, ctx, o);
	if (refundable(o->status)) {
		int64_t left = o->amount - o->refunded_amount;

		ids_new(key, sizeof(key));
		json_object_object_add(ctx, "refundable", json_object_new_boolean(true));
		json_object_object_add(ctx, "refund_left", json_object_new_int64(left));
		json_object_object_add(ctx, "refund_key", json_object_new_string(key));
	}
	if (error != NULL)
		json_object_object_add(ctx, "refund_error", json_object_new_string(error));
	return admin_page(r, status, "admin_order", ctx);
}

/* GET /admin/orders/{id} */
static int
page_order(struct req *r)
{
	struct order o;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	return render_order(r, 200, &o, NULL);
}

/* How each refused refund is answered on the form. */
static const struct {
	int status;
	const char *message;
} refund_answers[REFUNDS_RC__MAX] = {
	[REFUNDS_KEY_REUSED] = { 422, "이미 다른 환불에 사용된 요청입니다. 페이지를 새로 고친 뒤 다시 시도해 주세요." },
	[REFUNDS_NOT_FOUND] = { 404, MSG_NO_ORDER },
	[REFUNDS_WRONG_STATE] = { 409, "결제 완료 또는 부분 취소 상태의 주문만 환불할 수 있습니다." },
	[REFUNDS_TOO_LATE] = { 409, "환불 가능 기간이 지났습니다." },
	[REFUNDS_EXCEEDS] = { 409, "남은 결제 금액이나 수량보다 많이 환불할 수 없습니다." },
	[REFUNDS_BAD_LINE] = { 400, "환불할 상품이나 수량이 올바르지 않습니다." },
	[REFUNDS_FAILED] = { 500, "환불을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요." },
};

/* POST /admin/orders/{id}/refund: full=1 refunds everything left; otherwise qty_<productId>
 * per line (empty or 0: not that line). reason optional, key the form's idempotency key. */
static int
page_order_refund(struct req *r)
{
	struct refunds_line_req *lines;
	struct refunds_req rq = { 0 };
	struct refund out;
	struct order o;
	const char *full = NULL, *key = NULL, *v;
	enum refunds_rc rrc;
	size_t i, n = 0;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	if (form_get(&r->form, "full", &full, NULL) < 0 ||
	    (full != NULL && strcmp(full, "1") != 0))
		return render_order(r, 400, &o, "요청이 올바르지 않습니다.");
	if (admin_form_text(r, "reason", REFUNDS_REASON_MAX, &rq.reason) < 0)
		return render_order(r, 400, &o, "환불 사유는 200자 이하로 입력해 주세요.");
	if (form_get(&r->form, "key", &key, NULL) != 0 || !valid_token(key, 1, 64))
		return render_order(r, 400, &o, "요청이 올바르지 않습니다. 페이지를 새로 고쳐 주세요.");
	lines = arena_alloc(r->a, sizeof(*lines) * (o.nlines + 1));
	if (full == NULL) {
		for (i = 0; i < o.nlines; i++) {
			const char *name = arena_printf(r->a, "qty_%" PRId64, o.lines[i].product_id);
			int64_t q;
			int frc = form_get(&r->form, name, &v, NULL);

			if (frc > 0 || (frc == 0 && v[0] == '\0'))
				continue;
			if (frc < 0 || valid_int64(v, 0, o.lines[i].quantity, &q) != 0)
				return render_order(r, 400, &o, "환불 수량은 0 이상, 주문 수량 이하의 정수로 입력해 주세요.");
			if (q == 0)
				continue;
			lines[n].product_id = o.lines[i].product_id;
			lines[n].quantity = (int)q;
			n++;
		}
		if (n == 0)
			return render_order(r, 400, &o, "환불할 수량을 입력해 주세요.");
	}
	rq.order_public_id = o.public_id;
	rq.user_id = 0;
	rq.admin_id = sess_user(r);
	rq.shopper_days = (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS);
	rq.lines = lines;
	rq.nlines = n;
	rq.key = key;
	rrc = refunds_request(r->app->db, r->a, &rq, &out);
	if (rrc != REFUNDS_ACCEPTED && rrc != REFUNDS_DONE && rrc != REFUNDS_REPLAYED) {
		if ((unsigned)rrc >= REFUNDS_RC__MAX || refund_answers[rrc].message == NULL)
			rrc = REFUNDS_FAILED;
		log_info(&r->log, "admin: refund of %s refused (%d)", o.public_id, (int)rrc);
		return render_order(r, refund_answers[rrc].status, &o, refund_answers[rrc].message);
	}
	if (rrc == REFUNDS_REPLAYED)
		return admin_done(r, arena_printf(r->a, "/admin/orders/%s", o.public_id),
		    "refund_replayed");
	bus_push_batch(r->app->bus, &out.jobs);  /* audited in the refund's own transaction */
	return admin_done(r, arena_printf(r->a, "/admin/orders/%s", o.public_id),
	    rrc == REFUNDS_DONE ? "refund_done" : "refund_accepted");
}

const struct route admin_routes[] = {
	{ METHOD_GET,  "/admin",                             page_dashboard,          ROUTE_HTML | ROUTE_ADMIN, "admin_dashboard" },
	{ METHOD_GET,  "/admin/products",                    page_products,           ROUTE_HTML | ROUTE_ADMIN, "admin_products" },
	{ METHOD_POST, "/admin/products",                    page_product_create,     ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_create" },
	{ METHOD_GET,  "/admin/products/new",                page_product_new,        ROUTE_HTML | ROUTE_ADMIN, "admin_product_new" },
	{ METHOD_GET,  "/admin/products/{id}",               page_product,            ROUTE_HTML | ROUTE_ADMIN, "admin_product" },
	{ METHOD_POST, "/admin/products/{id}",               page_product_update,     ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_update" },
	{ METHOD_POST, "/admin/products/{id}/deactivate",    page_product_deactivate, ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_deactivate" },
	{ METHOD_POST, "/admin/products/{id}/activate",      page_product_activate,   ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_activate" },
	{ METHOD_POST, "/admin/products/{id}/stock",         page_product_stock,      ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_stock" },
	{ METHOD_GET,  "/admin/orders",                      page_orders,             ROUTE_HTML | ROUTE_ADMIN, "admin_orders" },
	{ METHOD_GET,  "/admin/orders/{id}",                 page_order,              ROUTE_HTML | ROUTE_ADMIN, "admin_order" },
	{ METHOD_POST, "/admin/orders/{id}/refund",          page_order_refund,       ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_order_refund" },
	{ 0, NULL, NULL, 0, NULL },
};
