/* fuzz_req: the FastCGI parameters and body of one request through fcgi/req.c, as the
 * handlers' dispatcher runs it (req_begin: request id, method, path, query, cookies; the
 * path's segments as route.c decodes {name} parameters; req_parse_body as a form, as a form
 * on an upload route (multipart/form-data) and as JSON), without libfcgi I/O: the parameters are an envp array, the body a buffer.
 *
 * Input: "NAME=value" lines (the CGI parameters nginx sends: REQUEST_METHOD, REQUEST_URI,
 * HTTP_COOKIE, CONTENT_TYPE, ...) up to an empty line; the rest is the body. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcgiapp.h>

#include "app.h"
#include "base/arena.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/valid.h"
#include "fuzz.h"
#include "req.h"
#include "route.h"

#define FUZZ_MAX_PARAMS 64

static struct conf *fuzz_conf;

/* Every pair of a parsed form holds decoded UTF-8 of the length it says. */
static void
check_form(const struct form *f)
{
	size_t i;

	if (f->n > REQ_MAX_PAIRS)
		abort();
	for (i = 0; i < f->n; i++) {
		if (f->pairs[i].key == NULL || f->pairs[i].val == NULL ||
		    strlen(f->pairs[i].val) != f->pairs[i].val_len ||
		    !valid_utf8(f->pairs[i].key, strlen(f->pairs[i].key)) ||
		    !valid_utf8(f->pairs[i].val, f->pairs[i].val_len))
			abort();
	}
}

/* Decodes each segment of path as route.c does for a {name} parameter. */
static void
check_segments(struct arena *a, const char *path)
{
	const char *s = path + 1, *end, *v;

	while (*s != '\0') {
		end = strchr(s, '/');
		if (end == NULL)
			end = s + strlen(s);
		if (end > s && form_decode_path_segment(a, s, (size_t)(end - s), &v) == FORM_OK &&
		    !valid_utf8(v, strlen(v)))
			abort();
		s = *end == '/' ? end + 1 : end;
	}
}

/* An upload route (ROUTE_UPLOAD): a multipart/form-data body is read as well. */
static const struct route upload_route = { METHOD_POST, "/upload", NULL,
	ROUTE_HTML | ROUTE_UPLOAD, "fuzz_upload" };

/* Every file part of a multipart body has a name, a filename and its content NUL-ended. */
static void
check_files(const struct multipart *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->parts[i].name == NULL || m->parts[i].filename == NULL ||
		    m->parts[i].data == NULL || m->parts[i].data[m->parts[i].len] != '\0')
			abort();
}

/* Parses the body (r's copy) as JSON or as a form (on an upload route when upload) and checks
 * what came out. */
static void
check_body(const struct req *begun, const char *ct, bool json, bool upload)
{
	struct req r = *begun;
	enum req_err e;

	if (upload)
		r.route = &upload_route;
	e = req_parse_body(&r, ct, json);

	if ((unsigned)e >= REQ__MAX)
		abort();
	if (json && e == REQ_OK && r.json == NULL && r.body_len > 0)
		abort();
	if (!json && e == REQ_OK) {
		check_form(&r.form);
		check_files(&r.files);
	}
	if (!upload && r.files.n != 0)
		abort();
	if (e != REQ_OK && r.json != NULL)
		abort();
	req_end(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *envp[FUZZ_MAX_PARAMS + 1], *text = fuzz_cstr((const char *)data, size), *line, *nl;
	struct app app = { 0 };
	FCGX_Request fx;
	struct arena *a;
	struct req r;
	enum req_err e;
	size_t n = 0, pos = 0, len;
	char err[256];

	if (fuzz_conf == NULL) {
		fuzz_conf = conf_parse("", err, sizeof(err));
		if (fuzz_conf == NULL)
			abort();
	}
	/* Parameters: the lines before the first empty one (a NUL ends a parameter early, as
	 * libfcgi's C strings would); the body is what follows that empty line. */
	while (pos < size) {
		line = text + pos;
		nl = memchr(line, '\n', size - pos);
		len = nl != NULL ? (size_t)(nl - line) : size - pos;
		pos += len + (nl != NULL ? 1 : 0);
		if (nl != NULL)
			*nl = '\0';
		if (len == 0)
			break;
		if (n < FUZZ_MAX_PARAMS && strchr(line, '=') != NULL)
			envp[n++] = line;
	}
	envp[n] = NULL;

	memset(&fx, 0, sizeof(fx));
	fx.envp = envp;
	app.conf = fuzz_conf;
	a = arena_new(4096);
	e = req_begin(&r, &fx, &app, a);
	if (e != REQ_OK && e != REQ_BAD_REQUEST)
		abort();
	/* A request without REQUEST_URI has no path; every other one a raw path from '/'. */
	if ((r.path == NULL ? e != REQ_BAD_REQUEST : r.path[0] != '/') || r.method_name == NULL ||
	    strlen(r.id) < 8 || !valid_token(r.id, 8, sizeof(r.id) - 1))
		abort();
	if (e == REQ_OK) {
		check_form(&r.query);
		check_form(&r.cookies);
		check_segments(a, r.path);
		r.body = pos < size ? text + pos : NULL;
		r.body_len = pos < size ? size - pos : 0;
		check_body(&r, req_param(&r, "CONTENT_TYPE"), false, false);
		check_body(&r, req_param(&r, "CONTENT_TYPE"), false, true);
		check_body(&r, req_param(&r, "CONTENT_TYPE"), true, false);
	}
	req_end(&r);
	arena_free(&a);
	free(text);
	return 0;
}
