/* catalog: the storefront: the front page, the product list (categories, search, three sort
 * orders), the product page and the popular products, and their /api/v1 twins;
 * /products/{id} and /products/popular also answer JSON in seed 002's shapes when the Accept
 * header asks for it (ROUTE_TWIN: the dispatcher picks the page or the seed's JSON).
 * The product page also shows the lowest price on Naver Shopping, from lib/shop/pricewatch
 * (the process's own, r->app->pricewatch: its HTTP connection cache and "naver" breaker). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/catalog.h"
#include "shop/pricewatch.h"
#include "shop/shipping.h"

static const char MSG_BAD_LIMIT[] = "limit은 1~100 사이의 정수여야 합니다.";
static const char MSG_BAD_CURSOR[] = "잘못된 페이지 커서입니다.";
static const char MSG_BAD_ID[] = "잘못된 상품 번호입니다.";
static const char MSG_NOT_FOUND[] = "존재하지 않는 상품입니다.";
static const char MSG_BAD_SORT[] = "정렬 방식이 올바르지 않습니다.";
static const char MSG_BAD_QUERY[] = "검색어는 1~50자로 입력해 주세요.";
static const char MSG_NO_CATEGORY[] = "존재하지 않는 카테고리입니다.";

#define CATEGORIES_MAX 24   /* categories the storefront shows */
#define HOME_CARDS 8        /* products in each row of the front page */
#define LOW_STOCK 5         /* "n개 남음" from this many units down */

/* The sort orders' Korean names, in the order the list offers them. */
static const struct {
	enum catalog_sort sort;
	const char *label;
} sort_tabs[] = {
	{ CATALOG_SORT_POPULAR, "인기순" },
	{ CATALOG_SORT_NEW,     "최신순" },
	{ CATALOG_SORT_PRICE,   "낮은 가격순" },
};

/* A list's query as the URL gave it: ?sort= (new, price, popular; default new), ?category=
 * (a slug), ?q= (1..CATALOG_QUERY_MAX characters), ?cursor= (opaque, for that sort; empty or
 * absent = from the start) and ?limit= (1..100, default catalog.page_size). */
struct list_args {
	struct catalog_query q;
	struct catalog_category category;   /* id 0 when none was asked for */
	const char *query;                  /* the search as typed, or NULL */
	bool limit_given;
};

/* Reads the list's query into *la. Returns 0, or -1 after answering 400 (INVALID_LIMIT,
 * INVALID_SORT, INVALID_QUERY, INVALID_CURSOR; a field given twice counts as bad) or 404
 * (CATEGORY_NOT_FOUND), or -2 on a database error (nothing answered). */
static int
list_args_or_4xx(struct req *r, struct list_args *la)
{
	const char *v;
	int64_t n;
	int rc;

	memset(la, 0, sizeof(*la));
	la->q.sort = CATALOG_SORT_NEW;
	la->q.limit = (int)conf_int(r->app->conf, CONF_CATALOG_PAGE_SIZE);
	rc = form_get(&r->query, "limit", &v, NULL);
	if (rc < 0 || (rc == 0 && valid_int64(v, 1, CATALOG_LIMIT_MAX, &n) != 0)) {
		resp_error(r, 400, "INVALID_LIMIT", MSG_BAD_LIMIT);
		return -1;
	}
	if (rc == 0) {
		la->q.limit = (int)n;
		la->limit_given = true;
	}
	rc = form_get(&r->query, "sort", &v, NULL);
	if (rc < 0 || (rc == 0 && *v != '\0' && catalog_sort_parse(v, &la->q.sort) != 0)) {
		resp_error(r, 400, "INVALID_SORT", MSG_BAD_SORT);
		return -1;
	}
	rc = form_get(&r->query, "q", &v, NULL);
	if (rc < 0 || (rc == 0 && *v != '\0' &&
	    !valid_text(v, strlen(v), CATALOG_QUERY_MAX, false))) {
		resp_error(r, 400, "INVALID_QUERY", MSG_BAD_QUERY);
		return -1;
	}
	if (rc == 0 && *v != '\0') {
		la->query = v;
		la->q.q = v;
	}
	rc = form_get(&r->query, "category", &v, NULL);
	if (rc < 0) {
		resp_error(r, 404, "CATEGORY_NOT_FOUND", MSG_NO_CATEGORY);
		return -1;
	}
	if (rc == 0 && *v != '\0') {
		rc = catalog_category_by_slug(r->app->db, r->a, v, &la->category);
		if (rc < 0)
			return -2;
		if (rc == 0) {
			resp_error(r, 404, "CATEGORY_NOT_FOUND", MSG_NO_CATEGORY);
			return -1;
		}
		la->q.category_id = la->category.id;
	}
	la->q.after.sort = la->q.sort;
	rc = form_get(&r->query, "cursor", &v, NULL);
	if (rc < 0 || (rc == 0 && *v != '\0' &&
	    catalog_pos_decode(v, la->q.sort, &la->q.after) != 0)) {
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

/* {"id", "name", "price", "stock", "seller"}, plus "listPrice" and "discountRate" when there
 * is a discount to show, "image" when the product has one and "description" on its own page. */
static struct json_object *
item_json(const struct catalog_item *it)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(it->id));
	json_object_object_add(o, "name", json_object_new_string(it->name));
	json_object_object_add(o, "price", json_object_new_int64(it->price));
	json_object_object_add(o, "stock", json_object_new_int64(it->stock));
	json_object_object_add(o, "seller", json_object_new_string(it->seller));
	if (catalog_discount_pct(it->price, it->list_price) > 0) {
		json_object_object_add(o, "listPrice", json_object_new_int64(it->list_price));
		json_object_object_add(o, "discountRate",
		    json_object_new_int(catalog_discount_pct(it->price, it->list_price)));
	}
	if (it->image != NULL)
		json_object_object_add(o, "image", json_object_new_string(it->image));
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

/* What a product card (templates/card.html) shows: {"id", "name", "seller", "price",
 * "list_price" and "discount" (when there is a discount), "image", "image_alt", "stock",
 * "few" (units left when LOW_STOCK or fewer), "rank" (rank > 0: its place in a best-seller
 * row)}. */
static struct json_object *
card_json(const struct catalog_item *it, int rank)
{
	struct json_object *o = json_object_new_object();
	int pct = catalog_discount_pct(it->price, it->list_price);

	json_object_object_add(o, "id", json_object_new_int64(it->id));
	json_object_object_add(o, "name", json_object_new_string(it->name));
	json_object_object_add(o, "seller", json_object_new_string(it->seller));
	json_object_object_add(o, "price", json_object_new_int64(it->price));
	if (pct > 0) {
		json_object_object_add(o, "list_price", json_object_new_int64(it->list_price));
		json_object_object_add(o, "discount", json_object_new_int(pct));
	}
	if (it->image != NULL) {
		json_object_object_add(o, "image", json_object_new_string(it->image));
		json_object_object_add(o, "image_alt", json_object_new_string(it->image_alt));
	}
	json_object_object_add(o, "stock", json_object_new_int64(it->stock));
	if (it->stock > 0 && it->stock <= LOW_STOCK)
		json_object_object_add(o, "few", json_object_new_int64(it->stock));
	if (rank > 0)
		json_object_object_add(o, "rank", json_object_new_int(rank));
	return o;
}

static struct json_object *
cards_json(const struct catalog_page *p, bool ranked)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < p->n; i++)
		json_object_array_add(a, card_json(&p->items[i], ranked ? (int)i + 1 : 0));
	return a;
}

/* The storefront's categories as [{"slug", "name", "icon", "current"}] (current: the one
 * the list shows, added at the end when it is not among the first CATEGORIES_MAX), or NULL
 * on a database error. */
static struct json_object *
categories_json(struct req *r, const struct catalog_category *current)
{
	struct catalog_category cats[CATEGORIES_MAX + 1];
	struct json_object *a;
	int i, n = catalog_categories(r->app->db, r->a, cats, CATEGORIES_MAX);
	bool seen = false;

	if (n < 0)
		return NULL;
	for (i = 0; i < n; i++)
		seen = seen || cats[i].id == current->id;
	if (current->id > 0 && !seen)
		cats[n++] = *current;
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "slug", json_object_new_string(cats[i].slug));
		json_object_object_add(o, "name", json_object_new_string(cats[i].name));
		if (cats[i].icon != NULL)
			json_object_object_add(o, "icon", json_object_new_string(cats[i].icon));
		json_object_object_add(o, "current",
		    json_object_new_boolean(cats[i].id == current->id));
		json_object_array_add(a, o);
	}
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

/* Reads the page the query asks for into *p. Returns 0, -1 after answering 4xx, or -2 on an
 * internal failure (nothing answered). */
static int
load_page(struct req *r, struct list_args *la, struct catalog_page *p)
{
	int rc = list_args_or_4xx(r, la);

	if (rc != 0)
		return rc;
	if (catalog_list(r->app->db, r->app->redis, r->a, &la->q,
	    (int)conf_int(r->app->conf, CONF_CATALOG_CACHE_SECONDS), p) != 0)
		return -2;
	return 0;
}

/* GET /api/v1/products?sort=&category=&q=&cursor=&limit=: {"items": [...], "nextCursor":
 * "..." or null}. 400 INVALID_LIMIT / INVALID_SORT / INVALID_QUERY / INVALID_CURSOR, 404
 * CATEGORY_NOT_FOUND. */
static int
api_list(struct req *r)
{
	struct list_args la;
	struct catalog_page p;
	struct json_object *o;
	char cursor[CATALOG_CURSOR_MAX + 1];
	int rc = load_page(r, &la, &p);

	if (rc != 0)
		return rc == -1 ? 0 : -1;
	o = json_object_new_object();
	json_object_object_add(o, "items", items_json(&p));
	if (p.next.id > 0 && catalog_pos_encode(&p.next, cursor, sizeof(cursor)) == 0)
		json_object_object_add(o, "nextCursor", json_object_new_string(cursor));
	else
		json_object_object_add(o, "nextCursor", NULL);
	return resp_json(r, 200, o);
}

/* The list's URL for other choices: the path with cursor (NULL: none), then limit when the
 * query named one, then sort (unless new), category and q, each escaped. In the arena. */
static const char *
list_url(struct req *r, const struct list_args *la, enum catalog_sort sort, const char *cursor)
{
	struct buf u;
	const char *sep = "?", *out;

	buf_init(&u);
	buf_puts(&u, "/products");
	if (cursor != NULL) {
		buf_puts(&u, "?cursor=");
		esc_url_query(&u, cursor);
		sep = "&";
	}
	if (la->limit_given) {
		buf_printf(&u, "%slimit=%d", sep, la->q.limit);
		sep = "&";
	}
	if (sort != CATALOG_SORT_NEW) {
		buf_printf(&u, "%ssort=%s", sep, catalog_sort_name(sort));
		sep = "&";
	}
	if (la->category.id > 0) {
		buf_printf(&u, "%scategory=", sep);
		esc_url_query(&u, la->category.slug);
		sep = "&";
	}
	if (la->query != NULL) {
		buf_printf(&u, "%sq=", sep);
		esc_url_query(&u, la->query);
	}
	out = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return out;
}

/* GET /products?sort=&category=&q=&cursor=&limit=: the category chips, the sort tabs, a page
 * of product cards and the next-page link. 400 / 404 error pages as api_list. */
static int
page_list(struct req *r)
{
	struct list_args la, all;
	struct catalog_page p;
	struct json_object *ctx, *cats, *sorts, *nav;
	char cursor[CATALOG_CURSOR_MAX + 1];
	const char *heading;
	size_t i;
	int rc = load_page(r, &la, &p);

	if (rc != 0)
		return rc == -1 ? 0 : -1;
	cats = categories_json(r, &la.category);
	if (cats == NULL)
		return -1;
	heading = la.query != NULL ? arena_printf(r->a, "‘%s’ 검색 결과", la.query) :
	    la.category.id > 0 ? la.category.name : "전체 상품";
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(heading));
	json_object_object_add(ctx, "heading", json_object_new_string(heading));
	json_object_object_add(ctx, "items", cards_json(&p, false));
	json_object_object_add(ctx, "categories", cats);
	all = la;
	all.category.id = 0;  /* the "전체" chip: the same list over every category */
	json_object_object_add(ctx, "all_url", json_object_new_string(
	    list_url(r, &all, la.q.sort, NULL)));
	json_object_object_add(ctx, "all_current", json_object_new_boolean(la.category.id == 0));
	if (la.query != NULL)
		json_object_object_add(ctx, "q", json_object_new_string(la.query));
	sorts = json_object_new_array();
	for (i = 0; i < sizeof(sort_tabs) / sizeof(sort_tabs[0]); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "label", json_object_new_string(sort_tabs[i].label));
		json_object_object_add(o, "url", json_object_new_string(
		    list_url(r, &la, sort_tabs[i].sort, NULL)));
		json_object_object_add(o, "current", json_object_new_boolean(
		    sort_tabs[i].sort == la.q.sort));
		json_object_array_add(sorts, o);
	}
	json_object_object_add(ctx, "sorts", sorts);
	nav = json_object_new_object();
	if (la.query == NULL && la.category.id == 0)
		json_object_object_add(nav, la.q.sort == CATALOG_SORT_POPULAR ? "popular" :
		    la.q.sort == CATALOG_SORT_PRICE ? "price" : "new", json_object_new_boolean(1));
	json_object_object_add(ctx, "nav", nav);
	if (p.next.id > 0 && catalog_pos_encode(&p.next, cursor, sizeof(cursor)) == 0)
		json_object_object_add(ctx, "next_url", json_object_new_string(
		    list_url(r, &la, la.q.sort, cursor)));
	return resp_page(r, 200, "products", ctx);
}

/* What one of product it costs to ship under its seller's rule (the shop's when the seller
 * has none), as {"fee", "free_over"} (won; fee 0: ships free, free_over 0: no threshold), or
 * NULL on a database error. */
static struct json_object *
shipping_json(struct req *r, const struct catalog_item *it)
{
	struct shipping_rule shop;
	struct shipping_quote q;
	struct json_object *o;

	shipping_rule_from_conf(r->app->conf, &shop);
	if (shipping_quote(r->app->db, r->a, &shop, &it->seller_id, &it->price, 1, &q) != 0 ||
	    q.n != 1)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "fee", json_object_new_int64(q.parcels[0].fee));
	json_object_object_add(o, "free_over", json_object_new_int64(
	    q.parcels[0].fee > 0 ? q.parcels[0].rule.free_over : 0));
	return o;
}

/* One row of the front page: the first HOME_CARDS products in sort, or NULL on a database
 * error. A product can be in both rows, so each card's element id names its row
 * ("anchor": best-product-7, new-product-7): ids stay unique on the page. */
static struct json_object *
home_row(struct req *r, enum catalog_sort sort)
{
	struct catalog_query q = { .sort = sort, .after = { sort, 0, 0 }, .limit = HOME_CARDS };
	struct catalog_page p;
	struct json_object *cards, *id;
	size_t i;

	if (catalog_list(r->app->db, r->app->redis, r->a, &q,
	    (int)conf_int(r->app->conf, CONF_CATALOG_CACHE_SECONDS), &p) != 0)
		return NULL;
	cards = cards_json(&p, sort == CATALOG_SORT_POPULAR);
	for (i = 0; cards != NULL && i < json_object_array_length(cards); i++) {
		struct json_object *c = json_object_array_get_idx(cards, i);

		if (json_object_object_get_ex(c, "id", &id))
			json_object_object_add(c, "anchor", json_object_new_string(arena_printf(r->a,
			    "%s-product-%" PRId64, sort == CATALOG_SORT_POPULAR ? "best" : "new",
			    json_object_get_int64(id))));
	}
	return cards;
}

/* GET /: the front page: the banner, the categories, the best sellers and the newest
 * products (both first pages of the list, cached like it). */
int
home_index(struct req *r)
{
	static const struct catalog_category none;
	struct json_object *ctx, *cats, *best, *fresh, *nav;

	cats = categories_json(r, &none);
	best = cats != NULL ? home_row(r, CATALOG_SORT_POPULAR) : NULL;
	fresh = best != NULL ? home_row(r, CATALOG_SORT_NEW) : NULL;
	if (fresh == NULL) {
		json_object_put(cats);
		json_object_put(best);
		return -1;
	}
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("믿고 사는 우리 동네 장터"));
	json_object_object_add(ctx, "categories", cats);
	json_object_object_add(ctx, "best", best);
	json_object_object_add(ctx, "fresh", fresh);
	nav = json_object_new_object();
	json_object_object_add(nav, "home", json_object_new_boolean(1));
	json_object_object_add(ctx, "nav", nav);
	return resp_page(r, 200, "home", ctx);
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
 * "link", "title", "age", "stale", and when found "cheaper" (won we are below Naver's lowest),
 * "dearer" (won above it) or "same"}. */
static struct json_object *
naver_ctx(struct req *r, const struct catalog_item *it, const struct pricecmp_result *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, pricewatch_status_name(p->status), json_object_new_boolean(1));
	if (p->status == PRICECMP_FOUND) {
		json_object_object_add(o, "price", json_object_new_int64(p->offer.price));
		json_object_object_add(o, "mall", json_object_new_string(p->offer.mall[0] != '\0' ?
		    p->offer.mall : "네이버 쇼핑"));
		json_object_object_add(o, "link", json_object_new_string(p->offer.link));
		json_object_object_add(o, "title", json_object_new_string(p->offer.title));
		if (it->price < p->offer.price)
			json_object_object_add(o, "cheaper",
			    json_object_new_int64(p->offer.price - it->price));
		else if (it->price > p->offer.price)
			json_object_object_add(o, "dearer",
			    json_object_new_int64(it->price - p->offer.price));
		else
			json_object_object_add(o, "same", json_object_new_boolean(1));
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

/* The product page's "product" value: card_json's fields plus "description", "images"
 * [{"url", "alt"}] and "category" {"slug", "name"} when it has one. NULL on a database
 * error. */
static struct json_object *
product_ctx(struct req *r, const struct catalog_item *it)
{
	struct catalog_image imgs[CATALOG_IMAGES_MAX];
	struct catalog_category cats[CATEGORIES_MAX];
	struct json_object *o, *images;
	int i, n = catalog_images(r->app->db, r->a, it->id, imgs);
	int ncat = n >= 0 && it->category_id > 0 ?
	    catalog_categories(r->app->db, r->a, cats, CATEGORIES_MAX) : 0;

	if (n < 0 || ncat < 0)
		return NULL;
	o = card_json(it, 0);
	json_object_object_add(o, "description", json_object_new_string(
	    it->description != NULL ? it->description : ""));
	images = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "url", json_object_new_string(imgs[i].url));
		json_object_object_add(x, "alt", json_object_new_string(imgs[i].alt));
		json_object_object_add(x, "n", json_object_new_int(i + 1));
		json_object_array_add(images, x);
	}
	json_object_object_add(o, "images", images);
	for (i = 0; i < ncat; i++) {
		if (cats[i].id == it->category_id) {
			struct json_object *c = json_object_new_object();

			json_object_object_add(c, "slug", json_object_new_string(cats[i].slug));
			json_object_object_add(c, "name", json_object_new_string(cats[i].name));
			json_object_object_add(o, "category", c);
		}
	}
	return o;
}

/* GET /products/{id}: the product page (images, price, the Naver lowest price unless switched
 * off, the add-to-cart and buy-now form, the description). 400 / 404 error pages as
 * api_product. */
static int
page_product(struct req *r)
{
	struct catalog_item it;
	struct pricecmp_result p;
	struct json_object *ctx, *product, *shipping;
	const char *csrf;
	int rc = product_or_404(r, &it);

	if (rc <= 0)
		return rc;
	csrf = sess_csrf(r);  /* the add-to-cart form; a guest gets a session for their cart */
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	product = product_ctx(r, &it);
	if (product == NULL)
		return -1;
	shipping = shipping_json(r, &it);
	if (shipping == NULL) {
		json_object_put(product);
		return -1;
	}
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(it.name));
	json_object_object_add(ctx, "product", product);
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "max_quantity", json_object_new_int64(
	    conf_int(r->app->conf, CONF_CART_MAX_QUANTITY)));
	json_object_object_add(ctx, "shipping", shipping);
	pricewatch_lowest(r->app->pricewatch, &it, &r->log, &p);
	if (p.status != PRICECMP_OFF)
		json_object_object_add(ctx, "naver", naver_ctx(r, &it, &p));
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
