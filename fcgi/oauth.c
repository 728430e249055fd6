/* oauth: social login pages: the provider list, the start of a Naver or Kakao login (a
 * redirect to the provider) and the callback that finishes it (signed in through
 * sess_login). What happens in between (the state in Redis, the code exchange, the profile,
 * the user) is lib/shop/social's; this file validates what the browser sent, calls it and
 * renders the outcome. The process's struct social is r->app->social. */
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/log.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/social.h"

/* The provider named by the path's first parameter, if it is known and switched on.
 * Returns 0, or -1 after answering 404. */
static int
provider_or_404(struct req *r, enum oauth_provider *out)
{
	if (social_provider_parse(r->app->conf, req_path_param(r, 0), out) != 0) {
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

	if (len == 0 || len > SOCIAL_NEXT_MAX || s[0] != '/' || s[1] == '/' || s[1] == '\\')
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
	return arena_printf(r->a, "%.*s/login/%s/callback", (int)len, base, social_provider_name(p));
}

/* Starts a login with the provider of the path: makes sure the browser has a session,
 * stores a fresh single-use state bound to it, and appends the provider's authorize URL to
 * url. Returns 1 when url is ready, 0 after answering (404 unknown or switched-off provider,
 * 503 Redis down), -1 on an internal failure (a bad authorize URL in the config). */
static int
start_login(struct req *r, struct buf *url)
{
	enum oauth_provider p;

	if (provider_or_404(r, &p) != 0)
		return 0;
	if (sess_csrf(r) == NULL) {
		resp_fail(r, RESP_UNAVAILABLE);
		return 0;
	}
	switch (social_start(r->app->social, r->app->redis, p, r->sess.id, next_path(r),
	    callback_uri(r, p), &r->log, url)) {
	case SOCIAL_OK:
		return 1;
	case SOCIAL_UNAVAILABLE:
		resp_fail(r, RESP_UNAVAILABLE);
		return 0;
	default:
		return -1;
	}
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

		if (!social_enabled(r->app->conf, (enum oauth_provider)p))
			continue;
		buf_puts(&url, "/login/");
		esc_url_path(&url, social_provider_name((enum oauth_provider)p));
		if (strcmp(next, "/") != 0) {
			buf_puts(&url, "?next=");
			esc_url_query(&url, next);
		}
		o = json_object_new_object();
		json_object_object_add(o, "provider",
		    json_object_new_string(social_provider_name((enum oauth_provider)p)));
		json_object_object_add(o, "name",
		    json_object_new_string(social_provider_label((enum oauth_provider)p)));
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

/* Takes the login started under state back (lib/shop/social: single use, this provider,
 * this browser's session). Returns 1 with *st filled (its next path checked again), 0 after
 * answering (400 unknown, used, expired, foreign or malformed; 503 Redis down). */
static int
take_state(struct req *r, enum oauth_provider p, const char *state, struct social_state *st)
{
	switch (social_take_state(r->app->redis, r->a, p, state, r->has_sess ? r->sess.id : NULL,
	    &r->log, st)) {
	case SOCIAL_OK:
		if (!local_path(st->next, strlen(st->next)))
			st->next = "/";
		return 1;
	case SOCIAL_UNAVAILABLE:
		resp_fail(r, RESP_UNAVAILABLE);
		return 0;
	default:
		return fail_state(r);
	}
}

/* A login with provider p that failed after its state was taken: "<label> 로그인 실패" with
 * "<label> <message>" and a link to start again. Returns 0. */
static int
fail_login(struct req *r, enum oauth_provider p, int status, const char *code,
    const char *message)
{
	const char *label = social_provider_label(p);

	return fail_page(r, status, code, arena_printf(r->a, "%s 로그인 실패", label),
	    arena_printf(r->a, "%s %s", label, message),
	    arena_printf(r->a, "/login/%s", social_provider_name(p)));
}

/* The provider reported an error instead of a code (?error=access_denied ...). Returns 0. */
static int
fail_provider_error(struct req *r, enum oauth_provider p, const char *error)
{
	const char *label = social_provider_label(p);

	log_info(&r->log, "oauth: %s answered error %.64s", social_provider_name(p), error);
	if (strcmp(error, "access_denied") == 0)
		return fail_page(r, 403, "OAUTH_DENIED", arena_printf(r->a, "%s 로그인 취소", label),
		    arena_printf(r->a, "%s 로그인을 취소하셨습니다. 다시 시도하시거나 다른 방법으로 "
		    "로그인해 주세요.", label), arena_printf(r->a, "/login/%s", social_provider_name(p)));
	return fail_login(r, p, 502, "OAUTH_PROVIDER_ERROR",
	    "로그인 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.");
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
	struct social_state st;
	struct account acct;
	enum oauth_provider p;
	const char *state, *code, *error;
	size_t len;
	int rc;

	if (provider_or_404(r, &p) != 0)
		return 0;
	if (form_get(&r->query, "state", &state, NULL) != 0 ||
	    !valid_token(state, SOCIAL_STATE_LEN, SOCIAL_STATE_LEN))
		return fail_state(r);
	rc = take_state(r, p, state, &st);
	if (rc <= 0)
		return rc;

	rc = form_get(&r->query, "error", &error, NULL);
	if (rc == 0)
		return fail_provider_error(r, p, error);
	if (rc < 0 || form_get(&r->query, "code", &code, &len) != 0 || len == 0 ||
	    len > SOCIAL_CODE_MAX || strlen(code) != len)
		return fail_login(r, p, 400, "OAUTH_CODE_INVALID",
		    "로그인 인증 정보가 올바르지 않거나 만료되었습니다. 다시 시도해 주세요.");

	switch (social_finish(r->app->social, r->app->db, p, code, state, callback_uri(r, p),
	    arena_printf(r->a, "%s 회원", social_provider_label(p)), &r->log, &acct)) {
	case SOCIAL_OK:
		break;
	case SOCIAL_CODE_REFUSED:
		return fail_login(r, p, 400, "OAUTH_CODE_INVALID",
		    "로그인 인증 정보가 올바르지 않거나 만료되었습니다. 다시 시도해 주세요.");
	case SOCIAL_PROVIDER_DOWN:
		return fail_login(r, p, 502, "OAUTH_UNAVAILABLE",
		    "로그인 서버가 응답하지 않습니다. 잠시 후 다시 시도해 주세요.");
	case SOCIAL_DISABLED:
		return fail_page(r, 403, "ACCOUNT_DISABLED", "이용 제한",
		    "이용이 제한된 계정입니다. 고객센터로 문의해 주세요.", "/");
	default:
		return -1;
	}
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
