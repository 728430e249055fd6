/* resp: writing responses: security headers, JSON, pages, the error envelope, redirects. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "app.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/log.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "infra/assets.h"
#include "infra/tmpl.h"
#include "base/valid.h"
#include "shop/cart.h"

struct resp_err_info {
	int status;
	const char *code;
	const char *message;   /* shown to shoppers: Korean */
};

static const struct resp_err_info resp_errs[RESP_ERR__MAX] = {
	{ 400, "BAD_REQUEST", "잘못된 요청입니다." },                                   /* RESP_BAD_REQUEST */
	{ 400, "BAD_JSON", "요청 본문이 올바른 JSON 형식이 아닙니다." },                  /* RESP_BAD_JSON */
	{ 413, "PAYLOAD_TOO_LARGE", "요청 본문이 너무 큽니다." },                        /* RESP_TOO_LARGE */
	{ 415, "UNSUPPORTED_MEDIA_TYPE", "지원하지 않는 요청 형식입니다." },              /* RESP_BAD_MEDIA */
	{ 401, "UNAUTHORIZED", "로그인이 필요합니다." },                                 /* RESP_UNAUTHORIZED */
	{ 403, "FORBIDDEN", "접근 권한이 없습니다." },                                   /* RESP_FORBIDDEN */
	{ 403, "CSRF_TOKEN_INVALID",
	  "보안 토큰이 올바르지 않습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요." },   /* RESP_CSRF */
	{ 404, "NOT_FOUND", "요청한 페이지를 찾을 수 없습니다." },                        /* RESP_NOT_FOUND */
	{ 405, "METHOD_NOT_ALLOWED", "허용되지 않은 요청 방식입니다." },                 /* RESP_METHOD */
	{ 500, "INTERNAL_ERROR", "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요." }, /* RESP_INTERNAL */
	{ 503, "SERVICE_UNAVAILABLE", "서비스를 잠시 사용할 수 없습니다." },              /* RESP_UNAVAILABLE */
};

/* The reason phrase for a status ("Not Found"). */
static const char *
resp_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default:  return "Unknown";
	}
}

void
resp_send(struct req *r, int status, const char *content_type, const char *extra_headers,
    const void *body, size_t len)
{
	struct buf h = { 0 };

	if (r->status != 0) {
		log_error(&r->log, "second response for %s %s ignored", r->method_name, r->path);
		return;
	}
	r->status = status;
	buf_printf(&h, "Status: %d %s\r\n", status, resp_reason(status));
	buf_printf(&h, "Content-Type: %s\r\n", content_type);
	buf_printf(&h, "Content-Length: %zu\r\n", len);
	buf_puts(&h,
	    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; object-src 'none';"
	    " base-uri 'self'; form-action 'self'");
	if (r->form_targets != NULL) {
		buf_putc(&h, ' ');
		esc_header_quoted(&h, r->form_targets);
	}
	buf_puts(&h, "; frame-ancestors 'none'\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: same-origin\r\n"
	    "Cache-Control: no-store\r\n");
	buf_printf(&h, "X-Request-Id: %s\r\n", r->id);
	if (r->negotiated)
		buf_puts(&h, "Vary: Accept\r\n");  /* twins: the representation follows Accept */
	if (r->set_cookie != NULL)
		buf_printf(&h, "Set-Cookie: %s\r\n", r->set_cookie);
	if (extra_headers != NULL)
		buf_puts(&h, extra_headers);
	buf_puts(&h, "\r\n");
	FCGX_PutStr(h.data, (int)h.len, r->fx->out);
	if (r->method != METHOD_HEAD && len > 0)
		FCGX_PutStr(body, (int)len, r->fx->out);
	buf_release(&h);
}

int
resp_json(struct req *r, int status, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	resp_send(r, status, "application/json; charset=utf-8", NULL, s, len);
	json_object_put(obj);
	return 0;
}

static int
send_page(struct req *r, int status, const char *layout, const char *page,
    struct json_object *ctx, const char *extra_headers)
{
	struct buf out = { 0 };
	int rc;

	/* {{static.<key>}}: the versioned URLs of the files under /static/ (lib/infra/assets). */
	if (json_object_is_type(ctx, json_type_object))
		json_object_object_add(ctx, "static", json_object_get(assets_json(r->app->assets)));
	rc = tmpl_render_layout(r->app->tmpl, layout, page, ctx, &out);
	if (rc == 0)
		resp_send(r, status, "text/html; charset=utf-8", extra_headers, out.data, out.len);
	else
		log_error(&r->log, "template %s failed to render", page);
	buf_release(&out);
	json_object_put(ctx);
	return rc;
}

/* Adds "me" to a page's values: {"id", "name", "admin", "csrf"} for a signed-in user (the
 * layout shows the name and a logout form), nothing for a guest. */
static void
add_me(struct req *r, struct json_object *ctx)
{
	struct json_object *me;

	if (!json_object_is_type(ctx, json_type_object) || json_object_object_get_ex(ctx, "me", NULL))
		return;
	if (!r->has_sess || r->sess.user_id <= 0)
		return;
	me = json_object_new_object();
	json_object_object_add(me, "id", json_object_new_int64(r->sess.user_id));
	json_object_object_add(me, "name", json_object_new_string(r->sess.name));
	json_object_object_add(me, "admin", json_object_new_boolean(sess_is_admin(r)));
	json_object_object_add(me, "csrf", json_object_new_string(r->sess.csrf));
	json_object_object_add(ctx, "me", me);
}

/* The footer's business information: {"name", "company", "ceo", "business_no",
 * "mail_order_no", "address", "cs_phone", "cs_email", "cs_hours"}, from the shop.* keys. */
static struct json_object *
shop_json(const struct req *r)
{
	static const struct {
		const char *name;
		enum conf_key key;
	} fields[] = {
		{ "name", CONF_SHOP_NAME }, { "company", CONF_SHOP_COMPANY }, { "ceo", CONF_SHOP_CEO },
		{ "business_no", CONF_SHOP_BUSINESS_NO }, { "mail_order_no", CONF_SHOP_MAIL_ORDER_NO },
		{ "address", CONF_SHOP_ADDRESS }, { "cs_phone", CONF_SHOP_CS_PHONE },
		{ "cs_email", CONF_SHOP_CS_EMAIL }, { "cs_hours", CONF_SHOP_CS_HOURS },
	};
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		json_object_object_add(o, fields[i].name,
		    json_object_new_string(conf_str(r->app->conf, fields[i].key)));
	return o;
}

/* Adds what the layout shows around every page: "shop" (shop_json) and "cart_count" (the
 * products in the visitor's cart; left out when there is no cart or Redis did not answer, so
 * the header shows no badge rather than a wrong one). The stylesheet's and the icon's
 * versioned URLs come with every page as {{static.*}} (send_page). A value the handler set is
 * kept. */
static void
add_site(struct req *r, struct json_object *ctx)
{
	struct cart_owner owner = { 0, NULL };
	int n = 0;

	if (!json_object_is_type(ctx, json_type_object))
		return;
	json_object_object_add(ctx, "shop", shop_json(r));
	if (json_object_object_get_ex(ctx, "cart_count", NULL))
		return;
	if (r->has_sess && r->sess.user_id > 0)
		owner.user_id = r->sess.user_id;
	else if (r->has_sess)
		owner.session_id = r->sess.id;
	if (owner.user_id > 0 || owner.session_id != NULL)
		n = cart_count(r->app->redis, &owner);
	if (n > 0)
		json_object_object_add(ctx, "cart_count", json_object_new_int(n));
}

int
resp_page(struct req *r, int status, const char *page, struct json_object *ctx)
{
	add_me(r, ctx);
	add_site(r, ctx);
	return send_page(r, status, "layout", page, ctx, NULL);
}

int
resp_page_in(struct req *r, int status, const char *layout, const char *page,
    struct json_object *ctx)
{
	add_me(r, ctx);
	add_site(r, ctx);
	return send_page(r, status, layout, page, ctx, NULL);
}

/* JSON routes and anything under /api answer the envelope. */
static bool
wants_json(const struct req *r)
{
	if (r->route != NULL)
		return (r->route->flags & ROUTE_JSON) != 0;
	if (r->path_is_json)
		return true;
	return strncmp(r->path != NULL ? r->path : "", "/api/", 5) == 0 ||
	    strcmp(r->path != NULL ? r->path : "", "/api") == 0;
}

/* The error page's heading: what happened, in the shopper's words (the message says why). */
static const char *
error_heading(int status)
{
	switch (status) {
	case 400: return "요청을 처리할 수 없습니다";
	case 401: return "로그인이 필요합니다";
	case 403: return "접근 권한이 없습니다";
	case 404: return "페이지를 찾을 수 없습니다";
	case 405: return "허용되지 않은 요청입니다";
	case 409: return "지금은 처리할 수 없는 요청입니다";
	case 413: return "요청이 너무 큽니다";
	case 415: return "지원하지 않는 요청 형식입니다";
	case 422: return "요청을 처리할 수 없습니다";
	case 429: return "요청이 너무 많습니다";
	case 502: return "결제사 또는 외부 서비스가 응답하지 않습니다";
	case 503: return "서비스를 잠시 사용할 수 없습니다";
	default:  return status >= 500 ? "일시적인 오류가 발생했습니다" : "요청을 처리할 수 없습니다";
	}
}

/* The error page's <title>: the heading's short form. */
static const char *
error_title(int status)
{
	switch (status) {
	case 401: return "로그인 필요";
	case 403: return "접근 권한 없음";
	case 404: return "페이지 없음";
	case 429: return "잠시 후 다시 시도";
	default:  return status >= 500 ? "일시적인 오류" : "요청 오류";
	}
}

static int
send_error(struct req *r, int status, const char *code, const char *message,
    const char *extra_headers)
{
	struct json_object *o;
	size_t len;
	const char *s;

	if (wants_json(r)) {
		struct json_object *e = json_object_new_object();

		o = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(message));
		json_object_object_add(o, "error", e);
		s = json_object_to_json_string_length(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		resp_send(r, status, "application/json; charset=utf-8", extra_headers, s, len);
		json_object_put(o);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "title", json_object_new_string(error_title(status)));
	json_object_object_add(o, "heading", json_object_new_string(error_heading(status)));
	add_me(r, o);
	add_site(r, o);
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "request_id", json_object_new_string(r->id));
	if (send_page(r, status, "layout", "error", o, extra_headers) != 0) {
		/* The error page itself failed: a minimal page that needs no template. */
		struct buf b = { 0 };

		buf_printf(&b, "<!doctype html><html lang=\"ko\"><meta charset=\"utf-8\">"
		    "<title>%d</title><h1>", status);
		esc_html(&b, error_heading(status));
		buf_puts(&b, "</h1><p>");
		esc_html(&b, message);
		buf_puts(&b, "</p>\n");
		resp_send(r, status, "text/html; charset=utf-8", extra_headers, b.data, b.len);
		buf_release(&b);
	}
	return 0;
}

int
resp_error(struct req *r, int status, const char *code, const char *message)
{
	return send_error(r, status, code, message, NULL);
}

int
resp_fail_allow(struct req *r, const char *allow)
{
	const struct resp_err_info *info = &resp_errs[RESP_METHOD];
	struct buf h = { 0 };
	int rc;

	buf_printf(&h, "Allow: %s\r\n", allow);
	rc = send_error(r, info->status, info->code, info->message, h.data);
	buf_release(&h);
	return rc;
}

int
resp_fail(struct req *r, enum resp_err e)
{
	const struct resp_err_info *info = &resp_errs[e];

	return resp_error(r, info->status, info->code, info->message);
}

int
resp_redirect(struct req *r, const char *location)
{
	struct buf h = { 0 };

	if (!valid_next_path(location, strlen(location))) {
		log_error(&r->log, "refusing a redirect that is not a path on this site");
		location = "/";
	}
	/* Raw on purpose: a valid next path is URL characters only (no CR, LF, '"' or '\\'),
	 * so it needs no escaping, and escaping would change where the browser goes. */
	buf_puts(&h, "Location: ");
	buf_puts(&h, location);
	buf_puts(&h, "\r\n");
	resp_send(r, 303, "text/html; charset=utf-8", h.data, "", 0);
	buf_release(&h);
	return 0;
}

/* True when url is '/' then URL characters and %XX escapes only (no controls, spaces,
 * quotes or backslashes raw), not "//" or "/\\" at the start: what esc_url_path and
 * esc_url_query produce after a path of our own. */
static bool
built_url_ok(const char *url)
{
	static const char ok[] = "-._~!$&'()*+,;=:@/?#";
	size_t i;

	if (url[0] != '/' || url[1] == '/' || url[1] == '\\')
		return false;
	for (i = 0; url[i] != '\0'; i++) {
		char c = url[i];

		if (c == '%') {
			if (!isxdigit((unsigned char)url[i + 1]) || !isxdigit((unsigned char)url[i + 2]))
				return false;
			i += 2;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr(ok, c) != NULL))
			return false;
	}
	return i <= RESP_BUILT_URL_MAX;
}

int
resp_redirect_built(struct req *r, const char *url)
{
	struct buf h = { 0 };

	if (!built_url_ok(url)) {
		log_error(&r->log, "refusing a built redirect that is not a local URL");
		return resp_redirect(r, "/");
	}
	/* Raw on purpose: built_url_ok allows URL characters only (no CR, LF, '"' or '\\'). */
	buf_puts(&h, "Location: ");
	buf_puts(&h, url);
	buf_puts(&h, "\r\n");
	resp_send(r, 303, "text/html; charset=utf-8", h.data, "", 0);
	buf_release(&h);
	return 0;
}

int
resp_redirect_away(struct req *r, const char *url)
{
	struct buf h = { 0 };

	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
		log_error(&r->log, "refusing a redirect to a URL that is no web address");
		return resp_redirect(r, "/");
	}
	buf_puts(&h, "Location: ");
	esc_header_quoted(&h, url);  /* drops CR/LF: no header injection */
	buf_puts(&h, "\r\n");
	resp_send(r, 303, "text/html; charset=utf-8", h.data, "", 0);
	buf_release(&h);
	return 0;
}
