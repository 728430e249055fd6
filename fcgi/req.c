/* req: turning the web server's FastCGI parameters and body into a typed request. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "base/arena.h"
#include "base/conf.h"
#include "base/ids.h"
#include "base/jparse.h"
#include "req.h"
#include "route.h"
#include "base/valid.h"

static const char *const method_names[METHOD__MAX] = {
	"GET",     /* METHOD_GET */
	"HEAD",    /* METHOD_HEAD */
	"POST",    /* METHOD_POST */
	"PUT",     /* METHOD_PUT */
	"PATCH",   /* METHOD_PATCH */
	"DELETE",  /* METHOD_DELETE */
	"OTHER",   /* METHOD_OTHER */
};

const char *
req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fx->envp);
}

static enum req_method
parse_method(const char *s)
{
	int m;

	if (s == NULL)
		return METHOD_OTHER;
	for (m = 0; m < METHOD_OTHER; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum req_method)m;
	return METHOD_OTHER;
}

/* A raw path is printable ASCII (browsers percent-encode everything else), starts with '/'. */
static bool
path_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > REQ_MAX_PATH || p[0] != '/')
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return false;
	return true;
}

enum req_err
req_begin(struct req *r, FCGX_Request *fx, struct app *app, struct arena *a)
{
	const char *uri, *q, *rid, *s;
	size_t plen;

	memset(r, 0, sizeof(*r));
	r->fx = fx;
	r->app = app;
	r->a = a;
	clock_gettime(CLOCK_MONOTONIC, &r->started);

	rid = req_param(r, "HTTP_X_REQUEST_ID");
	if (rid != NULL && valid_token(rid, 8, sizeof(r->id) - 1))
		memcpy(r->id, rid, strlen(rid) + 1);
	else
		ids_new(r->id, 25);
	r->log.req_id = r->id;
	r->log.user = NULL;

	r->method_name = req_param(r, "REQUEST_METHOD");
	r->method = parse_method(r->method_name);
	if (r->method_name == NULL)
		r->method_name = "?";
	r->remote_addr = req_param(r, "REMOTE_ADDR");
	s = req_param(r, "HTTPS");
	r->https = s != NULL && (strcmp(s, "on") == 0 || strcmp(s, "1") == 0);

	/* REQUEST_URI is the raw target; DOCUMENT_URI would already be decoded. */
	uri = req_param(r, "REQUEST_URI");
	if (uri == NULL)
		uri = req_param(r, "SCRIPT_NAME");
	if (uri == NULL)
		return REQ_BAD_REQUEST;
	q = strchr(uri, '?');
	plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
	if (!path_ok(uri, plen)) {
		r->path = "/";
		return REQ_BAD_REQUEST;
	}
	r->path = arena_strndup(a, uri, plen);

	if (q != NULL && form_parse_urlencoded(a, q + 1, strlen(q + 1), REQ_MAX_QUERY,
	    REQ_MAX_PAIRS, &r->query) != FORM_OK)
		return REQ_BAD_REQUEST;
	s = req_param(r, "HTTP_COOKIE");
	if (s != NULL && form_parse_cookies(a, s, REQ_MAX_QUERY, REQ_MAX_PAIRS, &r->cookies) != FORM_OK)
		return REQ_BAD_REQUEST;
	return REQ_OK;
}

/* True when the Content-Type's media type (before any ';') equals want, case-insensitively. */
static bool
media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

enum req_err
req_read_body(struct req *r, bool want_json)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");
	int64_t max = conf_int(r->app->conf, CONF_FCGI_MAX_BODY);
	int64_t len = 0;
	char *body;
	int got;

	if (cl != NULL && *cl != '\0' && valid_int64(cl, 0, INT64_MAX, &len) != 0)
		return REQ_BAD_REQUEST;
	if (len > max)
		return REQ_TOO_LARGE;
	body = arena_alloc(r->a, (size_t)len + 1);
	if (len > 0) {
		got = FCGX_GetStr(body, (int)len, r->fx->in);
		if (got != (int)len)
			return REQ_BAD_REQUEST;  /* truncated body */
	}
	body[len] = '\0';
	r->body = body;
	r->body_len = (size_t)len;
	return req_parse_body(r, req_param(r, "CONTENT_TYPE"), want_json);
}

/* A multipart/form-data body (max bytes at most): its text fields become r->form (so the CSRF
 * check and the handlers read them as any form's), its file parts r->files. */
static enum req_err
parse_multipart(struct req *r, const char *ct, size_t max)
{
	struct multipart all;
	const char *boundary;
	enum multipart_err e;
	size_t i, nf = 0, nt = 0;

	e = multipart_boundary(r->a, ct, &boundary);
	if (e == MULTIPART_OK)
		e = multipart_parse(r->a, r->body, r->body_len, boundary, max, REQ_MAX_PAIRS, &all);
	if (e != MULTIPART_OK) {
		log_info(&r->log, "multipart body refused: %s", multipart_strerror(e));
		return e == MULTIPART_TOO_BIG ? REQ_TOO_LARGE : REQ_BAD_REQUEST;
	}
	r->form.pairs = arena_alloc(r->a, (all.n + 1) * sizeof(*r->form.pairs));
	r->files.parts = arena_alloc(r->a, (all.n + 1) * sizeof(*r->files.parts));
	for (i = 0; i < all.n; i++) {
		if (all.parts[i].filename != NULL) {
			r->files.parts[nf++] = all.parts[i];
			continue;
		}
		r->form.pairs[nt].key = all.parts[i].name;
		r->form.pairs[nt].val = all.parts[i].data;
		r->form.pairs[nt].val_len = all.parts[i].len;
		nt++;
	}
	r->form.n = nt;
	r->files.n = nf;
	return REQ_OK;
}

int
req_file(const struct req *r, const char *name, const struct multipart_part **out)
{
	return multipart_get(&r->files, name, out);
}

enum req_err
req_parse_body(struct req *r, const char *ct, bool want_json)
{
	int64_t max = conf_int(r->app->conf, CONF_FCGI_MAX_BODY);

	if (r->body_len > (uint64_t)max)
		return REQ_TOO_LARGE;
	if (want_json) {
		enum jparse_err je;

		if (r->body_len == 0)  /* a DELETE names its target in the path: no body is fine */
			return r->method == METHOD_DELETE ? REQ_OK : REQ_BAD_JSON;
		if (!media_type_is(ct, "application/json"))
			return REQ_BAD_MEDIA;
		je = jparse(r->body, r->body_len, (size_t)max,
		    (int)conf_int(r->app->conf, CONF_FCGI_JSON_MAX_DEPTH), &r->json);
		if (je == JPARSE_TOO_BIG)
			return REQ_TOO_LARGE;
		return je == JPARSE_OK ? REQ_OK : REQ_BAD_JSON;
	}
	if (r->body_len == 0)
		return REQ_OK;
	if (multipart_is_form_data(ct) && r->route != NULL && (r->route->flags & ROUTE_UPLOAD))
		return parse_multipart(r, ct, (size_t)max);
	if (!media_type_is(ct, "application/x-www-form-urlencoded"))
		return REQ_BAD_MEDIA;
	if (form_parse_urlencoded(r->a, r->body, r->body_len, (size_t)max, REQ_MAX_PAIRS,
	    &r->form) != FORM_OK)
		return REQ_BAD_REQUEST;
	return REQ_OK;
}

const char *
req_path_param(const struct req *r, size_t i)
{
	if (i >= r->nparams)
		abort();
	return r->params[i];
}

int
req_path_id(const struct req *r, size_t i, int64_t *out)
{
	return valid_int64(req_path_param(r, i), 1, INT64_MAX, out);
}

uint64_t
req_elapsed_usec(const struct req *r)
{
	struct timespec now;
	int64_t us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - r->started.tv_sec) * 1000000 +
	    (now.tv_nsec - r->started.tv_nsec) / 1000;
	return us < 0 ? 0 : (uint64_t)us;
}

void
req_end(struct req *r)
{
	if (r->json != NULL) {
		json_object_put(r->json);
		r->json = NULL;
	}
}
