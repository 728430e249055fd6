/* req: one FastCGI request: its parsed input, its arena and its answer status. Zeroed at the
 * start of a request and released in one place (req_end) at the end. */
#ifndef JT_REQ_H
#define JT_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <fcgiapp.h>
#include <json-c/json.h>

#include "base/form.h"
#include "base/multipart.h"
#include "base/log.h"
#include "shop/session.h"

struct app;
struct arena;
struct route;

enum req_method { METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_PUT, METHOD_PATCH, METHOD_DELETE,
	METHOD_OTHER, METHOD__MAX };

#define REQ_MAX_PARAMS 4
#define REQ_MAX_PATH 2048
#define REQ_MAX_QUERY 8192
#define REQ_MAX_PAIRS 256

/* Why parsing failed; each maps to a status and message in resp.c. */
enum req_err {
	REQ_OK,
	REQ_BAD_REQUEST,    /* malformed path, query, cookie or form */
	REQ_TOO_LARGE,      /* body over fcgi.max_body */
	REQ_BAD_MEDIA,      /* a body with the wrong Content-Type */
	REQ_BAD_JSON,       /* not strict JSON */
	REQ__MAX
};

struct req {
	FCGX_Request *fx;
	struct app *app;
	struct arena *a;             /* everything below that is allocated lives here */
	struct timespec started;
	char id[65];                 /* request id: the web server's X-Request-Id, or ours */
	struct log_ctx log;

	enum req_method method;
	const char *method_name;
	const char *path;            /* raw path, starts with '/', no query */
	const char *remote_addr;
	bool https;
	struct form query;
	struct form cookies;

	const struct route *route;   /* NULL when nothing matched */
	bool path_is_json;           /* a JSON route has this path (for 405 answers) */
	bool negotiated;             /* the path has HTML and JSON twins (ROUTE_TWIN): the answer
	                              * depends on Accept and says so (Vary: Accept) */
	size_t route_index;
	const char *params[REQ_MAX_PARAMS]; /* {name} segments of the route, percent-decoded */
	size_t nparams;

	const char *body;            /* raw body, NUL-terminated, or NULL */
	size_t body_len;
	struct form form;            /* urlencoded body of an HTML POST, or the text fields of a
	                              * multipart/form-data one (ROUTE_UPLOAD routes only) */
	struct multipart files;      /* the file parts (a filename, even "") of a multipart body */
	struct json_object *json;    /* parsed body of a JSON request; owned, put in req_end */

	struct session sess;         /* valid when has_sess (see sess.h) */
	bool has_sess;
	const char *set_cookie;      /* Set-Cookie value to send with the response, or NULL */
	const char *form_targets;    /* origins besides 'self' this page's forms may lead to (the
	                              * CSP's form-action: checkout's PG windows), or NULL */

	int status;                  /* status sent, 0 until a response was written */
};

/* Starts a request: zeroes r, takes the web server's parameters (method, path, query,
 * cookies, request id). Returns REQ_OK or REQ_BAD_REQUEST. */
enum req_err req_begin(struct req *r, FCGX_Request *fx, struct app *app, struct arena *a);

/* Reads the body (bounded by fcgi.max_body) and parses it by Content-Type: JSON when want_json,
 * a urlencoded form otherwise. Returns REQ_OK or the reason it was refused. */
enum req_err req_read_body(struct req *r, bool want_json);

/* Parses r->body (r->body_len bytes, NUL-terminated; NULL when empty) by ct, the request's
 * Content-Type (may be NULL): strict JSON into r->json when want_json, a urlencoded form into
 * r->form otherwise; when r->route is flagged ROUTE_UPLOAD, a multipart/form-data body too
 * (lib/base/multipart: its text fields into r->form, its file parts into r->files; a
 * malformed one is REQ_BAD_REQUEST). Returns REQ_OK or the reason it was refused.
 * req_read_body reads the body and calls it; the fuzz target tests/fuzz/fuzz_req.c calls it
 * without libfcgi I/O. */
enum req_err req_parse_body(struct req *r, const char *ct, bool want_json);

/* The file part name of a multipart POST. Returns 0 with *out when exactly one came (its
 * filename may be "": no file chosen), 1 when none, -1 when more than one. */
int req_file(const struct req *r, const char *name, const struct multipart_part **out);

/* A CGI parameter from the web server, or NULL. */
const char *req_param(const struct req *r, const char *name);

/* The i-th {name} segment of the matched route (aborts if out of range). */
const char *req_path_param(const struct req *r, size_t i);

/* Parses the i-th path segment as a positive id (1..INT64_MAX). 0 or -1. */
int req_path_id(const struct req *r, size_t i, int64_t *out);

/* Microseconds since the request started. */
uint64_t req_elapsed_usec(const struct req *r);

/* Releases what the request holds (the JSON body); the arena is reset by the caller. */
void req_end(struct req *r);

#endif
