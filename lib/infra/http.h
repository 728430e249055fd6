/* http: the outgoing HTTP client over libcurl: one reused easy handle per process (keeps
 * connections alive) for one request at a time, and a multi handle for many at once;
 * connect and total timeouts, http/https only, response size cap. */
#ifndef JT_HTTP_H
#define JT_HTTP_H

#include <stddef.h>
#include "base/buf.h"

struct conf;
struct http;

/* What happened; the distinction matters for payments: a request that never connected was
 * certainly not processed, one that timed out after sending may have been. */
enum http_rc {
	HTTP_OK = 0,          /* a complete response arrived (any status) */
	HTTP_ERR_CONNECT,     /* could not connect or resolve: the request was not sent */
	HTTP_ERR_TIMEOUT,     /* timed out after connecting: outcome unknown */
	HTTP_ERR_TOO_BIG,     /* response larger than the cap: outcome unknown */
	HTTP_ERR_IO,          /* connection reset, bad protocol, TLS ...: outcome unknown */
	HTTP_ERR_USAGE,       /* bad URL or protocol not allowed: nothing sent */
	HTTP_RC__MAX
};

struct http_req {
	const char *method;            /* "GET", "POST", ... */
	const char *url;               /* http:// or https:// only */
	const char *const *headers;    /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;              /* may be NULL */
	size_t body_len;
	long timeout_ms;               /* 0 = the configured total timeout */
};

struct http_resp {
	long status;                   /* HTTP status, 0 when none arrived */
	struct buf body;               /* caller releases with buf_release */
	long elapsed_ms;               /* wall time of the call */
};

/* Never NULL. Owned by the caller: http_free. */
struct http *http_new(const struct conf *c);
void http_free(struct http **h);

/* Performs the request. resp->body is reset first and is left empty unless the result is
 * HTTP_OK (a truncated body is never handed back). Methods: GET, HEAD, POST, PUT, PATCH,
 * DELETE; a body only with POST, PUT, PATCH or DELETE. A header line with CR or LF, a URL
 * that is not absolute http(s):// or holds spaces or control bytes: HTTP_ERR_USAGE.
 * Redirects are not followed (a 3xx is HTTP_OK with its status).
 * Classification: HTTP_ERR_CONNECT and HTTP_ERR_USAGE are only returned when libcurl never
 * began sending (CURLINFO_PRETRANSFER_TIME_T and CURLINFO_REQUEST_SIZE both 0); a timeout
 * after that is HTTP_ERR_TIMEOUT, any other failure after that HTTP_ERR_IO. Returns an enum
 * http_rc. */
enum http_rc http_do(struct http *h, const struct http_req *req, struct http_resp *resp);

/* Performs reqs[0..n) at once (libcurl's multi interface: one connection each, opened or
 * reused from this handle's own cache, which is kept between calls), each with its own
 * timeouts, classified exactly as http_do would: rcs[i] and resps[i] are what http_do would
 * have given for reqs[i]. Returns when every one has ended. More than HTTP_MANY_MAX go in
 * rounds of HTTP_MANY_MAX. */
#define HTTP_MANY_MAX 32
void http_do_many(struct http *h, const struct http_req *reqs, struct http_resp *resps,
    enum http_rc *rcs, size_t n);

/* English name of rc, for logs. */
const char *http_rc_name(enum http_rc rc);

#endif
