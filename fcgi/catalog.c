/* catalog: the product list, product and popular-products pages and their /api/v1 twins;
 * /products/{id} and /products/popular also answer JSON in seed 002's shapes when the Accept
 * header asks for it (ROUTE_TWIN: the dispatcher picks the page or the seed's JSON).
 * The product page also shows the lowest price on Naver Shopping, from lib/shop/pricewatch
 * (the process's own, r->app->pricewatch: its HTTP connection cache and "naver" breaker). */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "shop/catalog.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/pricewatch.h"
#include "base/valid.h"

static const char MSG_BAD_LIMIT[] = "limit은 1~100 사이의 정수여야 합니다.";
static const char MSG_BAD_CURSOR[] = "잘못된 페이지 커서입니다.";
static const char MSG_BAD_ID[] = "잘못된 상품 번호입니다.";
static const char MSG_NOT_FOUND[] = "존재하지 않는 상품입니다.";

/* The list's query: ?cursor= (opaque; empty or absent = from the newest) and ?limit=
 * (1..100, default catalog.page_size). Stores them and whether limit was given. Returns 0, or
 * -1 after answering 400 (INVALID_LIMIT, INVALID_CURSOR; a field given twice counts as bad). */
static int
list_params_or_400(struct req *r, int64_t *after_id, int *limit, bool *limit_given)
{
	const char *v;
	int64_t n;
	int rc;

	*after_id = 0;
	*limit = (int)conf_int(r->app->conf, CONF_CATALOG_PAGE_SIZE);
	*limit_given = false;
	rc = form_get(&r->query, "limit", &v, NULL);
	if (rc < 0 || (rc == 0 && valid_int64(v, 1, CATALOG_LIMIT_MAX, &n) != 0)) {
		resp_error(r, 400, "INVALID_LIMIT", MSG_BAD_LIMIT);
		return -1;
	}
	if (rc == 0) {
		*limit = (int)n;
		*limit_given = true;
	}
	rc = form_get(&r->query, "cursor", &v, NULL);
	if (rc < 0 || (rc == 0 && *v != '\0' && catalog_cursor_decode(v, after_id) != 0)) {
		resp_error(r, 400, "INVALID_CURSOR", MSG_BAD_CURSOR);
		return -1;
	}
	return 0;
}

/* The product id of the path. Returns 0, or -1 after answering 400 INVALID_PRODUCT_ID for a
 * segment that is not a decimal id in 1..INT64_MAX (seed 002's "잘못된 상품 번호입니다."). */
static int
product_id_or_400(struct req *r, int64_t *id)
{
	if (req_path_id(r, 0, id) == 0)
		return 0;
	resp_error(r, 400, "INVALID_PRODUCT_ID", MSG_BAD_ID);
	return -1;
}

/* {"id", "name", "price", "stock", "seller"} plus "description" when the item has one. */
static struct json_object *
item_json(const struct catalog_item *it)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(it->id));
	json_object_object_add(o, "name", json_object_new_string(it->name));
	json_object_object_add(o, "price", json_object_new_int64(it->price));
	json_object_object_add(o, "stock", json_object_new_int64(it->stock));
	json_object_object_add(o, "seller", json_object_new_string(it->seller));
	if (it->description != NULL)
		json_object_object_add(o, "description", json_object_new_string(it->description));
	return o;
}

static struct json_object *
items_json(const struct catalog_page *p)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < p->n; i++)
		json_object_array_add(a, item_json(&p->items[i]));
	return a;
}

/* The popular list as [{"id", "name", count_key}] (count_key: "saleCount" in /api/v1,
 * "sale_count" in seed 002's shape), or NULL on a MariaDB error. */
static struct json_object *
popular_json(struct req *r, const char *count_key)
{
	struct catalog_popular top[CATALOG_POPULAR_MAX];
	struct json_object *a;
	size_t i, n;

	if (catalog_popular(r->app->db, r->app->redis, r->a,
	    (int)conf_int(r->app->conf, CONF_CATALOG_POPULAR_SECONDS), top, &n) != 0)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(top[i].id));
		json_object_object_add(o, "name", json_object_new_string(top[i].name));
		json_object_object_add(o, count_key, json_object_new_int64(top[i].sale_count));
		json_object_array_add(a, o);
	}
	return a;
}

/* Reads the page the query asks for; *given_limit is the limit the query named, or 0.
 * Returns 0, -1 after answering 400, or -2 on an internal failure (nothing answered). */
static int
load_page(struct req *r, struct catalog_page *p, int *given_limit)
{
	int64_t after_id;
	int limit;
	bool limit_given;

	if (list_params_or_400(r, &after_id, &limit, &limit_given) != 0)
		return -1;
	*given_limit = limit_given ? limit : 0;
	if (catalog_list(r->app->db, r->app->redis, r->a, after_id, limit,
	    (int)conf_int(r->app->conf, CONF_CATALOG_CACHE_SECONDS), p) != 0)
		return -2;
	return 0;
}

/* GET /api/v1/products?cursor=&limit=: {"items": [...], "nextCursor": "..." or null}.
 * 400 INVALID_LIMIT / INVALID_CURSOR. */
static int
api_list(struct req *r)
{
	struct catalog_page p;
	struct json_object *o;
	char cursor[CATALOG_CURSOR_MAX + 1];
	int given_limit;
	int rc = load_page(r, &p, &given_limit);

	if (rc != 0)
		return rc == -1 ? 0 : -1;
	o = json_object_new_object();
	json_object_object_add(o, "items", items_json(&p));
	if (p.next_after > 0 && catalog_cursor_encode(p.next_after, cursor, sizeof(cursor)) == 0)
		json_object_object_add(o, "nextCursor", json_object_new_string(cursor));
	else
		json_object_object_add(o, "nextCursor", NULL);
	return resp_json(r, 200, o);
}

/* GET /products?cursor=&limit=: a page of products, the popular list and a next-page link.
 * 400 (error page) on a bad limit or cursor. */
static int
page_list(struct req *r)
{
	struct catalog_page p;
	struct json_object *ctx, *popular;
	char cursor[CATALOG_CURSOR_MAX + 1];
	int given_limit;
	int rc = load_page(r, &p, &given_limit);

	if (rc != 0)
		return rc == -1 ? 0 : -1;
	popular = popular_json(r, "saleCount");
	if (popular == NULL)
		return -1;
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("상품"));
	json_object_object_add(ctx, "items", items_json(&p));
	json_object_object_add(ctx, "popular", popular);
	if (p.next_after > 0 && catalog_cursor_encode(p.next_after, cursor, sizeof(cursor)) == 0) {
		struct buf url = { 0 };

		buf_puts(&url, "/products?cursor=");
		esc_url_query(&url, cursor);
		if (given_limit > 0)
			buf_printf(&url, "&limit=%d", given_limit);
		json_object_object_add(ctx, "next_url", json_object_new_string(url.data));
		buf_release(&url);
	}
	return resp_page(r, 200, "products", ctx);
}

/* GET /api/v1/products/popular: [{"id", "name", "saleCount"}], at most 5. */
static int
api_popular(struct req *r)
{
	struct json_object *a = popular_json(r, "saleCount");

	if (a == NULL)
		return -1;
	return resp_json(r, 200, a);
}

/* GET /products/popular with Accept: application/json (seed 002): [{"id", "name",
 * "sale_count"}], the five best sellers of the last three days. */
static int
seed_popular(struct req *r)
{
	struct json_object *a = popular_json(r, "sale_count");

	if (a == NULL)
		return -1;
	return resp_json(r, 200, a);
}

/* GET /products/popular (the page): the five best sellers of the last three days. */
static int
page_popular(struct req *r)
{
	struct json_object *ctx, *popular = popular_json(r, "saleCount");

	if (popular == NULL)
		return -1;
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("인기 상품"));
	json_object_object_add(ctx, "popular", popular);
	return resp_page(r, 200, "popular", ctx);
}

/* The active product of the path into *it. Returns 1, or 0 after answering 400
 * INVALID_PRODUCT_ID / 404 PRODUCT_NOT_FOUND, or -1 on an internal failure. */
static int
product_or_404(struct req *r, struct catalog_item *it)
{
	int64_t id;
	int rc;

	if (product_id_or_400(r, &id) != 0)
		return 0;
	rc = catalog_get(r->app->db, r->a, id, it);
	if (rc == 0)
		resp_error(r, 404, "PRODUCT_NOT_FOUND", MSG_NOT_FOUND);
	return rc;
}

/* Unix seconds as RFC 3339 UTC ("2026-01-02T03:04:05Z"), in the arena. */
static const char *
rfc3339(struct req *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	if (gmtime_r(&tt, &tm) == NULL || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "";
	return arena_strdup(r->a, s);
}

/* {"status", "price", "mall", "link", "title", "fetchedAt", "cached", "stale"}: price, mall,
 * link and title are null unless found; fetchedAt (RFC 3339) is null when unavailable;
 * cached: read from Redis rather than asked for this request; stale: the last known answer,
 * shown because Naver could not be asked or did not answer. */
static struct json_object *
naver_json(struct req *r, const struct pricecmp_result *p)
{
	struct json_object *o = json_object_new_object();
	bool found = p->status == PRICECMP_FOUND;

	json_object_object_add(o, "status",
	    json_object_new_string(pricewatch_status_name(p->status)));
	json_object_object_add(o, "price", found ? json_object_new_int64(p->offer.price) : NULL);
	json_object_object_add(o, "mall", found ? json_object_new_string(p->offer.mall) : NULL);
	json_object_object_add(o, "link", found ? json_object_new_string(p->offer.link) : NULL);
	json_object_object_add(o, "title", found ? json_object_new_string(p->offer.title) : NULL);
	json_object_object_add(o, "fetchedAt", p->fetched_at > 0 ?
	    json_object_new_string(rfc3339(r, p->fetched_at)) : NULL);
	json_object_object_add(o, "cached", json_object_new_boolean(p->cached));
	json_object_object_add(o, "stale", json_object_new_boolean(p->stale));
	return o;
}

/* How long ago t was, in Korean ("방금 전", "5분 전", "3시간 전", "2일 전"), in the arena. */
static const char *
age_text(struct req *r, int64_t t)
{
	int64_t secs = (int64_t)time(NULL) - t;

	if (secs < 60)
		return "방금 전";
	if (secs < 3600)
		return arena_printf(r->a, "%lld분 전", (long long)(secs / 60));
	if (secs < 86400)
		return arena_printf(r->a, "%lld시간 전", (long long)(secs / 3600));
	return arena_printf(r->a, "%lld일 전", (long long)(secs / 86400));
}

/* The product page's "naver" value: {"found"|"none"|"unavailable": true, "price", "mall",
 * "link", "title", "age", "stale"}. */
static struct json_object *
naver_ctx(struct req *r, const struct pricecmp_result *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, pricewatch_status_name(p->status), json_object_new_boolean(1));
	if (p->status == PRICECMP_FOUND) {
		json_object_object_add(o, "price", json_object_new_int64(p->offer.price));
		json_object_object_add(o, "mall", json_object_new_string(p->offer.mall[0] != '\0' ?
		    p->offer.mall : "네이버 쇼핑"));
		json_object_object_add(o, "link", json_object_new_string(p->offer.link));
		json_object_object_add(o, "title", json_object_new_string(p->offer.title));
	}
	if (p->fetched_at > 0)
		json_object_object_add(o, "age",
		    json_object_new_string(age_text(r, p->fetched_at)));
	json_object_object_add(o, "stale", json_object_new_boolean(p->stale));
	return o;
}

/* GET /api/v1/products/{id}: {"id", "name", "price", "stock", "seller", "description",
 * "naverLowestPrice": see naver_json} (naverLowestPrice left out when the price comparison
 * is switched off). 400 INVALID_PRODUCT_ID, 404 PRODUCT_NOT_FOUND (unknown or inactive). */
static int
api_product(struct req *r)
{
	struct catalog_item it;
	struct pricecmp_result p;
	struct json_object *o;
	int rc = product_or_404(r, &it);

	if (rc <= 0)
		return rc;
	o = item_json(&it);
	pricewatch_lowest(r->app->pricewatch, &it, &r->log, &p);
	if (p.status != PRICECMP_OFF)
		json_object_object_add(o, "naverLowestPrice", naver_json(r, &p));
	return resp_json(r, 200, o);
}

/* GET /products/{id} with Accept: application/json (seed 002): {"id", "name", "price",
 * "stock"}. 400 INVALID_PRODUCT_ID ("잘못된 상품 번호입니다."), 404 PRODUCT_NOT_FOUND. */
static int
seed_product(struct req *r)
{
	struct catalog_item it;
	struct json_object *o;
	int rc = product_or_404(r, &it);

	if (rc <= 0)
		return rc;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(it.id));
	json_object_object_add(o, "name", json_object_new_string(it.name));
	json_object_object_add(o, "price", json_object_new_int64(it.price));
	json_object_object_add(o, "stock", json_object_new_int64(it.stock));
	return resp_json(r, 200, o);
}

/* GET /products/{id}: the product page, with the Naver lowest price unless switched off.
 * 400 / 404 error pages as api_product. */
static int
page_product(struct req *r)
{
	struct catalog_item it;
	struct pricecmp_result p;
	struct json_object *ctx;
	const char *csrf;
	int rc = product_or_404(r, &it);

	if (rc <= 0)
		return rc;
	csrf = sess_csrf(r);  /* the add-to-cart form; a guest gets a session for their cart */
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(it.name));
	json_object_object_add(ctx, "product", item_json(&it));
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "max_quantity", json_object_new_int64(
	    conf_int(r->app->conf, CONF_CART_MAX_QUANTITY)));
	pricewatch_lowest(r->app->pricewatch, &it, &r->log, &p);
	if (p.status != PRICECMP_OFF)
		json_object_object_add(ctx, "naver", naver_ctx(r, &p));
	return resp_page(r, 200, "product", ctx);
}

/* Table order is match order: .../popular before .../{id}. The twins (ROUTE_TWIN) are one
 * resource each: the page, or seed 002's JSON when Accept prefers application/json. */
const struct route catalog_routes[] = {
	{ METHOD_GET,  "/products",                        page_list,       ROUTE_HTML, "products" },
	{ METHOD_GET,  "/products/popular",                page_popular,    ROUTE_HTML | ROUTE_TWIN, "products_popular" },
	{ METHOD_GET,  "/products/popular",                seed_popular,    ROUTE_JSON | ROUTE_TWIN, "seed_products_popular" },
	{ METHOD_GET,  "/products/{id}",                   page_product,    ROUTE_HTML | ROUTE_TWIN, "product" },
	{ METHOD_GET,  "/products/{id}",                   seed_product,    ROUTE_JSON | ROUTE_TWIN, "seed_product" },
	{ METHOD_GET,  "/api/v1/products",                 api_list,        ROUTE_JSON, "api_products" },
	{ METHOD_GET,  "/api/v1/products/popular",         api_popular,     ROUTE_JSON, "api_products_popular" },
	{ METHOD_GET,  "/api/v1/products/{id}",            api_product,     ROUTE_JSON, "api_product" },
	{ 0, NULL, NULL, 0, NULL },
};
