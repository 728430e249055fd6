/* settings: the signed-in shopper's account page (e-mail, name, and how order notices reach
 * them: a mobile number and the consent to get them as KakaoTalk 알림톡) and its JSON twin.
 * The rules (number format, consent needs a number, when consent was given) live in
 * lib/shop/account.c; this file parses and renders. */
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/form.h"
#include "base/jparse.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/account.h"

#define PHONE_INPUT_MAX 64   /* bytes of a phone field read; longer is refused as malformed */

static const char MSG_NO_USER[] = "존재하지 않는 유저입니다.";

/* How each refused outcome of account_contact_set is answered. */
static const struct {
	int status;
	const char *code;
	const char *message;
} contact_answers[ACCOUNT_CONTACT__MAX] = {
	[ACCOUNT_CONTACT_BAD_PHONE] = { 400, "INVALID_PHONE",
	                                "휴대폰 번호는 010-1234-5678 형식으로 입력해 주세요." },
	[ACCOUNT_CONTACT_NO_PHONE]  = { 400, "PHONE_REQUIRED",
	                                "알림톡을 받으려면 휴대폰 번호를 입력해 주세요." },
	[ACCOUNT_CONTACT_NO_USER]   = { 404, "USER_NOT_FOUND", MSG_NO_USER },
};

/* {"phone": str|null, "alimtalkConsent": bool, "consentAt": str|null}. */
static struct json_object *
contact_json(const struct account_contact *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "phone", c->phone[0] != '\0' ?
	    json_object_new_string(c->phone) : NULL);
	json_object_object_add(o, "alimtalkConsent", json_object_new_boolean(c->alimtalk));
	json_object_object_add(o, "consentAt", c->consent_at[0] != '\0' ?
	    json_object_new_string(c->consent_at) : NULL);
	return o;
}

/* Renders the account page with status; saved: the last form was stored; error: why it was
 * not, with phone and alimtalk what it held (shown again). */
static int
render_account(struct req *r, int status, bool saved, const char *error, const char *phone,
    bool alimtalk)
{
	struct account acct;
	struct account_contact c;
	struct json_object *ctx;
	const char *csrf;
	int rc;

	rc = account_get(r->app->db, sess_user(r), &acct);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
	if (account_contact_get(r->app->db, acct.id, &c) < 0)
		return -1;
	csrf = sess_csrf(r);
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("내 정보"));
	json_object_object_add(ctx, "email", json_object_new_string(acct.email));
	json_object_object_add(ctx, "name", json_object_new_string(acct.name));
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "phone", json_object_new_string(error != NULL ? phone : c.phone));
	json_object_object_add(ctx, "alimtalk", json_object_new_boolean(error != NULL ? alimtalk :
	    c.alimtalk));
	if (error == NULL && c.alimtalk)
		json_object_object_add(ctx, "consent_at", json_object_new_string(c.consent_at));
	if (saved)
		json_object_object_add(ctx, "saved", json_object_new_boolean(true));
	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	return resp_page(r, status, "account", ctx);
}

/* GET /account[?saved=1]: the account page. */
static int
page_account(struct req *r)
{
	const char *s;

	return render_account(r, 200, form_get(&r->query, "saved", &s, NULL) == 0 &&
	    strcmp(s, "1") == 0, NULL, NULL, false);
}

/* POST /account/notifications (csrf_token, phone, alimtalk=on when ticked): stores them and
 * 303s to /account?saved=1; a refusal re-renders the page with the reason (400). */
static int
page_account_notifications(struct req *r)
{
	const char *phone = "", *tick;
	bool alimtalk;
	enum account_contact_rc rc;

	if (form_get(&r->form, "phone", &phone, NULL) < 0 || strlen(phone) > PHONE_INPUT_MAX)
		return render_account(r, 400, false, contact_answers[ACCOUNT_CONTACT_BAD_PHONE].message,
		    "", false);
	alimtalk = form_get(&r->form, "alimtalk", &tick, NULL) == 0 && strcmp(tick, "on") == 0;
	rc = account_contact_set(r->app->db, sess_user(r), phone, alimtalk);
	if (rc == ACCOUNT_CONTACT_FAILED)
		return -1;
	if (rc != ACCOUNT_CONTACT_SAVED)
		return render_account(r, contact_answers[rc].status, false,
		    contact_answers[rc].message, phone, alimtalk);
	return resp_redirect(r, "/account?saved=1");
}

/* Answers 200 with the signed-in user's contact as it is now. */
static int
answer_contact(struct req *r)
{
	struct account_contact c;
	int rc = account_contact_get(r->app->db, sess_user(r), &c);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
	return resp_json(r, 200, contact_json(&c));
}

/* GET /api/v1/me/notifications: {"phone", "alimtalkConsent", "consentAt"}. 200, 404. */
static int
api_notifications(struct req *r)
{
	return answer_contact(r);
}

/* PUT /api/v1/me/notifications {"phone": "010-1234-5678" | null, "alimtalkConsent": bool}:
 * both fields required (a PUT replaces the settings). 200 as GET; 400 INVALID_FIELDS,
 * INVALID_PHONE, PHONE_REQUIRED; 404. */
static int
api_notifications_set(struct req *r)
{
	static const char *const fields[] = { "phone", "alimtalkConsent", NULL };
	struct json_object *consent = NULL, *phone_v = NULL;
	const char *phone = NULL;
	enum account_contact_rc rc;

	if (jparse_only_keys(r->json, fields) != 0 ||
	    !json_object_object_get_ex(r->json, "alimtalkConsent", &consent) ||
	    !json_object_is_type(consent, json_type_boolean) ||
	    !json_object_object_get_ex(r->json, "phone", &phone_v) ||
	    (phone_v != NULL && jparse_string(r->json, "phone", PHONE_INPUT_MAX, &phone) != 0))
		return resp_error(r, 400, "INVALID_FIELDS",
		    "요청 본문은 phone(문자열 또는 null)과 alimtalkConsent(true/false)를 담은 객체여야"
		    " 합니다.");
	rc = account_contact_set(r->app->db, sess_user(r), phone,
	    json_object_get_boolean(consent));
	if (rc == ACCOUNT_CONTACT_FAILED)
		return -1;
	if (rc != ACCOUNT_CONTACT_SAVED)
		return resp_error(r, contact_answers[rc].status, contact_answers[rc].code,
		    contact_answers[rc].message);
	return answer_contact(r);
}

const struct route settings_routes[] = {
	{ METHOD_GET,  "/account",                   page_account,               ROUTE_HTML | ROUTE_LOGIN, "account" },
	{ METHOD_POST, "/account/notifications",     page_account_notifications, ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "account_notifications" },
	{ METHOD_GET,  "/api/v1/me/notifications",   api_notifications,          ROUTE_JSON | ROUTE_LOGIN, "api_me_notifications" },
	{ METHOD_PUT,  "/api/v1/me/notifications",   api_notifications_set,      ROUTE_JSON | ROUTE_LOGIN | ROUTE_CSRF, "api_me_notifications_set" },
	{ 0, NULL, NULL, 0, NULL },
};
