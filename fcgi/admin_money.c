/* admin_money: the admin console's money pages: sellers and their wallets with the payout
 * form (wallet_payout), the ledger's accounts with the trial balance and each account's
 * transfers (the reconciliation pages are admin_reconcile.c). Reads go through
 * lib/shop/wallet and lib/shop/ledger; a section whose module fails shows
 * ADMIN_COMMON_UNAVAILABLE. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/ids.h"
#include "shop/labels.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"
#include "shop/wallet.h"

static const char MSG_NO_SELLER[] = "판매자를 찾을 수 없습니다.";

static int
default_bp(struct req *r)
{
	return (int)conf_int(r->app->conf, CONF_SETTLE_COMMISSION_BP);
}

/* "/admin/ledger/accounts/<code>" with the code escaped as a path segment. */
static const char *
account_href(struct req *r, const char *code)
{
	struct buf u;
	const char *out;

	buf_init(&u);
	buf_puts(&u, "/admin/ledger/accounts/");
	esc_url_path(&u, code);
	out = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return out;
}

/* ---- sellers and wallets -------------------------------------------------------------------- */

static struct json_object *
seller_wallet_json(const struct wallet *w)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "sellerId", json_object_new_int64(w->seller_id));
	json_object_object_add(o, "name", admin_common_jstr(w->seller_name));
	json_object_object_add(o, "commissionBp", json_object_new_int(w->commission_bp));
	json_object_object_add(o, "payable", json_object_new_int64(w->payable));
	json_object_object_add(o, "salesTotal", json_object_new_int64(w->sales_total));
	json_object_object_add(o, "commissionTotal", json_object_new_int64(w->commission_total));
	json_object_object_add(o, "refundsTotal", json_object_new_int64(w->refunds_total));
	json_object_object_add(o, "paidOutTotal", json_object_new_int64(w->paid_out_total));
	return o;
}

/* GET /admin/sellers */
static int
page_sellers(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "판매자 지갑");
	struct json_object *rows;
	struct wallet *w;
	int64_t n, i;

	n = wallet_list(r->app->db, r->a, default_bp(r), &w);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "sellers_error", "wallet_list");
		return admin_common_page(r, 200, "admin_sellers", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, seller_wallet_json(&w[i]));
	json_object_object_add(ctx, "sellers", rows);
	return admin_common_page(r, 200, "admin_sellers", ctx);
}

/* The seller page; error (may be NULL) is a refused payout's reason, amount what was typed. */
static int
render_seller(struct req *r, int status, int64_t seller_id, const char *error,
    const char *amount)
{
	struct json_object *ctx = admin_common_ctx(r, "판매자 지갑");
	struct wallet_entry *e;
	struct json_object *rows;
	struct wallet w;
	char key[25];
	int64_t n, i;
	int rc;

	json_object_object_add(ctx, "sellerId", json_object_new_int64(seller_id));
	rc = wallet_get(r->app->db, r->a, seller_id, default_bp(r), &w);
	if (rc == 0) {
		resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
		json_object_put(ctx);
		return 0;
	}
	if (rc < 0) {
		admin_common_unavailable(r, ctx, "wallet_error", "wallet_get");
		return admin_common_page(r, status, "admin_seller", ctx);
	}
	json_object_object_add(ctx, "wallet", seller_wallet_json(&w));
	json_object_object_add(ctx, "account_href", json_object_new_string(account_href(r,
	    arena_printf(r->a, "seller_payable:%" PRId64, seller_id))));
	ids_new(key, sizeof(key));
	json_object_object_add(ctx, "payout_key", json_object_new_string(key));
	if (error != NULL)
		json_object_object_add(ctx, "payout_error", json_object_new_string(error));
	json_object_object_add(ctx, "amount", admin_common_jstr(amount));
	n = wallet_entries(r->app->db, r->a, seller_id, ADMIN_COMMON_PAGE_ROWS, &e);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "entries_error", "wallet_entries");
		return admin_common_page(r, status, "admin_seller", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "kind", admin_common_jstr(e[i].kind));
		json_object_object_add(o, "ref", admin_common_jstr(e[i].ref));
		json_object_object_add(o, "gross", json_object_new_int64(e[i].gross));
		json_object_object_add(o, "commission", json_object_new_int64(e[i].commission));
		json_object_object_add(o, "net", json_object_new_int64(e[i].net));
		json_object_object_add(o, "at", admin_common_jstr(e[i].at));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "entries", rows);
	return admin_common_page(r, status, "admin_seller", ctx);
}

static int
path_seller_id(struct req *r, int64_t *id)
{
	if (req_path_id(r, 0, id) != 0) {
		resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
		return 0;
	}
	return 1;
}

/* GET /admin/sellers/{id} */
static int
page_seller(struct req *r)
{
	int64_t id;
	int status = 200;
	const char *err;

	if (!path_seller_id(r, &id))
		return 0;
	err = admin_common_refusal(r, &status);
	return render_seller(r, status, id, err, err != NULL ? admin_common_kept(r, "amount") :
	    NULL);
}

/* POST /admin/sellers/{id}/payout: amount (won, > 0; empty: the whole payable), key. A
 * refusal redirects back to the seller page's form with the amount typed. */
static int
page_seller_payout(struct req *r)
{
	static const char *const names[] = { "amount" };
	const char *amount_s = NULL, *key = NULL, *path, *code = NULL;
	int64_t id, amount = -1, payout_id = 0, paid = 0;
	enum wallet_payout_rc rc;

	if (!path_seller_id(r, &id))
		return 0;
	path = arena_printf(r->a, "/admin/sellers/%" PRId64, id);
	if (form_get(&r->form, "amount", &amount_s, NULL) < 0)
		return admin_common_refused(r, path, "payout_bad", "payout", NULL, NULL, 0);
	if (amount_s != NULL && amount_s[0] != '\0' &&
	    (money_parse(amount_s, &amount) != 0 || amount < 1))
		code = "payout_amount";
	else if (form_get(&r->form, "key", &key, NULL) != 0 || !valid_token(key, 1, 64))
		code = "payout_key";
	if (code != NULL)
		return admin_common_refused(r, path, code, "payout", names, &amount_s, 1);
	rc = wallet_payout(r->app->db, id, amount, sess_user(r), key, &payout_id, &paid);
	if (rc == WALLET_REPLAYED)
		return admin_common_done(r, path, "payout_replayed");
	if (rc == WALLET_NO_SELLER)
		return resp_error(r, 404, "SELLER_NOT_FOUND", MSG_NO_SELLER);
	if (rc == WALLET_NOTHING || rc == WALLET_TOO_MUCH)
		return admin_common_refused(r, path, rc == WALLET_NOTHING ? "payout_nothing" :
		    "payout_too_much", "payout", names, &amount_s, 1);
	if (rc != WALLET_PAID_OUT)
		return render_seller(r, admin_common_db_failed_status(r), id,
		    "지급하지 못했습니다. 잠시 후 다시 시도해 주세요.", amount_s);
	/* wallet_payout audited it in its own transaction. */
	log_info(&r->log, "admin: payout %" PRId64 " of %" PRId64 " won to seller %" PRId64,
	    payout_id, paid, id);
	return admin_common_done(r, path, "payout_done");
}

/* ---- ledger --------------------------------------------------------------------------------- */

static struct json_object *
account_json(struct req *r, const struct ledger_account *a)
{
	struct json_object *o = json_object_new_object();

	char name[LABELS_ACCOUNT_MAX];

	json_object_object_add(o, "code", admin_common_jstr(a->code));
	json_object_object_add(o, "name", json_object_new_string(labels_account(a->code, name,
	    sizeof(name))));
	json_object_object_add(o, "href", json_object_new_string(account_href(r, a->code)));
	json_object_object_add(o, "kind", json_object_new_string(ledger_kind_name(a->kind)));
	json_object_object_add(o, "kindLabel", json_object_new_string(labels_text(
	    LABEL_ACCOUNT_KIND, ledger_kind_name(a->kind))));
	json_object_object_add(o, "kindTone", json_object_new_string(labels_tone(
	    LABEL_ACCOUNT_KIND, ledger_kind_name(a->kind))));
	json_object_object_add(o, "debits", json_object_new_int64(a->debits_posted));
	json_object_object_add(o, "credits", json_object_new_int64(a->credits_posted));
	json_object_object_add(o, "balance", json_object_new_int64(a->balance));
	return o;
}

/* GET /admin/ledger: every account and the trial balance (sum of debits, sum of credits). */
static int
page_ledger(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "원장");
	struct ledger_account *acc;
	struct json_object *rows;
	int64_t n, i, debits = 0, credits = 0;
	bool overflow = false;

	n = ledger_accounts(r->app->db, r->a, &acc);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "ledger_error", "ledger_accounts");
		return admin_common_page(r, 200, "admin_ledger", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object_array_add(rows, account_json(r, &acc[i]));
		if (money_add(debits, acc[i].debits_posted, &debits) != 0 ||
		    money_add(credits, acc[i].credits_posted, &credits) != 0)
			overflow = true;
	}
	json_object_object_add(ctx, "accounts", rows);
	if (overflow) {
		admin_common_unavailable(r, ctx, "totals_error", "trial balance (overflow)");
	} else {
		json_object_object_add(ctx, "total_debits", json_object_new_int64(debits));
		json_object_object_add(ctx, "total_credits", json_object_new_int64(credits));
		json_object_object_add(ctx, "balanced", json_object_new_boolean(debits == credits));
	}
	return admin_common_page(r, 200, "admin_ledger", ctx);
}

/* GET /admin/ledger/accounts/{code}?before= */
static int
page_account(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "원장 계정");
	const char *code = req_path_param(r, 0);
	struct ledger_transfer *t;
	struct ledger_account acc;
	struct json_object *rows;
	int64_t before = 0, n, i;
	int rc;

	if (strlen(code) > LEDGER_ACCOUNT_MAX || !valid_utf8(code, strlen(code))) {
		json_object_put(ctx);
		return resp_error(r, 404, "ACCOUNT_NOT_FOUND", "계정을 찾을 수 없습니다.");
	}
	if (admin_common_query_id(r, "before", &before) < 0) {
		json_object_put(ctx);
		return resp_fail(r, RESP_BAD_REQUEST);
	}
	json_object_object_add(ctx, "code", json_object_new_string(code));
	rc = ledger_account_get(r->app->db, r->a, code, &acc);
	if (rc == 0) {
		json_object_put(ctx);
		return resp_error(r, 404, "ACCOUNT_NOT_FOUND", "계정을 찾을 수 없습니다.");
	}
	if (rc < 0) {
		admin_common_unavailable(r, ctx, "account_error", "ledger_account_get");
		return admin_common_page(r, 200, "admin_account", ctx);
	}
	json_object_object_add(ctx, "account", account_json(r, &acc));
	n = ledger_transfers(r->app->db, r->a, code, before, ADMIN_COMMON_PAGE_ROWS, &t);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "transfers_error", "ledger_transfers");
		return admin_common_page(r, 200, "admin_account", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		bool debit = t[i].debit != NULL && strcmp(t[i].debit, code) == 0;
		const char *other = debit ? t[i].credit : t[i].debit;

		json_object_object_add(o, "id", json_object_new_int64(t[i].id));
		json_object_object_add(o, "postingId", admin_common_jstr(t[i].posting_id));
		json_object_object_add(o, "debit", admin_common_jstr(t[i].debit));
		json_object_object_add(o, "credit", admin_common_jstr(t[i].credit));
		if (other != NULL) {
			char name[LABELS_ACCOUNT_MAX];

			json_object_object_add(o, "other", json_object_new_string(other));
			json_object_object_add(o, "otherName", json_object_new_string(
			    labels_account(other, name, sizeof(name))));
			json_object_object_add(o, "otherHref",
			    json_object_new_string(account_href(r, other)));
		}
		json_object_object_add(o, "side", json_object_new_string(debit ? "차변" : "대변"));
		json_object_object_add(o, "amount", json_object_new_int64(t[i].amount));
		json_object_object_add(o, "code", json_object_new_string(
		    ledger_code_name(t[i].code)));
		json_object_object_add(o, "codeLabel", json_object_new_string(labels_text(
		    LABEL_POSTING, ledger_code_name(t[i].code))));
		json_object_object_add(o, "refType", admin_common_jstr(t[i].ref_type));
		json_object_object_add(o, "refId", admin_common_jstr(t[i].ref_id));
		json_object_object_add(o, "at", admin_common_jstr(t[i].created_at));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "transfers", rows);
	if (n == ADMIN_COMMON_PAGE_ROWS)
		json_object_object_add(ctx, "next", json_object_new_string(arena_printf(r->a,
		    "%s?before=%" PRId64, account_href(r, code), t[n - 1].id)));
	return admin_common_page(r, 200, "admin_account", ctx);
}

const struct route admin_money_routes[] = {
	{ METHOD_GET,  "/admin/sellers",                 page_sellers,       ROUTE_HTML | ROUTE_ADMIN, "admin_sellers" },
	{ METHOD_GET,  "/admin/sellers/{id}",            page_seller,        ROUTE_HTML | ROUTE_ADMIN, "admin_seller" },
	{ METHOD_POST, "/admin/sellers/{id}/payout",     page_seller_payout, ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_seller_payout" },
	{ METHOD_GET,  "/admin/ledger",                  page_ledger,        ROUTE_HTML | ROUTE_ADMIN, "admin_ledger" },
	{ METHOD_GET,  "/admin/ledger/accounts/{code}",  page_account,       ROUTE_HTML | ROUTE_ADMIN, "admin_account" },
	{ 0, NULL, NULL, 0, NULL },
};
