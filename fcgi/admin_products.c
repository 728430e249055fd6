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

/* Reads the product form. Returns NULL with *f and *out filled, or the refusal code
 * (admin_common_refused) of the input. with_stock: the create form's initial stock. */
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
		return "product_seller";
	if (f->name == NULL || !valid_text(f->name, strlen(f->name), INVENTORY_NAME_MAX, false))
		return "product_name";
	out->name = f->name;
	if (f->description == NULL)
		f->description = "";
	len = strlen(f->description);
	if (len > 0 && !valid_text(f->description, len, INVENTORY_DESC_MAX, true))
		return "product_desc";
	out->description = f->description;
	if (f->price == NULL || money_parse(f->price, &out->price) != 0 || out->price < 1)
		return "product_price";
	if (with_stock) {
		if (f->stock == NULL || f->stock[0] == '\0')
			*stock = 0;
		else if (valid_int64(f->stock, 0, INVENTORY_STOCK_MAX, stock) != 0)
			return "product_stock";
	}
	return NULL;
}

/* The refusal code (admin_common_refused) of a refused inventory change, or NULL for a
 * database failure (answered on the spot: admin_common_db_failed_status). INVENTORY_NOT_FOUND
 * is the caller's 404. */
static const char *
inventory_refusal(enum inventory_rc rc)
{
	switch (rc) {
	case INVENTORY_NO_SELLER: return "product_no_seller";
	case INVENTORY_DUP_NAME: return "product_dup_name";
	case INVENTORY_INVALID: return "product_invalid";
	case INVENTORY_NEGATIVE: return "stock_negative";
	case INVENTORY_TOO_MUCH: return "stock_too_much";
	default: return NULL;
	}
}

static const char MSG_SAVE_FAILED[] = "저장하지 못했습니다. 잠시 후 다시 시도해 주세요.";

/* The product form's fields a refusal carries back. */
static const char *const form_names[] = { "seller_id", "name", "description", "price", "stock" };

/* 303 back to path with the refusal code and what was typed in the product form. */
static int
product_refused(struct req *r, const char *path, const char *code, const struct product_form *f)
{
	const char *vals[] = { f->seller_id, f->name, f->description, f->price, f->stock };

	return admin_common_refused(r, path, code, NULL, form_names, vals,
	    sizeof(form_names) / sizeof(form_names[0]));
}

/* The product form as a refusal carried it back in the query, into *f; returns 1, or 0 (f
 * untouched) when the query holds no refusal. */
static int
kept_form(struct req *r, struct product_form *f)
{
	int status;

	if (admin_common_refusal(r, &status) == NULL)
		return 0;
	f->seller_id = admin_common_kept(r, "seller_id");
	f->name = admin_common_kept(r, "name");
	f->description = admin_common_kept(r, "description");
	f->price = admin_common_kept(r, "price");
	f->stock = admin_common_kept(r, "stock");
	return 1;
}

/* GET /admin/products/new */
static int
page_product_new(struct req *r)
{
	struct product_form f = { 0 };
	int status = 200;
	const char *err = admin_common_refusal(r, &status);

	if (err != NULL && kept_form(r, &f))
		return render_new_product(r, status, err, &f);
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

	err = read_product_form(r, true, &f, &in, &stock);
	if (err != NULL)
		return product_refused(r, "/admin/products/new", err, &f);
	rc = inventory_create(r->app->db, sess_user(r), &in, stock, &id);
	if (rc != INVENTORY_OK) {
		err = inventory_refusal(rc);
		if (err != NULL)
			return product_refused(r, "/admin/products/new", err, &f);
		return render_new_product(r, admin_common_db_failed_status(r), MSG_SAVE_FAILED, &f);
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
	struct product_form f = { 0 };
	const char *err;
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	/* A refused POST redirected here: its message goes at the form it came from. */
	err = admin_common_refusal(r, &v.status);
	if (err != NULL && strncmp(admin_common_kept(r, "err"), "stock_", 6) == 0) {
		v.adjust_error = err;
		v.delta = admin_common_kept(r, "delta");
		v.reason = admin_common_kept(r, "reason");
	} else if (err != NULL) {
		v.error = err;
		if (kept_form(r, &f) && f.name != NULL)
			v.edit = &f;
	}
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
	const char *path, *code;
	enum inventory_rc irc;
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	path = arena_printf(r->a, "/admin/products/%" PRId64, p.id);
	code = read_product_form(r, false, &f, &in, NULL);
	if (code != NULL)
		return product_refused(r, path, code, &f);
	irc = inventory_update(r->app->db, sess_user(r), p.id, &in);
	if (irc == INVENTORY_UNCHANGED)
		return admin_common_done(r, path, "product_unchanged");
	if (irc == INVENTORY_NOT_FOUND)
		return resp_error(r, 404, "PRODUCT_NOT_FOUND", MSG_NO_PRODUCT);
	if (irc != INVENTORY_OK) {
		code = inventory_refusal(irc);
		if (code != NULL)
			return product_refused(r, path, code, &f);
		v.status = admin_common_db_failed_status(r);
		v.error = MSG_SAVE_FAILED;
		v.edit = &f;
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
	if (irc == INVENTORY_NOT_FOUND)
		return resp_error(r, 404, "PRODUCT_NOT_FOUND", MSG_NO_PRODUCT);
	if (irc != INVENTORY_OK && irc != INVENTORY_UNCHANGED) {
		v.status = admin_common_db_failed_status(r);
		v.error = MSG_SAVE_FAILED;
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

/* POST /admin/products/{id}/stock: delta (non-zero integer) and reason (required). A refusal
 * redirects back to the product page's stock form with what was typed. */
static int
page_product_stock(struct req *r)
{
	static const char *const names[] = { "delta", "reason" };
	struct inventory_product p;
	struct product_view v = { 0 };
	const char *path, *code = NULL, *vals[2];
	enum inventory_rc irc;
	int64_t delta = 0;
	int rc = path_product(r, &p);

	if (rc <= 0)
		return rc;
	if (form_get(&r->form, "delta", &vals[0], NULL) != 0)
		vals[0] = NULL;
	if (form_get(&r->form, "reason", &vals[1], NULL) != 0)
		vals[1] = NULL;
	path = arena_printf(r->a, "/admin/products/%" PRId64, p.id);
	if (vals[0] == NULL || valid_int64(vals[0], -INVENTORY_STOCK_MAX, INVENTORY_STOCK_MAX,
	    &delta) != 0 || delta == 0)
		code = "stock_delta";
	else if (vals[1] == NULL || !valid_text(vals[1], strlen(vals[1]), INVENTORY_REASON_MAX,
	    false))
		code = "stock_reason";
	if (code != NULL)
		return admin_common_refused(r, path, code, "stock-adjust", names, vals, 2);
	irc = inventory_adjust(r->app->db, sess_user(r), p.id, delta, vals[1], NULL, NULL);
	if (irc == INVENTORY_NOT_FOUND)
		return resp_error(r, 404, "PRODUCT_NOT_FOUND", MSG_NO_PRODUCT);
	if (irc != INVENTORY_OK) {
		code = inventory_refusal(irc);
		if (code != NULL)
			return admin_common_refused(r, path, code, "stock-adjust", names, vals, 2);
		v.status = admin_common_db_failed_status(r);
		v.adjust_error = MSG_SAVE_FAILED;
		v.delta = vals[0];
		v.reason = vals[1];
		return render_product(r, &p, &v);
	}
	return admin_common_done(r, path, "stock_adjusted");
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
