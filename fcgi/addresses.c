/* addresses: the shopper's address book pages: the list (make default, delete), the form for
 * a new or changed address (what is wrong is said next to each field), and the POSTs, each
 * answered with a redirect. ?next= (a same-site path, e.g. /checkout) is where a saved address
 * sends the shopper back to. The rules live in lib/shop/addresses.c. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/form.h"
#include "base/log.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/addresses.h"

static const char MSG_NOT_FOUND[] = "배송지를 찾을 수 없습니다.";

/* The result messages of this family's POSTs, by the code their redirect carries. */
static const struct {
	const char *code;
	const char *message;
} done_messages[] = {
	{ "saved",   "배송지를 저장했습니다." },
	{ "default", "기본 배송지를 바꿨습니다." },
	{ "deleted", "배송지를 삭제했습니다." },
};

/* Where the form sends the shopper after saving: the only places that link to it with
 * ?next=, or NULL for the address book. */
static const char *
next_of(const struct form *f)
{
	static const char *const allowed[] = { "/checkout", "/addresses" };
	const char *v;
	size_t i;

	if (form_get(f, "next", &v, NULL) != 0)
		return NULL;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcmp(v, allowed[i]) == 0)
			return allowed[i];
	return NULL;
}

/* One address for a template: {"id", "label", "recipient", "phone", "zipcode", "address1",
 * "address2", "memo", "is_default"}. */
static struct json_object *
address_json(const struct address *ad)
{
	struct json_object *o = json_object_new_object();
	int f;

	json_object_object_add(o, "id", json_object_new_int64(ad->id));
	for (f = 0; f < ADDRESS_FIELD__MAX; f++)
		json_object_object_add(o, addresses_field_name((enum address_field)f),
		    json_object_new_string(ad->f[f]));
	json_object_object_add(o, "is_default", json_object_new_boolean(ad->is_default));
	return o;
}

/* GET /addresses[?done=]: the book, the default first. */
static int
page_list(struct req *r)
{
	struct json_object *ctx, *list, *nav;
	struct address *ads;
	const char *csrf = sess_csrf(r), *done;
	int64_t n, i;
	size_t k;

	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	n = addresses_list(r->app->db, r->a, sess_user(r), &ads);
	if (n < 0)
		return -1;
	list = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(list, address_json(&ads[i]));
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("배송지 관리"));
	json_object_object_add(ctx, "addresses", list);
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "full", json_object_new_boolean(n >= ADDRESSES_MAX));
	json_object_object_add(ctx, "max", json_object_new_int(ADDRESSES_MAX));
	if (form_get(&r->query, "done", &done, NULL) == 0)
		for (k = 0; k < sizeof(done_messages) / sizeof(done_messages[0]); k++)
			if (strcmp(done, done_messages[k].code) == 0)
				json_object_object_add(ctx, "notice",
				    json_object_new_string(done_messages[k].message));
	nav = json_object_new_object();
	json_object_object_add(nav, "addresses", json_object_new_boolean(1));
	json_object_object_add(ctx, "nav", nav);
	return resp_page(r, 200, "addresses", ctx);
}

/* Renders the form with status: ad (NULL: empty), errors (NULL: none) next to their fields,
 * error above the form, next carried along. */
static int
render_form(struct req *r, int status, const struct address *ad,
    const char *const *errors, const char *error, const char *next)
{
	struct json_object *ctx, *errs;
	const char *csrf = sess_csrf(r);
	int f;

	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(
	    ad != NULL && ad->id > 0 ? "배송지 수정" : "새 배송지"));
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	if (ad != NULL)
		json_object_object_add(ctx, "address", address_json(ad));
	if (errors != NULL) {
		errs = json_object_new_object();
		for (f = 0; f < ADDRESS_FIELD__MAX; f++)
			if (errors[f] != NULL)
				json_object_object_add(errs, addresses_field_name((enum address_field)f),
				    json_object_new_string(errors[f]));
		json_object_object_add(ctx, "errors", errs);
	}
	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	if (next != NULL)
		json_object_object_add(ctx, "next", json_object_new_string(next));
	return resp_page(r, status, "address_form", ctx);
}

/* The address {id} of the path, the signed-in shopper's, into *ad. Returns 1, 0 after
 * answering 404 (malformed id, unknown, or another's), -1 on a database error. */
static int
mine_or_404(struct req *r, struct address *ad)
{
	int64_t id;
	int rc;

	if (req_path_id(r, 0, &id) != 0) {
		resp_error(r, 404, "ADDRESS_NOT_FOUND", MSG_NOT_FOUND);
		return 0;
	}
	rc = addresses_get(r->app->db, r->a, sess_user(r), id, ad);
	if (rc == 0)
		resp_error(r, 404, "ADDRESS_NOT_FOUND", MSG_NOT_FOUND);
	return rc;
}

/* GET /addresses/new[?next=]: the empty form. */
static int
page_new(struct req *r)
{
	return render_form(r, 200, NULL, NULL, NULL, next_of(&r->query));
}

/* GET /addresses/{id}/edit[?next=]: the form with the address. */
static int
page_edit(struct req *r)
{
	struct address ad;
	int rc = mine_or_404(r, &ad);

	if (rc <= 0)
		return rc;
	return render_form(r, 200, &ad, NULL, NULL, next_of(&r->query));
}

/* Saves the form as address id (0: a new one): checks every field, then 303 to next or
 * /addresses?done=saved; what is wrong re-renders the form (400) with each message next to
 * its field. */
static int
save(struct req *r, int64_t id)
{
	const char *in[ADDRESS_FIELD__MAX], *errors[ADDRESS_FIELD__MAX], *v;
	const char *next = next_of(&r->form);
	struct address ad;
	enum addresses_rc rc;
	bool make_default;
	int f;

	for (f = 0; f < ADDRESS_FIELD__MAX; f++)
		if (form_get(&r->form, addresses_field_name((enum address_field)f), &in[f], NULL) != 0)
			in[f] = NULL;
	make_default = form_get(&r->form, "is_default", &v, NULL) == 0 && strcmp(v, "1") == 0;
	if (addresses_check(r->a, in, &ad, errors) != 0) {
		ad.id = id;
		ad.is_default = make_default;
		return render_form(r, 400, &ad, errors, "입력한 내용을 확인해 주세요.", next);
	}
	ad.id = id;
	rc = addresses_save(r->app->db, sess_user(r), &ad, make_default, NULL);
	switch (rc) {
	case ADDRESSES_OK:
		return resp_redirect(r, next != NULL ? next : "/addresses?done=saved");
	case ADDRESSES_FULL:
		return render_form(r, 409, &ad, NULL, "배송지는 20개까지 저장할 수 있습니다. 쓰지 않는 배송지를 지워 주세요.",
		    next);
	case ADDRESSES_NOT_FOUND:
		return resp_error(r, 404, "ADDRESS_NOT_FOUND", MSG_NOT_FOUND);
	default:
		return -1;
	}
}

/* POST /addresses (the new-address form) */
static int
page_create(struct req *r)
{
	return save(r, 0);
}

/* POST /addresses/{id} (the edit form) */
static int
page_update(struct req *r)
{
	struct address ad;
	int rc = mine_or_404(r, &ad);

	if (rc <= 0)
		return rc;
	return save(r, ad.id);
}

/* POST /addresses/{id}/default → 303 /addresses?done=default */
static int
page_default(struct req *r)
{
	struct address ad;
	int rc = mine_or_404(r, &ad);

	if (rc <= 0)
		return rc;
	switch (addresses_set_default(r->app->db, sess_user(r), ad.id)) {
	case ADDRESSES_OK:
		return resp_redirect(r, "/addresses?done=default");
	case ADDRESSES_NOT_FOUND:
		return resp_error(r, 404, "ADDRESS_NOT_FOUND", MSG_NOT_FOUND);
	default:
		return -1;
	}
}

/* POST /addresses/{id}/delete → 303 /addresses?done=deleted (orders keep their own copy) */
static int
page_delete(struct req *r)
{
	struct address ad;
	int rc = mine_or_404(r, &ad);

	if (rc <= 0)
		return rc;
	switch (addresses_delete(r->app->db, sess_user(r), ad.id)) {
	case ADDRESSES_OK:
		return resp_redirect(r, "/addresses?done=deleted");
	case ADDRESSES_NOT_FOUND:
		return resp_error(r, 404, "ADDRESS_NOT_FOUND", MSG_NOT_FOUND);
	default:
		return -1;
	}
}

/* Table order is match order: /addresses/new before /addresses/{id}. */
const struct route addresses_routes[] = {
	{ METHOD_GET,  "/addresses",              page_list,    ROUTE_HTML | ROUTE_LOGIN, "addresses" },
	{ METHOD_POST, "/addresses",              page_create,  ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "address_create" },
	{ METHOD_GET,  "/addresses/new",          page_new,     ROUTE_HTML | ROUTE_LOGIN, "address_new" },
	{ METHOD_GET,  "/addresses/{id}/edit",    page_edit,    ROUTE_HTML | ROUTE_LOGIN, "address_edit" },
	{ METHOD_POST, "/addresses/{id}",         page_update,  ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "address_update" },
	{ METHOD_POST, "/addresses/{id}/default", page_default, ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "address_default" },
	{ METHOD_POST, "/addresses/{id}/delete",  page_delete,  ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "address_delete" },
	{ 0, NULL, NULL, 0, NULL },
};
