/* admin_products: the admin console's products: the list with search, create, edit,
 * deactivate and reactivate, and the stock adjustment with a reason and its history. Every
 * change is one audited transaction in lib/shop/inventory; the catalog cache is invalidated
 * after a product change commits. Admin role and CSRF are the dispatcher's (ROUTE_ADMIN,
 * ROUTE_CSRF). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/form.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/catalog.h"
#include "shop/inventory.h"

static const char MSG_NO_PRODUCT[] = "상품을 찾을 수 없습니다.";

static struct json_object *
product_json(const struct inventory_product *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "sellerId", json_object_new_int64(p->seller_id));
	json_object_object_add(o, "seller", admin_common_jstr(p->seller_name));
	json_object_object_add(o, "name", admin_common_jstr(p->name));
	json_object_object_add(o, "description", admin_common_jstr(p->description));
	json_object_object_add(o, "price", json_object_new_int64(p->price));
	json_object_object_add(o, "active", json_object_new_boolean(p->active));
	json_object_object_add(o, "stock", json_object_new_int64(p->stock));
	json_object_object_add(o, "updatedAt", admin_common_jstr(p->updated_at));
	return o;
}

/* GET /admin/products?q=&before= */
static int
page_products(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "상품 관리");
	struct inventory_product *p;
	struct json_object *rows;
	const char *q = NULL;
	int64_t before = 0, n, i;

	if (admin_common_query_text(r, "q", INVENTORY_NAME_MAX, &q) < 0 ||
	    admin_common_query_id(r, "before", &before) < 0) {
		json_object_object_add(ctx, "error", json_object_new_string("검색어가 올바르지 않습니다."));
		return admin_common_page(r, 400, "admin_products", ctx);
	}
	if (q != NULL)
		json_object_object_add(ctx, "q", json_object_new_string(q));
	n = inventory_list(r->app->db, r->a, q, before, ADMIN_COMMON_PAGE_ROWS, &p);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "products_error", "inventory_list");
		return admin_common_page(r, 200, "admin_products", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, product_json(&p[i]));
	json_object_object_add(ctx, "products", rows);
	if (n == ADMIN_COMMON_PAGE_ROWS) {
		const char *names[] = { "q" }, *vals[] = { q };

		json_object_object_add(ctx, "next", json_object_new_string(admin_common_next_url(r,
		    "/admin/products", p[n - 1].id, names, vals, 1)));
	}
	return admin_common_page(r, 200, "admin_products", ctx);
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
		admin_common_unavailable(r, ctx, "sellers_error", "inventory_sellers");
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

	json_object_object_add(o, "sellerId", admin_common_jstr(f->seller_id));
	json_object_object_add(o, "name", admin_common_jstr(f->name));
	json_object_object_add(o, "description", admin_common_jstr(f->description));
	json_object_object_add(o, "price", admin_common_jstr(f->price));
	json_object_object_add(o, "stock", admin_common_jstr(f->stock));
	return o;
}

/* The "new product" page, with error and the submitted form when a create was refused. */
static int
render_new_product(struct req *r, int status, const char *error, const struct product_form *f)
{
	struct json_object *ctx = admin_common_ctx(r, "상품 등록");
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
	return admin_common_page(r, status, "admin_product", ctx);
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
	struct json_object *ctx = admin_common_ctx(r, "상품 관리");
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
	json_object_object_add(ctx, "delta", admin_common_jstr(v->delta));
	json_object_object_add(ctx, "reason", admin_common_jstr(v->reason));
	add_sellers(r, ctx, selected);
	n = inventory_adjustments(r->app->db, r->a, p->id, ADMIN_COMMON_PAGE_ROWS, &adj);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "adjustments_error", "inventory_adjustments");
	} else {
		rows = json_object_new_array();
		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "at", admin_common_jstr(adj[i].at));
			json_object_object_add(o, "actor", admin_common_jstr(adj[i].actor_email));
			json_object_object_add(o, "delta", json_object_new_int64(adj[i].delta));
			json_object_object_add(o, "before", json_object_new_int64(adj[i].before_qty));
			json_object_object_add(o, "after", json_object_new_int64(adj[i].after_qty));
			json_object_object_add(o, "reason", admin_common_jstr(adj[i].reason));
			json_object_array_add(rows, o);
		}
		json_object_object_add(ctx, "adjustments", rows);
	}
	return admin_common_page(r, v->status, "admin_product", ctx);
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
	return admin_common_done(r, arena_printf(r->a, "/admin/products/%" PRId64, id), "product_created");
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
		return admin_common_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
		    "product_unchanged");
	if (irc != INVENTORY_OK) {
		v.error = inventory_message(irc, &v.status);
		return render_product(r, &p, &v);
	}
	catalog_invalidate(r->app->redis);
	return admin_common_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
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
	return admin_common_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
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
	return admin_common_done(r, arena_printf(r->a, "/admin/products/%" PRId64, p.id),
	    "stock_adjusted");
}

const struct route admin_products_routes[] = {
	{ METHOD_GET,  "/admin/products",                    page_products,           ROUTE_HTML | ROUTE_ADMIN, "admin_products" },
	{ METHOD_POST, "/admin/products",                    page_product_create,     ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_create" },
	{ METHOD_GET,  "/admin/products/new",                page_product_new,        ROUTE_HTML | ROUTE_ADMIN, "admin_product_new" },
	{ METHOD_GET,  "/admin/products/{id}",               page_product,            ROUTE_HTML | ROUTE_ADMIN, "admin_product" },
	{ METHOD_POST, "/admin/products/{id}",               page_product_update,     ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_update" },
	{ METHOD_POST, "/admin/products/{id}/deactivate",    page_product_deactivate, ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_deactivate" },
	{ METHOD_POST, "/admin/products/{id}/activate",      page_product_activate,   ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_activate" },
	{ METHOD_POST, "/admin/products/{id}/stock",         page_product_stock,      ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_product_stock" },
	{ 0, NULL, NULL, 0, NULL },
};
