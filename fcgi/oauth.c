/* oauth: social login pages: the provider list, the start of a Naver or Kakao login (state
 * in Redis, redirect to the provider) and the callback that finishes it (state check, token
 * and profile through lib/clients/oauth, user through lib/shop/identity, session through sess_login).
 *
 * One struct http per handler process, created here on first use and kept for the process's
 * life (it holds libcurl's connection cache); lib/clients/oauth takes it as a parameter. */
#include <string.h>
#include <json-c/json.h>

#include "shop/account.h"
#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "infra/http.h"
#include "shop/identity.h"
#include "base/ids.h"
#include "base/log.h"
#include "clients/oauth.h"
#include "infra/redis.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

#define OAUTH_STATE_LEN 32           /* characters of [0-9a-z]: ~165 bits */
#define OAUTH_STATE_TTL "600"        /* seconds a started login may take */
#define OAUTH_NEXT_MAX 512           /* bytes of the local path to return to */
#define OAUTH_CODE_MAX 1024          /* bytes of an authorization code */

/* The process's HTTP client for the providers (see the top of the file). */
static struct http *oauth_http;

/* What a started login left in Redis under oauth:state:{state}. */
struct oauth_state {
	enum oauth_provider provider;
	const char *sess_id;   /* the browser session that started it */
	const char *next;      /* local path to land on afterwards */
};

/* The provider named by the path's first parameter, if it is known and switched on.
 * Returns 0, or -1 after answering 404. */
static int
provider_or_404(struct req *r, enum oauth_provider *out)
{
	if (oauth_provider_parse(req_path_param(r, 0), out) != 0 ||
	    !oauth_enabled(r->app->conf, *out)) {
		resp_fail(r, RESP_NOT_FOUND);
		return -1;
	}
	return 0;
}

/* True when s is a path on this site that is safe to redirect to: '/' then printable ASCII
 * (no spaces or controls), not "//" or "/\" (which browsers read as another host). */
static bool
local_path(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > OAUTH_NEXT_MAX || s[0] != '/' || s[1] == '/' || s[1] == '\\')
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return true;
}

/* The ?next= path to return to after signing in, or "/" when absent or not a safe local
 * path (a bad return path is no reason to refuse the login). */
static const char *
next_path(const struct req *r)
{
	const char *next;
	size_t len;

	if (form_get(&r->query, "next", &next, &len) != 0 || !local_path(next, len))
		return "/";
	return next;
}

/* site.base_url + /login/{provider}/callback: the redirect_uri registered with the provider. */
static const char *
callback_uri(struct req *r, enum oauth_provider p)
{
	const char *base = conf_str(r->app->conf, CONF_SITE_BASE_URL);
	size_t len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	return arena_printf(r->a, "%.*s/login/%s/callback", (int)len, base, oauth_provider_name(p));
}

static const char *
state_key(struct req *r, const char *state)
{
	return arena_printf(r->a, "oauth:state:%s", state);
}

/* Starts a login with the provider of the path: makes sure the browser has a session,
 * stores a fresh single-use state bound to it, and appends the provider's authorize URL to
 * url. Returns 1 when url is ready, 0 after answering (404 unknown or switched-off provider,
 * 503 Redis down), -1 on an internal failure (a bad authorize URL in the config). */
static int
start_login(struct req *r, struct buf *url)
{
	enum oauth_provider p;
	char state[OAUTH_STATE_LEN + 1];
	const char *value;
	redisReply *rep;
	bool stored;

	if (provider_or_404(r, &p) != 0)
		return 0;
	if (sess_csrf(r) == NULL) {
		resp_fail(r, RESP_UNAVAILABLE);
		return 0;
	}
	ids_new(state, sizeof(state));
	value = arena_printf(r->a, "%s\n%s\n%s", oauth_provider_name(p), r->sess.id, next_path(r));
	rep = redis_cmdl(r->app->redis, "SET", state_key(r, state), value, "EX", OAUTH_STATE_TTL,
	    "NX", NULL);
	stored = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0;
	if (rep != NULL)
		freeReplyObject(rep);
	if (!stored) {
		log_warn(&r->log, "oauth: state not stored: %s", redis_error(r->app->redis));
		resp_fail(r, RESP_UNAVAILABLE);
		return 0;
	}
	if (oauth_authorize_url(r->app->conf, p, callback_uri(r, p), state, url) != 0) {
		log_error(&r->log, "oauth: the %s authorize URL in the config is not an absolute "
		    "http(s) URL", oauth_provider_name(p));
		return -1;
	}
	log_info(&r->log, "oauth: %s login started", oauth_provider_name(p));
	return 1;
}

/* GET /login/{provider}[?next=/path]: 303 to the provider's authorize page.
 * resp_redirect only allows local paths, so the Location header is written here. It is safe:
 * scheme, host and path come from the config alone (oauth_authorize_url checks they are an
 * absolute http(s) URL of printable ASCII), and every value added to it is escaped with
 * esc_url_query, which leaves nothing but unreserved characters and %XX: no CR/LF can reach
 * the header, and nothing a client sends can change where the browser goes. */
static int
oauth_start(struct req *r)
{
	struct buf url = { 0 }, hdr = { 0 };
	int rc = start_login(r, &url);

	if (rc <= 0)
		goto out;
	buf_puts(&hdr, "Location: ");
	buf_append(&hdr, url.data, url.len);
	buf_puts(&hdr, "\r\n");
	resp_send(r, 303, "text/html; charset=utf-8", hdr.data, "", 0);
	rc = 0;
out:
	buf_release(&url);
	buf_release(&hdr);
	return rc;
}

/* GET /api/v1/login/{provider}[?next=/path]: {"authorizeUrl": "..."} for a script to send
 * the browser to; same session cookie and state as the page. 404 NOT_FOUND for an unknown
 * or switched-off provider, 503 when Redis is down. */
static int
oauth_start_api(struct req *r)
{
	struct buf url = { 0 };
	struct json_object *o;
	int rc = start_login(r, &url);

	if (rc <= 0)
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "authorizeUrl", json_object_new_string_len(url.data,
	    (int)url.len));
	rc = resp_json(r, 200, o);
out:
	buf_release(&url);
	return rc;
}

/* The providers switched on, as [{"provider","name","loginUrl"}]; loginUrl carries next. */
static struct json_object *
provider_list(struct req *r)
{
	struct json_object *list = json_object_new_array();
	const char *next = next_path(r);
	int p;

	for (p = 0; p < OAUTH_PROVIDER__MAX; p++) {
		struct json_object *o;
		struct buf url = { 0 };

		if (!oauth_enabled(r->app->conf, (enum oauth_provider)p))
			continue;
		buf_puts(&url, "/login/");
		esc_url_path(&url, oauth_provider_name((enum oauth_provider)p));
		if (strcmp(next, "/") != 0) {
			buf_puts(&url, "?next=");
			esc_url_query(&url, next);
		}
		o = json_object_new_object();
		json_object_object_add(o, "provider",
		    json_object_new_string(oauth_provider_name((enum oauth_provider)p)));
		json_object_object_add(o, "name",
		    json_object_new_string(oauth_provider_label((enum oauth_provider)p)));
		json_object_object_add(o, "loginUrl", json_object_new_string(buf_cstr(&url)));
		json_object_array_add(list, o);
		buf_release(&url);
	}
	return list;
}

/* GET /login/social[?next=/path]: a page with a "…로 로그인" link per provider switched on. */
static int
oauth_social_page(struct req *r)
{
	struct json_object *ctx = json_object_new_object();

	json_object_object_add(ctx, "title", json_object_new_string("소셜 로그인"));
	json_object_object_add(ctx, "providers", provider_list(r));
	return resp_page(r, 200, "oauth_social", ctx);
}

/* GET /api/v1/login/social: {"providers": [{"provider","name","loginUrl"}]}. */
static int
oauth_social_api(struct req *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "providers", provider_list(r));
	return resp_json(r, 200, o);
}

/* A social login that did not complete: the oauth_error page with a way to try again.
 * Returns 0. */
static int
fail_page(struct req *r, int status, const char *code, const char *title, const char *message,
    const char *retry_url)
{
	struct json_object *ctx = json_object_new_object();

	json_object_object_add(ctx, "title", json_object_new_string(title));
	json_object_object_add(ctx, "status", json_object_new_int(status));
	json_object_object_add(ctx, "code", json_object_new_string(code));
	json_object_object_add(ctx, "message", json_object_new_string(message));
	json_object_object_add(ctx, "retry_url", json_object_new_string(retry_url));
	json_object_object_add(ctx, "request_id", json_object_new_string(r->id));
	if (resp_page(r, status, "oauth_error", ctx) != 0)
		return resp_error(r, status, code, message);
	return 0;
}

static int
fail_state(struct req *r)
{
	return fail_page(r, 400, "OAUTH_STATE_INVALID", "로그인 요청 오류",
	    "로그인 요청이 만료되었거나 올바르지 않습니다. 처음부터 다시 시도해 주세요.",
	    "/login/social");
}

/* Takes (reads and deletes, in one GETDEL) the login started under state and checks it
 * belongs to provider p and to this browser's session. Returns 1 with *st filled, 0 after
 * answering (400 unknown, used, expired, foreign or malformed; 503 Redis down). */
static int
take_state(struct req *r, enum oauth_provider p, const char *state, struct oauth_state *st)
{
	enum oauth_provider sp;
	redisReply *rep;
	char *v, *nl1, *nl2;

	rep = redis_cmdl(r->app->redis, "GETDEL", state_key(r, state), NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		log_warn(&r->log, "oauth: state not read: %s",
		    rep != NULL ? rep->str : redis_error(r->app->redis));
		if (rep != NULL)
			freeReplyObject(rep);
		resp_fail(r, RESP_UNAVAILABLE);
		return 0;
	}
	v = rep->type == REDIS_REPLY_STRING ?
	    arena_strndup(r->a, rep->str, rep->len) : NULL;
	freeReplyObject(rep);
	if (v == NULL) {
		log_warn(&r->log, "oauth: %s callback with an unknown, used or expired state",
		    oauth_provider_name(p));
		return fail_state(r);
	}
	nl1 = strchr(v, '\n');
	nl2 = nl1 != NULL ? strchr(nl1 + 1, '\n') : NULL;
	if (nl2 == NULL)
		return fail_state(r);
	*nl1 = '\0';
	*nl2 = '\0';
	if (oauth_provider_parse(v, &sp) != 0 || sp != p) {
		log_warn(&r->log, "oauth: %s callback with a state started for %s",
		    oauth_provider_name(p), v);
		return fail_state(r);
	}
	if (!r->has_sess || strcmp(r->sess.id, nl1 + 1) != 0) {
		log_warn(&r->log, "oauth: %s callback from another browser session",
		    oauth_provider_name(p));
		return fail_state(r);
	}
	st->provider = sp;
	st->sess_id = nl1 + 1;
	st->next = local_path(nl2 + 1, strlen(nl2 + 1)) ? nl2 + 1 : "/";
	return 1;
}

/* The provider reported an error instead of a code (?error=access_denied ...). Returns 0. */
static int
fail_provider_error(struct req *r, enum oauth_provider p, const char *error)
{
	const char *label = oauth_provider_label(p);
	const char *retry = arena_printf(r->a, "/login/%s", oauth_provider_name(p));

	log_info(&r->log, "oauth: %s answered error %.64s", oauth_provider_name(p), error);
	if (strcmp(error, "access_denied") == 0)
		return fail_page(r, 403, "OAUTH_DENIED", arena_printf(r->a, "%s 로그인 취소", label),
		    arena_printf(r->a, "%s 로그인을 취소하셨습니다. 다시 시도하시거나 다른 방법으로 "
		    "로그인해 주세요.", label), retry);
	return fail_page(r, 502, "OAUTH_PROVIDER_ERROR", arena_printf(r->a, "%s 로그인 실패", label),
	    arena_printf(r->a, "%s 로그인 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.", label),
	    retry);
}

/* GET /login/{provider}/callback?code=&state= (or ?error=&state=): the provider sends the
 * browser back here. Answers 404 (provider unknown or off), 400 OAUTH_STATE_INVALID (state
 * missing, unknown, used, expired, of another provider or another browser session; checked
 * before anything else, and consumed by the first callback that names it), 403 OAUTH_DENIED
 * (the shopper said no), 502 OAUTH_PROVIDER_ERROR (another provider error), 400
 * OAUTH_CODE_INVALID (no code, or the provider refused it), 502 OAUTH_UNAVAILABLE (provider
 * down, slow or answering nonsense), 403 ACCOUNT_DISABLED, 503 (Redis down), or 303 to the
 * path the login started from, signed in. Nothing is created unless the provider confirmed
 * who signed in; no transaction or lock is held across the provider calls. */
static int
oauth_callback(struct req *r)
{
	struct identity_claim claim;
	struct oauth_profile prof;
	struct oauth_state st;
	struct account acct;
	enum oauth_provider p;
	enum oauth_rc orc;
	enum identity_rc irc;
	const char *state, *code, *error, *label, *retry;
	size_t len;
	int rc;

	memset(&st, 0, sizeof(st));
	if (provider_or_404(r, &p) != 0)
		return 0;
	label = oauth_provider_label(p);
	retry = arena_printf(r->a, "/login/%s", oauth_provider_name(p));
	if (form_get(&r->query, "state", &state, NULL) != 0 ||
	    !valid_token(state, OAUTH_STATE_LEN, OAUTH_STATE_LEN))
		return fail_state(r);
	rc = take_state(r, p, state, &st);
	if (rc <= 0)
		return rc;

	rc = form_get(&r->query, "error", &error, NULL);
	if (rc == 0)
		return fail_provider_error(r, p, error);
	if (rc < 0 || form_get(&r->query, "code", &code, &len) != 0 || len == 0 ||
	    len > OAUTH_CODE_MAX || strlen(code) != len)
		return fail_page(r, 400, "OAUTH_CODE_INVALID", arena_printf(r->a, "%s 로그인 실패",
		    label), arena_printf(r->a, "%s 로그인 인증 정보가 올바르지 않거나 만료되었습니다. "
		    "다시 시도해 주세요.", label), retry);

	if (oauth_http == NULL)
		oauth_http = http_new(r->app->conf);
	orc = oauth_fetch_profile(oauth_http, r->app->conf, p, code, state, callback_uri(r, p),
	    &r->log, &prof);
	switch (orc) {
	case OAUTH_OK:
		break;
	case OAUTH_ERR_REFUSED:
		return fail_page(r, 400, "OAUTH_CODE_INVALID", arena_printf(r->a, "%s 로그인 실패",
		    label), arena_printf(r->a, "%s 로그인 인증 정보가 올바르지 않거나 만료되었습니다. "
		    "다시 시도해 주세요.", label), retry);
	case OAUTH_ERR_USAGE:
		return -1;
	default:
		return fail_page(r, 502, "OAUTH_UNAVAILABLE", arena_printf(r->a, "%s 로그인 실패",
		    label), arena_printf(r->a, "%s 로그인 서버가 응답하지 않습니다. 잠시 후 다시 시도해 "
		    "주세요.", label), retry);
	}

	memset(&claim, 0, sizeof(claim));
	claim.provider = oauth_provider_name(p);
	claim.subject = prof.subject;
	claim.email = prof.email;
	claim.email_verified = prof.email_verified;
	claim.name = prof.name;
	claim.fallback_name = arena_printf(r->a, "%s 회원", label);
	irc = identity_resolve(r->app->db, &claim, &r->log, &acct, NULL);
	if (irc == IDENTITY_DISABLED)
		return fail_page(r, 403, "ACCOUNT_DISABLED", "이용 제한",
		    "이용이 제한된 계정입니다. 고객센터로 문의해 주세요.", "/");
	if (irc != IDENTITY_OK)
		return -1;
	if (sess_login(r, acct.id, acct.role, acct.name) != 0) {
		log_warn(&r->log, "oauth: session not created: Redis did not answer");
		return resp_fail(r, RESP_UNAVAILABLE);
	}
	return resp_redirect(r, st.next);
}

const struct route oauth_routes[] = {
	{ METHOD_GET, "/login/social",              oauth_social_page, ROUTE_HTML, "login_social" },
	{ METHOD_GET, "/login/{provider}",          oauth_start,       ROUTE_HTML, "login_oauth_start" },
	{ METHOD_GET, "/login/{provider}/callback", oauth_callback,    ROUTE_HTML, "login_oauth_callback" },
	{ METHOD_GET, "/api/v1/login/social",       oauth_social_api,  ROUTE_JSON, "api_login_social" },
	{ METHOD_GET, "/api/v1/login/{provider}",   oauth_start_api,   ROUTE_JSON, "api_login_oauth_start" },
	{ 0, NULL, NULL, 0, NULL },
};
