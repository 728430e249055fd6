/* wallet: a seller's wallet for the user who manages the seller (sellers.owner_user_id):
 * the page /seller/wallet and its JSON twins, /api/v1/seller/wallet and
 * /api/v1/sellers/{id}/wallet (the owner, or any admin). Anyone else gets 404, never 403:
 * whether another seller exists is not theirs to learn. */
#include <inttypes.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/conf.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/wallet.h"

/* Entries shown on the page and in the JSON. */
#define WALLET_ENTRIES_MAX 50

static const char MSG_NO_SELLER[] = "판매자 정보를 찾을 수 없습니다.";

static const char *const kind_labels[][2] = {
	{ "sale", "판매 정산" },
	{ "refund", "환불 차감" },
	{ "payout", "지급" },
};

/* The Korean label of an entry's kind. */
static const char *
kind_label(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(kind_labels) / sizeof(kind_labels[0]); i++)
		if (strcmp(kind, kind_labels[i][0]) == 0)
			return kind_labels[i][1];
	return kind;
}

/* Loads seller_id's wallet and entries and builds its JSON (owned by the caller) into *out.
 * Returns 1, 0 unknown seller, or -1 (database). */
static int
load(struct req *r, int64_t seller_id, struct json_object **out)
{
	struct wallet w;
	struct wallet_entry *e;
	int64_t n;
	int rc;

	rc = wallet_get(r->app->db, r->a, seller_id,
	    (int)conf_int(r->app->conf, CONF_SETTLE_COMMISSION_BP), &w);
	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	n = wallet_entries(r->app->db, r->a, seller_id, WALLET_ENTRIES_MAX, &e);
	if (n < 0)
		return -1;
	*out = wallet_json(&w, e, (size_t)n);
	return 1;
}

/* The seller the signed-in user manages. Returns 1 (set), 0 after answering 404, or -1. */
static int
own_seller_or_404(struct req *r, int64_t *seller_id)
{
	int rc = wallet_seller_of_user(r->app->db, sess_user(r), seller_id);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
		return 0;
	}
	return 1;
}

/* GET /seller/wallet: the page. 200, 404 (the user manages no seller). */
static int
page_wallet(struct req *r)
{
	struct json_object *w, *entries, *ctx;
	int64_t seller_id;
	size_t i, n;
	int rc;

	rc = own_seller_or_404(r, &seller_id);
	if (rc <= 0)
		return rc;
	rc = load(r, seller_id, &w);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
	entries = json_object_object_get(w, "entries");
	n = json_object_array_length(entries);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);

		json_object_object_add(e, "label", json_object_new_string(kind_label(
		    json_object_get_string(json_object_object_get(e, "kind")))));
	}
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("정산 지갑"));
	json_object_object_add(ctx, "wallet", w);
	return resp_page(r, 200, "wallet", ctx);
}

/* GET /api/v1/seller/wallet: the page's twin. 200, 404. */
static int
api_my_wallet(struct req *r)
{
	struct json_object *w;
	int64_t seller_id;
	int rc;

	rc = own_seller_or_404(r, &seller_id);
	if (rc <= 0)
		return rc;
	rc = load(r, seller_id, &w);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
	return resp_json(r, 200, w);
}

/* GET /api/v1/sellers/{id}/wallet: the seller's owner or an admin. 200, 404 (unknown seller,
 * or not theirs). */
static int
api_seller_wallet(struct req *r)
{
	struct json_object *w;
	int64_t id, own = 0;
	int rc;

	if (req_path_id(r, 0, &id) != 0)
		return resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
	if (!sess_is_admin(r)) {
		rc = wallet_seller_of_user(r->app->db, sess_user(r), &own);
		if (rc < 0)
			return -1;
		if (rc == 0 || own != id)
			return resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
	}
	rc = load(r, id, &w);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
	return resp_json(r, 200, w);
}

const struct route wallet_routes[] = {
	{ METHOD_GET, "/seller/wallet",             page_wallet,       ROUTE_HTML | ROUTE_LOGIN, "seller_wallet" },
	{ METHOD_GET, "/api/v1/seller/wallet",      api_my_wallet,     ROUTE_JSON | ROUTE_LOGIN, "api_seller_wallet_mine" },
	{ METHOD_GET, "/api/v1/sellers/{id}/wallet", api_seller_wallet, ROUTE_JSON | ROUTE_LOGIN, "api_seller_wallet" },
	{ 0, NULL, NULL, 0, NULL },
};
