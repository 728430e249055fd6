/* resp: every response goes out through resp_send, which sets the security headers; error
 * answers are the JSON envelope on JSON routes and /api paths, an error page elsewhere. */
#ifndef JT_RESP_H
#define JT_RESP_H

#include <stddef.h>
#include <json-c/json.h>

struct req;

/* The errors the dispatcher and handlers answer with a fixed status, code and message. */
enum resp_err {
	RESP_BAD_REQUEST,
	RESP_BAD_JSON,
	RESP_TOO_LARGE,
	RESP_BAD_MEDIA,
	RESP_UNAUTHORIZED,
	RESP_FORBIDDEN,
	RESP_CSRF,
	RESP_NOT_FOUND,
	RESP_METHOD,
	RESP_INTERNAL,
	RESP_UNAVAILABLE,
	RESP_ERR__MAX
};

/* Writes status, headers (security headers, X-Request-Id, Content-Type, Content-Length, any
 * extra "Name: value\r\n" lines) and body. A HEAD request gets no body. Only the first call
 * per request writes anything; later calls are ignored and logged. */
void resp_send(struct req *r, int status, const char *content_type, const char *extra_headers,
    const void *body, size_t len);

/* JSON answer; takes ownership of obj (puts it). Returns 0. */
int resp_json(struct req *r, int status, struct json_object *obj);

/* An HTML page: template page inside the layout, with ctx (ownership taken). Returns 0, or
 * -1 when rendering failed (nothing was sent: the dispatcher answers 500). */
int resp_page(struct req *r, int status, const char *page, struct json_object *ctx);

/* resp_page inside another layout template (the admin console's "admin_layout"); the same
 * values (me, shop, cart_count, static) are added. Same result. */
int resp_page_in(struct req *r, int status, const char *layout, const char *page,
    struct json_object *ctx);

/* A fixed error: envelope {"error":{"code":..,"message":..}} or the error page. Returns 0. */
int resp_fail(struct req *r, enum resp_err e);

/* 405 with an Allow header listing allow ("GET, HEAD"). Returns 0. */
int resp_fail_allow(struct req *r, const char *allow);

/* A domain error with its own status, code (UPPER_SNAKE) and message (Korean, for shoppers).
 * Returns 0. */
int resp_error(struct req *r, int status, const char *code, const char *message);

/* 303 See Other to a path on this site. A location that is not valid_next_path (lib/base/
 * valid.h) is logged and replaced by "/", so no input can send the browser elsewhere.
 * Returns 0. */
int resp_redirect(struct req *r, const char *location);

#define RESP_BUILT_URL_MAX 6144  /* bytes of a built redirect (nginx reads 8 KiB lines) */

/* 303 See Other to a URL on this site that the PROGRAM built: a fixed path of its own, then
 * values escaped with esc_url_path / esc_url_query (a console form's refusal carrying back
 * what was typed; the login page's next=<this page>). Unlike resp_redirect, escaped '/', '%'
 * and controls inside values are fine: they stay escaped. A URL that is not '/' then URL
 * characters and %XX only, starts "//" or is longer than RESP_BUILT_URL_MAX goes home
 * instead (logged). Never for a location taken from input as a whole. Returns 0. */
int resp_redirect_built(struct req *r, const char *url);

/* 303 See Other to another site: only for a URL the program built from its configuration or
 * that a payment gateway handed it (the PG's payment window after checkout), NEVER from the
 * request. It must be http:// or https://; anything else goes home instead (logged).
 * Returns 0. */
int resp_redirect_away(struct req *r, const char *url);

#endif
